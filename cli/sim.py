"""``bailiwick sim agents``: simulated agents' days published over MQTT as their phones would
(``sim.simulate_agents``); ``bailiwick sim vans``: the ANPR vans' plate reads as their devices would
(``sim.simulate_vans``); each with the ground truth written beside them."""
from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from core import PROJECT_ROOT

app = typer.Typer(help="Simulators.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _day_options(scenario: str, day: str | None, until: str | None, speed: float, replay: bool):
    """The day and the end time a simulated day of ``scenario`` runs with (``sim agents``, ``sim vans``),
    each option checked and named when wrong."""
    import sim

    try:
        spec = sim.SCENARIOS[scenario]
    except KeyError:
        raise _fail(f"--scenario: unknown scenario {scenario!r}; choose one of {', '.join(sim.SCENARIOS)}") from None
    try:
        d = date.fromisoformat(day) if day is not None else spec.as_of
    except ValueError:
        raise _fail(f"--day must be a date YYYY-MM-DD, got {day!r}") from None
    try:
        end = time.fromisoformat(until) if until is not None else None
    except ValueError:
        raise _fail(f"--until must be a time HH:MM, got {until!r}") from None
    if not replay and not speed > 0:
        raise _fail(f"--speed must be a positive number, got {speed:g}")
    return d, end


@app.command()
def agents(
    scenario: Annotated[str, typer.Option("--scenario", help="the seeded scenario (tiny, demo, national)")] = "demo",
    day: Annotated[str | None, typer.Option("--day", help="the London day, YYYY-MM-DD (default: the "
                                                          "scenario's day)")] = None,
    speed: Annotated[float, typer.Option("--speed", help="time compression: X times real time")] = 60.0,
    replay: Annotated[bool, typer.Option("--replay", help="publish as fast as the broker takes the messages "
                                                          "(the fixes keep their original timestamps)")] = False,
    until: Annotated[str | None, typer.Option("--until", help="end the day at this London time, HH:MM")] = None,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same days, message for "
                                                     "message")] = 1,
    geofences: Annotated[bool, typer.Option("--geofences", help="OwnTracks phones also send the enter and leave "
                                                                "events of their planned visits' 50 m regions "
                                                                "(_type transition on …/event)")] = False,
    truth: Annotated[Path | None, typer.Option("--truth", help="ground-truth CSV (default "
                                                               "out/sim_truth_<day>.csv)")] = None,
) -> None:
    """Publish the phones of the agents with a stored plan for the day: they drive their planned visits
    (road-like paths, junction halts, parking, walking to the door, dwelling, fuel and lunch stops),
    as Android / iOS / significant-change phones in the Bailiwick or OwnTracks form, with GPS noise,
    outliers and signal gaps; the truth of every stop goes to the CSV."""
    import sim

    d, end = _day_options(scenario, day, until, speed, replay)
    path = truth or PROJECT_ROOT / "out" / f"sim_truth_{d.isoformat()}.csv"
    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        def progress(total: int):
            task = bar.add_task(f"publishing {d}", total=total)
            return lambda n: bar.advance(task, n)

        try:
            report = sim.simulate_agents(d, seed=seed, speed=None if replay else speed, until=end, truth=path,
                                         geofences=geofences, progress=progress)
        except ConnectionError as exc:
            typer.echo(f"error: the broker: {exc}", err=True)
            raise typer.Exit(1) from None
    if report.agents == 0:
        typer.echo(f"no agent has a stored plan for {d} (run `bailiwick plan --day {d}` first)", err=True)
        raise typer.Exit(1)
    typer.echo(report.describe())


@app.command()
def vans(
    scenario: Annotated[str, typer.Option("--scenario", help="the seeded scenario (tiny, demo, national)")] = "demo",
    day: Annotated[str | None, typer.Option("--day", help="the London day, YYYY-MM-DD (default: the "
                                                          "scenario's day)")] = None,
    speed: Annotated[float, typer.Option("--speed", help="time compression: X times real time")] = 60.0,
    replay: Annotated[bool, typer.Option("--replay", help="publish as fast as the broker takes the messages "
                                                          "(the reads keep their original timestamps)")] = False,
    until: Annotated[str | None, typer.Option("--until", help="end the day at this London time, HH:MM")] = None,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same reads, message for "
                                                     "message")] = 1,
    scenario_seed: Annotated[int, typer.Option("--scenario-seed", help="the seed the scenario was seeded with "
                                                                       "(`bailiwick seed --seed`): the van "
                                                                       "devices' secrets derive from it")] = 1,
    truth: Annotated[Path | None, typer.Option("--truth", help="ground-truth CSV (default "
                                                               "out/sim_vans_truth_<day>.csv)")] = None,
) -> None:
    """Publish the reads of the scenario's ANPR vans, each signed in as its van device: they patrol
    from their bases along road-like routes through an 08:00-18:00 shift, reading passing traffic
    (random marks of every DVLA shape and, among them, hotlist vehicles from Redis) with OCR noise,
    confidences and vendor candidates; every read's truth goes to the CSV."""
    import sim
    from anpr_ingest import read_all
    from core import connect_redis

    d, end = _day_options(scenario, day, until, speed, replay)
    listed = list(read_all(connect_redis()))
    if not listed:
        typer.echo("the Redis hotlist is empty: the vans read no listed vehicle "
                   "(run `bailiwick anpr hotlist rebuild` first)", err=True)
    path = truth or PROJECT_ROOT / "out" / f"sim_vans_truth_{d.isoformat()}.csv"
    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        def progress(total: int):
            task = bar.add_task(f"publishing {d}", total=total)
            return lambda n: bar.advance(task, n)

        try:
            report = sim.simulate_vans(d, listed, scenario=scenario, scenario_seed=scenario_seed, seed=seed,
                                       speed=None if replay else speed, until=end, truth=path, progress=progress)
        except ConnectionError as exc:
            typer.echo(f"error: the broker: {exc}", err=True)
            raise typer.Exit(1) from None
    if report.vans == 0:
        typer.echo("no active van with an active device (run `bailiwick seed` first)", err=True)
        raise typer.Exit(1)
    typer.echo(report.describe())


@app.command()
def month(
    scenario: Annotated[str, typer.Option("--scenario", help="the seeded scenario (tiny, demo, national)")] = "demo",
    month_: Annotated[str | None, typer.Option("--month", help="the month to work, YYYY-MM (default: the month "
                                                               "of the scenario's day)")] = None,
    divert: Annotated[str | None, typer.Option("--divert", help="SUBCONTRACTOR:REGION:BUYER, e.g. "
                                                                "westward:TLK:plymouth: that firm's agents in "
                                                                "that region quietly skip most of that buyer's "
                                                                "planned visits")] = None,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same draws")] = 1,
    plan_seconds: Annotated[float, typer.Option("--plan-seconds", help="the planner's time limit per "
                                                                       "day")] = 6.0,
    days: Annotated[int | None, typer.Option("--days", help="work only the month's first N working "
                                                            "days")] = None,
) -> None:
    """Generate a month of work on the seeded scenario: each working day planned by the planner and
    stored, the agents driving their plans (some of each firm's time at its other clients' doors), the
    visits reported with outcomes, the phones' fixes stored with the day's GPS evidence and tracked
    time, and each firm's outside work declared for the month."""
    import time as clock

    import sim
    from cli.sim_month import BadDivert, parse_divert, services, store_declarations
    from core import session_scope

    if scenario not in sim.SCENARIOS:
        raise _fail(f"--scenario: unknown scenario {scenario!r}; choose one of {', '.join(sim.SCENARIOS)}")
    try:
        first = (date.fromisoformat(f"{month_}-01") if month_ is not None
                 else sim.SCENARIOS[scenario].as_of.replace(day=1))
    except ValueError:
        raise _fail(f"--month must be a month YYYY-MM, got {month_!r}") from None
    if not plan_seconds > 0:
        raise _fail(f"--plan-seconds must be a positive number, got {plan_seconds:g}")
    if days is not None and days < 1:
        raise _fail(f"--days must be at least 1, got {days}")
    diversion = None
    if divert is not None:
        with session_scope() as db:
            try:
                diversion = parse_divert(db, divert)
            except BadDivert as exc:
                raise _fail(f"--divert: {exc}") from None
    started = clock.monotonic()
    worked = sim.working_days(first, days)
    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        task = bar.add_task(f"{first:%Y-%m}", total=len(worked))
        seen: set[date] = set()

        def progress(day: date, step: str) -> None:
            if day in worked and day not in seen:
                if seen:
                    bar.advance(task)
                seen.add(day)
            bar.update(task, description=f"{day}: {step}")

        try:
            report = sim.run_month(first, seed=seed, services=services(plan_seconds), diversion=diversion,
                                   limit=days, progress=progress)
        except sim.MonthAlreadyWorked as exc:
            typer.echo(f"error: {exc}: reseed the scenario first (`bailiwick seed --scenario {scenario}`)",
                       err=True)
            raise typer.Exit(1) from None
        bar.update(task, completed=len(worked))
    with session_scope() as db:
        declared = store_declarations(db, first, report.declarations)
    typer.echo(month_summary(report, divert, declared, clock.monotonic() - started))


def month_summary(report, divert: str | None, declared: int, seconds: float) -> str:
    """What ``sim month`` prints."""
    outcomes = ", ".join(f"{n} {o}" for o, n in report.outcomes.most_common())
    refused = ", ".join(f"{n} {rule}" for rule, n in report.refused.most_common())
    lines = [
        f"{report.month:%Y-%m}: {len(report.days)} days planned and worked in {seconds:.0f} s"
        + (f"; no plan stored for {', '.join(map(str, report.unplanned))}" if report.unplanned else ""),
        (f"  planned  {report.planned_visits} visits; {report.visits_made} made, "
         f"{report.outside_stops} given to other clients' doors"),
        f"  visits   {sum(report.outcomes.values())} recorded: {outcomes or 'none'}"
        + (f"; refused by core: {refused}" if refused else ""),
        (f"  gps      {report.fixes} fixes; {report.evidence} visit evidence, {report.unmatched} unmatched "
         f"stops, {report.tracked_days} tracked agent-days"),
        f"  declared {declared} declarations of outside work (firm x region)",
        f"  diverted {report.diverted} planned visits skipped ({divert})" if divert else "  diverted none",
    ]
    return "\n".join(lines)
