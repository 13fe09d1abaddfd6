"""Agents' live positions for the office: ``GET /agents/live`` (GeoJSON) and ``GET /maps/live`` (the
live operations map), for admins, dispatchers and regional managers. Each agent with a position in
Redis (written by the GPS ingest) is shown with the age of its fix, stale past
``BAILIWICK_GPS_STALE_S``, and the speed and battery the phone reported with it (``tracking.live``).
The map also shows the ANPR sightings of the last ``RECENT_SIGHTINGS`` (every region's: a sighting is
where a vehicle was, not an agent's base)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from anpr_ingest import read_alerts
from api.checks import check_region
from api.deps import DB, OfficeStaff
from api.errors import SIGNED_IN, errors
from api.geojson import GEOJSON, GeoJSONResponse
from api.schemas.common import RegionQuery
from api.schemas.live import LiveCollection
from core import connect_redis, get_settings
from dashboards import live_map_html
from tracking import LiveAgent, live_geojson, read_live

router = APIRouter(tags=["tracking"], responses=errors(*SIGNED_IN))
# A sighting older than this is history: the vehicle has moved on (GET /anpr/alerts has them all).
RECENT_SIGHTINGS = timedelta(hours=2)
MAP_SIGHTINGS = 500  # the newest, at most: more markers would hide the agents


def _live(db: DB, region: str | None) -> list[LiveAgent]:
    check_region(db, region, ("query", "region"))
    return read_live(db, connect_redis(), now=datetime.now(UTC), stale_s=get_settings().gps_stale_s,
                     region=region)


@router.get("/agents/live", response_class=GeoJSONResponse, response_model=LiveCollection,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection: a Point per agent"}})
def get_live(db: DB, _principal: OfficeStaff, region: RegionQuery = None) -> GeoJSONResponse:
    """Every agent's latest position (of agents based in ITL1 ``region``, when given): a Point with
    ``agent_id``, ``at``, ``age_s``, ``speed_mps``, ``battery_pct`` and ``stale``."""
    return GeoJSONResponse(live_geojson(_live(db, region)))


@router.get("/maps/live", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "the live map (Leaflet inlined)"}})
def get_live_map(db: DB, _principal: OfficeStaff, region: RegionQuery = None) -> HTMLResponse:
    """The agents' latest positions on a map, each marker coloured by freshness (fresh, stale, very
    old; a legend says the limits), popups with agent, time (UK local), age, speed and battery; and
    the recent ANPR sightings, popups with the mark, when it was seen and the agent alerted."""
    agents = _live(db, region)
    _, sightings = read_alerts(db, start=datetime.now(UTC) - RECENT_SIGHTINGS, limit=MAP_SIGHTINGS)
    return HTMLResponse(live_map_html(agents, get_settings().gps_stale_s, sightings))
