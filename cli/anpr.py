"""``bailiwick anpr``: the ANPR hotlist."""
from __future__ import annotations

import typer
from rich.console import Console

from anpr_ingest import rebuild_hotlist
from core import connect_redis, session_scope

app = typer.Typer(help="ANPR: the hotlist of vehicles the vans look for.", no_args_is_help=True)
hotlist = typer.Typer(help="The hotlist, derived from case state.", no_args_is_help=True)
app.add_typer(hotlist, name="hotlist")

ACTOR = "cli:anpr hotlist rebuild"


@hotlist.command("rebuild")
def rebuild() -> None:
    """Derive the whole hotlist from the database and swap it into Redis in one step; every vehicle
    added or removed is audited with its rule."""
    console = Console(stderr=True)
    with console.status("rebuilding the hotlist") as status, session_scope() as db:
        report = rebuild_hotlist(db, connect_redis(), ACTOR, progress=lambda msg: status.update(msg))
    typer.echo(f"hotlist: {report.vehicles:,} vehicles (added {report.added:,}, removed {report.removed:,}, "
               f"changed {report.changed:,}) in {report.seconds:.2f} s")
