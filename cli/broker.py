"""``bailiwick broker``: the Mosquitto files that let only registered devices in, each to its own
topics (see ``core.devices`` and ``scripts/mosquitto.conf``)."""
from __future__ import annotations

import getpass
from pathlib import Path

import typer

from core import DeviceError, get_settings, session_scope, write_broker_files

app = typer.Typer(help="The MQTT broker's password and ACL files.", no_args_is_help=True)


@app.command()
def config(out: Path = typer.Option(..., "--out", help="directory for the passwd and acl files")) -> None:
    """Write DIR/passwd and DIR/acl (mode 0600, atomically) from the device table, plus the service
    user of the platform's workers."""
    if out.exists() and not out.is_dir():
        typer.echo(f"error: out: {out} is not a directory", err=True)
        raise typer.Exit(2)
    try:
        with session_scope() as db:
            files = write_broker_files(db, out, get_settings(), actor=f"cli:{getpass.getuser()}")
    except DeviceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # the directory cannot be created or written: nothing was replaced
        typer.echo(f"error: out: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out / 'passwd'} and {out / 'acl'}: {files.devices} devices and the service user")
    typer.echo("A running Mosquitto reads them again on SIGHUP.")
