"""GPS ingest (issue 11, "Ingest"): decoding both payload forms with every reject reason, the store
(idempotent on device and time, a late fix never moves the live position back, the day partition of a
late batch made on demand), and the consumer end to end over the real broker, database and Redis."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracking import GpsFix, Limits, RejectKind, decode

SAMPLES = Path("/work/shared/samples/owntracks")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
LIMITS = Limits(now=NOW, max_accuracy_m=500, retention_days=90)
DEVICES = {"phone-7": 7, "jane": 8}


def agent_of(device_id: str) -> int | None:
    return DEVICES.get(device_id)


def bailiwick(device_id: str, *fixes: dict) -> bytes:
    return json.dumps({"device_id": device_id, "fixes": list(fixes)}).encode()


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes().strip()


def kinds(decoded) -> list[RejectKind]:
    return [r.kind for r in decoded.rejects]


# --- decoding: the Bailiwick form ---------------------------------------------------------------

def test_bailiwick_message_with_all_fields_and_the_minimum() -> None:
    payload = bailiwick("phone-7",
                        {"ts": "2026-12-07T09:59:00+00:00", "lat": 50.3755, "lon": -4.1427, "accuracy_m": 8,
                         "speed_mps": 3.5, "heading_deg": 270, "battery_pct": 81},
                        {"ts": "2026-12-07T10:59:30+01:00", "lat": 50.3756, "lon": -4.1428})
    d = decode("agents/7/gps", payload, agent_of, LIMITS)
    assert d.rejects == []
    assert d.fixes == [
        GpsFix("phone-7", 7, datetime(2026, 12, 7, 9, 59, tzinfo=UTC), -4.1427, 50.3755, 8, 3.5, 270, 81),
        GpsFix("phone-7", 7, datetime(2026, 12, 7, 9, 59, 30, tzinfo=UTC), -4.1428, 50.3756),
    ]
    assert d.fixes[1].ts.utcoffset() == timedelta(0)


@pytest.mark.parametrize("fix, kind, names", [
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": 95.0, "lon": 0}, RejectKind.out_of_range, "lat 95.0"),
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": -181}, RejectKind.out_of_range, "lon -181"),
    ({"ts": "2026-12-08T10:00:01+00:00", "lat": 50, "lon": 0}, RejectKind.future, "2026-12-08T10:00:01"),
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0, "accuracy_m": 501}, RejectKind.inaccurate,
     "501 m > 500 m"),
    ({"ts": "2026-08-01T09:59:00+00:00", "lat": 50, "lon": 0}, RejectKind.too_old, "90 days"),
    ({"ts": "2026-12-07T09:59:00", "lat": 50, "lon": 0}, RejectKind.malformed, "fixes[1].ts"),
    ({"ts": 1765101540, "lat": 50, "lon": 0}, RejectKind.malformed, "fixes[1].ts"),
    ({"lat": 50, "lon": 0}, RejectKind.malformed, "fixes[1].ts"),
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": "north", "lon": 0}, RejectKind.malformed, "fixes[1].lat"),
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0, "battery_pct": 140}, RejectKind.malformed,
     "fixes[1].battery_pct"),
])
def test_a_bad_fix_is_rejected_with_its_reason_and_the_good_one_beside_it_is_kept(fix, kind, names) -> None:
    good = {"ts": "2026-12-07T09:58:00+00:00", "lat": 50.1, "lon": -4.1}
    d = decode("agents/7/gps", bailiwick("phone-7", good, fix), agent_of, LIMITS)
    assert [f.ts for f in d.fixes] == [datetime(2026, 12, 7, 9, 58, tzinfo=UTC)]
    assert kinds(d) == [kind]
    assert names in d.rejects[0].reason and d.rejects[0].reason.startswith(str(kind))
    assert json.loads(d.rejects[0].payload) == fix  # the rejected fix itself is what is kept


def test_the_accuracy_bound_is_configurable() -> None:
    payload = bailiwick("phone-7", {"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0, "accuracy_m": 120})
    assert kinds(decode("agents/7/gps", payload, agent_of, Limits(NOW, max_accuracy_m=100))) == [RejectKind.inaccurate]
    assert kinds(decode("agents/7/gps", payload, agent_of, LIMITS)) == []


@pytest.mark.parametrize("topic, payload, kind", [
    ("agents/7/gps", b'{"device_id": "phone-7", "fixes": [', RejectKind.malformed),
    ("agents/7/gps", b"\xff\xfe not utf-8", RejectKind.malformed),
    ("agents/7/gps", b'{"device_id": "phone-7", "fixes": [{"ts": "2026-12-07T09:59:00+00:00", "lat": NaN, '
                     b'"lon": 0}]}', RejectKind.malformed),
    ("agents/7/gps", b'[1, 2]', RejectKind.malformed),
    ("agents/7/gps", b'{"device_id": "phone-7", "fixes": []}', RejectKind.malformed),
    ("agents/7/gps", bailiwick("stolen-9", {"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0}),
     RejectKind.unknown_device),
    ("agents/8/gps", bailiwick("phone-7", {"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0}),
     RejectKind.topic_mismatch),
    ("agents/seven/gps", bailiwick("phone-7", {"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0}),
     RejectKind.topic_mismatch),
])
def test_a_bad_message_is_rejected_whole_and_kept_byte_for_byte(topic, payload, kind) -> None:
    d = decode(topic, payload, agent_of, LIMITS)
    assert d.fixes == [] and kinds(d) == [kind]
    assert d.rejects[0].payload == payload


# --- decoding: OwnTracks, as the apps send it ------------------------------------------------------

def test_owntracks_android_location_sample() -> None:
    topic, payload = sample("location_mqtt_topic_and_payload.txt").split(b" ", 1)
    assert topic == b"owntracks/jane/nokia"
    d = decode(topic.decode(), payload, agent_of, Limits(datetime(2024, 2, 2, 7, tzinfo=UTC)))
    assert d.rejects == []
    assert d.fixes == [GpsFix("jane", 8, datetime.fromtimestamp(1706856298, UTC), 2.292713, 48.856826,
                              None, 0.0, None, 53)]


def test_owntracks_iphone_trace_maps_kmh_to_mps_and_unknowns_to_none() -> None:
    """The Recorder's real iPhone trace: ``vel``/``cog`` -1 are unknown; cell fixes of 2000-5000 m are
    dead-lettered by the accuracy bound; the two ``lwt`` records are ignored."""
    records = [line.split("\t")[2].encode() for line in sample("demo-iphone.rec").decode().splitlines()]
    limits = Limits(datetime(2015, 8, 24, 12, tzinfo=UTC))
    results = [decode("owntracks/jane/iphone", r, agent_of, limits) for r in records]
    fixes = [f for d in results for f in d.fixes]
    rejects = [r for d in results for r in d.rejects]
    assert {r.kind for r in rejects} == {RejectKind.inaccurate}
    assert all(json.loads(r.payload)["acc"] > 500 for r in rejects)
    assert len(fixes) + len(rejects) == sum(b'"_type":"location"' in r for r in records)
    ignored = [r for r, d in zip(records, results) if not d.fixes and not d.rejects]
    assert len(ignored) == 2 and all(json.loads(r)["_type"] == "lwt" for r in ignored)
    raw = {json.loads(r)["tst"]: json.loads(r) for r in records if b"location" in r}
    for f in fixes:
        src = raw[int(f.ts.timestamp())]
        assert f.speed_mps == (pytest.approx(src["vel"] / 3.6) if src["vel"] >= 0 else None)
        assert f.heading_deg == (src["cog"] if src["cog"] >= 0 else None)
        assert (f.lat, f.lon, f.accuracy_m, f.battery_pct) == (src["lat"], src["lon"], src["acc"], src["batt"])


def test_owntracks_transition_on_the_event_topic_is_a_fix() -> None:
    d = decode("owntracks/jane/nokia/event", sample("transition_http.json"), agent_of,
               Limits(datetime(2018, 6, 2, 19, tzinfo=UTC)))
    assert d.rejects == []
    assert d.fixes == [GpsFix("jane", 8, datetime.fromtimestamp(1527966973, UTC), 18.22, 42.53, 10.0)]


@pytest.mark.parametrize("payload", [
    b'{"_type":"lwt","tst":"1440363922"}',
    b'{"_type":"waypoints","waypoints":[]}',
    b'{"_type":"card","name":"Jane"}',
    b'{"_type":"encrypted","data":"abc"}',
])
def test_owntracks_other_types_are_ignored_not_dead_lettered(payload) -> None:
    d = decode("owntracks/jane/nokia", payload, agent_of, LIMITS)
    assert d.fixes == [] and d.rejects == []


@pytest.mark.parametrize("topic, payload, kind", [
    ("owntracks/nobody/nokia", sample("location_android_mqtt.json"), RejectKind.unknown_device),
    ("owntracks/jane/nokia", b'{"_type":"location","lat":1}', RejectKind.malformed),
    ("owntracks/jane/nokia", b'{"lat":1,"lon":2,"tst":3}', RejectKind.malformed),
    ("owntracks/jane/nokia", b'{"_type":"location","lat":1,"lon":2,"tst":99999999999999999}',
     RejectKind.malformed),
    ("owntracks/jane/nokia", b'{"_type":"location","lat":1,"lon":2,"tst":1765101540,'
                             b'"topic":"owntracks/phone-7/nokia"}', RejectKind.topic_mismatch),
    ("owntracks/jane/nokia", b'{"_type":"location","lat":-91,"lon":2,"tst":1765101540}', RejectKind.out_of_range),
])
def test_owntracks_rejects(topic, payload, kind) -> None:
    d = decode(topic, payload, agent_of, LIMITS)
    assert d.fixes == [] and kinds(d) == [kind]
