"""The GPS retention (issue 11, ``bailiwick tracking prune [--older-than DAYS]``): whole gps_ping day
partitions older than the retention are dropped, older geofence transitions, dead letters and unmatched
stops deleted; visit evidence and its trail are kept [R-VISIT-EVIDENCE], and the buyer's evidence map
still draws the trail; the partition of a day that ends after the cutoff, and today's, are untouched;
the prune is audited. Real PostGIS, through the CLI as an operator runs it."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cli import app
from core import connect_redis, get_settings, raw_connection, session_scope
from core.models import AuditEvent, GpsDeadLetter, GpsPing, GpsTransition, UnmatchedStop
from dashboards import evidence_map_html
from tests.helpers import unique
from tests.test_evidence import DAY, AgentDay, gps_of, make_agent_day, report_visit
from tracking import (
    Decoded,
    GpsFix,
    GpsStore,
    Received,
    expired,
    gps_partitions,
    partition_name,
    read_case_place,
    read_evidence,
    record_day_evidence,
)

runner = CliRunner()


def test_a_partition_goes_once_its_whole_day_is_older_than_the_cutoff() -> None:
    days = {partition_name(date(2026, 3, d)): date(2026, 3, d) for d in (1, 2, 3)}
    cutoff = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # the 2nd ends exactly at the cutoff
    assert expired(days, cutoff) == ["gps_ping_20260301", "gps_ping_20260302"]
    assert expired(days, cutoff - timedelta(microseconds=1)) == ["gps_ping_20260301"]
    assert expired(days, datetime(2026, 2, 1, tzinfo=UTC)) == []


def store(fixes: list[GpsFix]) -> None:
    with raw_connection() as conn:
        GpsStore(conn, connect_redis()).commit([Received("agents/x/gps", b"{}", datetime.now(UTC), Decoded(fixes))])


def pings(device_id: str) -> list[datetime]:
    with session_scope() as db:
        return list(db.scalars(select(GpsPing.ts).where(GpsPing.device_id == device_id).order_by(GpsPing.ts)))


@pytest.fixture
def old_day(geodata_loaded) -> AgentDay:
    """test_evidence's agent day (2 March 2026) recorded as evidence and one unmatched stop; one fix of
    the same phone on the next day, and one now; a geofence transition and a dead letter of the day and
    of now."""
    day = make_agent_day()
    with session_scope() as db:
        record_day_evidence(db, DAY, day.agent_id)
    now = datetime.now(UTC)
    next_day = datetime.combine(DAY + timedelta(days=1), time(12), UTC)
    store([GpsFix(day.device_id, day.agent_id, t, -4.14, 50.37) for t in (next_day, now)])
    with session_scope() as db:
        for at in (datetime.combine(DAY, time(9, 1), UTC), now):
            db.add(GpsTransition(device_id=day.device_id, agent_id=day.agent_id, ts=at, event="enter",
                                 region=str(day.visited_case), accuracy_m=10.0, received_at=at,
                                 location=WKTElement("POINT(-4.14 50.37)", srid=4326)))
            db.add(GpsDeadLetter(topic=f"agents/{day.agent_id}/gps", payload=day.device_id.encode(),
                                 reason="test", received_at=at, digest=at.isoformat().encode()))
    return day


def count(db, model, **where) -> int:
    q = select(func.count()).select_from(model)
    for column, value in where.items():
        q = q.where(getattr(model, column) == value)
    return db.scalar(q)


def test_prune_drops_old_days_and_keeps_the_evidence_and_its_trail(old_day) -> None:
    before = pings(old_day.device_id)
    assert len(before) > 60
    with session_scope() as db:
        [evidence] = read_evidence(db, case_id=old_day.visited_case, with_trail=True)
    # The retention ends between DAY and the next day: DAY's whole partition is older, the next day's not.
    keep = (datetime.now(UTC).date() - DAY).days - 1
    result = runner.invoke(app, ["tracking", "prune", "--older-than", str(keep)])
    assert result.exit_code == 0, result.output
    assert partition_name(DAY) in result.output and partition_name(DAY + timedelta(days=1)) not in result.output
    assert "visit evidence kept" in result.output

    with session_scope() as db:
        partitions = gps_partitions(db)
        assert partition_name(DAY) not in partitions
        assert {partition_name(DAY + timedelta(days=1)), partition_name(datetime.now(UTC).date())} <= set(partitions)
        # Only the fixes of the next day and of today are left.
        assert pings(old_day.device_id) == before[-2:]
        [after] = read_evidence(db, case_id=old_day.visited_case, with_trail=True)
        assert after == evidence and len(after.trail) > 25
        assert count(db, UnmatchedStop, device_id=old_day.device_id) == 0
        assert count(db, GpsTransition, device_id=old_day.device_id) == 1
        assert count(db, GpsDeadLetter, payload=old_day.device_id.encode()) == 1
        audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "gps.prune")
                           .order_by(AuditEvent.id.desc()).limit(1)).one()
        assert audit.actor.startswith("cli:") and audit.target == "gps_ping"
        assert partition_name(DAY) in audit.data["partitions"] and audit.data["older_than_days"] == keep
        assert audit.data["transitions"] >= 1 and audit.data["dead_letters"] >= 1
        assert audit.data["unmatched_stops"] >= 1
        place = read_case_place(db, old_day.visited_case)
    # The buyer's map still draws the trail from the evidence row: its first fix is on the page.
    page = evidence_map_html(place, [after])
    first = after.trail[0]
    assert "evidence-trail" in page and f"{first.lat}" in page and f"{first.lon}" in page


def test_a_second_prune_finds_nothing_more_and_the_ingest_makes_a_dropped_day_again(old_day) -> None:
    keep = (datetime.now(UTC).date() - DAY).days - 1
    assert runner.invoke(app, ["tracking", "prune", "--older-than", str(keep)]).exit_code == 0
    again = runner.invoke(app, ["tracking", "prune", "--older-than", str(keep)])
    assert again.exit_code == 0 and "dropped 0 gps_ping day partitions" in again.output
    # A late fix of the dropped day (an ingest with a longer retention) makes its partition again.
    late = datetime.combine(DAY, time(18), UTC)
    store([GpsFix(old_day.device_id, old_day.agent_id, late, -4.14, 50.37)])
    assert late in pings(old_day.device_id)


def test_re_running_a_pruned_day_keeps_its_visits_gps_times(old_day, policies_loaded) -> None:
    """R-VISIT-EVIDENCE: the visit's GPS-verified times outlive the day's fixes."""
    visit = report_visit(old_day, old_day.visited_case, datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
                         datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    with session_scope() as db:
        assert record_day_evidence(db, DAY, old_day.agent_id).visits_verified == 1
    verified = gps_of(visit)
    keep = (datetime.now(UTC).date() - DAY).days - 1
    assert runner.invoke(app, ["tracking", "prune", "--older-than", str(keep)]).exit_code == 0
    result = runner.invoke(app, ["tracking", "evidence", "--day", DAY.isoformat(), "--agent", str(old_day.agent_id)])
    assert result.exit_code == 0, result.output
    assert gps_of(visit) == verified and verified[2] is True


def test_the_default_retention_is_the_setting(old_day, monkeypatch) -> None:
    monkeypatch.setenv("BAILIWICK_GPS_RETENTION_DAYS", str((datetime.now(UTC).date() - DAY).days - 1))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["tracking", "prune"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert partition_name(DAY) in result.output


@pytest.mark.parametrize("value", ["0", "-3", "ninety", "36501", "10000000"])
def test_older_than_must_be_a_whole_number_of_days_from_1_to_a_century(migrated, value) -> None:
    result = runner.invoke(app, ["tracking", "prune", "--older-than", value])
    assert result.exit_code == 2 and "--older-than" in result.output


def test_a_child_table_not_named_by_its_day_is_left_alone(migrated) -> None:
    # A child of gps_ping not named gps_ping_YYYYMMDD is not the prune's.
    name = unique("gps_ping_manual").replace("-", "_")
    with session_scope() as db:
        db.execute(text(f'CREATE TABLE "{name}" PARTITION OF gps_ping FOR VALUES FROM '
                            "('2001-01-01 00:00+00') TO ('2001-01-02 00:00+00')"))
    try:
        assert runner.invoke(app, ["tracking", "prune", "--older-than", "1"]).exit_code == 0
        with session_scope() as db:
            assert db.scalar(text(f"SELECT to_regclass('{name}') IS NOT NULL"))
    finally:
        with session_scope() as db:
            db.execute(text(f'DROP TABLE IF EXISTS "{name}"'))

