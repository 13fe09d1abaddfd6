"""The MQTT ingest machinery every ingest worker shares (GPS from phones, ANPR reads from vans): an MQTT
v5 client in a shared subscription that hands what it receives to a ``BatchHandler`` in batches and
acknowledges each message only once the handler has committed it.

- Persistent session (``clean_start=False`` and a session expiry), so the broker keeps the worker's
  messages while it is away; a stable client id per worker resumes that session.
- Shared subscription ``$share/<group>/<topic>`` at QoS 1: the workers of one group split the stream.
- paho's manual acknowledgement: a message that was never committed is never PUBACKed, so the broker
  delivers it again after a crash or restart (the handler's store must make that harmless).
- ``ReceiveMaximum`` is a whole batch, so the broker does not stall a batch at its default of 20
  unacknowledged messages.
- A batch is up to ``batch_size`` messages or ``batch_ms`` milliseconds, whichever comes first.
- A database, Redis or broker outage (``psycopg.OperationalError``/``InterfaceError``,
  ``redis.RedisError``, ``core.PublishError`` raised by the handler) is retried once a second with the
  batch held, unacknowledged; the handler's ``reset`` drops what the failure may have broken first.
  The after-commit step is retried on its own, so an outage there does not commit the batch again.
- A message the handler may have committed already is flagged: ``Message.dup`` (the broker resent it
  after a lost connection) or ``retried`` (an earlier attempt at its batch failed, perhaps after the
  database had committed it), so the handler can avoid writing anything twice that its keys do not
  deduplicate (GPS dead letters, for one).
- A packet id belongs to one connection: a message is acknowledged only on the connection that
  delivered it (``Message.session``); one from an earlier connection comes again on the new one.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

import paho.mqtt.client as mqtt
import psycopg
import redis
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.db import raw_connection
from core.mqtt import PublishError, broker_address, new_client

log = logging.getLogger(__name__)
R = TypeVar("R")
T = TypeVar("T")

# Failures of a service that may come back: the batch is retried rather than dead-lettered or dropped
# (``PublishError``: a handler's own publish, an ANPR alert say, that the broker did not acknowledge).
RETRYABLE = (psycopg.OperationalError, psycopg.InterfaceError, redis.RedisError, PublishError)


@dataclass(frozen=True)
class Message:
    """One MQTT message as the broker delivered it to a ``BatchWorker``."""

    mid: int
    qos: int
    session: int  # which connection delivered it: a packet id means nothing on another connection
    dup: bool     # the broker resent it after a lost connection: it may have been committed already
    topic: str
    payload: bytes
    received_at: datetime


@dataclass(frozen=True)
class BatchWorkerConfig:
    topics: tuple[str, ...]
    group: str          # the shared subscription's group: $share/<group>/<topic>
    client_id: str      # stable per worker, so that a restarted worker resumes its session
    batch_size: int = 500
    batch_ms: int = 200
    session_expiry_s: int = 24 * 3600
    mqtt_url: str | None = None  # None: BAILIWICK_MQTT_URL


class BatchHandler(Protocol[R]):
    """What a ``BatchWorker`` does with its batches; every method runs in the worker's thread."""

    def commit(self, batch: Sequence[Message], retried: bool) -> R:
        """Store ``batch`` durably (bad input dead-lettered, never raised). ``retried``: an earlier
        attempt failed, perhaps after the database had committed it. May raise one of ``RETRYABLE``."""
        ...

    def after_commit(self, committed: R) -> None:
        """What follows a commit that must not repeat it when it fails (e.g. caches in Redis), and the
        handler's running totals. May raise one of ``RETRYABLE``; nothing to do is fine."""
        ...

    def reset(self, error: Exception) -> None:
        """Drop whatever connection ``error`` (one of ``RETRYABLE``) may have broken."""
        ...

    def close(self) -> None:
        """The worker is stopping: release the handler's connections."""
        ...


class DatabaseHandler:
    """The database side every ``BatchHandler`` shares: one connection, opened on first use, and
    replaced after a database failure (a Redis client reconnects by itself) or when the worker stops.
    ``opened`` builds what hangs off a new connection (stores, registries)."""

    def __init__(self, database_url: str | None) -> None:
        self._database_url = database_url
        self._conn: psycopg.Connection | None = None

    def opened(self, conn: psycopg.Connection) -> None:
        """Called with each new connection."""

    def connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = raw_connection(self._database_url)
            self.opened(self._conn)
        return self._conn

    def reset(self, error: Exception) -> None:
        if isinstance(error, psycopg.Error):
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


class _Stopped(Exception):
    """The worker was stopped while a step of a batch was being retried."""


class BatchWorker(Generic[R]):
    """Connect, subscribe and hand batches to ``handler`` until ``stopping`` is set (``run``)."""

    def __init__(self, config: BatchWorkerConfig, handler: BatchHandler[R]) -> None:
        self.config = config
        self.handler = handler
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        # Set once the broker granted every subscription: a message published before the SUBACK
        # reaches no subscriber, so "ready" means subscribed, not merely connected.
        self.subscribed = threading.Event()
        self.received = 0  # messages delivered by the broker, redeliveries included
        self._session = 0
        self._address = broker_address(config.mqtt_url)
        self.client = new_client(config.client_id, self._address)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # --- MQTT (paho's network thread) ---

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        self._session += 1
        client.subscribe([(f"$share/{self.config.group}/{t}", 1) for t in self.config.topics])
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
        self.inbox.put(Message(message.mid, message.qos, self._session, bool(message.dup), message.topic,
                               bytes(message.payload), datetime.now(UTC)))

    # --- the batching loop (the caller's thread) ---

    def _take_batch(self) -> list[Message]:
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

    def _retrying(self, step: Callable[[], T], what: str) -> T:
        """``step``'s result once it succeeds, retried through database and Redis outages; ``_Stopped``
        if the worker is stopped first."""
        while True:
            try:
                return step()
            except RETRYABLE as exc:
                log.warning("%s: %s; retrying %s", self.config.client_id, exc, what)
                self.handler.reset(exc)
                if self.stopping.wait(1.0):
                    raise _Stopped from exc

    def process(self, batch: list[Message]) -> None:
        """Commit ``batch``, then take the after-commit step (each retried through outages on its own),
        then acknowledge it. A worker stopped before that leaves the batch unacknowledged: the broker
        delivers it again."""
        attempts = 0

        def commit() -> R:
            nonlocal attempts
            attempts += 1
            return self.handler.commit(batch, retried=attempts > 1)

        try:
            committed = self._retrying(commit, f"a batch of {len(batch)}")
            self._retrying(lambda: self.handler.after_commit(committed), f"after committing a batch of {len(batch)}")
        except _Stopped:
            return
        for m in batch:
            # A message from an earlier connection is delivered again on this one (and stored as a
            # no-op); acking its old packet id here could acknowledge another, uncommitted message.
            if m.session == self._session:
                self.client.ack(m.mid, m.qos)

    def run(self) -> None:
        """Connect, subscribe and process batches until ``stopping`` is set."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        # Unacknowledged messages the broker may send at once: a whole batch, not the default 20.
        props.ReceiveMaximum = min(self.config.batch_size, 65535)
        self.client.reconnect_delay_set(1, 10)
        # The broker first: while the database is away, messages wait unacknowledged (the handler
        # reaches its services with the first batch).
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
            self.handler.close()
