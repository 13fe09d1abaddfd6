"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

- ``decode``: a message (topic, payload) to the fixes to store and the rejects to dead-letter (pure);
"""
from tracking.decode import AgentOf, Decoded, GpsFix, Limits, Reject, RejectKind, decode

__all__ = ["AgentOf", "Decoded", "GpsFix", "Limits", "Reject", "RejectKind", "decode"]
