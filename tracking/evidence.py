"""Matching a detected stop to the case address it is evidence of (pure; the addresses are read by
``tracking.days``).

A stop is matched first to the agent's planned visits of the day, and only when none is within the
radius to the agent's other open cases; within each group the nearest address wins. Distances are in
metres on the British National Grid (EPSG:27700). Linked warrants at one address appear once, as their
leading case (``tracking.days`` reads only leading cases), so a stop is evidence for one case address,
except where several planned cases share one address point (``tracking.shared_door``).

A matched stop's arrival and departure are the ones the fixes give, unless the phone's own geofence of
the case (``core.geofence_name``: the OwnTracks app's enter and leave events of the 50 m region sent
with the plan) agrees with them (``geofence_timing``). The geofence never makes a visit: the stop
detector's dwell filter alone decides whether there was one, so an enter with no stop (driving past,
a geofence flapping at its edge) is evidence of nothing.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

DEFAULT_EVIDENCE_RADIUS_M = 75.0
# R-VISIT-EVIDENCE: a visit is GPS-verified when the reported and the GPS times agree this closely.
VERIFY_TOLERANCE = timedelta(minutes=5)
# How close a geofence event must be to the fix-estimated arrival (or departure) to be taken as the same
# crossing of the door's circle. The fixes put a 10-second phone's arrival within about 30 s of the truth,
# and the app's region and the detector's stop circle are both 50 m around the door, so the same
# crossing is seen by both within the OS's geofence latency (tens of seconds, more on a phone asleep)
# plus the walk between the two circles' edges. Two minutes covers that and the coarser estimate of a
# phone reporting every 100 m or 5 min; an event farther off is another crossing (the drive past before
# parking, the agent stepping back to the car) or the geofence flapping, and the fixes are kept.
GEOFENCE_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class CaseAddress:
    """A case the agent might have visited: where its address is (BNG metres) and how it reads."""

    case_id: int
    address_line: str
    postcode: str
    x: float
    y: float
    planned: bool  # on the agent's current plan of the day
    seq: int | None = None  # its place in that plan's route (plan_visit.seq); None when not planned


@dataclass(frozen=True, slots=True)
class Match:
    case: CaseAddress
    distance_m: float


def match_stop(x: float, y: float, addresses: Iterable[CaseAddress],
               radius_m: float = DEFAULT_EVIDENCE_RADIUS_M) -> Match | None:
    """The case address a stop centred at (x, y) (BNG metres) is evidence of, or None. A planned visit
    within ``radius_m`` beats a nearer unplanned case: the plan is what the agent set out to do. Ties in
    distance go to the lower case id, so the answer never depends on the order read."""
    if not (radius_m > 0 and math.isfinite(radius_m)):
        raise ValueError(f"radius_m must be a positive number of metres, got {radius_m}")
    best: tuple[bool, float, int, CaseAddress] | None = None
    for a in addresses:
        d = math.hypot(a.x - x, a.y - y)
        if d > radius_m:
            continue
        key = (not a.planned, d, a.case_id, a)
        if best is None or key[:3] < best[:3]:
            best = key
    return None if best is None else Match(best[3], best[1])


def gps_verified(reported_arrival: datetime, reported_departure: datetime | None, gps_arrival: datetime,
                 gps_departure: datetime, tolerance: timedelta = VERIFY_TOLERANCE) -> bool:
    """Whether a visit's reported arrival and departure both agree with the GPS ones within
    ``tolerance`` [R-VISIT-EVIDENCE]. A visit reported without a departure cannot be verified."""
    if reported_departure is None:
        return False
    return (abs(reported_arrival - gps_arrival) <= tolerance
            and abs(reported_departure - gps_departure) <= tolerance)


@dataclass(frozen=True, slots=True)
class RegionEvent:
    """One enter or leave of a named region, as the phone reported it (``gps_transition``)."""

    ts: datetime
    event: Literal["enter", "leave"]
    region: str


@dataclass(frozen=True, slots=True)
class VisitTiming:
    arrival: datetime
    departure: datetime
    source: Literal["fixes", "transition"]  # visit_evidence.source

    @property
    def dwell_s(self) -> float:
        return (self.departure - self.arrival).total_seconds()


def _nearest(times: list[datetime], to: datetime, *, later: bool) -> datetime | None:
    # Equal distances go to the earlier enter and the later leave (the region's edge flapping as the
    # agent walks up or away: the visit spans both), so the answer never depends on the order read.
    return min(times, key=lambda t: (abs(t - to), -t.timestamp() if later else t.timestamp())) if times else None


def geofence_timing(arrival: datetime, departure: datetime, region: str, events: Iterable[RegionEvent],
                    tolerance: timedelta = GEOFENCE_TOLERANCE) -> VisitTiming:
    """A stop's arrival and departure (from the fixes), with the phone's ``enter`` of ``region`` nearest
    the arrival taken as the arrival when within ``tolerance`` of it, and likewise its ``leave`` for the
    departure; ``source`` is ``transition`` when either was taken. Events of other regions, and events
    farther off, are ignored (module docstring); so are events that would put the arrival at or after
    the departure, which cannot both be of this stop."""
    enters, leaves = [], []
    for e in events:
        if e.region != region:
            continue
        if e.event == "enter" and abs(e.ts - arrival) <= tolerance:
            enters.append(e.ts)
        elif e.event == "leave" and abs(e.ts - departure) <= tolerance:
            leaves.append(e.ts)
    enter, leave = _nearest(enters, arrival, later=False), _nearest(leaves, departure, later=True)
    timing = VisitTiming(enter or arrival, leave or departure,
                         "transition" if enter is not None or leave is not None else "fixes")
    if timing.arrival >= timing.departure:
        return VisitTiming(arrival, departure, "fixes")
    return timing
