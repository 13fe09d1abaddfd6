"""The agent-day simulator (``sim.generate_agent_day``), pure: movement, phone modes, noise, signal
gaps, messages and the ground truth they are measured against [R-VISIT-EVIDENCE]."""
from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import geodata
import sim
from sim import PayloadForm, PhoneMode, StopKind

# Plymouth city centre; ten visits scattered over a few kilometres, as a planned day.
X0, Y0 = geodata.to_bng(-4.1427, 50.3713)
T0 = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def plan(agent_id: int = 1, n: int = 10, avoid: int = 40) -> sim.AgentPlan:
    rng = np.random.default_rng(agent_id)
    visits = tuple(sim.PlannedVisit(1000 + i, X0 + rng.uniform(-4000, 4000), Y0 + rng.uniform(-4000, 4000),
                                    T0 + timedelta(minutes=40 * i)) for i in range(n))
    others = tuple((X0 + rng.uniform(-5000, 5000), Y0 + rng.uniform(-5000, 5000)) for _ in range(avoid))
    return sim.AgentPlan(agent_id, f"A{agent_id:03d}", f"phone-A{agent_id:03d}", T0, (X0, Y0), (X0 + 500, Y0),
                         visits, others)


@pytest.fixture(scope="module")
def days() -> list[sim.AgentDay]:
    return sim.generate_agent_days([plan(i) for i in range(1, 41)], seed=7)


def of_mode(days, mode: PhoneMode) -> list[sim.AgentDay]:
    found = [d for d in days if d.profile.mode is mode]
    assert found, f"no {mode} phone among the agents"
    return found


def true_xy(day: sim.AgentDay, fixes) -> tuple[np.ndarray, np.ndarray]:
    t0 = day.trajectory.t0
    return day.trajectory.at(np.array([(f.ts - t0).total_seconds() for f in fixes]))


def fix_xy(fixes) -> tuple[np.ndarray, np.ndarray]:
    return geodata.to_bng(np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes]))


def test_the_same_seed_gives_the_same_messages_and_another_seed_does_not() -> None:
    a = sim.generate_agent_day(plan(3), seed=1)
    b = sim.generate_agent_day(plan(3), seed=1)
    c = sim.generate_agent_day(plan(3), seed=2)
    assert [(m.at, m.topic, m.payload) for m in a.messages] == [(m.at, m.topic, m.payload) for m in b.messages]
    assert a.truth == b.truth
    assert [m.payload for m in a.messages] != [m.payload for m in c.messages]


def test_phone_modes_and_payload_forms_are_all_drawn(days) -> None:
    assert {d.profile.mode for d in days} == set(PhoneMode)
    assert {d.profile.form for d in days} == set(PayloadForm)


def test_agents_drive_at_15_to_55_kmh_and_walk_at_walking_pace(days) -> None:
    drive, walk = [], []
    for d in days:
        tr = d.trajectory
        for i in range(1, len(tr.t)):
            dt = tr.t[i] - tr.t[i - 1]
            dist = math.hypot(tr.x[i] - tr.x[i - 1], tr.y[i] - tr.y[i - 1])
            if dt > 0 and dist > 0:
                speed = dist / dt
                (walk if speed < 2 else drive).append(speed * 3.6)
    assert drive and walk
    assert 15.0 - 1e-6 <= min(drive) and max(drive) <= 55.0 + 1e-6
    assert 1.1 * 3.6 - 1e-6 <= min(walk) and max(walk) <= 1.5 * 3.6 + 1e-6


def test_drives_follow_roads_not_straight_lines(days) -> None:
    """Between two doors more than a kilometre apart the agent covers more than the straight line."""
    ratios = []
    for d in days:
        visits = [s for s in d.truth if s.kind is StopKind.visit]
        tr = d.trajectory
        for a, b in itertools.pairwise(visits):
            straight = math.hypot(b.x - a.x, b.y - a.y)
            if straight < 1000:
                continue
            lo, hi = (a.departure - tr.t0).total_seconds(), (b.arrival - tr.t0).total_seconds()
            seconds = np.arange(lo, hi, 1.0)
            x, y = tr.at(seconds)
            ratios.append(np.hypot(np.diff(x), np.diff(y)).sum() / straight)
    assert len(ratios) > 50
    assert min(ratios) > 1.0 and np.median(ratios) > 1.1


def test_the_truth_has_each_planned_visit_at_its_door_in_plan_order_with_a_45_s_to_15_min_dwell(days) -> None:
    for d in days:
        visits = [s for s in d.truth if s.kind is StopKind.visit]
        assert [s.case_id for s in visits] == [v.case_id for v in d.plan.visits]
        for s, v in zip(visits, d.plan.visits):
            assert (s.x, s.y) == (v.x, v.y)
            assert 45.0 - 1e-3 <= s.dwell_s <= 900.0 + 1e-3
            # The agent really stands at the door from arrival to departure, and walked there from a car.
            t = np.array([(s.arrival - d.trajectory.t0).total_seconds() + k for k in (0, s.dwell_s / 2, s.dwell_s)])
            x, y = d.trajectory.at(t)
            assert np.allclose(x, v.x) and np.allclose(y, v.y)
            before = d.trajectory.at(np.array([t[0] - 5.0]))
            assert 0 < math.hypot(before[0][0] - v.x, before[1][0] - v.y) < 40
        stops = sorted(d.truth, key=lambda s: s.arrival)
        assert all(a.departure <= b.arrival for a, b in itertools.pairwise(stops))


def test_junction_halts_are_under_a_minute_and_decoys_keep_away_from_every_case_address(days) -> None:
    junctions = [s for d in days for s in d.truth if s.kind is StopKind.junction]
    assert junctions and max(s.dwell_s for s in junctions) < 60
    decoys = [(d, s) for d in days for s in d.truth if s.kind in (StopKind.fuel, StopKind.lunch)]
    assert {s.kind for _, s in decoys} == {StopKind.fuel, StopKind.lunch}
    for d, s in decoys:
        addresses = list(d.plan.avoid) + [(v.x, v.y) for v in d.plan.visits]
        assert min(math.hypot(s.x - x, s.y - y) for x, y in addresses) >= 250


def test_gps_noise_has_sigma_5_to_30_m_and_outliers_are_100_m_or_more_away(days) -> None:
    scaled, outliers, sigmas = [], [], []
    for d in days:
        tx, ty = true_xy(d, d.fixes)
        fx, fy = fix_xy(d.fixes)
        for f, ex, ey in zip(d.fixes, fx - tx, fy - ty):
            if f.outlier:
                outliers.append(math.hypot(ex, ey))
                continue
            sigma = f.accuracy_m / 1.5  # the reported accuracy is 1.5 sigma
            sigmas.append(sigma)
            scaled += [ex / sigma, ey / sigma]
    assert 5.0 - 0.1 <= min(sigmas) and max(sigmas) <= 30.0 + 0.1
    assert np.std(scaled) == pytest.approx(1.0, abs=0.05) and abs(np.mean(scaled)) < 0.05
    total = len(sigmas) + len(outliers)
    assert 0.003 < len(outliers) / total < 0.02
    assert min(outliers) >= 100.0 - 0.5


def test_android_phones_report_every_9_to_11_s(days) -> None:
    for d in of_mode(days, PhoneMode.android):
        steps = {(b.ts - a.ts).total_seconds() for a, b in zip(d.fixes, d.fixes[1:])}
        assert steps <= {9.0, 10.0, 11.0}


@pytest.mark.parametrize("mode", [PhoneMode.ios, PhoneMode.significant])
def test_distance_phones_report_after_their_distance_or_5_minutes(days, mode) -> None:
    """iOS reports after 100 m or 5 min; significant change after 500 m or 5 min: never a gap over
    5 minutes, and a gap under 5 minutes only once the agent moved the distance."""
    min_move, max_wait = sim.REPORT_RULE[mode]
    moved_reports = 0
    for d in of_mode(days, mode):
        tx, ty = true_xy(d, d.fixes)
        for i in range(1, len(d.fixes)):
            gap = (d.fixes[i].ts - d.fixes[i - 1].ts).total_seconds()
            assert gap <= max_wait
            if gap < max_wait:
                assert math.hypot(tx[i] - tx[i - 1], ty[i] - ty[i - 1]) >= min_move
                moved_reports += 1
    assert moved_reports > 0


def test_fixes_of_a_signal_gap_are_sent_late_in_one_batch(days) -> None:
    batches = 0
    for d in days:
        assert d.gaps
        for g0, g1 in d.gaps:
            inside = [f for f in d.fixes if g0 <= f.ts < g1]
            if not inside:
                continue
            assert len({f.sent_at for f in inside}) == 1 and inside[0].sent_at >= g1
            sent = [m for m in d.messages if m.at == inside[0].sent_at]
            if d.profile.form is PayloadForm.bailiwick:
                assert len(sent) == 1 and sent[0].fixes == len(inside)
                body = json.loads(sent[0].payload)
                assert [fx["ts"] for fx in body["fixes"]] == [f.ts.isoformat() for f in inside]
            else:
                assert [json.loads(m.payload)["tst"] for m in sent] == [int(f.ts.timestamp()) for f in inside]
            batches += 1
        outside = [f for f in d.fixes if not any(g0 <= f.ts < g1 for g0, g1 in d.gaps)]
        assert all(timedelta(0) < f.sent_at - f.ts < timedelta(seconds=3) for f in outside)
    assert batches > 20


def test_messages_are_in_the_two_forms_on_their_topics(days) -> None:
    for d in days:
        m = d.messages[0]
        body = json.loads(m.payload)
        if d.profile.form is PayloadForm.bailiwick:
            assert m.topic == f"agents/{d.plan.agent_id}/gps" and body["device_id"] == d.plan.device_id
            assert set(body["fixes"][0]) == {"ts", "lat", "lon", "accuracy_m", "speed_mps", "heading_deg",
                                             "battery_pct"}
            assert datetime.fromisoformat(body["fixes"][0]["ts"]).utcoffset() is not None
        else:
            assert m.topic.startswith(f"owntracks/{d.plan.device_id}/") and m.topic.count("/") == 2
            assert body["_type"] == "location" and set(body) == {"_type", "tst", "lat", "lon", "acc", "vel", "cog",
                                                                 "batt", "tid"}
        assert sum(x.fixes for x in d.messages) == len(d.fixes)
    merged = sim.all_messages(days)
    assert [m.at for m in merged] == sorted(m.at for m in merged)


def test_a_morning_ends_at_its_cut_off() -> None:
    whole = sim.generate_agent_day(plan(5), seed=1)
    cut = T0 + timedelta(hours=3)
    morning = sim.generate_agent_day(plan(5), seed=1, until=cut)
    assert morning.fixes and all(f.sent_at < cut for f in morning.fixes)
    assert morning.truth == [s for s in whole.truth if s.departure < cut]
    assert len(morning.fixes) < len(whole.fixes)


def test_an_agent_with_nothing_planned_still_drives_to_fuel_and_lunch() -> None:
    day = sim.generate_agent_day(plan(6, n=0), seed=1)
    assert {s.kind for s in day.truth} >= {StopKind.fuel, StopKind.lunch}
    assert not [s for s in day.truth if s.kind is StopKind.visit]


def test_owntracks_phones_send_their_geofence_events_only_when_asked() -> None:
    plans = [plan(i) for i in range(1, 13)]
    plain = sim.generate_agent_days(plans, seed=3)
    fenced = sim.generate_agent_days(plans, seed=3, geofences=True)
    assert all(not d.transitions for d in plain)
    assert not any(m.topic.endswith("/event") for d in plain for m in d.messages)
    events = 0
    for a, d in zip(plain, fenced):
        # The fixes are the same either way: the events draw from streams of their own.
        assert [m for m in d.messages if not m.topic.endswith("/event")] == a.messages
        if d.profile.form is PayloadForm.bailiwick:
            assert not d.transitions
            continue
        sent = [json.loads(m.payload) for m in d.messages if m.topic.endswith("/event")]
        assert [m.topic for m in d.messages if m.topic.endswith("/event")] == [
            f"owntracks/{d.plan.device_id}/{'pixel' if d.profile.mode is PhoneMode.android else 'iphone'}/event"
        ] * len(sent)
        assert [(p["desc"], p["event"], p["tst"]) for p in sent] == [
            (str(t.case_id), t.event, int(t.ts.timestamp())) for t in d.transitions]
        assert all(p["_type"] == "transition" and p["t"] == "c" for p in sent)
        for t in d.transitions:
            lag = (t.ts - t.crossed).total_seconds()
            assert (5 <= lag <= 60) if t.event == "enter" else (10 <= lag <= 90)
        for v in (s for s in d.truth if s.kind is StopKind.visit):
            mine = [t for t in d.transitions if t.case_id == v.case_id]
            # The region is entered before the door is reached and left after the door is left.
            assert any(t.event == "enter" and t.crossed <= v.arrival for t in mine)
            assert any(t.event == "leave" and t.crossed >= v.departure for t in mine)
        events += len(sent)
    assert events > 0
