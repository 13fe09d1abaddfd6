"""Planning a whole day: the entry point the CLI, the API and the benchmarks call.

``plan_day`` takes the day's tasks and shifts and returns one ``Plan``:

1. ``dispatch.split.split_day`` cuts the day into sub-problems (by region, then clusters of at most
   ``MAX_AGENTS`` agents) and drops, with a reason, what no sub-problem may take.
2. The sub-problems are solved by ``dispatch.solver.solve`` in a process pool (``dispatch.schedule``:
   ``ProcessPoolExecutor`` on ``dispatch.portfolio.worker_context``; default one worker per core). A
   day of one sub-problem is solved in-process, by a portfolio of one search per core (``solve``'s
   ``searches``, given at least ``PORTFOLIO_MIN_S``); with fewer sub-problems than cores, each gets its
   share of the cores that way.
3. Time (``dispatch.schedule``): ``time_limit_s`` bounds the whole call; a ``MARGIN`` of it is kept for
   stitching. The workers are started first (their start-up is measured, not guessed); then
   sub-problems start largest first, each with a limit given when it starts (``Budget``): its share, by
   the square of its number of tasks (``_weight``), of the worker-seconds left before the deadline, so
   that time a solver did not use goes to those after it. The solver's own limit covers its matrix and
   model building. A sub-problem whose first solution did not finish in its time (the solver found
   none) is solved once more while time is left, from ``RETRY_FIRST_SOLUTION``; if that plans nothing either,
   its visits are ``NO_PLAN_FOUND`` (so the plan is refused) rather than dropped for capacity. A region
   where two or more buyers compete holds back ``FAIR_ROUND_SHARE`` of its weight for its fairness
   round (step 5, ``_FairnessRound``): the round's sub-problems share it when the region turns out
   unfair, and it goes to the sub-problems still waiting when it does not. With less than
   ``ROOMY_PART_S`` per sub-problem nothing is held back and there is no round (step 6 still applies).
4. Fairness within a cluster [000 §1.8, §2.94]: the solver balances buyers only among non-urgent
   visits, and among urgent ones it serves the cheapest, so a buyer whose cases are spread out (the
   national buyer across London) loses to one whose cases are dense (Croydon). When a sub-problem's
   first plan (``FIRST_SHARE`` of its time) is below ``FAIR_TARGET`` by ``fairness_by_class`` (each
   priority class of each region), the buyers served above the worst-served one's rate in that class
   are capped near it and the worst-served is offered all its visits again
   (``dispatch.fairness.fair_shares``), solved in the rest of the time; the fairer plan is kept unless
   it gives up more than ``1 - FAIR_KEEP`` of the visits.
5. Fairness across a region: clusters are cut by where agents live, so a buyer whose cases lie far
   from the city where the other buyer's agents live can be under-served in every cluster (the South
   West: Plymouth's cases in the city, the national buyer's across Cornwall and Somerset). As soon as
   the last cluster of a region is planned, if a class of the region is below ``FAIR_TARGET``
   (``dispatch.fairness.under_served``): the drops no agent could make even alone are labelled out of
   reach (not capacity given to another buyer); if the urgent class is below it, the under-served
   buyers' unplanned urgent visits go to the cluster of the nearest agent who may make them, and every
   cluster receiving visits they need is solved again with those visits urgent and the rest demoted
   below urgent (``_favoured_parts``; the lower classes are left to step 6,
   ``dispatch.fairness.favourable``).
6. Exchange, then trim (``_balanced``): in each class below ``FAIR_TARGET`` the worst-served buyer's
   unplanned visits take the places of better-served buyers' planned ones where they fit the route
   (``dispatch.exchange``: one for one, or for a short run when further out); what is still unfair is cut
   (``dispatch.fairness.trim``: visits of buyers above their share dropped as ``fair share``). Both
   the region's first plan and the one with the round's clusters are trimmed, and each region keeps
   the one whose every class is fair, or else the one that serves more (``_better_of``); the day's
   plan is then exchanged and trimmed as a whole. Not before the choice: a region's plan is taken by
   its sub-problems' agents and tasks, and an exchange moves visits by the tasks' own region (a
   cluster may hold another region's visits), so a visit exchanged in one plan could end planned in
   one and dropped in the other. So every class of a region
   with two buyers ends at or above the target unless no exchange fits and the cut would cancel more
   than half its visits (``dispatch.fairness.TRIM_KEEP``); the cost in visits is in ``Plan.stats``
   (``fair_share_dropped``, which counts the visits exchanged out as well).
7. Repair (``dispatch.repair``), before the trim: each route is checked on its own by the independent
   validator, and a route it rejects loses visits until it passes (logged as a warning; counted in
   ``Plan.stats["repaired_visits"]``).
8. Stitch: routes and drops are concatenated. Every sub-problem holds other agents and other tasks
   (``split_day`` puts each task in exactly one; the fairness round replaces its clusters' plans), so
   no case can be planned twice.

``fairness_by_class`` measures the stitched plan's fairness [000 §1.8, §2.94] as the planner is held to
it, per priority class (its docstring gives the exact definition), and ``fairness_by_region`` over
every priority; ``plan_day`` records them in ``Plan.stats`` as ``fairness_by_class`` and
``fairness_ratio``.
"""
from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date

from dispatch.fairness import (
    COMPETING_REASONS, FAIR_SHARE, FAIR_TARGET, NO_PLAN_FOUND, OUT_OF_REACH, Group, class_fairness, class_of,
    fair_shares, fairness_by_class, fairness_by_region, favour, favourable, out_of_reach, served_shares, trim,
    under_served,
)
from dispatch.exchange import exchange
from dispatch.matrix import MatrixProvider, PlanarMatrixProvider
from dispatch.model import Dropped, Plan, Shift, VisitTask
from dispatch.repair import repair
from dispatch.schedule import pool, schedule
from dispatch.solver import solve
from dispatch.split import MAX_AGENTS, DaySplit, Project, SubProblem, bng, nearest_parts, planar, split_day

# The fairness measures live in dispatch.fairness; they are re-exported here, where callers of
# ``plan_day`` have always found them.
__all__ = ["COMPETING_REASONS", "MARGIN", "NO_PLAN_FOUND", "fairness_by_region", "plan_day", "served_shares"]

# A sub-problem's first solve gets this share of its limit; an unfair first plan is re-solved over
# fair shares in the rest (``_solve_part``), a fair one returns early and leaves the time to others.
FIRST_SHARE = 0.7
# Of the budget, kept for the region-wide fairness round (step 5) when some region has two buyers, if
# sub-problems get at least ROOMY_PART_S each on average (with less, some would not get past their
# first solution: 4 agents × 124 tasks need about 1.1 s on a loaded machine; the demo day has about
# 2.3 s per sub-problem).
FAIR_ROUND_SHARE = 0.25
ROOMY_PART_S = 1.0
# The fairness round favours this many times the visits an under-served buyer needs (the nearest to an
# agent first): some of them will not fit.
FAVOUR_MARGIN = 1.5
# Fairness is not bought with any number of visits: a fairer plan that serves less than this share of
# the first plan's visits (a buyer whose visits no agent can reach would cap everyone) is not taken.
FAIR_KEEP = 0.8
MARGIN = 0.08  # of the budget, kept for stitching and for solvers that overrun their limit slightly


def _weight(part: SubProblem) -> int:
    # The first solution (local cheapest insertion) costs about the square of the number of tasks:
    # 124 tasks × 4 agents take 1.1 s, 40 tasks 0.1 s. Time in proportion to it keeps every sub-problem
    # past its first solution; +10: a sub-problem of a few tasks still needs its model built.
    return (len(part.tasks) + 10) ** 2


def _solve_part(part: SubProblem, matrix: MatrixProvider, day: date, limit: float, first_solution: str,
                searches: int) -> Plan:
    """The sub-problem solved, then re-solved over each buyer's fair share when the first plan is
    unfair (module docstring, step 4); the second plan is kept when it is fairer and serves at least
    ``FAIR_KEEP`` of what the first served. A part of the fairness round (``part.favoured``) is solved
    once: its unfairness within the cluster is the point."""
    started = time.monotonic()
    first = solve(part.tasks, part.shifts, matrix=matrix, day=day, fairness_rounds=0, first_solution=first_solution,
                  time_limit_s=limit * (FIRST_SHARE if not part.favoured else 1.0), searches=searches)
    if part.favoured:
        return first
    fairness = fairness_by_class(first, part.tasks)
    left = limit - (time.monotonic() - started)
    if fairness >= FAIR_TARGET or left < 0.5 or first.served == 0:
        return first
    offered, cut = fair_shares(first, part.tasks, matrix)
    second = solve(offered, part.shifts, matrix=matrix, time_limit_s=left, day=day, fairness_rounds=0,
                   first_solution=first_solution, searches=searches)
    structural = [d for d in first.dropped if d.reason not in COMPETING_REASONS]
    second.dropped = [*second.dropped, *structural,
                      *(Dropped(t.case_id, t.buyer, t.at, "capacity") for t in cut)]
    if fairness_by_class(second, part.tasks) > fairness and second.served >= FAIR_KEEP * first.served:
        return second
    return first


def _stitch(day: date, plans: Sequence[Plan], dropped: Sequence[Dropped] = ()) -> Plan:
    return Plan(day=day, routes=sorted((r for p in plans for r in p.routes), key=lambda r: r.agent_id),
                dropped=[*dropped, *(d for p in plans for d in p.dropped)])


def _unreachable_out(plan: Plan, tasks: Sequence[VisitTask], shifts: Sequence[Shift], matrix: MatrixProvider,
                     regions: set[str | None]) -> Plan:
    """``plan`` with the competing drops of ``regions`` that no agent of their region could make even
    alone re-labelled ``OUT_OF_REACH``: they are not capacity given to another buyer."""
    by_case = {t.case_id: t for t in tasks}
    unreachable: set[int] = set()
    for region in regions:
        # A region's clusters may hold another region's visits (no agent of theirs may make them).
        candidates = [by_case[d.case_id] for d in plan.dropped if d.reason in COMPETING_REASONS
                      and d.case_id in by_case and by_case[d.case_id].region == region]
        unreachable |= out_of_reach(candidates, [s for s in shifts if s.region == region], matrix)
    if not unreachable:
        return plan
    return Plan(day=plan.day, routes=plan.routes,
                dropped=[Dropped(d.case_id, d.buyer, d.at, OUT_OF_REACH) if d.case_id in unreachable else d
                         for d in plan.dropped])


def _favoured_parts(plan: Plan, parts: Sequence[SubProblem], tasks: Sequence[VisitTask],
                    under: dict[Group, dict[str, int]], project: Project) -> list[SubProblem]:
    """Step 5's sub-problems. In each unfair class of a region, each under-served buyer's visits of
    that class not planned anywhere go to the cluster of the nearest agent who may make them; the
    nearest ``FAVOUR_MARGIN`` × the number it needs (``under_served``) are favoured, with its visits of
    the class already planned; every cluster that receives a favoured visit is solved again over what
    it planned and what it received, all but the favoured visits demoted below urgent
    (``dispatch.fairness.favour``)."""
    by_case = {t.case_id: t for t in tasks}
    served = {v.case_id for r in plan.routes for v in r.visits}
    extra: dict[int, list[VisitTask]] = defaultdict(list)
    favoured: set[int] = {c for c in served if by_case[c].buyer in under.get(class_of(by_case[c]), {})}
    for key, needs in under.items():
        region = key[0]
        in_region = [k for k, p in enumerate(parts) if p.region == region]
        moving = [by_case[d.case_id] for d in plan.dropped if d.reason in COMPETING_REASONS and d.buyer in needs
                  and class_of(by_case[d.case_id]) == key and by_case[d.case_id].pinned_agent is None]
        placed = [(t, *near) for t, near in zip(moving, nearest_parts(moving, [parts[k] for k in in_region], project))
                  if near is not None]
        for t, n, _ in placed:
            extra[in_region[n]].append(t)
        for buyer, need in needs.items():
            nearest = sorted((d, t.case_id) for t, _, d in placed if t.buyer == buyer)
            favoured.update(c for _, c in nearest[:math.ceil(need * FAVOUR_MARGIN)])
    buyers: dict[str | None, set[str]] = defaultdict(set)  # each region's under-served buyers
    for (region, _), needs in under.items():
        buyers[region] |= needs.keys()
    out = []
    for k, p in enumerate(parts):
        if p.region in buyers and any(t.case_id in favoured for t in extra[k]):
            offered = favour([*(t for t in p.tasks if t.case_id in served), *extra[k]], p.region, favoured)
            out.append(SubProblem(f"{p.key}/fair", p.region, tuple(offered), p.shifts, frozenset(buyers[p.region])))
    return out


def _served_by(plan: Plan, agents: set[int]) -> int:
    return sum(len(r.visits) for r in plan.routes if r.agent_id in agents)


def _unfair_regions(plan: Plan, tasks: Sequence[VisitTask]) -> set[str | None]:
    """The regions with some priority class below ``FAIR_TARGET`` (``fairness_by_class``)."""
    return {region for (region, _), ratio in class_fairness(plan, tasks).items() if ratio < FAIR_TARGET}


def _balanced(plan: Plan, tasks: Sequence[VisitTask], matrix: MatrixProvider) -> Plan:
    """Step 6: visits exchanged towards each class's fair share, then what is still unfair trimmed."""
    return trim(exchange(plan, tasks, matrix), tasks, matrix, planned=plan)


def _better_of(plan: Plan, candidate: Plan, parts: Sequence[SubProblem], redo: Sequence[SubProblem],
               tasks: Sequence[VisitTask], matrix: MatrixProvider) -> Plan:
    """Both plans trimmed (step 6), then region by region of the fairness round the one that is fair
    (a trim may have been refused, ``dispatch.fairness.TRIM_KEEP``), else the one that serves more: a
    region's agents and tasks come from one plan or the other, never from both (each was trimmed
    against its own shares)."""
    old, new = trim(plan, tasks, matrix), trim(candidate, tasks, matrix)
    old_unfair, new_unfair = _unfair_regions(old, tasks), _unfair_regions(new, tasks)
    take_new: set[int] = set()  # agents
    new_cases: set[int] = set()
    for region in {p.region for p in redo}:
        agents = {s.agent_id for p in parts if p.region == region for s in p.shifts}
        if (region not in new_unfair, _served_by(new, agents)) > (region not in old_unfair, _served_by(old, agents)):
            take_new |= agents
            new_cases |= {t.case_id for p in [*parts, *redo] if p.region == region for t in p.tasks}
    if not take_new:
        return old
    new_cases |= {v.case_id for r in old.routes if r.agent_id in take_new for v in r.visits}
    return Plan(day=plan.day,
                routes=[*(r for r in old.routes if r.agent_id not in take_new),
                        *(r for r in new.routes if r.agent_id in take_new)],
                dropped=[*(d for d in old.dropped if d.case_id not in new_cases),
                         *(d for d in new.dropped if d.case_id in new_cases)])


class _FairnessRound:
    """Step 5, region by region, as the sub-problems' plans arrive (``after``, ``schedule``'s
    ``After``); then the day's plan before repair and trim (``day_plan``).

    A region where buyers compete (``shared``) holds back part of its weight (``hold_back``). When its
    last sub-problem is planned, its plan is stitched (``first``); if it is unfair, the round's
    sub-problems (``_favoured_parts``) are handed back to be solved, sharing what it held back
    (``scaled``); if not, what it held back goes to the sub-problems still waiting."""

    def __init__(self, day: date, tasks: Sequence[VisitTask], shifts: Sequence[Shift], matrix: MatrixProvider,
                 project: Project, split: DaySplit):
        self.day, self.tasks, self.shifts, self.matrix, self.project = day, tasks, shifts, matrix, project
        self.by_region: dict[str | None, list[VisitTask]] = defaultdict(list)
        for t in tasks:
            self.by_region[t.region].append(t)
        self.shared: dict[str | None, list[SubProblem]] = defaultdict(list)  # a region's sub-problems
        for p in split.parts:
            if len({t.buyer for t in self.by_region[p.region]}) > 1:
                self.shared[p.region].append(p)
        region_of = {t.case_id: t.region for t in tasks}
        self.split_drops: dict[str | None, list[Dropped]] = defaultdict(list)
        for d in split.dropped:
            self.split_drops[region_of[d.case_id]].append(d)
        self.reserve: dict[str | None, float] = {}  # weight a shared region holds back for its round
        self.left = {r: len(ps) for r, ps in self.shared.items()}  # its sub-problems not planned yet
        self.planned: dict[str | None, list[Plan]] = defaultdict(list)  # the plans of those that are
        self.first: dict[str | None, Plan] = {}  # a shared region's plan before its round
        self.scaled: dict[str, float] = {}  # a round's sub-problem's share of its region's reserve

    def hold_back(self, roomy: bool) -> float:
        """Each shared region holds back ``FAIR_ROUND_SHARE`` of its weight for its round, if ``roomy``
        (else there is no round; step 6 still trims). The total held back."""
        self.reserve = {r: FAIR_ROUND_SHARE * sum(map(_weight, ps)) if roomy else 0.0
                        for r, ps in self.shared.items()}
        return sum(self.reserve.values())

    def weight(self, part: SubProblem) -> float:
        """``part``'s weight for the time it gets: a round's sub-problem shares its region's reserve."""
        return self.scaled.get(part.key, _weight(part))

    def after(self, part: SubProblem, plan: Plan) -> tuple[list[SubProblem], float]:
        """The round's sub-problems of ``part``'s region once ``plan`` is its last, and the weight the
        region gives back (all it held back: the round's sub-problems are weighed by ``scaled``)."""
        region = part.region
        if part.favoured or region not in self.left:
            return [], 0.0
        self.planned[region].append(plan)
        self.left[region] -= 1
        if self.left[region]:
            return [], 0.0
        self.first[region] = base = _stitch(self.day, self.planned[region], self.split_drops[region])
        under = under_served(base, self.by_region[region])
        if under:
            self.first[region] = base = _unreachable_out(base, self.by_region[region], self.shifts, self.matrix,
                                                         {region})
            under = under_served(base, self.by_region[region])
        needs = favourable(under)
        redo = _favoured_parts(base, self.shared[region], self.tasks, needs, self.project) \
            if needs and self.reserve[region] else []
        total = sum(map(_weight, redo))
        self.scaled.update({p.key: _weight(p) * self.reserve[region] / total for p in redo})
        return redo, self.reserve[region]

    def day_plan(self, solved: Sequence[tuple[SubProblem, Plan]]) -> Plan:
        """The day's plan from every sub-problem's (``schedule``'s answer): the shared regions' first
        plans and the other regions' plans stitched, and where a round ran, the better of that and the
        round's plans (``_better_of``)."""
        redo = [part for part, _ in solved if part.favoured]
        alone = _stitch(self.day, [pl for part, pl in solved if not part.favoured and part.region not in self.shared],
                        [d for r, ds in self.split_drops.items() if r not in self.shared for d in ds])
        plan = _stitch(self.day, [*self.first.values(), alone])
        if not redo:
            return plan
        redone = {s.agent_id for p in redo for s in p.shifts}
        involved = {t.case_id for p in redo for t in p.tasks}
        candidate = _stitch(self.day, [Plan(day=self.day, routes=[r for r in plan.routes if r.agent_id not in redone],
                                            dropped=[d for d in plan.dropped if d.case_id not in involved]),
                                       *(pl for part, pl in solved if part.favoured)])
        shared = [p for ps in self.shared.values() for p in ps]
        return _better_of(plan, candidate, shared, redo, self.tasks, self.matrix)


def plan_day(tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, matrix: MatrixProvider, day: date,
             time_limit_s: float, workers: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Plan:
    """Plan ``day`` for ``shifts`` over ``tasks`` within ``time_limit_s`` (wall clock, whole call); see
    the module docstring.

    ``matrix`` must be picklable (it is sent to the worker processes). ``workers``: parallel solver
    processes (default: the machine's cores). ``progress(done, total)`` is called as sub-problems
    finish (the total grows when the fairness round adds some).
    """
    started = time.monotonic()
    workers = workers or os.cpu_count() or 1
    project = planar if isinstance(matrix, PlanarMatrixProvider) else bng
    split = split_day(tasks, shifts, max_agents=MAX_AGENTS, project=project)
    deadline = started + time_limit_s * (1 - MARGIN)
    fair_round = _FairnessRound(day, tasks, shifts, matrix, project, split)
    with pool(workers, len(split.parts)) as (executor, n_workers):
        now = time.monotonic()
        roomy = (deadline - now) * n_workers / max(1, len(split.parts)) >= ROOMY_PART_S
        solved = schedule(executor, n_workers, split.parts, matrix, day, deadline, progress, fair_round.weight,
                          fair_round.hold_back(roomy), fair_round.after, _solve_part,
                          searches=max(1, workers // max(1, len(split.parts))))
    repaired, taken_off = repair(fair_round.day_plan(solved), tasks, matrix)
    plan = _balanced(repaired, tasks, matrix)
    plan.stats = {"solve_seconds": time.monotonic() - started, "parts": float(len(split.parts)),
                  "repaired_visits": float(taken_off),
                  "served": float(plan.served), "dropped": float(len(plan.dropped)),
                  "distance_m": float(sum(r.distance_m for r in plan.routes)),
                  "fair_share_dropped": float(sum(d.reason == FAIR_SHARE for d in plan.dropped)),
                  "fairness_ratio": fairness_by_region(plan, tasks), "fairness_by_class": fairness_by_class(plan, tasks)}
    return plan
