"""``GET /dispatch/why/{case_id}``: whether and when a case may be visited on a day."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class WindowOut(BaseModel):
    start: datetime
    end: datetime
    time_band: str | None


class WhyOut(BaseModel):
    case_id: int
    day: date
    eligible: bool
    rule_ids: list[str]
    reasons: list[str]
    windows: list[WindowOut]
    preferred: list[WindowOut]
    priority: int | None
    due_by: date | None
    visited_with: int | None  # the task's case: the leading linked warrant, or the case itself
