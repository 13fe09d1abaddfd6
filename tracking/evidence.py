"""Matching a detected stop to the case address it is evidence of (pure; the addresses are read by
``tracking.days``).

A stop is matched first to the agent's planned visits of the day, and only when none is within the
radius to the agent's other open cases; within each group the nearest address wins. Distances are in
metres on the British National Grid (EPSG:27700). Linked warrants at one address appear once, as their
leading case (``tracking.days`` reads only leading cases), so a stop is evidence for one case address.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_EVIDENCE_RADIUS_M = 75.0
# R-VISIT-EVIDENCE: a visit is GPS-verified when the reported and the GPS times agree this closely.
VERIFY_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class CaseAddress:
    """A case the agent might have visited: where its address is (BNG metres) and how it reads."""

    case_id: int
    address_line: str
    postcode: str
    x: float
    y: float
    planned: bool  # on the agent's current plan of the day


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
