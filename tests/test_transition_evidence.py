"""Geofence events as visit evidence (issue 11, "Geofences on the phone"; R-VISIT-EVIDENCE): the phone's
enter and leave of a case's region give the arrival and departure of the stop matched to that case
when they agree with the fixes (within 2 minutes), and the evidence's source is then ``transition``;
events that disagree (driving past, flapping, an enter with no stop) change nothing, the stop
detector's dwell filter alone deciding whether there was a visit. The rule is pure; the day runs on
the real PostGIS, its fixes and events written by the ingest store."""
from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from core import connect_redis, raw_connection, session_scope
from core.models import VisitEvidence
from tests.test_evidence import (
    DAY,
    AgentDay,
    evidence_rows,
    make_agent_day,
    unmatched_rows,
)
from tracking import (
    GEOFENCE_TOLERANCE,
    Decoded,
    GeofenceEvent,
    GpsStore,
    Received,
    RegionEvent,
    VisitTiming,
    day_stops,
    geofence_timing,
    record_day_evidence,
)

# --- the rule (pure) ------------------------------------------------------------------------------

ARRIVAL = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEPARTURE = ARRIVAL + timedelta(minutes=6)


def ev(minutes: float, event: str, region: str = "101") -> RegionEvent:
    return RegionEvent(ARRIVAL + timedelta(minutes=minutes), event, region)


def timing(*events: RegionEvent) -> VisitTiming:
    return geofence_timing(ARRIVAL, DEPARTURE, "101", events)


def test_enter_and_leave_that_agree_with_the_fixes_give_the_times() -> None:
    got = timing(ev(0.5, "enter"), ev(5.25, "leave"))
    assert got == VisitTiming(ARRIVAL + timedelta(seconds=30), ARRIVAL + timedelta(minutes=5.25), "transition")
    assert got.dwell_s == 285


def test_events_that_disagree_with_the_fixes_are_ignored() -> None:
    assert timing(ev(-2.5, "enter"), ev(8.5, "leave")) == VisitTiming(ARRIVAL, DEPARTURE, "fixes")


def test_the_tolerance_is_two_minutes_either_way() -> None:
    assert GEOFENCE_TOLERANCE == timedelta(minutes=2)
    assert timing(ev(-2, "enter")).arrival == ARRIVAL - timedelta(minutes=2)
    assert timing(ev(2 + 1 / 60, "enter")).source == "fixes"


def test_only_the_enter_agrees_so_only_the_arrival_changes() -> None:
    got = timing(ev(-1, "enter"), ev(10, "leave"))
    assert got == VisitTiming(ARRIVAL - timedelta(minutes=1), DEPARTURE, "transition")


def test_only_the_leave_agrees_so_only_the_departure_changes() -> None:
    got = timing(ev(-7, "enter"), ev(7, "leave"))
    assert got == VisitTiming(ARRIVAL, DEPARTURE + timedelta(minutes=1), "transition")


def test_a_flapping_geofence_gives_the_events_nearest_the_fixes() -> None:
    """Driving past earlier (enter, leave 40 s later), then at the door the region's edge flaps: enter,
    leave, enter within a minute; at departure, leave, enter, leave."""
    events = [ev(-9, "enter"), ev(-8.3, "leave"),
              ev(-0.75, "enter"), ev(-0.5, "leave"), ev(0.25, "enter"),
              ev(5.5, "leave"), ev(5.6, "enter"), ev(6.25, "leave")]
    got = timing(*events)
    assert got == VisitTiming(ARRIVAL + timedelta(minutes=0.25), ARRIVAL + timedelta(minutes=6.25), "transition")


def test_equally_near_events_give_the_earlier_enter_and_the_later_leave_whatever_the_order() -> None:
    events = [ev(-0.5, "enter"), ev(0.5, "enter"), ev(5.5, "leave"), ev(6.5, "leave")]
    got = timing(*events)
    assert got == timing(*reversed(events))
    assert (got.arrival, got.departure) == (events[0].ts, events[3].ts)


def test_events_of_another_region_are_ignored() -> None:
    assert timing(ev(0.5, "enter", "102"), ev(5.5, "leave", "1010")).source == "fixes"


def test_events_that_would_end_the_visit_before_it_began_are_ignored() -> None:
    short_departure = ARRIVAL + timedelta(seconds=70)
    got = geofence_timing(ARRIVAL, short_departure, "101", [ev(1.5, "enter"), ev(-0.5, "leave")])
    assert got == VisitTiming(ARRIVAL, short_departure, "fixes")


# --- a day on the database ----------------------------------------------------------------------

@pytest.fixture
def agent_day(geodata_loaded) -> AgentDay:
    return make_agent_day()


def store_events(day: AgentDay, *events: tuple[datetime, str, str]) -> None:
    """The phone's geofence events, written by the ingest store as a transition message's would be."""
    decoded = Decoded(transitions=[GeofenceEvent(day.device_id, day.agent_id, ts, event, region, -4.1427, 50.3713,
                                                 8.0) for ts, event, region in events])
    with raw_connection() as conn:
        GpsStore(conn, connect_redis()).commit(
            [Received(f"owntracks/{day.device_id}/iphone/event", b"{}", datetime.now(UTC), decoded)])


def test_a_day_takes_the_agreeing_geofence_times_and_ignores_the_rest(agent_day, tmp_path: Path) -> None:
    """R-VISIT-EVIDENCE. First recorded from the fixes alone; then the phone's events arrive (late, as
    a phone out of signal sends them) and the day is recorded again: the visit's arrival is the enter
    that agrees, the leave 3 minutes off is ignored, the enter and leave of a case the agent drove past
    make no evidence, and the day still has one evidence row for the visit."""
    with session_scope() as db:
        record_day_evidence(db, DAY, agent_day.agent_id)
    [fixes_row] = evidence_rows(agent_day.device_id)
    arrival, departure, source = fixes_row[2], fixes_row[3], fixes_row[10]
    assert source == "fixes"

    visited, distant = str(agent_day.visited_case), str(agent_day.distant_case)
    enter = arrival + timedelta(seconds=40)
    store_events(agent_day,
                 (arrival - timedelta(minutes=6), "enter", visited),    # flapping while parking nearby
                 (arrival - timedelta(minutes=5.5), "leave", visited),
                 (enter, "enter", visited),                              # agrees: taken
                 (departure + timedelta(minutes=3), "leave", visited),  # 3 min off: the fixes stay
                 (departure + timedelta(minutes=2), "enter", distant),  # drove past, no stop there
                 (departure + timedelta(minutes=2.5), "leave", distant))

    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_day.agent_id)
    assert (result.evidence, result.unmatched) == (1, 1)
    [(case_id, _agent, new_arrival, new_departure, dwell_s, *_rest, new_source)] = evidence_rows(agent_day.device_id)
    assert (case_id, new_arrival, new_departure, new_source) == (agent_day.visited_case, enter, departure,
                                                                 "transition")
    assert dwell_s == round((departure - enter).total_seconds())
    assert len(unmatched_rows(agent_day.device_id)) == 1  # the halt near no case of the agent's

    # The trail excerpt is still kept around the (new) visit window.
    with session_scope() as db:
        trail = db.scalar(select(VisitEvidence.trail).where(VisitEvidence.device_id == agent_day.device_id))
    times = [datetime.fromisoformat(t) for t, _, _ in trail]
    assert times == sorted(times) and sum(enter <= t <= departure for t in times) >= 25

    # Re-running changes nothing.
    with session_scope() as db:
        record_day_evidence(db, DAY, agent_day.agent_id)
    assert [r[10] for r in evidence_rows(agent_day.device_id)] == ["transition"]

    with session_scope() as db:
        stops = day_stops(db, DAY, agent_day.agent_id)
    assert [s.source for s in stops] == ["transition", "fixes"]
    assert stops[0].stop.arrival == arrival and stops[0].arrival == enter  # the detected stop is kept as is

    out = tmp_path / "stops.csv"
    result = CliRunner().invoke(app, ["tracking", "stops", "--day", DAY.isoformat(), "--agent",
                                      str(agent_day.agent_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as f:
        visit, halt = list(csv.DictReader(f))
    assert (visit["source"], halt["source"]) == ("transition", "fixes")
    assert visit["arrival"] == enter.isoformat(timespec="seconds")  # GMT: London time is UTC, +00:00


def test_a_geofence_with_no_stop_makes_no_evidence(agent_day) -> None:
    """The Traccar flaw: an enter and a leave a few minutes apart, where the phone never dwelt (the
    first leg's drive east), are no visit."""
    store_events(agent_day, (datetime(2026, 3, 2, 8, 59, 40, tzinfo=UTC), "enter", str(agent_day.distant_case)),
                 (datetime(2026, 3, 2, 9, 2, tzinfo=UTC), "leave", str(agent_day.distant_case)))
    with session_scope() as db:
        record_day_evidence(db, DAY, agent_day.agent_id)
    assert [(r[0], r[10]) for r in evidence_rows(agent_day.device_id)] == [(agent_day.visited_case, "fixes")]
