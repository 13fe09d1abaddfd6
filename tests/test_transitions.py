"""OwnTracks geofence events at ingest (issue 11, "Geofences on the phone"): a ``transition`` message
is stored as its fix in gps_ping and as the event itself in gps_transition, in the same transaction
and idempotently; one with a missing or invalid ``event`` or ``desc`` is dead-lettered with the reason
while its fix is kept; and every accepted OwnTracks message teaches ``device.owntracks_name``, the
device part of its topic that the phone reads its commands under. Decoding is pure; the store and the
worker run on the real PostGIS, Redis and Mosquitto."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import (
    connect_redis,
    get_settings,
    hash_device_secret,
    raw_connection,
    session_scope,
)
from core.models import Device
from tests.case_world import make_agent
from tests.helpers import unique
from tests.ingest_world import running_worker
from tests.mqtt_listen import connected
from tracking import (
    Decoded,
    GeofenceEvent,
    GpsFix,
    GpsStore,
    IngestWorker,
    Limits,
    Received,
    RejectKind,
    decode,
)

SAMPLES = get_settings().shared_dir / "samples" / "owntracks"
TRANSITION = json.loads((SAMPLES / "transition_http.json").read_bytes())  # enter "Work", tst 1527966973
SAMPLE_TS = datetime.fromtimestamp(1527966973, UTC)
SAMPLE_LIMITS = Limits(datetime(2018, 6, 2, 19, tzinfo=UTC))
DEVICES = {"jane": 8}


def transition(**changes) -> bytes:
    payload = dict(TRANSITION) | changes
    return json.dumps({k: v for k, v in payload.items() if v is not None}).encode()


# --- decoding (pure) ------------------------------------------------------------------------------

def test_a_transition_is_its_fix_and_its_geofence_event() -> None:
    d = decode("owntracks/jane/nokia/event", transition(), DEVICES.get, SAMPLE_LIMITS)
    assert d.rejects == []
    assert d.fixes == [GpsFix("jane", 8, SAMPLE_TS, 18.22, 42.53, 10.0)]
    assert d.transitions == [GeofenceEvent("jane", 8, SAMPLE_TS, "enter", "Work", 18.22, 42.53, 10.0)]
    assert d.owntracks_name == ("jane", "nokia")


def test_a_leave_on_the_base_topic_is_an_event_too() -> None:
    d = decode("owntracks/jane/nokia", transition(event="leave", desc="4711", rid="a1b2"), DEVICES.get,
               SAMPLE_LIMITS)
    assert [(e.event, e.region) for e in d.transitions] == [("leave", "4711")]


@pytest.mark.parametrize("changes, problem", [
    ({"event": None}, "event None"),
    ({"event": "exit"}, "event 'exit'"),
    ({"event": 1}, "event 1"),
    ({"event": ["enter"]}, "event ['enter']"),
    ({"desc": None}, "desc None"),
    ({"desc": ""}, "desc ''"),
    ({"desc": "   "}, "desc '   '"),
    ({"desc": ["Work"]}, "desc ['Work']"),
    ({"desc": "Wo\x00rk"}, "desc 'Wo\\x00rk'"),
])
def test_a_transition_without_a_valid_event_or_desc_is_dead_lettered_and_its_fix_kept(changes, problem) -> None:
    payload = transition(**changes)
    d = decode("owntracks/jane/nokia/event", payload, DEVICES.get, SAMPLE_LIMITS)
    assert len(d.fixes) == 1 and d.transitions == []
    [reject] = d.rejects
    assert reject.kind == RejectKind.malformed and reject.payload == payload
    assert reject.reason.startswith("malformed: transition: ") and problem in reject.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(event=json_values | st.sampled_from(["enter", "leave"]), desc=json_values, rid=json_values)
def test_any_event_or_desc_decodes_to_an_event_or_a_reason_and_never_raises(event, desc, rid) -> None:
    d = decode("owntracks/jane/nokia/event", transition(event=event, desc=desc, rid=rid), DEVICES.get,
               SAMPLE_LIMITS)
    assert len(d.fixes) == 1
    assert len(d.transitions) + len(d.rejects) == 1
    assert all(e.event in ("enter", "leave") and e.region.strip() for e in d.transitions)


def test_a_transition_whose_fix_is_rejected_keeps_no_event() -> None:
    d = decode("owntracks/jane/nokia/event", transition(acc=900.0), DEVICES.get, SAMPLE_LIMITS)
    assert d.fixes == [] and d.transitions == [] and [r.kind for r in d.rejects] == [RejectKind.inaccurate]


def test_the_device_name_is_learned_only_from_an_accepted_owntracks_message() -> None:
    location = json.dumps({"_type": "location", "lat": 50.1, "lon": -4.1, "tst": 1527966973}).encode()
    assert decode("owntracks/jane/pixel", location, DEVICES.get, SAMPLE_LIMITS).owntracks_name == ("jane", "pixel")
    assert decode("owntracks/nobody/pixel", location, DEVICES.get, SAMPLE_LIMITS).owntracks_name is None
    assert decode("owntracks/jane/" + "x" * 65, location, DEVICES.get, SAMPLE_LIMITS).owntracks_name is None
    bailiwick = json.dumps({"device_id": "jane", "fixes": [{"ts": "2018-06-02T18:00:00+00:00", "lat": 50,
                                                              "lon": -4}]}).encode()
    assert decode("agents/8/gps", bailiwick, DEVICES.get, SAMPLE_LIMITS).owntracks_name is None


# --- the store, on the real database --------------------------------------------------------------

@pytest.fixture
def phone(migrated) -> tuple[str, int]:
    with session_scope() as db:
        agent = make_agent(db)
        device = Device(device_id=unique("phone"), kind="phone", agent_id=agent.id,
                        credential_hash=hash_device_secret("s"))
        db.add(device)
        db.flush()
        return device.device_id, agent.id


@pytest.fixture
def store(migrated) -> Iterator[GpsStore]:
    namespace = f"test:{unique('geo')}:"
    client = connect_redis()
    with raw_connection() as conn:
        yield GpsStore(conn, client, namespace=namespace)
    client.delete(namespace + "agents:positions", namespace + "agents:position_at")


def transitions_of(device_id: str) -> list[tuple]:
    with raw_connection() as conn:
        return conn.execute("SELECT ts, event, region, ST_X(location), ST_Y(location), accuracy_m, agent_id "
                            "FROM gps_transition WHERE device_id = %s ORDER BY ts, event", (device_id,)).fetchall()


def owntracks_name(device_id: str) -> str | None:
    with raw_connection() as conn:
        return conn.execute("SELECT owntracks_name FROM device WHERE device_id = %s", (device_id,)).fetchone()[0]


def message(device_id: str, agent_id: int, name: str, now: datetime, **changes) -> Received:
    topic = f"owntracks/{device_id}/{name}/event"
    payload = transition(tst=int(now.timestamp()), lat=50.3755, lon=-4.1427, **changes)
    return Received(topic, payload, now, decode(topic, payload, {device_id: agent_id}.get, Limits(now)))


def test_a_transition_is_stored_with_its_fix_once_however_often_it_comes(store, phone) -> None:
    device_id, agent_id = phone
    now = datetime.now(UTC).replace(microsecond=0)
    enter = message(device_id, agent_id, "iphone", now, desc="101")
    leave = message(device_id, agent_id, "iphone", now + timedelta(minutes=5), event="leave", desc="101")
    written = store.write([enter, leave, enter])
    assert (written.fixes, written.transitions, written.dead_letters) == (2, 2, 0)
    assert store.write([leave]).transitions == 0  # re-delivered
    assert transitions_of(device_id) == [
        (now, "enter", "101", pytest.approx(-4.1427), pytest.approx(50.3755), 10.0, agent_id),
        (now + timedelta(minutes=5), "leave", "101", pytest.approx(-4.1427), pytest.approx(50.3755), 10.0, agent_id)]
    with raw_connection() as conn:
        assert conn.execute("SELECT count(*) FROM gps_ping WHERE device_id = %s", (device_id,)).fetchone()[0] == 2


def test_two_regions_entered_at_the_same_second_are_two_events(store, phone) -> None:
    device_id, agent_id = phone
    now = datetime.now(UTC).replace(microsecond=0)
    store.write([message(device_id, agent_id, "iphone", now, desc="101"),
                 message(device_id, agent_id, "iphone", now, desc="102")])
    assert [r[2] for r in transitions_of(device_id)] == ["101", "102"]


def test_events_and_fixes_are_one_transaction(store, phone) -> None:
    """An event the database refuses takes the batch's fixes and other events with it: nothing is
    committed, so the messages (not acknowledged) come back whole."""
    device_id, agent_id = phone
    now = datetime.now(UTC).replace(microsecond=0)
    good = message(device_id, agent_id, "iphone", now, desc="101")
    bad = Received(good.topic, good.payload, now, Decoded(
        transitions=[GeofenceEvent(device_id, 2**40, now, "leave", "101", -4.1, 50.3)]))  # agent id out of range
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        store.write([good, bad])
    assert transitions_of(device_id) == []
    with raw_connection() as conn:
        assert conn.execute("SELECT count(*) FROM gps_ping WHERE device_id = %s", (device_id,)).fetchone()[0] == 0


def test_the_device_name_is_written_when_new_or_changed_once_per_batch(store, phone) -> None:
    device_id, agent_id = phone
    now = datetime.now(UTC).replace(microsecond=0)
    assert owntracks_name(device_id) is None
    store.write([message(device_id, agent_id, "iphone", now)])
    assert owntracks_name(device_id) == "iphone"
    # Renamed in the app: the batch's last message wins.
    store.write([message(device_id, agent_id, "old", now + timedelta(seconds=1)),
                 message(device_id, agent_id, "pixel", now + timedelta(seconds=2))])
    assert owntracks_name(device_id) == "pixel"
    # Someone cleared it behind this store's back: a fresh store (a restarted worker) writes it again.
    with raw_connection() as conn:
        conn.execute("UPDATE device SET owntracks_name = NULL WHERE device_id = %s", (device_id,))
        conn.commit()
        GpsStore(conn, store.live, namespace=store.namespace).write(
            [message(device_id, agent_id, "pixel", now + timedelta(seconds=3))])
    assert owntracks_name(device_id) == "pixel"


# --- the worker, over the real broker --------------------------------------------------------------

@pytest.fixture
def worker(migrated) -> Iterator[IngestWorker]:
    namespace = f"test:{unique('geo')}:"
    with running_worker(namespace=namespace) as w:
        yield w
    connect_redis().delete(namespace + "agents:positions", namespace + "agents:position_at")


def test_end_to_end_a_phone_enters_and_leaves_a_region_and_a_bad_event_is_dead_lettered(worker, phone) -> None:
    from tests.test_gps_ingest import dead_letters, pings, wait_until

    device_id, _ = phone
    now = datetime.now(UTC).replace(microsecond=0)
    topic = f"owntracks/{device_id}/iphone/event"
    events = [transition(tst=int(now.timestamp()), lat=50.3755, lon=-4.1427, desc="101"),
              transition(tst=int(now.timestamp()) + 300, lat=50.3756, lon=-4.1428, desc="101", event="leave"),
              transition(tst=int(now.timestamp()) + 400, lat=50.3757, lon=-4.1429, desc="101", event="exit")]
    with connected() as client:
        for payload in events:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
    wait_until(lambda: len(pings(device_id)) == 3 and len(transitions_of(device_id)) == 2
               and dead_letters(topic, now))
    assert [(r[1], r[2]) for r in transitions_of(device_id)] == [("enter", "101"), ("leave", "101")]
    [(payload, reason)] = dead_letters(topic, now)
    assert payload == events[2] and reason == "malformed: transition: event 'exit' is not 'enter' or 'leave'"
    assert owntracks_name(device_id) == "iphone"
