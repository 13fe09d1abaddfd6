"""core's ingest machinery on its own, with a handler of the test's: ``BatchWorker``'s retries, its
separate after-commit step and its acknowledgements (no broker needed), the worker on the real broker
with a topic and group of its own, and ``DeviceRegistry`` for vans as well as phones."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
import redis
from sqlalchemy import delete

from core import (
    BatchWorker,
    BatchWorkerConfig,
    DeviceRegistry,
    Message,
    hash_device_secret,
    raw_connection,
    session_scope,
)
from core.models import Device, DeviceKind, Van
from tests.case_world import make_agent
from tests.helpers import unique
from tests.ingest_world import make_phones
from tests.mqtt_listen import connected
from tracking import DeviceRegistry as PhoneRegistry


class Handler:
    """Records every call; ``fail`` holds, per step, the errors its next calls raise."""

    def __init__(self, fail: dict[str, list[Exception]] | None = None) -> None:
        self.fail = fail or {}
        self.calls: list[tuple] = []
        self.batches: list[Sequence[Message]] = []

    def _step(self, name: str, *args) -> None:
        self.calls.append((name, *args))
        if self.fail.get(name):
            raise self.fail[name].pop(0)

    def commit(self, batch: Sequence[Message], retried: bool) -> int:
        self._step("commit", retried)
        self.batches.append(batch)
        return len(batch)

    def after_commit(self, committed: int) -> None:
        self._step("after_commit", committed)

    def reset(self, error: Exception) -> None:
        self.calls.append(("reset", type(error)))

    def close(self) -> None:
        self.calls.append(("close",))


def offline_worker(handler: Handler) -> tuple[BatchWorker[int], list[int]]:
    """A worker never connected (``process`` is called by hand), and the packet ids it acknowledges."""
    worker = BatchWorker(BatchWorkerConfig(topics=("t/+",), group="g", client_id=unique("w")), handler)
    acked: list[int] = []
    worker.client.ack = lambda mid, _qos: acked.append(mid)
    return worker, acked


def message(mid: int, session: int = 0) -> Message:
    return Message(mid, 1, session, False, "t/1", b"x", datetime.now(UTC))


def test_a_failed_commit_is_reset_and_retried_flagged_then_acknowledged() -> None:
    handler = Handler({"commit": [psycopg.OperationalError("database away")]})
    worker, acked = offline_worker(handler)
    worker.process([message(1), message(2)])
    assert handler.calls == [("commit", False), ("reset", psycopg.OperationalError), ("commit", True),
                             ("after_commit", 2)]
    assert acked == [1, 2]


def test_a_failed_after_commit_step_is_retried_without_committing_again() -> None:
    handler = Handler({"after_commit": [redis.ConnectionError("redis away")]})
    worker, acked = offline_worker(handler)
    worker.process([message(1)])
    assert handler.calls == [("commit", False), ("after_commit", 1), ("reset", redis.ConnectionError),
                             ("after_commit", 1)]
    assert acked == [1]


def test_a_message_of_an_earlier_connection_is_not_acknowledged_on_this_one() -> None:
    worker, acked = offline_worker(Handler())
    worker.process([message(1, session=-1), message(2)])
    assert acked == [2]


def test_a_worker_stopped_while_retrying_acknowledges_nothing() -> None:
    handler = Handler({"commit": [psycopg.OperationalError("database away")]})
    worker, acked = offline_worker(handler)
    worker.stopping.set()
    worker.process([message(1)])
    assert handler.calls == [("commit", False), ("reset", psycopg.OperationalError)] and acked == []


def test_the_worker_delivers_its_topics_through_its_share_group_and_closes_the_handler() -> None:
    handler = Handler()
    topic = f"vans/{unique('van')}/anpr"
    worker = BatchWorker(BatchWorkerConfig(topics=(topic,), group=unique("g"), client_id=unique("w"), batch_ms=50,
                                           session_expiry_s=0), handler)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.subscribed.wait(15), "the worker did not subscribe"
        with connected() as client:
            client.publish(topic, b"AB12CDE", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while not handler.batches:
            assert time.monotonic() < deadline, "nothing delivered"
            time.sleep(0.05)
    finally:
        worker.stopping.set()
        thread.join(10)
    assert not thread.is_alive() and handler.calls[-1] == ("close",)
    [[got]] = handler.batches
    assert (got.topic, got.payload, got.qos, got.dup) == (topic, b"AB12CDE", 1, False) and worker.received == 1


def test_the_registry_maps_vans_to_vans_and_phones_to_agents(migrated) -> None:
    [phone] = make_phones(1)
    with session_scope() as db:
        agent = make_agent(db)
        van = Van(reference=unique("van"), vrm=uuid.uuid4().hex[:7].upper(), subcontractor_id=agent.subcontractor_id)
        db.add(van)
        db.flush()
        van_device = Device(device_id=unique("van"), kind="van", van_id=van.id, credential_hash=hash_device_secret("s"))
        db.add(van_device)
        db.flush()
        van_id, van_device_id = van.id, van_device.device_id
    try:
        with raw_connection() as conn:
            vans = DeviceRegistry(conn, DeviceKind.van)
            assert vans.owner_of(van_device_id) == van_id and vans.owner_of(phone.device_id) is None
            phones = PhoneRegistry(conn)
            assert phones.agent_of(phone.device_id) == phone.agent_id and phones.agent_of(van_device_id) is None
    finally:
        with session_scope() as db:
            db.execute(delete(Device).where(Device.van_id == van_id))
            db.execute(delete(Van).where(Van.id == van_id))
