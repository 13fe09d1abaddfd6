"""``bailiwick plan-file``: plan one day from two CSV files, with no database or other service — the
embedded way to try the planner. Same solver and same validator as ``bailiwick plan``; a plan with any
violation is not written (a plan that breaks a rule is worse than no plan)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from dashboards.plan_map import plan_map_html
from dispatch.geojson import plan_to_geojson
from dispatch.plan_file import PlanFileError, check_pins, read_agents, read_cases
from dispatch.validate import validate

EXIT_INPUT = 2  # as typer's own usage errors
EXIT_VIOLATIONS = 1


def plan_file(
    cases: Annotated[Path, typer.Option(help="cases CSV (README: plan-file formats)", exists=True, dir_okay=False)],
    agents: Annotated[Path, typer.Option(help="agents CSV", exists=True, dir_okay=False)],
    day: Annotated[str, typer.Option(help="the day to plan, YYYY-MM-DD; CSV times are London local on it")],
    out: Annotated[Path, typer.Option(help="where to write the plan GeoJSON")],
    map_html: Annotated[Path | None, typer.Option("--map", help="also write the plan map (self-contained HTML)")] = None,
    time_limit: Annotated[float, typer.Option(help="solver time limit, seconds")] = 10.0,
) -> None:
    """Plan DAY from CSV files and write the plan as GeoJSON; exit 1 listing any validator violation."""
    # Imported here so that the rest of the CLI loads without OR-Tools' start-up cost.
    from dispatch.matrix import BngMatrixProvider
    from dispatch.solver import solve

    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        typer.echo(f"--day: {day!r} is not a date YYYY-MM-DD", err=True)
        raise typer.Exit(EXIT_INPUT) from None
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
    plan = solve(tasks, shifts, matrix=matrix, time_limit_s=time_limit, day=the_day)
    # No database here, so no case facts: the buyer rules reach the plan through the windows in the file.
    violations = validate(plan, tasks, shifts, travel=matrix)
    if violations:
        for v in violations:
            typer.echo(f"{v.kind} agent={v.agent_id} case={v.case_id} rule={v.rule_id}: {v.message}", err=True)
        typer.echo(f"{len(violations)} violation(s): plan not written", err=True)
        raise typer.Exit(EXIT_VIOLATIONS)
    out.write_text(json.dumps(plan_to_geojson(plan), indent=1))
    if map_html is not None:
        map_html.write_text(plan_map_html(plan, self_contained=True))
    typer.echo(f"{the_day}: {plan.served} visits planned for {len(plan.routes)} agents, {len(plan.dropped)} "
               f"dropped; 0 violations; wrote {out}" + (f" and {map_html}" if map_html else ""))
