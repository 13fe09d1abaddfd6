"""Benchmark: planning a whole day, the ``demo`` scenario (60 agents) and the ``national`` one (2,000
agents, 200,000 cases), with ``dispatch.planner.plan_day`` (split by region and agent clusters, solved
in parallel processes, stitched) and validated by ``dispatch.validator`` with case facts.

Databases: the national day in the scratch database (``bailiwick_bench``, or
``BAILIWICK_BENCH_DATABASE_URL``), the demo day in the same name with ``_demo`` appended; each is
created, migrated, loaded with the reference geography and the shipped policies, and seeded (seed 1)
when it does not already hold its scenario (agent and case counts). Seeding is not timed.

For each day, timed as one wall-clock span from loading eligibility to a validated plan:
``load_eligibility`` + ``shifts_for_day``, ``plan_day`` with the rest of the budget (less a reserve for
validation), then loading the planned cases' facts and visit histories and ``validate``. Printed: visits
served, dropped by reason, km per served visit, fairness, violations. Travel is
``BngMatrixProvider()`` (every point urban, the safe default ``bailiwick plan-file`` uses).

Fairness (``dispatch.planner.fairness_by_region``): per region (ITL1), each buyer's share of the
served visits divided by its share of the visits that competed for capacity (served or dropped for
``capacity``); per region min/max over buyers; ``fairness_min_ratio`` is the smallest over regions
and both days, counting every priority. ``*_fairness_nonurgent`` is the same over non-urgent visits
only (the solver's own measure). ``fairness_min_ratio_by_class`` is what the planner is held to
(``dispatch.fairness_by_class``, issue 13, target ≥ 0.9): within each priority class
(``core.priority_class``: urgent, due, routine) of each region, every buyer's served share ÷ its
competing share, pins left out; the smallest over classes, regions and both days (per day
``*_fairness_by_class``; the report lists each region's classes below 0.9, or the worst three). What
fairness costs shows in the drops: ``fair share`` (visits of a buyer above its share, not planned)
and ``out of reach: …`` (no agent could make them even alone; not counted as competing), see
``dispatch.fairness``.

Baseline, in the same run: the demo day as ONE ``dispatch.solver.solve`` model with the same budget
(what ``plan_day`` did before the split). The national day has no whole-day baseline: one model over
its 128,000 tasks would need a 16-billion-entry matrix.

Run: ``.venv/bin/python bench/day.py [--only demo|national] [--workers N]``. The last line is
``RESULT key=value ...``: ``demo_seconds national_seconds violations fairness_min_ratio
fairness_min_ratio_by_class served dropped`` (served and dropped summed over both days) and per-day
figures, among them
``*_plan_limit_s`` (the time limit given to ``plan_day``) and ``*_plan_overrun_s`` (how far its own
``solve_seconds`` went past that limit; negative when it ended early): ``plan_day`` promises to end
within its limit, and how well it keeps that promise depends on the machine's load.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass

from common import ensure_scenario, scenario_url

import sim
from core import (
    load_case_facts,
    session_scope,
    visit_history,
)
from dispatch import (
    BngMatrixProvider,
    Plan,
    Point,
    class_fairness,
    fairness_by_class,
    fairness_by_region,
    load_eligibility,
    plan_day,
    served_shares,
    shifts_for_day,
    solve,
    validate,
)

DAY = sim.SCENARIOS["demo"].as_of  # 2026-11-23, a Monday
SEED = 1
BUDGET_S = {"demo": 30.0, "national": 600.0}
# Wall clock kept back from plan_day for loading facts and validating (measured: demo 0.3 s, national
# about 15 s for 60,000 visits), with room for a loaded machine.
VALIDATION_RESERVE_S = {"demo": 2.0, "national": 40.0}


@dataclass
class DayResult:
    seconds: float
    load_seconds: float
    plan_seconds: float
    validate_seconds: float
    tasks: int
    agents: int
    served: int
    dropped: Counter[str]
    km_per_visit: float
    fairness: float
    fairness_nonurgent: float
    fairness_by_class: float
    classes: dict  # (region, priority class) → its ratio (``dispatch.class_fairness``)
    violations: list
    parts: int
    shares: dict
    repaired: int
    plan_limit_s: float
    plan_overrun_s: float


def travel_seconds(matrix: BngMatrixProvider):
    """Seconds between two points exactly as the solver's matrices give them. The validator asks only
    about consecutive stops, so a national plan needs no matrix over all of its points."""
    def seconds(a: Point, b: Point) -> float:
        return float(matrix.matrix([a, b]).duration_s[0, 1])
    return seconds


def plan_and_validate(scenario: str, url: str, workers: int | None) -> tuple[DayResult, list, list]:
    budget = BUDGET_S[scenario]
    matrix = BngMatrixProvider()
    started = time.monotonic()
    with session_scope(url) as db:
        eligibility = load_eligibility(db, DAY)
        shifts = shifts_for_day(db, DAY)
    loaded = time.monotonic()
    tasks = eligibility.tasks
    print(f"{scenario}: {len(tasks):,} tasks ({len(eligibility.excluded):,} cases excluded), {len(shifts):,} "
          f"agents; eligibility {loaded - started:.1f} s", flush=True)
    last = [loaded]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= (2 if scenario == "demo" else 30):
            last[0] = now
            print(f"  {scenario}: {done}/{total} sub-problems solved, {now - started:.0f} s", flush=True)

    limit = budget - (loaded - started) - VALIDATION_RESERVE_S[scenario]
    plan = plan_day(tasks, shifts, matrix=matrix, day=DAY, time_limit_s=limit, workers=workers, progress=progress)
    planned = time.monotonic()
    case_ids = [v.case_id for r in plan.routes for v in r.visits]
    with session_scope(url) as db:
        facts = load_case_facts(db, case_ids, DAY)
        histories = visit_history(db, case_ids)
    violations = validate(plan, tasks, shifts, travel=travel_seconds(matrix), facts=facts, histories=histories)
    done = time.monotonic()
    result = DayResult(
        seconds=done - started, load_seconds=loaded - started, plan_seconds=planned - loaded,
        validate_seconds=done - planned, tasks=len(tasks), agents=len(shifts), served=plan.served,
        dropped=Counter(d.reason for d in plan.dropped),
        km_per_visit=sum(r.distance_m for r in plan.routes) / 1000 / max(1, plan.served),
        fairness=fairness_by_region(plan, tasks), fairness_nonurgent=fairness_by_region(plan, tasks, urgent=False),
        fairness_by_class=fairness_by_class(plan, tasks), classes=class_fairness(plan, tasks),
        violations=violations, parts=int(plan.stats.get("parts", 0)), shares=served_shares(plan, tasks),
        repaired=int(plan.stats.get("repaired_visits", 0)), plan_limit_s=limit,
        plan_overrun_s=plan.stats["solve_seconds"] - limit)
    return result, tasks, shifts


def report(scenario: str, r: DayResult) -> None:
    print(f"{scenario}: {r.seconds:.1f} s (eligibility {r.load_seconds:.1f}, plan {r.plan_seconds:.1f} in "
          f"{r.parts} sub-problems, facts + validation {r.validate_seconds:.1f}); served {r.served:,} of "
          f"{r.tasks:,} by {r.agents:,} agents, {r.km_per_visit:.2f} km per visit; fairness {r.fairness:.3f} "
          f"(non-urgent {r.fairness_nonurgent:.3f}, by class {r.fairness_by_class:.3f}); violations {len(r.violations)}; visits taken off routes the "
          f"validator rejected: {r.repaired}", flush=True)
    for reason, n in r.dropped.most_common():
        print(f"    dropped {n:>7,}  {reason}")
    for v in r.violations[:10]:
        print(f"    violation {v.kind} agent {v.agent_id} case {v.case_id}: {v.message}")
    for region, buyers in sorted(r.shares.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        rates = ", ".join(f"{b} {s:,}/{e:,} ({s / e:.0%})" for b, (e, s) in sorted(buyers.items()))
        print(f"    served/competing in {region}: {rates}")
    worst = sorted(r.classes.items(), key=lambda kv: kv[1])
    for (region, cls), ratio in [kv for kv in worst if kv[1] < 0.9] or worst[:3]:
        print(f"    fairness by class in {region} {cls}: {ratio:.3f}")


def baseline(tasks: list, shifts: list, seconds: float) -> Plan:
    """The demo day as one solver model, as planned before the split."""
    return solve(tasks, shifts, matrix=BngMatrixProvider(), time_limit_s=seconds, day=DAY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(BUDGET_S))
    parser.add_argument("--workers", type=int, default=None, help="solver processes (default: cores)")
    args = parser.parse_args()
    scenarios = [args.only] if args.only else ["demo", "national"]
    results: dict[str, DayResult] = {}
    fields: list[str] = []
    for scenario in scenarios:
        url = scenario_url(scenario)
        ensure_scenario(url, scenario, seed=SEED, actor="bench:day")
        result, tasks, shifts = plan_and_validate(scenario, url, args.workers)
        report(scenario, result)
        results[scenario] = result
        fields += [f"{scenario}_served={result.served}", f"{scenario}_dropped={sum(result.dropped.values())}",
                   f"{scenario}_dropped_capacity={result.dropped['capacity']}",
                   f"{scenario}_km_per_visit={result.km_per_visit:.2f}", f"{scenario}_fairness={result.fairness:.3f}",
                   f"{scenario}_fairness_nonurgent={result.fairness_nonurgent:.3f}",
                   f"{scenario}_fairness_by_class={result.fairness_by_class:.3f}",
                   f"{scenario}_violations={len(result.violations)}",
                   f"{scenario}_plan_limit_s={result.plan_limit_s:.1f}",
                   f"{scenario}_plan_overrun_s={result.plan_overrun_s:.2f}"]
        if scenario == "demo":
            started = time.monotonic()
            whole = baseline(tasks, shifts, BUDGET_S["demo"])
            whole_s = time.monotonic() - started
            whole_violations = len(validate(whole, tasks, shifts, travel=travel_seconds(BngMatrixProvider())))
            print(f"baseline: the demo day as one model, {BUDGET_S['demo']:.0f} s: served {whole.served:,} of "
                  f"{len(tasks):,} in {whole_s:.1f} s (split: {result.served:,} in {result.seconds:.1f} s); "
                  f"violations {whole_violations}", flush=True)
            fields += [f"baseline_demo_served={whole.served}", f"baseline_demo_seconds={whole_s:.1f}"]
    seconds = {s: f"{results[s].seconds:.1f}" if s in results else "nan" for s in BUDGET_S}
    print(f"RESULT demo_seconds={seconds['demo']} national_seconds={seconds['national']} "
          f"violations={sum(len(r.violations) for r in results.values())} "
          f"fairness_min_ratio={min(r.fairness for r in results.values()):.3f} "
          f"fairness_min_ratio_by_class={min(r.fairness_by_class for r in results.values()):.3f} "
          f"served={sum(r.served for r in results.values())} "
          f"dropped={sum(sum(r.dropped.values()) for r in results.values())} " + " ".join(fields))


if __name__ == "__main__":
    main()
