"""The ANPR ingest worker (``bailiwick ingest anpr``): core's ``BatchWorker`` on ``vans/+/anpr`` in
the shared subscription ``$share/anpr/…``, with the same delivery guarantees as GPS ingest (QoS 1,
persistent session, acknowledgement after commit, dead letters for bad input). Each batch is
decoded, checked against the van devices, matched against the hotlist in one Redis round trip and
committed by ``AnprStore`` in one transaction. After the commit, each sighting the batch started is
alerted to the nearest available agent (``alerts``), published on the worker's own MQTT client: a
failure there (Redis, the broker) is retried by ``BatchWorker`` without committing the batch again,
and a sighting already alerted is not alerted twice.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg
import redis

from anpr_ingest.admission import require_hotlist
from anpr_ingest.alerts import raise_alerts
from anpr_ingest.pipeline import TOPIC, Incoming, match_reads, take_van_messages
from anpr_ingest.store import AnprStore, Written
from core import (
    BatchWorker,
    BatchWorkerConfig,
    DatabaseHandler,
    DeviceRegistry,
    Message,
    connect_redis,
    get_settings,
)
from core.models import DeviceKind

GROUP = "anpr"


@dataclass(frozen=True)
class Totals:
    """What a worker has written since it started."""

    reads: int = 0          # reads counted (matched or not)
    hits: int = 0           # new anpr_hit rows
    dead_letters: int = 0
    sightings: int = 0      # sightings started
    alerts: int = 0         # alerts sent (one per sighting at most)


@dataclass(frozen=True)
class AnprIngestConfig:
    client_id: str = "bailiwick-anpr-0"
    group: str = GROUP
    batch_size: int = 500
    batch_ms: int = 100
    session_expiry_s: int = 24 * 3600
    namespace: str = ""                # Redis key prefix of the hotlist and live positions (tests use their own)
    threshold: float | None = None     # a hit's least match score (None: BAILIWICK_ANPR_MATCH_THRESHOLD)
    database_url: str | None = None
    redis_url: str | None = None
    mqtt_url: str | None = None


def digest_key() -> bytes:
    """The key of the dead letters' digests: the platform's own secret, so that it survives a restart
    (a redelivery after one is still recognised) and is in no table."""
    return get_settings().signing_key().encode()


class _AnprHandler(DatabaseHandler):
    """The ``BatchHandler`` of van messages."""

    def __init__(self, config: AnprIngestConfig, publisher: Callable[[], mqtt.Client]) -> None:
        super().__init__(config.database_url)
        self.config = config
        self._publisher = publisher
        self.threshold = config.threshold if config.threshold is not None else get_settings().anpr_match_threshold
        self.written = Totals()
        self._redis: redis.Redis = connect_redis(config.redis_url)
        self._key = digest_key()

    def opened(self, conn: psycopg.Connection) -> None:
        self._store = AnprStore(conn, self._key)
        self._registry = DeviceRegistry(conn, DeviceKind.van)

    def commit(self, batch: Sequence[Message], retried: bool) -> Written:
        require_hotlist(self._redis, namespace=self.config.namespace)
        self.connection()
        taken = take_van_messages([Incoming(m.topic, m.payload, m.received_at, retried or m.dup) for m in batch],
                                  self._registry.owner_of, datetime.now(UTC))
        return self._store.commit(match_reads(taken, self._redis, self.threshold, namespace=self.config.namespace),
                                  taken.letters)

    def after_commit(self, committed: Written) -> None:
        # Alerts first: when they raise, the step is retried, and the totals must be added once.
        alerts = raise_alerts(self.connection(), self._redis, self._publisher(), committed.new_sightings,
                              namespace=self.config.namespace)
        w = self.written
        self.written = Totals(w.reads + committed.reads, w.hits + committed.hits,
                              w.dead_letters + committed.dead_letters, w.sightings + len(committed.new_sightings),
                              w.alerts + len(alerts))


class AnprIngestWorker(BatchWorker[Written]):
    """One ANPR ingest worker: ``run`` it in a thread or process, set ``stopping`` to stop it."""

    def __init__(self, config: AnprIngestConfig) -> None:
        # Alerts go out on the worker's own client (made by BatchWorker, hence asked for when needed):
        # it is connected while batches come in and paho reconnects it, so no second connection to keep.
        self._anpr = _AnprHandler(config, lambda: self.client)
        super().__init__(BatchWorkerConfig(
            topics=(TOPIC,), group=config.group, client_id=config.client_id, batch_size=config.batch_size,
            batch_ms=config.batch_ms, session_expiry_s=config.session_expiry_s, mqtt_url=config.mqtt_url,
        ), self._anpr)

    @property
    def written(self) -> Totals:
        return self._anpr.written
