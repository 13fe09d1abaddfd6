from __future__ import annotations

import getpass

import typer

from core import UserError, create_user, session_scope

app = typer.Typer(help="People who sign in to the API.", no_args_is_help=True)


@app.command()
def add(
    username: str = typer.Option(..., "--username"),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True),
    role: str = typer.Option(..., "--role", help="admin, dispatcher, regional_manager, buyer, subcontractor, agent or device"),
    buyer: str = typer.Option(None, "--buyer", help="buyer reference (required for role buyer)"),
    agent: str = typer.Option(None, "--agent", help="agent reference (for role agent)"),
    subcontractor: str = typer.Option(None, "--subcontractor",
                                      help="subcontractor reference (required for role subcontractor)"),
) -> None:
    """Create a user (the password is stored as an argon2 hash)."""
    try:
        with session_scope() as db:
            user = create_user(db, username=username, password=password, role=role, buyer_reference=buyer,
                               agent_reference=agent, subcontractor_reference=subcontractor, actor=f"cli:{getpass.getuser()}")
            typer.echo(f"user {user.username!r} created (id {user.id}, role {user.role})")
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
