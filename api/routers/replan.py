"""Re-planning mid-day and dispatcher pins (``dispatch.replan``).

- ``POST /plans/{day}/pins`` (admins, dispatchers): the case is visited by this agent (at this time).
  Checked at once so that a pin no plan could keep is refused with 409 and the reason: the case must
  be eligible that day (``dispatch.eligibility.why`` names the rule otherwise), the agent active and
  able to make the visit (skills, certificate), and the time inside one of the case's windows and the
  agent's shift with the visit's whole service time. One pin per case and day: a new pin replaces it.
- ``GET /plans/{day}/pins`` (staff), ``DELETE /plans/{day}/pins/{case_id}`` (admins, dispatchers).
- ``POST /plans/{day}/replan`` (admins, dispatchers): ``dispatch.replan.replan_day`` at ``now`` (the
  current time unless given); answers like ``POST /plans``, 409 with the violations when the re-plan
  breaks a rule, 503 when no plan was found within ``time_limit_s`` (nothing is then stored or sent).

Every change is audited. Pins are staff data: buyers and agents get 403.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DB, Principal, require_roles
from api.routers.plans import NO_PLAN_RESPONSE, STAFF, PlanSummary, check_region, refusal, \
    run_summary
from core import record_audit
from core.models import Agent, Case, PlanPin, Role
from core.positions import connect
from core.visit_rules import LONDON
from dispatch.eligibility import shifts_for_day, why
from dispatch.replan import replan_day

router = APIRouter(tags=["plans"])

Planner = Annotated[Principal, Depends(require_roles(Role.admin, Role.dispatcher))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: int
    agent_id: int
    at: AwareDatetime | None = Field(None, description="the visit's arrival (with its UTC offset); "
                                                       "omitted: any time the plan chooses")


class PinOut(BaseModel):
    day: date
    case_id: int
    agent_id: int
    at: datetime | None
    created_by: str
    created_at: datetime


class ReplanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(None, description="re-plan only this ITL1 region (e.g. TLK)")
    time_limit_s: float = Field(30.0, ge=1, le=600, description="the solver's wall-clock limit in seconds")
    publish: bool = Field(True, description="send each agent its new day on agents/{agent_id}/plan")
    now: AwareDatetime | None = Field(None, description="re-plan from this moment of the day (default: now)")


def _invalid(loc: tuple[str, ...], msg: str, value: object) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error", "input": str(value)}])


def _on_day(at: datetime, day: date, loc: tuple[str, ...]) -> None:
    if at.astimezone(LONDON).date() != day:
        raise _invalid(loc, f"{at.isoformat()} is not on {day} (UK time)", at)


def _conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def _check_pin(db: Session, day: date, body: PinIn, agent: Agent) -> None:
    """409 unless some plan could keep the pin (module docstring)."""
    answer = why(db, body.case_id, day)
    if not answer.eligible:
        raise _conflict(f"{', '.join(answer.rule_ids)}: case {body.case_id} may not be visited on {day}: "
                        f"{'; '.join(answer.reasons)}")
    task = answer.task
    if task.case_id != body.case_id:
        raise _conflict(f"case {body.case_id} is visited with linked warrant {task.case_id}: pin that case")
    if not agent.active:
        raise _conflict(f"agent {agent.id} is not active")
    missing = task.required_skills - frozenset(agent.skills or ())
    if missing:
        raise _conflict(f"agent {agent.id} lacks skill(s) {', '.join(sorted(missing))} the visit needs")
    if task.needs_certificated and not agent.certificated:
        raise _conflict(f"the visit needs a certificated agent; agent {agent.id} is not")
    if body.at is None:
        return
    end = body.at + timedelta(seconds=task.service_s)
    if not any(w.start <= body.at and end <= w.end for w in task.windows):
        windows = ", ".join(f"{w.start.astimezone(LONDON):%H:%M}–{w.end.astimezone(LONDON):%H:%M}"
                            for w in task.windows)
        raise _conflict(f"a {task.service_s // 60}-minute visit at {body.at.astimezone(LONDON):%H:%M} is outside the "
                        f"case's windows on {day} ({windows} UK time)")
    shift = next(s for s in shifts_for_day(db, day) if s.agent_id == agent.id)
    if body.at < shift.start or end > shift.end:
        raise _conflict(f"agent {agent.id}'s shift is {shift.start.astimezone(LONDON):%H:%M}–"
                        f"{shift.end.astimezone(LONDON):%H:%M} UK time")


def _out(pin: PlanPin) -> PinOut:
    return PinOut(day=pin.day, case_id=pin.case_id, agent_id=pin.agent_id, at=pin.at, created_by=pin.created_by,
                  created_at=pin.created_at)


@router.post("/plans/{day}/pins", response_model=PinOut, status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "no such case or agent"},
                        409: {"description": "no plan could keep the pin; the detail says why"}})
def create_pin(day: date, body: PinIn, db: DB, principal: Planner) -> PinOut:
    """Pin ``case_id`` to ``agent_id`` on ``day`` (at ``at``), replacing the case's pin of that day."""
    if body.at is not None:
        _on_day(body.at, day, ("body", "at"))
    if db.get(Case, body.case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {body.case_id} not found")
    agent = db.get(Agent, body.agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {body.agent_id} not found")
    _check_pin(db, day, body, agent)
    pin = db.scalar(select(PlanPin).where(PlanPin.day == day, PlanPin.case_id == body.case_id))
    if pin is None:
        pin = PlanPin(day=day, case_id=body.case_id)
        db.add(pin)
    pin.agent_id, pin.at, pin.created_by = body.agent_id, body.at, principal.actor
    pin.created_at = datetime.now(UTC)
    db.flush()
    record_audit(db, actor=principal.actor, role=principal.role.value, action="plan.pin",
                 target=f"case:{body.case_id}", data={"day": day.isoformat(), "agent_id": body.agent_id,
                                                      "at": body.at.isoformat() if body.at else None})
    return _out(pin)


@router.get("/plans/{day}/pins", response_model=list[PinOut])
def list_pins(day: date, db: DB, principal: Staff) -> list[PinOut]:
    """The day's pins, oldest first."""
    return [_out(p) for p in db.scalars(select(PlanPin).where(PlanPin.day == day).order_by(PlanPin.id))]


@router.delete("/plans/{day}/pins/{case_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"description": "the case has no pin that day"}})
def delete_pin(day: date, case_id: int, db: DB, principal: Planner) -> Response:
    pin = db.scalar(select(PlanPin).where(PlanPin.day == day, PlanPin.case_id == case_id))
    if pin is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no pin on {day}")
    db.delete(pin)
    record_audit(db, actor=principal.actor, role=principal.role.value, action="plan.unpin",
                 target=f"case:{case_id}", data={"day": day.isoformat(), "agent_id": pin.agent_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/plans/{day}/replan", response_model=PlanSummary, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the validator found violations; nothing was stored"},
                        **NO_PLAN_RESPONSE})
def replan(day: date, body: ReplanIn, db: DB, principal: Planner) -> PlanSummary | JSONResponse:
    """Re-plan the rest of ``day`` (in ``region``) from ``now``: visits done stay done, visits under way
    stay with their agents, pins hold, agents start from their live positions (``dispatch.replan``).
    The answer waits for the solver (``time_limit_s``)."""
    check_region(db, body.region, ("body", "region"))
    now = body.now or datetime.now(UTC)
    _on_day(now, day, ("body", "now") if body.now else ("path", "day"))
    outcome = replan_day(db, connect(), day, now=now.astimezone(UTC), region=body.region,
                         time_limit_s=body.time_limit_s, actor=principal.actor, publish=body.publish,
                         role=principal.role.value, audit={"now": now.isoformat(), "publish": body.publish})
    return refusal(outcome, body.time_limit_s, "re-plan") or run_summary(day, body.region, outcome)
