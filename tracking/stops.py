"""Stop detection over one device's GPS fixes: where an agent dwelt, from when to when.

A stop is a dwell within ``radius_m`` metres (default 50, measured in British National Grid,
EPSG:27700) lasting at least ``min_dwell_s`` seconds (default 60), per the tracking issue. The
module runs past 500 lines because it explains in full the estimates evidence rests on, and keeps
the baseline beside the detector it is measured against (they share the projection and ordering).

How fixes become stops
----------------------
Fixes are taken in timestamp order (exact duplicates dropped; fixes of equal ``ts`` ordered by
position so the order never depends on arrival). A *candidate* starts at a fix and takes every
following fix within ``radius_m`` of the candidate's running centre (the mean of its members),
widened by the fix's reported ``accuracy_m`` up to one more radius (GPS noise of sigma 30 m would
otherwise put two fixes in a row outside a 50 m circle several times per visit). One
fix outside the circle is held back: if the next fix is inside again, the outside one was an outlier
(GPS multipath throws single fixes 100 m and more away) and is discarded, so it neither splits the
stop nor starts one. Two consecutive fixes outside confirm that the device left. The candidate is
then closed; it is a stop when its estimated dwell (departure - arrival) is at least
``min_dwell_s``. A stop resumes scanning at the first outside fix. A candidate too short to be a
stop resumes at its second fix, so a stop whose first fixes were swallowed by a passing candidate is
still found whole. A phone that reports by distance may send no fix at all during a short visit;
then the fixes on both sides of the silent gap each look like a stop that waited out the gap. Only
one of them is kept: the one with more fixes (usually where the phone's 5-minute timer sent a fix
from the door), then one whose phone reported walking pace or less over one sent at driving speed,
then the earlier: such a phone sent the fix before the stop within its reporting distance of it, but
the fix after only once the agent had moved that distance away from the fix before, so up to twice as
far from the stop. Such a stop is placed at that fix, which may be up to the phone's reporting
distance (100 m on iOS, ~500 m in significant-change mode) from the door.

Arrival and departure
---------------------
The arrival is where the track enters the circle of ``radius_m`` around the stop's centre, found on
the segment into the stop's first fix inside that circle from the fix before it; the departure is
where the track leaves it, on the segment from the stop's last fix inside the circle to the fix
after it. (The running centre moves while a candidate grows, so its first and last members may lie
just outside the circle where the centre settled.) The crossing point is
exact geometry (a circle-segment intersection in metres); its *time* is estimated two ways:

* Dense segment (the two fixes at most ``DENSE_GAP_S`` apart, e.g. Android's ~10 s): linear in time
  along the segment, i.e. constant speed between the fixes.
* Sparse segment (iOS reports after 100 m or 5 min, "significant change" after ~500 m or 5 min):
  a phone that reports by distance falls silent when the agent stops, so the next fix comes only
  from the 5-minute timer, long after the real arrival. Constant speed across such a gap would put
  the arrival minutes late. Instead the agent is assumed to have travelled the segment at its moving
  speed, and to have waited out the rest of the gap at the stop: the arrival is the time it takes to
  cover the distance from the fix before to the circle at that speed, the departure that time before
  the fix after. The moving speed is the fastest of the speeds implied by the segments just before
  and just after the stop and of the speeds the phone reported at the fixes around the gap (Doppler,
  ``speed_mps``). It is used only when it is higher than the gap's own average speed (otherwise the
  gap itself is the better evidence), and the result is always bounded by the two fixes.

When there is no fix before (after) the stop, or the fix before is itself inside the circle, the
arrival (departure) is the time of the bounding fix and the stop says it was not interpolated.

Standing still, from the phone's speeds
---------------------------------------
The circle decides whether there is a stop, but an agent parks up to tens of metres from the door
and walks there: the track enters the circle while the agent is still driving or walking, 10-40 s
before the arrival at the door that the evidence is about (and leaves it as long after the departure).
Phones report a Doppler speed with each fix, far more precise than the position. When the stop's
fixes hold a run of at least two reporting less than ``STILL_MPS`` (a single faster fix inside a run
is noise), the longest such run is when the agent stood at the door: its arrival is estimated on the
dense segment from the moving fix just before the run, as the time that fix needed at its reported
speed to reach the stop's centre (bounded by the segment), and its departure likewise on the segment
to the moving fix just after it. This replaces the circle estimate only when it is later (earlier
for the departure); phones that report no speeds, and sparse segments, keep the circle estimate.
Such an arrival may come after the stop's first fix (``first_fix_ts``, then a fix of the walk up),
and such a departure before its last.

A stop also lists its still periods (``Stop.still``): the spans of standing still that visible walks
separate (between still fixes ``MIN_WALK_S`` apart, on dense segments, ``MIN_WALK_FIXES`` moving fixes
of which one at walking pace, ``WALKING_MPS``, or one at a brisk walk, ``BRISK_MPS``; a still phone's
Doppler noise is slower), each timed like the longest run, the first and last bounded by the circle
crossings, and placed at the mean of its fixes; still fixes spanning less
than ``MIN_STILL_S`` (a pause in the car between two walks) are part of the walk. When the stop has
still periods, the longest of them (not the longest unbroken run of still fixes, which noise cuts
short) is when the agent stood at the door. An agent visiting
several doors at one address point (flats in one block) makes one stop whose periods are the visits;
``tracking.shared_door`` tells them apart with these.

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
import itertools
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
# A reported (Doppler) speed below this is standing still: walking is 1.1-1.5 m/s, and a still phone's
# Doppler speed stays within a few tenths of a metre per second.
STILL_MPS = 0.7
# Reported speeds below this are on foot (or still): a car that drives on is faster.
ON_FOOT_MPS = 2.5
# A walk between two still periods of one stop (an agent going from one door to the next, or back to
# the car and to the next door) is visible as at least MIN_WALK_FIXES fixes at walking pace or more of
# which one at WALKING_MPS (people walk at 1.1-1.5 m/s), or as one fix at BRISK_MPS, between still
# fixes at least MIN_WALK_S apart. A still phone's Doppler noise (a few tenths of a metre per second)
# crosses STILL_MPS once in some tens of fixes, often two in a row, and reaches walking pace once in
# some thousands, but not a brisk walk; a short walk at a 10-second phone may show one fix only.
# Shuffling a few steps at a door lasts seconds, while the shortest walk off and back (car parked 10 m
# away at 1.5 m/s) is over 13 s plus getting in and out.
MIN_WALK_FIXES = 2
WALKING_MPS = 1.1
BRISK_MPS = 1.5
MIN_WALK_S = 15.0
# Still fixes spanning less than this are a pause on the way (getting out of the car, sitting in it
# between two walks: seconds, one or two fixes of a 10-second phone), not a visit: knocking and waiting
# at a door takes longer, and a 45-second visit gives still fixes spanning at least 25 s.
MIN_STILL_S = 20.0


@dataclass(frozen=True, slots=True)
class StillPeriod:
    """A span of a stop in which the phone reported standing still, with no visible walk inside it, and
    where: the mean of its fixes (WGS84), the door the agent stood at as near as the fixes tell, which
    may be another address than the stop's centre is nearest (``tracking.shared_door``)."""

    arrival: datetime
    departure: datetime
    lat: float
    lon: float


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
    # When the phone's speeds show the agent standing still, separated by walks (``StillPeriod``); empty
    # when they show no still run (no speeds, or only sparse fixes).
    still: tuple[StillPeriod, ...] = ()

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


def _faster(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


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
        # around it form one-fix candidates that each claim the silent wait). ``held`` is the last
        # stop, kept until the candidate after it closes so the two claims can be settled
        # (_settle); ``floor`` is the point and time it was left, from which a later stop's arrival
        # is re-estimated when it would otherwise come before that departure.
        self.floor: _Pt | None = None
        self.held: Stop | None = None
        self.held_on_foot = False  # whether every fix of the held stop reported walking pace or less
        self._reset(None, None)

    def _reset(self, prev2: _Pt | None, prev1: _Pt | None) -> None:
        self.prev2, self.prev1 = prev2, prev1
        self.members: list[_Pt] = []
        self.raw: list[_Pt] = []  # every fix since the candidate's first, outliers included
        self.pending: list[_Pt] = []
        self.sx = 0.0
        self.sy = 0.0

    @property
    def held_fixes(self) -> int:
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
            # A fix counts as inside when its accuracy circle reaches the stop circle (capped at one
            # radius): phones report sigma 5-30 m, and two noisy fixes in a row would otherwise end
            # a visit.
            slack = min(p.fix.accuracy_m or 0.0, self.radius_m)
            if _dist(p, self.sx / n, self.sy / n) <= self.radius_m + slack:
                self.pending.clear()
                self._add_member(p, raw=False)
                continue
            self.pending.append(p)
            if len(self.pending) < 2:
                continue
            if self._settle(self.pending[0], self.pending[1], out):
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
        first fix after it) and release the held stop."""
        out: list[Stop] = []
        if self.members:
            self._settle(self.pending[0] if self.pending else None, None, out)
        if self.held is not None:
            out.append(self.held)
        self._reset(None, None)
        self.held = None
        self.floor = None
        return out

    def _settle(self, out1: _Pt | None, out2: _Pt | None, out: list[Stop]) -> bool:
        """Close the candidate; True when it became the held stop.

        A closed stop is held until the candidate that starts at its first outside fix closes, since
        only that one can claim the same sparse segment (see ``floor``). When both do, the stop with
        more fixes wins (typically with the fix the phone's timer sent while standing at the door);
        between equally many, one whose phone reported walking pace or less (``on_foot``) beats one
        sent at driving speed (a fix sent while the car drove up or off was not where the agent
        waited); then the held, earlier one, which a phone that reports by distance sent within that
        distance of the stop, where the later one may be twice as far (module docstring). The winner
        keeps its own estimate; a losing later candidate is re-estimated with its arrival after the
        winner's departure."""
        own, floored, exit_pt = self._close(out1, out2)
        own_on_foot = all(m.fix.speed_mps is not None and m.fix.speed_mps < ON_FOOT_MPS for m in self.members)
        held = self.held
        if held is not None and own is not None and own.arrival < held.departure:
            if (own.fix_count, own_on_foot) > (held.fix_count, self.held_on_foot):
                self.held, self.floor, self.held_on_foot = own, exit_pt, own_on_foot
                return True
            out.append(held)
            self.held = None
            own = floored
        elif held is not None:
            out.append(held)
            self.held = None
        if own is None:
            return False
        self.held, self.floor, self.held_on_foot = own, exit_pt, own_on_foot
        return True

    def _add_member(self, p: _Pt, raw: bool = True) -> None:
        if raw:
            self.raw.append(p)
        self.members.append(p)
        self.sx += p.x
        self.sy += p.y

    def _entry(self, cx: float, cy: float) -> tuple[_Pt, _Pt, float | None, float | None] | None:
        """The segment (a, b) into the first member inside the final circle, the fraction along it
        where it enters (None when a is inside already), and the speed on the segment before a. The
        running centre moves as members come, so the first members may lie just outside where the
        centre settled. None when there is no fix before."""
        seq = [p for p in (self.prev2, self.prev1) if p is not None] + self.members
        off = len(seq) - len(self.members)
        k = next((off + i for i, m in enumerate(self.members) if _dist(m, cx, cy) <= self.radius_m), None)
        if k is None or k == 0:
            return None
        a, b = seq[k - 1], seq[k]
        speed = _faster(_segment_speed(seq[k - 2], a) if k >= 2 else None, a.fix.speed_mps)
        return a, b, _crossing(a, b, cx, cy, self.radius_m, entering=True), speed

    def _exit(self, cx: float, cy: float, outs: list[_Pt]) -> tuple[_Pt, _Pt, float | None, float | None] | None:
        """The segment (a, b) out of the last member inside the final circle, the fraction where it
        leaves, and the speed on the segment after b. None when there is no fix after."""
        seq = self.members + outs
        k = next((i for i in range(len(self.members) - 1, -1, -1)
                  if _dist(seq[i], cx, cy) <= self.radius_m), None)
        if k is None or k == len(seq) - 1:
            return None
        a, b = seq[k], seq[k + 1]
        speed = _faster(_segment_speed(b, seq[k + 2]) if k + 2 < len(seq) else None, b.fix.speed_mps)
        return a, b, _crossing(a, b, cx, cy, self.radius_m, entering=False), speed

    def _still(self, p: _Pt) -> bool:
        return p.fix.speed_mps is not None and p.fix.speed_mps < STILL_MPS

    def _walking(self, p: _Pt) -> bool:
        return p.fix.speed_mps is not None and p.fix.speed_mps >= WALKING_MPS

    def _moving(self, p: _Pt) -> bool:
        return p.fix.speed_mps is not None and p.fix.speed_mps >= STILL_MPS

    def _run_times(self, i: int, j: int, cx: float, cy: float, outs: list[_Pt]) -> tuple[float | None, float | None]:
        """When the agent began and stopped standing still over members i..j: each estimated on the
        dense segment from the moving fix before (after) them as the time that fix needed to reach the
        stop's centre (leave it) at its reported speed, bounded by the segment; None for a side with no
        such segment (no speeds, a sparse gap, no moving fix next to the run)."""
        first, last = self.members[i], self.members[j]
        before = self.members[i - 1] if i > 0 else self.prev1
        after = self.members[j + 1] if j + 1 < len(self.members) else (outs[0] if outs else None)
        arrived = left = None
        if before is not None and self._moving(before) and first.t - before.t <= DENSE_GAP_S:
            arrived = min(before.t + _dist(before, cx, cy) / before.fix.speed_mps, first.t)
        if after is not None and self._moving(after) and after.t - last.t <= DENSE_GAP_S:
            left = max(after.t - _dist(after, cx, cy) / after.fix.speed_mps, last.t)
        return arrived, left

    def _still_runs(self) -> list[tuple[int, int]]:
        """Every run of member fixes reporting less than STILL_MPS (at least two), as the indices of its
        first and last member; one faster fix between still ones is Doppler noise, not a walk, and the
        run goes on through it.

        The track enters the stop circle while the agent is still driving or walking up to the door;
        a visit's evidence is owed from the moment the agent is at the door, which the speeds show to
        within one reporting interval (``_run_times``)."""
        runs: list[tuple[int, int]] = []
        i, n = 0, len(self.members)
        while i < n:
            if not self._still(self.members[i]):
                i += 1
                continue
            j = i
            while j + 1 < n and (self._still(self.members[j + 1])
                                 or (j + 2 < n and self._still(self.members[j + 2])
                                     and self.members[j + 1].fix.speed_mps is not None)):
                j += 1 if self._still(self.members[j + 1]) else 2
            if j > i:
                runs.append((i, j))
            i = j + 1
        return runs

    def _still_periods(self) -> list[tuple[int, int]]:
        """The spans of standing still that walks separate (``Stop.still``), as member indices.

        Runs of consecutive still fixes whose fixes span at least MIN_STILL_S; shorter ones are pauses
        on the way (an agent walking back to the car, sitting in it a few seconds and walking to the
        next door shows as walking, one or two still fixes, walking), and are part of the walk. Runs no
        walk separates (``_walked_between``: e.g. a fix or two of Doppler noise) are joined. Each span
        then reaches out to the still fixes beyond such noise up to the nearest fix at walking pace (a
        still phone's noise must not make the agent arrive late or leave early)."""
        runs: list[tuple[int, int]] = []
        for k, p in enumerate(self.members):
            if not self._still(p):
                continue
            if runs and runs[-1][1] == k - 1:
                runs[-1] = (runs[-1][0], k)
            else:
                runs.append((k, k))
        out: list[tuple[int, int]] = []
        for i, j in runs:
            if self.members[j].t - self.members[i].t < MIN_STILL_S:
                continue
            if out and not self._walked_between(out[-1][1], i):
                out[-1] = (out[-1][0], j)
            else:
                out.append((i, j))
        return [self._reach(i, j) for i, j in out]

    def _reach(self, i: int, j: int) -> tuple[int, int]:
        """Still members i..j widened to the farthest still fix on either side that no fix at walking
        pace separates from them."""
        lo = hi = None
        for k in range(i - 1, -1, -1):
            if self._walking(self.members[k]):
                break
            lo = k if self._still(self.members[k]) else lo
        for k in range(j + 1, len(self.members)):
            if self._walking(self.members[k]):
                break
            hi = k if self._still(self.members[k]) else hi
        return (i if lo is None else lo, j if hi is None else hi)

    def _walked_between(self, j: int, i: int) -> bool:
        """Whether the agent visibly walked off and back between the still fixes at members ``j`` and
        ``i``: in between, a fix at a brisk walk (BRISK_MPS) or at least MIN_WALK_FIXES moving fixes of
        which one at walking pace (WALKING_MPS); the two still fixes at least MIN_WALK_S apart; and
        every segment from one to the other dense (a silent gap could hide anything, or nothing)."""
        span = self.members[j:i + 1]
        inner = span[1:-1]
        fastest = max((p.fix.speed_mps for p in inner if p.fix.speed_mps is not None), default=0.0)
        moving = sum(self._moving(p) for p in inner)
        walked = fastest >= BRISK_MPS or (fastest >= WALKING_MPS and moving >= MIN_WALK_FIXES)
        dense = all(b.t - a.t <= DENSE_GAP_S for a, b in itertools.pairwise(span))
        return walked and span[-1].t - span[0].t >= MIN_WALK_S and dense

    def _close(self, out1: _Pt | None, out2: _Pt | None) -> tuple[Stop | None, Stop | None, _Pt]:
        """The candidate as a stop on its own estimate, the same with its arrival kept after the last
        stop's departure (None where too short), and the exit point of its departure."""
        n = len(self.members)
        cx, cy = self.sx / n, self.sy / n

        outs = [p for p in (out1, out2) if p is not None]
        entry = self._entry(cx, cy)
        exit_ = self._exit(cx, cy, outs)
        # The agent's travel speed around this stop: the fastest of the segments just before and just
        # after it and of the speeds the phone reported at the fixes on either side. A sparse segment's
        # average is only a lower bound (it may contain another wait), and one side may be another
        # stop's silent gap.
        speeds = [sp for seg in (entry, exit_) if seg is not None and (sp := seg[3]) is not None]
        moving = max(speeds) if speeds else None

        first, last = self.members[0], self.members[-1]
        arrival_t, arrival_interp, entered = first.t, False, first
        if entry is not None:
            a, b, s, _ = entry
            entered = b
            if s is None:  # the fix before is already inside: entry was no later than it
                arrival_t = a.t
            else:
                arrival_t, arrival_interp = _crossing_time(a, b, s, moving, True), True
        departure_t, departure_interp, exit_pt = last.t, False, last
        if exit_ is not None:
            a, b, s, _ = exit_
            if s is None:
                departure_t, exit_pt = a.t, a
            else:
                departure_t, departure_interp = _crossing_time(a, b, s, moving, False), True
                f = (departure_t - a.t) / (b.t - a.t) if b.t > a.t else 0.0
                exit_pt = _Pt(a.fix, a.x + f * (b.x - a.x), a.y + f * (b.y - a.y), departure_t)
        # The longest still period (or, with none, the longest still run) times the stop, the first of
        # equally long ones; the still periods are kept for telling apart several visits at one address
        # point (``tracking.shared_door``).
        spans = self._still_periods()
        longest = max(spans or self._still_runs(), key=lambda r: self.members[r[1]].t - self.members[r[0]].t,
                      default=None)
        periods = [(i, j, *self._run_times(i, j, cx, cy, outs)) for i, j in spans]
        still = (*self._run_times(*longest, cx, cy, outs), periods) if longest is not None else None
        own = self._stop(arrival_t, arrival_interp, departure_t, departure_interp, cx, cy, still)
        floored = own
        if self.floor is not None and arrival_t < self.floor.t:
            s = _crossing(self.floor, entered, cx, cy, self.radius_m, entering=True)
            if s is None:
                arrival_t, arrival_interp = self.floor.t, False
            else:
                arrival_t = _crossing_time(self.floor, entered, s, None, True)
            floored = self._stop(arrival_t, arrival_interp, departure_t, departure_interp, cx, cy, still)
        return own, floored, exit_pt

    def _stop(self, arrival_t: float, arrival_interp: bool, departure_t: float, departure_interp: bool,
              cx: float, cy: float,
              still: tuple[float | None, float | None, list[tuple[int, int, float | None, float | None]]] | None = None
              ) -> Stop | None:
        """The stop from its circle crossings, or None when they are less than ``min_dwell_s`` apart.
        The circle decides whether it is a stop; where the speeds show when the agent stood still
        (``still``: the longest still run's times, and the still periods with theirs), those are
        its arrival and departure."""
        if departure_t - arrival_t < self.min_dwell_s:
            return None
        arrived, left, runs = still if still is not None else (None, None, [])
        periods = self._period_times(runs, arrival_t, departure_t)
        if arrived is not None and arrived > arrival_t:
            arrival_t, arrival_interp = arrived, True
        if left is not None and left < departure_t:
            departure_t, departure_interp = left, True
        first, last = self.members[0], self.members[-1]
        lon, lat = geodata.to_wgs84(cx, cy)
        accuracies = [m.fix.accuracy_m for m in self.members if m.fix.accuracy_m is not None]
        tz = first.fix.ts.tzinfo
        return Stop(
            arrival=datetime.fromtimestamp(arrival_t, tz),
            departure=datetime.fromtimestamp(departure_t, tz),
            lat=lat,
            lon=lon,
            fix_count=len(self.members),
            median_accuracy_m=statistics.median(accuracies) if accuracies else None,
            arrival_interpolated=arrival_interp,
            departure_interpolated=departure_interp,
            first_fix_ts=first.fix.ts,
            last_fix_ts=last.fix.ts,
            still=tuple(StillPeriod(datetime.fromtimestamp(a, tz), datetime.fromtimestamp(d, tz),
                                    *self._where(i, j)) for (a, d), (i, j, *_) in zip(periods, runs)),
        )

    def _where(self, i: int, j: int) -> tuple[float, float]:
        """The mean position of members i..j as (lat, lon)."""
        span = self.members[i:j + 1]
        lon, lat = geodata.to_wgs84(sum(p.x for p in span) / len(span), sum(p.y for p in span) / len(span))
        return float(lat), float(lon)

    def _period_times(self, periods: list[tuple[int, int, float | None, float | None]], arrival_t: float,
                      departure_t: float) -> list[tuple[float, float]]:
        """Each still period's arrival and departure: its speed-based estimate where there is one, else
        the circle crossing for the stop's first arrival and last departure, else its first (last) still
        fix; all within the circle crossings (a period never starts before the stop does)."""
        out: list[tuple[float, float]] = []
        last = len(periods) - 1
        for k, (i, j, arrived, left) in enumerate(periods):
            a = arrived if arrived is not None else arrival_t if k == 0 else self.members[i].t
            d = left if left is not None else departure_t if k == last else self.members[j].t
            a = min(max(a, arrival_t, out[-1][1] if out else a), departure_t)
            out.append((a, max(min(d, departure_t), a)))
        return out


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
        return len(self._window) + self._scanner.held_fixes

    def feed(self, fixes: Iterable[Fix]) -> list[Stop]:
        """Take fixes in any order; return the stops that became final. A stop is final once the
        candidate after it has closed too (the two may claim the same silent gap), so it is reported
        a few fixes, plus the reorder window, after its departure."""
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
    max_speed_mps: float = 3.0,
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

    for prev, p in itertools.pairwise(pts):
        speed = _segment_speed(prev, p)
        if speed is not None and speed < max_speed_mps:
            run.append(p)
        else:
            close()
    close()
    return stops
