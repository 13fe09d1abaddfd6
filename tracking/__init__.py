"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

So far it holds:

- ``decode``: a message (topic, payload) to the fixes to store, the OwnTracks geofence events
  (``GeofenceEvent``), the OwnTracks device name, and the rejects to dead-letter (pure);
- ``store``: a batch of decoded messages into gps_ping / gps_transition / gps_dead_letter, the phones'
  ``device.owntracks_name`` and the live positions, and gps_ping's day partitions
  (``ensure_gps_partitions``); ``prune_transitions`` drops geofence events past the retention;
- ``consumer``: the ingest worker (``bailiwick ingest gps``);
- ``stops``: the pure stop detector over one device's fixes (``fixes.Fix``): ``detect_stops`` in batch,
  ``StopDetector`` incrementally with bounded state and a reorder window for late fixes, ``Stop`` with
  arrival and departure interpolated where the track crosses the stop circle, and the plain
  ``speed_threshold_stops`` baseline the evidence bench compares with;
- ``live``: the dispatchers' live view (``read_live``: each agent's newest fix, its age, staleness,
  speed and battery; ``live_geojson``);
- ``evidence``: matching a stop to the case address it is evidence of (pure, ``match_stop``), the
  phone's geofence events of that case taken as the arrival and departure when they agree with the
  fixes (``geofence_timing``, ``source`` ``transition``), and whether a visit's reported times agree
  with the GPS ones (``gps_verified``);
- ``days``: a London day's fixes and geofence events per phone read back from gps_ping and
  gps_transition, its stops matched and timed (``day_stops``) and stored as visit evidence or
  unmatched stops, the visit records given their GPS times (``record_day_evidence``).
"""
from tracking.consumer import TOPICS, DeviceRegistry, IngestConfig, IngestWorker
from tracking.days import (
    DayEvidence,
    DayStop,
    attach_to_visits,
    case_addresses,
    day_bounds,
    day_stops,
    read_day_fixes,
    read_day_transitions,
    record_day_evidence,
    trail_excerpt,
)
from tracking.decode import AgentOf, Decoded, GeofenceEvent, GpsFix, Limits, Reject, RejectKind, decode
from tracking.evidence import (
    DEFAULT_EVIDENCE_RADIUS_M,
    GEOFENCE_TOLERANCE,
    VERIFY_TOLERANCE,
    CaseAddress,
    Match,
    RegionEvent,
    VisitTiming,
    geofence_timing,
    gps_verified,
    match_stop,
)
from tracking.fixes import Fix
from tracking.live import LiveAgent, Reading, live_agents, live_geojson, read_live
from tracking.stops import (
    DEFAULT_MAX_LATENESS_S,
    DEFAULT_MIN_DWELL_S,
    DEFAULT_RADIUS_M,
    Stop,
    StopDetector,
    detect_stops,
    speed_threshold_stops,
)
from tracking.store import (
    GpsStore,
    Received,
    Written,
    ensure_gps_partitions,
    partition_name,
    prune_transitions,
)

__all__ = [
    "DEFAULT_EVIDENCE_RADIUS_M",
    "DEFAULT_MAX_LATENESS_S",
    "DEFAULT_MIN_DWELL_S",
    "DEFAULT_RADIUS_M",
    "GEOFENCE_TOLERANCE",
    "TOPICS",
    "VERIFY_TOLERANCE",
    "AgentOf",
    "CaseAddress",
    "DayEvidence",
    "DayStop",
    "Decoded",
    "DeviceRegistry",
    "Fix",
    "GeofenceEvent",
    "GpsFix",
    "GpsStore",
    "IngestConfig",
    "IngestWorker",
    "Limits",
    "LiveAgent",
    "Match",
    "Reading",
    "Received",
    "RegionEvent",
    "Reject",
    "RejectKind",
    "Stop",
    "StopDetector",
    "VisitTiming",
    "Written",
    "attach_to_visits",
    "case_addresses",
    "day_bounds",
    "day_stops",
    "decode",
    "detect_stops",
    "ensure_gps_partitions",
    "geofence_timing",
    "gps_verified",
    "live_agents",
    "live_geojson",
    "match_stop",
    "partition_name",
    "prune_transitions",
    "read_day_fixes",
    "read_day_transitions",
    "read_live",
    "record_day_evidence",
    "speed_threshold_stops",
    "trail_excerpt",
]
