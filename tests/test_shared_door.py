"""Several planned visits of one agent at one address point (issue 11 "Stops and visit evidence";
R-VISIT-EVIDENCE): flats in one block, or warrants geocoded to one postcode centroid, are one stop to
GPS. The stop is split at the walks the phone's speeds show, its parts going to the cases in plan order;
when no walk is visible each case gets the whole span; a case alone at its point is matched as before.
Pure tests on synthetic phones, then record_day_evidence on real PostGIS."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import geodata
from core import add_device, connect_redis, raw_connection, session_scope
from core.models import VisitEvidence
from tests.case_world import make_agent, make_buyer, make_case
from tests.helpers import unique
from tests.test_evidence import DAY, AgentDay, gps_of, lon_lat, plan, report_visit
from tests.tracks import ORIGIN_X, ORIGIN_Y, Drive, Dwell, Track, make_track
from tracking import (
    CaseAddress,
    Decoded,
    GpsFix,
    GpsStore,
    Received,
    Stop,
    detect_stops,
    match_stop,
    match_stops,
    place_groups,
    record_day_evidence,
)

DOOR = (420.0, 0.0)  # metres from the origin
CAR = (400.0, 10.0)  # where the agent parks, 22 m from the door


def door_visits(dwells: list[int], *, mode: str = "android", report_speed: bool = True, seed: int = 5) -> Track:
    """Drive to the car, then for each dwell walk to the door, stand there, walk back to the car; sit
    in it a few seconds between visits; drive off."""
    legs: list[Drive | Dwell] = [Drive(*CAR)]
    for n, seconds in enumerate(dwells):
        legs += [Drive(*DOOR, 1.3), Dwell(seconds), Drive(*CAR, 1.3)]
        if n < len(dwells) - 1:
            legs.append(Dwell(8, door=False))
    return make_track(legs + [Drive(1500, 0)], mode=mode, report_speed=report_speed, seed=seed)


def at_door(case_id: int, seq: int | None, dx: float = 0.0) -> CaseAddress:
    return CaseAddress(case_id, f"{case_id} Tower Block", "PL1 2AA", ORIGIN_X + DOOR[0] + dx, ORIGIN_Y + DOOR[1],
                       planned=seq is not None, seq=seq)


def centred(stops: list[Stop]) -> list[tuple[Stop, float, float]]:
    return [(s, *(float(v) for v in geodata.to_bng(s.lon, s.lat))) for s in stops]


def off_s(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds())


def test_two_planned_visits_at_one_point_split_at_the_walk_in_plan_order() -> None:
    track = door_visits([180, 240])
    [stop] = detect_stops(track.fixes)
    assert len(stop.still) == 2
    # Case 7 comes first in the plan although its id is higher: the plan's order decides.
    [cases] = match_stops(centred([stop]), [at_door(9, 2), at_door(7, 1)])
    assert [c.match.case.case_id for c in cases] == [7, 9]
    for case, truth in zip(cases, track.stops):
        assert off_s(case.arrival, truth.arrival) <= 30 and off_s(case.departure, truth.departure) <= 30
        assert not case.shared
    assert [(c.opens, c.closes) for c in cases] == [(True, False), (False, True)]


def test_three_planned_visits_at_one_point_each_get_their_own_times() -> None:
    track = door_visits([180, 240, 90], seed=11)
    [cases] = match_stops(centred(detect_stops(track.fixes)), [at_door(1, 4), at_door(2, 5), at_door(3, 6)])
    assert [c.match.case.case_id for c in cases] == [1, 2, 3]
    for case, truth in zip(cases, track.stops):
        assert off_s(case.arrival, truth.arrival) <= 30 and off_s(case.departure, truth.departure) <= 30
    assert cases[0].departure < cases[1].arrival < cases[1].departure < cases[2].arrival


def test_when_no_walk_is_visible_each_case_gets_the_whole_span_and_no_invented_times() -> None:
    for track in (door_visits([180, 240], report_speed=False), door_visits([180, 240], mode="ios")):
        stops = detect_stops(track.fixes)
        [cases] = match_stops(centred(stops), [at_door(1, 1), at_door(2, 2)])
        assert [c.match.case.case_id for c in cases] == [1, 2]
        assert all(c.shared for c in cases)
        (a1, d1), (a2, d2) = ((c.arrival, c.departure) for c in cases)
        assert (a1, d1) == (a2, d2)
        # The span holds both true visits: the agent was demonstrably at the address all along.
        assert a1 <= track.stops[0].arrival + timedelta(seconds=30)
        assert d1 >= track.stops[1].departure - timedelta(seconds=30)


def test_a_case_alone_at_its_point_is_matched_as_before() -> None:
    track = door_visits([180, 240])
    [stop] = detect_stops(track.fixes)
    centre = centred([stop])
    # An unplanned case at the same point has no plan order to share by, and a planned one 30 m away
    # that the plan does not visit next is another address, told apart by the stop's centre.
    addresses = [at_door(1, 1), at_door(2, None), at_door(3, 3, dx=30.0)]
    [[case]] = match_stops(centre, addresses)
    assert case.match == match_stop(centre[0][1], centre[0][2], addresses)
    assert (case.arrival, case.departure, case.shared) == (stop.arrival, stop.departure, False)


def test_only_planned_cases_at_one_point_or_next_in_the_plan_next_door_share_a_place() -> None:
    groups = place_groups([at_door(1, 3), at_door(2, 1, dx=4.0), at_door(3, 7, dx=8.0), at_door(4, None),
                           at_door(5, 5, dx=-35.0), at_door(6, 8, dx=45.0), at_door(7, 9, dx=100.0)])
    # 1-2 and 2-3 are within 5 m: one chain, in plan order; the unplanned is not in it, nor 5 (35 m
    # the other way, not next in the plan to any of them). 6 is 37 m from 3 and visited right after it; 7 is
    # next after 6 but 55 m away.
    assert [c.case_id for c in groups[1]] == [2, 1, 3, 6]
    assert set(groups) == {1, 2, 3, 6}


def test_next_door_visits_in_one_stop_split_at_the_walk_between_them() -> None:
    # Two doors 36 m apart, the car between them: the agent visits one, walks back, visits the other.
    legs = [Drive(*CAR), Drive(*DOOR, 1.3), Dwell(200), Drive(*CAR, 1.3), Dwell(8, door=False),
            Drive(390, 40, 1.3), Dwell(150), Drive(*CAR, 1.3), Drive(1500, 0)]
    track = make_track(legs, seed=9)
    [stop] = detect_stops(track.fixes)
    other = CaseAddress(2, "2 Next Street", "PL1 2AB", ORIGIN_X + 390, ORIGIN_Y + 40, planned=True, seq=6)
    [cases] = match_stops(centred([stop]), [at_door(1, 5), other])
    assert [c.match.case.case_id for c in cases] == [1, 2]
    for case, truth in zip(cases, track.stops):
        assert off_s(case.arrival, truth.arrival) <= 30 and off_s(case.departure, truth.departure) <= 30


def test_a_point_visited_twice_in_the_day_gives_each_stop_its_cases_in_plan_order() -> None:
    track = make_track([Drive(*CAR), Drive(*DOOR, 1.3), Dwell(200), Drive(*CAR, 1.3), Drive(1200, 0), Dwell(300),
                        Drive(*CAR), Drive(*DOOR, 1.3), Dwell(150), Drive(*CAR, 1.3), Drive(-500, 0)], seed=4)
    stops = detect_stops(track.fixes)
    far = CaseAddress(8, "8 Far Road", "PL1 3AA", ORIGIN_X + 1200, ORIGIN_Y, planned=True, seq=2)
    found = match_stops(centred(stops), [at_door(5, 3), far, at_door(4, 1)])
    assert [[c.match.case.case_id for c in cases] for cases in found] == [[4], [8], [5]]
    assert all(off_s(cases[0].arrival, t.arrival) <= 30 for cases, t in zip(found, track.stops))


def test_a_distance_reporting_phone_back_at_a_place_after_a_break_shares_its_cases_by_time_spent() -> None:
    """A phone reporting every 100 m or 5 min shows no walk between doors: six flats at one point,
    visited 10 minutes before a break elsewhere and 20 after. The stops take the cases in plan order in
    proportion to their length (two, then four), each case the whole span of its stop, not the first
    stop one case and the second the other five."""
    legs = [Drive(*CAR), Drive(*DOOR, 1.3), Dwell(600), Drive(*CAR, 1.3), Drive(1500, 0), Dwell(900, door=False),
            Drive(*CAR), Drive(*DOOR, 1.3), Dwell(1200), Drive(*CAR, 1.3), Drive(-800, 0)]
    track = make_track(legs, mode="ios", seed=3)
    stops = centred(detect_stops(track.fixes))
    addresses = [at_door(case, seq) for case, seq in zip(range(11, 17), range(1, 7))]
    found = [cases for cases in match_stops(stops, addresses) if cases]
    assert [[c.match.case.case_id for c in cases] for cases in found] == [[11, 12], [13, 14, 15, 16]]
    for cases, truth in zip(found, track.stops):
        assert all(c.shared and (c.arrival, c.departure) == (cases[0].arrival, cases[0].departure) for c in cases)
        assert cases[0].arrival <= truth.arrival + timedelta(seconds=60)
        assert cases[0].departure >= truth.departure - timedelta(seconds=60)


def test_an_android_walk_seen_in_one_fix_still_gives_each_stop_its_own_count() -> None:
    """Two flats before a break and one after, on a 10-second phone whose walk between the first two
    shows as a single brisk fix: the first stop takes two cases, the one after the break the third."""
    track = make_track([Drive(*CAR), Drive(*DOOR, 1.3), Dwell(180), Drive(*CAR, 1.3), Dwell(8, door=False),
                        Drive(*DOOR, 1.3), Dwell(240), Drive(*CAR, 1.3), Drive(1500, 0), Dwell(900, door=False),
                        Drive(*CAR), Drive(*DOOR, 1.3), Dwell(200), Drive(*CAR, 1.3), Drive(-800, 0)], seed=2)
    first, second = track.stops[0], track.stops[1]
    walk = [f for f in track.fixes if first.departure < f.ts < second.arrival]
    fixes = [f if f not in walk else replace(f, speed_mps=1.7 if f is walk[len(walk) // 2] else 0.3)
             for f in track.fixes]
    found = [cases for cases in match_stops(centred(detect_stops(fixes)), [at_door(1, 1), at_door(2, 2),
                                                                           at_door(3, 3)]) if cases]
    assert [[c.match.case.case_id for c in cases] for cases in found] == [[1, 2], [3]]
    for case, truth in zip(found[0] + found[1], track.stops):
        assert off_s(case.arrival, truth.arrival) <= 30 and off_s(case.departure, truth.departure) <= 30


def test_a_stop_whose_still_periods_stand_at_two_addresses_is_evidence_for_each_at_its_own_times() -> None:
    """Two planned doors 60 m apart (beyond next door) and the car between them: one stop to the
    detector, centred between the doors. Each still period is placed at the mean of its fixes, so the
    visit at each door is evidence for that door's case with its own times, not the whole stop for
    whichever door the centre is nearer."""
    legs = [Drive(*CAR), Drive(370, 10, 1.3), Dwell(200), Drive(*CAR, 1.3), Dwell(8, door=False),
            Drive(430, 10, 1.3), Dwell(150), Drive(*CAR, 1.3), Drive(1500, 0)]
    track = make_track(legs, seed=9)
    [stop] = detect_stops(track.fixes)
    west = CaseAddress(1, "1 West Row", "PL1 2AB", ORIGIN_X + 370, ORIGIN_Y + 10, planned=True, seq=3)
    east = CaseAddress(2, "2 East Row", "PL1 2AB", ORIGIN_X + 430, ORIGIN_Y + 10, planned=True, seq=4)
    [cases] = match_stops(centred([stop]), [east, west])
    assert [c.match.case.case_id for c in cases] == [1, 2]
    for case, truth in zip(cases, track.stops):
        assert off_s(case.arrival, truth.arrival) <= 30 and off_s(case.departure, truth.departure) <= 30
        assert case.match.distance_m <= 15 and not case.shared
    assert [(c.opens, c.closes) for c in cases] == [(True, False), (False, True)]


# --- through record_day_evidence (real PostGIS) ------------------------------------------------------

def store_fixes(device_id: str, agent_id: int, track: Track) -> None:
    fixes = [GpsFix(device_id, agent_id, f.ts, f.lon, f.lat, f.accuracy_m, f.speed_mps) for f in track.fixes]
    with raw_connection() as conn:
        GpsStore(conn, connect_redis()).commit(
            [Received(f"agents/{agent_id}/gps", b"{}", datetime.now(UTC), Decoded(fixes))])


def two_flats(report_speed: bool, dwells: tuple[int, int] = (180, 240)) -> tuple[str, int, list[int], Track]:
    track = door_visits(list(dwells), report_speed=report_speed, seed=7)
    with session_scope() as db:
        agent = make_agent(db)
        device, _ = add_device(db, device_id=unique("phone"), actor="test", agent_reference=agent.reference,
                               secret="s" * 16)
        buyer = make_buyer(db)
        firm = {"assigned_subcontractor_id": agent.subcontractor_id}
        cases = [make_case(db, buyer, at=lon_lat(*DOOR), debtor_name=name, **firm).id
                 for name in ("Flat One", "Flat Two")]
        agent_id, device_id = agent.id, device.device_id
    plan(agent_id, cases[::-1])  # the plan visits the second case first
    store_fixes(device_id, agent_id, track)
    return device_id, agent_id, cases[::-1], track


def rows(device_id: str) -> list[tuple]:
    with session_scope() as db:
        return db.execute(select(VisitEvidence.case_id, VisitEvidence.arrival, VisitEvidence.departure,
                                 VisitEvidence.dwell_s, VisitEvidence.fix_count, VisitEvidence.postcode)
                          .where(VisitEvidence.device_id == device_id).order_by(VisitEvidence.arrival,
                                                                                VisitEvidence.case_id)).all()


def test_r_visit_evidence_two_flats_at_one_point_are_two_evidence_rows_and_a_re_run_changes_nothing(
        geodata_loaded, policies_loaded) -> None:
    device_id, agent_id, in_plan_order, track = two_flats(report_speed=True)
    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_id)
    assert (result.evidence, result.unmatched) == (2, 0)
    first = rows(device_id)
    assert [r[0] for r in first] == in_plan_order
    for (_, arrival, departure, dwell_s, fix_count, postcode), truth in zip(first, track.stops):
        assert off_s(arrival, truth.arrival) <= 30 and off_s(departure, truth.departure) <= 30
        assert dwell_s == round((departure - arrival).total_seconds()) and postcode == "PL1 2AA"
        assert 0 < fix_count <= dwell_s / 10 + 1  # the part's own fixes, not the whole stop's
    for _ in range(2):
        with session_scope() as db:
            record_day_evidence(db, DAY, agent_id)
    assert rows(device_id) == first


@pytest.mark.parametrize("dwells, verified", [
    ((120, 150), True),   # span about 5.2 min: each reported visit within 5 minutes of both its ends
    ((400, 300), False),  # span about 12.4 min: the first departure and the second arrival are not
])
def test_r_visit_evidence_without_visible_walks_both_flats_share_the_span_verified_only_within_5_minutes(
        geodata_loaded, policies_loaded, dwells, verified) -> None:
    device_id, agent_id, (first_case, second_case), track = two_flats(report_speed=False, dwells=dwells)
    day = AgentDay(agent_id, device_id, first_case, first_case, first_case)
    # Each visit reported as it truly was.
    reported = [report_visit(day, case, t.arrival, t.departure)
                for case, t in zip((first_case, second_case), track.stops)]
    with session_scope() as db:
        assert record_day_evidence(db, DAY, agent_id).evidence == 2
    shared = rows(device_id)
    assert sorted(r[0] for r in shared) == sorted([first_case, second_case])
    assert len({(r[1], r[2]) for r in shared}) == 1  # one span: same device and arrival, two cases
    with session_scope() as db:
        record_day_evidence(db, DAY, agent_id)
    assert rows(device_id) == shared
    span = shared[0][1], shared[0][2]
    assert span[0] <= track.stops[0].arrival + timedelta(seconds=30)
    assert span[1] >= track.stops[1].departure - timedelta(seconds=30)
    assert [gps_of(v) for v in reported] == [(*span, verified)] * 2
