"""Phones and ingest workers for the tests of the GPS ingest (not fixtures: the test modules wrap them)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from core import hash_device_secret, session_scope
from core.models import Device
from tests.case_world import make_agent
from tests.helpers import running, unique
from tracking import IngestConfig, IngestWorker


@dataclass(frozen=True)
class Phone:
    device_id: str
    agent_id: int


def make_phones(count: int = 2) -> list[Phone]:
    """``count`` agents, each with a registered phone (ids unique to the calling test)."""
    made = []
    with session_scope() as db:
        for _ in range(count):
            agent = make_agent(db)
            device = Device(device_id=unique("phone"), kind="phone", agent_id=agent.id,
                            credential_hash=hash_device_secret("s"))
            db.add(device)
            db.flush()
            made.append(Phone(device.device_id, agent.id))
    return made


@contextmanager
def running_worker(*, namespace: str, mqtt_url: str | None = None,
                   retention_days: int | None = None) -> Iterator[IngestWorker]:
    """An ingest worker in a thread, subscribed, in a shared-subscription group of its own (so that no
    other consumer on the broker takes the test's messages); stopped, and checked stopped, afterwards."""
    w = IngestWorker(IngestConfig(client_id=unique("ingest"), group=unique("g"), batch_ms=50, mqtt_url=mqtt_url,
                                  namespace=namespace, session_expiry_s=60, retention_days=retention_days))
    with running(w):
        yield w
