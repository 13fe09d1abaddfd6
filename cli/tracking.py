"""``bailiwick tracking``: the stops of a day's GPS fixes, and the visit evidence made from them."""
from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import typer
from sqlalchemy import select

from core import session_scope
from core.models import Agent
from core import LONDON
from tracking import DayStop, day_stops, record_day_evidence

app = typer.Typer(help="GPS tracking: stops and visit evidence.", no_args_is_help=True)

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
