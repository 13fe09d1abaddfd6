"""The GPS ingest worker (``bailiwick ingest gps``): core's ``BatchWorker`` on the phones' topics, with a
handler that decodes each batch and writes it through ``GpsStore``. The worker's guarantees (persistent
session, shared subscription, acknowledgement only after commit, retries through outages with the batch
held) are core's (``core.mqtt_worker``); this module adds what is GPS:

- Bad input never stops the worker: whatever cannot be decoded or stored is dead-lettered with the
  reason. The store's keys make a redelivered fix or geofence event a no-op.
- A message that may have been committed already (the broker resent it: DUP; or its batch is being
  retried) adds no dead letter that is already there, so a crash or a lost connection between the
  commit and the acknowledgement writes nothing twice.
- The live positions are moved after the commit, as the worker's after-commit step: a Redis outage is
  retried there without committing the batch (and its dead letters) again.
- gps_ping's day partitions are made ahead when the database is first reached and when the UTC day
  rolls over.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
import redis

from core import (
    BatchWorker,
    BatchWorkerConfig,
    DatabaseHandler,
    Message,
    connect_redis,
    get_settings,
    write_positions,
)
from core import DeviceRegistry as OwnerRegistry
from core.models import DeviceKind
from tracking.decode import Decoded, GpsFix, Limits, Reject, RejectKind, decode
from tracking.store import GpsStore, Received, Written

TOPICS = ("agents/+/gps", "owntracks/+/+", "owntracks/+/+/event")
GROUP = "tracking"
DAYS_AHEAD = 2

# What a commit hands to the after-commit step: the batch's totals and each agent's newest fix.
Committed = tuple[Written, dict[int, tuple[GpsFix, datetime]]]


@dataclass(frozen=True)
class IngestConfig:
    client_id: str = "bailiwick-ingest-0"
    group: str = GROUP
    batch_size: int = 500
    batch_ms: int = 200
    session_expiry_s: int = 24 * 3600
    namespace: str = ""            # Redis key prefix of the live positions (tests use their own)
    database_url: str | None = None
    redis_url: str | None = None
    mqtt_url: str | None = None
    # Days back a fix may be (None: BAILIWICK_GPS_RETENTION_DAYS). A replay of a scenario's fixed day
    # (the demo, the evidence bench) sets it to reach that day.
    retention_days: int | None = None


class DeviceRegistry(OwnerRegistry):
    """Device id → agent id of the active phones (core's registry for ``DeviceKind.phone``)."""

    def __init__(self, conn: psycopg.Connection, max_age_s: float = 60, miss_reload_s: float = 2) -> None:
        super().__init__(conn, DeviceKind.phone, max_age_s, miss_reload_s)

    def agent_of(self, device_id: str) -> int | None:
        return self.owner_of(device_id)


def decode_safely(topic: str, payload: bytes, agent_of: Callable[[str], int | None], limits: Limits) -> Decoded:
    """``decode``, with anything it did not foresee dead-lettered instead of raised."""
    try:
        return decode(topic, payload, agent_of, limits)
    except (psycopg.Error, redis.RedisError):
        raise
    except Exception as exc:  # noqa: BLE001 - input must never stop the worker
        return Decoded(rejects=[Reject(RejectKind.malformed, f"not decodable: {exc!r}", payload)])


class _GpsHandler(DatabaseHandler):
    """The ``BatchHandler`` of GPS batches: decode, store, move the live positions, keep the totals."""

    def __init__(self, config: IngestConfig) -> None:
        super().__init__(config.database_url)
        self.config = config
        self.settings = get_settings()
        self.written = Written(0, 0, 0)  # running totals
        self._redis = connect_redis(config.redis_url)
        self._today: date | None = None

    def opened(self, conn: psycopg.Connection) -> None:
        self._store = GpsStore(conn, self._redis, namespace=self.config.namespace)
        self._registry = DeviceRegistry(conn)
        self._today = None

    def _database(self) -> tuple[GpsStore, DeviceRegistry]:
        self.connection()
        today = datetime.now(UTC).date()
        if self._today != today:  # at start and when the UTC day rolls over
            self._store.ensure_days(today + timedelta(days=i) for i in range(DAYS_AHEAD + 1))
            self._today = today
        return self._store, self._registry

    def commit(self, batch: Sequence[Message], retried: bool) -> Committed:
        store, registry = self._database()
        retention = self.config.retention_days or self.settings.gps_retention_days
        limits = Limits(datetime.now(UTC), self.settings.gps_max_accuracy_m, retention)
        received = [Received(m.topic, m.payload, m.received_at,
                             decode_safely(m.topic, m.payload, registry.agent_of, limits),
                             redelivered=retried or m.dup) for m in batch]
        try:
            return store.commit(received)
        except psycopg.DataError:
            # Something in the batch the database refuses: store message by message, and dead-letter
            # the one that still fails, so that the others are kept.
            total, newest = Written(0, 0, 0), {}
            for r in received:
                try:
                    w, fixes = store.commit([r])
                except psycopg.DataError as exc:
                    reason = f"not storable: {exc}".replace("\x00", "\\x00")
                    w, fixes = store.commit([Received(r.topic, r.payload, r.received_at, Decoded(
                        rejects=[Reject(RejectKind.malformed, reason, r.payload)]), r.redelivered)])
                total = _add(total, w)
                for agent, (fix, at) in fixes.items():
                    if agent not in newest or at > newest[agent][1]:
                        newest[agent] = (fix, at)
            return total, newest

    def after_commit(self, committed: Committed) -> None:
        written, newest = committed
        moved = write_positions(self._redis, newest, namespace=self.config.namespace)
        self.written = _add(self.written, Written(written.fixes, written.dead_letters, moved, written.transitions))


class IngestWorker(BatchWorker[Committed]):
    """One GPS ingest worker: ``run`` it in a thread or process, set ``stopping`` to stop it."""

    def __init__(self, config: IngestConfig) -> None:
        self._gps = _GpsHandler(config)
        super().__init__(BatchWorkerConfig(
            topics=TOPICS, group=config.group, client_id=config.client_id, batch_size=config.batch_size,
            batch_ms=config.batch_ms, session_expiry_s=config.session_expiry_s, mqtt_url=config.mqtt_url,
        ), self._gps)

    @property
    def written(self) -> Written:
        """Running totals: new fixes, dead letters, agents moved and geofence events stored."""
        return self._gps.written


def _add(a: Written, b: Written) -> Written:
    return Written(a.fixes + b.fixes, a.dead_letters + b.dead_letters, a.agents_moved + b.agents_moved,
                   a.transitions + b.transitions)
