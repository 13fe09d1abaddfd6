from __future__ import annotations

import typer

from core import downgrade_schema, upgrade_schema

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    upgrade_schema(revision=revision)
    typer.echo(f"database at {revision}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, e.g. 'base' or '-1'")) -> None:
    """Revert migrations down to REVISION."""
    downgrade_schema(revision=revision)
    typer.echo(f"database at {revision}")
