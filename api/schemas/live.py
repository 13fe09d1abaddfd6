"""``GET /agents/live``: the agents' live positions, an RFC 7946 FeatureCollection of Points."""
from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field


class LiveProperties(BaseModel):
    agent_id: int
    at: AwareDatetime = Field(description="when the fix was taken, ISO 8601 with its offset (UTC)")
    age_s: float = Field(ge=0, description="seconds since the fix")
    speed_mps: float | None = Field(description="the fix's speed, null when the phone did not report it")
    battery_pct: int | None = Field(description="the phone's battery at the fix, null when not reported")
    stale: bool = Field(description="older than BAILIWICK_GPS_STALE_S (default 300 s)")


class LivePoint(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2, description="[lon, lat], WGS 84")


class LiveFeature(BaseModel):
    type: Literal["Feature"]
    id: int = Field(description="the agent id")
    geometry: LivePoint
    properties: LiveProperties


class LiveCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[LiveFeature]
