"""GPS ingest (issue 11, "Ingest"): decoding both payload forms with every reject reason, the store
(idempotent on device and time, a late fix never moves the live position back, the day partition of a
late batch made on demand), and the consumer end to end over the real broker, database and Redis."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from core import connect_redis, get_settings, raw_connection, read_positions
from tests.helpers import unique
from tests.ingest_world import Phone, make_phones, running_worker
from tests.mqtt_listen import connected
from tracking import (
    GpsFix,
    GpsStore,
    IngestConfig,
    IngestWorker,
    Limits,
    Received,
    RejectKind,
    decode,
    ensure_gps_partitions,
    partition_name,
)

SAMPLES = get_settings().shared_dir / "samples" / "owntracks"
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
    # Lax parsing would store these as 1.0 and 50.1: a number sent as a boolean or text is malformed.
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": True, "lon": 0}, RejectKind.malformed, "fixes[1].lat"),
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": "50.1", "lon": 0}, RejectKind.malformed, "fixes[1].lat"),
    ({"ts": "2026-12-07T09:59:00+00:00", "lat": 50, "lon": 0, "battery_pct": "80"}, RejectKind.malformed,
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
    ignored = [r for r, d in zip(records, results, strict=True) if not d.fixes and not d.rejects]
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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20)
fix_like = st.fixed_dictionaries({}, optional={
    "ts": st.text(max_size=30) | st.datetimes(timezones=st.timezones()).map(datetime.isoformat) | json_values,
    "lat": st.floats() | json_values, "lon": st.floats() | json_values, "accuracy_m": json_values,
    "battery_pct": json_values, "tst": st.integers() | json_values, "_type": st.sampled_from(
        ["location", "transition", "lwt", "cmd"]) | json_values})


@settings(max_examples=300, deadline=None)
@given(topic=st.sampled_from(["agents/7/gps", "agents/8/gps", "agents/x/gps", "owntracks/jane/nokia",
                              "owntracks/jane/nokia/event", "owntracks/nobody/a"]),
       body=st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode())
       | st.lists(fix_like, max_size=4).map(lambda fs: bailiwick("phone-7", *fs))
       | fix_like.map(lambda f: json.dumps(f).encode()))
def test_decoding_never_raises_and_every_reject_keeps_a_payload(topic, body) -> None:
    d = decode(topic, body, agent_of, LIMITS)
    assert all(r.reason and (r.payload == body or json.loads(r.payload) is not None) for r in d.rejects)
    assert all(-90 <= f.lat <= 90 and -180 <= f.lon <= 180 and f.ts.utcoffset() == timedelta(0) for f in d.fixes)


# --- the store and the consumer, on the real services ------------------------------------------

@pytest.fixture
def phones(migrated) -> list[Phone]:
    """Two agents, each with a registered phone (ids unique to this test)."""
    return make_phones(2)


@pytest.fixture
def live() -> Iterator[tuple[object, str]]:
    client = connect_redis()
    namespace = f"test:{unique('gps')}:"
    yield client, namespace
    client.delete(namespace + "agents:positions", namespace + "agents:position_at")


@pytest.fixture
def store(migrated, live) -> Iterator[GpsStore]:
    client, namespace = live
    with raw_connection() as conn:
        yield GpsStore(conn, client, namespace=namespace)


def pings(device_id: str) -> list[tuple]:
    with raw_connection() as conn:
        return conn.execute("SELECT ts, ST_X(location), ST_Y(location), agent_id, accuracy_m, "
                            "tableoid::regclass::text FROM gps_ping WHERE device_id = %s ORDER BY ts",
                            (device_id,)).fetchall()


def dead_letters(topic: str, since: datetime) -> list[tuple[bytes, str]]:
    """The topic's dead letters from ``since`` on: agent ids restart when a test reseeds, so an agent
    topic can hold an earlier run's letters."""
    with raw_connection() as conn:
        return [(bytes(p), r) for p, r in conn.execute(
            "SELECT payload, reason FROM gps_dead_letter WHERE topic = %s AND received_at >= %s ORDER BY id",
            (topic, since))]


def received(topic: str, payload: bytes, phones: list[Phone], now: datetime) -> Received:
    registry = {p.device_id: p.agent_id for p in phones}
    return Received(topic, payload, now, decode(topic, payload, registry.get, Limits(now)))


def test_the_same_message_twice_is_stored_once(store, phones) -> None:
    phone = phones[0]
    now = datetime.now(UTC)
    payload = bailiwick(phone.device_id, {"ts": now.isoformat(), "lat": 50.37, "lon": -4.14},
                        {"ts": (now - timedelta(seconds=10)).isoformat(), "lat": 50.36, "lon": -4.13})
    message = received(f"agents/{phone.agent_id}/gps", payload, phones, now)
    assert store.write([message, message]).fixes == 2
    assert store.write([message]).fixes == 0
    rows = pings(phone.device_id)
    assert len(rows) == 2
    assert rows[1][1:4] == (pytest.approx(-4.14), pytest.approx(50.37), phone.agent_id)
    assert rows[1][5] == partition_name(now.date())


def test_a_late_batch_is_stored_in_its_day_but_does_not_move_the_live_position_back(store, phones, live) -> None:
    client, namespace = live
    phone = phones[0]
    now = datetime.now(UTC)
    topic = f"agents/{phone.agent_id}/gps"
    store.write([received(topic, bailiwick(phone.device_id, {"ts": now.isoformat(), "lat": 51.5, "lon": -0.12}),
                          phones, now)])
    # Out of signal for days: a buffered fix from 40 days ago, whose partition nobody made ahead.
    late = now - timedelta(days=40)
    with raw_connection() as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(late.date()))))
        conn.commit()
    w = store.write([received(topic, bailiwick(phone.device_id, {"ts": late.isoformat(), "lat": 50.0, "lon": -5.0}),
                              phones, now)])
    assert (w.fixes, w.dead_letters, w.agents_moved) == (1, 0, 0)
    assert [r[5] for r in pings(phone.device_id)] == [partition_name(late.date()), partition_name(now.date())]
    fix = read_positions(client, [phone.agent_id], namespace=namespace)[phone.agent_id]
    assert (round(fix.lon, 4), round(fix.lat, 4)) == (-0.12, 51.5)
    assert fix.at == datetime.fromisoformat(now.isoformat())


def test_a_partition_dropped_behind_the_store_is_made_again(store, phones) -> None:
    phone = phones[0]
    now = datetime.now(UTC)
    day = now - timedelta(days=30)
    topic = f"agents/{phone.agent_id}/gps"
    first = bailiwick(phone.device_id, {"ts": day.isoformat(), "lat": 50.0, "lon": -5.0})
    assert store.write([received(topic, first, phones, now)]).fixes == 1
    with raw_connection() as conn:  # as the retention prune would
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(partition_name(day.date()))))
        conn.commit()
    again = bailiwick(phone.device_id, {"ts": (day + timedelta(seconds=1)).isoformat(), "lat": 50.0, "lon": -5.0})
    assert store.write([received(topic, again, phones, now)]).fixes == 1
    assert len(pings(phone.device_id)) == 1


def test_partitions_are_made_ahead_for_utc_days(migrated) -> None:
    with raw_connection() as conn:
        days = ensure_gps_partitions(conn, date(2031, 3, 30), days_ahead=2)
        ensure_gps_partitions(conn, date(2031, 3, 30), days_ahead=2)  # again: nothing to do
        bounds = conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'gps_ping'::regclass "
            "AND c.relname LIKE 'gps_ping_203103%%' ORDER BY 1").fetchall()
        for day in days:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(partition_name(day))))
        conn.commit()
    assert [name for name, _ in bounds] == ["gps_ping_20310330", "gps_ping_20310331"]
    assert "'2031-03-30 00:00:00+00'" in bounds[0][1] and "'2031-03-31 00:00:00+00'" in bounds[0][1]


@pytest.fixture
def worker(migrated, live) -> Iterator[IngestWorker]:
    """The ingest worker in a thread, in a shared-subscription group of its own (so that no other
    consumer on the broker takes this test's messages)."""
    with running_worker(namespace=live[1]) as w:
        yield w


def wait_until(check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def test_end_to_end_bailiwick_and_owntracks_to_rows_and_live_positions(worker, phones, live) -> None:
    client, namespace = live
    bw, ot = phones
    now = datetime.now(UTC).replace(microsecond=0)
    bw_topic, ot_topic = f"agents/{bw.agent_id}/gps", f"owntracks/{ot.device_id}/iphone"
    good = {"ts": (now - timedelta(seconds=5)).isoformat(), "lat": 50.3755, "lon": -4.1427, "accuracy_m": 6}
    bad = {"ts": now.isoformat(), "lat": 123.0, "lon": -4.1427}
    location = json.loads(sample("location_android_mqtt.json"))
    location.update(tst=int(now.timestamp()), lat=54.9783, lon=-1.6178)
    with connected() as mqtt_client:
        for topic, payload in [
            (bw_topic, bailiwick(bw.device_id, good, bad)),
            (ot_topic, json.dumps(location).encode()),
            (ot_topic, b'{"_type":"lwt","tst":"1440363922"}'),
            (f"agents/{bw.agent_id}/gps", b"\x00\xff{not json"),
        ]:
            mqtt_client.publish(topic, payload, qos=1).wait_for_publish(5)
    wait_until(lambda: pings(bw.device_id) and pings(ot.device_id) and len(dead_letters(bw_topic, now)) == 2)
    assert [r[:3] for r in pings(bw.device_id)] == [
        (now - timedelta(seconds=5), pytest.approx(-4.1427), pytest.approx(50.3755))]
    assert [r[:4] for r in pings(ot.device_id)] == [
        (now, pytest.approx(-1.6178), pytest.approx(54.9783), ot.agent_id)]
    letters = dead_letters(bw_topic, now)
    assert json.loads(letters[0][0]) == bad and letters[0][1].startswith(str(RejectKind.out_of_range))
    assert letters[1] == (b"\x00\xff{not json", letters[1][1]) and letters[1][1].startswith("malformed")
    assert dead_letters(ot_topic, now) == []  # the lwt is not a fix and not an error
    got = read_positions(client, [bw.agent_id, ot.agent_id], namespace=namespace)
    assert got[bw.agent_id].at == now - timedelta(seconds=5) and got[ot.agent_id].at == now
    assert worker.written.fixes == 2


def test_a_worker_set_to_reach_further_back_stores_a_replayed_day_the_retention_would_refuse(phones, live) -> None:
    """A replay of a scenario's fixed day (the demo, the evidence bench) sets the worker's retention to
    reach it; a worker on the setting dead-letters the same fix as too old."""
    _client, namespace = live
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    for phone, retention in zip(phones, (None, 202)):
        topic = f"agents/{phone.agent_id}/gps"
        since = datetime.now(UTC)
        with running_worker(namespace=namespace, retention_days=retention):
            with connected() as mqtt_client:
                mqtt_client.publish(topic, bailiwick(phone.device_id, {"ts": old.isoformat(), "lat": 52.2, "lon": 0.12}),
                                    qos=1).wait_for_publish(5)
            if retention is None:
                [(_, reason)] = wait_until(lambda: dead_letters(topic, since))
                assert reason.startswith(str(RejectKind.too_old)) and pings(phone.device_id) == []
            else:
                assert [r[0] for r in wait_until(lambda: pings(phone.device_id))] == [old]


def test_a_message_not_committed_is_not_acknowledged_and_comes_back_to_the_next_worker(migrated, phones, live) -> None:
    """Manual acknowledgement: a worker whose database is unreachable receives a message but never
    acknowledges it; stopped, its persistent session keeps the message, and the worker that resumes
    the session (same client id) stores it."""
    _client, namespace = live
    phone = phones[0]
    client_id, group = unique("ingest"), unique("g")
    now = datetime.now(UTC).replace(microsecond=0)

    def start(database_url: str | None) -> tuple[IngestWorker, threading.Thread]:
        w = IngestWorker(IngestConfig(client_id=client_id, group=group, batch_ms=50, namespace=namespace,
                                      session_expiry_s=60, database_url=database_url))
        t = threading.Thread(target=w.run, daemon=True)
        t.start()
        assert w.subscribed.wait(15), "the worker did not subscribe"
        return w, t

    cut_off, thread = start("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with connected() as mqtt_client:
        mqtt_client.publish(f"agents/{phone.agent_id}/gps", bailiwick(
            phone.device_id, {"ts": now.isoformat(), "lat": 52.2, "lon": 0.12}), qos=1).wait_for_publish(5)
    wait_until(lambda: cut_off.received == 1)
    cut_off.stopping.set()
    thread.join(10)
    assert pings(phone.device_id) == [] and cut_off.written.fixes == 0

    resumed, thread = start(None)
    try:
        rows = wait_until(lambda: pings(phone.device_id))
    finally:
        resumed.stopping.set()
        thread.join(10)
    assert [r[0] for r in rows] == [now] and resumed.received == 1


def test_ingest_gps_refuses_a_worker_count_out_of_range() -> None:
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, ["ingest", "gps", "--workers", "0"])
    assert result.exit_code == 2 and "--workers: 0" in result.output
