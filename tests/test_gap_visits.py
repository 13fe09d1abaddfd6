"""Planned visits inferred from a distance-reporting phone's silent gaps (tracking.gap_visits; issue 11
"Stops and visit evidence", R-VISIT-EVIDENCE): the gap's time, the phone's moving speed and its
reporting distance must leave room for the detour to the door and a dwell of at least 60 s, only the
agent's planned visits are candidates, and route order must pick one. Pure on hand-made tracks in
Plymouth (an iOS-like phone reporting every 100 m at 10 m/s), then through ``record_day_evidence`` in
real PostGIS."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import geodata
from core import add_device, connect_redis, raw_connection, session_scope
from core.models import Agent
from tests.case_world import make_agent, make_buyer, make_case
from tests.helpers import unique
from tests.test_evidence import DAY, evidence_rows, lon_lat, plan, unmatched_rows
from tests.tracks import ORIGIN_X, ORIGIN_Y, T0, Drive, Dwell, make_track
from tracking import (
    CaseAddress,
    Decoded,
    Fix,
    GapVisit,
    GpsFix,
    GpsStore,
    Received,
    day_stops,
    gap_visits,
    record_day_evidence,
    silent_gaps,
)

SPEED = 10.0


def fix(t_s: float, dx: float, dy: float, speed: float = SPEED, accuracy: float = 15.0) -> Fix:
    lon, lat = geodata.to_wgs84(ORIGIN_X + dx, ORIGIN_Y + dy)
    return Fix(T0 + timedelta(seconds=t_s), float(lat), float(lon), accuracy, speed)


def door(case_id: int, dx: float, dy: float, planned: bool = True) -> CaseAddress:
    return CaseAddress(case_id, f"{case_id} Test Street", "PL1 2AA", ORIGIN_X + dx, ORIGIN_Y + dy, planned)


def drive(x0: float, x1: float, t0: float) -> list[Fix]:
    """Fixes every 100 m along the x axis from x0 to x1 (inclusive) at SPEED, the first at t0."""
    return [fix(t0 + (x - x0) / SPEED, x, 0.0) for x in range(int(x0), int(x1) + 1, 100)]


def track_with_gap(t_after: float, after_x: float = 600.0) -> list[Fix]:
    """Driving east to x=500 (t=50), silence, then a fix at ``after_x`` at ``t_after`` and driving on."""
    return drive(0, 500, 0) + drive(after_x, after_x + 500, t_after)


def visits(track: list[Fix], route: list[CaseAddress], evidenced=None, claimed=()) -> list[GapVisit]:
    return gap_visits(silent_gaps(track, "phone-1"), route, evidenced or {}, claimed)


def test_a_one_visit_gap_is_that_planned_visit_with_its_times_and_the_nearest_fix_distance() -> None:
    """The agent turned off at x=500 (t=50) to a door 85 m away, stood there 120 s, and drove on to
    x=600 (72 m from the door): arrival is A's time plus 85 m at 10 m/s, departure B's time less 72 m."""
    d = door(7, 560, 60)
    t_b = 50 + 84.85 / SPEED + 120 + 72.11 / SPEED  # 186 s
    found = visits(track_with_gap(t_b), [d])
    assert [v.case.case_id for v in found] == [7]
    v = found[0]
    assert abs((v.arrival - T0).total_seconds() - 58.49) < 0.5
    assert abs((v.departure - T0).total_seconds() - 178.5) < 0.5
    assert v.distance_m == pytest.approx(72.11, abs=0.5)
    assert v.nearest.ts == T0 + timedelta(seconds=t_b)
    assert v.gap.before.ts == T0 + timedelta(seconds=50)


def test_two_plausible_visits_the_plan_order_cannot_decide_make_none() -> None:
    """Doors 85 m north and south of the road both fit the gap. When the next visit of the route is
    elsewhere, nothing says which of the two the agent went to; when one of them is next, it is."""
    gap_track = track_with_gap(190)
    north, south, elsewhere = door(1, 560, 60), door(2, 560, -60), door(3, 3000, 2000)
    assert visits(gap_track, [elsewhere, north, south]) == []
    assert [v.case.case_id for v in visits(gap_track, [south, north])] == [2]
    assert [v.case.case_id for v in visits(gap_track, [north, south])] == [1]


def test_a_door_the_gap_fits_far_better_than_the_next_one_is_taken_the_next_having_been_missed() -> None:
    """The next door of the route (112 m from A, a 248 m detour) fits the gap, but the one after it
    lies on the road (a 102 m detour): shorter by more than the fixes' errors (2 x (15 + 15) m) can
    explain, so the agent was at the later door and the next one's visit was missed earlier. Doors
    whose detours differ by less than that (128 m and 156 m) are left to route order."""
    gap_track = track_with_gap(190)
    far, near = door(1, 520, 110), door(2, 550, 10)
    assert [v.case.case_id for v in visits(gap_track, [far, near])] == [2]
    assert [v.case.case_id for v in visits(gap_track, [near, far])] == [2]
    off, nearer = door(3, 550, 60), door(4, 550, 40)
    assert [v.case.case_id for v in visits(gap_track, [off, nearer])] == [3]


def test_a_gap_too_short_for_the_detour_to_the_door_makes_none() -> None:
    """An 80 s gap over 100 m at 10 m/s leaves 70 s of standing: enough for a door on the road
    (100 m of driving and 70 s there), not for one 100 m off it (224 m: 22 s, leaving 58 s)."""
    gap_track = track_with_gap(130)
    assert len(silent_gaps(gap_track)) == 1
    assert visits(gap_track, [door(1, 560, 100)]) == []
    assert [v.case.case_id for v in visits(gap_track, [door(2, 550, 0)])] == [2]


def test_a_40_s_junction_wait_is_no_silent_gap_and_no_visit() -> None:
    """Halting 40 s at a junction between two fixes 100 m apart: 50 s apart, 40 s unexplained."""
    junction = track_with_gap(100)
    assert silent_gaps(junction) == []
    assert visits(junction, [door(1, 550, 0)]) == []
    assert [v.case.case_id for v in visits(track_with_gap(130), [door(1, 550, 0)])] == [1]


def test_an_unplanned_case_is_never_inferred_from_a_gap() -> None:
    gap_track = track_with_gap(190)
    assert visits(gap_track, [door(1, 560, 60, planned=False)]) == []
    assert [v.case.case_id for v in visits(gap_track, [door(1, 560, 60)])] == [1]


def test_a_visit_already_evidenced_or_a_gap_that_gave_a_matched_stop_is_not_used_again() -> None:
    """Spans are a matched stop's first and last fix. A stop of fix A alone (placed there by the
    detector for the silent wait) or one with fixes on both sides claims the gap; a stop at a previous
    door whose last fix is A does not."""
    gap_track = track_with_gap(190)
    d = door(1, 560, 60)
    a_ts, b_ts = T0 + timedelta(seconds=50), T0 + timedelta(seconds=190)
    assert visits(gap_track, [d], evidenced={1: (a_ts, a_ts)}) == []
    assert visits(gap_track, [d], claimed=[(a_ts, a_ts)]) == []
    assert visits(gap_track, [d], claimed=[(b_ts, b_ts)]) == []
    assert visits(gap_track, [d], claimed=[(a_ts - timedelta(seconds=40), b_ts)]) == []
    ends_at_a = (a_ts - timedelta(minutes=10), a_ts)
    assert [v.case.case_id for v in visits(gap_track, [d], claimed=[ends_at_a])] == [1]


def test_cases_at_one_address_point_are_left_to_the_stops() -> None:
    """Two cases share a postcode centroid: a stop evidencing one leaves the other to no gap, and a
    gap taken for the first passes over the second (the next visit of the route then comes first)."""
    first, second, third = door(1, 600, 60), door(2, 600, 60), door(3, 750, 60)
    earlier = (T0 - timedelta(minutes=20), T0 - timedelta(minutes=15))
    assert visits(track_with_gap(190), [first, second], evidenced={1: earlier}) == []
    # Silent from x=500 (t=50) to x=600 (t=190), and again from x=700 (t=200) to x=800 (t=400): the
    # shared point fits both gaps, the third door only the second.
    two_gaps = drive(0, 500, 0) + [fix(190, 600, 0), fix(200, 700, 0)] + drive(800, 1300, 400)
    found = visits(two_gaps, [first, second, third])
    assert [(v.case.case_id, v.gap.before.ts) for v in found] == [
        (1, T0 + timedelta(seconds=50)), (3, T0 + timedelta(seconds=200))]


def test_a_gap_outside_the_route_window_between_evidenced_visits_makes_none() -> None:
    """Route: 1, 2, 3; 1 and 3 are evidenced before the gap, so 2 was visited before 3, not in it."""
    gap_track = track_with_gap(190)
    before = (T0 - timedelta(minutes=30), T0 - timedelta(minutes=25))
    earlier = (T0 - timedelta(minutes=20), T0 - timedelta(minutes=15))
    route = [door(1, -3000, 0), door(2, 560, 60), door(3, -2000, 0)]
    assert visits(gap_track, route, evidenced={1: before, 3: earlier}) == []
    assert [v.case.case_id for v in visits(gap_track, route, evidenced={1: before})] == [2]


def test_a_door_beyond_the_phones_reporting_distance_from_the_fix_before_makes_none() -> None:
    """The phone reports every 100 m: a door 300 m from A would have made it report on the way."""
    gap_track = track_with_gap(400)
    assert visits(gap_track, [door(1, 500, 300)]) == []
    assert [v.case.case_id for v in visits(gap_track, [door(1, 500, 120)])] == [1]


def test_a_wait_the_phone_reported_standing_still_away_from_the_door_is_not_a_visit() -> None:
    """A lunch stop 500 m from the door: the 5-minute timer's fixes there report a still phone."""
    lunch = drive(0, 500, 0) + [fix(350, 500, 0, speed=0.0), fix(650, 500, 0, speed=0.0)] + drive(600, 1100, 700)
    assert visits(lunch, [door(1, 500, 120)]) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_android_phone_never_uses_this_path(seed: int) -> None:
    """A 10-second phone has no segment longer than the detector's dense gap: its short visits are in
    its fixes, and no gap is inferred even with every door of its round planned."""
    legs = [Drive(600, 0), Dwell(90), Drive(600, 700), Dwell(30, door=False), Drive(600, 1400), Dwell(200),
            Drive(1500, 1400)]
    track = make_track(legs, "android", noise_m=15.0, seed=seed)
    route = [door(i, s.x - ORIGIN_X, s.y - ORIGIN_Y) for i, s in enumerate(track.stops, start=1)]
    assert silent_gaps(track.fixes) == []
    assert visits(track.fixes, route) == []
    ios = make_track(legs, "ios", noise_m=15.0, seed=seed)
    assert silent_gaps(ios.fixes)  # the same round on an iOS phone does fall silent


# --- through day_stops and record_day_evidence, in the database -----------------------------------

@pytest.fixture
def ios_day(geodata_loaded) -> tuple[int, str, int]:
    """An iOS phone (100 m or 5 min) drives east from Royal Parade, turns off at x=500 to a door 94 m
    away, stands there 2 minutes unheard, and drives on: its fixes before and after the visit are the
    door's 94 m away, so the detector's stop is placed beyond the 75 m of evidence. The door is a case
    of the agent's firm. Returns (agent id, device id, case id)."""
    track = make_track([Drive(500, 0, 10), Drive(550, 80, 10), Dwell(120), Drive(600, 0, 10), Drive(1500, 0, 10)],
                       "ios", noise_m=3.0, seed=4)
    with session_scope() as db:
        agent = make_agent(db)
        device, _ = add_device(db, device_id=unique("iphone"), actor="test", agent_reference=agent.reference,
                               secret="s" * 16)
        case = make_case(db, make_buyer(db), at=lon_lat(550, 80), postcode="PL1 1EA",
                         assigned_subcontractor_id=agent.subcontractor_id)
        made = (agent.id, device.device_id, case.id)
    fixes = [GpsFix(made[1], made[0], f.ts, f.lon, f.lat, f.accuracy_m, f.speed_mps) for f in track.fixes]
    with raw_connection() as conn:
        GpsStore(conn, connect_redis()).commit(
            [Received(f"agents/{made[0]}/gps", b"{}", datetime.now(UTC), Decoded(fixes))])
    return made


def test_a_planned_visit_in_a_silent_gap_is_stored_as_evidence_in_place_of_the_stop_at_the_fix(ios_day) -> None:
    """R-VISIT-EVIDENCE: with the case on the agent's plan the gap is evidence of it, source ``fixes``,
    its distance the nearest fix's (94 m), resting on the gap's two fixes; the unmatched stop the
    detector placed at the fix is gone. Off the plan the same case gets nothing."""
    agent_id, device_id, case_id = ios_day
    with session_scope() as db:
        before = day_stops(db, DAY, agent_id)
    assert [s.match for s in before] == [None]  # the firm's case alone: no inference

    plan(agent_id, [case_id])
    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_id)
    assert (result.evidence, result.unmatched) == (1, 0)
    [(case, agent, arrival, departure, dwell_s, _line, postcode, distance_m, fix_count, _acc, source)] = \
        evidence_rows(device_id)
    assert (case, agent, postcode, source, fix_count) == (case_id, agent_id, "PL1 1EA", "fixes", 2)
    assert 85 < distance_m < 105
    true_arrival, true_departure = T0 + timedelta(seconds=50 + 94 / 10), T0 + timedelta(seconds=50 + 9.4 + 120)
    assert abs((arrival - true_arrival).total_seconds()) < 15
    assert abs((departure - true_departure).total_seconds()) < 15
    assert dwell_s == round((departure - arrival).total_seconds())
    assert unmatched_rows(device_id) == []
    with session_scope() as db:
        record_day_evidence(db, DAY, agent_id)
    assert len(evidence_rows(device_id)) == 1 and unmatched_rows(device_id) == []  # re-running: the same


def test_a_stop_at_a_gaps_fix_matched_to_an_unplanned_case_gives_way_to_the_planned_visit_the_gap_fits(
        ios_day) -> None:
    """R-VISIT-EVIDENCE: another open case of the firm stands where the phone reported before or after
    the visit, so the detector's stop at that fix matches it; the stop is placed where the phone
    happened to report, not where the agent stood, and the planned door the gap fits is the visit:
    one evidence row, of the planned case, and none of the unplanned one."""
    agent_id, device_id, case_id = ios_day
    with session_scope() as db:
        [stop] = day_stops(db, DAY, agent_id)
        agent = db.get(Agent, agent_id)
        neighbour = make_case(db, make_buyer(db), at=(stop.stop.lon, stop.stop.lat), postcode="PL1 1EB",
                              assigned_subcontractor_id=agent.subcontractor_id).id
    with session_scope() as db:
        assert [s.match.case.case_id for s in day_stops(db, DAY, agent_id)] == [neighbour]

    plan(agent_id, [case_id])
    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_id)
    assert (result.evidence, result.unmatched) == (1, 0)
    assert [row[0] for row in evidence_rows(device_id)] == [case_id]


def test_a_stop_of_one_fix_sent_driving_gives_way_to_the_planned_visit_the_gap_fits(ios_day) -> None:
    """R-VISIT-EVIDENCE: the next planned case of the route stands 60 m on along the road from the
    fix the detector placed its stop at, so that stop of one fix, sent at driving speed, matches it;
    the agent was driving there, and the door the gap fits first in route order is the visit. The
    stop is replaced, not kept beside it: one evidence row, of the door."""
    agent_id, _device, case_id = ios_day
    with session_scope() as db:
        [stop] = day_stops(db, DAY, agent_id)
        assert stop.stop.fix_count == 1
        x, y = geodata.to_bng(stop.stop.lon, stop.stop.lat)
        door_x = geodata.to_bng(*lon_lat(550, 80))[0]
        on = 60.0 if x > door_x else -60.0
        agent = db.get(Agent, agent_id)
        next_case = make_case(db, make_buyer(db), at=tuple(float(v) for v in geodata.to_wgs84(x + on, y)),
                              postcode="PL1 1EB", assigned_subcontractor_id=agent.subcontractor_id).id
    plan(agent_id, [case_id, next_case])
    with session_scope() as db:
        stops = day_stops(db, DAY, agent_id)
    assert [s.match.case.case_id for s in stops] == [case_id]
    assert stops[0].stop.fix_count == 2  # the gap's two fixes
