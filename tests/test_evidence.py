"""Visit evidence (issue 11, "Stops and visit evidence"; R-VISIT-EVIDENCE): a day's fixes read back
from gps_ping, its stops matched to the agent's case addresses within 75 m, stored as visit_evidence
with the address, postcode, distance and dwell, and the stops near no case kept as unmatched_stop with
the nearest postcode; re-running a day changes nothing; the agent's visit record of the case gets the
GPS times and is gps_verified only when its reported times agree within 5 minutes. Real PostGIS; the
fixes go in through the ingest store."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

import geodata
from core import add_device, connect_redis, raw_connection, session_scope
from core.models import (
    Case,
    PlanRoute,
    PlanRun,
    PlanVisit,
    UnmatchedStop,
    Visit,
    VisitEvidence,
)
from core.visits import record_visit
from tests.case_world import make_agent, make_buyer, make_case
from tests.helpers import unique
from tests.tracks import ORIGIN_X, ORIGIN_Y, T0, Drive, Dwell, make_track
from tracking import (
    CaseAddress,
    Decoded,
    Fix,
    GpsFix,
    GpsStore,
    Received,
    day_bounds,
    day_stops,
    gps_verified,
    match_stop,
    record_day_evidence,
    trail_excerpt,
)

DAY = T0.date()  # 2 March 2026: GMT, so the London day is the UTC day


# --- matching (pure) ------------------------------------------------------------------------------

def addr(case_id: int, x: float, y: float, planned: bool = False) -> CaseAddress:
    return CaseAddress(case_id, f"{case_id} Test Street", "PL1 2AA", x, y, planned)


def test_the_nearest_address_within_the_radius_wins() -> None:
    m = match_stop(0, 0, [addr(1, 60, 0), addr(2, 0, 30), addr(3, 10, 0)])
    assert (m.case.case_id, m.distance_m) == (3, 10)


def test_a_planned_visit_beats_a_nearer_unplanned_case() -> None:
    m = match_stop(0, 0, [addr(1, 5, 0), addr(2, 70, 0, planned=True)])
    assert (m.case.case_id, m.distance_m) == (2, 70)


def test_an_unplanned_case_matches_when_no_planned_visit_is_within_the_radius() -> None:
    assert match_stop(0, 0, [addr(1, 50, 0), addr(2, 76, 0, planned=True)]).case.case_id == 1


def test_no_address_within_75_m_is_no_match() -> None:
    assert match_stop(0, 0, [addr(1, 75.5, 0), addr(2, 0, -200)]) is None
    assert match_stop(0, 0, [addr(1, 75.5, 0)], radius_m=80).case.case_id == 1


def test_a_radius_that_is_not_a_positive_number_is_refused() -> None:
    with pytest.raises(ValueError, match="radius_m"):
        match_stop(0, 0, [], radius_m=0)


def test_a_trail_excerpt_is_the_track_from_the_margin_before_arrival_to_the_margin_after_departure() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    track = [Fix(t0 + timedelta(minutes=m), 50.0 + m / 1000, -4.0) for m in range(0, 60, 5)]
    rows = trail_excerpt(track, t0 + timedelta(minutes=25), t0 + timedelta(minutes=30), timedelta(minutes=10))
    assert [r[0] for r in rows] == [(t0 + timedelta(minutes=m)).isoformat() for m in (15, 20, 25, 30, 35, 40)]
    assert rows[0][1:] == [50.015, -4.0]


def test_a_london_day_is_read_as_its_utc_bounds() -> None:
    assert day_bounds(date(2026, 3, 2)) == (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    # BST: the London day 1 July starts at 23:00 UTC on 30 June.
    assert day_bounds(date(2026, 7, 1)) == (datetime(2026, 6, 30, 23, tzinfo=UTC),
                                            datetime(2026, 7, 1, 23, tzinfo=UTC))


# --- a day in the database ------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentDay:
    agent_id: int
    device_id: str
    visited_case: int     # the case at the first door
    distant_case: int     # 200 m from the second stop: too far to be its evidence
    other_firm_case: int  # at the second stop, but another firm's


def lon_lat(dx: float, dy: float) -> tuple[float, float]:
    lon, lat = geodata.to_wgs84(ORIGIN_X + dx, ORIGIN_Y + dy)
    return float(lon), float(lat)


def make_agent_day() -> AgentDay:
    """An agent's phone drives from Royal Parade to a door 400 m east (5 min there), then to a stop
    1 km east (4 min); the agent's firm has a case at the door and one 200 m north of the second
    stop; another firm has a case right at the second stop. Its fixes go through the ingest store."""
    track = make_track([Drive(400, 0), Dwell(300), Drive(1000, 0), Dwell(240), Drive(1500, 0)], seed=3)
    with session_scope() as db:
        agent = make_agent(db)
        device, _ = add_device(db, device_id=unique("phone"), actor="test", agent_reference=agent.reference,
                               secret="s" * 16)
        buyer = make_buyer(db)
        firm = {"assigned_subcontractor_id": agent.subcontractor_id}
        visited = make_case(db, buyer, at=lon_lat(400, 0), postcode="PL1 1EA", **firm)
        distant = make_case(db, buyer, at=lon_lat(1000, 200), **firm)
        other = make_case(db, buyer, at=lon_lat(1000, 0), assigned_subcontractor_id=None)
        made = AgentDay(agent.id, device.device_id, visited.id, distant.id, other.id)
    fixes = [GpsFix(made.device_id, made.agent_id, f.ts, f.lon, f.lat, f.accuracy_m, f.speed_mps)
             for f in track.fixes]
    with raw_connection() as conn:
        GpsStore(conn, connect_redis()).commit(
            [Received(f"agents/{made.agent_id}/gps", b"{}", datetime.now(UTC), Decoded(fixes))])
    return made


@pytest.fixture
def agent_day(geodata_loaded) -> AgentDay:
    return make_agent_day()


def test_a_day_has_the_stops_of_the_phone_matched_or_not(agent_day) -> None:
    with session_scope() as db:
        stops = day_stops(db, DAY, agent_day.agent_id)
    assert [s.device_id for s in stops] == [agent_day.device_id] * 2
    visit, halt = stops
    assert visit.match.case.case_id == agent_day.visited_case
    assert visit.match.distance_m < 30
    assert abs(visit.stop.dwell_s - 300) < 30
    assert halt.match is None  # the firm's case is 200 m away; the other firm's is not the agent's
    assert halt.postcode is not None and halt.postcode.startswith("PL")


def evidence_rows(device_id: str) -> list[tuple]:
    with session_scope() as db:
        return db.execute(select(VisitEvidence.case_id, VisitEvidence.agent_id, VisitEvidence.arrival,
                                 VisitEvidence.departure, VisitEvidence.dwell_s, VisitEvidence.address_line,
                                 VisitEvidence.postcode, VisitEvidence.distance_m, VisitEvidence.fix_count,
                                 VisitEvidence.median_accuracy_m, VisitEvidence.source)
                          .where(VisitEvidence.device_id == device_id)).all()


def unmatched_rows(device_id: str) -> list[tuple]:
    with session_scope() as db:
        return db.execute(select(UnmatchedStop.agent_id, UnmatchedStop.arrival, UnmatchedStop.departure,
                                 UnmatchedStop.nearest_postcode, func.ST_X(UnmatchedStop.location),
                                 func.ST_Y(UnmatchedStop.location))
                          .where(UnmatchedStop.device_id == device_id)).all()


def test_a_stop_at_a_case_address_becomes_evidence_and_one_200_m_away_is_kept_unmatched(agent_day) -> None:
    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_day.agent_id)
    assert (result.evidence, result.unmatched) == (1, 1)

    [(case_id, agent_id, arrival, departure, dwell_s, line, postcode, distance_m, fix_count, accuracy,
      source)] = evidence_rows(agent_day.device_id)
    assert (case_id, agent_id, source) == (agent_day.visited_case, agent_day.agent_id, "fixes")
    assert postcode == "PL1 1EA"  # the case's, not the nearest centroid's
    assert "Test Street" in line and line.endswith("Plymouth")
    assert distance_m < 30
    assert dwell_s == round((departure - arrival).total_seconds()) and abs(dwell_s - 300) < 30
    assert abs((arrival - datetime(2026, 3, 2, 9, 0, 34, tzinfo=UTC)).total_seconds()) < 30
    assert fix_count >= 25 and accuracy == 12.0  # what the synthetic phone reports

    [(agent_id, arrival, departure, nearest, lon, lat)] = unmatched_rows(agent_day.device_id)
    assert agent_id == agent_day.agent_id and nearest.startswith("PL")
    assert abs((departure - arrival).total_seconds() - 240) < 30
    x, y = geodata.to_bng(lon, lat)
    assert abs(x - (ORIGIN_X + 1000)) < 30 and abs(y - ORIGIN_Y) < 30


def test_evidence_keeps_the_track_around_the_stop_for_the_map(agent_day) -> None:
    with session_scope() as db:
        record_day_evidence(db, DAY, agent_day.agent_id)
        arrival, departure, trail = db.execute(
            select(VisitEvidence.arrival, VisitEvidence.departure, VisitEvidence.trail)
            .where(VisitEvidence.device_id == agent_day.device_id)).one()
    times = [datetime.fromisoformat(t) for t, _, _ in trail]
    assert times == sorted(times)
    # Up to 15 minutes either side of the stop: the whole of this short day's track, 09:00 to 09:11.
    assert (times[0], times[-1]) == (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 11, tzinfo=UTC))
    assert sum(arrival <= t <= departure for t in times) >= 25
    assert all(abs(lat - 50.37) < 0.05 and abs(lon + 4.13) < 0.1 for _, lat, lon in trail)


def test_re_running_a_day_changes_nothing(agent_day) -> None:
    for _ in range(2):
        with session_scope() as db:
            record_day_evidence(db, DAY, agent_day.agent_id)
    first_evidence, first_unmatched = evidence_rows(agent_day.device_id), unmatched_rows(agent_day.device_id)
    with session_scope() as db:
        record_day_evidence(db, DAY)  # the whole day, every phone: this one's rows are the same
    assert evidence_rows(agent_day.device_id) == first_evidence and len(first_evidence) == 1
    assert unmatched_rows(agent_day.device_id) == first_unmatched and len(first_unmatched) == 1


def plan(agent_id: int, case_ids: list[int]) -> None:
    """A plan run of DAY giving the agent a route through ``case_ids`` (as dispatch stores one)."""
    with session_scope() as db:
        run = PlanRun(day=DAY, region=None, created_by="test", time_limit_s=1.0)
        db.add(run)
        db.flush()
        here = "SRID=4326;POINT(-4.1427 50.3713)"
        db.add(PlanRoute(run_id=run.id, agent_id=agent_id, shift_start=T0, shift_end=T0 + timedelta(hours=8),
                         start_point=here, end_point=here, distance_m=0.0, duration_s=0,
                         path="SRID=4326;LINESTRING(-4.1427 50.3713, -4.1427 50.3713)"))
        for seq, case_id in enumerate(case_ids, start=1):
            case = db.get(Case, case_id)
            db.add(PlanVisit(run_id=run.id, agent_id=agent_id, case_id=case_id, buyer_id=case.buyer_id, seq=seq,
                             eta=T0, etd=T0, window_start=T0, window_end=T0 + timedelta(hours=8), service_s=600,
                             location=here))


def test_a_stop_matches_a_visit_of_the_agents_current_plan_even_of_another_firms_case(agent_day) -> None:
    def matched() -> list[int | None]:
        with session_scope() as db:
            return [s.match.case.case_id if s.match else None for s in day_stops(db, DAY, agent_day.agent_id)]

    plan(agent_day.agent_id, [agent_day.visited_case, agent_day.other_firm_case])
    assert matched() == [agent_day.visited_case, agent_day.other_firm_case]
    # A later run that no longer plans the second case replaces the plan: the case is not the agent's.
    plan(agent_day.agent_id, [agent_day.visited_case])
    assert matched() == [agent_day.visited_case, None]


# --- evidence attaches to the agent's visit records [R-VISIT-EVIDENCE] --------------------------------

def report_visit(day: AgentDay, case_id: int, arrived: datetime, departed: datetime | None) -> int:
    """The agent's own report of a visit (what ``POST /visits`` stores)."""
    with session_scope() as db:
        return record_visit(db, case_id=case_id, outcome="no_contact", arrived_at=arrived, departed_at=departed,
                            actor="user:agent", agent_id=day.agent_id, acknowledge_breach=True).visit.id


def gps_of(visit_id: int) -> tuple:
    with session_scope() as db:
        v = db.get(Visit, visit_id)
        return v.gps_arrived_at, v.gps_departed_at, v.gps_verified


@pytest.mark.parametrize("arrived, departed, verified", [
    # The GPS stop at the door runs about 09:00:34 to 09:05:34.
    (datetime(2026, 3, 2, 9, 2, tzinfo=UTC), datetime(2026, 3, 2, 9, 9, tzinfo=UTC), True),
    (datetime(2026, 3, 2, 8, 56, tzinfo=UTC), datetime(2026, 3, 2, 9, 5, tzinfo=UTC), True),
    (datetime(2026, 3, 2, 9, 2, tzinfo=UTC), datetime(2026, 3, 2, 9, 12, tzinfo=UTC), False),
    (datetime(2026, 3, 2, 9, 7, tzinfo=UTC), datetime(2026, 3, 2, 9, 8, tzinfo=UTC), False),
    (datetime(2026, 3, 2, 9, 2, tzinfo=UTC), None, False),
])
def test_a_visit_is_gps_verified_only_when_reported_and_gps_times_agree_within_5_minutes(
        agent_day, policies_loaded, arrived, departed, verified) -> None:
    visit = report_visit(agent_day, agent_day.visited_case, arrived, departed)
    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_day.agent_id)
    assert result.visits_verified == int(verified)
    [evidence] = evidence_rows(agent_day.device_id)
    gps_arrived, gps_departed, is_verified = gps_of(visit)
    assert (gps_arrived, gps_departed) == (evidence[2], evidence[3])
    assert is_verified is verified


def test_a_visit_with_no_gps_stop_at_its_case_is_not_verified(agent_day, policies_loaded) -> None:
    # The agent reports a visit to the case 200 m from where the phone stopped.
    visit = report_visit(agent_day, agent_day.distant_case, datetime(2026, 3, 2, 9, 7, tzinfo=UTC),
                         datetime(2026, 3, 2, 9, 10, tzinfo=UTC))
    with session_scope() as db:
        assert record_day_evidence(db, DAY, agent_day.agent_id).visits_verified == 0
    assert gps_of(visit) == (None, None, False)


def test_gps_verified_is_the_5_minute_rule() -> None:
    t = datetime(2026, 3, 2, 9, tzinfo=UTC)
    five = timedelta(minutes=5)
    assert gps_verified(t, t + 2 * five, t + five, t + 3 * five)
    assert not gps_verified(t, t + 2 * five, t + five + timedelta(seconds=1), t + 2 * five)
    assert not gps_verified(t, None, t, t + five)


def test_linked_warrants_at_the_door_share_one_evidence_row_on_the_leading_case(agent_day,
                                                                                policies_loaded) -> None:
    with session_scope() as db:
        visited = db.get(Case, agent_day.visited_case)
        second = make_case(db, visited.buyer, address=visited.address, debtor=visited.debtor,
                           received_on=date(2026, 2, 1),
                           assigned_subcontractor_id=visited.assigned_subcontractor_id)
        assert second.linked_group is not None and not second.is_leading and db.get(Case, visited.id).is_leading
        second_id = second.id
    visit = report_visit(agent_day, second_id, datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
                         datetime(2026, 3, 2, 9, 6, tzinfo=UTC))
    with session_scope() as db:
        assert record_day_evidence(db, DAY, agent_day.agent_id).visits_verified == 1
    assert [row[0] for row in evidence_rows(agent_day.device_id)] == [agent_day.visited_case]
    assert gps_of(visit)[2] is True
