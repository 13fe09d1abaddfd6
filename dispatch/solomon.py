"""Solomon VRPTW instances as planning problems for ``dispatch.solver.solve``.

The classic format (../shared/bench/solomon/SOURCE.md): fleet size and capacity, then one row per
customer ``CUST X Y DEMAND READY DUE SERVICE``, customer 0 the depot. Travel time equals Euclidean
distance; service must *start* by DUE.

Conversion to the planner's units: one Solomon unit is ``unit`` metres and ``unit`` seconds
(``PlanarMatrixProvider(unit_m=unit, speed_mps=1)``, which rounds every arc up, so an integer plan that
is on time is on time in real numbers). The planner requires a visit to start and finish inside its
window, so a Solomon window [READY, DUE] on the service start becomes [READY, DUE + SERVICE). Every
customer is mandatory: priority 100 (urgent). Distances of a finished plan are recomputed in real
numbers with ``route_length``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dispatch.matrix import PlanarMatrixProvider
from dispatch.model import Plan, Point, Shift, TimeWindow, VisitTask

__all__ = ["SolomonInstance", "SolomonProblem", "read_instance", "to_problem", "plan_distance"]

DAY = date(2000, 1, 3)


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    # rows of (x, y, demand, ready, due, service); index 0 is the depot
    rows: tuple[tuple[float, float, int, float, float, float], ...]


@dataclass(frozen=True)
class SolomonProblem:
    tasks: list[VisitTask]
    shifts: list[Shift]
    matrix: PlanarMatrixProvider
    vehicle_capacity: int
    day: date


def read_instance(path: Path) -> SolomonInstance:
    lines = [ln.split() for ln in path.read_text().splitlines()]
    vehicles, capacity = next((int(a[0]), int(a[1])) for a in lines if len(a) == 2 and a[0].isdigit())
    rows = tuple((float(a[1]), float(a[2]), int(a[3]), float(a[4]), float(a[5]), float(a[6]))
                 for a in lines if len(a) == 7 and a[0].isdigit())
    return SolomonInstance(name=path.stem, vehicles=vehicles, capacity=capacity, rows=rows)


def to_problem(inst: SolomonInstance, unit: int = 1000) -> SolomonProblem:
    origin = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)

    def at(t: float) -> datetime:
        return origin + timedelta(seconds=round(t * unit))

    x0, y0, _, ready0, due0, _ = inst.rows[0]
    depot = Point(x0, y0)
    shifts = [Shift(agent_id=v + 1, start=at(ready0), end=at(due0), start_at=depot, end_at=depot)
              for v in range(inst.vehicles)]
    tasks = [VisitTask(case_id=c, buyer="solomon", at=Point(x, y),
                       windows=(TimeWindow(at(ready), at(due + service), None),),
                       service_s=round(service * unit), priority=100, demand=demand)
             for c, (x, y, demand, ready, due, service) in enumerate(inst.rows) if c > 0]
    return SolomonProblem(tasks=tasks, shifts=shifts, matrix=PlanarMatrixProvider(unit_m=unit, speed_mps=1),
                          vehicle_capacity=inst.capacity, day=DAY)


def plan_distance(inst: SolomonInstance, plan: Plan) -> float:
    """Total Euclidean length of a plan's routes in Solomon units (real numbers, depot to depot)."""
    total = 0.0
    for r in plan.routes:
        path = [0, *(v.case_id for v in r.visits), 0]
        total += sum(math.dist(inst.rows[a][:2], inst.rows[b][:2]) for a, b in zip(path, path[1:]))
    return total
