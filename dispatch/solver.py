"""Solving one routing model: today's ``VisitTask``s and agents' ``Shift``s in, a ``Plan`` out (``solve``).

What the rules become in the OR-Tools model is ``dispatch.routing_model``'s docstring; how a model is
searched is ``dispatch.search``'s. Here:

- Fairness [000 §1.8, §2.94]: when visits are dropped for capacity, served shares per buyer per region
  are compared with eligible shares; each buyer's fair share of the served count gets a penalty bonus
  and the model is re-solved from the previous plan (``_fair_share_quota``), until a plan is at least
  ``SOLVER_FAIR_ENOUGH``; the fairest plan is kept.
- No plan: when no search found one, every plannable task is dropped with ``NO_PLAN_FOUND`` if time
  ran out (a longer limit may find one) or ``NO_FEASIBLE_PLAN`` if the model has none
  (``dispatch.search.no_plan_status``).

Search: iterated local search from scratch, guided local search from a warm start (the fairness
re-solves, then whatever time is left). With ``searches`` > 1 the first search is a portfolio
(``dispatch.portfolio``): that many searches at once, each extra one in a process of its own and
starting from another first solution, so that they descend into different local optima; the cheapest
plan is kept. That is how one sub-problem uses a machine's cores (``dispatch.planner``). The benchmark
runs this same function (``bench/solomon.py``).

``URGENT_PRIORITY``, ``model_points`` and ``worker_context`` are defined with the model and the
portfolio, and named here too, where callers of ``solve`` have always found them.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp

from dispatch.fairness import NO_FEASIBLE_PLAN, NO_PLAN_FOUND, SOLVER_FAIR_ENOUGH
from dispatch.matrix import MatrixProvider, TravelMatrix
from dispatch.model import Dropped, Plan, PlannedVisit, Route, Shift, TimeWindow, VisitTask
from dispatch.portfolio import (
    PORTFOLIO_FIRST_SOLUTIONS, PORTFOLIO_MIN_S, PORTFOLIO_READ_S, cheapest, processes, worker_context,
)
from dispatch.routing_model import URGENT_PRIORITY, Model, Task, is_urgent, model_inputs, model_points
from dispatch.search import ROUTING_FAIL_TIMEOUT, first_search, no_plan_status, search_params

__all__ = ["URGENT_PRIORITY", "model_points", "solve", "worker_context"]


def _groups(prepared: Sequence[Task]) -> dict[str | None, dict[str, list[int]]]:
    """Positions of the non-urgent tasks by region, then buyer: the visits that compete for capacity
    (urgent ones are served whenever possible)."""
    out: dict[str | None, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(prepared):
        if not is_urgent(p.task):
            out[p.task.region][p.task.buyer].append(i)
    return out


def _fairness_ratio(prepared: Sequence[Task], served: set[int]) -> float:
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


def _fair_share_quota(prepared: Sequence[Task], served: set[int], start_dist: NDArray[np.int64]) -> set[int]:
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
    When no search found a plan, every plannable task is dropped with ``NO_PLAN_FOUND`` or
    ``NO_FEASIBLE_PLAN`` and ``Plan.stats["search_status"]`` is the ``RoutingSearchStatus`` behind it
    (module docstring).
    """
    started = time.monotonic()
    if not shifts:
        return Plan(day=day, routes=[], dropped=[Dropped(t.case_id, t.buyer, t.at, "no agent on shift")
                                                  for t in tasks])
    if any(t.demand > 0 for t in tasks) and vehicle_capacity is None:
        raise ValueError("tasks have demand but no vehicle_capacity was given")
    inputs, dropped = model_inputs(tasks, shifts, matrix, vehicle_capacity, preferred_cost_per_s)
    prepared, dist, origin = inputs.prepared, inputs.dist, inputs.origin

    # Fairness re-solves need time only when some buyers compete in a region for too little capacity;
    # otherwise (e.g. Solomon: one buyer, every visit urgent) the first solve gets the whole budget.
    competing = any(len({p.task.buyer for p in prepared if p.task.region == r and not is_urgent(p.task)}) > 1
                    for r in {p.task.region for p in prepared})
    rounds = fairness_rounds if competing else 0
    first_share = 1.0 if rounds == 0 else 0.5
    model = inputs.build(set())
    with processes(searches - 1 if time_limit_s >= PORTFOLIO_MIN_S else 0) as others:
        # The time limit covers the whole call: matrix and model building, starting the portfolio's
        # processes and reading its answers back come out of the first solve's share.
        first_limit = (time_limit_s * first_share - (time.monotonic() - started) - 0.05
                       - (PORTFOLIO_READ_S if others else 0.0))
        deadline = time.monotonic() + first_limit
        for k, conn in enumerate(others):
            conn.send((inputs, PORTFOLIO_FIRST_SOLUTIONS[k % len(PORTFOLIO_FIRST_SOLUTIONS)], deadline,
                       gls_lambda, iterated))
        solution = first_search(model, search_params(first_solution, first_limit, gls_lambda, log_search, iterated),
                                iterated)
        kept = cheapest(model, solution, others, deadline)
    solution = kept.solution
    if solution is None:
        status = no_plan_status(model, inputs)
        reason = NO_PLAN_FOUND if status == ROUTING_FAIL_TIMEOUT else NO_FEASIBLE_PLAN
        dropped += [Dropped(p.task.case_id, p.task.buyer, p.task.at, reason) for p in prepared]
        return Plan(day=day, routes=[], dropped=dropped,
                    stats={"solve_seconds": time.monotonic() - started, "search_status": float(status)})
    served = _served(model, solution)
    best = (_fairness_ratio(prepared, served), len(served)), model, solution
    start_dist = dist[: len(prepared), len(prepared): len(prepared) + len(shifts)].min(axis=1)
    for r in range(rounds):
        remaining = time_limit_s - (time.monotonic() - started)
        if best[0][0] >= SOLVER_FAIR_ENOUGH or remaining < 0.2:
            break
        quota = _fair_share_quota(prepared, served, start_dist)
        # Warm start: the previous routes are feasible in the new model (only penalties changed).
        routes = model.routes(solution)
        model = inputs.build(quota)
        solution = _warm_search(model, routes,
                                search_params(first_solution, remaining / (rounds - r), gls_lambda, log_search, False))
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
        polished = _warm_search(model, model.routes(solution),
                                search_params(first_solution, remaining, gls_lambda, log_search, False))
        if polished is not None and polished.ObjectiveValue() < solution.ObjectiveValue():
            ratio = _fairness_ratio(prepared, _served(model, polished))
            if ratio >= min(fairness, SOLVER_FAIR_ENOUGH):
                fairness, solution = ratio, polished
    return _plan(model, solution, prepared, shifts, dropped, dist, origin, day,
                 stats={"solve_seconds": time.monotonic() - started, "fairness_ratio": fairness,
                        "objective": float(solution.ObjectiveValue()), "search_kept": float(kept.search),
                        "searches_answered": float(kept.answered)})


def _warm_search(model: Model, routes: list[list[int]],
                 params: pywrapcp.DefaultRoutingSearchParameters) -> pywrapcp.Assignment | None:
    """A search of ``model`` from ``routes``, within ``params``' time limit, reading the routes in
    included; None when they could not be read in that time or the search found nothing."""
    started = time.monotonic()
    limit_s = params.time_limit.ToMilliseconds() / 1000
    start = model.read(routes, limit_s)
    if start is None:
        return None
    params.time_limit.FromMilliseconds(max(1, int((limit_s - (time.monotonic() - started)) * 1000)))
    return model.routing.SolveFromAssignmentWithParameters(start, params)


def _served(model: Model, solution: pywrapcp.Assignment) -> set[int]:
    """Positions (in ``prepared``) of the served tasks."""
    return {i for route in model.routes(solution) for i in route}


def _window_of(t: VisitTask, eta: datetime, etd: datetime) -> TimeWindow:
    for w in t.windows:
        if w.start <= eta and etd <= w.end:
            return w
    raise AssertionError(f"case {t.case_id}: planned {eta}–{etd} outside every window")


def _plan(model: Model, solution: pywrapcp.Assignment, prepared: Sequence[Task], shifts: Sequence[Shift],
          dropped: list[Dropped], dist: NDArray[np.int64], origin: datetime, day: date,
          stats: dict[str, float]) -> Plan:
    routing, time_dim = model.routing, model.time
    routes: list[Route] = []
    served: set[int] = set()
    for v, nodes in enumerate(model.routes(solution)):
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
            reason = "pin could not be kept" if p.task.pinned else "capacity"
            dropped.append(Dropped(p.task.case_id, p.task.buyer, p.task.at, reason))
    stats = {**stats, "served": float(len(served)), "dropped": float(len(dropped)),
             "distance_m": float(sum(r.distance_m for r in routes))}
    return Plan(day=day, routes=routes, dropped=dropped, stats=stats)
