"""``/geography/*``: postcodes and places."""
from __future__ import annotations

from pydantic import BaseModel


class PostcodeOut(BaseModel):
    postcode: str
    lon: float
    lat: float


class LocationOut(BaseModel):
    lon: float
    lat: float
    itl1_cd: str
    region: str
    lad_cd: str
    local_authority: str
    nearest_postcode: str
    nearest_postcode_distance_m: float
