"""One GPS fix of one device, as the stop detector and (later) ingest see it."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Fix:
    """A position report. ``ts`` must be timezone-aware; coordinates are WGS84 degrees."""

    ts: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    battery_pct: float | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None or self.ts.utcoffset() is None:
            raise ValueError(f"Fix.ts must be timezone-aware, got {self.ts.isoformat()}")
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"Fix.lat out of range: {self.lat}")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"Fix.lon out of range: {self.lon}")
        if self.accuracy_m is not None and not (math.isfinite(self.accuracy_m) and self.accuracy_m >= 0):
            raise ValueError(f"Fix.accuracy_m must be a non-negative number, got {self.accuracy_m}")
