"""Capacity: subcontractors' declarations, the monthly figures and the index [000 §1.8, §2.94], and
the rows behind a figure."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import Month, Text


class DeclarationIn(BaseModel):
    month: Month = Field(description="the month declared, YYYY-MM")
    itl1_cd: Text = Field(min_length=3, max_length=3, description="the ITL1 region, e.g. TLK")
    outside_cases: int = Field(ge=0, le=10_000_000, description="open cases of the firm's other clients in "
                                                               "the region during the month")
    outside_agents: int = Field(ge=0, le=100_000, description="agents working those cases")
    subcontractor: Text | None = Field(default=None, description="the firm's reference: admins only; a "
                                                                 "subcontractor user declares for its own firm")


class DeclarationOut(BaseModel):
    id: int
    subcontractor: str
    month: date
    itl1_cd: str
    outside_cases: int
    outside_agents: int
    declared_by: str
    replaced: bool


class IndexOut(BaseModel):
    region: str
    subcontractor: str | None = Field(description="null: every subcontractor in the region")
    buyer: str
    priority_class: str | None = Field(description="urgent, due, routine; null: overall")
    index: float
    low: float
    high: float
    share_of_time: float
    share_of_caseload: float
    agent_days: int
    case_days: int
    seconds: float
    flagged: bool


class TableLineOut(BaseModel):
    region: str
    subcontractor: str
    buyer: str
    cases_placed: int
    cases_open: int
    agents_allocated: int
    agent_time_s: float
    share_of_business: float | None


class SubcontractorLineOut(BaseModel):
    region: str
    subcontractor: str
    platform_cases_open: int
    outside_cases: int
    total_caseload: int
    platform_agents: int
    outside_agents: int
    total_agents: int
    tracked_s: float
    client_work_s: float
    outside_work_s: float


class WeekOut(BaseModel):
    week_start: date
    region: str
    buyer: str
    index: float | None


class CapacityOut(BaseModel):
    month: str
    threshold: float
    min_work_s: float = Field(description="stops at no case address from this long …")
    break_s: float = Field(description="… to this long (seconds) count as other clients' work; the rest is idle")
    door_s: float = Field(description="such a stop this long takes the drive that led to it; a shorter one only "
                                      "the detour it made")
    regions: dict[str, str]
    buyers: list[str]
    table: list[TableLineOut]
    subcontractors: list[SubcontractorLineOut]
    indices: list[IndexOut]
    flags: list[IndexOut]
    weekly: list[WeekOut]


class ExplainOut(BaseModel):
    measure: str
    region: str
    buyer: str
    value: float | None
    formula: str
    rows: list[dict[str, Any]]
    truncated: bool
