"""Running a day's sub-problems: ``schedule`` solves them on a pool of worker processes (``pool``),
largest first, each given its time limit as it starts (``Budget``), and solves once more, from an empty
plan, a sub-problem whose first solution did not finish in its time (``failed``). ``dispatch.planner``
says what solving a sub-problem means (``SolvePart``) and what comes after each plan (``After``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date

from dispatch.fairness import COMPETING_REASONS, NO_PLAN_FOUND
from dispatch.matrix import MatrixProvider
from dispatch.model import Plan
from dispatch.portfolio import worker_context
from dispatch.split import SubProblem

__all__ = ["FIRST_SOLUTION", "RETRY_FIRST_SOLUTION", "After", "Budget", "Inline", "SolvePart", "failed", "pool",
           "schedule"]

# The solver's default first solution (local cheapest insertion) gives the best rounds but nothing
# until it has placed every task; a sub-problem it did not finish for is solved again from an empty
# plan that guided local search fills (worse rounds, but something in any time).
FIRST_SOLUTION = "LOCAL_CHEAPEST_INSERTION"
RETRY_FIRST_SOLUTION = "ALL_UNPERFORMED"

# How a sub-problem is solved: ``(part, matrix, day, limit, first_solution, searches)`` to its plan. It
# runs in a worker process, so it must be a module-level function.
SolvePart = Callable[[SubProblem, MatrixProvider, date, float, str, int], Plan]
# What ``schedule`` calls as each sub-problem's final plan arrives: the sub-problems to solve next, and
# the reserved weight it gives back.
After = Callable[[SubProblem, Plan], tuple[list[SubProblem], float]]


@dataclass
class Budget:
    """Time limits handed out as sub-problems start, so that all of them end by ``deadline``.

    Each worker slot is busy until its running sub-problem's limit runs out. A sub-problem about to
    start gets the worker-seconds left before the deadline (on every slot, from when it is free) in
    the proportion of its weight to the weight of everything not started yet. A solver that returns
    early leaves its time to those that start after it."""

    deadline: float
    pending: float  # total weight not started yet
    busy_until: list[float]

    def start(self, slot: int, weight: float, now: float) -> float:
        available = sum(self.deadline - max(now, end) for k, end in enumerate(self.busy_until) if k != slot)
        available += self.deadline - now
        limit = min(self.deadline - now, available * weight / max(self.pending, weight))
        self.pending -= weight
        self.busy_until[slot] = now + max(0.0, limit)
        return max(0.05, limit)


def timed_out(plan: Plan) -> bool:
    """The first solution did not finish: the solver found no plan in time and said so
    (``NO_PLAN_FOUND``). A plan that serves nothing, every visit dropped for capacity, is an answer
    (none was worth the drive: a few low-priority visits spread over Wales for two agents), not a
    failure."""
    return plan.served == 0 and any(d.reason == NO_PLAN_FOUND for d in plan.dropped)


def failed(plan: Plan, part: SubProblem) -> bool:
    """No visit planned by the retry although nothing but time stood in the way (its empty first
    solution always "succeeds", so only the reasons tell)."""
    return plan.served == 0 and bool(part.tasks) and all(
        d.reason in COMPETING_REASONS for d in plan.dropped)


def _ready() -> None:
    """A no-op for starting a worker."""


class Inline:
    """An executor that runs each call at once, in this process: what ``schedule`` uses when one
    process is enough."""

    def submit(self, fn: Callable[..., Plan], *args: object) -> Future[Plan]:
        future: Future[Plan] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as error:  # noqa: BLE001 — handed to the caller through the future, as a pool would
            future.set_exception(error)
        return future


@contextmanager
def pool(workers: int, n_parts: int) -> Iterator[tuple[ProcessPoolExecutor | Inline, int]]:
    """A started process pool of ``min(workers, n_parts)`` workers and that number, or an inline
    executor and 1 when one process is enough. Every worker is started before the caller divides its
    time: what starting them costs depends on the machine's load, so it is measured rather than guessed."""
    n_workers = min(workers, n_parts)
    if n_workers <= 1:
        yield Inline(), 1
        return
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=worker_context("dispatch.planner")) as executor:
        for future in [executor.submit(_ready) for _ in range(n_workers)]:
            future.result()
        yield executor, n_workers


def _largest_first(parts: Sequence[SubProblem]) -> list[SubProblem]:
    return sorted(parts, key=lambda p: (-len(p.tasks), p.key))


def schedule(executor: ProcessPoolExecutor | Inline, n_workers: int, parts: Sequence[SubProblem],
             matrix: MatrixProvider, day: date, deadline: float, progress: Callable[[int, int], None] | None,
             weight: Callable[[SubProblem], float], reserved: float, after: After, solve_part: SolvePart,
             searches: int = 1) -> list[tuple[SubProblem, Plan]]:
    """Each sub-problem with its plan: ``parts`` solved by ``solve_part`` largest first on ``n_workers``
    slots of ``executor`` by ``searches`` searches each, each given its time as it starts (``Budget``,
    by ``weight``, with ``reserved`` weight held back for what ``after`` adds). A sub-problem whose first
    solution did not finish (``timed_out``) is solved once more, from ``RETRY_FIRST_SOLUTION``, if time is
    left (if that plans nothing either, its visits are ``NO_PLAN_FOUND``); the sub-problems ``after``
    returns go to the front of the queue."""
    plans: list[tuple[SubProblem, Plan]] = []
    budget = Budget(deadline, sum(map(weight, parts)) + reserved, [0.0] * n_workers)
    queue = [(part, False) for part in _largest_first(parts)]
    running: dict[Future[Plan], tuple[SubProblem, bool, int]] = {}
    free_slots = list(range(n_workers))
    total = len(parts)
    while queue or running:
        while queue and free_slots:
            (part, retry), slot = queue.pop(0), free_slots.pop(0)
            limit = budget.start(slot, weight(part), time.monotonic())
            strategy = RETRY_FIRST_SOLUTION if retry else FIRST_SOLUTION
            running[executor.submit(solve_part, part, matrix, day, limit, strategy, searches)] = (part, retry, slot)
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            part, retry, slot = running.pop(future)
            free_slots.append(slot)
            plan = future.result()
            if not retry and timed_out(plan) and deadline - time.monotonic() > 1.0:
                budget.pending += weight(part)
                queue.insert(0, (part, True))
                continue
            if retry and failed(plan, part):
                # The retry's empty first solution always "succeeds", so its drops read "capacity";
                # but nothing was planned in two tries: time, not agents, ran out.
                plan = Plan(day=plan.day, routes=plan.routes, stats=plan.stats,
                            dropped=[replace(d, reason=NO_PLAN_FOUND) for d in plan.dropped])
            plans.append((part, plan))
            new, released = after(part, plan)
            budget.pending += sum(map(weight, new)) - released
            queue[:0] = [(p, False) for p in _largest_first(new)]
            total += len(new)
            if progress is not None:
                progress(len(plans), total)
    return plans
