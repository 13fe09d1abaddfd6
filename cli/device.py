"""``bailiwick device``: the MQTT identities of agents' phones and vans."""
from __future__ import annotations

import getpass

import typer

from core import DeviceError, add_device, list_devices, session_scope

app = typer.Typer(help="Phones and vans that talk to the MQTT broker.", no_args_is_help=True)


@app.command()
def add(
    device_id: str = typer.Option(..., "--device-id", help="the broker username, and the OwnTracks user"),
    agent: str = typer.Option(None, "--agent", help="agent reference: the device is that agent's phone"),
    van: str = typer.Option(None, "--van", help="van reference: the device is that van's ANPR unit"),
    secret: str = typer.Option(None, "--secret", help="the device's secret (default: generated, printed once)"),
) -> None:
    """Register a phone (--agent) or a van device (--van). Only the secret's hash is stored."""
    try:
        with session_scope() as db:
            device, generated = add_device(db, device_id=device_id, agent_reference=agent, van_reference=van,
                                           secret=secret, actor=f"cli:{getpass.getuser()}")
            owner = f"agent {agent}" if agent is not None else f"van {van}"
            typer.echo(f"device {device.device_id!r} registered ({device.kind} of {owner})")
    except DeviceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if generated is not None:
        # Printed only after the commit: a secret for a device that was not stored is no use.
        typer.echo(f"secret: {generated}")
        typer.echo("Store it on the device now: it is not kept and cannot be shown again.")


@app.command("list")
def list_() -> None:
    """Every device with its kind, owner and creation time (never its secret)."""
    with session_scope() as db:
        rows = list_devices(db)
    typer.echo(f"{'device_id':<24} {'kind':<6} {'owner':<24} {'active':<6} created")
    for row in rows:
        owner = f"{'agent' if row.kind == 'phone' else 'van'} {row.owner_reference}"
        typer.echo(f"{row.device_id:<24} {row.kind:<6} {owner:<24} {'yes' if row.active else 'no':<6} "
                   f"{row.created_at.isoformat(timespec='seconds')}")
