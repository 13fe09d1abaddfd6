"""ANPR ingest over the real broker, database and Redis: hits and sightings, the privacy of every other
read [R-ANPR-PRIVACY], dead letters without plates, and a device that may only post as its own van."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from anpr_ingest import refresh_cases
from core import session_scope
from tests.anpr_world import (
    add_vehicle,
    anpr_worker,
    commit,
    hot_case,
    hotlist_namespace,
    make_van,
    message,
    random_vrm,
    read,
    rows,
    tables_holding,
    unlisted_marks,
)
from tests.helpers import publisher, running, unique

ACTOR = "test:anpr-ingest"


@pytest.fixture
def ns(redis_client) -> Iterator[str]:
    with hotlist_namespace(redis_client) as prefix:
        yield prefix


def test_a_hit_is_stored_with_the_reads_metadata_and_starts_a_sighting(van, listed, redis_client, ns) -> None:
    vrm, vehicle_id = listed
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    written = commit(van, redis_client, ns, message(van, read(vrm, at, heading_deg=90.0, speed_mps=8.5,
                                                              image_ref="img/1.jpg")))
    assert (written.reads, written.hits, written.dead_letters, len(written.new_sightings)) == (1, 1, 0, 1)
    (hit,) = rows("SELECT vrm, vehicle_id, how, heading_deg, speed_mps, image_ref, ST_X(location), ST_Y(location), "
                  "sighting_id FROM anpr_hit WHERE vehicle_id = %s", vehicle_id)
    assert hit[:8] == (vrm, vehicle_id, "exact", 90.0, 8.5, "img/1.jpg", -4.1427, 50.3755)
    assert hit[8] == written.new_sightings[0]


def test_repeated_reads_within_minutes_collapse_into_one_sighting(van, listed, redis_client, ns) -> None:
    vrm, vehicle_id = listed
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    first = commit(van, redis_client, ns, message(van, read(vrm, t0), read(vrm, t0 + timedelta(seconds=40))))
    again = commit(van, redis_client, ns, message(van, read(vrm, t0 + timedelta(minutes=3))))
    later = commit(van, redis_client, ns, message(van, read(vrm, t0 + timedelta(minutes=20))))
    assert len(first.new_sightings) == 1 and again.new_sightings == () and len(later.new_sightings) == 1
    sightings = rows("SELECT reads, first_seen_at, last_seen_at FROM anpr_sighting WHERE vehicle_id = %s "
                     "ORDER BY first_seen_at", vehicle_id)
    assert sightings == [(3, t0, t0 + timedelta(minutes=3)),
                         (1, t0 + timedelta(minutes=20), t0 + timedelta(minutes=20))]


def test_a_misread_mark_is_corrected_by_position(van, redis_client, ns) -> None:
    """``AB50CDE`` read as ``ABSOCDE``: the current format wants digits in positions 3 and 4."""
    with session_scope() as db:
        case = hot_case(db)
        vrm = "XB50" + random_vrm()[4:]
        vehicle_id = add_vehicle(db, case, vrm=vrm).id
        db.commit()
        refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    written = commit(van, redis_client, ns, message(van, read("XBSO" + vrm[4:], datetime.now(UTC) - timedelta(minutes=5))))
    assert written.hits == 1
    assert rows("SELECT vrm, plate_read, how FROM anpr_hit WHERE vehicle_id = %s", vehicle_id) == [
        (vrm, "XBSO" + vrm[4:], "corrected")]


def test_a_redelivered_message_adds_no_hit_and_no_dead_letter_twice(van, listed, redis_client, ns) -> None:
    vrm, vehicle_id = listed
    payload = message(van, read(vrm, datetime.now(UTC) - timedelta(minutes=7)), {"ts": "yesterday", "plate": "AB12CDE"})
    first = commit(van, redis_client, ns, payload)
    again = commit(van, redis_client, ns, payload, redelivered=True)
    assert (first.hits, first.dead_letters) == (1, 1)
    assert (again.hits, again.dead_letters, again.new_sightings) == (0, 0, ())
    assert rows("SELECT reads FROM anpr_sighting WHERE vehicle_id = %s", vehicle_id) == [(1,)]


def test_bad_input_is_dead_lettered_with_its_field_and_never_its_plates(van, listed, redis_client, ns) -> None:
    vrm, _ = listed
    other = make_van()
    secret_marks = unlisted_marks(3, vrm)
    since = datetime.now(UTC)
    now = datetime.now(UTC) - timedelta(minutes=1)
    written = commit(
        van, redis_client, ns,
        b'{"device_id": "' + van.device_id.encode() + b'", "reads": [{"plate": "' + secret_marks[0].encode() + b'"',
        message(van, read(secret_marks[1], now), read(vrm, now), {**read(secret_marks[2], now), "lat": 123.0}),
        message(van, read(secret_marks[1], now), device_id=unique("nobody")),
        message(other, read(secret_marks[1], now)),  # on this van's topic
    )
    assert written.hits == 1, "the valid hit beside the bad read is kept"
    letters = rows("SELECT source, device_id, field, reason, payload_bytes FROM anpr_dead_letter "
                   "WHERE received_at >= %s AND source = %s ORDER BY id", since, f"vans/{van.van_id}/anpr")
    fields = [field for _, _, field, _, _ in letters]
    assert fields == ["payload", "reads[2].lat", "device_id", "topic"]
    assert [device for _, device, _, _, _ in letters][1::2] == [van.device_id, other.device_id]
    assert all(reason and size > 0 for _, _, _, reason, size in letters)
    text = json.dumps([list(map(str, r)) for r in letters])
    assert not any(mark in text for mark in secret_marks), "a dead letter holds a plate"
    assert rows("SELECT reads, hits FROM anpr_read_count WHERE van_id = %s", van.van_id)[0] == (2, 1)


def test_R_ANPR_PRIVACY_reads_that_match_nothing_leave_only_counts(van, listed, redis_client, ns, caplog) -> None:
    """A van streams reads of passing cars through the real worker; the one listed vehicle becomes a
    hit, and none of the others' marks is anywhere: no table, no log line, no dead letter, no Redis key."""
    vrm, vehicle_id = listed
    caplog.set_level(logging.DEBUG)
    passing = unlisted_marks(40, vrm)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    with publisher() as client, running(anpr_worker(ns, threshold=0.55)) as worker:
        for i in range(0, 40, 10):
            reads = [read(m, now + timedelta(seconds=i + k)) for k, m in enumerate(passing[i:i + 10])]
            reads.append(read(vrm, now + timedelta(seconds=i)))
            client.publish(f"vans/{van.van_id}/anpr", message(van, *reads), qos=1).wait_for_publish(10)
        deadline = time.monotonic() + 20
        while worker.written.reads < 44:
            assert time.monotonic() < deadline, f"only {worker.written} committed"
            time.sleep(0.05)
    # Dead letters counted on this van's topic only: anything else publishing on the shared broker
    # (vans/+/anpr) reaches this worker's group too.
    assert (worker.written.hits, worker.written.sightings) == (4, 1)
    assert rows("SELECT device_id, field, reason FROM anpr_dead_letter WHERE source = %s",
                f"vans/{van.van_id}/anpr") == []
    assert rows("SELECT sum(reads), sum(hits) FROM anpr_read_count WHERE van_id = %s", van.van_id) == [(44, 4)]
    assert rows("SELECT reads FROM anpr_sighting WHERE vehicle_id = %s", vehicle_id) == [(4,)]
    assert tables_holding(passing) == [], "a read that matched nothing is stored"
    assert set(tables_holding([vrm])) >= {"anpr_hit", "anpr_sighting"}  # the search finds what is stored
    logs = "\n".join(r.getMessage() for r in caplog.records)
    keys = " ".join(k.decode() if isinstance(k, bytes) else k for k in redis_client.scan_iter(match="*"))
    values = json.dumps({k.decode(): str(redis_client.hgetall(k)) for k in redis_client.scan_iter(match=ns + "*")
                         if redis_client.type(k) == b"hash"})
    assert not [m for m in passing if m in logs or m in keys or m in values]
