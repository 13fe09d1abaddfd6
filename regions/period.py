"""The period a capacity figure covers: a calendar month (the report's unit [000 §1.8]) or any run of
whole London days inside it (the weekly trend), with the UTC bounds its timestamps are read in."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core import LONDON

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A month that is not ``YYYY-MM``; ``field`` is the parameter it came from."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    """London days ``first`` … ``last`` inclusive."""

    first: date
    last: date

    @property
    def end(self) -> date:
        """The day after ``last`` (half-open bounds for SQL)."""
        return self.last + timedelta(days=1)

    @property
    def utc_start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=LONDON).astimezone(UTC)

    @property
    def utc_end(self) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=LONDON).astimezone(UTC)

    @property
    def label(self) -> str:
        return self.first.strftime("%Y-%m") if self.first.day == 1 and self.end.day == 1 and \
            (self.end - self.first).days >= 28 else f"{self.first}..{self.last}"

    def weeks(self) -> list[Period]:
        """The ISO weeks (Monday to Sunday) the period touches, each cut to the period."""
        out = []
        start = self.first - timedelta(days=self.first.weekday())
        while start <= self.last:
            out.append(Period(max(start, self.first), min(start + timedelta(days=6), self.last)))
            start += timedelta(days=7)
        return out


def month_period(month: str | date, field: str = "month") -> Period:
    """The calendar month ``YYYY-MM`` (or the month of a date)."""
    if isinstance(month, date):
        first = month.replace(day=1)
    else:
        m = _MONTH.match(month.strip()) if isinstance(month, str) else None
        if m is None or not 1 <= int(m.group(2)) <= 12:
            raise PeriodError(field, f"must be a month YYYY-MM, got {month!r}")
        first = date(int(m.group(1)), int(m.group(2)), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))
