"""Stop detection over one device's GPS fixes: where an agent dwelt, from when to when.

A stop is a dwell within ``radius_m`` metres (default 50, measured in British National Grid,
EPSG:27700) lasting at least ``min_dwell_s`` seconds (default 60), per the tracking issue.

How fixes become stops
----------------------
Fixes are taken in timestamp order (exact duplicates dropped; fixes of equal ``ts`` ordered by
position so the order never depends on arrival). A *candidate* starts at a fix and takes every
following fix within ``radius_m`` of the candidate's running centre (the mean of its members). One
fix outside the circle is held back: if the next fix is inside again, the outside one was an outlier
(GPS multipath throws single fixes 100 m and more away) and is discarded, so it neither splits the
stop nor starts one. Two consecutive fixes outside confirm that the device left. The candidate is
then closed; it is a stop when its estimated dwell (departure - arrival) is at least
``min_dwell_s``. A stop resumes scanning at the first outside fix. A candidate too short to be a
stop resumes at its second fix, so a stop whose first fixes were swallowed by a passing candidate is
still found whole.

Arrival and departure
---------------------
The arrival is where the track enters the circle of ``radius_m`` around the stop's centre, found on
the segment from the last fix before the stop to its first fix; the departure is where the track
leaves it, on the segment from the stop's last fix to the first fix after it. The crossing point is
exact geometry (a circle-segment intersection in metres); its *time* is estimated two ways:

* Dense segment (the two fixes at most ``DENSE_GAP_S`` apart, e.g. Android's ~10 s): linear in time
  along the segment, i.e. constant speed between the fixes.
* Sparse segment (iOS reports after 100 m or 5 min, "significant change" after ~500 m or 5 min):
  a phone that reports by distance falls silent when the agent stops, so the next fix comes only
  from the 5-minute timer, long after the real arrival. Constant speed across such a gap would put
  the arrival minutes late. Instead the agent is assumed to have kept the speed implied by the
  neighbouring segment on the moving side (the two fixes before the stop for an arrival, the two
  after it for a departure) and to have waited out the rest of the gap at the stop. This is used only
  when that neighbouring speed is higher than the gap's own average speed (otherwise the gap itself
  is the better evidence), and the result is always bounded by the two fixes of the segment.

When there is no fix before (after) the stop, or the fix before is itself inside the circle, the
arrival (departure) is the time of the bounding fix and the stop says it was not interpolated.

Incremental use
---------------
:class:`StopDetector` runs the same scan as fixes arrive. Fixes are held in a reorder window of
``max_lateness_s`` (default 300 s) behind the newest timestamp seen and released to the scan in
timestamp order, so fixes that arrive late (a phone's buffered batch after a signal gap, overtaken by
newer fixes) are merged exactly as batch mode would see them, as long as they are no older than the
window. A fix older than what was already released cannot change decided stops: it is dropped and
counted in :attr:`StopDetector.late_dropped` (it is still stored by ingest, and a batch run over the
day sees it). State per device is the reorder window plus the fixes of the current candidate and
two fixes of context, never the whole day. :func:`detect_stops` is the same detector fed once and
flushed, so batch and incremental give the same stops for any chunking of an ordered stream.
"""
from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

import geodata
from tracking.fixes import Fix

DEFAULT_RADIUS_M = 50.0
DEFAULT_MIN_DWELL_S = 60.0
DEFAULT_MAX_LATENESS_S = 300.0
# Segments longer than this are treated as sparse (see the module docstring); Android's ~10 s and
# short signal drop-outs stay below it, iOS and significant-change gaps (minutes) above it.
DENSE_GAP_S = 30.0


@dataclass(frozen=True, slots=True)
class Stop:
    arrival: datetime
    departure: datetime
    lat: float
    lon: float
    fix_count: int
    median_accuracy_m: float | None
    arrival_interpolated: bool
    departure_interpolated: bool
    first_fix_ts: datetime
    last_fix_ts: datetime

    @property
    def dwell_s(self) -> float:
        return (self.departure - self.arrival).total_seconds()


@dataclass(frozen=True, slots=True)
class _Pt:
    fix: Fix
    x: float
    y: float
    t: float


def _order_key(fix: Fix) -> tuple[datetime, float, float]:
    return (fix.ts, fix.lat, fix.lon)


def _project(fixes: list[Fix]) -> list[_Pt]:
    if not fixes:
        return []
    xs, ys = geodata.to_bng(np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes]))
    return [_Pt(f, float(x), float(y), f.ts.timestamp()) for f, x, y in zip(fixes, xs, ys)]


def _dist(a: _Pt, cx: float, cy: float) -> float:
    return math.hypot(a.x - cx, a.y - cy)


def _segment_speed(a: _Pt | None, b: _Pt | None) -> float | None:
    if a is None or b is None or b.t <= a.t:
        return None
    return math.hypot(b.x - a.x, b.y - a.y) / (b.t - a.t)


def _crossing(a: _Pt, b: _Pt, cx: float, cy: float, r: float, entering: bool) -> float | None:
    """Fraction along a→b where the segment crosses the circle, or None when it does not cross the
    way asked (entering: a outside and b inside; leaving: a inside and b outside)."""
    a_in = _dist(a, cx, cy) <= r
    b_in = _dist(b, cx, cy) <= r
    if entering and (a_in or not b_in):
        return None
    if not entering and (not a_in or b_in):
        return None
    dx, dy = b.x - a.x, b.y - a.y
    ex, ey = a.x - cx, a.y - cy
    qa = dx * dx + dy * dy
    qb = 2.0 * (ex * dx + ey * dy)
    qc = ex * ex + ey * ey - r * r
    root = math.sqrt(max(qb * qb - 4.0 * qa * qc, 0.0))
    s = (-qb - root) / (2.0 * qa) if entering else (-qb + root) / (2.0 * qa)
    return min(max(s, 0.0), 1.0)


def _crossing_time(a: _Pt, b: _Pt, s: float, moving_speed: float | None, entering: bool) -> float:
    gap = b.t - a.t
    length = math.hypot(b.x - a.x, b.y - a.y)
    if gap <= DENSE_GAP_S or moving_speed is None or gap <= 0:
        return a.t + s * gap
    gap_speed = length / gap
    if moving_speed <= gap_speed:
        return a.t + s * gap
    # The agent moved at moving_speed on the moving side and waited the rest of the gap at the stop.
    if entering:
        return min(a.t + s * length / moving_speed, b.t)
    return max(b.t - (1.0 - s) * length / moving_speed, a.t)


class _Scanner:
    """The candidate state machine; fed fixes in final order."""

    def __init__(self, radius_m: float, min_dwell_s: float) -> None:
        self.radius_m = radius_m
        self.min_dwell_s = min_dwell_s
        # A sparse segment can be the departure segment of one stop and the arrival segment of the
        # next (a phone that reports by distance may send no fix during a short stop, so both fixes
        # around it form one-fix candidates). Time on that segment belongs to the first stop: the
        # next arrival is never before the last departure: the next stop's arrival is then re-estimated
        # on the rest of the segment, from the point and time the last stop was left.
        self.floor: _Pt | None = None
        self._reset(None, None)

    def _reset(self, prev2: _Pt | None, prev1: _Pt | None) -> None:
        self.prev2, self.prev1 = prev2, prev1
        self.members: list[_Pt] = []
        self.raw: list[_Pt] = []  # every fix since the candidate's first, outliers included
        self.pending: list[_Pt] = []
        self.sx = 0.0
        self.sy = 0.0

    @property
    def held(self) -> int:
        return len(self.raw) + (self.prev1 is not None) + (self.prev2 is not None)

    def feed(self, pts: Iterable[_Pt]) -> list[Stop]:
        out: list[Stop] = []
        queue = deque(pts)
        while queue:
            p = queue.popleft()
            if not self.members:
                self._add_member(p)
                continue
            self.raw.append(p)
            n = len(self.members)
            if _dist(p, self.sx / n, self.sy / n) <= self.radius_m:
                self.pending.clear()
                self._add_member(p, raw=False)
                continue
            self.pending.append(p)
            if len(self.pending) < 2:
                continue
            stop = self._close(self.pending[0], self.pending[1])
            if stop is not None:
                out.append(stop)
                self.floor = self._exit_point(stop, self.pending[0])
                last = self.members[-1]
                i = self.raw.index(last)
                before_last = self.raw[i - 1] if i > 0 else self.prev1
                refeed = self.raw[i + 1:]
                self._reset(before_last, last)
            else:
                first = self.raw[0]
                refeed = self.raw[1:]
                self._reset(self.prev1, first)
            queue.extendleft(reversed(refeed))
        return out

    def flush(self) -> list[Stop]:
        """Close the open candidate at the end of the data (its pending fix, if any, counts as the
        first fix after it)."""
        out: list[Stop] = []
        if self.members:
            if self.pending:
                # One outside fix at the end: departure is on its segment; it may start a stop of its
                # own only with later fixes, which there are none of.
                after = self.pending[0]
                stop = self._close(after, None)
            else:
                stop = self._close(None, None)
            if stop is not None:
                out.append(stop)
        self._reset(None, None)
        self.floor = None
        return out

    def _add_member(self, p: _Pt, raw: bool = True) -> None:
        if raw:
            self.raw.append(p)
        self.members.append(p)
        self.sx += p.x
        self.sy += p.y

    def _exit_point(self, stop: Stop, out1: _Pt) -> _Pt:
        last = self.members[-1]
        t = stop.departure.timestamp()
        f = (t - last.t) / (out1.t - last.t) if out1.t > last.t else 0.0
        return _Pt(last.fix, last.x + f * (out1.x - last.x), last.y + f * (out1.y - last.y), t)

    def _close(self, out1: _Pt | None, out2: _Pt | None) -> Stop | None:
        n = len(self.members)
        cx, cy = self.sx / n, self.sy / n
        r = self.radius_m
        first, last = self.members[0], self.members[-1]

        arrival_t, arrival_interp = first.t, False
        if self.prev1 is not None:
            s = _crossing(self.prev1, first, cx, cy, r, entering=True)
            if s is not None:
                speed = _segment_speed(self.prev2, self.prev1)
                arrival_t, arrival_interp = _crossing_time(self.prev1, first, s, speed, True), True
            elif _dist(self.prev1, cx, cy) <= r:
                arrival_t = self.prev1.t

        if self.floor is not None and arrival_t < self.floor.t:
            s = _crossing(self.floor, first, cx, cy, r, entering=True)
            if s is None:
                arrival_t, arrival_interp = self.floor.t, False
            else:
                arrival_t = _crossing_time(self.floor, first, s, None, True)
        departure_t, departure_interp = last.t, False
        if out1 is not None:
            s = _crossing(last, out1, cx, cy, r, entering=False)
            if s is not None:
                speed = _segment_speed(out1, out2)
                departure_t, departure_interp = _crossing_time(last, out1, s, speed, False), True

        if departure_t - arrival_t < self.min_dwell_s:
            return None
        lon, lat = geodata.to_wgs84(cx, cy)
        accuracies = [m.fix.accuracy_m for m in self.members if m.fix.accuracy_m is not None]
        tz = first.fix.ts.tzinfo
        return Stop(
            arrival=datetime.fromtimestamp(arrival_t, tz),
            departure=datetime.fromtimestamp(departure_t, tz),
            lat=lat,
            lon=lon,
            fix_count=n,
            median_accuracy_m=statistics.median(accuracies) if accuracies else None,
            arrival_interpolated=arrival_interp,
            departure_interpolated=departure_interp,
            first_fix_ts=first.fix.ts,
            last_fix_ts=last.fix.ts,
        )


class StopDetector:
    """Incremental stop detection for one device (see the module docstring for late fixes)."""

    def __init__(
        self,
        radius_m: float = DEFAULT_RADIUS_M,
        min_dwell_s: float = DEFAULT_MIN_DWELL_S,
        max_lateness_s: float = DEFAULT_MAX_LATENESS_S,
    ) -> None:
        if radius_m <= 0:
            raise ValueError(f"radius_m must be positive, got {radius_m}")
        if min_dwell_s < 0:
            raise ValueError(f"min_dwell_s must not be negative, got {min_dwell_s}")
        if max_lateness_s < 0:
            raise ValueError(f"max_lateness_s must not be negative, got {max_lateness_s}")
        self._scanner = _Scanner(radius_m, min_dwell_s)
        self._lateness = None if math.isinf(max_lateness_s) else timedelta(seconds=max_lateness_s)
        self._window: list[Fix] = []  # sorted by _order_key, not yet released to the scan
        self._in_window: set[Fix] = set()
        self._released_key: tuple[datetime, float, float] | None = None
        self._newest: datetime | None = None
        self.late_dropped = 0

    @property
    def held_fixes(self) -> int:
        """Fixes held in memory: the reorder window, the open candidate and its context."""
        return len(self._window) + self._scanner.held

    def feed(self, fixes: Iterable[Fix]) -> list[Stop]:
        """Take fixes in any order; return the stops these fixes closed."""
        for fix in fixes:
            if fix in self._in_window:
                continue
            key = _order_key(fix)
            if self._released_key is not None and key <= self._released_key:
                self.late_dropped += 1
                continue
            bisect.insort(self._window, fix, key=_order_key)
            self._in_window.add(fix)
            if self._newest is None or fix.ts > self._newest:
                self._newest = fix.ts
        if self._newest is None or self._lateness is None:
            return []
        horizon = self._newest - self._lateness
        cut = 0
        while cut < len(self._window) and self._window[cut].ts <= horizon:
            cut += 1
        return self._release(cut)

    def flush(self) -> list[Stop]:
        """Release every held fix and close the open candidate (end of the data, e.g. end of day)."""
        stops = self._release(len(self._window))
        return stops + self._scanner.flush()

    def _release(self, cut: int) -> list[Stop]:
        if cut == 0:
            return []
        batch = self._window[:cut]
        del self._window[:cut]
        self._in_window.difference_update(batch)
        self._released_key = _order_key(batch[-1])
        return self._scanner.feed(_project(batch))


def detect_stops(
    fixes: Iterable[Fix],
    radius_m: float = DEFAULT_RADIUS_M,
    min_dwell_s: float = DEFAULT_MIN_DWELL_S,
) -> list[Stop]:
    """Every stop in one device's fixes (any order; exact duplicates are dropped)."""
    detector = StopDetector(radius_m, min_dwell_s, max_lateness_s=math.inf)
    return detector.feed(fixes) + detector.flush()


def speed_threshold_stops(
    fixes: Iterable[Fix],
    max_speed_mps: float = 2.0,
    min_dwell_s: float = DEFAULT_MIN_DWELL_S,
) -> list[Stop]:
    """The plain baseline: a stop is a run of consecutive fixes each reached from the previous fix
    below ``max_speed_mps``, lasting at least ``min_dwell_s``; arrival is the first slow fix and
    departure the last one, with no interpolation and no outlier tolerance."""
    ordered = sorted(set(fixes), key=_order_key)
    pts = _project(ordered)
    stops: list[Stop] = []
    run: list[_Pt] = []

    def close() -> None:
        if run and run[-1].t - run[0].t >= min_dwell_s:
            cx = sum(p.x for p in run) / len(run)
            cy = sum(p.y for p in run) / len(run)
            lon, lat = geodata.to_wgs84(cx, cy)
            acc = [p.fix.accuracy_m for p in run if p.fix.accuracy_m is not None]
            stops.append(Stop(
                arrival=run[0].fix.ts, departure=run[-1].fix.ts, lat=lat, lon=lon,
                fix_count=len(run), median_accuracy_m=statistics.median(acc) if acc else None,
                arrival_interpolated=False, departure_interpolated=False,
                first_fix_ts=run[0].fix.ts, last_fix_ts=run[-1].fix.ts))
        run.clear()

    for prev, p in zip(pts, pts[1:]):
        speed = _segment_speed(prev, p)
        if speed is not None and speed < max_speed_mps:
            run.append(p)
        else:
            close()
    close()
    return stops
