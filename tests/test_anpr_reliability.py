"""ANPR ingest when things go wrong mid-stream (real broker, database and a Redis of the test's own):
Redis restarted empty, and a hold placed on a warrant while a van keeps reading its vehicle."""
from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import redis

from anpr_ingest import (
    admit_once,
    refresh_cases,
)
from core import libpq_dsn, session_scope
from core.models import Case
from tests.anpr_world import (
    VanDevice,
    add_vehicle,
    anpr_worker,
    hot_case,
    hotlist_namespace,
)
from tests.helpers import free_port, publisher, running

ACTOR = "test:anpr-reliability"
REDIS_SERVER = "/usr/bin/redis-server"


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen]:
    """A Redis without persistence on ``port``: a restart loses everything, as a crashed cache would."""
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def read(plate: str, ts: datetime) -> dict:
    return {"ts": ts.isoformat(), "plate": plate, "confidence": 0.95, "lat": 50.3755, "lon": -4.1427}


def hits(vehicle_id: int) -> list[tuple[datetime, datetime]]:
    with psycopg.connect(libpq_dsn()) as conn:
        return conn.execute("SELECT ts, received_at FROM anpr_hit WHERE vehicle_id = %s ORDER BY ts",
                            (vehicle_id,)).fetchall()


def listed_vehicle() -> tuple[int, str, int]:
    """A warrant and its vehicle that qualify for the hotlist: (case id, mark, vehicle id)."""
    with session_scope() as db:
        case = hot_case(db)
        vehicle = add_vehicle(db, case)
        db.commit()
        return case.id, vehicle.vrm, vehicle.id


def test_redis_restarted_mid_stream_the_hotlist_is_rebuilt_and_no_hit_is_missed(van) -> None:
    _, vrm, vehicle_id = listed_vehicle()
    port = free_port()
    client = redis.Redis(port=port)
    stop = threading.Event()

    def admit() -> None:  # what `bailiwick ingest anpr` runs beside its workers, more often
        while not stop.wait(0.3):
            admit_once(client, ACTOR)

    sent: list[datetime] = []
    with ExitStack() as stack:
        server = stack.enter_context(redis_server(port))
        admitting = threading.Thread(target=admit, daemon=True)
        admitting.start()
        stack.callback(admitting.join, 10)
        stack.callback(stop.set)
        mqtt = stack.enter_context(publisher())
        stack.enter_context(running(anpr_worker(redis_url=f"redis://127.0.0.1:{port}/0", session_expiry_s=120)))
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        for i in range(40):
            if i == 15:  # Redis dies and comes back empty
                server.kill()
                server.wait(10)
                stack.enter_context(redis_server(port))
            ts = start + timedelta(seconds=i)
            sent.append(ts)
            mqtt.publish(f"vans/{van.van_id}/anpr", json.dumps(
                {"device_id": van.device_id, "reads": [read(vrm, ts)]}), qos=1).wait_for_publish(10)
            time.sleep(0.05)
        deadline = time.monotonic() + 40
        while len(hits(vehicle_id)) < len(sent):
            assert time.monotonic() < deadline, f"{len(hits(vehicle_id))} of {len(sent)} hits stored"
            time.sleep(0.1)
    assert [ts for ts, _ in hits(vehicle_id)] == sent


def test_R_ANPR_DELETE_a_hold_placed_while_a_van_streams_stops_its_hits_within_1s(van, redis_client) -> None:
    case_id, vrm, vehicle_id = listed_vehicle()
    with hotlist_namespace(redis_client) as ns:
        with session_scope() as db:
            refresh_cases(db, redis_client, [case_id], ACTOR, namespace=ns)
        held_at = None
        with publisher() as mqtt, running(anpr_worker(ns)):
            started = time.monotonic()
            while time.monotonic() - started < 4:
                now = datetime.now(UTC)
                mqtt.publish(f"vans/{van.van_id}/anpr", json.dumps(
                    {"device_id": van.device_id, "reads": [read(vrm, now)]}), qos=1)
                if held_at is None and time.monotonic() - started > 1.5:
                    with session_scope() as db:
                        db.get(Case, case_id).on_hold = True
                        db.commit()
                        held_at = datetime.now(UTC)
                        refresh_cases(db, redis_client, [case_id], ACTOR, namespace=ns)
                time.sleep(0.02)
            time.sleep(1.0)  # the last reads reach the worker
    stored = hits(vehicle_id)
    assert any(received < held_at for _, received in stored), "no hit before the hold: the test proves nothing"
    late = [received for _, received in stored if received > held_at + timedelta(seconds=1)]
    assert late == [], f"{len(late)} hits more than 1 s after the hold was committed"


def _fuzzed(rng: random.Random, van: VanDevice, now: datetime) -> tuple[bytes, int]:
    """A malformed van message and how many dead letters it must leave (one for a message refused
    whole, one per bad read otherwise)."""
    good = read("XQ" + str(rng.randint(10, 99)) + "ABC", now)
    kind = rng.randrange(9)
    if kind == 0:  # not JSON, or cut short
        body = rng.choice([rng.randbytes(rng.randint(1, 200)), json.dumps({"reads": [good]}).encode()[:-3]])
        return body, 1
    if kind == 1:  # over 1 MiB
        return json.dumps({"device_id": van.device_id, "reads": [good], "pad": "x" * (1 << 20)}).encode(), 1
    if kind == 2:  # no device, or no reads list
        return json.dumps(rng.choice([{"reads": [good]}, {"device_id": van.device_id},
                                      {"device_id": van.device_id, "reads": "AB12CDE"}, [good], 7])).encode(), 1
    bad = dict(good)
    if kind == 3:
        del bad[rng.choice(["ts", "plate", "lat", "lon"])]
    elif kind == 4:  # a bad mark
        bad["plate"] = rng.choice(["", "A" * 17, 1234, None, ["AB12CDE"], True])
    elif kind == 5:
        bad["ts"] = rng.choice(["2026-12-07T10:00:00", "yesterday", 1765000000, (now + timedelta(days=2)).isoformat()])
    elif kind == 6:
        field, value = rng.choice([("lat", 91.0), ("lon", -181.0), ("lat", "50.1"), ("lon", True), ("lat", float("nan"))])
        bad[field] = value
    elif kind == 7:
        bad[rng.choice(["confidence", "heading_deg", "speed_mps"])] = rng.choice([-1, "high", 1.5e9])
    else:
        bad["candidates"] = rng.choice(["AB12CDE", [{"plate": 5}], [{"confidence": 0.5}]])
    payload = json.dumps({"device_id": van.device_id, "reads": [bad, good]})
    return payload.replace("NaN", "1e999").encode(), 1


def test_1000_fuzzed_payloads_are_dead_lettered_while_valid_reads_keep_flowing(van, redis_client) -> None:
    rng = random.Random(20261207)
    case_id, vrm, vehicle_id = listed_vehicle()
    since = datetime.now(UTC)
    with hotlist_namespace(redis_client) as ns:
        with session_scope() as db:
            refresh_cases(db, redis_client, [case_id], ACTOR, namespace=ns)
        letters_due, hits_sent = 0, []
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        with publisher() as mqtt, running(anpr_worker(ns)) as worker:
            topic = f"vans/{van.van_id}/anpr"
            for i in range(1000):
                payload, due = _fuzzed(rng, van, start)
                letters_due += due
                mqtt.publish(topic, payload, qos=1)
                if i % 5 == 0:  # a valid message between the bad ones: a hit
                    ts = start + timedelta(seconds=i)
                    hits_sent.append(ts)
                    mqtt.publish(topic, json.dumps({"device_id": van.device_id, "reads": [read(vrm, ts)]}),
                                 qos=1).wait_for_publish(10)
            def letters() -> list[tuple[str, str]]:
                # This van's topic only: anything else publishing on the shared broker reaches the
                # worker's group too.
                with psycopg.connect(libpq_dsn()) as conn:
                    return conn.execute("SELECT field, reason FROM anpr_dead_letter WHERE source = %s "
                                        "AND received_at >= %s", (topic, since)).fetchall()

            deadline = time.monotonic() + 60
            while len(letters()) < letters_due or len(hits(vehicle_id)) < len(hits_sent):
                assert time.monotonic() < deadline, f"{len(letters())} of {letters_due} letters, " \
                                                    f"{len(hits(vehicle_id))} of {len(hits_sent)} hits"
                time.sleep(0.2)
            assert worker.connected.is_set() and not worker.stopping.is_set()
            time.sleep(0.5)  # nothing more arrives
            lettered = letters()
    assert [ts for ts, _ in hits(vehicle_id)] == hits_sent
    assert len(lettered) == letters_due
    assert all(field and reason for field, reason in lettered)
    assert not [r for _, r in lettered if "XQ" in r or "AB12CDE" in r], "a reason quotes a plate"
