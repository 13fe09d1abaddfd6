"""Dispatchers' pins: "this visit is made by that agent (at that time)". Stored in ``plan_pin``
(``POST /plans/{day}/pins``); every plan of the day honours them, ``bailiwick plan`` / ``POST /plans``
as well as a re-plan."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import PlanPin
from dispatch.model import VisitTask

__all__ = ["Pin", "apply_pins", "load_pins"]


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
    return [Pin(p.case_id, p.agent_id, p.at) for p in db.scalars(select(PlanPin).where(PlanPin.day == day)
                                                                 .order_by(PlanPin.id))]
