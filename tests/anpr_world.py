"""Vehicles on the hotlist, vans and their devices, for the ANPR tests (not fixtures: the test modules
wrap them)."""
from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anpr_ingest import (
    HOTLIST_ADMITTED_KEY,
    AnprIngestConfig,
    AnprIngestWorker,
    AnprStore,
    Incoming,
    Written,
    match_reads,
    refresh_cases,
    take_van_messages,
)
from core import DeviceRegistry, hash_device_secret, libpq_dsn, session_scope
from core.models import (
    AuditEvent,
    CaseVehicle,
    Device,
    DeviceKind,
    GeodataLoad,
    Itl1Region,
    LocalAuthority,
    Postcode,
    SensitivePremises,
    Subcontractor,
    Van,
    Vehicle,
)
from tests.case_world import ENFORCED, make_buyer, make_case
from tests.helpers import unique

NOW = datetime.now(UTC)
VAN_SECRET = "van-secret"
DIGEST_KEY = b"test-digest-key"


def random_vrm() -> str:
    """A random current-format mark (``AB12CDE``)."""
    letters = string.ascii_uppercase
    return (random.choice(letters) + random.choice(letters) + f"{random.randint(10, 99)}"
            + "".join(random.choice(letters) for _ in range(3)))


# Audit rows are kept for ever, but a reseed (other tests run ``bailiwick seed``) restarts the vehicle
# ids, so older rows may name a vehicle id a test creates again: a vehicle's audit starts after the
# last row written before it was created.
_AUDIT_FLOOR: dict[int, int] = {}


def add_vehicle(db: Session, case, vrm: str | None = None, **fields) -> Vehicle:
    vehicle = Vehicle(vrm=vrm or random_vrm(), **fields)
    db.add(vehicle)
    db.flush()
    _AUDIT_FLOOR[vehicle.id] = db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    db.add(CaseVehicle(case_id=case.id, vehicle_id=vehicle.id))
    db.flush()
    return vehicle


def audits(db: Session, vehicle: Vehicle) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.target == f"vehicle:{vehicle.id}",
                                                    AuditEvent.id > _AUDIT_FLOOR.get(vehicle.id, 0))
                           .order_by(AuditEvent.id)))


def hot_case(db: Session, **fields):
    """An open enforcement-stage warrant whose R-ANPR-24H clock ran out an hour ago."""
    fields = {**ENFORCED, "anpr_eligible_from": NOW - timedelta(hours=1), **fields}
    return make_case(db, make_buyer(db), **fields)


@contextmanager
def namespace(client: redis.Redis) -> Iterator[str]:
    """A Redis key prefix of the calling test's own, its keys deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


@contextmanager
def hotlist_namespace(client: redis.Redis) -> Iterator[str]:
    """A hotlist of the calling test's own (``namespace``), marked as built, as a rebuild leaves it;
    the test puts the vehicles it needs on it."""
    with namespace(client) as prefix:
        client.set(prefix + HOTLIST_ADMITTED_KEY, datetime.now(UTC).isoformat())
        yield prefix


@dataclass(frozen=True)
class VanDevice:
    device_id: str
    van_id: int


def make_van(*, active: bool = True) -> VanDevice:
    """A van of a new subcontractor, with a registered device whose secret is ``VAN_SECRET``."""
    with session_scope() as db:
        sub = Subcontractor(reference=unique("sub"), name="Test Enforcement Ltd")
        db.add(sub)
        db.flush()
        van = Van(reference=unique("van"), vrm=random_vrm(), subcontractor_id=sub.id)
        db.add(van)
        db.flush()
        device = Device(device_id=unique("van"), kind="van", van_id=van.id,
                        credential_hash=hash_device_secret(VAN_SECRET), active=active)
        db.add(device)
        db.flush()
        return VanDevice(device.device_id, van.id)


def read(plate: str, ts: datetime, **extra) -> dict:
    """One read of the van message form, in Plymouth."""
    return {"ts": ts.isoformat(), "plate": plate, "confidence": 0.9, "lat": 50.3755, "lon": -4.1427, **extra}


def message(van: VanDevice, *reads: dict, device_id: str | None = None) -> bytes:
    """A van message of ``reads``, as ``van``'s device (or another ``device_id``)."""
    return json.dumps({"device_id": device_id or van.device_id, "reads": list(reads)}).encode()


def commit(van: VanDevice, redis_client: redis.Redis, ns: str, *payloads: bytes, topic: str | None = None,
           redelivered: bool = False) -> Written:
    """One batch through the pipeline and the store, as the worker does it, matching against the
    hotlist of namespace ``ns``."""
    with psycopg.connect(libpq_dsn()) as conn:
        taken = take_van_messages([Incoming(topic or f"vans/{van.van_id}/anpr", p, datetime.now(UTC), redelivered)
                                   for p in payloads], DeviceRegistry(conn, DeviceKind.van).owner_of,
                                  datetime.now(UTC))
        return AnprStore(conn, DIGEST_KEY).commit(match_reads(taken, redis_client, 0.55, namespace=ns), taken.letters)


def list_vehicle(client: redis.Redis, ns: str, actor: str, **case_fields) -> tuple[str, int]:
    """A vehicle of a hot case (``hot_case(**case_fields)``), put on the hotlist of namespace ``ns``:
    (its mark, its id)."""
    with session_scope() as db:
        case = hot_case(db, **case_fields)
        vehicle = add_vehicle(db, case)
        db.commit()
        refresh_cases(db, client, [case.id], actor, namespace=ns)
        return vehicle.vrm, vehicle.id


def unlisted_marks(n: int, listed_vrm: str) -> list[str]:
    """Marks no test puts on a hotlist, and unlike the listed one (so no tolerant match reaches it)."""
    marks: set[str] = set()
    while len(marks) < n:
        mark = "XQ" + random_vrm()[2:]
        if mark[2:] != listed_vrm[2:]:
            marks.add(mark)
    return sorted(marks)


def rows(sql: str, *params) -> list[tuple]:
    with psycopg.connect(libpq_dsn()) as conn:
        return conn.execute(sql, params).fetchall()


# The reference geography (millions of postcodes) is written only by ``bailiwick geodata load`` from
# its files; scanning it would only make the test slow.
REFERENCE = {m.__tablename__ for m in (Postcode, LocalAuthority, Itl1Region, SensitivePremises, GeodataLoad)}


def tables_holding(marks: list[str]) -> list[str]:
    """The tables of the schema (but the reference geography) any row of which holds one of
    ``marks``, searched by the database."""
    with psycopg.connect(libpq_dsn()) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'") if t not in REFERENCE]
        pattern = "|".join(marks)
        return [t for t in tables
                if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {t} t WHERE t::text ~* %s)", (pattern,)).fetchone()[0]]


def anpr_worker(namespace: str = "", **config) -> AnprIngestWorker:
    """An ANPR ingest worker in a shared-subscription group of its own (so that no other consumer on
    the broker takes the test's messages), matching against the hotlist of ``namespace``."""
    return AnprIngestWorker(AnprIngestConfig(**{"client_id": unique("anpr"), "group": unique("g"), "batch_ms": 50,
                                                "namespace": namespace, "session_expiry_s": 60, **config}))


@contextmanager
def app_hotlist(client, redis_client: redis.Redis) -> Iterator[str]:
    """A ``hotlist_namespace`` the in-process app reads and writes while it is open (its hotlist
    dependency overridden), so an API test neither depends on nor disturbs the live list."""
    from api.deps import Hotlist, get_hotlist

    with hotlist_namespace(redis_client) as prefix:
        client.app.dependency_overrides[get_hotlist] = lambda: Hotlist(redis_client, prefix)
        try:
            yield prefix
        finally:
            client.app.dependency_overrides.pop(get_hotlist)
