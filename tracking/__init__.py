"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

So far it holds:

- ``decode``: a message (topic, payload) to the fixes to store, the OwnTracks geofence events
  (``GeofenceEvent``), the OwnTracks device name, and the rejects to dead-letter (pure);
- ``store``: a batch of decoded messages into gps_ping / gps_transition / gps_dead_letter, the phones'
  ``device.owntracks_name`` and the live positions, and gps_ping's day partitions
  (``ensure_gps_partitions``);
- ``consumer``: the ingest worker (``bailiwick ingest gps``): core's ``BatchWorker`` on the phones'
  topics with a handler that decodes, stores and moves the live positions;
- ``stops``: the pure stop detector over one device's fixes (``fixes.Fix``): ``detect_stops`` in batch,
  ``StopDetector`` incrementally with bounded state and a reorder window for late fixes, ``Stop`` with
  arrival and departure interpolated where the track crosses the stop circle, and the plain
  ``speed_threshold_stops`` baseline the evidence bench compares with;
- ``live``: the dispatchers' live view (``read_live``: each agent's newest fix, its age, staleness,
  speed and battery; ``live_geojson``);
- ``shared_door``: several planned visits at one address point (flats in a block, warrants geocoded to
  one postcode centroid): which stop, and which still periods of it, are evidence for which case, in
  the plan's order (``match_stops``, ``StopCase``) (pure);
- ``evidence``: matching a stop to the case address it is evidence of (pure, ``match_stop``), the
  phone's geofence events of that case taken as the arrival and departure when they agree with the
  fixes (``geofence_timing``, ``source`` ``transition``), and whether a visit's reported times agree
  with the GPS ones (``gps_verified``);
- ``days``: a London day's fixes and geofence events per phone read back from gps_ping and
  gps_transition, its stops matched and timed (``day_stops``) and stored as visit evidence or
  unmatched stops, the visit records given their GPS times (``record_day_evidence``);
- ``gap_visits``: the planned visits a phone that reports by distance fell silent through, inferred from
  its silent gaps and the plan's route order (pure; ``silent_gaps``, ``gap_visits``), which
  ``day_stops`` adds as matched stops;
- ``evidence_read``: evidence rows read back for the API and the buyer's map (``read_evidence``,
  ``EvidenceRecord`` with its stop and, when asked, its trail; ``read_case_place``);
- ``evidence_view``: evidence as GeoJSON and CSV (``evidence_geojson``, ``evidence_csv``) and the part of
  a trail a buyer may see (``buyer_trail``) (pure);
- ``london_day``: a London day as its UTC bounds (``day_bounds``);
- ``tracked``: each agent's tracked working time of a day from gps_ping, set-based in SQL: the gaps
  between consecutive fixes of at most ``TRACKED_GAP_S``, first and last fix, into ``tracked_day``
  (``record_tracked_days``; ``record_day_evidence`` calls it);
- ``prune``: the retention, ``prune_gps``: old day partitions of gps_ping dropped whole, old
  transitions, dead letters and unmatched stops deleted; evidence kept.
"""
from tracking.consumer import TOPICS, DeviceRegistry, IngestConfig, IngestWorker
from tracking.days import (
    DayEvidence,
    DayStop,
    attach_to_visits,
    case_addresses,
    day_stops,
    read_day_fixes,
    read_day_transitions,
    record_day_evidence,
    trail_excerpt,
)
from tracking.decode import (
    AgentOf,
    Decoded,
    GeofenceEvent,
    GpsFix,
    Limits,
    Reject,
    RejectKind,
    decode,
)
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
from tracking.evidence_read import (
    CasePlace,
    EvidenceRecord,
    TrailFix,
    read_case_place,
    read_evidence,
)
from tracking.evidence_view import (
    EVIDENCE_COLUMNS,
    buyer_trail,
    evidence_csv,
    evidence_geojson,
    local_iso,
)
from tracking.fixes import Fix
from tracking.gap_visits import Gap, GapVisit, gap_visits, silent_gaps
from tracking.live import LiveAgent, Reading, live_agents, live_geojson, read_live
from tracking.london_day import day_bounds
from tracking.prune import Pruned, expired, gps_partitions, prune_gps
from tracking.shared_door import SAME_POINT_M, StopCase, match_stops, place_groups
from tracking.stops import (
    DEFAULT_MAX_LATENESS_S,
    DEFAULT_MIN_DWELL_S,
    DEFAULT_RADIUS_M,
    StillPeriod,
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
)
from tracking.tracked import TRACKED_GAP_S, record_tracked_days

__all__ = [
    "DEFAULT_EVIDENCE_RADIUS_M",
    "DEFAULT_MAX_LATENESS_S",
    "DEFAULT_MIN_DWELL_S",
    "DEFAULT_RADIUS_M",
    "EVIDENCE_COLUMNS",
    "GEOFENCE_TOLERANCE",
    "SAME_POINT_M",
    "TOPICS",
    "TRACKED_GAP_S",
    "VERIFY_TOLERANCE",
    "AgentOf",
    "CaseAddress",
    "CasePlace",
    "DayEvidence",
    "DayStop",
    "Decoded",
    "DeviceRegistry",
    "EvidenceRecord",
    "Fix",
    "Gap",
    "GapVisit",
    "GeofenceEvent",
    "GpsFix",
    "GpsStore",
    "IngestConfig",
    "IngestWorker",
    "Limits",
    "LiveAgent",
    "Match",
    "Pruned",
    "Reading",
    "Received",
    "RegionEvent",
    "Reject",
    "RejectKind",
    "StillPeriod",
    "Stop",
    "StopCase",
    "StopDetector",
    "TrailFix",
    "VisitTiming",
    "Written",
    "attach_to_visits",
    "buyer_trail",
    "case_addresses",
    "day_bounds",
    "day_stops",
    "decode",
    "detect_stops",
    "ensure_gps_partitions",
    "evidence_csv",
    "evidence_geojson",
    "expired",
    "gap_visits",
    "geofence_timing",
    "gps_partitions",
    "gps_verified",
    "live_agents",
    "live_geojson",
    "local_iso",
    "match_stop",
    "match_stops",
    "partition_name",
    "place_groups",
    "prune_gps",
    "read_case_place",
    "read_day_fixes",
    "read_day_transitions",
    "read_evidence",
    "read_live",
    "record_day_evidence",
    "record_tracked_days",
    "silent_gaps",
    "speed_threshold_stops",
    "trail_excerpt",
]
