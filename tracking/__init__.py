"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

So far it holds the pure stop detector (no database, no broker):

* :class:`Fix`: one GPS fix of one device (aware ``ts``, WGS84 ``lat``/``lon``, optional accuracy,
  speed, heading, battery);
* :func:`detect_stops`: the stops in a day of one device's fixes (batch);
* :class:`StopDetector`: the same, incrementally as fixes arrive, with bounded state and a reorder
  window for late fixes;
* :class:`Stop`: arrival, departure (interpolated where the track crosses the stop circle), centre,
  fix count, median accuracy, dwell;
* :func:`speed_threshold_stops`: the plain speed-threshold detector the evidence bench compares with.
"""
from tracking.fixes import Fix
from tracking.stops import (
    DEFAULT_MAX_LATENESS_S,
    DEFAULT_MIN_DWELL_S,
    DEFAULT_RADIUS_M,
    Stop,
    StopDetector,
    detect_stops,
    speed_threshold_stops,
)

__all__ = [
    "DEFAULT_MAX_LATENESS_S",
    "DEFAULT_MIN_DWELL_S",
    "DEFAULT_RADIUS_M",
    "Fix",
    "Stop",
    "StopDetector",
    "detect_stops",
    "speed_threshold_stops",
]
