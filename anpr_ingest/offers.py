"""Sightings as optional visits for the planner [R-ANPR-NOCHASE]: agents never chase or stop a moving
vehicle, so an actionable sighting (its keeper confirmed, R-ANPR-KEEPER) is offered as a visit at the
fixed place the vehicle was last seen, until ``last_seen_at`` plus ``BAILIWICK_ANPR_OFFER_HOURS``. A
sighting without a position offers nothing: there is no place to send anyone.

``SightingOffers`` satisfies dispatch's ``OptionalVisitSource`` protocol structurally (the two
packages never import each other): ``optional_visits`` yields objects with ``OptionalVisit``'s
attributes, one per warrant the sighting found the vehicle on. The planner keeps, for each task, the
best offer for any warrant it carries, and ignores offers for warrants that may not be visited on the
day (paid, on hold … since the sighting).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import LONDON, get_settings
from core.models import AnprSighting, KeeperCheck, Vehicle

# An ANPR task may end in clamping: only a vehicle-capable agent goes.
SKILLS = frozenset({"vehicle"})
# Above a visit due within the week (dispatch.eligibility.priority_for gives 70): the vehicle will not
# wait there for long.
PRIORITY = 80


@dataclass(frozen=True)
class Place:
    lon: float
    lat: float


@dataclass(frozen=True)
class SightingOffer:
    """A chance to meet ``case_id``'s customer at ``at`` until ``expires_at``."""

    case_id: int
    at: Place
    expires_at: datetime
    reason: str
    priority: int = PRIORITY
    required_skills: frozenset[str] = SKILLS


class SightingOffers:
    """The actionable, located, unexpired sightings of a day, as offers (module docstring). ``hours``
    defaults to the setting ``anpr_offer_hours``."""

    def __init__(self, db: Session, hours: float | None = None) -> None:
        self.db = db
        self.lifetime = timedelta(hours=get_settings().anpr_offer_hours if hours is None else hours)

    def optional_visits(self, day: date, now: datetime | None) -> Iterator[SightingOffer]:
        # Offers still open at ``now`` (re-planning) or at some time of the day, from sightings made
        # by the day's end: a plan for tomorrow gets none of tonight's.
        start = datetime.combine(day, time(0), tzinfo=LONDON)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
        expires = AnprSighting.last_seen_at + self.lifetime
        rows = self.db.execute(
            select(AnprSighting.id, AnprSighting.case_ids, AnprSighting.last_seen_at,
                   func.ST_X(AnprSighting.location), func.ST_Y(AnprSighting.location))
            .join(Vehicle, Vehicle.id == AnprSighting.vehicle_id)
            .where(AnprSighting.actionable, AnprSighting.location.is_not(None),
                   # A vehicle since found to be someone else's is offered no more (R-ANPR-KEEPER).
                   Vehicle.keeper_check_state != KeeperCheck.different_keeper,
                   AnprSighting.last_seen_at < end, expires > (max(start, now) if now else start))
            .order_by(AnprSighting.id))
        for sighting_id, case_ids, last_seen, lon, lat in rows:
            reason = (f"ANPR sighting {sighting_id}: vehicle seen here at "
                      f"{last_seen.astimezone(LONDON):%H:%M}; a visit to a parked vehicle, never a pursuit")
            for case_id in case_ids:
                yield SightingOffer(case_id, Place(lon, lat), last_seen + self.lifetime, reason)
