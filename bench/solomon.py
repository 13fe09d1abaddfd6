"""Solomon VRPTW benchmark: our planner (``dispatch.solver.solve``, the code that plans real days) and
pyvroom (exploration level 5) on the 56 classic instances, gaps to the best-known *distance-only*
solutions (``dist_distance`` in bks_solomon.csv, see ../shared/bench/solomon/SOURCE.md).

Both solvers see the same integer matrix: Euclidean distance × ``--unit`` rounded up, time = distance.
Reported distances are recomputed in real numbers from the routes, and every route is re-checked in
real numbers (windows on service start, capacity, depot due time); a violation or an unserved customer
is printed and counted, never hidden.

    .venv/bin/python bench/solomon.py [--seconds 10] [--instances C101,R101] [--jobs 1] [--guided]

(pyvroom comes with the ``bench`` extra.) Two ``dist_distance`` figures, R109 and RC103, are below the
proven optimum with arcs truncated to one decimal (``exact_trunc1_distance``, a lower bound for real
distances), so no solver can reach them; they are flagged ``!`` and the gap is still measured to them.

Each instance gets the machine's cores divided by ``--jobs`` (instances solved at a time; default 1):
our planner runs that many searches at once (``solve``'s portfolio, as a day of one sub-problem is
planned) and pyvroom that many threads; column ``kept`` reads "which search's plan was kept (0: the
one from local cheapest insertion) / how many searches answered". The per-instance wall time is
measured inside each worker. Last line: ``RESULT mean_gap_pct=… max_gap_pct=… max_seconds=…
vroom_mean_gap_pct=… instances=…``.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import get_settings
from dispatch import SolomonInstance, plan_distance, read_instance, solve, to_problem


@dataclass(frozen=True)
class Row:
    name: str
    bks: float
    ours: float
    ours_s: float
    ours_vehicles: int
    ours_problems: int
    ours_kept: str  # the portfolio search whose plan was kept / how many answered
    vroom: float
    vroom_s: float
    vroom_problems: int


def check_routes(inst: SolomonInstance, routes: list[list[int]]) -> int:
    """Rule breaks in real numbers: late starts, overloads, late returns, customers not served once."""
    x0, y0, _, ready0, due0, _ = inst.rows[0]
    problems = 0
    seen: list[int] = []
    for route in routes:
        t, load, here = ready0, 0, 0
        for c in route:
            x, y, demand, ready, due, service = inst.rows[c]
            t = max(t + math.dist(inst.rows[here][:2], (x, y)), ready)
            problems += t > due + 1e-6
            t += service
            load += demand
            here = c
        t += math.dist(inst.rows[here][:2], (x0, y0))
        problems += (t > due0 + 1e-6) + (load > inst.capacity)
        seen += route
    problems += abs(len(inst.rows) - 1 - len(set(seen))) + (len(seen) - len(set(seen)))
    return problems


def routes_length(inst: SolomonInstance, routes: list[list[int]]) -> float:
    return sum(math.dist(inst.rows[a][:2], inst.rows[b][:2])
               for r in routes for a, b in zip([0, *r], [*r, 0]))


def run_ours(inst: SolomonInstance, seconds: float, unit: int, cores: int, options: dict,
             ) -> tuple[float, float, int, int, str]:
    p = to_problem(inst, unit=unit)
    t0 = time.monotonic()
    plan = solve(p.tasks, p.shifts, matrix=p.matrix, time_limit_s=seconds, day=p.day,
                 vehicle_capacity=p.vehicle_capacity, searches=cores, **options)
    wall = time.monotonic() - t0
    routes = [[v.case_id for v in r.visits] for r in plan.routes]
    kept = f"{plan.stats['search_kept']:.0f}/{plan.stats['searches_answered']:.0f}"
    return plan_distance(inst, plan), wall, len(plan.routes), check_routes(inst, routes), kept


def run_vroom(inst: SolomonInstance, unit: int, threads: int) -> tuple[float, float, int]:
    import vroom

    xy = np.array([r[:2] for r in inst.rows])
    d = np.ceil(np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) * unit - 1e-9)
    problem = vroom.Input()
    problem.set_durations_matrix("car", d.astype(np.uint32).tolist())
    _, _, _, ready0, due0, _ = inst.rows[0]
    for v in range(inst.vehicles):
        problem.add_vehicle(vroom.Vehicle(v + 1, start=0, end=0, capacity=[inst.capacity],
                                          time_window=vroom.TimeWindow(round(ready0 * unit), round(due0 * unit))))
    for c, (_, _, demand, ready, due, service) in enumerate(inst.rows):
        if c:
            problem.add_job(vroom.Job(c, location=c, default_service=round(service * unit), delivery=[demand],
                                      time_windows=[vroom.TimeWindow(round(ready * unit), round(due * unit))]))
    t0 = time.monotonic()
    sol = problem.solve(exploration_level=5, nb_threads=threads)
    wall = time.monotonic() - t0
    df = sol.routes
    jobs = df[df["type"] == "job"]
    routes = [list(g["id"].astype(int)) for _, g in jobs.groupby("vehicle_id", sort=False)]
    return routes_length(inst, routes), wall, check_routes(inst, routes)


def run_one(args: tuple[Path, float, float, int, int, dict, bool]) -> Row:
    path, bks, seconds, unit, cores, options, with_vroom = args
    inst = read_instance(path)
    ours, ours_s, vehicles, ours_problems, kept = run_ours(inst, seconds, unit, cores, options)
    vroom_d, vroom_s, vroom_problems = run_vroom(inst, unit, cores) if with_vroom else (math.nan, 0.0, 0)
    return Row(inst.name, bks, ours, ours_s, vehicles, ours_problems, kept, vroom_d, vroom_s, vroom_problems)


def gap(value: float, bks: float) -> float:
    return 100 * (value - bks) / bks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="OR-Tools time limit per instance")
    ap.add_argument("--instances", default="", help="comma-separated names (default: all 56)")
    ap.add_argument("--jobs", type=int, default=1, help="instances solved at a time (processes)")
    ap.add_argument("--unit", type=int, default=1000, help="integer scaling of Solomon distances/times")
    ap.add_argument("--first-solution", default=None, help="solver option: OR-Tools first solution strategy")
    ap.add_argument("--gls-lambda", type=float, default=None, help="solver option: GLS lambda coefficient")
    ap.add_argument("--guided", action="store_true", help="solver option: guided instead of iterated local search")
    ap.add_argument("--no-vroom", action="store_true", help="skip pyvroom (while tuning only)")
    args = ap.parse_args()
    options = {k: v for k, v in (("first_solution", args.first_solution), ("gls_lambda", args.gls_lambda))
               if v is not None}
    if args.guided:
        options["iterated"] = False

    root = get_settings().shared_dir / "bench" / "solomon"
    with (root / "bks_solomon.csv").open() as f:
        table = list(csv.DictReader(f))
    bks = {r["instance"]: float(r["dist_distance"]) for r in table}
    unreachable = {r["instance"] for r in table
                   if r["exact_trunc1_distance"] and float(r["exact_trunc1_distance"]) > float(r["dist_distance"])}
    names = [n.strip().upper() for n in args.instances.split(",") if n.strip()] or sorted(bks)
    cores = max(1, (os.cpu_count() or 1) // args.jobs)
    work = [(root / "instances" / f"{n}.txt", bks[n], args.seconds, args.unit, cores, options,
             not args.no_vroom) for n in names]

    print(f"{'instance':9} {'BKS':>9} {'ours':>9} {'gap%':>7} {'s':>6} {'veh':>4} {'viol':>4} {'kept':>5} "
          f"{'vroom':>9} {'gap%':>7} {'s':>6} {'viol':>4}", flush=True)
    rows: list[Row] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for r in pool.map(run_one, work):
            rows.append(r)
            flagged = r.name + ("!" if r.name in unreachable else "")
            print(f"{flagged:9} {r.bks:9.2f} {r.ours:9.2f} {gap(r.ours, r.bks):7.2f} {r.ours_s:6.2f} "
                  f"{r.ours_vehicles:4d} {r.ours_problems:4d} {r.ours_kept:>5} {r.vroom:9.2f} {gap(r.vroom, r.bks):7.2f} "
                  f"{r.vroom_s:6.2f} {r.vroom_problems:4d}", flush=True)

    ours_gaps = [gap(r.ours, r.bks) for r in rows]
    vroom_gaps = [gap(r.vroom, r.bks) for r in rows]
    print(f"ours : mean {statistics.mean(ours_gaps):.2f}%  median {statistics.median(ours_gaps):.2f}%  "
          f"max {max(ours_gaps):.2f}%  mean wall {statistics.mean(r.ours_s for r in rows):.2f} s  "
          f"violations {sum(r.ours_problems for r in rows)}")
    print(f"vroom: mean {statistics.mean(vroom_gaps):.2f}%  median {statistics.median(vroom_gaps):.2f}%  "
          f"max {max(vroom_gaps):.2f}%  mean wall {statistics.mean(r.vroom_s for r in rows):.2f} s  "
          f"violations {sum(r.vroom_problems for r in rows)}")
    print(f"RESULT mean_gap_pct={statistics.mean(ours_gaps):.2f} max_gap_pct={max(ours_gaps):.2f} "
          f"max_seconds={max(r.ours_s for r in rows):.2f} vroom_mean_gap_pct={statistics.mean(vroom_gaps):.2f} "
          f"instances={len(rows)}")


if __name__ == "__main__":
    main()
