"""``bailiwick plan``: plan a day from the database, store it and send each agent's day to the phones
(``dispatch.service.plan_and_store``). ``bailiwick plan-file``: plan one day from two CSV files, with no
database or other service — the embedded way to try the planner. Both use the same solver and the same
validator; a plan with any violation is neither stored nor written (a plan that breaks a rule is worse
than no plan)."""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from dashboards import plan_map_html
from dispatch import (
    PlanFileError,
    Violation,
    check_pins,
    plan_to_geojson,
    read_agents,
    read_cases,
    validate,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dispatch import PlanOutcome
    from dispatch import Progress as Progress_

EXIT_INPUT = 2  # as typer's own usage errors
EXIT_VIOLATIONS = 1
EXIT_NO_PLAN = 3  # no plan found within the time limit: unlike 1, a longer --time-limit may succeed
STEP_NAMES = {"eligibility": "loading eligible visits and shifts", "solve": "solving", "validate": "validating",
              "store": "storing", "publish": "publishing agents' days"}


# The options ``plan`` and ``replan`` share, each worded for its command.
def _day(verb: str) -> typer.models.OptionInfo:
    return typer.Option(help=f"the day to {verb}, YYYY-MM-DD")


def _region(verb: str) -> typer.models.OptionInfo:
    return typer.Option(help=f"{verb} only this ITL1 region (e.g. TLK); default: the whole country")


def _publish(what: str) -> typer.models.OptionInfo:
    return typer.Option("--publish/--no-publish", help=f"send each agent's {what} on agents/{{agent_id}}/plan")


PlanDay = Annotated[str, _day("plan")]
ReplanDay = Annotated[str, _day("re-plan")]
PlanRegion = Annotated[str | None, _region("plan")]
ReplanRegion = Annotated[str | None, _region("re-plan")]
TimeLimit = Annotated[float, typer.Option(help="solver time limit, seconds")]
PlanPublish = Annotated[bool, _publish("day")]
ReplanPublish = Annotated[bool, _publish("new day")]
TIME_LIMIT_S = 30.0  # the default --time-limit of plan and replan


def day_option(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"--day: {text!r} is not a date YYYY-MM-DD", err=True)
        raise typer.Exit(EXIT_INPUT) from None


def _report_violations(violations: Sequence[Violation]) -> None:
    for v in violations:
        typer.echo(f"{v.kind} agent={v.agent_id} case={v.case_id} rule={v.rule_id}: {v.message}", err=True)


def plan(day: PlanDay, region: PlanRegion = None, time_limit: TimeLimit = TIME_LIMIT_S,
         publish: PlanPublish = True) -> None:
    """Plan DAY from the database, store the plan and publish each agent's day; exit 1 listing any
    validator violation, 3 when no plan was found within the time limit (nothing is then stored or
    sent, and the current plan stays)."""
    from anpr_ingest import SightingOffers
    from core import LONDON, session_scope
    from dispatch import plan_and_store

    the_day = day_option(day)
    if not time_limit > 0:
        typer.echo(f"--time-limit: {time_limit:g} is not a positive number of seconds", err=True)
        raise typer.Exit(EXIT_INPUT)
    console = Console(stderr=True)
    with session_scope() as db:
        region = region_option(db, region)
        # Planning today: nothing can be planned before now.
        now = datetime.now(UTC) if the_day == datetime.now(LONDON).date() else None
        with planning_progress(console, str(the_day)) as progress:
            outcome = plan_and_store(db, the_day, region=region, time_limit_s=time_limit, actor="cli",
                                     publish=publish, now=now, progress=progress, sources=[SightingOffers(db)])
    report_outcome(outcome, region, publish, "plan")


def region_option(db: Session, region: str | None) -> str | None:
    """``--region`` as an ITL1 code known to the database (upper-cased), or exit 2 naming the flag."""
    from sqlalchemy import select

    from core.models import Itl1Region

    if region is None:
        return None
    region = region.strip().upper()
    codes = sorted(db.scalars(select(Itl1Region.code)))
    if region not in codes:
        known = ", ".join(codes) if codes else "none loaded (run `bailiwick geodata load`)"
        typer.echo(f"--region: {region!r} is not an ITL1 region code; known: {known}", err=True)
        raise typer.Exit(EXIT_INPUT)
    return region


def report_outcome(outcome: PlanOutcome, region: str | None, publish: bool, what: str) -> None:
    """Print a stored run's summary; or exit 3 when the solver found no plan in time for a ``what``
    (plan, re-plan), 1 listing the violations of one that was not stored, or saying why a stored one
    was not published."""
    if outcome.unsolved:
        total = outcome.plan.served + len(outcome.plan.dropped)
        kept = f"{what} not stored or published, the previous plan is kept"
        if outcome.infeasible:
            typer.echo(f"no feasible plan for {outcome.infeasible} of {total} visits: an agent's shift cannot be "
                       f"kept even with no visits: {kept}; check the agents' shifts and home bases", err=True)
        if late := outcome.unsolved - outcome.infeasible:
            typer.echo(f"no plan found within the time limit for {late} of {total} visits: {kept}; "
                       "try a longer --time-limit", err=True)
        raise typer.Exit(EXIT_NO_PLAN)
    if outcome.violations:
        _report_violations(outcome.violations)
        typer.echo(f"{len(outcome.violations)} violation(s): {what} not stored or published", err=True)
        raise typer.Exit(EXIT_VIOLATIONS)
    typer.echo(summary(outcome, region, publish and not outcome.publish_error))
    if outcome.publish_error:
        typer.echo(f"stored as run {outcome.run_id}, but not published: {outcome.publish_error}", err=True)
        raise typer.Exit(EXIT_VIOLATIONS)


@contextmanager
def planning_progress(console: Console, label: str) -> Iterator[Progress_]:
    """A spinner naming the planning step under way (``plan_and_store``'s ``progress``)."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(f"{label}: starting", total=None)

        def progress(step: str, done: int, total: int) -> None:
            count = f" ({done}/{total})" if step in ("solve", "publish") and total > 1 else ""
            bar.update(task, description=f"{label}: {STEP_NAMES.get(step, step)}{count}")

        yield progress


def summary(outcome: PlanOutcome, region: str | None, published: bool) -> str:
    """What ``bailiwick plan`` prints: served, dropped by reason, travel, agents, fairness, run id."""
    plan = outcome.plan
    km = sum(r.distance_m for r in plan.routes) / 1000
    reasons = Counter(d.reason for d in plan.dropped)
    lines = [
        f"{plan.day} {region or 'all regions'}: stored as run {outcome.run_id}",
        f"  served   {plan.served} visits by {len(plan.routes)} of {len(outcome.shifts)} agents on shift",
        f"  dropped  {len(plan.dropped)}" + (": " + ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
                                             if reasons else ""),
        f"  travel   {km:.1f} km" + (f" ({km / plan.served:.1f} km a visit)" if plan.served else ""),
    ]
    if "fairness_ratio" in plan.stats:
        lines.append(f"  fairness {plan.stats['fairness_ratio']:.2f} (lowest served share ÷ highest, per region)")
    if "solve_seconds" in plan.stats:
        lines.append(f"  solved in {plan.stats['solve_seconds']:.1f} s")
    if published:
        lines.append(f"  published {outcome.published} agents' days on agents/{{agent_id}}/plan")
        if outcome.waypoints_published:
            lines.append(f"  sent {outcome.waypoints_published} OwnTracks phones their visits as geofences on "
                         "owntracks/{device_id}/{device}/cmd")
    return "\n".join(lines)


def plan_file(
    cases: Annotated[Path, typer.Option(help="cases CSV (README: plan-file formats)", exists=True, dir_okay=False)],
    agents: Annotated[Path, typer.Option(help="agents CSV", exists=True, dir_okay=False)],
    day: Annotated[str, typer.Option(help="the day to plan, YYYY-MM-DD; CSV times are London local on it")],
    out: Annotated[Path, typer.Option(help="where to write the plan GeoJSON")],
    map_html: Annotated[Path | None, typer.Option("--map", help="also write the plan map (self-contained HTML)")] = None,
    time_limit: TimeLimit = 10.0,
) -> None:
    """Plan DAY from CSV files and write the plan as GeoJSON; exit 1 listing any validator violation."""
    # Imported here so that the rest of the CLI loads without OR-Tools' start-up cost.
    from dispatch import BngMatrixProvider, solve

    the_day = day_option(day)
    errors: list[str] = []
    tasks, shifts = [], []
    for read, path, sink in ((read_cases, cases, tasks), (read_agents, agents, shifts)):
        try:
            sink.extend(read(path, the_day))
        except PlanFileError as e:
            errors += e.errors
    errors += check_pins(tasks, shifts)
    if errors:
        typer.echo("\n".join(errors), err=True)
        raise typer.Exit(EXIT_INPUT)

    matrix = BngMatrixProvider()
    # One model, so the machine's cores go to a portfolio of searches.
    plan = solve(tasks, shifts, matrix=matrix, time_limit_s=time_limit, day=the_day, searches=os.cpu_count() or 1)
    # No database here, so no case facts: the buyer rules reach the plan through the windows in the file.
    violations = validate(plan, tasks, shifts, travel=matrix)
    if violations:
        _report_violations(violations)
        typer.echo(f"{len(violations)} violation(s): plan not written", err=True)
        raise typer.Exit(EXIT_VIOLATIONS)
    out.write_text(json.dumps(plan_to_geojson(plan), indent=1))
    if map_html is not None:
        map_html.write_text(plan_map_html(plan, self_contained=True))
    typer.echo(f"{the_day}: {plan.served} visits planned for {len(plan.routes)} agents, {len(plan.dropped)} "
               f"dropped; 0 violations; wrote {out}" + (f" and {map_html}" if map_html else ""))
