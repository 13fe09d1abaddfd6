"""Buyers' visit policies, versioned by effective date."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from api.schemas.common import Day, Document


class PolicyVersionOut(BaseModel):
    name: str
    version: int
    effective_from: date
    source: str
    created_by: str
    created_at: datetime
    document: dict[str, Any]


class PolicyVersionIn(BaseModel):
    effective_from: Day
    document: Document
