"""``bailiwick replan``: re-plan the rest of a day from agents' live positions, keeping what is done,
under way or pinned by a dispatcher (``dispatch.replan.replan_day``)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console

from cli.plan import (
    EXIT_INPUT,
    TIME_LIMIT_S,
    ReplanDay,
    ReplanPublish,
    ReplanRegion,
    TimeLimit,
    day_option,
    region_option,
    report_outcome,
)


def _now(text: str | None, day: date) -> datetime:
    from core import LONDON

    if text is None:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        now = None
    if now is None or now.tzinfo is None:
        typer.echo(f"--now: {text!r} is not an ISO 8601 time with its UTC offset", err=True)
        raise typer.Exit(EXIT_INPUT)
    if now.astimezone(LONDON).date() != day:
        typer.echo(f"--now: {text} is not on {day} (UK time)", err=True)
        raise typer.Exit(EXIT_INPUT)
    return now.astimezone(UTC)


def replan(
    day: ReplanDay,
    region: ReplanRegion = None,
    time_limit: TimeLimit = TIME_LIMIT_S,
    publish: ReplanPublish = True,
    now: Annotated[str | None, typer.Option(help="re-plan from this moment, ISO 8601 with offset "
                                                 "(default: now)")] = None,
) -> None:
    """Re-plan the rest of DAY from now: visits done stay done, visits under way stay with their agents,
    dispatchers' pins hold, agents start from their live positions (Redis). Stores the plan and
    publishes each agent's day; exits 1 listing any validator violation, 3 when no plan was found within
    the time limit (nothing is then stored or sent, and the current plan stays)."""
    from anpr_ingest import SightingOffers
    from core import connect_redis, session_scope
    from dispatch import replan_day

    the_day = day_option(day)
    moment = _now(now, the_day)
    if not 0 < time_limit <= 600:
        typer.echo(f"--time-limit: {time_limit:g} is not between 0 and 600 seconds", err=True)
        raise typer.Exit(EXIT_INPUT)
    console = Console(stderr=True)
    with session_scope() as db:
        region = region_option(db, region)
        with console.status(f"{the_day}: re-planning from {moment:%H:%M} UTC"):
            outcome = replan_day(db, connect_redis(), the_day, now=moment, region=region, time_limit_s=time_limit,
                                 actor="cli", publish=publish, sources=[SightingOffers(db)])
    report_outcome(outcome, region, publish, "re-plan")
