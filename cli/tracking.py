"""``bailiwick tracking``: the stops of a day's GPS fixes, the visit evidence made from them, and the
retention prune of old GPS data."""
from __future__ import annotations

import csv
import getpass
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core import LONDON, get_settings, session_scope
from core.models import Agent
from tracking import DayStop, day_stops, prune_gps, record_day_evidence

app = typer.Typer(help="GPS tracking: stops, visit evidence and the retention prune.", no_args_is_help=True)

# A century: any longer is a typo, and far enough back overflows the calendar.
MAX_RETENTION_DAYS = 36_500
STOP_COLUMNS = ["agent_id", "device_id", "arrival", "departure", "lat", "lon", "postcode", "case_id", "source"]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--day must be a date YYYY-MM-DD, got {value!r}") from None


def _agent(db, value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or db.scalar(select(Agent.id).where(Agent.id == int(value))) is None:
        raise _fail(f"--agent: no agent with id {value!r}")
    return int(value)


def _progress(items):
    # The bar goes to stderr, and only on a terminal, so a piped or captured run stays clean.
    items = list(items)
    with typer.progressbar(items, label="devices", file=sys.stderr) as bar:
        yield from bar


def _when(t) -> str:
    return t.astimezone(LONDON).isoformat(timespec="seconds")


def _row(s: DayStop) -> list:
    return [s.agent_id, s.device_id, _when(s.arrival), _when(s.departure), f"{s.stop.lat:.6f}",
            f"{s.stop.lon:.6f}", s.postcode or "", s.match.case.case_id if s.match else "", s.source]


@app.command()
def stops(
    day: str = typer.Option(..., "--day", help="the London day, YYYY-MM-DD"),
    agent: str = typer.Option(None, "--agent", help="only this agent (its id)"),
    out: Path = typer.Option(..., "--out", help="the CSV file to write"),
) -> None:
    """Write every stop detected in the day's fixes of each phone, with its nearest postcode and the
    case it matched (empty when none)."""
    d = _day(day)
    with session_scope() as db:
        found = day_stops(db, d, _agent(db, agent), progress=_progress)
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STOP_COLUMNS)
        w.writerows(_row(s) for s in found)
    typer.echo(f"{len(found)} stops written to {out}")


@app.command()
def evidence(
    day: str = typer.Option(..., "--day", help="the London day, YYYY-MM-DD"),
    agent: str = typer.Option(None, "--agent", help="only this agent (its id)"),
) -> None:
    """Store the day's stops as visit evidence (matched to a case address) or as unmatched stops for
    review; re-running a day updates the same rows."""
    d = _day(day)
    with session_scope() as db:
        result = record_day_evidence(db, d, _agent(db, agent), progress=_progress)
    typer.echo(f"{result.evidence} visit evidence, {result.unmatched} unmatched stops, "
               f"{result.visits_verified} visits GPS-verified for {d}")


@app.command()
def prune(
    older_than: int = typer.Option(None, "--older-than", min=1, max=MAX_RETENTION_DAYS,
                                   help="days of GPS data to keep (default: BAILIWICK_GPS_RETENTION_DAYS, 90)"),
) -> None:
    """Drop gps_ping's day partitions older than the retention, and delete older geofence transitions,
    dead letters and unmatched stops. Visit evidence and its trail are kept. Audited as gps.prune."""
    days = older_than if older_than is not None else get_settings().gps_retention_days
    console = Console(stderr=True)
    try:
        with console.status(f"pruning GPS data older than {days} days"), session_scope() as db:
            result = prune_gps(db, days, now=datetime.now(UTC), actor=f"cli:{getpass.getuser()}")
    except OperationalError as exc:
        # The lock timeout: the ingest held gps_ping; nothing was pruned.
        typer.echo(f"error: gps_ping is busy, nothing pruned; run again ({exc.orig})", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"cutoff {_when(result.cutoff)} ({days} days)")
    typer.echo(f"dropped {len(result.partitions)} gps_ping day partitions"
               + (f": {', '.join(result.partitions)}" if result.partitions else ""))
    typer.echo(f"deleted {result.transitions} geofence transitions, {result.dead_letters} dead letters, "
               f"{result.unmatched_stops} unmatched stops; visit evidence kept")
