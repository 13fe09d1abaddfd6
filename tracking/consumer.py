"""The GPS ingest worker: an MQTT v5 client in a shared subscription, writing what it receives in
batches and acknowledging each message only once its fixes are committed or dead-lettered.

- Persistent session (``clean_start=False`` and a session expiry), so the broker keeps the worker's
  messages while it is away; a stable client id per worker index resumes that session.
- QoS 1 with paho's manual acknowledgement: a message that was never committed is never PUBACKed, so
  the broker delivers it again after a crash or restart (and the store's key makes that harmless).
- A batch is up to ``batch_size`` messages or ``batch_ms`` milliseconds, whichever comes first.
- Bad input never stops the worker: whatever cannot be decoded or stored is dead-lettered with the
  reason. A database or Redis outage is retried with the batch held, unacknowledged.
- A message that may have been committed already (the broker resent it: DUP; or its batch is being
  retried) adds no dead letter that is already there, so a crash or a lost connection between the
  commit and the acknowledgement writes nothing twice.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import paho.mqtt.client as mqtt
import psycopg
import redis
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core import broker_address, connect_redis, get_settings, new_mqtt_client, raw_connection, write_positions
from tracking.decode import Decoded, Limits, Reject, RejectKind, decode
from tracking.store import GpsStore, Received, Written

log = logging.getLogger(__name__)
T = TypeVar("T")

TOPICS = ("agents/+/gps", "owntracks/+/+", "owntracks/+/+/event")
GROUP = "tracking"
DAYS_AHEAD = 2


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


@dataclass(frozen=True)
class _Message:
    mid: int
    qos: int
    session: int  # which connection delivered it: a packet id means nothing on another connection
    dup: bool     # the broker resent it after a lost connection: it may have been committed already
    topic: str
    payload: bytes
    received_at: datetime


class DeviceRegistry:
    """Device id → agent id of the active phones, read from ``device``; read again when an unknown
    device is asked for (at most every ``miss_reload_s``) and every ``max_age_s``, so a phone
    registered while the worker runs is known within seconds."""

    def __init__(self, conn: psycopg.Connection, max_age_s: float = 60, miss_reload_s: float = 2) -> None:
        self.conn = conn
        self.max_age_s = max_age_s
        self.miss_reload_s = miss_reload_s
        self._agents: dict[str, int] = {}
        self._loaded = float("-inf")

    def _load(self) -> None:
        with self.conn.transaction():
            rows = self.conn.execute("SELECT device_id, agent_id FROM device "
                                     "WHERE kind = 'phone' AND active AND agent_id IS NOT NULL").fetchall()
        self._agents = dict(rows)
        self._loaded = time.monotonic()

    def agent_of(self, device_id: str) -> int | None:
        age = time.monotonic() - self._loaded
        if age > self.max_age_s or (device_id not in self._agents and age > self.miss_reload_s):
            self._load()
        return self._agents.get(device_id)


def decode_safely(topic: str, payload: bytes, agent_of: Callable[[str], int | None], limits: Limits) -> Decoded:
    """``decode``, with anything it did not foresee dead-lettered instead of raised."""
    try:
        return decode(topic, payload, agent_of, limits)
    except (psycopg.Error, redis.RedisError):
        raise
    except Exception as exc:  # noqa: BLE001 - input must never stop the worker
        return Decoded(rejects=[Reject(RejectKind.malformed, f"not decodable: {exc!r}", payload)])


class IngestWorker:
    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.settings = get_settings()
        self.inbox: queue.Queue[_Message] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        # Set once the broker granted every subscription: a message published before the SUBACK
        # reaches no subscriber, so "ready" means subscribed, not merely connected.
        self.subscribed = threading.Event()
        self.received = 0                # messages delivered by the broker, redeliveries included
        self.written = Written(0, 0, 0)  # running totals
        self._conn: psycopg.Connection | None = None
        self._store: GpsStore | None = None
        self._registry: DeviceRegistry | None = None
        self._redis = connect_redis(config.redis_url)
        self._today = None
        self._session = 0
        address = broker_address(config.mqtt_url)
        self.client = new_mqtt_client(config.client_id, address)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._address = address

    # --- MQTT (paho's network thread) ---

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        self._session += 1
        client.subscribe([(f"$share/{self.config.group}/{t}", 1) for t in TOPICS])
        self.connected.set()

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("the broker refused a subscription: %s", [str(c) for c in reason_codes])
            return
        self.subscribed.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self.stopping.is_set():
            log.warning("disconnected from the broker: %s", reason_code)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        self.inbox.put(_Message(message.mid, message.qos, self._session, bool(message.dup), message.topic,
                                bytes(message.payload), datetime.now(UTC)))

    # --- the writing loop (the caller's thread) ---

    def _database(self) -> GpsStore:
        if self._store is None or self._conn is None or self._conn.closed:
            self._conn = raw_connection(self.config.database_url)
            self._store = GpsStore(self._conn, self._redis, namespace=self.config.namespace)
            self._registry = DeviceRegistry(self._conn)
            self._today = None
        today = datetime.now(UTC).date()
        if self._today != today:  # at start and when the UTC day rolls over
            self._store.ensure_days(today + timedelta(days=i) for i in range(DAYS_AHEAD + 1))
            self._today = today
        return self._store

    def _drop_database(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = self._store = self._registry = None

    def _take_batch(self) -> list[_Message]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_ms / 1000
        while len(batch) < self.config.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _commit(self, batch: list[_Message], retried: bool) -> tuple[Written, dict]:
        """``retried``: an earlier attempt failed, perhaps after the database had committed it."""
        store = self._database()
        retention = self.config.retention_days or self.settings.gps_retention_days
        limits = Limits(datetime.now(UTC), self.settings.gps_max_accuracy_m, retention)
        received = [Received(m.topic, m.payload, m.received_at,
                             decode_safely(m.topic, m.payload, self._registry.agent_of, limits),
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

    def _retrying(self, step: Callable[[], T], what: str) -> T | None:
        """``step``'s result once it succeeds, or None if the worker is stopping first: retried through
        database and Redis outages."""
        while True:
            try:
                return step()
            except (psycopg.OperationalError, psycopg.InterfaceError, redis.RedisError) as exc:
                log.warning("ingest: %s; retrying %s", exc, what)
                if isinstance(exc, psycopg.Error):
                    self._drop_database()
                if self.stopping.wait(1.0):
                    return None

    def process(self, batch: list[_Message]) -> None:
        """Commit ``batch`` and move the live positions (each retried through outages on its own, so a
        Redis outage does not write the dead letters twice), then acknowledge it. A worker stopped
        before that leaves the batch unacknowledged: the broker delivers it again."""
        attempts = 0

        def commit() -> tuple[Written, dict]:
            nonlocal attempts
            attempts += 1
            return self._commit(batch, retried=attempts > 1)

        committed = self._retrying(commit, f"a batch of {len(batch)}")
        if committed is None:
            return
        written, newest = committed
        moved = self._retrying(lambda: write_positions(self._redis, newest, namespace=self.config.namespace),
                               "the live positions")
        if moved is None:
            return
        self.written = _add(self.written, Written(written.fixes, written.dead_letters, moved, written.transitions))
        for m in batch:
            # A message from an earlier connection is delivered again on this one (and stored as a
            # no-op); acking its old packet id here could acknowledge another, uncommitted message.
            if m.session == self._session:
                self.client.ack(m.mid, m.qos)

    def run(self) -> None:
        """Connect, subscribe and ingest until ``stopping`` is set."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        # Unacknowledged messages the broker may send at once: a whole batch, not the default 20.
        props.ReceiveMaximum = min(self.config.batch_size, 65535)
        self.client.reconnect_delay_set(1, 10)
        # The broker first: while the database is away, messages wait unacknowledged (the database is
        # reached, and the day partitions made, with the first batch).
        self.client.connect_async(self._address.host, self._address.port, keepalive=30,
                                  clean_start=False, properties=props)
        self.client.loop_start()
        try:
            while not self.stopping.is_set():
                batch = self._take_batch()
                if batch:
                    self.process(batch)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self._drop_database()


def _add(a: Written, b: Written) -> Written:
    return Written(a.fixes + b.fixes, a.dead_letters + b.dead_letters, a.agents_moved + b.agents_moved,
                   a.transitions + b.transitions)
