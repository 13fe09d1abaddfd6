"""The one civil time zone of the domain: visit hours, stage dates, storage days and "today" are all
reckoned in Great Britain's local time, whatever the server's zone."""
from __future__ import annotations

from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
