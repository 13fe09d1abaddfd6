"""Which cases a month counts, as SQL shared by the hexagons and the performance report: those open at
some time during the month, with the bind parameters of the month's bounds in UK time
(``period.month_period``)."""
from __future__ import annotations

from datetime import date

from regions.period import month_period

# ``c`` being enforcement_case: received before the month ended, and not paid, returned or closed
# before it began. The month's caseload, whatever happened to a case later.
OPEN_DURING = ("c.received_on < :next_first "
               "AND coalesce(least(c.paid_at, c.returned_at, c.closed_at), 'infinity') >= :lo")


def month_params(month: date) -> dict[str, object]:
    """The bind parameters of ``OPEN_DURING`` and of any range ``[:lo, :hi)`` over ``month`` (any day
    of it)."""
    period = month_period(month)
    return {"lo": period.utc_start, "hi": period.utc_end, "next_first": period.end}
