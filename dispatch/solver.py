"""The OR-Tools routing model: today's ``VisitTask``s and agents' ``Shift``s in, a ``Plan`` out.

One vehicle per shift, starting at the agent's home base (or current position when re-planning) and
ending at its end point. Time is one dimension in whole seconds from ``origin`` (the earliest shift
start); waiting is slack. What each rule becomes in the model:

- Hard windows (R-VISIT-* via eligibility): a visit must *start and finish* inside one of the task's
  windows, so its start cumul is restricted to ``[w.start, w.end - service]`` for each window, the
  union set with ``SetRange`` and the gaps removed with ``RemoveInterval``. Optional tasks (ANPR
  sightings) are cut at ``expires_at``.
- Shift hours: vehicle start/end cumul ranges; breaks: ``SetBreakIntervalsOfVehicle`` with the
  service times as node visit transits (a break never splits a visit).
- Skills / certificated agents: the allowed values of ``VehicleVar``; a task nobody may do is dropped before
  solving with the reason ("no agent with skill vehicle").
- Preferred time bands (R-VISIT-TIMES): soft lower/upper bounds at ``preferred_cost_per_s`` per second,
  only when some plannable band is not preferred.
- Priorities: disjunction penalties, in three tiers. An urgent task (priority ≥ ``URGENT_PRIORITY``)
  costs more to drop than the largest cost any plan can have otherwise (``_urgent_penalty``), so it is
  dropped only if no feasible plan serves it, never for travel savings. A pinned task costs more to
  drop than every urgent task together (``_pin_penalty``): a dispatcher's pin that can be kept is
  never traded for an urgent visit, nor for anything else.
- Pins: ``pinned_agent`` fixes the vehicle, ``pinned_at`` fixes the start cumul.
- Capacity: a load dimension, only when some task has demand (the Solomon benchmark).
- Fairness [000 §1.8, §2.94]: when visits are dropped for capacity, served shares per buyer per region
  are compared with eligible shares; each buyer's fair share of the served count gets a penalty bonus
  and the model is re-solved from the previous plan (``_fair_share_quota``); the fairest plan is kept.

Arc cost is distance in metres (Solomon: distance units × ``unit``), with no fixed cost per vehicle.
Search: iterated local search from scratch (``_params``), guided local search from a warm start (the
fairness re-solves, then whatever time is left). With ``searches`` > 1 the first search is a portfolio:
that many searches at once, each extra one in a process of its own (``_processes``) and starting
from another first solution (``PORTFOLIO_FIRST_SOLUTIONS``), so that they descend into different
local optima; the cheapest plan is kept. That is how one sub-problem uses a machine's cores
(``dispatch.planner``). The benchmark runs this same function (``bench/solomon.py``).
"""
from __future__ import annotations

import math
import multiprocessing
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_heuristic_parameters_pb2, routing_ils_pb2
from ortools.util import optional_boolean_pb2

from dispatch.matrix import MatrixProvider, TravelMatrix
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, Shift, TimeWindow, VisitTask

__all__ = ["URGENT_PRIORITY", "model_points", "solve", "worker_context"]

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
class _Task:
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


def _eligible(t: VisitTask, s: Shift) -> bool:
    return t.required_skills <= s.skills and (s.certificated or not t.needs_certificated)


def _prepare(t: VisitTask, shifts: Sequence[Shift], spans: list[tuple[int, int]], origin: datetime,
             ) -> _Task | str:
    """The plannable form of a task, or the reason it cannot be planned at all."""
    if t.pinned_agent is not None:
        vehicles = [v for v, s in enumerate(shifts) if s.agent_id == t.pinned_agent]
        if not vehicles:
            return f"pinned agent {t.pinned_agent} not on shift"
        if not _eligible(t, shifts[vehicles[0]]):
            return f"pinned agent {t.pinned_agent} lacks a required skill"
    else:
        vehicles = [v for v, s in enumerate(shifts) if _eligible(t, s)]
        if not vehicles:
            missing = sorted(t.required_skills - frozenset().union(*(s.skills for s in shifts)))
            if missing:
                return f"no agent with skill {', '.join(missing)}"
            if t.needs_certificated and not any(s.certificated for s in shifts):
                return "no certificated agent"
            return f"no agent with all of {', '.join(sorted(t.required_skills))}"
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
        return _Task(task=t, ranges=ranges, vehicles=vehicles, soft=None)
    for w in t.preferred:
        pref = _clip(ranges, math.ceil(_secs(w.start, origin)), math.floor(_secs(w.end, origin)) - t.service_s)
        if pref:
            # One soft window per task: the first preferred band that can hold the visit. Bands that
            # are not contiguous cannot be expressed as a single soft range.
            soft = (pref[0][0], pref[-1][1])
            break
    return _Task(task=t, ranges=ranges, vehicles=vehicles, soft=soft)


def _base_penalty(t: VisitTask) -> int:
    if t.optional:
        return OPTIONAL_VALUE_M
    return int(VISIT_VALUE_M * (1 + 4 * t.priority / 100))


def _is_urgent(t: VisitTask) -> bool:
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


def _groups(prepared: Sequence[_Task]) -> dict[str | None, dict[str, list[int]]]:
    """Positions of the non-urgent tasks by region, then buyer: the visits that compete for capacity
    (urgent ones are served whenever possible)."""
    out: dict[str | None, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(prepared):
        if not _is_urgent(p.task):
            out[p.task.region][p.task.buyer].append(i)
    return out


def _fairness_ratio(prepared: Sequence[_Task], served: set[int]) -> float:
    """The smallest, over regions, of min/max across buyers of (served share ÷ eligible share); 1 is
    perfectly proportional [000 §1.8, §2.94]."""
    worst = 1.0
    for buyers in _groups(prepared).values():
        total_e = sum(len(ix) for ix in buyers.values())
        total_s = sum(i in served for ix in buyers.values() for i in ix)
        if len(buyers) < 2 or total_s == 0:
            continue
        ratios = [(sum(i in served for i in ix) / total_s) / (len(ix) / total_e) for ix in buyers.values()]
        worst = min(worst, min(ratios) / max(ratios))
    return worst


def _fair_share_quota(prepared: Sequence[_Task], served: set[int], start_dist: NDArray[np.int64]) -> set[int]:
    """The tasks that make up each buyer's fair share of what was served, region by region.

    A region that served S of its E competing visits owes buyer b about S × E_b / E of them. Each buyer's
    quota is filled with its highest-priority tasks, preferring those served last time, then those
    nearest an agent's start. The model then adds ``FAIR_SHARE_BONUS_M`` to the drop penalty of exactly
    these tasks, so the solver serves every buyer's share before spending capacity on anything else.
    """
    quota: set[int] = set()
    for buyers in _groups(prepared).values():
        total_e = sum(len(ix) for ix in buyers.values())
        total_s = sum(i in served for ix in buyers.values() for i in ix)
        if len(buyers) < 2 or total_s in (0, total_e):
            continue
        for ix in buyers.values():
            n = round(total_s * len(ix) / total_e)
            ranked = sorted(ix, key=lambda i: (-prepared[i].task.priority, i not in served, start_dist[i]))
            quota.update(ranked[:n])
    return quota


class _Model:
    """One OR-Tools routing model over the plannable tasks."""

    def __init__(self, prepared: list[_Task], shifts: Sequence[Shift], spans: list[tuple[int, int]],
                 dist: NDArray[np.int64], dur: NDArray[np.int64], vehicle_capacity: int | None,
                 preferred_cost_per_s: int, origin: datetime, quota: set[int]):
        n, nv = len(prepared), len(shifts)
        self.n, self.nv = n, nv
        self.manager = pywrapcp.RoutingIndexManager(n + 2 * nv, nv, list(range(n, n + nv)),
                                                    list(range(n + nv, n + 2 * nv)))
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
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
        urgent = [_is_urgent(p.task) and not pin for p, pin in zip(prepared, pinned)]
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


# The first solutions of a portfolio's extra searches, in turn (the first search keeps the caller's).
PORTFOLIO_FIRST_SOLUTIONS = ("SAVINGS", "PARALLEL_CHEAPEST_INSERTION")
# How long past the shared deadline the first search waits for the others' plans: they stop on the
# same clock, and only have their routes to send back.
_PORTFOLIO_GRACE_S = 0.5
# The least time limit for which ``solve`` runs a portfolio. The first portfolio process a process
# starts costs ~1.4 s (measured on the 2-core machine: its forkserver imports OR-Tools; later ones
# 0.01 s), taken from the first search's time; with less than this, that costs more than a second
# search gives.
PORTFOLIO_MIN_S = 5.0
# Kept from a portfolio's search time for receiving the cheapest plan and reading it back (measured:
# without it, 3 of 56 Solomon instances ended 0.01-0.02 s past a 10 s limit).
_PORTFOLIO_READ_S = 0.1


def worker_context(preload: str = "dispatch.solver") -> multiprocessing.context.BaseContext:
    """``forkserver`` with ``preload`` (a module) imported: workers fork from a clean server process
    that has already imported OR-Tools, so they start in milliseconds once the server is up (it stays
    up for the life of this process, with the first call's ``preload``), and nothing of the caller
    (threads, database connections) is forked."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([preload])
    return context


@dataclass(frozen=True)
class _Inputs:
    """Everything a ``_Model`` is built from: what a portfolio search's process receives."""

    prepared: list[_Task]
    shifts: Sequence[Shift]
    spans: list[tuple[int, int]]
    dist: NDArray[np.int64]
    dur: NDArray[np.int64]
    vehicle_capacity: int | None
    preferred_cost_per_s: int
    origin: datetime

    def build(self, quota: set[int]) -> _Model:
        return _Model(self.prepared, self.shifts, self.spans, self.dist, self.dur, self.vehicle_capacity,
                      self.preferred_cost_per_s, self.origin, quota)


def _first_search(model: _Model, params: pywrapcp.DefaultRoutingSearchParameters,
                  iterated: bool) -> pywrapcp.Assignment | None:
    return (model.routing.SolveWithIteratedLocalSearch(params) if iterated
            else model.routing.SolveWithParameters(params))


def _search(inputs: _Inputs, first_solution: str, deadline: float, gls_lambda: float | None,
            iterated: bool) -> tuple[int, list[list[int]]] | None:
    """One search of a portfolio, in its own process: the first search's model and search from
    ``first_solution`` until ``deadline`` (``time.monotonic``, one clock for every process). Its plan's
    cost and routes (task positions), or None if it found none."""
    model = inputs.build(set())
    solution = _first_search(model, _params(first_solution, deadline - time.monotonic(), gls_lambda, False, iterated),
                             iterated)
    return None if solution is None else (solution.ObjectiveValue(), _routes_nodes(model, solution))


def _search_process(conn: Connection) -> None:
    """A portfolio search's process: its work comes in on ``conn`` once the process is up (so the
    caller starts the clock after paying for the start), its answer goes back the same way."""
    conn.send(_search(*conn.recv()))


@contextmanager
def _processes(n: int) -> Iterator[list[Connection]]:
    """``n`` started processes for a portfolio's extra searches, as pipes to send each its work and
    read its answer. Pipes, not an executor: OR-Tools holds the GIL while the first search runs, so an
    executor's feeder threads could not hand the others their work until it ended. On leaving, a search
    still running is stopped."""
    context = worker_context()
    started: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for _ in range(n):
            ours, theirs = context.Pipe()
            process = context.Process(target=_search_process, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            started.append((process, ours))
        yield [conn for _, conn in started]
    finally:
        for process, conn in started:
            if process.is_alive():
                process.terminate()
            process.join()
            conn.close()


@dataclass
class _Kept:
    """The cheapest plan of a portfolio so far: which search found it (0: this process's) and how many
    searches found a plan at all."""

    solution: pywrapcp.Assignment | None
    search: int = 0
    answered: int = 0


def _cheapest(model: _Model, solution: pywrapcp.Assignment | None, others: list[Connection],
              deadline: float) -> _Kept:
    """The cheapest of ``solution`` and the portfolio's plans (read into ``model``). A search that has
    not answered shortly after the deadline, or whose process died, is not waited for."""
    kept = _Kept(solution, 0, int(solution is not None))
    for k, conn in enumerate(others, start=1):
        try:
            found = conn.recv() if conn.poll(max(0.0, deadline - time.monotonic()) + _PORTFOLIO_GRACE_S) else None
        except EOFError:
            continue
        if found is None:
            continue
        kept.answered += 1
        if kept.solution is None or found[0] < kept.solution.ObjectiveValue():
            restored = _warm(model, found[1])
            if restored is not None:
                kept.solution, kept.search = restored, k
    return kept


# Local-search operators left out of iterated local search: large-neighbourhood moves that ruin and
# recreate whole paths. Ruin-and-recreate already does that job between descents, and on a 100-visit
# Solomon day these operators made each descent ~8× slower (fewer than 30 iterations in 5 s).
_LNS_OPERATORS = ("global_cheapest_insertion_path_lns", "local_cheapest_insertion_path_lns",
                  "relocate_path_global_cheapest_insertion_insert_unperformed",
                  "global_cheapest_insertion_visit_types_lns", "local_cheapest_insertion_visit_types_lns",
                  "shortest_path_swap_active", "swap_active_chain", "shortest_path_two_opt")


def _params(first_solution: str, time_limit_s: float, gls_lambda: float | None, log: bool,
            iterated: bool) -> pywrapcp.DefaultRoutingSearchParameters:
    """Search parameters. ``iterated``: iterated local search for a solve from scratch — each iteration
    removes a few geographically close strings of visits (SISR ruin, Christiaens & Vanden Berghe 2020),
    reinserts them by cheapest insertion, descends to a local optimum and keeps the result by simulated
    annealing. Otherwise guided local search (used for warm starts, which ILS cannot take)."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    heuristics = routing_enums_pb2.LocalSearchMetaheuristic
    if iterated:
        params.local_search_metaheuristic = heuristics.GREEDY_DESCENT
        params.use_iterated_local_search = True
        for op in _LNS_OPERATORS:
            setattr(params.local_search_operators, f"use_{op}", optional_boolean_pb2.BOOL_FALSE)
        ils = params.iterated_local_search_parameters
        ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
        ils.improve_perturbed_solution = True
        rr = ils.ruin_recreate_parameters
        del rr.ruin_strategies[:]
        # The paper's suggested sizes; 5 or 20 visits on average did worse on the Solomon subset.
        rr.ruin_strategies.add().sisr.CopyFrom(routing_ils_pb2.SISRRuinStrategy(
            max_removed_sequence_size=10, avg_num_removed_visits=10, bypass_factor=0.01))
        rr.recreate_strategy.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
        # Reinsert in random order (as SISR does): a fixed order rebuilt the same routes from the same
        # ruin, and random order was ~0.15 points better on the Solomon subset in two runs. An urgent
        # visit left out by it makes the candidate far costlier, so annealing never accepts that.
        lci = rr.recreate_strategy.parameters.local_cheapest_insertion
        lci.insertion_sorting_properties.append(
            routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_RANDOM)
        # Temperatures from the model's own arc costs (0.1 and 0.001 × a sampled mean arc), so metres
        # on real days and scaled Solomon units anneal alike.
        sa = ils.reference_solution_acceptance_strategy.simulated_annealing
        sa.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
        sa.automatic_temperatures = True
        ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    else:
        params.local_search_metaheuristic = heuristics.GUIDED_LOCAL_SEARCH
        if gls_lambda is not None:
            params.guided_local_search_lambda_coefficient = gls_lambda
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    params.log_search = log
    return params


def _inputs(tasks: Sequence[VisitTask], shifts: Sequence[Shift], matrix: TravelMatrix | MatrixProvider,
            vehicle_capacity: int | None, preferred_cost_per_s: int) -> tuple[_Inputs, list[Dropped]]:
    """What the model is built from (the plannable tasks, times from the earliest shift start, the
    matrix over the model's nodes), and the tasks that cannot be planned at all, with their reasons."""
    points = model_points(tasks, shifts)
    tm = matrix if isinstance(matrix, TravelMatrix) else matrix.matrix(points)
    if tm.size != len(points):
        raise ValueError(f"matrix is {tm.size}×{tm.size} but the problem has {len(points)} points")
    origin = min(s.start for s in shifts).replace(microsecond=0)
    spans = [_shift_span(s, origin) for s in shifts]

    prepared: list[_Task] = []
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
    return _Inputs(prepared, list(shifts), spans, dist, dur, vehicle_capacity, preferred_cost_per_s, origin), dropped


def solve(tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, matrix: TravelMatrix | MatrixProvider,
          time_limit_s: float, day: date, vehicle_capacity: int | None = None,
          first_solution: str = "LOCAL_CHEAPEST_INSERTION", gls_lambda: float | None = None,
          preferred_cost_per_s: int = 1, fairness_rounds: int = 2, log_search: bool = False,
          iterated: bool = True, searches: int = 1) -> Plan:
    """Plan ``day``: routes for ``shifts`` serving as many of ``tasks`` as the rules allow.

    ``matrix`` is a provider, or a ``TravelMatrix`` over ``model_points(tasks, shifts)``.
    ``vehicle_capacity`` is needed only when a task has demand. ``first_solution`` names an OR-Tools
    ``FirstSolutionStrategy``. The first solve is an iterated local search (``iterated=False``: guided
    local search, as the fairness re-solves always are); ``gls_lambda`` overrides guided local search's
    lambda coefficient.
    ``fairness_rounds`` bounds the re-solves that rebalance served shares; the time limit covers them all.
    ``searches``: how many first searches run at once (a portfolio, module docstring), each on a core;
    one below ``PORTFOLIO_MIN_S``.
    """
    started = time.monotonic()
    if not shifts:
        return Plan(day=day, routes=[], dropped=[Dropped(t.case_id, t.buyer, t.at, "no agent on shift")
                                                  for t in tasks])
    if any(t.demand > 0 for t in tasks) and vehicle_capacity is None:
        raise ValueError("tasks have demand but no vehicle_capacity was given")
    inputs, dropped = _inputs(tasks, shifts, matrix, vehicle_capacity, preferred_cost_per_s)
    prepared, dist, origin = inputs.prepared, inputs.dist, inputs.origin

    # Fairness re-solves need time only when some buyers compete in a region for too little capacity;
    # otherwise (e.g. Solomon: one buyer, every visit urgent) the first solve gets the whole budget.
    competing = any(len({p.task.buyer for p in prepared if p.task.region == r and not _is_urgent(p.task)}) > 1
                    for r in {p.task.region for p in prepared})
    rounds = fairness_rounds if competing else 0
    first_share = 1.0 if rounds == 0 else 0.5
    model = inputs.build(set())
    with _processes(searches - 1 if time_limit_s >= PORTFOLIO_MIN_S else 0) as others:
        # The time limit covers the whole call: matrix and model building, starting the portfolio's
        # processes and reading its answers back come out of the first solve's share.
        first_limit = (time_limit_s * first_share - (time.monotonic() - started) - 0.05
                       - (_PORTFOLIO_READ_S if others else 0.0))
        deadline = time.monotonic() + first_limit
        for k, conn in enumerate(others):
            conn.send((inputs, PORTFOLIO_FIRST_SOLUTIONS[k % len(PORTFOLIO_FIRST_SOLUTIONS)], deadline,
                       gls_lambda, iterated))
        solution = _first_search(model, _params(first_solution, first_limit, gls_lambda, log_search, iterated),
                                 iterated)
        kept = _cheapest(model, solution, others, deadline)
    solution = kept.solution
    if solution is None:
        dropped += [Dropped(p.task.case_id, p.task.buyer, p.task.at, "no plan found within the time limit")
                    for p in prepared]
        return Plan(day=day, routes=[], dropped=dropped, stats={"solve_seconds": time.monotonic() - started})
    served = _served(model, solution)
    best = (_fairness_ratio(prepared, served), len(served)), model, solution
    start_dist = dist[: len(prepared), len(prepared): len(prepared) + len(shifts)].min(axis=1)
    for r in range(rounds):
        remaining = time_limit_s - (time.monotonic() - started)
        if best[0][0] >= 0.95 or remaining < 0.2:
            break
        quota = _fair_share_quota(prepared, served, start_dist)
        # Warm start: the previous routes are feasible in the new model (only penalties changed).
        routes = _routes_nodes(model, solution)
        model = inputs.build(quota)
        solution = model.routing.SolveFromAssignmentWithParameters(
            _warm(model, routes), _params(first_solution, remaining / (rounds - r), gls_lambda, log_search, False))
        if solution is None:
            break
        served = _served(model, solution)
        score = (_fairness_ratio(prepared, served), len(served))
        if score > best[0]:
            best = score, model, solution
    (fairness, _), model, solution = best
    remaining = time_limit_s - (time.monotonic() - started) - 0.05
    if rounds and remaining >= 0.5:
        # The rounds stopped early (the plan is fair enough): the time kept for them goes on improving
        # the kept plan in its own model, unless that makes it less fair.
        polished = model.routing.SolveFromAssignmentWithParameters(
            _warm(model, _routes_nodes(model, solution)),
            _params(first_solution, remaining, gls_lambda, log_search, False))
        if polished is not None and polished.ObjectiveValue() < solution.ObjectiveValue():
            ratio = _fairness_ratio(prepared, _served(model, polished))
            if ratio >= min(fairness, 0.95):
                fairness, solution = ratio, polished
    return _plan(model, solution, prepared, shifts, dropped, dist, origin, day,
                 stats={"solve_seconds": time.monotonic() - started, "fairness_ratio": fairness,
                        "objective": float(solution.ObjectiveValue()), "search_kept": float(kept.search),
                        "searches_answered": float(kept.answered)})


def _warm(model: _Model, routes: list[list[int]]) -> pywrapcp.Assignment | None:
    return model.routing.ReadAssignmentFromRoutes(
        [[model.manager.NodeToIndex(i) for i in route] for route in routes], True)


def _routes_nodes(model: _Model, solution: pywrapcp.Assignment) -> list[list[int]]:
    routing, m = model.routing, model.manager
    out = []
    for v in range(model.nv):
        idx, nodes = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(idx):
            nodes.append(m.IndexToNode(idx))
            idx = solution.Value(routing.NextVar(idx))
        out.append(nodes)
    return out


def _served(model: _Model, solution: pywrapcp.Assignment) -> set[int]:
    """Positions (in ``prepared``) of the served tasks."""
    return {i for route in _routes_nodes(model, solution) for i in route}


def _window_of(t: VisitTask, eta: datetime, etd: datetime) -> TimeWindow:
    for w in t.windows:
        if w.start <= eta and etd <= w.end:
            return w
    raise AssertionError(f"case {t.case_id}: planned {eta}–{etd} outside every window")


def _plan(model: _Model, solution: pywrapcp.Assignment, prepared: Sequence[_Task], shifts: Sequence[Shift],
          dropped: list[Dropped], dist: NDArray[np.int64], origin: datetime, day: date,
          stats: dict[str, float]) -> Plan:
    routing, time_dim = model.routing, model.time
    routes: list[Route] = []
    served: set[int] = set()
    for v, nodes in enumerate(_routes_nodes(model, solution)):
        if not nodes:
            continue
        s = shifts[v]
        start_node, end_node = model.n + v, model.n + model.nv + v
        path = [start_node, *nodes, end_node]
        visits = []
        for seq, i in enumerate(nodes, start=1):
            t = prepared[i].task
            eta = origin + timedelta(seconds=solution.Value(time_dim.CumulVar(model.manager.NodeToIndex(i))))
            etd = eta + timedelta(seconds=t.service_s)
            window = _window_of(t, eta, etd)
            band = next((w.time_band for w in t.preferred if w.start <= eta and etd <= w.end), window.time_band)
            visits.append(PlannedVisit(case_id=t.case_id, agent_id=s.agent_id, seq=seq, eta=eta, etd=etd,
                                       window=window, service_s=t.service_s, buyer=t.buyer, at=t.at,
                                       time_band=band))
            served.add(i)
        start_s = solution.Value(time_dim.CumulVar(routing.Start(v)))
        end_s = solution.Value(time_dim.CumulVar(routing.End(v)))
        routes.append(Route(agent_id=s.agent_id, shift=s, visits=tuple(visits),
                            distance_m=float(sum(dist[a, b] for a, b in zip(path, path[1:]))),
                            duration_s=int(end_s - start_s)))
    for i, p in enumerate(prepared):
        if i not in served:
            reason = "pin could not be kept" if (p.task.pinned_agent or p.task.pinned_at) else "capacity"
            dropped.append(Dropped(p.task.case_id, p.task.buyer, p.task.at, reason))
    stats = {**stats, "served": float(len(served)), "dropped": float(len(dropped)),
             "distance_m": float(sum(r.distance_m for r in routes))}
    return Plan(day=day, routes=routes, dropped=dropped, stats=stats)
