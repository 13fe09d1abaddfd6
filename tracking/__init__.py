"""GPS tracking: the MQTT consumer for agents' phones (own schema and OwnTracks), batched writes of
pings into PostGIS, live positions in Redis, stop detection and GPS evidence of visits.

Filled by the tracking issue; nothing here yet.
"""
