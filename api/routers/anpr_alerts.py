"""``GET /anpr/alerts``: every ANPR sighting with its alert state (the agent alerted and when, or
none), for the office (admins, dispatchers, regional managers), newest first and paged. A sighting no
agent was alerted to (no place, or nobody available in range) is here too: a dispatcher deals with
it. Only hits are ever stored, so nothing here is of a vehicle that is not on the hotlist."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anpr_ingest import alerts_geojson, read_alerts
from api.checks import invalid
from api.deps import DB, OfficeStaff
from api.errors import SIGNED_IN, errors
from api.geojson import GEOJSON, GeoJSONResponse
from api.schemas.anpr import AlertCollection
from api.schemas.common import Limit, Moment, Offset

router = APIRouter(tags=["anpr"], responses=errors(*SIGNED_IN))


@router.get("/anpr/alerts", response_class=GeoJSONResponse, response_model=AlertCollection,
            responses={200: {"content": {GEOJSON: {}},
                             "description": "a FeatureCollection: a Point per sighting where it was last seen "
                                            "(null geometry without a place), with total, limit and offset"}})
def get_alerts(db: DB, _principal: OfficeStaff,
               start: Annotated[Moment | None, Query(alias="from", description=(
                   "first seen at or after this date-time (with its offset)"))] = None,
               end: Annotated[Moment | None, Query(alias="to", description=(
                   "first seen before this date-time (with its offset)"))] = None,
               limit: Limit = 50, offset: Offset = 0) -> GeoJSONResponse:
    """Sightings first seen in [``from``, ``to``), newest first: the mark, warrants, van, first and last
    seen, reads, whether and whom an agent was alerted and when, and the keeper check's state."""
    if start is not None and end is not None and start >= end:
        raise invalid(("query", "from"), f"must be before to ({end.isoformat()})", start)
    total, alerts = read_alerts(db, start=start, end=end, limit=limit, offset=offset)
    return GeoJSONResponse(alerts_geojson(alerts, total=total, limit=limit, offset=offset))
