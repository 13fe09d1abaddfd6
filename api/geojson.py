"""GeoJSON answers (RFC 7946), shared by the routers that give them."""
from __future__ import annotations

from fastapi.responses import JSONResponse

GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON  # RFC 7946 §12
