"""Re-planning mid-day: what is done stays done, what is under way stays with its agent, dispatchers'
pins hold, and the rest of the day is planned again from where the agents are now.

The pure part is ``replan_inputs`` (the day's tasks and shifts → the re-plan's tasks and shifts) and
``with_started`` (a solved plan → the plan with the visits under way put back at the head of their
routes). ``replan_day`` is the database/Redis/MQTT edge.

Rules (``replan_inputs``):

- **Done**: a case visited today (arrival and departure recorded) is not planned again. Eligibility
  keeps most of them out already (the gap after a no-contact visit and the daily cap, R-VISIT-GAP, and
  a paid or arranged case is no longer open, R-CASE-HOLD), but not all: under a policy with no daily
  cap a visit that ended ``refused`` leaves the case eligible the same day. The re-plan takes the round
  as made, so it drops those tasks itself.
- **Under way** (arrival recorded, no departure): the visit is pinned to its agent at its arrival
  time, with the case's task as it stood when the visit began (its windows not cut to ``now``). The
  agent is free again at ``max(now, arrival + service)``, at the visit's address.
- **Where each agent is** (``Shift.current_at``): at the visit under way; else at the newer of its
  last fix (``core.positions``) and its last completed visit's address; else at its home base. A fix
  counts only when taken within ``STALE_AFTER`` of ``now`` (either side, as device clocks drift): an
  older one says where the agent was, not where it is.
- **When**: ``Shift.available_from`` is ``now`` (or the end of the visit under way).
- **Dispatcher pins** (``Pin``) set ``pinned_agent`` and ``pinned_at`` on the task. A pin on a case
  that is not a task any more (visited, under way, or no longer eligible — ``eligibility.why`` says
  why) pins nothing. A pinned time the agent can no longer make (before ``available_from``) keeps the
  agent and lets the time go: the dispatcher wanted that agent to make the visit, and a time in the
  past cannot be honoured by any plan.

The solver plans from ``available_from`` onwards, so visits under way (pinned before it) are not given
to it: ``replan_day`` solves the rest and ``with_started`` puts them back; the validator checks the
whole, as it knows visits pinned before ``available_from`` are under way.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import redis
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import LONDON, load_case_facts, read_positions, visit_history
from core.models import Address, Case, PlanKind, Visit
from dispatch.eligibility import (
    EligibilityResult,
    OptionalVisitSource,
    case_sites,
    eligible_tasks,
    load_eligibility,
    shifts_for_day,
)
from dispatch.matrix import MatrixProvider
from dispatch.model import Plan, PlannedVisit, Point, Route, Shift, VisitTask
from dispatch.pins import Pin, apply_pins, load_pins
from dispatch.planner import plan_day
from dispatch.service import (
    PlanOutcome,
    check_plan,
    infeasible,
    store_and_publish,
    travel_provider,
    unsolved,
)
from dispatch.solver import model_points

__all__ = ["STALE_AFTER", "Completed", "PositionFix", "Started", "can_still_work", "replan_day", "replan_inputs",
           "started_tasks", "with_started"]

STALE_AFTER = timedelta(minutes=30)


class PositionFix(Protocol):
    """A live position (``core.positions.Fix``)."""

    lon: float
    lat: float
    at: datetime


@dataclass(frozen=True)
class Completed:
    """A visit made today: arrival and departure recorded. ``case_id`` is the task's case (the leading
    linked warrant when the visit was recorded on another member)."""

    case_id: int
    agent_id: int
    arrived_at: datetime
    departed_at: datetime
    at: Point


@dataclass(frozen=True)
class Started:
    """A visit under way: arrival recorded, no departure. ``task`` is the case's task as it stood when
    the visit began (the day's windows, not cut to ``now``)."""

    agent_id: int
    arrived_at: datetime
    task: VisitTask


def _fresh(fix: PositionFix | None, now: datetime) -> bool:
    return fix is not None and abs(now - fix.at) <= STALE_AFTER


def _where(shift: Shift, now: datetime, fix: PositionFix | None, last_done: Completed | None) -> Point:
    if _fresh(fix, now) and (last_done is None or fix.at >= last_done.departed_at):
        return Point(fix.lon, fix.lat)
    if last_done is not None:
        return last_done.at
    return shift.start_at


def replan_inputs(tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, now: datetime,
                  positions: Mapping[int, PositionFix], in_progress: Sequence[Started],
                  completed: Sequence[Completed] = (), pins: Sequence[Pin] = (),
                  ) -> tuple[list[VisitTask], list[Shift]]:
    """The tasks and shifts of a re-plan at ``now`` (module docstring). ``tasks`` come from eligibility
    at ``now`` (windows already cut to start after it); ``positions`` are agents' last fixes."""
    started = {s.agent_id: s for s in in_progress}
    last_done: dict[int, Completed] = {}
    for c in sorted(completed, key=lambda c: c.departed_at):
        last_done[c.agent_id] = c

    out_shifts = []
    for shift in shifts:
        s = started.get(shift.agent_id)
        if s is not None:
            free = max(now, s.arrived_at + timedelta(seconds=s.task.service_s))
            out_shifts.append(replace(shift, available_from=free, current_at=s.task.at))
        else:
            where = _where(shift, now, positions.get(shift.agent_id), last_done.get(shift.agent_id))
            out_shifts.append(replace(shift, available_from=now, current_at=where))
    free_from = {s.agent_id: s.available_from for s in out_shifts}

    gone = {c.case_id for c in completed} | {s.task.case_id for s in in_progress}
    out_tasks = apply_pins([t for t in tasks if t.case_id not in gone], pins, free_from)
    out_tasks += [replace(s.task, pinned_agent=s.agent_id, pinned_at=s.arrived_at) for s in in_progress]
    return out_tasks, out_shifts


def started_tasks(tasks: Sequence[VisitTask], shifts: Sequence[Shift]) -> set[int]:
    """Case ids of the tasks under way: pinned to an agent at a time before the agent is free again
    (the validator's reading of the same fields)."""
    free = {s.agent_id: s.available_from for s in shifts if s.available_from is not None}
    return {t.case_id for t in tasks if t.pinned_agent in free and t.pinned_at is not None
            and t.pinned_at < free[t.pinned_agent]}


def can_still_work(shifts: Sequence[Shift], matrix: MatrixProvider) -> list[Shift]:
    """The shifts whose agent can still get home by the end of the shift from where it is when it is
    free: only they can be given more visits (an agent who cannot would make every plan break its
    shift, so the solver would find none)."""
    out = []
    for s in shifts:
        start, where = s.available_from or s.start, s.current_at or s.start_at
        home = int(matrix.matrix([where, s.end_at]).duration_s[0, 1])
        if start + timedelta(seconds=home) <= s.end:
            out.append(s)
    return out


def with_started(plan: Plan, tasks: Sequence[VisitTask], shifts: Sequence[Shift], matrix: MatrixProvider) -> Plan:
    """``plan`` (solved without the visits under way) with each visit under way at the head of its
    agent's route, at its arrival time. An agent with no other visit gets a route of its visits under
    way and the drive home from the last one (``matrix``)."""
    under_way = started_tasks(tasks, shifts)
    by_agent: dict[int, list[VisitTask]] = {}
    for t in tasks:
        if t.case_id in under_way:
            by_agent.setdefault(t.pinned_agent, []).append(t)
    if not by_agent:
        return plan
    shift_of = {s.agent_id: s for s in shifts}
    routes = {r.agent_id: r for r in plan.routes}
    for agent_id, started in by_agent.items():
        head = []
        for t in sorted(started, key=lambda t: t.pinned_at):
            # A visit recorded outside every window is reported by the validator, not hidden here.
            window = next((w for w in t.windows if w.start <= t.pinned_at < w.end), t.windows[0])
            head.append(PlannedVisit(case_id=t.case_id, agent_id=agent_id, seq=0, eta=t.pinned_at,
                                     etd=t.pinned_at + timedelta(seconds=t.service_s), window=window,
                                     service_s=t.service_s, buyer=t.buyer, at=t.at, time_band=window.time_band))
        route = routes.get(agent_id)
        if route is None:
            shift = shift_of[agent_id]
            where = shift.current_at or shift.start_at
            home = matrix.matrix([where, shift.end_at])
            route = Route(agent_id=agent_id, shift=shift, visits=(), distance_m=float(home.distance_m[0, 1]),
                          duration_s=int(home.duration_s[0, 1]))
        visits = tuple(replace(v, seq=n) for n, v in enumerate([*head, *route.visits], start=1))
        routes[agent_id] = replace(route, visits=visits)
    served = sum(len(r.visits) for r in routes.values())
    return replace(plan, routes=sorted(routes.values(), key=lambda r: r.agent_id),
                   stats={**plan.stats, "served": float(served)})


# --- the edge: database, Redis, MQTT -----------------------------------------------------------------


def _started_task(db: Session, visit: Visit, day: date) -> VisitTask | None:
    """The task of ``visit``'s case as it stood when the visit began: eligibility on ``day`` with the
    history before its arrival (None when the case was not eligible then: a visit recorded as a breach)."""
    ids = [visit.case_id]
    facts = load_case_facts(db, ids, day)
    history = {visit.case_id: [v for v in visit_history(db, ids)[visit.case_id] if v.arrived_at < visit.arrived_at]}
    result = eligible_tasks(facts, history, case_sites(db, ids), day)
    return result.tasks[0] if result.tasks else None


def _recorded(db: Session, day: date, now: datetime, agent_ids: Sequence[int],
              carried: Mapping[int, tuple[int, ...]]) -> tuple[list[Started], list[Completed]]:
    """Today's visits by ``agent_ids`` up to ``now``: the ones under way and the ones made."""
    task_of = {member: lead for lead, members in carried.items() for member in members}
    day_start = datetime.combine(day, time(0), tzinfo=LONDON)
    rows = db.execute(select(Visit, Address.location).join(Case, Case.id == Visit.case_id)
                      .join(Address, Address.id == Case.address_id)
                      .where(Visit.agent_id.in_(list(agent_ids)), Visit.arrived_at >= day_start,
                             Visit.arrived_at <= now).order_by(Visit.arrived_at)).all()
    started: dict[int, Started] = {}
    completed = []
    for visit, location in rows:
        if visit.departed_at is not None and visit.departed_at <= now:
            where = to_shape(location)
            completed.append(Completed(task_of.get(visit.case_id, visit.case_id), visit.agent_id, visit.arrived_at,
                                       visit.departed_at, Point(where.x, where.y)))
            continue
        task = _started_task(db, visit, day)
        if task is not None:
            # An agent is at one door at a time: the latest arrival is the visit under way.
            started[visit.agent_id] = Started(visit.agent_id, visit.arrived_at, task)
    # A visit under way on one warrant of a linked group deals with the whole group's task.
    completed += [Completed(task_of[s.task.case_id], s.agent_id, s.arrived_at, now, s.task.at)
                  for s in started.values() if task_of.get(s.task.case_id, s.task.case_id) != s.task.case_id]
    return list(started.values()), completed


def replan_day(db: Session, client: redis.Redis, day: date, *, now: datetime, region: str | None = None,
               time_limit_s: float, actor: str, publish: bool = True, matrix: MatrixProvider | None = None,
               positions_namespace: str = "", role: str | None = None,
               audit: dict[str, Any] | None = None, sources: Sequence[OptionalVisitSource] = ()) -> PlanOutcome:
    """Re-plan the rest of ``day`` (in ``region``) at ``now`` (module docstring) with the same pieces,
    the same rules and the same optional-visit ``sources`` as ``dispatch.service.plan_and_store``: validated with the case facts and
    histories of every warrant, stored as a ``replan`` run and committed only when it breaks nothing,
    then (``publish``) sent to each agent. ``matrix`` defaults to the planner's travel times;
    ``client`` is the Redis holding the live positions (under ``positions_namespace``); ``role`` and
    ``audit`` go on the audit row stored with the run. A re-plan the solver did not finish within
    ``time_limit_s`` is refused as ``plan_and_store`` refuses one: nothing stored or sent, the current
    plan stays, ``PlanOutcome.unsolved`` counts the visits left unplanned."""
    eligibility = load_eligibility(db, day, region, now=now, sources=sources)
    shifts = shifts_for_day(db, day, region)
    agent_ids = [s.agent_id for s in shifts]
    started, completed = _recorded(db, day, now, agent_ids, eligibility.carried)
    positions = read_positions(client, agent_ids, namespace=positions_namespace)
    tasks, shifts = replan_inputs(eligibility.tasks, shifts, now=now, positions=positions, in_progress=started,
                                  completed=completed, pins=load_pins(db, day))
    travel = matrix or travel_provider(db, model_points(tasks, shifts))
    under_way = started_tasks(tasks, shifts)
    plan = plan_day([t for t in tasks if t.case_id not in under_way], can_still_work(shifts, travel),
                    matrix=travel, day=day, time_limit_s=time_limit_s)
    if unfinished := unsolved(plan):
        return PlanOutcome(None, plan, [], shifts, unsolved=unfinished, infeasible=infeasible(plan))
    plan = with_started(plan, tasks, shifts, travel)
    # A visit under way stands for its own case (its task came from that case alone).
    carried = {**eligibility.carried, **{case_id: (case_id,) for case_id in under_way}}
    checked = EligibilityResult(tasks, eligibility.excluded, carried)
    violations = check_plan(db, plan, checked, shifts, travel, day)
    if violations:
        return PlanOutcome(None, plan, violations, shifts)
    return store_and_publish(db, plan, shifts, priorities={t.case_id: t.priority for t in tasks}, region=region,
                             actor=actor, kind=PlanKind.replan, time_limit_s=time_limit_s, role=role, audit=audit,
                             publish=publish)
