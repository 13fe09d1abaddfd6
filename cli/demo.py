from __future__ import annotations

import json
import threading
import time as _time
from datetime import UTC, date, datetime, time

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from cli.caseload import render
from cli.plan import planning_progress, summary
from core import (
    LONDON,
    PROJECT_ROOT,
    connect_redis,
    get_settings,
    session_scope,
    upgrade_schema,
)

OUT = PROJECT_ROOT / "out"  # git-ignored
DEMO_PLAN_SECONDS = 30.0  # the demo day's planning budget (issue 4: the demo day in ≤ 30 s)


def demo(seed: int = typer.Option(1, "--seed", help="scenario seed")) -> None:
    """Migrate, load the reference geography and visit policies, seed the demo scenario, summarise it,
    work the month up to the demo day (``sim month``); plan the demo day and write its map to out/; replay
    a simulated morning of the day through the GPS ingest and write one buyer's evidence map and the
    live map to out/; then the month's capacity map and one buyer's capacity report."""
    import geodata
    import sim
    from regions import caseload_summary

    console = Console()
    console.rule("1/9 database schema")
    upgrade_schema()
    console.rule("2/9 reference geography")
    settings = get_settings()
    for report in geodata.load_all(settings.geodata_dir, settings.database_url, progress=True):
        console.print(report.describe())
    console.rule("3/9 buyer visit policies")
    from core import load_policies

    with session_scope() as db:
        for report in load_policies(db, actor="cli:demo"):
            console.print(report.describe())
    console.rule("4/9 demo scenario")
    console.print(sim.seed_scenario("demo", seed=seed, progress=True).describe())
    console.rule("5/9 summary")
    with session_scope() as db:
        console.print(render(caseload_summary(db)))
    day = sim.SCENARIOS["demo"].as_of
    console.rule("6/9 the month so far: planned, worked and reported days before the demo day")
    work_month_to_day(console, day, seed)
    console.rule("7/9 the demo day's plan")
    plan_demo_day(console, day)
    console.rule("8/9 a simulated morning: phones over MQTT, GPS evidence, maps")
    replay_morning(console, day, seed)
    console.rule("9/9 capacity: the month's map and one buyer's report")
    capacity_outputs(console, day)


DEMO_MONTH_PLAN_SECONDS = 6.0  # each day's planning budget in the month (``sim month``'s default)
REPORT_BUYER = "plymouth"      # whose capacity report the demo writes


def work_month_to_day(console: Console, day: date, seed: int) -> None:
    """The working days of ``day``'s month before it, as ``bailiwick sim month`` works them."""
    import sim
    from cli.sim import month_summary, work_month

    first = day.replace(day=1)
    days = sum(d < day for d in sim.working_days(first, None))
    if not days:
        console.print("the demo day is the month's first working day: nothing to work before it")
        return
    started = _time.monotonic()
    report, declared = work_month(first, seed=seed, plan_seconds=DEMO_MONTH_PLAN_SECONDS, days=days)
    console.print(month_summary(report, None, declared, _time.monotonic() - started))


def capacity_outputs(console: Console, day: date) -> None:
    """out/capacity_map.html (every buyer, as a regional manager sees it) and REPORT_BUYER's capacity
    report for ``day``'s month (HTML and XLSX)."""
    from core.models import Buyer
    from dashboards import capacity_map_html
    from regions import (
        buyer_report,
        capacity_view,
        hex_figures,
        month_period,
        region_outlines,
        render,
    )

    period = month_period(day)
    with session_scope() as db:
        view = capacity_view(hex_figures(db, period.first))
        (OUT / "capacity_map.html").write_text(capacity_map_html(view, region_outlines(db)))
        console.print(f"wrote {OUT / 'capacity_map.html'}")
        buyer = db.execute(select(Buyer.id, Buyer.name).where(Buyer.reference == REPORT_BUYER)).one()
        report = buyer_report(db, period, buyer.id, REPORT_BUYER, buyer.name)
        for fmt in ("html", "xlsx"):
            path = OUT / f"capacity_{REPORT_BUYER}_{period.label}.{fmt}"
            path.write_bytes(render(report, fmt))
            console.print(f"wrote {path}")
    flags = report.capacity.flags()
    console.print(f"{REPORT_BUYER} {period.label}: {len(report.capacity.table)} region lines; "
                  + (", ".join(f"{f.region} {f.priority_class or 'overall'} index {f.estimate.index:.2f} "
                               f"[{f.estimate.low:.2f}, {f.estimate.high:.2f}]" for f in flags)
                     if flags else "nothing flagged"))


def plan_demo_day(console: Console, day) -> None:
    """Plan, store and publish ``day`` for the whole country; write out/plan_map.html and
    out/plan.geojson."""
    from dashboards import plan_map_html
    from dispatch import plan_and_store, plan_to_geojson

    for seconds in (DEMO_PLAN_SECONDS, 2 * DEMO_PLAN_SECONDS):
        with session_scope() as db, planning_progress(console, str(day)) as progress:
            outcome = plan_and_store(db, day, time_limit_s=seconds, actor="cli:demo", progress=progress)
        if not outcome.unsolved:
            break
        # A loaded machine can leave a sub-problem without a first solution; such a plan is refused.
        console.print(f"[yellow]no plan found within {seconds:g} s for {outcome.unsolved} visits: "
                      "nothing stored[/yellow]")
    else:
        raise typer.Exit(3)
    if outcome.violations:
        console.print(f"[red]{len(outcome.violations)} violation(s): the plan was not stored[/red]")
        for v in outcome.violations[:20]:
            console.print(f"  {v.kind} agent={v.agent_id} case={v.case_id} rule={v.rule_id}: {v.message}")
        raise typer.Exit(1)
    console.print(summary(outcome, None, outcome.publish_error is None))
    if outcome.publish_error:
        console.print(f"[yellow]not published: {outcome.publish_error}[/yellow]")
    OUT.mkdir(exist_ok=True)
    (OUT / "plan.geojson").write_text(json.dumps(plan_to_geojson(outcome.plan), indent=1))
    (OUT / "plan_map.html").write_text(plan_map_html(outcome.plan, self_contained=True))
    console.print(f"wrote {OUT / 'plan_map.html'} and {OUT / 'plan.geojson'}")


MORNING_ENDS = time(12, 0)  # London time: the replayed part of the demo day
REPLAY_BACKLOG = 500        # messages published but not yet received by the demo's ingest worker


def replay_morning(console: Console, day: date, seed: int) -> None:
    """The agents' phones of ``day``'s stored plan until noon, simulated and published over MQTT as fast
    as the broker takes them, through a GPS ingest worker into gps_ping; the morning's stops recorded as
    visit evidence; out/evidence_map.html (the case of the buyer with the most evidence that has the
    most stops) and out/live_map.html (positions as they stood at noon)."""
    import sim
    from dashboards import evidence_map_html, live_map_html
    from tracking import (
        IngestConfig,
        IngestWorker,
        read_case_place,
        read_evidence,
        read_live,
        record_day_evidence,
    )

    # A share group of its own, so this worker receives every message even while the platform's own
    # workers (group "tracking") take their copy; its session ends with it, queueing nothing afterwards.
    # The scenario's day is fixed: the worker takes fixes however long ago it is.
    reach = max((datetime.now(UTC).date() - day).days + 2, get_settings().gps_retention_days)
    worker = IngestWorker(IngestConfig(client_id="bailiwick-demo-ingest", group="demo", session_expiry_s=0,
                                       retention_days=reach))
    thread = threading.Thread(target=worker.run, name="demo-ingest", daemon=True)
    thread.start()
    try:
        if not worker.subscribed.wait(30):
            console.print("[red]the GPS ingest did not subscribe to the broker within 30 s[/red]")
            raise typer.Exit(1)
        with Progress(*Progress.get_default_columns(), console=console) as bar:
            publishing = bar.add_task("phones publishing", total=None)

            published = 0

            def progress(total: int):
                bar.update(publishing, total=total)

                def advance(n: int = 1) -> None:
                    nonlocal published
                    bar.advance(publishing, n)
                    published += n
                    # A broker on Mosquitto's defaults queues 1,000 messages for a slow subscriber and
                    # drops QoS 1 messages beyond that: the replay waits for the ingest to keep up.
                    while published - worker.received > REPLAY_BACKLOG and thread.is_alive():
                        _time.sleep(0.005)
                return advance

            report = sim.simulate_agents(day, seed=seed, until=MORNING_ENDS, truth=OUT / "demo_morning_truth.csv",
                                         progress=progress)
            console.print(report.describe())
            ingesting = bar.add_task("ingest receiving", total=report.messages)
            deadline = _time.monotonic() + 300
            while (worker.received < report.messages or not worker.inbox.empty()) and _time.monotonic() < deadline:
                bar.update(ingesting, completed=min(worker.received, report.messages))
                _time.sleep(0.2)
            bar.update(ingesting, completed=min(worker.received, report.messages))
    finally:
        worker.stopping.set()  # the batch in hand is committed before the worker stops
        thread.join(60)
    if worker.received < report.messages:
        console.print(f"[red]the ingest received {worker.received} of {report.messages} messages[/red]")
        raise typer.Exit(1)
    console.print(f"ingest: {worker.written.fixes} new fixes stored, {worker.written.dead_letters} dead letters")
    with session_scope() as db:
        recorded = record_day_evidence(db, day)
    console.print(f"{recorded.evidence} stops are visit evidence, {recorded.unmatched} unmatched (decoys: fuel, "
                  f"lunch); the truth is in {report.truth_path}")
    with session_scope() as db:
        case_id = _showcase(db, day)
        if case_id is None:
            console.print("[yellow]no visit evidence this morning: no evidence map written[/yellow]")
        else:
            place = read_case_place(db, case_id)
            (OUT / "evidence_map.html").write_text(
                evidence_map_html(place, read_evidence(db, case_id=case_id, with_trail=True)))
            console.print(f"wrote {OUT / 'evidence_map.html'} (case {case_id}, {place.postcode})")
        noon = datetime.combine(day, MORNING_ENDS, LONDON)
        stale_s = get_settings().gps_stale_s
        agents = read_live(db, connect_redis(), now=noon, stale_s=stale_s)
    (OUT / "live_map.html").write_text(live_map_html(agents, stale_s))
    console.print(f"wrote {OUT / 'live_map.html'} ({len(agents)} agents, as they stood at {noon:%H:%M} on {day})")


def _showcase(db, day: date) -> int | None:
    """The case to show a buyer: of the buyer with the most visit evidence on ``day``, the case with
    the most stops (then the lowest id)."""
    from core.models import Case, VisitEvidence
    from tracking import day_bounds

    start, end = day_bounds(day)
    on_day = (VisitEvidence.arrival >= start) & (VisitEvidence.arrival < end)
    buyer = db.execute(select(Case.buyer_id).join(VisitEvidence, VisitEvidence.case_id == Case.id).where(on_day)
                       .group_by(Case.buyer_id).order_by(func.count().desc(), Case.buyer_id).limit(1)).scalar()
    if buyer is None:
        return None
    return db.execute(select(Case.id).join(VisitEvidence, VisitEvidence.case_id == Case.id)
                      .where(on_day, Case.buyer_id == buyer).group_by(Case.id)
                      .order_by(func.count().desc(), Case.id).limit(1)).scalar()
