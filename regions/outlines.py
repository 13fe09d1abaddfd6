"""The twelve ITL1 regions' boundaries, simplified for drawing on a map of the whole UK."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["OUTLINE_TOLERANCE_DEG", "RegionOutline", "region_outlines"]

# ~1 km: finer than a res-5 hexagon's edge, and Scotland's coast drops from 24,000 points to 8,000.
OUTLINE_TOLERANCE_DEG = 0.01


@dataclass(frozen=True)
class RegionOutline:
    itl1_cd: str
    name: str
    geometry: dict[str, Any]  # GeoJSON (RFC 7946) MultiPolygon or Polygon, lon/lat


def region_outlines(db: Session, tolerance_deg: float = OUTLINE_TOLERANCE_DEG) -> list[RegionOutline]:
    """Each region's boundary simplified to ``tolerance_deg``, keeping its shape valid, by code."""
    rows = db.execute(text(
        "SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tolerance), 4) "
        "FROM itl1_region ORDER BY code"), {"tolerance": tolerance_deg})
    return [RegionOutline(code, name, json.loads(geometry)) for code, name, geometry in rows]
