"""An independent re-check of a finished plan: every way a ``Plan`` can break a shift, a window, a pin
or a buyer's visit rule, listed as ``Violation``s. A plan that breaks a rule is worse than no plan
(issue 4), so the solver's output is only used when this list is empty.

Independence: nothing here comes from ``dispatch.solver`` or ``dispatch.matrix``. The validator walks
each route's timeline itself, from the given travel times, and asks ``core.visit_rules.visit_allowed``
(the same pure rule the evidence checker uses) about every planned visit when case facts are given.

What is checked (``Violation.kind``):
- ``window`` (R-VISIT-HOURS): the arrival falls in one of the task's hard windows, ``start <= eta <
  end``, and the visit's recorded ``window`` is one of them. Only the arrival must fall inside: service
  may run past the window end. The visiting-hours rule is about when a visit *is*, and a visit is at
  its arrival — ``visit_allowed`` judges the arrival instant, and the evidence record carries arrival
  and departure separately (DOMAIN.md R-VISIT-HOURS "no visit before 06:00 or after 21:00"
  [000 §5.86]; R-VISIT-EVIDENCE [000 §1.137–1.138]).
- ``service``: ``etd == eta + service_s`` with the task's service time.
- ``shift_start`` / ``shift_end``: no visit before the shift starts (or before the agent is available
  when re-planning); after the last visit the agent is back at ``end_at`` by ``shift.end``. When
  re-planning, a visit pinned at a time before ``available_from`` is under way or done: it is checked
  for everything but the timeline, which starts from ``current_at`` at ``available_from``.
- ``travel``: the agent can get there — the first ETA is at least departure + travel from the start
  point, and each next ETA at least the previous ETD + travel.
- ``break``: every break of the shift fits, whole, into the idle time between visits inside its
  ``earliest``–``latest`` span (travel may be interrupted by a break, service may not).
- ``skill`` / ``certificated``: the agent has the task's required skills and, where needed, is
  certificated.
- ``duplicate``: no case planned twice, by one agent or two, or both planned and dropped.
- ``lost``: every task is either planned or dropped; ``reason``: every drop says why.
- ``unknown``: a visit, drop or route refers to a case or agent not in the input; ``sequence``: seq is
  1, 2, … in ETA order and each visit names its route's agent; ``shift``: the route carries the
  agent's shift as given.
- ``pinned``: a pinned task is planned, with its agent and at its time.
- ``expired``: a task with ``expires_at`` is not planned to arrive at or after it (an ANPR sighting
  is worth a visit only for a while).
- ``rule`` (the failing rule's id: R-VISIT-HOURS, R-VISIT-HOLIDAY, R-VISIT-GAP, R-CASE-HOLD,
  R-CASE-VULN, R-VISIT-SENSITIVE, R-CASE-COMPLIANCE): with ``facts``, ``visit_allowed`` at each ETA, with
  the case's history from ``histories``; a planned case without facts is reported too, since nothing
  then shows the visit is allowed.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from core import CaseFacts, VisitFact, visit_allowed
from dispatch.model import Break, Plan, PlannedVisit, Point, Route, Shift, VisitTask

__all__ = ["MatrixLike", "Violation", "validate", "validate_route"]


class _Durations(Protocol):
    duration_s: Any  # indexable as [i, j]: seconds from point i to point j


@runtime_checkable
class MatrixLike(Protocol):
    """A travel-matrix provider as ``dispatch.matrix`` defines them (duck-typed, so that nothing of the
    planner's is imported): ``matrix(points).duration_s[i, j]`` seconds from point i to point j."""

    def matrix(self, points: Sequence[Point]) -> _Durations: ...


Travel = Callable[[Point, Point], float] | MatrixLike


@dataclass(frozen=True)
class Violation:
    kind: str
    agent_id: int | None
    case_id: int | None
    rule_id: str | None
    message: str


def _travel_seconds(travel: Travel, points: list[Point]) -> Callable[[Point, Point], int]:
    """Whole seconds from ``a`` to ``b``, rounded as the solver's integer model rounds them."""
    if isinstance(travel, MatrixLike):
        unique = list(dict.fromkeys(points))
        index = {p: i for i, p in enumerate(unique)}
        table = travel.matrix(unique).duration_s if unique else None
        return lambda a, b: round(table[index[a], index[b]])
    return lambda a, b: 0 if a == b else round(travel(a, b))


def _s(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


class _Report:
    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def add(self, kind: str, agent_id: int | None, case_id: int | None, message: str,
            rule_id: str | None = None) -> None:
        self.violations.append(Violation(kind, agent_id, case_id, rule_id, message))


def _fit_breaks(breaks: Sequence[Break], gaps: Sequence[tuple[datetime, datetime, int]]) -> list[Break]:
    """The breaks that do NOT fit into the idle gaps. A gap ``(start, end, travel_s)`` is time between
    two fixed points (shift start, visits, return) during which ``travel_s`` of driving happens; a break
    fits where it lies inside both the gap and its own span and leaves room for the driving. Breaks are
    placed earliest first, each as early as it can go, so one gap's time is never counted twice."""
    missing = []
    used: dict[int, tuple[datetime, int]] = {}  # gap index → (next free instant, seconds of break in it)
    for brk in sorted(breaks, key=lambda b: (b.earliest, b.latest)):
        need = timedelta(seconds=brk.duration_s)
        for i, (g_start, g_end, travel_s) in enumerate(gaps):
            cursor, taken = used.get(i, (g_start, 0))
            begin = max(cursor, brk.earliest)
            room = (g_end - g_start).total_seconds() - taken - brk.duration_s
            if begin + need <= min(g_end, brk.latest) and room >= travel_s:
                used[i] = (begin + need, taken + brk.duration_s)
                break
        else:
            missing.append(brk)
    return missing


def _check_route(route: Route, shift: Shift, tasks: Mapping[int, VisitTask],
                 seconds: Callable[[Point, Point], int], report: _Report) -> None:
    agent = route.agent_id
    if route.shift != shift:
        report.add("shift", agent, None, "the route's shift differs from the agent's shift given")
    start_at = shift.current_at or shift.start_at
    depart = max(shift.start, shift.available_from or shift.start)
    gaps: list[tuple[datetime, datetime, int]] = []
    prev: PlannedVisit | None = None
    for n, visit in enumerate(route.visits, start=1):
        case = visit.case_id
        if visit.seq != n:
            report.add("sequence", agent, case, f"visit {n} of the route has seq {visit.seq}")
        if visit.agent_id != agent:
            report.add("sequence", agent, case, f"visit names agent {visit.agent_id}, route is agent {agent}")
        task = tasks.get(case)
        if visit.etd != visit.eta + timedelta(seconds=visit.service_s):
            report.add("service", agent, case, f"etd {_s(visit.etd)} is not eta + {visit.service_s} s")
        if task is not None:
            _check_visit(visit, task, shift, report)
        if (shift.available_from is not None and task is not None and task.pinned_at is not None
                and visit.eta < shift.available_from):
            # Re-planning: a visit pinned at a time before the agent is free again is under way or done;
            # the agent's timeline restarts from ``current_at`` at ``available_from`` after it.
            continue
        if visit.eta < depart:
            report.add("shift_start", agent, case, f"arrives {_s(visit.eta)} before the agent is available "
                                                   f"({_s(depart)})")
        if prev is None:
            leg = seconds(start_at, visit.at)
            if visit.eta < depart + timedelta(seconds=leg):
                report.add("travel", agent, case, f"arrives {_s(visit.eta)}, but leaving at {_s(depart)} "
                                                  f"with {leg} s of travel it cannot be before "
                                                  f"{_s(depart + timedelta(seconds=leg))}")
            gaps.append((depart, visit.eta, leg))
        else:
            leg = seconds(prev.at, visit.at)
            if visit.eta < prev.etd + timedelta(seconds=leg):
                report.add("travel", agent, case, f"arrives {_s(visit.eta)}, but leaves case {prev.case_id} "
                                                  f"at {_s(prev.etd)} with {leg} s of travel")
            gaps.append((prev.etd, visit.eta, leg))
        prev = visit
    last_at, free = (prev.at, prev.etd) if prev else (start_at, depart)
    leg = seconds(last_at, shift.end_at)
    back = free + timedelta(seconds=leg)
    if back > shift.end:
        report.add("shift_end", agent, prev.case_id if prev else None,
                   f"back at base {_s(back)}, after the shift ends ({_s(shift.end)})")
    gaps.append((free, shift.end, leg))
    # Breaks that had to end before the agent was available again are not this plan's to place.
    for brk in _fit_breaks([b for b in shift.breaks if b.latest > depart], gaps):
        report.add("break", agent, None, f"no {brk.duration_s} s break fits between {_s(brk.earliest)} "
                                         f"and {_s(brk.latest)}")


def _check_visit(visit: PlannedVisit, task: VisitTask, shift: Shift, report: _Report) -> None:
    agent, case = visit.agent_id, visit.case_id
    # R-VISIT-HOURS: arrival inside a hard window; service may run on past its end (module docstring).
    if not any(w.start <= visit.eta < w.end for w in task.windows):
        report.add("window", agent, case, f"arrives {_s(visit.eta)}, outside every window of the task",
                   "R-VISIT-HOURS")
    elif visit.window not in task.windows or not visit.window.start <= visit.eta < visit.window.end:
        report.add("window", agent, case, "the visit's recorded window is not the task window it arrives in",
                   "R-VISIT-HOURS")
    if visit.service_s != task.service_s:
        report.add("service", agent, case, f"service {visit.service_s} s, the task needs {task.service_s} s")
    missing = task.required_skills - shift.skills
    if missing:
        report.add("skill", agent, case, f"agent lacks skill(s) {', '.join(sorted(missing))}")
    if task.needs_certificated and not shift.certificated:
        report.add("certificated", agent, case, "the visit needs a certificated agent")
    if task.pinned_agent is not None and task.pinned_agent != agent:
        report.add("pinned", agent, case, f"pinned to agent {task.pinned_agent}")
    if task.pinned_at is not None and visit.eta != task.pinned_at:
        report.add("pinned", agent, case, f"pinned at {_s(task.pinned_at)}, planned at {_s(visit.eta)}")
    if task.expires_at is not None and visit.eta >= task.expires_at:
        report.add("expired", agent, case, f"arrives {_s(visit.eta)}, the task expired at {_s(task.expires_at)}")


def _check_rules(plan: Plan, facts: Mapping[int, CaseFacts],
                 histories: Mapping[int, Sequence[VisitFact]] | None, report: _Report) -> None:
    for route in plan.routes:
        for visit in route.visits:
            case = facts.get(visit.case_id)
            if case is None:
                report.add("rule", visit.agent_id, visit.case_id, "no case facts: the visit cannot be "
                                                                   "shown to be allowed")
                continue
            history = (histories or {}).get(visit.case_id, ())
            decision = visit_allowed(case, history, visit.eta)
            for rule_id in decision.rule_ids:
                reasons = "; ".join(decision.reasons)
                report.add("rule", visit.agent_id, visit.case_id, f"{rule_id} at {_s(visit.eta)}: {reasons}",
                           rule_id)


def validate(plan: Plan, tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, travel: Travel,
             facts: Mapping[int, CaseFacts] | None = None,
             histories: Mapping[int, Sequence[VisitFact]] | None = None) -> list[Violation]:
    """Every violation of ``plan`` against the ``tasks`` and ``shifts`` it was planned from (module
    docstring); an empty list means the plan may be used. ``travel`` gives seconds between two points,
    as a function or a matrix provider (``MatrixLike``). With ``facts`` (case id →
    ``CaseFacts``) each planned visit is also checked with ``visit_allowed`` against ``histories``."""
    report = _Report()
    by_case = {t.case_id: t for t in tasks}
    by_agent = {s.agent_id: s for s in shifts}
    points = [p for s in shifts for p in (s.start_at, s.end_at, s.current_at) if p is not None]
    points += [v.at for r in plan.routes for v in r.visits]
    seconds = _travel_seconds(travel, points)

    route_agents = Counter(r.agent_id for r in plan.routes)
    for agent, n in route_agents.items():
        if n > 1:
            report.add("duplicate", agent, None, f"agent has {n} routes")
    for route in plan.routes:
        shift = by_agent.get(route.agent_id)
        if shift is None:
            report.add("unknown", route.agent_id, None, "route for an agent with no shift")
            continue
        _check_route(route, shift, by_case, seconds, report)

    planned = Counter(v.case_id for r in plan.routes for v in r.visits)
    dropped = Counter(d.case_id for d in plan.dropped)
    for case, n in planned.items():
        if n > 1:
            agents = sorted({v.agent_id for r in plan.routes for v in r.visits if v.case_id == case})
            report.add("duplicate", None, case, f"planned {n} times (agents {agents})")
        if case in dropped:
            report.add("duplicate", None, case, "both planned and dropped")
        if case not in by_case:
            report.add("unknown", None, case, "planned visit for a case that is not a task")
    for case, n in dropped.items():
        if n > 1:
            report.add("duplicate", None, case, f"dropped {n} times")
    for drop in plan.dropped:
        if drop.case_id not in by_case:
            report.add("unknown", None, drop.case_id, "dropped a case that is not a task")
        if not drop.reason.strip():
            report.add("reason", None, drop.case_id, "dropped without a reason")
    for task in tasks:
        if task.case_id not in planned and task.case_id not in dropped:
            report.add("lost", None, task.case_id, "neither planned nor dropped")
        if task.case_id not in planned and (task.pinned_agent is not None or task.pinned_at is not None):
            report.add("pinned", task.pinned_agent, task.case_id, "pinned but not planned")

    if facts is not None:
        _check_rules(plan, facts, histories, report)
    return report.violations


def validate_route(route: Route, tasks: Mapping[int, VisitTask], *, travel: Travel, day: date) -> list[Violation]:
    """``validate`` for ``route`` alone (its shift, travel, windows and breaks), its visits' tasks taken
    from ``tasks`` (case id → task): the check of a route edited on its own (``dispatch.repair``,
    ``dispatch.exchange``)."""
    return validate(Plan(day=day, routes=[route], dropped=[]), [tasks[v.case_id] for v in route.visits],
                    [route.shift], travel=travel)
