"""Planned visits a phone that reports by distance fell silent through (pure).

An iOS phone reports after 100 m or 5 minutes, one in "significant change" mode after about 500 m or
5 minutes. During a visit shorter than 5 minutes such a phone sends nothing: its last fix before the
visit (A) may be up to its reporting distance before the door, the next (B) comes only once the agent
has driven on that far from A. The stop detector (``tracking.stops``) then keeps a stop placed at A or
B, which is often beyond the 75 m within which ``match_stop`` takes it as evidence of a case, so the
visit is lost although the track shows plainly that the agent stood somewhere in between.

A *silent gap* is two consecutive fixes of one phone, more than ``DENSE_GAP_S`` apart, whose time apart
is longer than their distance apart explains at the agent's moving speed by at least ``min_dwell_s``
(the detector's minimum dwell): the agent stood still somewhere for at least that long. The moving
speed is the detector's: the fastest of the two neighbouring segments' speeds and the speeds the phone
reported at A and B (Doppler), capped at ``MAX_SPEED_MPS``.

Which planned visit a gap contains
----------------------------------
A gap is evidence only of the agent's *planned* visits of the day, never of its firm's other open
cases. Where the agent stood is not seen; what makes the inference safe is that the agent set out to
visit exactly these doors, in this order. With the whole firm's caseload as candidates any gap near a
case address would become a visit (a fuel stop, a parcel drop, a long red light); with the plan there
are a handful of doors, and route order narrows them to one.

A planned door fits a gap when:

- the agent could have gone A → door → B in the gap and still stood there ``min_dwell_s``:
  d(A, door) + d(door, B) <= v * (t_B - t_A - min_dwell_s), v the moving speed. Straight lines and
  the fastest speed seen make this a necessary condition only: the real drive is longer and slower;
- the door is within the phone's reach of A: a phone that reports by distance reports once the agent
  is its reporting distance from its last fix, so it got from A to the door without moving that far.
  The reporting distance is read from the phone's own track (the median length of its moving
  segments, ``reporting_step``), plus twice A's reported accuracy for the noise of both positions;
- neither A nor B was sent standing still farther than ``DEFAULT_EVIDENCE_RADIUS_M`` from the door:
  a fix reporting a still phone (the 5-minute timer during a wait) says where the agent waited, and
  it was not at the door (a lunch or fuel stop of more than 5 minutes).

A gap that already gave a stop matched to a planned visit is not used again: one with such a stop's
fixes on both sides of it (the agent stood between them), or whose fix A or B alone is such a stop (the
stop the detector placed at a fix to claim the silent wait, within 75 m of a door). A stop whose match
rests on the proximity of a fix alone claims nothing and evidences nothing here: one matched to one of
the firm's other open cases, or one made of a single fix the phone sent at driving speed (at least
``ON_FOOT_MPS``). The detector places a stop in a gap at the gap's own fixes, where the phone happened
to report and not where the agent stood, and a fix sent driving says the agent was not standing there;
a planned door the gap fits in route order explains the same wait better (as ``match_stop`` prefers a
planned visit to a nearer unplanned case), and the visit replaces that stop, and any such stop of the
same case (``tracking.days``). A matched stop that merely ends at A (the previous door, where the
5-minute timer sent fixes) does not claim the gap after it, although the detector's departure estimate
for it reaches into the gap: the detector assumes the wait was at its stop, which is the very case this
module is for.

The candidates of a gap are the planned visits no matched stop is evidence of, between the nearest
planned visits before and after them in the route that the stops did evidence (a gap after the last fix
of the route's 4th visit and before the first fix of its 6th can only hold its 5th), and after the last
visit a gap was taken for (route order). A gap is taken for a visit when exactly one candidate fits, or
when several do and one of them is the next candidate in route order (the agent drives its route in
order). That next candidate gives way to a later one whose detour A -> door -> B is shorter by more
than the two fixes' errors can explain (twice each one's accuracy): the next candidate's own visit
was then most likely missed before this gap (its short visit absorbed into the previous stop, or a gap
too short to show it), and taking it here would push every later gap one visit behind the route. When
several fit and the next one does not, nothing is made of the gap: recall is worth less than a wrong
visit. Cases at one address point (a postcode centroid) cannot be told apart by GPS: when
a stop is evidence of one of them, none of them is a candidate, and a gap taken for one passes over
the others right after it in the route; they are left to the stops.

The visit's arrival is t_A plus the time from A to the door at v, its departure t_B less the time from
the door to B; both are inside the gap, and earlier (later) than the truth by the walk and the detour,
which the track cannot show. Its distance is from the door to the nearer of A and B: how far the
nearest fix was, not how well the door was placed.

Phones that report every ~10 s (Android) have no segment longer than ``DENSE_GAP_S``: their visits are
in the fixes, and this module finds nothing in them.
"""
from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

import geodata
from tracking.evidence import DEFAULT_EVIDENCE_RADIUS_M, CaseAddress
from tracking.fixes import Fix
from tracking.stops import DEFAULT_MIN_DWELL_S, DENSE_GAP_S, ON_FOOT_MPS, STILL_MPS

# The fastest an agent drives between case addresses: the simulator's urban maximum (55 km/h), above
# the 30 mph (48 km/h) of the residential streets where cases are. Reported or implied speeds above it
# are GPS noise or an outlier, and a higher speed would let a gap reach doors it could not have held.
MAX_SPEED_MPS = 55.0 / 3.6
# The reach slack when A reports no accuracy: two of the detector's 50 m radii.
UNKNOWN_ACCURACY_SLACK_M = 100.0
# Address points closer than this are one point (cases at one postcode centroid share it exactly).
SAME_POINT_M = 1.0


@dataclass(frozen=True, slots=True)
class Gap:
    """A silent gap: consecutive fixes ``before`` and ``after`` of one phone (BNG metres for both),
    the moving speed around them and how far from ``before`` the phone could go unheard (``reach_m``)."""

    device_id: str
    before: Fix
    after: Fix
    ax: float
    ay: float
    bx: float
    by: float
    speed_mps: float
    reach_m: float

    @property
    def seconds(self) -> float:
        return (self.after.ts - self.before.ts).total_seconds()


@dataclass(frozen=True, slots=True)
class GapVisit:
    """A planned visit inferred from a silent gap (module docstring)."""

    gap: Gap
    case: CaseAddress
    arrival: datetime
    departure: datetime
    distance_m: float  # from the door to the nearer of the gap's two fixes
    nearest: Fix       # that fix


def _speed(a: tuple[float, float, Fix], b: tuple[float, float, Fix]) -> float | None:
    dt = (b[2].ts - a[2].ts).total_seconds()
    return math.hypot(b[0] - a[0], b[1] - a[1]) / dt if dt > 0 else None


def reporting_step(pts: Sequence[tuple[float, float, Fix]]) -> float | None:
    """How far the phone moves between reports: the median length of its segments driven or walked
    briskly (at least ON_FOOT_MPS); None when it has none."""
    steps = [math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(pts)
             if (sp := _speed(a, b)) is not None and sp >= ON_FOOT_MPS]
    return statistics.median(steps) if steps else None


def silent_gaps(track: Sequence[Fix], device_id: str = "",
                min_dwell_s: float = DEFAULT_MIN_DWELL_S) -> list[Gap]:
    """The silent gaps of one phone's fixes (time order; module docstring)."""
    fixes = sorted(set(track), key=lambda f: (f.ts, f.lat, f.lon))
    if len(fixes) < 2:
        return []
    xs, ys = geodata.to_bng(np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes]))
    pts = [(float(x), float(y), f) for x, y, f in zip(xs, ys, fixes)]
    step = reporting_step(pts)
    if step is None:
        return []
    out: list[Gap] = []
    for i in range(1, len(pts)):
        a, b = pts[i - 1], pts[i]
        dt = (b[2].ts - a[2].ts).total_seconds()
        if dt <= DENSE_GAP_S:
            continue
        speeds = [a[2].speed_mps, b[2].speed_mps,
                  _speed(pts[i - 2], a) if i >= 2 else None, _speed(b, pts[i + 1]) if i + 1 < len(pts) else None]
        known = [s for s in speeds if s is not None and math.isfinite(s) and s > 0]
        if not known:
            continue
        v = min(max(known), MAX_SPEED_MPS)
        if dt - math.hypot(b[0] - a[0], b[1] - a[1]) / v < min_dwell_s:
            continue
        acc = a[2].accuracy_m
        slack = 2.0 * acc if acc is not None else UNKNOWN_ACCURACY_SLACK_M
        out.append(Gap(device_id, a[2], b[2], a[0], a[1], b[0], b[1], v, step + slack))
    return out


def _waited_elsewhere(fix: Fix, d: float) -> bool:
    return fix.speed_mps is not None and fix.speed_mps < STILL_MPS and d > DEFAULT_EVIDENCE_RADIUS_M


def fit(gap: Gap, door: CaseAddress, min_dwell_s: float = DEFAULT_MIN_DWELL_S) -> GapVisit | None:
    """The visit ``door`` would be in ``gap``, or None when the gap cannot hold it (module docstring)."""
    da = math.hypot(door.x - gap.ax, door.y - gap.ay)
    db = math.hypot(door.x - gap.bx, door.y - gap.by)
    v = gap.speed_mps
    if da > gap.reach_m or da + db > v * (gap.seconds - min_dwell_s):
        return None
    if _waited_elsewhere(gap.before, da) or _waited_elsewhere(gap.after, db):
        return None
    arrival = gap.before.ts + timedelta(seconds=da / v)
    departure = gap.after.ts - timedelta(seconds=db / v)
    nearest, dist = (gap.before, da) if da <= db else (gap.after, db)
    return GapVisit(gap, door, arrival, departure, dist, nearest)


def _detour(gap: Gap, door: CaseAddress) -> float:
    return math.hypot(door.x - gap.ax, door.y - gap.ay) + math.hypot(door.x - gap.bx, door.y - gap.by)


def _noise_m(gap: Gap) -> float:
    """How much the errors of the gap's two fixes can change the difference of two doors' detours:
    each fix moved by its error changes both doors' distances to it by up to that error."""
    return sum(2.0 * f.accuracy_m if f.accuracy_m is not None else UNKNOWN_ACCURACY_SLACK_M
               for f in (gap.before, gap.after))


def claims(span: tuple[datetime, datetime], gap: Gap) -> bool:
    """Whether a matched stop whose fixes span ``span`` already gave the visit ``gap`` held: it has
    fixes on both sides of the gap (the agent stood between them), or it is the gap's own fix A or B
    alone, the stop the detector placed at a fix to claim the silent wait."""
    first, last = span
    t_a, t_b = gap.before.ts, gap.after.ts
    return (first < t_b and last > t_a) or (first == last and first in (t_a, t_b))


def gap_visits(gaps: Iterable[Gap], route: Sequence[CaseAddress],
               evidenced: Mapping[int, tuple[datetime, datetime]],
               claimed: Iterable[tuple[datetime, datetime]] = (),
               min_dwell_s: float = DEFAULT_MIN_DWELL_S) -> list[GapVisit]:
    """The planned visits of one agent's day that its silent ``gaps`` (of all its phones) held.

    ``route`` is the agent's planned visits in route order; ``evidenced`` the times of the first and
    last fix of the stops that are evidence of them by more than the proximity of a fix (module
    docstring), by case id (the agent was at that door from the first to the last, whatever their
    estimated arrival and departure); ``claimed`` the same of every such stop of the agent, so a gap
    that gave one is not used again (``claims``)."""
    route = [c for c in route if c.planned]
    claimed = list(claimed)
    windows: list[tuple[datetime | None, datetime | None]] = []
    for k in range(len(route)):
        # The nearest evidenced visits on either side in route order bound when this one was made.
        before = [evidenced[c.case_id][1] for c in route[:k] if c.case_id in evidenced]
        after = [evidenced[c.case_id][0] for c in route[k + 1:] if c.case_id in evidenced]
        windows.append((before[-1] if before else None, after[0] if after else None))
    # A stop at an address point is evidence of one of the cases there (match_stop's choice among
    # equals): which one the agent saw first is not in the track, so none of them is left for a gap.
    done = {k for k, c in enumerate(route)
            if any(e.case_id in evidenced and math.hypot(e.x - c.x, e.y - c.y) < SAME_POINT_M for e in route)}
    out: list[GapVisit] = []
    last = -1  # route index of the last visit a gap was taken for
    for gap in sorted(gaps, key=lambda g: (g.before.ts, g.device_id)):
        if any(claims(span, gap) for span in claimed):
            continue
        open_ = [k for k in range(last + 1, len(route)) if k not in done
                 and (windows[k][0] is None or windows[k][0] <= gap.before.ts)
                 and (windows[k][1] is None or gap.after.ts <= windows[k][1])]
        if not open_:
            continue
        fits = {k: v for k in open_ if (v := fit(gap, route[k], min_dwell_s)) is not None}
        if len(fits) == 1:
            k = next(iter(fits))
        elif open_[0] in fits:
            nearest = min(fits, key=lambda j: (_detour(gap, route[j]), j))
            k = nearest if _detour(gap, route[nearest]) + _noise_m(gap) < _detour(gap, route[open_[0]]) else open_[0]
        else:
            continue
        out.append(fits[k])
        last = k
        while last + 1 < len(route) and math.hypot(route[last + 1].x - route[k].x,
                                                   route[last + 1].y - route[k].y) < SAME_POINT_M:
            last += 1
    return out
