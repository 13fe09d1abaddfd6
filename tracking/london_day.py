"""A London calendar day (what an agent and a buyer call "the day") as its UTC bounds: a BST day spans
two UTC days, and so two of gps_ping's day partitions."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from core import LONDON


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the London day ``day`` starts and the next one starts."""
    start = datetime.combine(day, time(), LONDON)
    end = datetime.combine(day + timedelta(days=1), time(), LONDON)
    return start.astimezone(UTC), end.astimezone(UTC)
