"""Editing a planned route: what each visit costs it, the route without some visits, or with others.

Used by the fairness trim (``dispatch.fairness.trim``), the exchange of visits between buyers
(``dispatch.exchange``) and the repair of routes the validator rejects (``dispatch.repair``). Removing
stops never makes the rest late: travel times obey the triangle inequality, and the kept visits keep
their times (the agent may wait).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from dispatch.matrix import MatrixProvider
from dispatch.model import PlannedVisit, Point, Route

__all__ = ["remeasured", "visit_costs", "without"]


def _route_points(route: Route) -> list[Point]:
    s = route.shift
    return [s.current_at or s.start_at, *(v.at for v in route.visits), s.end_at]


def visit_costs(route: Route, matrix: MatrixProvider) -> list[float]:
    """Seconds each visit of ``route`` costs: its service plus the detour to it."""
    d = matrix.matrix(_route_points(route)).duration_s
    return [float(v.service_s + d[k, k + 1] + d[k + 1, k + 2] - d[k, k + 2]) for k, v in enumerate(route.visits)]


def without(route: Route, gone: set[int], matrix: MatrixProvider) -> Route | None:
    """``route`` without the visits in ``gone``: the rest keep their times (they may now wait); see
    ``remeasured``. None when no visit is left."""
    kept = [v for v in route.visits if v.case_id not in gone]
    return remeasured(route, kept, matrix) if kept else None


def remeasured(route: Route, visits: Sequence[PlannedVisit], matrix: MatrixProvider) -> Route:
    """``route`` with ``visits`` (not empty) in place of its own, at their times: seqs renumbered, distance
    and duration (leaving as late, back as early as the visits allow, never longer than before)
    recomputed."""
    kept = [replace(v, seq=n) for n, v in enumerate(visits, start=1)]
    changed = replace(route, visits=tuple(kept))
    tm = matrix.matrix(_route_points(changed))
    last = len(kept) + 1
    leave = kept[0].eta - timedelta(seconds=int(tm.duration_s[0, 1]))
    back = kept[-1].etd + timedelta(seconds=int(tm.duration_s[last - 1, last]))
    distance = float(sum(tm.distance_m[k, k + 1] for k in range(last)))
    return replace(changed, distance_m=distance,
                   duration_s=min(route.duration_s, int((back - leave).total_seconds())))
