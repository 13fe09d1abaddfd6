from __future__ import annotations

import typer
from rich.console import Console

from cli.caseload import render
from core import migrate, session_scope


def demo(seed: int = typer.Option(1, "--seed", help="scenario seed")) -> None:
    """Migrate, load the reference geography and visit policies, seed the demo scenario, summarise it."""
    import geodata
    import sim
    from regions import caseload_summary

    console = Console()
    console.rule("1/5 database schema")
    migrate.upgrade()
    console.rule("2/5 reference geography")
    for report in geodata.load_all(progress=True):
        console.print(report.describe())
    console.rule("3/5 buyer visit policies")
    from core.visit_policy import load_policies

    with session_scope() as db:
        for report in load_policies(db, actor="cli:demo"):
            console.print(report.describe())
    console.rule("4/5 demo scenario")
    console.print(sim.seed_scenario("demo", seed=seed, progress=True).describe())
    console.rule("5/5 summary")
    with session_scope() as db:
        console.print(render(caseload_summary(db)))
