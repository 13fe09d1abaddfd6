"""``bailiwick policies``: load the shipped buyer visit policies and show one."""
from __future__ import annotations

import json
from datetime import date

import typer

from core import PolicyError, load_policies, policy_versions, session_scope

app = typer.Typer(help="Buyer visit policies (core/policies/*.yaml).", no_args_is_help=True)


@app.command("load")
def load() -> None:
    """Load core/policies/*.yaml into the database; unchanged files add nothing."""
    try:
        with session_scope() as db:
            reports = load_policies(db, actor="cli")
    except PolicyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for r in reports:
        typer.echo(r.describe())


@app.command("show")
def show(name: str) -> None:
    """Print every version of policy NAME, marking the one in force today."""
    with session_scope() as db:
        rows = policy_versions(db, name)
        if not rows:
            typer.echo(f"error: no policy {name!r}", err=True)
            raise typer.Exit(1)
        in_force = max((r.version for r in rows if r.effective_from <= date.today()), default=None)
        for r in rows:
            mark = " (in force)" if r.version == in_force else ""
            typer.echo(f"# {r.name} v{r.version} from {r.effective_from}{mark}; {r.source}, by {r.created_by}")
            typer.echo(json.dumps(r.document, indent=2, ensure_ascii=False))
