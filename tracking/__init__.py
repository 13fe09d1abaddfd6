"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

- ``decode``: a message (topic, payload) to the fixes to store and the rejects to dead-letter (pure);
- ``store``: a batch of decoded messages into gps_ping / gps_dead_letter and the live positions, and
  gps_ping's day partitions (``ensure_gps_partitions``);
- ``consumer``: the ingest worker (``bailiwick ingest gps``).
"""
from tracking.consumer import TOPICS, DeviceRegistry, IngestConfig, IngestWorker
from tracking.decode import AgentOf, Decoded, GpsFix, Limits, Reject, RejectKind, decode
from tracking.store import GpsStore, Received, Written, ensure_gps_partitions, partition_name

__all__ = [
    "TOPICS", "AgentOf", "Decoded", "DeviceRegistry", "GpsFix", "GpsStore", "IngestConfig", "IngestWorker",
    "Limits", "Received", "Reject", "RejectKind", "Written", "decode", "ensure_gps_partitions", "partition_name",
]
