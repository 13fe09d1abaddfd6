"""``GET /cases/{id}/evidence`` and ``GET /evidence``: GPS visit evidence, an RFC 7946 FeatureCollection
of the stops (``tracking.evidence_geojson``), or CSV of the same columns plus the stop's lat and lon."""
from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field


class EvidenceProperties(BaseModel):
    case_id: int = Field(description="the case the stop is evidence for (of linked warrants: the leading one)")
    agent_id: int
    device_id: str = Field(description="the agent's phone")
    arrival: AwareDatetime = Field(description="GPS arrival, ISO 8601 in UK local time with its offset")
    departure: AwareDatetime = Field(description="GPS departure, as arrival")
    dwell_s: int = Field(ge=0, description="seconds from arrival to departure")
    address_line: str = Field(description="the case address when the stop was matched")
    postcode: str = Field(description="the case address's postcode")
    distance_m: float = Field(ge=0, description="metres from the stop to the case address")
    fix_count: int = Field(ge=0, description="GPS fixes during the stop")
    median_accuracy_m: float | None = Field(description="the fixes' median reported accuracy, null when "
                                                        "the phone reported none")
    source: Literal["fixes", "transition"] = Field(description="what set arrival and departure: the fixes, "
                                                               "or the phone's geofence events")


class EvidencePoint(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2,
                                     description="[lon, lat] of the stop (where the phone dwelt), WGS 84")


class EvidenceFeature(BaseModel):
    type: Literal["Feature"]
    id: int = Field(description="the evidence row's id")
    geometry: EvidencePoint | None = Field(description="the stop; null for a row recorded without its trail")
    properties: EvidenceProperties


class EvidenceCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[EvidenceFeature]
