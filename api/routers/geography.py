from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

import geodata
from api.deps import DB, People
from api.errors import SIGNED_IN, error, errors
from api.schemas.common import PathText
from api.schemas.geography import LocationOut, PostcodeOut

router = APIRouter(prefix="/geography", tags=["geography"], responses=errors(*SIGNED_IN))


@router.get("/postcodes/{postcode}", response_model=PostcodeOut, responses=error(404, "no such postcode"))
def postcode(postcode: PathText, db: DB, _p: People) -> PostcodeOut:
    """The centroid of a unit postcode; spacing and case do not matter ("pl12aa" is PL1 2AA)."""
    try:
        point = geodata.postcode_point(db, postcode)
    except geodata.InvalidPostcode as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"postcode: {exc}") from None
    except geodata.UnknownPostcode as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"postcode: {exc}") from None
    return PostcodeOut(postcode=point.postcode, lon=point.lon, lat=point.lat)


@router.get("/locate", response_model=LocationOut,
            responses=error(404, "the point is outside the UK or far from any postcode"))
def locate(db: DB, _p: People,
           lat: Annotated[float, Query(ge=-90, le=90)], lon: Annotated[float, Query(ge=-180, le=180)]) -> LocationOut:
    """Region, local authority and nearest postcode (with its distance in metres) of a WGS84 point."""
    try:
        region = geodata.region_of(db, lon, lat)
        lad = geodata.local_authority_of(db, lon, lat)
        nearest = geodata.nearest_postcode(db, lon, lat)
    except (geodata.OutsideUK, geodata.NoPostcodeNearby) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"lat/lon: {exc}") from None
    return LocationOut(lon=lon, lat=lat, itl1_cd=region.code, region=region.name, lad_cd=lad.lad_cd,
                       local_authority=lad.name, nearest_postcode=nearest.postcode,
                       nearest_postcode_distance_m=round(nearest.distance_m, 1))
