"""The pure stop detector (tracking.stops) on synthetic phone tracks in Plymouth: recall, decoys,
outliers, arrival and departure accuracy per phone mode, batch = incremental, late fixes, bounded
state, and the speed-threshold baseline."""
from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geodata
from tests.tracks import (
    ORIGIN_X,
    ORIGIN_Y,
    T0,
    Drive,
    Dwell,
    Track,
    TrueStop,
    make_track,
)
from tracking import Fix, Stop, StopDetector, detect_stops, speed_threshold_stops

# A morning round: four doors (3 min, 5 min, 90 s, 10 min), a 30 s traffic-light halt between the
# first two, 12–14 m/s (43–50 km/h) between them.
DAY = [Drive(600, 0), Dwell(180), Drive(600, 700), Dwell(30, door=False), Drive(600, 1400), Dwell(300),
       Drive(1500, 1400, 14), Dwell(90), Drive(2500, 1400), Dwell(600), Drive(3500, 2000)]


def _match(stops: list[Stop], truth: list[TrueStop], within_m: float = 75.0,
           first_only: bool = False) -> list[tuple[TrueStop, Stop]]:
    """Each true stop paired with the one detected stop overlapping it in time near its door
    (``first_only``: the first of several, for the baseline, which splits stops)."""
    pairs = []
    for t in truth:
        hits = [s for s in stops if s.arrival < t.departure and s.departure > t.arrival
                and math.dist(geodata.to_bng(s.lon, s.lat), (t.x, t.y)) <= within_m]
        assert hits and (first_only or len(hits) == 1), \
            f"true stop {t.arrival:%H:%M:%S}-{t.departure:%H:%M:%S} matched {hits}"
        pairs.append((t, hits[0]))
    return pairs


def _errors(pairs: list[tuple[TrueStop, Stop]]) -> tuple[list[float], list[float]]:
    arr = [(s.arrival - t.arrival).total_seconds() for t, s in pairs]
    dep = [(s.departure - t.departure).total_seconds() for t, s in pairs]
    return arr, dep


@pytest.mark.parametrize("seed", range(5))
def test_android_every_stop_found_within_30s_and_no_decoy(seed: int) -> None:
    # A 150 m outlier while driving between the second and third doors, noise sigma 8 m.
    track = make_track(DAY, mode="android", seed=seed, outliers={700: (150.0, 60.0)}, start_offset_s=seed)
    stops = detect_stops(track.fixes)
    pairs = _match(stops, track.stops)
    assert len(stops) == len(track.stops), "a decoy stop was detected (traffic light or outlier)"
    arr, dep = _errors(pairs)
    assert max(map(abs, arr)) <= 30 and max(map(abs, dep)) <= 30, (arr, dep)
    assert all(s.arrival_interpolated and s.departure_interpolated for _, s in pairs)
    for t, s in pairs:
        assert s.fix_count >= 8 and s.median_accuracy_m == 12.0
        assert s.dwell_s == pytest.approx((s.departure - s.arrival).total_seconds())


@pytest.mark.parametrize("noise_m", [15.0, 30.0])
def test_noisier_android_track_still_within_30s(noise_m: float) -> None:
    # Sigma 30 m per axis puts a quarter of the door's fixes beyond 50 m; the fixes' reported
    # accuracy (45 m here) keeps them in the stop.
    for seed in range(3):
        track = make_track(DAY, mode="android", noise_m=noise_m, seed=seed, outliers={700: (150.0, 60.0)})
        stops = detect_stops(track.fixes)
        assert len(stops) == len(track.stops)
        arr, dep = _errors(_match(stops, track.stops))
        assert max(map(abs, arr + dep)) <= 30, (arr, dep)


# Park 40 m short of the door (8 s to get out), walk there at 1.3 m/s, five minutes at the door, walk
# back, drive off.
WALK_TO_DOOR = [Drive(800, 0), Dwell(8, door=False), Drive(800, 40, 1.3), Dwell(300), Drive(800, 0, 1.3),
                Dwell(8, door=False), Drive(2000, 0)]


@pytest.mark.parametrize("seed", range(4))
def test_android_evidence_times_are_at_the_door_not_where_the_car_entered_the_circle(seed: int) -> None:
    """R-VISIT-EVIDENCE: the track enters the 50 m circle while the agent is still driving up and
    walking to the door; the phone's speeds show when it stood at the door, to within one report."""
    track = make_track(WALK_TO_DOOR, seed=seed, start_offset_s=seed * 3)
    arr, dep = _errors(_match(detect_stops(track.fixes), track.stops))
    assert abs(arr[0]) <= 10 and abs(dep[0]) <= 10, (arr, dep)
    blind = make_track(WALK_TO_DOOR, seed=seed, start_offset_s=seed * 3, report_speed=False)
    arr, dep = _errors(_match(detect_stops(blind.fixes), blind.stops))
    assert arr[0] < -20 and dep[0] > 20, "without speeds only the circle crossings are known"


def _with_speeds(track: Track, speeds: dict[int, float]) -> list[Fix]:
    """The track's fixes with the reported speed of the k-th fix at the door (of its first stop)
    replaced, for each k in ``speeds``."""
    door = [f for f in track.fixes if track.stops[0].arrival <= f.ts <= track.stops[0].departure]
    changed = {door[k]: v for k, v in speeds.items()}
    return [replace(f, speed_mps=changed[f]) if f in changed else f for f in track.fixes]


@pytest.mark.parametrize("noise", [{10: 0.8, 11: 0.9}, {14: 1.2}, {1: 0.8, 3: 0.7}])
def test_doppler_noise_of_a_still_phone_is_no_walk_and_does_not_move_the_door_times(noise: dict) -> None:
    """R-VISIT-EVIDENCE: a phone standing at a door reports a few tenths of a metre per second of
    Doppler noise, now and then two fixes above STILL_MPS in a row, or one at walking pace; that is not
    a walk off and back, and the visit stays one still period timed from the walk up to the walk away
    (not from the longest run the noise left, nor from after noise near the arrival)."""
    track = make_track(WALK_TO_DOOR, seed=1)
    [stop] = detect_stops(_with_speeds(track, noise))
    assert len(stop.still) == 1
    [(t, s)] = _match([stop], track.stops)
    for period in (stop.still[0], s):
        assert abs((period.arrival - t.arrival).total_seconds()) <= 10
        assert abs((period.departure - t.departure).total_seconds()) <= 10


def test_a_walk_between_two_doors_seen_in_one_brisk_fix_separates_the_visits() -> None:
    """A short walk to the car and back at a 10-second phone may show one fix only; one at a brisk
    walk (BRISK_MPS) is no still phone's noise, so the stop shows two still periods."""
    legs = [Drive(800, 0), Dwell(8, door=False), Drive(800, 20, 1.3), Dwell(240), Drive(800, 0, 1.3),
            Dwell(8, door=False), Drive(800, 20, 1.3), Dwell(180), Drive(800, 0, 1.3), Drive(2000, 0)]
    track = make_track(legs, seed=2)
    first, second = track.stops
    walk = [f for f in track.fixes if first.departure < f.ts < second.arrival]
    fixes = [f if f not in walk else replace(f, speed_mps=1.6 if f is walk[len(walk) // 2] else 0.2)
             for f in track.fixes]
    [stop] = detect_stops(fixes)
    assert len(stop.still) == 2
    assert abs((stop.still[0].departure - first.departure).total_seconds()) <= 30
    assert abs((stop.still[1].arrival - second.arrival).total_seconds()) <= 30


def test_traffic_light_halt_is_not_a_stop() -> None:
    track = make_track([Drive(500, 0), Dwell(30, door=False), Drive(1000, 0)], seed=3)
    assert track.halts and detect_stops(track.fixes) == []


@pytest.mark.parametrize(("dwell_s", "is_stop"), [(45, False), (90, True)])
def test_dwell_threshold(dwell_s: int, is_stop: bool) -> None:
    track = make_track([Drive(500, 0), Dwell(dwell_s), Drive(1000, 0)], seed=4)
    stops = detect_stops(track.fixes, min_dwell_s=60)
    assert len(stops) == int(is_stop)
    if is_stop:
        arr, dep = _errors(_match(stops, track.stops))
        assert abs(arr[0]) <= 30 and abs(dep[0]) <= 30


def test_outlier_inside_a_stop_does_not_split_it() -> None:
    # 8 minutes at a door; one fix mid-visit thrown 180 m away, then back.
    track = make_track([Drive(500, 0), Dwell(480), Drive(1200, 0)], seed=5, outliers={300: (0.0, 180.0)})
    stops = detect_stops(track.fixes)
    assert len(stops) == 1
    arr, dep = _errors(_match(stops, track.stops))
    assert abs(arr[0]) <= 30 and abs(dep[0]) <= 30


def test_single_outlier_while_driving_is_no_stop() -> None:
    track = make_track([Drive(3000, 0)], seed=6, outliers={100: (0.0, 250.0), 160: (-120.0, 0.0)})
    assert detect_stops(track.fixes) == []


def _bracketed(track: Track, pairs: list[tuple[TrueStop, Stop]]) -> None:
    """The estimated arrival lies between the fix before the stop's first fix and that first fix,
    and the departure between its last fix and the fix after it."""
    times = sorted(f.ts for f in track.fixes)
    for _, s in pairs:
        i = times.index(s.first_fix_ts)
        j = times.index(s.last_fix_ts)
        assert (times[i - 1] if i else times[i]) <= s.arrival <= s.first_fix_ts
        assert s.last_fix_ts <= s.departure <= (times[j + 1] if j + 1 < len(times) else times[j])


# Visits of 5 min and more: the phone's 5-minute timer puts at least one fix at the door.
LONG_VISITS = [Drive(600, 0), Dwell(330), Drive(600, 700), Dwell(30, door=False), Drive(600, 1400), Dwell(420),
               Drive(1500, 1400, 14), Dwell(600), Drive(2500, 1400), Dwell(900), Drive(3500, 2000)]


@pytest.mark.parametrize(("mode", "legs", "within_m", "bound_s"), [
    # iOS reports after 100 m or 5 min: the 3-minute and 90-second visits of DAY have no fix at the
    # door at all; they are found from the long gap around them and placed at the fix next to it.
    ("ios", DAY, 130.0, 30.0),
    ("ios", LONG_VISITS, 75.0, 30.0),
    # Significant change reports after ~500 m: a short visit's stop can sit at a fix 500 m away.
    ("significant", DAY, 520.0, 120.0),
    ("significant", LONG_VISITS, 75.0, 30.0),
])
def test_sparse_phone_modes_find_every_stop(mode: str, legs: list, within_m: float, bound_s: float) -> None:
    for seed in range(3):
        track = make_track(legs, mode=mode, seed=seed)
        stops = detect_stops(track.fixes)
        pairs = _match(stops, track.stops, within_m=within_m)
        assert len(stops) == len(track.stops)
        _bracketed(track, pairs)
        arr, dep = _errors(pairs)
        assert max(map(abs, arr + dep)) <= bound_s, (mode, arr, dep)


def test_interpolation_beats_speed_threshold_baseline_on_android() -> None:
    ours, base = [], []
    for seed in range(5):
        track = make_track(DAY, mode="android", seed=seed, start_offset_s=seed)
        ours += _errors(_match(detect_stops(track.fixes), track.stops))[0]
        base += _errors(_match(speed_threshold_stops(track.fixes), track.stops, first_only=True))[0]
    mae_ours = statistics.fmean(map(abs, ours))
    mae_base = statistics.fmean(map(abs, base))
    # The baseline stamps the first slow fix, 10-20 s after the real arrival.
    assert mae_ours < 8 and mae_base > 2 * mae_ours, (mae_ours, mae_base)


def test_baseline_is_split_by_an_outlier_where_the_detector_is_not() -> None:
    track = make_track([Drive(500, 0), Dwell(480), Drive(1200, 0)], seed=5, outliers={300: (0.0, 180.0)})
    assert len(detect_stops(track.fixes)) == 1
    assert len(speed_threshold_stops(track.fixes)) == 2


def _feed_in_chunks(fixes: list[Fix], cuts: list[int], max_lateness_s: float = 0.0) -> tuple[list[Stop], StopDetector]:
    detector = StopDetector(max_lateness_s=max_lateness_s)
    stops: list[Stop] = []
    bounds = [0, *sorted(set(cuts)), len(fixes)]
    for a, b in itertools.pairwise(bounds):
        stops += detector.feed(fixes[a:b])
    return stops + detector.flush(), detector


TRACKS = {mode: make_track(DAY, mode=mode, seed=2, outliers={700: (150.0, 60.0)})
          for mode in ("android", "ios", "significant")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(sorted(TRACKS)), data=st.data(),
       lateness=st.sampled_from([0.0, 30.0, 300.0]))
def test_incremental_equals_batch_for_any_chunking(mode: str, data: st.DataObject, lateness: float) -> None:
    fixes = TRACKS[mode].fixes
    cuts = data.draw(st.lists(st.integers(0, len(fixes)), max_size=40))
    stops, detector = _feed_in_chunks(fixes, cuts, lateness)
    assert stops == detect_stops(fixes)
    assert detector.late_dropped == 0


def test_gap_batch_arriving_after_newer_fixes_is_merged_within_the_window() -> None:
    fixes = TRACKS["android"].fixes
    batch = detect_stops(fixes)
    # Signal lost for the whole 5-minute visit (fixes 40..75); the phone uploads them after sending
    # two newer fixes (76, 77).
    gap, newer = fixes[40:76], fixes[76:78]
    detector = StopDetector(max_lateness_s=600)
    stops = detector.feed(fixes[:40]) + detector.feed(newer) + detector.feed(gap)
    stops += detector.feed(fixes[78:]) + detector.flush()
    assert stops == batch and detector.late_dropped == 0


def test_fix_older_than_the_window_is_dropped_and_counted() -> None:
    fixes = TRACKS["android"].fixes
    detector = StopDetector(max_lateness_s=60)
    stops = detector.feed(fixes[:50])
    assert detector.feed([fixes[10], fixes[20]]) == []  # released long ago
    assert detector.late_dropped == 2
    assert stops + detector.feed(fixes[50:]) + detector.flush() == detect_stops(fixes)


def test_duplicates_are_dropped() -> None:
    fixes = TRACKS["android"].fixes
    assert detect_stops(fixes + fixes[::3]) == detect_stops(fixes)
    assert detect_stops(list(reversed(fixes))) == detect_stops(fixes)


def test_incremental_state_is_bounded_over_a_long_day() -> None:
    # Eight rounds of the morning (about 4 h, 1,300 fixes) fed one fix at a time.
    legs = []
    for k in range(8):
        legs += [Drive(600, 4000 * k), Dwell(180), Drive(600, 4000 * k + 700), Dwell(300),
                 Drive(1500, 4000 * k + 700), Dwell(600), Drive(0, 4000 * (k + 1))]
    track = make_track(legs, seed=9)
    detector = StopDetector(max_lateness_s=120)
    stops, peak = [], 0
    for fix in track.fixes:
        stops += detector.feed([fix])
        peak = max(peak, detector.held_fixes)
    stops += detector.flush()
    assert len(stops) == 24 == len(track.stops)
    # The longest visit is 10 min (61 fixes) and the window 2 min (13 fixes).
    assert peak <= 61 + 13 + 4, peak
    assert len(track.fixes) > 1000


def test_fix_rejects_a_naive_timestamp_and_bad_coordinates() -> None:
    with pytest.raises(ValueError, match="Fix.ts"):
        Fix(ts=datetime(2026, 3, 2, 9, 0), lat=50.37, lon=-4.14)
    with pytest.raises(ValueError, match="Fix.lat"):
        Fix(ts=T0, lat=95.0, lon=-4.14)
    with pytest.raises(ValueError, match="Fix.accuracy_m"):
        Fix(ts=T0, lat=50.37, lon=-4.14, accuracy_m=-1.0)
    with pytest.raises(ValueError, match="radius_m"):
        StopDetector(radius_m=0)


def test_stop_at_the_end_of_the_data_is_closed_by_flush() -> None:
    track = make_track([Drive(500, 0), Dwell(300)], seed=7)
    detector = StopDetector()
    assert detector.feed(track.fixes) == []
    (stop,) = detector.flush()
    assert stop.arrival_interpolated and not stop.departure_interpolated
    assert stop.departure == track.fixes[-1].ts
    assert abs((stop.arrival - track.stops[0].arrival).total_seconds()) <= 30
    assert stop.arrival.utcoffset() == timedelta(0)


@settings(max_examples=40, deadline=None)
@given(mode=st.sampled_from(sorted(TRACKS)), data=st.data())
def test_fixes_delayed_up_to_the_window_give_the_batch_stops(mode: str, data: st.DataObject) -> None:
    # Each fix reaches the detector up to 5 minutes late (buffered through a signal gap), so newer
    # fixes often overtake it; the order of arrival is by (ts + delay).
    fixes = TRACKS[mode].fixes
    delays = data.draw(st.lists(st.integers(0, 300), min_size=len(fixes), max_size=len(fixes)))
    arrival = sorted(range(len(fixes)), key=lambda i: (fixes[i].ts + timedelta(seconds=delays[i]), i))
    sizes = data.draw(st.lists(st.integers(1, 20), min_size=len(fixes), max_size=len(fixes)))
    detector = StopDetector(max_lateness_s=300)
    stops: list[Stop] = []
    pos = 0
    for size in sizes:
        if pos >= len(arrival):
            break
        stops += detector.feed([fixes[i] for i in arrival[pos:pos + size]])
        pos += size
    stops += detector.flush()
    assert detector.late_dropped == 0
    assert stops == detect_stops(fixes)



def _fix_at(dx: float, dy: float, second: int, speed_mps: float) -> Fix:
    lon, lat = geodata.to_wgs84(ORIGIN_X + dx, ORIGIN_Y + dy)
    return Fix(T0 + timedelta(seconds=second), lat, lon, 10.0, speed_mps)


def test_a_silent_ios_stop_is_placed_at_the_fix_before_it_not_the_one_sent_driving_away() -> None:
    """A 2-minute visit at the origin with no fix at the door: the last fix before it came 20 m short
    (the car drove the rest), the next once the car was 100 m from that fix. Both look like a stop
    waiting out the gap; the one before is within the phone's 100 m of the door, the one after may be
    twice as far."""
    fixes = [_fix_at(-300, 0, 0, 10.0), _fix_at(-200, 0, 10, 10.0), _fix_at(-100, 0, 20, 10.0),
             _fix_at(-20, 0, 28, 10.0), _fix_at(0, 100, 160, 9.0), _fix_at(0, 200, 171, 9.0),
             _fix_at(0, 300, 182, 9.0)]
    stops = detect_stops(fixes)
    assert len(stops) == 1
    assert math.dist(geodata.to_bng(stops[0].lon, stops[0].lat), (ORIGIN_X - 20, ORIGIN_Y)) < 1.0
    detector = StopDetector()
    assert [s for f in fixes for s in detector.feed([f])] + detector.flush() == stops
