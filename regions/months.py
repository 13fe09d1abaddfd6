"""A reporting month: its first day, and the instants where it starts and ends in UK time. Monthly
figures count what happened between UK midnights, as the buyers' own month-end reports do."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from core import LONDON


def parse_month(text: str) -> date:
    """``YYYY-MM`` → the first day of that month; ``ValueError`` with a readable message otherwise."""
    try:
        if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
            raise ValueError
        return date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month YYYY-MM, e.g. 2026-03") from None


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The UTC instants where the UK month of ``month`` (any day of it) starts and the next one starts."""
    first = month.replace(day=1)
    return (datetime.combine(first, time(), LONDON).astimezone(UTC),
            datetime.combine(next_month(first), time(), LONDON).astimezone(UTC))


# The cases open at some time during a month (``:lo``, ``:hi`` its bounds, ``:next_first`` the next
# month's first day), ``c`` being enforcement_case: received before the month ended, and not paid,
# returned or closed before it began. The month's caseload, whatever happened to a case later.
OPEN_DURING = ("c.received_on < :next_first "
               "AND coalesce(least(c.paid_at, c.returned_at, c.closed_at), 'infinity') >= :lo")


def month_params(month: date) -> dict[str, object]:
    """The bind parameters of ``OPEN_DURING`` and of any range ``[:lo, :hi)`` over the month."""
    lo, hi = month_bounds(month)
    return {"lo": lo, "hi": hi, "next_first": next_month(month.replace(day=1))}
