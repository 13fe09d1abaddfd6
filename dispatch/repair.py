"""A last check of every route against the independent validator, and the repair of a route it rejects.

The solver's model and the validator are written apart on purpose, and on a rare route they have
disagreed (one national day of 2,000 routes had an agent whose 30-minute break the validator could
not fit between 12:00 and 14:00). A plan that breaks a rule is worse than no plan, and a whole day
refused for one route is not much better, so ``repair`` re-checks each route on its own (shift, travel,
windows, breaks) and takes visits off a rejected route until it passes (``_culprit`` chooses which; a
dispatcher's pin last).
Every repair is logged as a warning, since it means the model and the validator differ somewhere.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from dispatch.matrix import MatrixProvider
from dispatch.model import Dropped, Plan, PlannedVisit, Route, VisitTask
from dispatch.routes import visit_costs, without
from dispatch.validator import Violation, validate_route

__all__ = ["repair"]

log = logging.getLogger(__name__)


def _idle_in_breaks(route: Route, k: int, spans: Sequence[tuple[datetime, datetime]]) -> float:
    """Seconds of the longest stretch inside a break's span that would be free around visit ``k`` if it
    were taken off (from the visit before it ends to the one after it starts)."""
    s = route.shift
    begin = route.visits[k - 1].etd if k else max(s.start, s.available_from or s.start)
    end = route.visits[k + 1].eta if k + 1 < len(route.visits) else s.end
    return max((min(end, latest) - max(begin, earliest)).total_seconds() for earliest, latest in spans)


def _culprit(route: Route, faults: Sequence[Violation], tasks: dict[int, VisitTask], matrix: MatrixProvider,
             ) -> PlannedVisit:
    """The visit to take off first: not a pin if anything else will do; one a fault names; for a break
    that does not fit, the one whose removal frees the longest stretch inside a break's span; then the
    costliest."""
    named = {f.case_id for f in faults if f.case_id is not None}
    costs = visit_costs(route, matrix)
    spans = [(b.earliest, b.latest) for b in route.shift.breaks] if any(f.kind == "break" for f in faults) else []

    def rank(k: int) -> tuple[bool, bool, float, float]:
        v = route.visits[k]
        idle = _idle_in_breaks(route, k, spans) if spans else 0.0
        return (not tasks[v.case_id].pinned, v.case_id in named, idle, costs[k])

    return route.visits[max(range(len(route.visits)), key=rank)]


def repair(plan: Plan, tasks: Sequence[VisitTask], matrix: MatrixProvider) -> tuple[Plan, int]:
    """``plan`` with every route the validator rejects cut until it passes, and the number of visits
    taken off (dropped as ``capacity``, or ``pin could not be kept``)."""
    by_case = {t.case_id: t for t in tasks}
    routes: list[Route] = []
    dropped: list[Dropped] = []
    for route in plan.routes:
        fixed: Route | None = route
        while fixed is not None and (faults := validate_route(fixed, by_case, travel=matrix, day=plan.day)):
            visit = _culprit(fixed, faults, by_case, matrix)
            log.warning("agent %s: route rejected by the validator (%s); case %s taken off", route.agent_id,
                        "; ".join(f"{f.kind}: {f.message}" for f in faults), visit.case_id)
            reason = "pin could not be kept" if by_case[visit.case_id].pinned else "capacity"
            dropped.append(Dropped(visit.case_id, visit.buyer, visit.at, reason))
            fixed = without(fixed, {visit.case_id}, matrix)
        if fixed is not None:
            routes.append(fixed)
    if not dropped:
        return plan, 0
    return Plan(day=plan.day, routes=routes, dropped=[*plan.dropped, *dropped], stats=dict(plan.stats)), len(dropped)
