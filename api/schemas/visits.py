"""Visits: an agent's outcome at an address (``POST /visits``) and a case's visits."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import MAX_PENCE, Id, Moment, Text
from core.models import VisitOutcome


class VisitOut(BaseModel):
    id: int
    case_id: int
    agent_id: int | None
    planned_at: datetime | None
    arrived_at: datetime
    departed_at: datetime | None
    outcome: str
    time_band: str | None
    notes: str | None
    bwv_reference: str | None
    lat: float | None
    lon: float | None
    recorded_by: str
    breaches: list[str] = Field(description="rule ids the visit broke, when it was recorded as evidence "
                                            "with acknowledge_breach")
    gps_arrived_at: datetime | None = Field(description="arrival at the case address by the agent's phone "
                                                        "(GPS stop), null until the day's evidence is recorded "
                                                        "or when no stop matched")
    gps_departed_at: datetime | None = Field(description="departure by the phone's GPS, as gps_arrived_at")
    gps_verified: bool = Field(description="the reported arrival and departure both agree with the GPS ones "
                                           "within 5 minutes [R-VISIT-EVIDENCE]")


class VisitIn(BaseModel):
    case_id: Id
    agent_id: Id | None = Field(default=None, description="defaults to the signed-in agent")
    planned_at: Moment | None = None
    arrived_at: Moment
    departed_at: Moment | None = None
    outcome: VisitOutcome
    notes: Text | None = Field(default=None, max_length=4000)
    bwv_reference: Text | None = Field(default=None, max_length=100, description="body-worn-video footage id")
    lat: float | None = Field(default=None, ge=49.0, le=61.0)
    lon: float | None = Field(default=None, ge=-9.0, le=2.5)
    amount_pence: int | None = Field(default=None, gt=0, le=MAX_PENCE, description="paid outcome: money taken")
    payment_reference: Text | None = Field(default=None, max_length=100, description="paid outcome: receipt")
    acknowledge_breach: bool = Field(default=False, description="record a visit that broke a rule as "
                                                                "flagged evidence instead of refusing it")

    @model_validator(mode="after")
    def _consistent(self) -> VisitIn:
        if self.departed_at is not None and self.departed_at < self.arrived_at:
            raise ValueError("departed_at is before arrived_at")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.outcome == VisitOutcome.paid and not (self.amount_pence and self.payment_reference):
            raise ValueError("a paid outcome needs amount_pence and payment_reference")
        return self


class VisitRecorded(BaseModel):
    visit: VisitOut
    breaches: list[str]
    effects: list[str] = Field(description="what the outcome did: enforcement_fee, anpr_clock, payment, "
                                           "mark_paid, start_arrangement, flag_vulnerable, "
                                           "address_flagged_sensitive")
