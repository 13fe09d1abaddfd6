from __future__ import annotations

import json

import typer
from rich.console import Console

from cli.caseload import render
from cli.plan import planning_progress, summary
from core import PROJECT_ROOT, get_settings, session_scope, upgrade_schema

OUT = PROJECT_ROOT / "out"  # git-ignored
DEMO_PLAN_SECONDS = 30.0  # the demo day's planning budget (issue 4: the demo day in ≤ 30 s)


def demo(seed: int = typer.Option(1, "--seed", help="scenario seed")) -> None:
    """Migrate, load the reference geography and visit policies, seed the demo scenario, summarise it,
    plan the demo day and write its map to out/."""
    import geodata
    import sim
    from regions import caseload_summary

    console = Console()
    console.rule("1/6 database schema")
    upgrade_schema()
    console.rule("2/6 reference geography")
    settings = get_settings()
    for report in geodata.load_all(settings.geodata_dir, settings.database_url, progress=True):
        console.print(report.describe())
    console.rule("3/6 buyer visit policies")
    from core import load_policies

    with session_scope() as db:
        for report in load_policies(db, actor="cli:demo"):
            console.print(report.describe())
    console.rule("4/6 demo scenario")
    console.print(sim.seed_scenario("demo", seed=seed, progress=True).describe())
    console.rule("5/6 summary")
    with session_scope() as db:
        console.print(render(caseload_summary(db)))
    console.rule("6/6 the demo day's plan")
    plan_demo_day(console, sim.SCENARIOS["demo"].as_of)


def plan_demo_day(console: Console, day) -> None:
    """Plan, store and publish ``day`` for the whole country; write out/plan_map.html and
    out/plan.geojson."""
    from dashboards import plan_map_html
    from dispatch import plan_and_store, plan_to_geojson

    for seconds in (DEMO_PLAN_SECONDS, 2 * DEMO_PLAN_SECONDS):
        with session_scope() as db, planning_progress(console, str(day)) as progress:
            outcome = plan_and_store(db, day, time_limit_s=seconds, actor="cli:demo", progress=progress)
        if not outcome.unsolved:
            break
        # A loaded machine can leave a sub-problem without a first solution; such a plan is refused.
        console.print(f"[yellow]no plan found within {seconds:g} s for {outcome.unsolved} visits: "
                      "nothing stored[/yellow]")
    else:
        raise typer.Exit(3)
    if outcome.violations:
        console.print(f"[red]{len(outcome.violations)} violation(s): the plan was not stored[/red]")
        for v in outcome.violations[:20]:
            console.print(f"  {v.kind} agent={v.agent_id} case={v.case_id} rule={v.rule_id}: {v.message}")
        raise typer.Exit(1)
    console.print(summary(outcome, None, outcome.publish_error is None))
    if outcome.publish_error:
        console.print(f"[yellow]not published: {outcome.publish_error}[/yellow]")
    OUT.mkdir(exist_ok=True)
    (OUT / "plan.geojson").write_text(json.dumps(plan_to_geojson(outcome.plan), indent=1))
    (OUT / "plan_map.html").write_text(plan_map_html(outcome.plan, self_contained=True))
    console.print(f"wrote {OUT / 'plan_map.html'} and {OUT / 'plan.geojson'}")
