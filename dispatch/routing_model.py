"""The OR-Tools routing model: today's ``VisitTask``s and agents' ``Shift``s in, a model to search out.

One vehicle per shift, starting at the agent's home base (or current position when re-planning) and
ending at its end point. Time is one dimension in whole seconds from ``origin`` (the earliest shift
start); waiting is slack. What each rule becomes in the model:

- Hard windows (R-VISIT-* via eligibility): a visit must *start and finish* inside one of the task's
  windows, so its start cumul is restricted to ``[w.start, w.end - service]`` for each window, the
  union set with ``SetRange`` and the gaps removed with ``RemoveInterval``. Optional tasks (ANPR
  sightings) are cut at ``expires_at``.
- Shift hours: vehicle start/end cumul ranges; breaks: ``SetBreakIntervalsOfVehicle`` with the
  service times as node visit transits (a break never splits a visit).
- Skills / certificated agents: the allowed values of ``VehicleVar``; a task nobody may do is dropped
  before solving with the reason ("no agent with skill vehicle", ``dispatch.skills``).
- Preferred time bands (R-VISIT-TIMES): soft lower/upper bounds at ``preferred_cost_per_s`` per second,
  only when some plannable band is not preferred.
- Priorities: disjunction penalties, in three tiers. An urgent task (priority ≥ ``URGENT_PRIORITY``)
  costs more to drop than the largest cost any plan can have otherwise (``_urgent_penalty``), so it is
  dropped only if no feasible plan serves it, never for travel savings. A pinned task costs more to
  drop than every urgent task together (``_pin_penalty``): a dispatcher's pin that can be kept is
  never traded for an urgent visit, nor for anything else.
- Pins: ``pinned_agent`` fixes the vehicle, ``pinned_at`` fixes the start cumul.
- Capacity: a load dimension, only when some task has demand (the Solomon benchmark).
- Fairness: the tasks of a quota (``Inputs.build``, chosen by ``dispatch.solver``) get
  ``FAIR_SHARE_BONUS_M`` added to their drop penalty.

Arc cost is distance in metres (Solomon: distance units × ``unit``), with no fixed cost per vehicle.
Every task may be dropped (a disjunction each), so a model has a plan unless some agent's shift cannot
be kept even with no visits.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp

from dispatch.matrix import MatrixProvider, TravelMatrix
from dispatch.model import Dropped, Point, Shift, VisitTask
from dispatch.skills import may_do, nobody_may, pin_off_shift

__all__ = ["FAIR_SHARE_BONUS_M", "URGENT_PRIORITY", "Inputs", "Model", "Task", "is_urgent", "model_inputs",
           "model_points"]

URGENT_PRIORITY = 90
# What serving a non-urgent visit is worth in metres of travel: priority 0 is worth a 30 km detour,
# priority 89 about 140 km. An optional visit (ANPR sighting) is worth a 5 km detour.
VISIT_VALUE_M = 30_000
OPTIONAL_VALUE_M = 5_000
# Fairness: what serving a task inside its buyer's fair share adds to its drop penalty (metres). Bigger
# than the travel a swap between nearby and distant buyers can save in a day's round, smaller than the
# urgent penalty (which bounds everything else, so urgency still wins).
FAIR_SHARE_BONUS_M = 200_000


def model_points(tasks: Sequence[VisitTask], shifts: Sequence[Shift]) -> list[Point]:
    """The points a ``TravelMatrix`` passed to ``solve`` must cover, in this order: each distinct point
    of the tasks, then of the shifts' start (current position if set) and end points."""
    seen: dict[Point, None] = {}
    for t in tasks:
        seen.setdefault(t.at)
    for s in shifts:
        seen.setdefault(s.current_at or s.start_at)
        seen.setdefault(s.end_at)
    return list(seen)


@dataclass
class Task:
    """A task that can be planned: its allowed service-start ranges in model seconds."""

    task: VisitTask
    ranges: list[tuple[int, int]]  # disjoint, sorted, inclusive
    vehicles: list[int]
    soft: tuple[int, int] | None  # preferred start range


def _secs(dt: datetime, origin: datetime) -> float:
    return (dt - origin).total_seconds()


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _clip(ranges: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    return _merge([(max(a, lo), min(b, hi)) for a, b in ranges])


def _shift_span(s: Shift, origin: datetime) -> tuple[int, int]:
    start = max(s.start, s.available_from) if s.available_from else s.start
    return math.ceil(_secs(start, origin)), math.floor(_secs(s.end, origin))


def _prepare(t: VisitTask, shifts: Sequence[Shift], spans: list[tuple[int, int]], origin: datetime,
             ) -> Task | str:
    """The plannable form of a task, or the reason it cannot be planned at all."""
    if t.pinned_agent is not None:
        vehicles = [v for v, s in enumerate(shifts) if s.agent_id == t.pinned_agent]
        if not vehicles:
            return pin_off_shift(t)
        if not may_do(t, shifts[vehicles[0]]):
            return f"pinned agent {t.pinned_agent} lacks a required skill"
    else:
        vehicles = [v for v, s in enumerate(shifts) if may_do(t, s)]
        if not vehicles:
            return nobody_may(t, shifts)
    if not t.windows:
        return "no visit window today"
    ranges = _merge([(math.ceil(_secs(w.start, origin)), math.floor(_secs(w.end, origin)) - t.service_s)
                     for w in t.windows])
    if t.expires_at is not None:
        # The expiry is exclusive (as the validator and eligibility read it): the last start is a second before.
        ranges = _clip(ranges, -(2**40), math.ceil(_secs(t.expires_at, origin)) - 1)
        if not ranges:
            return "expired"
    lo = min(spans[v][0] for v in vehicles)
    hi = max(spans[v][1] for v in vehicles) - t.service_s
    ranges = _clip(ranges, lo, hi)
    if not ranges:
        return "no window within shift hours"
    if t.pinned_at is not None:
        at = round(_secs(t.pinned_at, origin))
        if not any(a <= at <= b for a, b in ranges):
            return "pinned time outside the visit windows"
        ranges = [(at, at)]
    soft = None
    preferred = _merge([r for w in t.preferred for r in _clip(
        ranges, math.ceil(_secs(w.start, origin)), math.floor(_secs(w.end, origin)) - t.service_s)])
    if preferred == ranges:
        # Every band the visit can fall in is preferred (a case with no visit yet): no preference to
        # express. A soft bound here would pin it to the first band and costs an LP per route check.
        return Task(task=t, ranges=ranges, vehicles=vehicles, soft=None)
    for w in t.preferred:
        pref = _clip(ranges, math.ceil(_secs(w.start, origin)), math.floor(_secs(w.end, origin)) - t.service_s)
        if pref:
            # One soft window per task: the first preferred band that can hold the visit. Bands that
            # are not contiguous cannot be expressed as a single soft range.
            soft = (pref[0][0], pref[-1][1])
            break
    return Task(task=t, ranges=ranges, vehicles=vehicles, soft=soft)


def _base_penalty(t: VisitTask) -> int:
    if t.optional:
        return OPTIONAL_VALUE_M
    return int(VISIT_VALUE_M * (1 + 4 * t.priority / 100))


def is_urgent(t: VisitTask) -> bool:
    """Urgent or pinned: served whenever possible, so not among the visits that compete for capacity."""
    return (t.priority >= URGENT_PRIORITY and not t.optional) or t.pinned


def _urgent_penalty(dist: NDArray[np.int64], n_tasks: int, n_vehicles: int, other_penalties: int,
                    soft_bound: int) -> int:
    """Bigger than the whole cost of any other plan, so dropping one urgent visit never pays.

    In any plan each task node and each vehicle start has exactly one outgoing arc, so total travel
    cost ≤ Σ over those nodes of their longest outgoing arc. Add every other penalty (all dropped; pins
    excluded) and the largest possible soft-window cost: the sum bounds the cost difference between any
    two plans that serve the same urgent and pinned visits, and one more than it makes serving an urgent
    visit always win.
    """
    travel = int(dist[: n_tasks + n_vehicles].max(axis=1).sum())
    return travel + other_penalties + soft_bound + 1


# OR-Tools adds costs in int64 and saturates instead of wrapping: a plan whose cost could reach the
# ceiling would compare equal to a better one. Half of int64 leaves room for the solver's own sums.
_MAX_COST = 2**62


def _pin_penalty(urgent_penalty: int, n_urgent: int, n_pinned: int) -> int:
    """Bigger than the whole cost of any plan with no pinned task dropped, so dropping one keepable pin
    never pays, not even to serve every urgent visit.

    Between two plans that keep the same pins, the cost differs by at most travel, non-urgent penalties
    and soft costs (together below ``urgent_penalty``) plus every urgent penalty: less than
    ``(n_urgent + 1) × urgent_penalty``. The costliest plan drops everything, below
    ``(n_pinned + 1) × pin penalty``, which must stay clear of int64 (``_MAX_COST``).
    """
    pin = (n_urgent + 1) * urgent_penalty
    if (n_pinned + 1) * pin > _MAX_COST:
        raise ValueError(f"{n_pinned} pins over {n_urgent} urgent visits: drop penalties would overflow "
                         "OR-Tools' int64 costs; plan the day in smaller parts")
    return pin



# How long reading routes into a model may take unless the caller says: timing a day's routes takes
# milliseconds; the limit is there so that a pathological read ends.
READ_LIMIT_S = 10.0


class Model:
    """One OR-Tools routing model over the plannable tasks: task ``i`` of ``prepared`` is node ``i``,
    then come the vehicles' start nodes, then their end nodes."""

    def __init__(self, prepared: list[Task], shifts: Sequence[Shift], spans: list[tuple[int, int]],
                 dist: NDArray[np.int64], dur: NDArray[np.int64], vehicle_capacity: int | None,
                 preferred_cost_per_s: int, origin: datetime, quota: set[int]):
        n, nv = len(prepared), len(shifts)
        self.n, self.nv = n, nv
        self.manager = pywrapcp.RoutingIndexManager(n + 2 * nv, nv, list(range(n, n + nv)),
                                                    list(range(n + nv, n + 2 * nv)))
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        # Whether OR-Tools has closed the model (a search or a read does, once; see ``read``).
        self.closed = False
        m = self.manager
        service = np.zeros(n + 2 * nv, dtype=np.int64)
        service[:n] = [p.task.service_s for p in prepared]
        dist_cb = routing.RegisterTransitMatrix(dist.tolist())
        routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
        # Service time is part of leaving a node: transit(i, j) = service(i) + travel(i, j).
        time_cb = routing.RegisterTransitMatrix((dur + service[:, None]).tolist())
        horizon = max(hi for _, hi in spans)
        routing.AddDimension(time_cb, horizon, horizon, False, "Time")
        self.time = time = routing.GetDimensionOrDie("Time")

        if vehicle_capacity is not None:
            demand = [0] * (n + 2 * nv)
            demand[:n] = [p.task.demand for p in prepared]
            load_cb = routing.RegisterUnaryTransitVector(demand)
            routing.AddDimensionWithVehicleCapacity(load_cb, 0, [vehicle_capacity] * nv, True, "Load")

        for v, (lo, hi) in enumerate(spans):
            time.CumulVar(routing.Start(v)).SetRange(lo, hi)
            time.CumulVar(routing.End(v)).SetRange(lo, hi)
            # Leave as late and come back as early as the route allows: the reported duration is the
            # time actually worked.
            routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(v)))
            routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))

        soft_bound = 0
        for i, p in enumerate(prepared):
            idx = m.NodeToIndex(i)
            cumul = time.CumulVar(idx)
            cumul.SetRange(p.ranges[0][0], p.ranges[-1][1])
            for (_, a_hi), (b_lo, _) in zip(p.ranges, p.ranges[1:]):
                cumul.RemoveInterval(a_hi + 1, b_lo - 1)
            if len(p.vehicles) < nv:
                # -1 keeps the task droppable (its disjunction). SetAllowedVehiclesForIndex would say the
                # same, but its absl::Span argument has no Python wrapping in ortools 9.15.
                routing.VehicleVar(idx).SetValues([-1, *p.vehicles])
            if p.soft is not None and preferred_cost_per_s > 0:
                time.SetCumulVarSoftLowerBound(idx, p.soft[0], preferred_cost_per_s)
                time.SetCumulVarSoftUpperBound(idx, p.soft[1], preferred_cost_per_s)
                soft_bound += preferred_cost_per_s * horizon

        penalties = [_base_penalty(p.task) + (FAIR_SHARE_BONUS_M if i in quota else 0)
                     for i, p in enumerate(prepared)]
        pinned = [p.task.pinned for p in prepared]
        urgent = [is_urgent(p.task) and not pin for p, pin in zip(prepared, pinned)]
        others = sum(pen for pen, u, pin in zip(penalties, urgent, pinned) if not (u or pin))
        big = _urgent_penalty(dist, n, nv, others, soft_bound)
        biggest = _pin_penalty(big, sum(urgent), sum(pinned))
        for i, (pen, u, pin) in enumerate(zip(penalties, urgent, pinned)):
            routing.AddDisjunction([m.NodeToIndex(i)], biggest if pin else big if u else pen)

        node_visit_transits = [int(service[m.IndexToNode(i)]) for i in range(routing.Size())]
        solver = routing.solver()
        for v, s in enumerate(shifts):
            breaks = []
            for b in s.breaks:
                b_lo = max(math.ceil(_secs(b.earliest, origin)), spans[v][0])
                b_hi = min(math.floor(_secs(b.latest, origin)), spans[v][1]) - b.duration_s
                if b_lo <= b_hi:  # a break already past (re-planning) or outside the shift is not planned
                    breaks.append(solver.FixedDurationIntervalVar(b_lo, b_hi, b.duration_s, False,
                                                                  f"break {s.agent_id}"))
            if breaks:
                time.SetBreakIntervalsOfVehicle(breaks, v, node_visit_transits)

    def routes(self, solution: pywrapcp.Assignment) -> list[list[int]]:
        """Each vehicle's route in ``solution``, as positions in ``prepared``."""
        routing, m = self.routing, self.manager
        out = []
        for v in range(self.nv):
            idx, nodes = solution.Value(routing.NextVar(routing.Start(v))), []
            while not routing.IsEnd(idx):
                nodes.append(m.IndexToNode(idx))
                idx = solution.Value(routing.NextVar(idx))
            out.append(nodes)
        return out

    def read(self, routes: list[list[int]], limit_s: float = READ_LIMIT_S) -> pywrapcp.Assignment | None:
        """The assignment of ``routes`` (positions in ``prepared``, one list per vehicle), or None when
        they break the model or timing them ran out of time.

        Timing the routes is a search of its own, bounded only by the time limit the model was closed
        with. Closed with OR-Tools' defaults it has none, and on one test day that search never
        returned; so a model not closed yet is closed with the default search and a ``limit_s``
        limit (a model already searched keeps the limit of its search)."""
        if not self.closed:
            params = pywrapcp.DefaultRoutingSearchParameters()
            params.time_limit.FromMilliseconds(max(1, int(limit_s * 1000)))
            self.routing.CloseModelWithParameters(params)
            self.closed = True
        return self.routing.ReadAssignmentFromRoutes(
            [[self.manager.NodeToIndex(i) for i in route] for route in routes], True)


@dataclass(frozen=True)
class Inputs:
    """Everything a ``Model`` is built from: what a portfolio search's process receives."""

    prepared: list[Task]
    shifts: Sequence[Shift]
    spans: list[tuple[int, int]]
    dist: NDArray[np.int64]
    dur: NDArray[np.int64]
    vehicle_capacity: int | None
    preferred_cost_per_s: int
    origin: datetime

    def build(self, quota: set[int]) -> Model:
        """The model, with ``FAIR_SHARE_BONUS_M`` on the drop penalty of the tasks in ``quota``
        (positions in ``prepared``)."""
        return Model(self.prepared, self.shifts, self.spans, self.dist, self.dur, self.vehicle_capacity,
                     self.preferred_cost_per_s, self.origin, quota)


def model_inputs(tasks: Sequence[VisitTask], shifts: Sequence[Shift], matrix: TravelMatrix | MatrixProvider,
                 vehicle_capacity: int | None, preferred_cost_per_s: int) -> tuple[Inputs, list[Dropped]]:
    """What the model is built from (the plannable tasks, times from the earliest shift start, the
    matrix over the model's nodes), and the tasks that cannot be planned at all, with their reasons."""
    points = model_points(tasks, shifts)
    tm = matrix if isinstance(matrix, TravelMatrix) else matrix.matrix(points)
    if tm.size != len(points):
        raise ValueError(f"matrix is {tm.size}×{tm.size} but the problem has {len(points)} points")
    origin = min(s.start for s in shifts).replace(microsecond=0)
    spans = [_shift_span(s, origin) for s in shifts]

    prepared: list[Task] = []
    dropped: list[Dropped] = []
    for t in tasks:
        p = _prepare(t, shifts, spans, origin)
        if isinstance(p, str):
            dropped.append(Dropped(t.case_id, t.buyer, t.at, p))
        else:
            prepared.append(p)

    where = {pt: i for i, pt in enumerate(points)}
    node_pt = np.array([where[p.task.at] for p in prepared]
                       + [where[s.current_at or s.start_at] for s in shifts]
                       + [where[s.end_at] for s in shifts], dtype=np.intp)
    dist = tm.distance_m[np.ix_(node_pt, node_pt)]
    dur = tm.duration_s[np.ix_(node_pt, node_pt)]
    return Inputs(prepared, list(shifts), spans, dist, dur, vehicle_capacity, preferred_cost_per_s, origin), dropped
