"""Editing a planned route: what each visit costs it, and the route without some visits.

Used by the fairness trim (``dispatch.fairness.trim``) and the repair of routes the validator rejects
(``dispatch.repair``). Removing stops never makes the rest late: travel times obey the triangle
inequality, and the kept visits keep their times (the agent may wait).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dispatch.matrix import MatrixProvider
from dispatch.model import Point, Route

__all__ = ["visit_costs", "without"]


def _route_points(route: Route) -> list[Point]:
    s = route.shift
    return [s.current_at or s.start_at, *(v.at for v in route.visits), s.end_at]


def visit_costs(route: Route, matrix: MatrixProvider) -> list[float]:
    """Seconds each visit of ``route`` costs: its service plus the detour to it."""
    d = matrix.matrix(_route_points(route)).duration_s
    return [float(v.service_s + d[k, k + 1] + d[k + 1, k + 2] - d[k, k + 2]) for k, v in enumerate(route.visits)]


def without(route: Route, gone: set[int], matrix: MatrixProvider) -> Route | None:
    """``route`` without the visits in ``gone``: the rest keep their times (they may now wait), seqs are
    renumbered, distance and duration (leaving as late, back as early as the kept visits allow) are
    recomputed. None when no visit is left."""
    kept = [v for v in route.visits if v.case_id not in gone]
    if not kept:
        return None
    kept = [replace(v, seq=n) for n, v in enumerate(kept, start=1)]
    trimmed = replace(route, visits=tuple(kept))
    tm = matrix.matrix(_route_points(trimmed))
    last = len(kept) + 1
    leave = kept[0].eta - timedelta(seconds=int(tm.duration_s[0, 1]))
    back = kept[-1].etd + timedelta(seconds=int(tm.duration_s[last - 1, last]))
    distance = float(sum(tm.distance_m[k, k + 1] for k in range(last)))
    return replace(trimmed, distance_m=distance,
                   duration_s=min(route.duration_s, int((back - leave).total_seconds())))
