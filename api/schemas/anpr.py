"""``POST /anpr/webhooks/platerecognizer`` and ``POST /anpr/webhooks/openalpr``: the vendors' own bodies
go in (described here for the spec, decoded by ``anpr_ingest``), a count of what was taken comes out.
``POST /anpr/sightings/{id}/keeper-check``: a keeper check's result in, what it did out.
``GET /anpr/alerts``: the sightings and their alert state, an RFC 7946 FeatureCollection."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field


class WebhookReceipt(BaseModel):
    reads: int = Field(ge=0, description="plate reads taken into the pipeline (each counted for the van's hour)")
    hits: int = Field(ge=0, description="new hotlist hits stored (a re-sent read adds none)")
    rejected: int = Field(ge=0, description="parts of the body refused and dead-lettered with their field and "
                                            "reason, never their plates")


class KeeperCheckIn(BaseModel):
    result: Literal["confirmed", "new_address", "different_keeper"] = Field(
        description="the keeper check's answer (a DVLA enquiry): the customer at the warrant's address; the "
                    "customer at a new address; or someone else")


class KeeperCheckOut(BaseModel):
    sighting_id: int
    vehicle_id: int
    result: str = Field(description="the result recorded (the keeper-check provider's answer)")
    actionable: bool = Field(description="the sighting may become a visit at the place it was seen")
    checked_at: datetime
    checked_by: str
    case_ids: list[int] = Field(description="the warrants the sighting found the vehicle on")
    payment_option_case_ids: list[int] = Field(
        description="warrants this check flagged: the customer may pay as at the compliance stage (new_address)")
    off_hotlist: bool = Field(description="the vehicle was taken off every van's hotlist (different_keeper)")


class AlertProperties(BaseModel):
    sighting_id: int
    vrm: str = Field(description="the hotlist vehicle's mark (only hits are ever stored)")
    case_ids: list[int] = Field(description="the warrants that had the vehicle on the hotlist")
    van_id: int
    first_seen_at: AwareDatetime
    last_seen_at: AwareDatetime
    reads: int = Field(ge=1)
    alerted: bool = Field(description="an agent was alerted; false: no place, or no available agent in range")
    alerted_agent_id: int | None
    alerted_at: AwareDatetime | None
    keeper_result: str | None = Field(description="the keeper check's result, null until one is recorded")
    actionable: bool = Field(description="false until a keeper check confirms the keeper [R-ANPR-KEEPER]")


class AlertPoint(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2, description="[lon, lat], WGS 84")


class AlertFeature(BaseModel):
    type: Literal["Feature"]
    id: int = Field(description="the sighting id")
    geometry: AlertPoint | None = Field(description="where the vehicle was last seen; null: the camera gave "
                                                    "no place")
    properties: AlertProperties


class AlertCollection(BaseModel):
    type: Literal["FeatureCollection"]
    total: int = Field(ge=0, description="sightings in the range, on every page")
    limit: int
    offset: int
    features: list[AlertFeature]
