"""Bounded scalar types every request model and route parameter uses, so that no value PostgreSQL or
the calendar code cannot hold gets past validation: such a value is a 422 naming the field, not a 500.

Ids are bounded by their columns: ``integer`` for every id a client names (cases, agents, users),
``bigint`` for money and ANPR sightings. Dates are bounded to years the planner's calendar (UK time, bank holidays) can
work with; instants likewise, and they carry their UTC offset.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from regions import PeriodError, month_period

INT4_MAX = 2**31 - 1  # PostgreSQL integer: the id columns
INT8_MAX = 2**63 - 1  # PostgreSQL bigint: the ids of rows written in bulk (ANPR sightings)
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
# Money in pence: a figure above £1bn is a typo, not a warrant (as core.placement.MAX_BALANCE_PENCE).
MAX_PENCE = 10**11


def no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; a NUL is never part of a name, reference or note.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (U+0000)")
    return value


def no_nul_anywhere(value: Any) -> Any:
    """``no_nul`` through a JSON document's keys and string values (jsonb cannot hold U+0000 either)."""
    if isinstance(value, str):
        no_nul(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            no_nul_anywhere(key)
            no_nul_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            no_nul_anywhere(item)
    return value


def in_day_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def a_month(value: Any) -> date:
    """A query's ``YYYY-MM`` as the first day of that month, within the calendar's years."""
    if isinstance(value, date):
        return in_day_range(value.replace(day=1))
    try:
        first = month_period(no_nul(str(value))).first
    except PeriodError as exc:
        raise ValueError(exc.message) from None
    return in_day_range(first)


def in_moment_range(value: datetime) -> datetime:
    in_day_range(value.date())
    return value


def day_or_moment(value: Any) -> Any:
    """A query's ``YYYY-MM-DD`` as a date, anything else as an instant, which must carry its offset
    (a bare local time is ambiguous once a year in the UK). One message naming the field, where
    pydantic's union would give one per member."""
    if isinstance(value, (date, datetime)):
        return value
    text = no_nul(str(value))
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a day YYYY-MM-DD: {exc}") from None
        return in_day_range(day)
    # An unencoded "+01:00" in a query string arrives as " 01:00": the offset the client meant.
    text = re.sub(r"(T[\d:.]+) (\d\d:?\d\d)$", r"\1+\2", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a day YYYY-MM-DD nor a date-time with an offset, "
                         "e.g. 2026-03-02T09:30:00+00:00") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: add one, e.g. +00:00, or give a day YYYY-MM-DD")
    return in_moment_range(moment)


Text = Annotated[str, AfterValidator(no_nul)]
RegionQuery = Annotated[Text | None, Query(description="an ITL1 region code, e.g. TLK (default: every region)")]
Document = Annotated[dict[str, Any], AfterValidator(no_nul_anywhere)]
Day = Annotated[date, AfterValidator(in_day_range)]
Moment = Annotated[AwareDatetime, AfterValidator(in_moment_range)]
# A UK calendar day (``YYYY-MM-DD``) or an instant with its offset: the bounds of a time range.
DayOrMoment = Annotated[AwareDatetime | date, BeforeValidator(day_or_moment)]
# A calendar month, ``YYYY-MM``, as its first day: what monthly reports and maps are asked for.
Month = Annotated[date, BeforeValidator(a_month)]
Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
Pence = Annotated[int, Field(gt=0, le=MAX_PENCE, strict=True)]  # strict: 12.5 or "1250" is not pence

# Route parameters: the same bounds, declared where FastAPI reads them.
CaseId = Annotated[int, Path(ge=1, le=INT4_MAX)]
AgentId = Annotated[int, Path(ge=1, le=INT4_MAX)]
SightingId = Annotated[int, Path(ge=1, le=INT8_MAX)]
PathText = Annotated[Text, Path()]
PathDay = Annotated[Day, Path(description="a day, YYYY-MM-DD")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=INT4_MAX)]
