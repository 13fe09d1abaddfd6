"""What ANPR recorded about a case [000 §2.141]: ``GET /cases/{id}/anpr``, the sightings of the
case's vehicles with their reads. Scoped like every case route (another buyer's case is a 404) and
audited when a buyer asks; a read that matched no warrant was never stored, so there is nothing else
to show [R-ANPR-PRIVACY]."""
from __future__ import annotations

from fastapi import APIRouter

from anpr_ingest import read_case_sightings, sightings_geojson
from api.deps import DB, OfficeStaffOrBuyer, audit_buyer_view
from api.errors import SIGNED_IN, error, errors, not_found_404
from api.geojson import GEOJSON, GeoJSONResponse
from api.schemas.common import CaseId
from core import case_in_scope

router = APIRouter(tags=["anpr"], responses=errors(*SIGNED_IN))


@router.get("/cases/{case_id}/anpr", response_class=GeoJSONResponse,
            responses={200: {"description": "a FeatureCollection, one feature per sighting of the case's vehicles "
                                            "(a Point where last read; a null geometry when the camera gave no "
                                            "position), each with its reads in properties.hits",
                             "content": {GEOJSON: {}}},
                       **error(404, "no such case in the caller's buyer scope")})
def get_case_anpr(case_id: CaseId, db: DB, principal: OfficeStaffOrBuyer) -> GeoJSONResponse:
    """The ANPR sightings of the case's vehicles, oldest first: the van, the mark, first and last read,
    the number of reads and the best match score, where it was last seen, the keeper check
    (R-ANPR-KEEPER) and whether it is actionable, and each read (time, mark as read, score, how it
    matched, place, image reference)."""
    with not_found_404():
        case_in_scope(db, case_id, principal.buyer_scope)
    records = read_case_sightings(db, case_id)
    audit_buyer_view(db, principal, "case.anpr", f"case:{case_id}", {"results": len(records)})
    return GeoJSONResponse(sightings_geojson(records))
