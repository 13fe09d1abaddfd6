"""Dispatchers' pins: "this case is visited by that agent (at that time)" on a day."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Id, Moment


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: Id
    agent_id: Id
    at: Moment | None = Field(None, description="the visit's arrival (with its UTC offset); "
                                                "omitted: any time the plan chooses")


class PinOut(BaseModel):
    day: date
    case_id: int
    agent_id: int
    at: datetime | None
    created_by: str
    created_at: datetime
