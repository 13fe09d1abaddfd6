"""Dispatchers' pins: "this visit is made by that agent (at that time)". Stored in ``plan_pin``
(``POST /plans/{day}/pins``); every plan of the day honours them, ``bailiwick plan`` / ``POST /plans``
as well as a re-plan.

A pin is checked when it is made (:func:`check_pin`), so that a pin no plan could keep is refused with
the reason: the case must be eligible that day (``dispatch.eligibility.why`` names the rule otherwise),
the agent active and able to make the visit (skills, certificate), and the time inside one of the
case's windows and the agent's shift with the visit's whole service time. One pin per case and day: a
new pin replaces it. Every change is audited.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import LONDON, record_audit
from core.models import Agent, PlanPin
from dispatch.eligibility import shifts_for_day, why
from dispatch.model import VisitTask

__all__ = ["Pin", "PinRefused", "apply_pins", "check_pin", "day_pins", "load_pins", "remove_pin", "save_pin"]


@dataclass(frozen=True)
class Pin:
    """A dispatcher's pin: ``case_id`` is made by ``agent_id``, at ``at`` when given."""

    case_id: int
    agent_id: int
    at: datetime | None = None


def apply_pins(tasks: Sequence[VisitTask], pins: Sequence[Pin],
               free_from: Mapping[int, datetime | None] | None = None) -> list[VisitTask]:
    """``tasks`` with each pin's ``pinned_agent``/``pinned_at`` set. A pin on a case that is not a
    task (visited, under way, no longer eligible) pins nothing. ``free_from`` (re-planning: when each
    agent is free again) lets go of a pinned time the agent can no longer make but keeps the agent:
    the dispatcher wanted that agent to make the visit, and no plan can honour a time in the past."""
    pin_of = {p.case_id: p for p in pins}
    free_from = free_from or {}
    out = []
    for task in tasks:
        pin = pin_of.get(task.case_id)
        if pin is not None:
            free = free_from.get(pin.agent_id)
            keep_time = pin.at is not None and (free is None or pin.at >= free)
            task = replace(task, pinned_agent=pin.agent_id, pinned_at=pin.at if keep_time else None)
        out.append(task)
    return out


def load_pins(db: Session, day: date) -> list[Pin]:
    return [Pin(p.case_id, p.agent_id, p.at) for p in day_pins(db, day)]


class PinRefused(Exception):
    """No plan could keep the pin; the message says why."""


def check_pin(db: Session, day: date, pin: Pin, agent: Agent) -> None:
    """Raise :class:`PinRefused` unless some plan of ``day`` could keep ``pin`` (module docstring)."""
    answer = why(db, pin.case_id, day)
    if not answer.eligible:
        raise PinRefused(f"{', '.join(answer.rule_ids)}: case {pin.case_id} may not be visited on {day}: "
                         f"{'; '.join(answer.reasons)}")
    task = answer.task
    if task.case_id != pin.case_id:
        raise PinRefused(f"case {pin.case_id} is visited with linked warrant {task.case_id}: pin that case")
    if not agent.active:
        raise PinRefused(f"agent {agent.id} is not active")
    missing = task.required_skills - frozenset(agent.skills or ())
    if missing:
        raise PinRefused(f"agent {agent.id} lacks skill(s) {', '.join(sorted(missing))} the visit needs")
    if task.needs_certificated and not agent.certificated:
        raise PinRefused(f"the visit needs a certificated agent; agent {agent.id} is not")
    if pin.at is None:
        return
    end = pin.at + timedelta(seconds=task.service_s)
    if not any(w.start <= pin.at and end <= w.end for w in task.windows):
        windows = ", ".join(f"{w.start.astimezone(LONDON):%H:%M}–{w.end.astimezone(LONDON):%H:%M}"
                            for w in task.windows)
        raise PinRefused(f"a {task.service_s // 60}-minute visit at {pin.at.astimezone(LONDON):%H:%M} is outside "
                         f"the case's windows on {day} ({windows} UK time)")
    shift = next(s for s in shifts_for_day(db, day) if s.agent_id == agent.id)
    if pin.at < shift.start or end > shift.end:
        raise PinRefused(f"agent {agent.id}'s shift is {shift.start.astimezone(LONDON):%H:%M}–"
                         f"{shift.end.astimezone(LONDON):%H:%M} UK time")


def save_pin(db: Session, day: date, pin: Pin, actor: str, role: str) -> PlanPin:
    """Store ``pin`` as the case's pin of ``day``, replacing any, and audit it. Check it first."""
    row = db.scalar(select(PlanPin).where(PlanPin.day == day, PlanPin.case_id == pin.case_id))
    if row is None:
        row = PlanPin(day=day, case_id=pin.case_id)
        db.add(row)
    row.agent_id, row.at, row.created_by = pin.agent_id, pin.at, actor
    row.created_at = datetime.now(UTC)
    db.flush()
    record_audit(db, actor=actor, role=role, action="plan.pin", target=f"case:{pin.case_id}",
                 data={"day": day.isoformat(), "agent_id": pin.agent_id,
                       "at": pin.at.isoformat() if pin.at else None})
    return row


def day_pins(db: Session, day: date) -> list[PlanPin]:
    """The day's stored pins, oldest first."""
    return list(db.scalars(select(PlanPin).where(PlanPin.day == day).order_by(PlanPin.id)))


def remove_pin(db: Session, day: date, case_id: int, actor: str, role: str) -> bool:
    """Delete the case's pin of ``day`` and audit it; False when it had none."""
    row = db.scalar(select(PlanPin).where(PlanPin.day == day, PlanPin.case_id == case_id))
    if row is None:
        return False
    db.delete(row)
    record_audit(db, actor=actor, role=role, action="plan.unpin", target=f"case:{case_id}",
                 data={"day": day.isoformat(), "agent_id": row.agent_id})
    return True
