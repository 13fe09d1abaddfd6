"""Alerts raised by the API: the sightings an ANPR webhook starts go to the nearest available agent
(``anpr_ingest.raise_alerts``), as the MQTT worker's do, over one MQTT client per process, connected
on first use (paho reconnects it after that).

The webhook has committed its hits by then, and a vendor re-sending the body starts no sighting again,
so an alert that cannot be sent (Redis or the broker away) is logged and the sighting stays unalerted:
dispatchers see it in ``GET /anpr/alerts``. A lock keeps one request at a time on the client:
``core.publish_acked`` watches the broker's acknowledgements through the client's ``on_publish``.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache

import paho.mqtt.client as mqtt
import psycopg
import redis

from anpr_ingest import raise_alerts
from core import connect_mqtt

log = logging.getLogger(__name__)
_one_at_a_time = threading.Lock()


@lru_cache
def _publisher() -> mqtt.Client:
    return connect_mqtt(timeout=5)


def alert_new_sightings(conn: psycopg.Connection, sighting_ids: Sequence[int], positions: redis.Redis,
                        namespace: str = "") -> int:
    """Alert the new ``sighting_ids`` (committed on ``conn``, no transaction open); how many alerts
    were sent. Never raises for an outage: see the module docstring."""
    if not sighting_ids:
        return 0
    try:
        with _one_at_a_time:
            return len(raise_alerts(conn, positions, _publisher(), sighting_ids, namespace=namespace))
    except (ConnectionError, redis.RedisError, psycopg.OperationalError) as exc:
        log.warning("sightings %s: no alert sent (%s); they stay unalerted for dispatchers",
                    list(sighting_ids), exc)
        return 0
