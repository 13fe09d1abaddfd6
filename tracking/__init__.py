"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

So far it holds:

- ``decode``: a message (topic, payload) to the fixes to store and the rejects to dead-letter (pure);
- ``store``: a batch of decoded messages into gps_ping / gps_dead_letter and the live positions, and
  gps_ping's day partitions (``ensure_gps_partitions``);
- ``consumer``: the ingest worker (``bailiwick ingest gps``);
- ``stops``: the pure stop detector over one device's fixes (``fixes.Fix``): ``detect_stops`` in batch,
  ``StopDetector`` incrementally with bounded state and a reorder window for late fixes, ``Stop`` with
  arrival and departure interpolated where the track crosses the stop circle, and the plain
  ``speed_threshold_stops`` baseline the evidence bench compares with;
- ``live``: the dispatchers' live view (``read_live``: each agent's newest fix, its age, staleness,
  speed and battery; ``live_geojson``).
"""
from tracking.consumer import TOPICS, DeviceRegistry, IngestConfig, IngestWorker
from tracking.decode import AgentOf, Decoded, GpsFix, Limits, Reject, RejectKind, decode
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
from tracking.store import GpsStore, Received, Written, ensure_gps_partitions, partition_name

__all__ = [
    "DEFAULT_MAX_LATENESS_S", "DEFAULT_MIN_DWELL_S", "DEFAULT_RADIUS_M", "TOPICS", "AgentOf", "Decoded",
    "DeviceRegistry", "Fix", "GpsFix", "GpsStore", "IngestConfig", "IngestWorker", "Limits", "LiveAgent",
    "Reading", "Received", "Reject", "RejectKind", "Stop", "StopDetector", "Written", "decode", "detect_stops",
    "ensure_gps_partitions", "live_agents", "live_geojson", "partition_name", "read_live", "speed_threshold_stops",
]
