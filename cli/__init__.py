"""The ``bailiwick`` command line. One module per command group; each registers itself here."""
from __future__ import annotations

import typer

from cli import anpr, broker, caseload, db, demo, device, geodata, ingest, plan, policies, replan, report, seed, serve, sim, tracking, user

app = typer.Typer(help="Bailiwick: field operations for UK civil enforcement.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")
app.add_typer(geodata.app, name="geodata")
app.add_typer(user.app, name="user")
app.add_typer(policies.app, name="policies")
app.add_typer(device.app, name="device")
app.add_typer(broker.app, name="broker")
app.add_typer(ingest.app, name="ingest")
app.add_typer(tracking.app, name="tracking")
app.add_typer(sim.app, name="sim")
app.add_typer(anpr.app, name="anpr")
app.add_typer(report.app, name="report")
app.command("seed")(seed.seed)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("caseload")(caseload.caseload)
app.command("plan")(plan.plan)
app.command("plan-file")(plan.plan_file)
app.command("replan")(replan.replan)


def main() -> None:
    app()
