"""Plans and re-plans of a day: what to plan, the stored run's summary, and why a plan was refused."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Day, Moment, Text


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Day
    region: Text | None = Field(None, description="plan only this ITL1 region (e.g. TLK)")
    time_limit_s: float = Field(30.0, ge=1, le=600, description="the solver's wall-clock limit in seconds")
    publish: bool = Field(True, description="send each agent its day on agents/{agent_id}/plan")


class ReplanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: Text | None = Field(None, description="re-plan only this ITL1 region (e.g. TLK)")
    time_limit_s: float = Field(30.0, ge=1, le=600, description="the solver's wall-clock limit in seconds")
    publish: bool = Field(True, description="send each agent its new day on agents/{agent_id}/plan")
    now: Moment | None = Field(None, description="re-plan from this moment of the day (default: now)")


class PlanSummary(BaseModel):
    run_id: int
    day: date
    region: str | None
    served: int
    dropped: int
    dropped_by_reason: dict[str, int]
    distance_m: float
    agents: int  # agents with a route (the solver gives a route only to an agent with visits)
    fairness_ratio: float | None  # served share per buyer and region, min/max (1.0 = proportional)
    published: int  # agents' days sent on agents/{agent_id}/plan
    publish_error: str | None  # why sending failed; the plan is stored all the same


class ViolationOut(BaseModel):
    kind: str
    agent_id: int | None
    case_id: int | None
    rule_id: str | None
    message: str


class PlanRefusedOut(BaseModel):
    """409: the validator found violations in the plan; nothing was stored or sent."""

    detail: str
    violations: list[ViolationOut]


class NoPlanOut(BaseModel):
    """503: no plan was found within ``time_limit_s`` for ``unplanned`` visits; nothing was stored or sent."""

    detail: str
    time_limit_s: float
    unplanned: int
