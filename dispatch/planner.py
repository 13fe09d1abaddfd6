"""Planning a whole day: the entry point the CLI, the API and the benchmarks call.

``plan_day`` takes the day's tasks and shifts and returns one ``Plan``:

1. ``dispatch.split.split_day`` cuts the day into sub-problems (by region, then clusters of at most
   ``MAX_AGENTS`` agents) and drops, with a reason, what no sub-problem may take.
2. The sub-problems are solved by ``dispatch.solver.solve`` in a process pool
   (``ProcessPoolExecutor`` on a ``forkserver`` context, see ``_context``; default one worker per
   core). A day of one sub-problem is solved in-process.
3. Time: ``time_limit_s`` bounds the whole call; a ``MARGIN`` of it is kept for stitching. The
   workers are started first (their start-up is measured, not guessed); then sub-problems start
   largest first, each with a limit given when it starts (``_Budget``): its share, by the square of its
   number of tasks (``_weight``), of the worker-seconds left before the deadline, so that time a solver did not use goes to
   those after it. The solver's own limit covers its matrix and model building. A sub-problem whose
   first solution did not finish in its time (nothing served) is solved once more while time is left,
   from ``RETRY_FIRST_SOLUTION``.
4. Fairness [000 §1.8, §2.94]: the solver balances buyers only among non-urgent visits, and among
   urgent ones it serves the cheapest, so a buyer whose cases are spread out (the national buyer
   across London) loses to one whose cases are dense (Croydon). When a sub-problem's first plan
   (``FIRST_SHARE`` of its time) is below ``FAIR_TARGET`` by ``fairness_by_region``, the buyers served
   above the worst-served one's rate are capped near it and the worst-served is offered all its
   visits again (``_fair_shares``), solved in the rest of the time; the fairer plan is kept unless it
   gives up more than ``1 - FAIR_KEEP`` of the visits.
5. Stitch: routes and drops are concatenated. Every sub-problem holds other agents and other tasks
   (``split_day`` puts each task in exactly one), so no case can be planned twice. There is no repair
   pass that moves capacity drops between clusters.

``fairness_by_region`` measures the stitched plan's fairness [000 §1.8, §2.94] (its docstring gives the
exact definition); ``plan_day`` records it in ``Plan.stats`` as ``fairness_ratio``.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import date

from dispatch.matrix import MatrixProvider, PlanarMatrixProvider
from dispatch.model import Dropped, Plan, Shift, VisitTask
from dispatch.solver import URGENT_PRIORITY, solve
from dispatch.split import MAX_AGENTS, SubProblem, planar, split_day

__all__ = ["COMPETING_REASONS", "MARGIN", "fairness_by_region", "plan_day", "served_shares"]

# A sub-problem's first solve gets this share of its limit; an unfair first plan is re-solved over
# fair shares in the rest (``_solve_part``), a fair one returns early and leaves the time to others.
FIRST_SHARE = 0.7
FAIR_TARGET = 0.9  # bench/day.py's bar for fairness_min_ratio (issue 4)
# Fairness is not bought with any number of visits: a fairer plan that serves less than this share of
# the first plan's visits (a buyer whose visits no agent can reach would cap everyone) is not taken.
FAIR_KEEP = 0.8
# The solver's default first solution (local cheapest insertion) gives the best rounds but nothing
# until it has placed every task; a sub-problem it did not finish for is solved again from an empty
# plan that guided local search fills (worse rounds, but something in any time).
FIRST_SOLUTION = "LOCAL_CHEAPEST_INSERTION"
RETRY_FIRST_SOLUTION = "ALL_UNPERFORMED"
MARGIN = 0.08  # of the budget, kept for stitching and for solvers that overrun their limit slightly


def _weight(part: SubProblem) -> int:
    # The first solution (local cheapest insertion) costs about the square of the number of tasks:
    # 124 tasks × 4 agents take 1.1 s, 40 tasks 0.1 s. Time in proportion to it keeps every sub-problem
    # past its first solution; +10: a sub-problem of a few tasks still needs its model built.
    return (len(part.tasks) + 10) ** 2


@dataclass
class _Budget:
    """Time limits handed out as sub-problems start, so that all of them end by ``deadline``.

    Each worker slot is busy until its running sub-problem's limit runs out. A sub-problem about to
    start gets the worker-seconds left before the deadline (on every slot, from when it is free) in
    the proportion of its weight to the weight of everything not started yet. A solver that returns
    early leaves its time to those that start after it."""

    deadline: float
    pending: int  # total weight not started yet
    busy_until: list[float]

    def start(self, slot: int, weight: int, now: float) -> float:
        available = sum(self.deadline - max(now, end) for k, end in enumerate(self.busy_until) if k != slot)
        available += self.deadline - now
        limit = min(self.deadline - now, available * weight / max(self.pending, weight))
        self.pending -= weight
        self.busy_until[slot] = now + max(0.0, limit)
        return max(0.05, limit)


def _failed(plan: Plan, part: SubProblem) -> bool:
    """No visit planned although nothing but time stood in the way: the first solution did not finish."""
    return plan.served == 0 and bool(part.tasks) and all(
        d.reason in COMPETING_REASONS for d in plan.dropped)


def _context() -> multiprocessing.context.BaseContext:
    """``forkserver`` with the solver preloaded: workers fork from a clean server process that has
    already imported OR-Tools, so they start in milliseconds once the server is up (it stays up for
    the life of this process), and nothing of the caller (threads, database connections) is forked."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dispatch.planner"])
    return context


def _ready() -> None:
    """A no-op for starting a worker."""


def _solve_part(part: SubProblem, matrix: MatrixProvider, day: date, limit: float,
                first_solution: str = FIRST_SOLUTION) -> Plan:
    """The sub-problem solved, then re-solved over each buyer's fair share when the first plan is
    unfair (module docstring, step 4); the second plan is kept when it is fairer and serves at least
    ``FAIR_KEEP`` of what the first served."""
    started = time.monotonic()
    first = solve(part.tasks, part.shifts, matrix=matrix, time_limit_s=limit * FIRST_SHARE, day=day,
                  fairness_rounds=0, first_solution=first_solution)
    fairness = fairness_by_region(first, part.tasks)
    left = limit - (time.monotonic() - started)
    if fairness >= FAIR_TARGET or left < 0.5 or first.served == 0:
        return first
    offered, cut = _fair_shares(first, part.tasks, matrix)
    second = solve(offered, part.shifts, matrix=matrix, time_limit_s=left, day=day, fairness_rounds=0,
                   first_solution=first_solution)
    structural = [d for d in first.dropped if d.reason not in COMPETING_REASONS]
    second.dropped = [*second.dropped, *structural,
                      *(Dropped(t.case_id, t.buyer, t.at, "capacity") for t in cut)]
    if fairness_by_region(second, part.tasks) > fairness and second.served >= FAIR_KEEP * first.served:
        return second
    return first


def _fair_shares(plan: Plan, tasks: Sequence[VisitTask], matrix: MatrixProvider,
                 ) -> tuple[list[VisitTask], list[VisitTask]]:
    """The tasks to offer again, and those left out, so that in each region every buyer's served rate
    (served ÷ competing visits) is within ``FAIR_TARGET`` of the lowest buyer's rate in ``plan``: the
    buyer with the lowest rate is offered all its visits, every other buyer at most that rate ÷
    ``FAIR_TARGET`` of its visits — its served ones first (highest priority first), then the unserved
    ones nearest (in travel time) to a planned stop. Served at least as well as before, the lowest
    buyer then keeps the ratio of rates (which is ``fairness_by_region``'s min/max) at the target."""
    served = {v.case_id for r in plan.routes for v in r.visits}
    capacity = {d.case_id for d in plan.dropped if d.reason in COMPETING_REASONS}
    groups: dict[str | None, dict[str, list[VisitTask]]] = defaultdict(lambda: defaultdict(list))
    for t in tasks:
        if t.case_id in served or t.case_id in capacity:
            groups[t.region][t.buyer].append(t)
    stops = [v.at for r in plan.routes for v in r.visits]
    unserved = [t for t in tasks if t.case_id in capacity]
    points = list(dict.fromkeys([*stops, *(t.at for t in unserved)]))
    index = {p: i for i, p in enumerate(points)}
    durations = matrix.matrix(points).duration_s
    stop_ix = [index[p] for p in dict.fromkeys(stops)]
    near = {t.case_id: int(durations[stop_ix, index[t.at]].min()) for t in unserved}
    offered: list[VisitTask] = []
    cut: list[VisitTask] = []
    for buyers in groups.values():
        rates = {b: sum(t.case_id in served for t in ts) / len(ts) for b, ts in buyers.items()}
        lowest = min(rates.values())
        for b, ts in buyers.items():
            if rates[b] == lowest:
                offered += ts  # all of them: the time others give up may serve more of them
                continue
            cap = math.floor(lowest * len(ts) / FAIR_TARGET)
            ranked = sorted(ts, key=lambda t: (t.case_id not in served, -t.priority, near.get(t.case_id, 0),
                                               t.case_id))
            offered += ranked[:cap]
            cut += ranked[cap:]
    return offered, cut


def _solve_in_pool(order: list[SubProblem], matrix: MatrixProvider, day: date, n_workers: int,
                   deadline: float, progress: Callable[[int, int], None] | None) -> list[Plan]:
    """Solve ``order`` (largest first) on ``n_workers`` processes; a sub-problem whose first solution
    did not finish (``_failed``) is solved once more, from ``RETRY_FIRST_SOLUTION``, if time is left."""
    plans: list[Plan] = []
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=_context()) as pool:
        # Start every worker before dividing the time: what starting them costs depends on the
        # machine's load, so it is measured rather than guessed.
        for future in [pool.submit(_ready) for _ in range(n_workers)]:
            future.result()
        budget = _Budget(deadline, sum(map(_weight, order)), [0.0] * n_workers)
        queue = [(part, False) for part in order]
        running: dict[Future[Plan], tuple[SubProblem, bool, int]] = {}
        free_slots = list(range(n_workers))
        while queue or running:
            while queue and free_slots:
                (part, retry), slot = queue.pop(0), free_slots.pop(0)
                limit = budget.start(slot, _weight(part), time.monotonic())
                strategy = RETRY_FIRST_SOLUTION if retry else FIRST_SOLUTION
                running[pool.submit(_solve_part, part, matrix, day, limit, strategy)] = (part, retry, slot)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                part, retry, slot = running.pop(future)
                free_slots.append(slot)
                plan = future.result()
                if not retry and _failed(plan, part) and deadline - time.monotonic() > 1.0:
                    budget.pending += _weight(part)
                    queue.insert(0, (part, True))
                    continue
                plans.append(plan)
                if progress is not None:
                    progress(len(plans), len(order))
    return plans


def plan_day(tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, matrix: MatrixProvider, day: date,
             time_limit_s: float, workers: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Plan:
    """Plan ``day`` for ``shifts`` over ``tasks`` within ``time_limit_s`` (wall clock, whole call); see
    the module docstring.

    ``matrix`` must be picklable (it is sent to the worker processes). ``workers``: parallel solver
    processes (default: the machine's cores). ``progress(done, total)`` is called as sub-problems
    finish.
    """
    started = time.monotonic()
    workers = workers or os.cpu_count() or 1
    project = planar if isinstance(matrix, PlanarMatrixProvider) else None
    split = split_day(tasks, shifts, max_agents=MAX_AGENTS, **({"project": project} if project else {}))
    parts = split.parts
    deadline = started + time_limit_s * (1 - MARGIN)
    plans: list[Plan] = []
    order = sorted(parts, key=lambda p: (-len(p.tasks), p.key))  # largest first
    if len(parts) == 1 or workers == 1:
        budget = _Budget(deadline, sum(map(_weight, order)), [0.0])
        for part in order:
            plans.append(_solve_part(part, matrix, day, budget.start(0, _weight(part), time.monotonic())))
            if progress is not None:
                progress(len(plans), len(parts))
    elif parts:
        plans = _solve_in_pool(order, matrix, day, min(workers, len(parts)), deadline, progress)
    plan = Plan(day=day, routes=sorted((r for p in plans for r in p.routes), key=lambda r: r.agent_id),
                dropped=[*split.dropped, *(d for p in plans for d in p.dropped)])
    plan.stats = {"solve_seconds": time.monotonic() - started, "parts": float(len(parts)),
                  "served": float(plan.served), "dropped": float(len(plan.dropped)),
                  "distance_m": float(sum(r.distance_m for r in plan.routes)),
                  "fairness_ratio": fairness_by_region(plan, tasks)}
    return plan


# Drops that are capacity given to other visits: dropped for room, or because the solver ran out of time.
COMPETING_REASONS = frozenset({"capacity", "no plan found within the time limit"})


def served_shares(plan: Plan, tasks: Sequence[VisitTask], *, urgent: bool = True,
                  ) -> dict[str | None, dict[str, tuple[int, int]]]:
    """Region → buyer → (visits competing for capacity, visits served); see ``fairness_by_region``."""
    served = {v.case_id for r in plan.routes for v in r.visits}
    competing = served | {d.case_id for d in plan.dropped if d.reason in COMPETING_REASONS}
    counts: dict[str | None, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for t in tasks:
        if t.case_id in competing and (urgent or t.priority < URGENT_PRIORITY):
            c = counts[t.region][t.buyer]
            c[0] += 1
            c[1] += t.case_id in served
    return {region: {b: (e, s) for b, (e, s) in buyers.items()} for region, buyers in counts.items()}


def fairness_by_region(plan: Plan, tasks: Sequence[VisitTask], *, urgent: bool = True) -> float:
    """The smallest, over regions, of min/max across buyers of (served share ÷ competing share); 1 is
    perfectly proportional [000 §1.8, §2.94].

    The visits that compete for capacity in a region are its tasks that were planned or dropped for
    one of ``COMPETING_REASONS``: a visit nobody could make (no window, no skill, a pin that cannot be
    kept) is not capacity given to another buyer. Regions are the tasks' (ITL1); a region counts only
    when it has at least two buyers and served something. With ``urgent=False`` only tasks below
    ``URGENT_PRIORITY`` count, which is the solver's own measure (``dispatch.solver._fairness_ratio``,
    whose urgent visits are served whenever possible); by default every priority counts, because the
    buyer's measure is the share of agent time on its cases against its share of the caseload.
    A buyer's served share ÷ competing share is its served rate × (competing ÷ served) of the region,
    so min/max of it across buyers is the lowest served rate over the highest.
    """
    worst = 1.0
    for buyers in served_shares(plan, tasks, urgent=urgent).values():
        total_e = sum(e for e, _ in buyers.values())
        total_s = sum(s for _, s in buyers.values())
        if len(buyers) < 2 or total_s == 0:
            continue
        ratios = [(s / total_s) / (e / total_e) for e, s in buyers.values()]
        worst = min(worst, min(ratios) / max(ratios))
    return worst
