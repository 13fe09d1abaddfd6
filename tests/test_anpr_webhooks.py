"""The vendors' ANPR webhooks through the app, the database and Redis: the real sample bodies (Plate
Recognizer Snapshot and Stream, OpenALPR alpr_group) become hits of the signed-in device's van; only an
active van device gets in; the body's size is capped; bad input is dead-lettered without its plates
and reads that match nothing leave only counts [R-ANPR-PRIVACY]."""
from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from api.deps import Hotlist, get_hotlist
from core import get_settings, session_scope
from core.models import Device
from tests.anpr_world import (
    VAN_SECRET,
    VanDevice,
    app_hotlist,
    make_van,
    namespace,
    rows,
    tables_holding,
    unlisted_marks,
)
from tests.ingest_world import make_phones

ACTOR = "test:anpr-webhooks"
SAMPLES = get_settings().shared_dir / "samples" / "anpr"
PLATERECOGNIZER = "/anpr/webhooks/platerecognizer"
OPENALPR = "/anpr/webhooks/openalpr"
MAX_BODY = 1 << 20


@pytest.fixture
def ns(client, redis_client) -> Iterator[str]:
    """The test's own hotlist namespace, which the app matches against while the test runs."""
    with app_hotlist(client, redis_client) as prefix:
        yield prefix


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_bytes().decode("utf-8-sig"))


def snapshot(*plates: str) -> bytes:
    """The Plate Recognizer Snapshot sample with ``plates`` read in place of its own."""
    body = sample("platerecognizer_snapshot_webhook.json")
    first = body["data"]["results"][0]
    body["data"]["results"] = [{**first, "plate": p.lower()} for p in plates]
    return json.dumps(body).encode()


def stream(plate: str, *, camera_id: str = "camera-1") -> str:
    """A Plate Recognizer Stream body (the field set of SOURCES.md) reading ``plate``."""
    return json.dumps({
        "hook": {"target": "https://example.invalid/anpr/webhooks/platerecognizer", "id": camera_id,
                 "event": "recognition", "filename": "camera-1_screenshots/frame.jpg"},
        "data": {"camera_id": camera_id, "filename": "camera-1_screenshots/frame.jpg",
                 "timestamp": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
                 "timestamp_local": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
                 "results": [{"box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "plate": plate.lower(),
                              "region": {"code": "gb", "score": 0.9}, "score": 0.903,
                              "candidates": [{"score": 0.903, "plate": plate.lower()}], "dscore": 0.8,
                              "vehicle": {"score": 0.7, "type": "Sedan", "box": {}}, "direction": 90,
                              "source_url": "rtsp://camera-1", "position_sec": 12.5}]}})


def alpr_group(plate: str) -> bytes:
    """The OpenALPR alpr_group sample with ``plate`` as its best plate."""
    body = sample("openalpr_alpr_group_v1.json")
    body["best_plate"]["plate"] = body["best_plate_number"] = plate
    body["best_plate"]["candidates"][0]["plate"] = plate
    return json.dumps(body).encode()


def hits_of(vehicle_id: int) -> list[tuple]:
    return rows("SELECT van_id, device_id, vrm, how FROM anpr_hit WHERE vehicle_id = %s", vehicle_id)


def stored_for(device_id: str) -> int:
    """Rows any webhook could have written for the device: hits and dead letters."""
    return rows("SELECT (SELECT count(*) FROM anpr_hit WHERE device_id = %s)"
                " + (SELECT count(*) FROM anpr_dead_letter WHERE device_id = %s)", device_id, device_id)[0][0]


def test_the_plate_recognizer_snapshot_sample_is_a_hit_of_the_devices_van(client, van, listed) -> None:
    vrm, vehicle_id = listed
    r = client.post(PLATERECOGNIZER, content=snapshot(vrm, "830265"), auth=(van.device_id, VAN_SECRET),
                    headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json() == {"reads": 2, "hits": 1, "rejected": 0}
    assert hits_of(vehicle_id) == [(van.van_id, van.device_id, vrm, "exact")]


def test_a_plate_recognizer_stream_form_is_a_hit_and_its_image_is_not_kept(client, van, listed) -> None:
    vrm, vehicle_id = listed
    frame = b"\xff\xd8\xff\xe0" + b"FRAME-BYTES-NOT-TO-KEEP" * 100
    r = client.post(PLATERECOGNIZER, data={"json": stream(vrm)},
                    files={"upload": ("frame.jpg", frame, "image/jpeg")}, auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 200, r.text
    assert r.json() == {"reads": 1, "hits": 1, "rejected": 0}
    assert hits_of(vehicle_id) == [(van.van_id, van.device_id, vrm, "exact")]
    assert rows("SELECT image_ref FROM anpr_hit WHERE vehicle_id = %s", vehicle_id) == [
        ("camera-1_screenshots/frame.jpg",)]


def test_the_openalpr_alpr_group_sample_is_a_hit_of_the_devices_van(client, van, listed) -> None:
    vrm, vehicle_id = listed
    r = client.post(OPENALPR, content=alpr_group(vrm), auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 200, r.text
    assert r.json() == {"reads": 1, "hits": 1, "rejected": 0}
    assert hits_of(vehicle_id) == [(van.van_id, van.device_id, vrm, "exact")]


def test_the_van_is_the_devices_whatever_the_body_says(client, van, listed) -> None:
    """Van A's device posts a body whose camera and hook ids name van B and its device: the hit is A's."""
    vrm, vehicle_id = listed
    other = make_van()
    r = client.post(PLATERECOGNIZER, content=stream(vrm, camera_id=other.device_id).encode(),
                    auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 200, r.text
    assert hits_of(vehicle_id) == [(van.van_id, van.device_id, vrm, "exact")]
    assert rows("SELECT count(*) FROM anpr_read_count WHERE van_id = %s", other.van_id) == [(0,)]


def credentials(who: str, van: VanDevice) -> tuple[str, str] | None:
    if who == "wrong secret":
        return van.device_id, VAN_SECRET + "x"
    if who == "unknown device":
        return "no-such-device", VAN_SECRET
    if who == "phone":
        return make_phones(1)[0].device_id, "s"
    if who == "inactive van":
        return make_van(active=False).device_id, VAN_SECRET
    return None  # none at all, a person's bearer token, a malformed header


HEADERS = {"bearer": {"authorization": "Bearer not-a-device"}, "malformed": {"authorization": "Basic !!not-base64"}}


@pytest.mark.parametrize("who", ["none", "wrong secret", "unknown device", "phone", "inactive van", "bearer",
                                 "malformed"])
def test_only_an_active_van_device_gets_in_and_every_refusal_looks_the_same(client, van, listed, who) -> None:
    vrm, vehicle_id = listed
    auth = credentials(who, van)
    headers = HEADERS.get(who, {})
    for route, body in ((PLATERECOGNIZER, snapshot(vrm)), (OPENALPR, alpr_group(vrm)), (OPENALPR, b"not json")):
        r = client.post(route, content=body, auth=auth, headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Basic"
        assert r.json() == {"detail": "not authenticated: send HTTP Basic credentials of an active van device "
                                      "(device_id and secret)"}
    assert hits_of(vehicle_id) == []
    if auth is not None:
        assert stored_for(auth[0]) == 0


def test_a_deactivated_device_is_refused_from_its_next_request(client, van, listed) -> None:
    vrm, _ = listed
    assert client.post(OPENALPR, content=alpr_group(vrm), auth=(van.device_id, VAN_SECRET)).status_code == 200
    with session_scope() as db:
        db.query(Device).filter_by(device_id=van.device_id).update({"active": False})
    assert client.post(OPENALPR, content=alpr_group(vrm), auth=(van.device_id, VAN_SECRET)).status_code == 401


def test_a_body_over_1_mib_is_a_413_whether_declared_or_streamed(client, van, ns) -> None:
    padded = b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    r = client.post(OPENALPR, content=padded, auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 413, r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the read itself stops at the limit
        for _ in range(5):
            yield b" " * (MAX_BODY // 4)

    r = client.post(PLATERECOGNIZER, content=chunks(), auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 413, r.text
    assert stored_for(van.device_id) == 0
    # Exactly the limit is still read (and, being no JSON object, refused as such).
    r = client.post(OPENALPR, content=b" " * MAX_BODY, auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 422, r.text


def test_a_body_that_is_not_json_is_a_422_naming_body_and_is_dead_lettered_without_it(client, van, ns) -> None:
    secret = unlisted_marks(1, "AB12CDE")[0]
    body = b'{"best_plate": {"plate": "' + secret.encode() + b'", '
    since = datetime.now(UTC)
    r = client.post(OPENALPR, content=body, auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["body"]
    assert secret not in r.text
    letters = rows("SELECT source, device_id, field, reason, payload_bytes FROM anpr_dead_letter "
                   "WHERE device_id = %s AND received_at >= %s", van.device_id, since)
    assert letters == [(OPENALPR, van.device_id, "payload", "not UTF-8 JSON", len(body))]
    assert tables_holding([secret]) == []


def test_a_form_without_its_json_field_is_a_422_naming_json(client, van, ns) -> None:
    r = client.post(PLATERECOGNIZER, data={"other": "x"}, files={"upload": ("f.jpg", b"\xff\xd8", "image/jpeg")},
                    auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["json"]
    assert rows("SELECT source, field FROM anpr_dead_letter WHERE device_id = %s", van.device_id) == [
        (PLATERECOGNIZER, "json")]


def test_bad_reads_are_counted_as_rejected_and_the_good_ones_kept(client, van, listed) -> None:
    vrm, vehicle_id = listed
    body = json.loads(snapshot(vrm, "XQ12ABC"))
    body["data"]["results"][1]["score"] = 7  # out of 0..1
    r = client.post(PLATERECOGNIZER, json=body, auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 200, r.text
    assert r.json() == {"reads": 1, "hits": 1, "rejected": 1}
    assert rows("SELECT source, field FROM anpr_dead_letter WHERE device_id = %s", van.device_id) == [
        (PLATERECOGNIZER, "data.results[1].score")]
    assert len(hits_of(vehicle_id)) == 1


def test_a_body_the_vendor_sends_for_no_read_is_a_200_with_nothing_taken(client, van, ns) -> None:
    """An OpenALPR agent heartbeat: understood, holding no read."""
    r = client.post(OPENALPR, json={"data_type": "heartbeat", "version": 2}, auth=(van.device_id, VAN_SECRET))
    assert r.status_code == 200, r.text
    assert r.json() == {"reads": 0, "hits": 0, "rejected": 0}


def test_R_ANPR_PRIVACY_reads_that_match_nothing_leave_only_counts(client, van, listed) -> None:
    vrm, vehicle_id = listed
    passing = unlisted_marks(6, vrm)
    r = client.post(PLATERECOGNIZER, content=snapshot(*passing[:3]), auth=(van.device_id, VAN_SECRET))
    assert r.json() == {"reads": 3, "hits": 0, "rejected": 0}
    # A Stream form without the image: the JSON alone, still multipart (a None filename is a plain field).
    r = client.post(PLATERECOGNIZER, files={"json": (None, stream(passing[3]))}, auth=(van.device_id, VAN_SECRET))
    assert r.json() == {"reads": 1, "hits": 0, "rejected": 0}
    for mark in passing[4:]:
        r = client.post(OPENALPR, content=alpr_group(mark), auth=(van.device_id, VAN_SECRET))
        assert r.json() == {"reads": 1, "hits": 0, "rejected": 0}
    assert rows("SELECT sum(reads), sum(hits) FROM anpr_read_count WHERE van_id = %s", van.van_id) == [(6, 0)]
    assert hits_of(vehicle_id) == []
    assert tables_holding(passing) == [], "a read that matched nothing is stored"


def test_while_redis_has_no_hotlist_a_webhook_is_refused_with_503_and_nothing_is_counted(client, van, redis_client):
    """Matched against a missing list, every hit would be lost; the vendor sends the body again."""
    with namespace(redis_client) as prefix:  # a list never built: no admission mark
        client.app.dependency_overrides[get_hotlist] = lambda: Hotlist(redis_client, prefix)
        try:
            r = client.post("/anpr/webhooks/openalpr", content=alpr_group("AB12CDE"),
                            auth=(van.device_id, VAN_SECRET), headers={"Content-Type": "application/json"})
        finally:
            client.app.dependency_overrides.pop(get_hotlist)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert rows("SELECT count(*) FROM anpr_read_count WHERE van_id = %s", van.van_id) == [(0,)]


def _fuzzed_webhook(rng: random.Random, route: str, now: datetime) -> bytes:
    """A body ``route``'s vendor would never send: not JSON, not an object, over 1 MiB, or its own form
    with one field broken (each always a reject, never a read)."""
    # Every body carries something of ``rng``'s own, so that no two runs send the same bytes.
    kind, nonce = rng.randrange(6), rng.random()
    if kind == 0:
        return rng.choice([rng.randbytes(rng.randint(1, 300)), b'{"hook": {"id": %f, "event": "image.done"' % nonce,
                           b"\xff\xfe{%f}" % nonce])
    if kind == 1:
        return json.dumps(rng.choice([[1, nonce], f"AB12CDE {nonce}", nonce])).encode()
    if kind == 2:
        return b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    if route == PLATERECOGNIZER:
        body = json.loads(snapshot("XQ12ABC"))
        body["hook"]["id"] = nonce
        result = body["data"]["results"][0]
        field, value = rng.choice([("plate", ""), ("plate", 12), ("plate", "X" * 17), ("score", 1.5), ("score", "hi"),
                                   ("candidates", "XQ12ABC"), ("timestamp", "yesterday"), ("event", "image.failed"),
                                   ("results", {"plate": "XQ12ABC"})])
        if field in ("timestamp", "results"):
            body["data"][field] = value
        elif field == "event":
            body["hook"]["event"] = value
        else:
            result[field] = value
    else:
        body = json.loads(alpr_group("XQ12ABC"))
        body["best_uuid"] = f"fuzz-{nonce}"
        field, value = rng.choice([("plate", None), ("plate", ""), ("confidence", 101), ("confidence", "x"),
                                   ("epoch_start", "soon"), ("epoch_start", (now + timedelta(days=3)).timestamp()),
                                   ("candidates", [{"plate": 5}]), ("best_plate", [])])
        if field in ("epoch_start", "best_plate"):
            body[field] = value
        else:
            body["best_plate"][field] = value
    return json.dumps(body).encode()


def test_500_fuzzed_webhooks_are_refused_with_reasons_while_valid_ones_keep_their_hits(client, van, listed) -> None:
    """Every bad body is a 413, a 422 naming the field, or a 200 counting it rejected; each refused body
    is dead-lettered (a 413 is refused unread); none is a server error; the valid bodies between them
    all become hits."""
    vrm, vehicle_id = listed
    # Seeded by the van: each run sends bytes no earlier run sent (the store keeps one letter per body).
    rng = random.Random(van.device_id)
    now = datetime.now(UTC).replace(microsecond=0)
    auth = (van.device_id, VAN_SECRET)
    hits_sent = 0
    refused: set[tuple[str, bytes]] = set()
    statuses: Counter[int] = Counter()
    # 500 here, beside the 1,000 van messages of tests/test_anpr_reliability.py: the routes share the
    # pipeline, and each request costs a sign-in and a commit.
    for i in range(500):
        route = (PLATERECOGNIZER, OPENALPR)[i % 2]
        body = _fuzzed_webhook(rng, route, now)
        r = client.post(route, content=body, auth=auth, headers={"content-type": "application/json"})
        statuses[r.status_code] += 1
        assert r.status_code in (200, 413, 422), (r.status_code, r.text)
        if r.status_code == 200:
            assert r.json() == {"reads": 0, "hits": 0, "rejected": 1}, r.text
        elif r.status_code == 422:
            assert r.json()["errors"] and "XQ12ABC" not in r.text
        if r.status_code != 413:
            refused.add((route, body))
        if i % 10 == 0:  # a valid body between the bad ones, each read at its own second
            at = now - timedelta(minutes=30, seconds=i)
            if route == PLATERECOGNIZER:
                good = json.loads(snapshot(vrm))
                good["data"]["timestamp"] = at.isoformat()
            else:
                good = json.loads(alpr_group(vrm))
                good["epoch_start"] = int(at.timestamp() * 1000)
            r = client.post(route, json=good, auth=auth)
            assert r.json() == {"reads": 1, "hits": 1, "rejected": 0}, r.text
            hits_sent += 1
    assert set(statuses) == {200, 413, 422}, statuses  # the fuzz reached every kind of refusal
    assert len(hits_of(vehicle_id)) == hits_sent
    # One letter per distinct refused body: a vendor re-sends a body it got no 2xx for, so the same
    # bytes again are taken as that and not lettered twice.
    letters = rows("SELECT field, reason FROM anpr_dead_letter WHERE device_id = %s", van.device_id)
    assert len(letters) == len(refused)
    assert not [r for _, r in letters if "XQ12ABC" in r]
