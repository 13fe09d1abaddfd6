"""What ANPR recorded about one case [000 §2.141]: the sightings of the case's vehicles while its
warrant had them on the hotlist, each with the reads (hits) it collapsed. Nothing else exists to
show: a read that matched no warrant was never stored [R-ANPR-PRIVACY].

A vehicle may be listed for several warrants, of several buyers; a sighting is shown for the case
asked about only, and names no other case.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_SIGHTINGS = text("""
SELECT s.id, van.reference, s.vrm, s.first_seen_at, s.last_seen_at, s.reads, s.best_score,
       ST_X(s.location), ST_Y(s.location), s.keeper_result, s.actionable,
       coalesce(jsonb_agg(jsonb_build_object(
           'ts', h.ts, 'plate_read', h.plate_read, 'score', h.score, 'how', h.how,
           'lon', ST_X(h.location), 'lat', ST_Y(h.location), 'image_ref', h.image_ref) ORDER BY h.ts)
         FILTER (WHERE h.id IS NOT NULL), '[]')
FROM anpr_sighting s
JOIN van ON van.id = s.van_id
LEFT JOIN anpr_hit h ON h.sighting_id = s.id
WHERE :case_id = ANY(s.case_ids)
GROUP BY s.id, van.reference
ORDER BY s.first_seen_at, s.id
""")


@dataclass(frozen=True)
class SightingRecord:
    id: int
    case_id: int
    van: str                      # the van's reference
    vrm: str
    first_seen_at: datetime
    last_seen_at: datetime
    reads: int
    best_score: float
    lon: float | None             # where it was last seen (None: the camera gave no position)
    lat: float | None
    keeper_result: str | None     # R-ANPR-KEEPER: None until a keeper check is recorded
    actionable: bool
    hits: tuple[dict[str, Any], ...]


def read_case_sightings(db: Session, case_id: int) -> list[SightingRecord]:
    """The sightings of ``case_id``'s vehicles, oldest first, each with its reads."""
    return [SightingRecord(r[0], case_id, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                           tuple(r[11]))
            for r in db.execute(_SIGHTINGS, {"case_id": case_id})]


def sightings_geojson(records: list[SightingRecord]) -> dict[str, Any]:
    """A FeatureCollection: a Point per located sighting where it was last seen, a null geometry for
    one without a position (it still happened)."""
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": None if r.lon is None else {"type": "Point", "coordinates": [r.lon, r.lat]},
        "properties": {
            "sighting_id": r.id, "case_id": r.case_id, "van": r.van, "vrm": r.vrm,
            "first_seen_at": r.first_seen_at.isoformat(), "last_seen_at": r.last_seen_at.isoformat(),
            "reads": r.reads, "best_score": round(r.best_score, 4), "keeper_result": r.keeper_result,
            "actionable": r.actionable, "hits": list(r.hits)},
    } for r in records]}
