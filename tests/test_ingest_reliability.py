"""GPS ingest reliability (issue 11, "Reliability"), on the real services: a Mosquitto of the test's own
(so that session persistence and queueing are under its control), PostgreSQL, Redis, and a TCP proxy the
test cuts and restores between the worker and each of them.

- the worker stopped (cleanly, or killed) and restarted mid-stream;
- its line to PostgreSQL cut and restored, then its line to the broker;
- a batch committed whose acknowledgements never reached the broker, so that it is delivered again;
- 1,000 fuzzed malformed payloads interleaved with valid ones.

Messages are published throughout; afterwards every published fix is stored exactly once, every
malformed message has exactly one dead letter with its reason, and the worker is still running."""
from __future__ import annotations

import json
import random
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.engine import make_url

from core import connect_redis, raw_connection
from core.mqtt import BrokerAddress, connect
from tests.helpers import private_broker, unique
from tests.ingest_world import Phone, make_phones
from tests.tcp_proxy import TcpProxy
from tracking import (
    GpsStore,
    IngestConfig,
    IngestWorker,
    Limits,
    Received,
    RejectKind,
    decode,
)

WAIT_S = 30.0  # generous: the machine is shared; every wait ends as soon as its condition holds


def wait_until(check: Callable[[], object], what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


# --- the services --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[int]:
    """A Mosquitto of this module's own, its port: queues as deep as a deployment's
    (scripts/mosquitto.conf), so that nothing published while the worker is away is dropped."""
    with private_broker(tmp_path_factory.mktemp("mosquitto")) as port:
        yield port


@pytest.fixture
def phones(migrated) -> list[Phone]:
    return make_phones(2)


@pytest.fixture
def namespace() -> Iterator[str]:
    """The Redis prefix of this test's live positions."""
    name = f"test:{unique('reliab')}:"
    yield name
    connect_redis().delete(name + "agents:positions", name + "agents:position_at")


@pytest.fixture
def to_db(database_url) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy to the test database, and the database's URL through it."""
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture
def to_broker(broker) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", broker) as proxy:
        yield proxy


# --- the worker ----------------------------------------------------------------------------------

class Worker:
    """An ingest worker running in a thread, as ``bailiwick ingest gps`` runs one."""

    def __init__(self, config: IngestConfig) -> None:
        self.worker = IngestWorker(config)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.thread.start()
        assert self.worker.subscribed.wait(15), "the worker did not subscribe"

    def alive(self) -> bool:
        return self.thread.is_alive() and not self.worker.stopping.is_set()

    def stop(self) -> None:
        self.worker.stopping.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the worker did not stop"


@pytest.fixture
def workers() -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(config: IngestConfig) -> Worker:
        started.append(Worker(config))
        return started[-1]

    yield start
    for w in started:
        if w.thread.is_alive():
            w.stop()


def config(broker_port: int, namespace: str, *, client_id: str | None = None, group: str | None = None,
           database_url: str | None = None) -> IngestConfig:
    return IngestConfig(client_id=client_id or unique("ingest"), group=group or unique("g"), batch_ms=50,
                        session_expiry_s=120, namespace=namespace, database_url=database_url,
                        mqtt_url=f"mqtt://127.0.0.1:{broker_port}")


# --- publishing ------------------------------------------------------------------------------------

def publisher(port: int) -> mqtt.Client:
    """A client publishing straight to the broker (never through a proxy); paho queues without bound."""
    return connect(BrokerAddress("127.0.0.1", port), timeout=5)


@dataclass
class Published:
    """What a test published: the fixes that must be stored, the dead letters that must be written."""

    fixes: set[tuple[str, datetime]] = field(default_factory=set)
    letters: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    topics: set[str] = field(default_factory=set)
    messages: int = 0


class Fixes:
    """Valid messages of both forms from ``phones``, each fix at a time of its own (the store's key is
    (device_id, ts)), all within the last hour."""

    def __init__(self, phones: list[Phone], rng: random.Random) -> None:
        self.phones = phones
        self.rng = rng
        self.base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.count = Counter[str]()

    def _ts(self, phone: Phone) -> datetime:
        self.count[phone.device_id] += 1
        return self.base + timedelta(seconds=self.count[phone.device_id])

    def fix(self, phone: Phone) -> dict:
        return {"ts": self._ts(phone).isoformat(), "lat": round(self.rng.uniform(50.0, 55.0), 6),
                "lon": round(self.rng.uniform(-4.0, 1.0), 6), "accuracy_m": self.rng.choice([4, 12, 30])}

    def message(self, out: Published) -> tuple[str, bytes]:
        phone = self.rng.choice(self.phones)
        if self.rng.random() < 0.3:
            ts = self._ts(phone)
            out.fixes.add((phone.device_id, ts))
            return f"owntracks/{phone.device_id}/phone", json.dumps({
                "_type": "location", "tst": int(ts.timestamp()), "lat": 51.5, "lon": -0.12, "acc": 9,
                "vel": 18, "cog": 90, "batt": 77, "tid": "ph"}).encode()
        fixes = [self.fix(phone) for _ in range(self.rng.randint(1, 3))]
        out.fixes.update((phone.device_id, datetime.fromisoformat(f["ts"])) for f in fixes)
        return f"agents/{phone.agent_id}/gps", json.dumps({"device_id": phone.device_id, "fixes": fixes}).encode()


class Stream:
    """Publishes from a thread until stopped: valid messages, and every ``malformed_every``-th a payload
    that is not JSON (each different, so that the dead letters can be counted one for one)."""

    def __init__(self, port: int, phones: list[Phone], malformed_every: int = 10, pause_s: float = 0.004) -> None:
        self.client = publisher(port)
        self.fixes = Fixes(phones, random.Random(11))
        self.phones = phones
        self.malformed_every = malformed_every
        self.pause_s = pause_s
        self.out = Published()
        self.lock = threading.Lock()
        self.sent: list[mqtt.MQTTMessageInfo] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def messages(self) -> int:
        with self.lock:
            return self.out.messages

    def more(self, n: int, what: str) -> None:
        """Wait until ``n`` more messages are published."""
        target = self.messages + n
        wait_until(lambda: self.messages >= target, what)

    def _run(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                if self.out.messages % self.malformed_every == self.malformed_every - 1:
                    phone = self.phones[self.out.messages % len(self.phones)]
                    topic, payload = f"agents/{phone.agent_id}/gps", f"not json {unique('x')}".encode()
                    self.out.letters[(topic, payload)] += 1
                else:
                    topic, payload = self.fixes.message(self.out)
                self.out.topics.add(topic)
                self.sent.append(self.client.publish(topic, payload, qos=1))
                self.out.messages += 1
            time.sleep(self.pause_s)  # a steady stream over the test, not a burst before it

    def stop(self) -> Published:
        """Stop publishing; returns what was published, once the broker has acknowledged all of it."""
        self.stopping.set()
        self.thread.join(10)
        for info in self.sent:
            info.wait_for_publish(10)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS
        return self.out


# --- reading back ----------------------------------------------------------------------------------

def stored(phones: list[Phone]) -> Counter[tuple[str, datetime]]:
    """How many rows each (device_id, ts) of ``phones`` has in gps_ping."""
    with raw_connection() as conn:
        rows = conn.execute("SELECT device_id, ts, count(*) FROM gps_ping WHERE device_id = ANY(%s) "
                            "GROUP BY device_id, ts", ([p.device_id for p in phones],)).fetchall()
    return Counter({(d, ts): n for d, ts, n in rows})


def letters(topics: set[str], since: datetime) -> list[tuple[str, bytes, str]]:
    with raw_connection() as conn:
        return [(t, bytes(p), r) for t, p, r in conn.execute(
            "SELECT topic, payload, reason FROM gps_dead_letter WHERE topic = ANY(%s) AND received_at >= %s "
            "ORDER BY id", (sorted(topics), since))]


def assert_exactly_once(phones: list[Phone], out: Published, since: datetime) -> None:
    """Every published fix stored once and nothing else stored; every malformed message dead-lettered once."""
    wait_until(lambda: set(stored(phones)) >= out.fixes, f"all {len(out.fixes)} fixes to be stored")
    wait_until(lambda: len(letters(out.topics, since)) >= sum(out.letters.values()), "every dead letter")
    rows = stored(phones)
    assert set(rows) == out.fixes
    assert set(rows.values()) == {1}
    got = Counter((t, p) for t, p, _ in letters(out.topics, since))
    assert got == out.letters, f"{sum(got.values())} dead letters for {sum(out.letters.values())} malformed"


# --- dead letters, once ---------------------------------------------------------------------------

def test_a_message_delivered_again_adds_no_second_dead_letter_but_the_same_bytes_sent_again_do(
        phones, namespace) -> None:
    """What a redelivery may not repeat: a message marked ``redelivered`` (the broker's DUP, or a retried
    commit) adds no letter with the same topic, payload and kind of fault, even when its reason reads
    differently (a "future" reason quotes the clock); a first delivery of the same bytes (the phone
    sent them again) is dead-lettered again."""
    phone = phones[0]
    topic, since = f"agents/{phone.agent_id}/gps", datetime.now(UTC)
    registry = {phone.device_id: phone.agent_id}
    payload = json.dumps({"device_id": phone.device_id, "fixes": [
        {"ts": (since + timedelta(days=3)).isoformat(), "lat": 50.1, "lon": -4.1},
        {"ts": since.isoformat(), "lat": 50.1, "lon": -4.1}]}).encode()

    def received(at: datetime, redelivered: bool) -> Received:
        return Received(topic, payload, at, decode(topic, payload, registry.get, Limits(at)), redelivered)

    with raw_connection() as conn:
        store = GpsStore(conn, connect_redis(), namespace=namespace)
        first = received(since, redelivered=False)
        again = received(since + timedelta(seconds=5), redelivered=True)
        assert first.decoded.rejects[0].reason != again.decoded.rejects[0].reason
        assert [store.commit([m])[0].dead_letters for m in (first, again, again)] == [1, 0, 0]
        assert store.commit([again, first])[0].dead_letters == 1  # the phone sent it again
    got = letters({topic}, since)
    assert len(got) == 2 and {r.split(": ")[0] for _, _, r in got} == {str(RejectKind.future)}
    assert stored(phones) == Counter({(phone.device_id, since): 1})


# --- stop and restart ------------------------------------------------------------------------------

def test_a_worker_stopped_and_restarted_mid_stream_stores_every_fix_once(broker, phones, namespace, workers) -> None:
    """The persistent session keeps what is published while the worker is away (QoS 1); the worker
    that resumes it (same client id) stores all of it, and what the first one stored is not repeated."""
    since = datetime.now(UTC)
    client_id, group = unique("ingest"), unique("g")
    first = workers(config(broker, namespace, client_id=client_id, group=group))
    with Stream(broker, phones) as stream:
        wait_until(lambda: len(stored(phones)) >= 50, "the first worker to store some fixes")
        first.stop()
        away = stream.messages
        stream.more(150, "messages published while no worker runs")
        second = workers(config(broker, namespace, client_id=client_id, group=group))
        stream.more(150, "messages published after the restart")
        out = stream.stop()
    assert_exactly_once(phones, out, since)
    assert second.worker.received >= out.messages - away  # what was published while away came back
    assert first.worker.written.fixes + second.worker.written.fixes == len(out.fixes)
    assert second.alive()


WORKER_PROCESS = """
import json, sys, threading
from tracking import IngestConfig, IngestWorker
worker = IngestWorker(IngestConfig(**json.loads(sys.argv[1])))
threading.Thread(target=lambda: (worker.subscribed.wait(), print("subscribed", flush=True)), daemon=True).start()
worker.run()
"""


def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(broker, phones, namespace, workers) -> None:
    """A crash (SIGKILL: no disconnect, no last acknowledgements) of a worker process mid-stream; the
    worker that resumes its session gets every unacknowledged message again, among them any that
    were committed but not yet acknowledged, and neither a fix nor a dead letter is written twice."""
    since = datetime.now(UTC)
    cfg = config(broker, namespace)
    proc = subprocess.Popen([sys.executable, "-c", WORKER_PROCESS, json.dumps({
        "client_id": cfg.client_id, "group": cfg.group, "batch_ms": cfg.batch_ms, "namespace": namespace,
        "session_expiry_s": cfg.session_expiry_s, "mqtt_url": cfg.mqtt_url})],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], WAIT_S)
        assert ready and proc.stdout.readline().strip() == "subscribed", "the worker process did not subscribe"
        with Stream(broker, phones, malformed_every=3) as stream:
            wait_until(lambda: len(stored(phones)) >= 100, "the worker process to store some fixes")
            proc.kill()
            proc.wait(10)
            stream.more(100, "messages published while no worker runs")
            resumed = workers(cfg)
            stream.more(100, "messages published after the restart")
            out = stream.stop()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert_exactly_once(phones, out, since)
    assert resumed.alive()


# --- cutting the lines ------------------------------------------------------------------------------

def test_cutting_the_database_then_the_broker_loses_and_duplicates_nothing(
        broker, to_db, to_broker, phones, namespace, workers) -> None:
    """The worker reaches PostgreSQL and the broker through proxies. Cut from PostgreSQL, it holds its
    batch unacknowledged and retries; cut from the broker, it reconnects and resumes its session.
    Messages are published all along."""
    since = datetime.now(UTC)
    db_proxy, db_url = to_db
    w = workers(config(to_broker.port, namespace, database_url=db_url))
    with Stream(broker, phones) as stream:
        wait_until(lambda: len(stored(phones)) >= 50, "fixes stored before the cut")
        db_proxy.cut()
        received = w.worker.received
        wait_until(lambda: db_proxy.refused >= 2, "the worker to retry the database")
        wait_until(lambda: w.worker.received >= received + 30, "messages received while the database is cut")
        before = len(stored(phones))
        db_proxy.restore()
        wait_until(lambda: len(stored(phones)) >= before + 50, "fixes stored after the database came back")

        to_broker.cut()
        wait_until(lambda: not w.worker.subscribed.is_set(), "the worker to notice the broker cut")
        stream.more(100, "messages published while the broker is cut")
        wait_until(lambda: to_broker.refused >= 1, "the worker to try the broker again")
        to_broker.restore()
        wait_until(w.worker.subscribed.is_set, "the worker to reconnect and subscribe")
        stream.more(100, "messages published after the broker came back")
        out = stream.stop()
    assert_exactly_once(phones, out, since)
    assert db_proxy.accepted >= 2 and to_broker.accepted >= 2  # it did connect again, through the proxies
    assert w.alive()


def test_a_batch_committed_but_never_acknowledged_is_delivered_again_and_written_once(
        broker, to_db, to_broker, phones, namespace, workers) -> None:
    """The crash between commit and acknowledgement, made to happen: the worker receives a batch while
    PostgreSQL is cut, loses the broker, then commits the batch when PostgreSQL returns; its
    acknowledgements cannot reach the broker, which delivers the batch again (DUP) on reconnection.
    The fixes and the dead letters of the batch are each written once."""
    since = datetime.now(UTC)
    db_proxy, db_url = to_db
    fixes = Fixes(phones, random.Random(5))
    out = Published()
    w = workers(config(to_broker.port, namespace, database_url=db_url))
    db_proxy.cut()
    client = publisher(broker)
    try:
        sent = []
        for i in range(60):
            phone = phones[i % 2]
            if i % 4 == 0:  # a fix out of range, beside a payload that is not UTF-8: a letter each
                topic = f"agents/{phone.agent_id}/gps"
                bad_fix = fixes.fix(phone) | {"lat": 91 + i}
                bad = [json.dumps({"device_id": phone.device_id, "fixes": [bad_fix]}).encode(),
                       b"\x80" + unique("not utf-8").encode()]
                out.letters.update([(topic, json.dumps(bad_fix).encode()), (topic, bad[1])])
                messages = [(topic, payload) for payload in bad]
            else:
                messages = [fixes.message(out)]
            for topic, payload in messages:
                out.topics.add(topic)
                sent.append(client.publish(topic, payload, qos=1))
        for info in sent:
            info.wait_for_publish(10)
        out.messages = len(sent)
        wait_until(lambda: w.worker.received == out.messages, "the worker to receive the whole batch")
        to_broker.cut()
        wait_until(lambda: not w.worker.subscribed.is_set(), "the worker to notice the broker cut")
        db_proxy.restore()
        assert_exactly_once(phones, out, since)  # committed while the broker is away...
        assert w.worker.written.fixes == len(out.fixes)
        to_broker.restore()
        wait_until(lambda: w.worker.received >= 2 * out.messages, "the broker to deliver the batch again")
        # ...and committed again, as a no-op, once delivered again: the batches are taken in order, so
        # once a later message is stored the redelivered ones have been.
        probe_topic, probe = fixes.message(out)
        client.publish(probe_topic, probe, qos=1).wait_for_publish(10)
        out.messages += 1
        assert_exactly_once(phones, out, since)
    finally:
        client.disconnect()
        client.loop_stop()
    assert w.worker.written.fixes == len(out.fixes)
    assert w.worker.written.dead_letters == sum(out.letters.values())
    assert w.alive()


# --- fuzzed malformed payloads ---------------------------------------------------------------------

@dataclass(frozen=True)
class Malformed:
    """A malformed message and the one dead letter it must leave: its payload (the whole message, or
    the one bad fix re-serialised), the kind of fault its reason starts with and a word it must name."""

    topic: str
    payload: bytes
    letter: bytes
    kind: RejectKind
    names: str
    kept: tuple[tuple[str, datetime], ...] = ()  # the valid fixes of the same message, which are stored


class Fuzzer:
    """Seeded malformed messages of every kind the ingest dead-letters, each unique (so that letters
    are counted one for one), and messages of the OwnTracks types that are ignored, not errors."""

    def __init__(self, rng: random.Random, phones: list[Phone], fixes: Fixes) -> None:
        self.rng = rng
        self.phones = phones
        self.fixes = fixes
        self.now = datetime.now(UTC)
        self.makers = [getattr(self, name) for name in dir(self) if name.startswith("_m_")]

    def next(self) -> Malformed:
        return self.rng.choice(self.makers)(self.rng.choice(self.phones))

    def _fix(self, phone: Phone, **changes) -> dict:
        fix = self.fixes.fix(phone) | changes
        return {k: v for k, v in fix.items() if v is not _DROP}

    def _bailiwick_fix(self, phone: Phone, bad: dict, kind: RejectKind, names: str, *, good: int = 0) -> Malformed:
        """A message whose one bad fix is dead-lettered, beside ``good`` valid fixes that are kept."""
        fixes = [self._fix(phone) for _ in range(good)]
        fixes.insert(self.rng.randint(0, good), bad)
        topic = f"agents/{phone.agent_id}/gps"
        return Malformed(topic, json.dumps({"device_id": phone.device_id, "fixes": fixes}).encode(),
                         json.dumps(bad).encode(), kind, names,
                         tuple((phone.device_id, datetime.fromisoformat(f["ts"])) for f in fixes if f is not bad))

    def _whole(self, topic: str, payload: bytes, kind: RejectKind, names: str) -> Malformed:
        return Malformed(topic, payload, payload, kind, names)

    # the Bailiwick form

    def _m_truncated(self, phone: Phone) -> Malformed:
        whole = json.dumps({"device_id": phone.device_id, "nonce": unique("n"),
                            "fixes": [self._fix(phone)]}).encode()
        cut = self.rng.randint(whole.index(b"nonce") + 20, len(whole) - 1)
        return self._whole(f"agents/{phone.agent_id}/gps", whole[:cut], RejectKind.malformed, "not JSON")

    def _m_not_utf8(self, phone: Phone) -> Malformed:
        text = json.dumps({"device_id": phone.device_id, "fixes": [self._fix(phone)], "note": "café £5"},
                          ensure_ascii=False)
        if self.rng.random() < 0.2:  # a valid message, in another encoding
            payload = text.encode(self.rng.choice(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"]))
        else:  # invalid bytes (an encoded surrogate among them) somewhere in it
            at = self.rng.randint(1, len(text) - 1)
            junk = self.rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80"])
            payload = text[:at].encode() + junk + text[at:].encode()
        return self._whole(f"agents/{phone.agent_id}/gps", payload, RejectKind.malformed, "not JSON")

    def _m_nan(self, phone: Phone) -> Malformed:
        field_, constant = self.rng.choice(["lat", "lon", "accuracy_m"]), self.rng.choice(
            ["NaN", "Infinity", "-Infinity"])
        fix = json.dumps(self._fix(phone, **{field_: 0.5})).replace(f'"{field_}": 0.5', f'"{field_}": {constant}')
        return self._whole(f"agents/{phone.agent_id}/gps",
                           f'{{"device_id": "{phone.device_id}", "fixes": [{fix}]}}'.encode(),
                           RejectKind.malformed, constant)

    def _m_overflowing_number(self, phone: Phone) -> Malformed:
        # 1e400 reads as infinity, which the form refuses.
        field_ = self.rng.choice(["lat", "lon", "speed_mps"])
        bad = self._fix(phone, **{field_: float("inf")})
        m = self._bailiwick_fix(phone, bad, RejectKind.malformed, f".{field_}", good=self.rng.randint(0, 2))
        return Malformed(m.topic, m.payload.replace(b"Infinity", b"1e400"), m.letter, m.kind, m.names, m.kept)

    def _m_huge_numbers(self, phone: Phone) -> Malformed:
        field_, value, kind, names = self.rng.choice([
            ("lat", 1e300, RejectKind.out_of_range, "lat 1e+300"),
            ("lon", -1e19, RejectKind.out_of_range, "lon -1e+19"),
            ("accuracy_m", 1e12, RejectKind.inaccurate, "accuracy"),
            ("battery_pct", 10**20, RejectKind.malformed, "battery_pct"),
            ("heading_deg", 1e9, RejectKind.malformed, "heading_deg"),
        ])
        return self._bailiwick_fix(phone, self._fix(phone, **{field_: value}), kind, names,
                                   good=self.rng.randint(0, 2))

    def _m_wrong_type(self, phone: Phone) -> Malformed:
        field_ = self.rng.choice(["ts", "lat", "lon", "accuracy_m", "battery_pct"])
        value = self.rng.choice(["north", [], {"deg": 50}, "", "1.2.3"] + ([None] if field_ in "tslatlon" else []))
        if field_ == "ts":
            value = self.rng.choice([1765101540, "yesterday", "2026-12-07T09:59:00", None, []])
        return self._bailiwick_fix(phone, self._fix(phone, **{field_: value}), RejectKind.malformed,
                                   f".{field_}", good=self.rng.randint(0, 2))

    def _m_missing_field(self, phone: Phone) -> Malformed:
        field_ = self.rng.choice(["ts", "lat", "lon"])
        return self._bailiwick_fix(phone, self._fix(phone, **{field_: _DROP}), RejectKind.malformed,
                                   f".{field_}", good=self.rng.randint(0, 2))

    def _m_bad_envelope(self, phone: Phone) -> Malformed:
        nonce = unique("n")
        body, names = self.rng.choice([
            ({"fixes": [self._fix(phone)], "nonce": nonce}, "device_id"),
            ({"device_id": 12345, "fixes": [self._fix(phone)], "nonce": nonce}, "device_id"),
            ({"device_id": phone.device_id, "fixes": [], "nonce": nonce}, "fixes"),
            ({"device_id": phone.device_id, "fixes": {"0": self._fix(phone)}, "nonce": nonce}, "fixes"),
            ({"device_id": phone.device_id, "nonce": nonce}, "fixes"),
            ({"device_id": "x" * 65, "fixes": [self._fix(phone)], "nonce": nonce}, "device_id"),
            ([phone.device_id, nonce], "payload"),
            (nonce, "payload"),
        ])
        return self._whole(f"agents/{phone.agent_id}/gps", json.dumps(body).encode(), RejectKind.malformed, names)

    def _m_wrong_topic(self, phone: Phone) -> Malformed:
        other = next(p for p in self.phones if p != phone)
        payload = json.dumps({"device_id": phone.device_id, "fixes": [self._fix(phone)]}).encode()
        if self.rng.random() < 0.5:  # another agent's topic
            return self._whole(f"agents/{other.agent_id}/gps", payload, RejectKind.topic_mismatch,
                               f"belongs to agent {phone.agent_id}")
        word = unique(self.rng.choice(["me", "A7", "-1", "seven", "7x"]))  # unique: letters are counted by topic
        return self._whole(f"agents/{word}/gps", payload, RejectKind.topic_mismatch, f"'{word}'")

    def _m_unknown_device(self, phone: Phone) -> Malformed:
        stranger = unique("stranger")
        payload = json.dumps({"device_id": stranger, "fixes": [self._fix(phone)]}).encode()
        return self._whole(f"agents/{phone.agent_id}/gps", payload, RejectKind.unknown_device, stranger)

    def _m_out_of_range(self, phone: Phone) -> Malformed:
        lat, lon, names = self.rng.choice([
            (self.rng.uniform(90.0001, 1000), 0.5, "lat"), (self.rng.uniform(-1000, -90.0001), 0.5, "lat"),
            (51.5, self.rng.uniform(180.0001, 1000), "lon"), (51.5, self.rng.uniform(-1000, -180.0001), "lon")])
        return self._bailiwick_fix(phone, self._fix(phone, lat=lat, lon=lon), RejectKind.out_of_range, names,
                                   good=self.rng.randint(0, 2))

    def _m_future(self, phone: Phone) -> Malformed:
        ts = self.now + timedelta(hours=self.rng.uniform(24.5, 24 * 3650), microseconds=self.rng.randint(0, 10**6))
        return self._bailiwick_fix(phone, self._fix(phone, ts=ts.isoformat()), RejectKind.future, "ts",
                                   good=self.rng.randint(0, 2))

    def _m_too_old(self, phone: Phone) -> Malformed:
        ts = self.now - timedelta(days=self.rng.uniform(91, 3650), microseconds=self.rng.randint(0, 10**6))
        return self._bailiwick_fix(phone, self._fix(phone, ts=ts.isoformat()), RejectKind.too_old, "90 days",
                                   good=self.rng.randint(0, 2))

    def _m_inaccurate(self, phone: Phone) -> Malformed:
        accuracy = round(self.rng.uniform(500.5, 50000), 3)
        return self._bailiwick_fix(phone, self._fix(phone, accuracy_m=accuracy), RejectKind.inaccurate,
                                   f"accuracy {accuracy:g} m", good=self.rng.randint(0, 2))

    # OwnTracks

    def _owntracks(self, phone: Phone, **changes) -> dict:
        location = {"_type": "location", "tst": int(self.fixes._ts(phone).timestamp()), "lat": 51.5,
                    "lon": -0.12, "acc": 9, "batt": 70, "tid": "ph", "nonce": unique("n")} | changes
        return {k: v for k, v in location.items() if v is not _DROP}

    def _m_owntracks_odd_type(self, phone: Phone) -> Malformed:
        value = self.rng.choice([_DROP, None, 5, ["location"], {"t": "location"}])
        return self._whole(f"owntracks/{phone.device_id}/phone",
                           json.dumps(self._owntracks(phone, _type=value)).encode(), RejectKind.malformed, "_type")

    def _m_owntracks_not_an_object(self, phone: Phone) -> Malformed:
        body = self.rng.choice([[unique("n")], unique("n"), self.rng.randint(0, 10**9)])
        return self._whole(f"owntracks/{phone.device_id}/phone", json.dumps(body).encode(),
                           RejectKind.malformed, "_type")

    def _m_owntracks_bad_field(self, phone: Phone) -> Malformed:
        field_, value = self.rng.choice([("tst", "1765101540"), ("tst", 1.5e9), ("tst", _DROP), ("lat", "x"),
                                         ("lon", _DROP), ("lat", None), ("acc", -3), ("tst", 10**30)])
        return self._whole(f"owntracks/{phone.device_id}/phone",
                           json.dumps(self._owntracks(phone, **{field_: value})).encode(), RejectKind.malformed,
                           field_)

    def _m_owntracks_out_of_range(self, phone: Phone) -> Malformed:
        return self._whole(f"owntracks/{phone.device_id}/phone",
                           json.dumps(self._owntracks(phone, lat=self.rng.uniform(91, 180))).encode(),
                           RejectKind.out_of_range, "lat")

    def _m_owntracks_topic_mismatch(self, phone: Phone) -> Malformed:
        other = next(p for p in self.phones if p != phone)
        return self._whole(f"owntracks/{phone.device_id}/phone",
                           json.dumps(self._owntracks(phone, topic=f"owntracks/{other.device_id}/phone")).encode(),
                           RejectKind.topic_mismatch, other.device_id)

    def _m_owntracks_unknown_device(self, phone: Phone) -> Malformed:
        stranger = unique("stranger")
        return self._whole(f"owntracks/{stranger}/phone", json.dumps(self._owntracks(phone)).encode(),
                           RejectKind.unknown_device, stranger)

    def _m_owntracks_truncated(self, phone: Phone) -> Malformed:
        whole = json.dumps(self._owntracks(phone)).encode()
        return self._whole(f"owntracks/{phone.device_id}/phone", whole[:self.rng.randint(whole.index(b"nonce") + 10,
                                                                                         len(whole) - 1)],
                           RejectKind.malformed, "not JSON")

    def ignored(self, phone: Phone) -> tuple[str, bytes]:
        """An OwnTracks message that is not a fix (``lwt``, ``waypoints``, …): neither stored nor an error."""
        kind = self.rng.choice(["lwt", "waypoints", "card", "status", "encrypted", "cmd", "steps", "x-unknown"])
        return f"owntracks/{phone.device_id}/phone", json.dumps({"_type": kind, "nonce": unique("n")}).encode()


_DROP = object()  # a field to leave out


def test_1000_fuzzed_malformed_payloads_are_dead_lettered_and_every_valid_fix_is_stored(
        broker, phones, namespace, workers) -> None:
    """R-GPS ingest, bad input: malformed payloads of every kind interleaved with valid messages and
    with OwnTracks messages that are not fixes. Each malformed one leaves exactly one dead letter whose
    reason starts with its kind and names the fault; every valid fix is stored (those beside a bad fix
    in the same message too); nothing else is stored or dead-lettered; the worker keeps running."""
    since = datetime.now(UTC)
    rng = random.Random(20261207)
    fixes = Fixes(phones, rng)
    fuzzer = Fuzzer(rng, phones, fixes)
    w = workers(config(broker, namespace))
    out, expected = Published(), []
    client = publisher(broker)
    try:
        sent = []
        while len(expected) < 1000:
            roll = rng.random()
            if roll < 0.6:
                bad = fuzzer.next()
                expected.append(bad)
                topic, payload = bad.topic, bad.payload
                out.fixes.update(bad.kept)
                out.letters[(bad.topic, bad.letter)] += 1
            elif roll < 0.65:
                topic, payload = fuzzer.ignored(rng.choice(phones))
            else:
                topic, payload = fixes.message(out)
            out.topics.add(topic)
            sent.append(client.publish(topic, payload, qos=1))
        for info in sent:
            info.wait_for_publish(20)
        out.messages = len(sent)
        assert_exactly_once(phones, out, since)
        # Still running: a fix published after all that is stored too.
        topic, payload = fixes.message(out)
        client.publish(topic, payload, qos=1).wait_for_publish(10)
        assert_exactly_once(phones, out, since)
    finally:
        client.disconnect()
        client.loop_stop()
    assert w.alive()
    reasons = {(t, p): r for t, p, r in letters(out.topics, since)}
    for bad in expected:
        reason = reasons[(bad.topic, bad.letter)]
        assert reason.startswith(f"{bad.kind}: "), (bad, reason)
        assert bad.names in reason, (bad, reason)
    assert {bad.kind for bad in expected} == set(RejectKind)
