"""The files ``bailiwick broker config`` writes, enforced by a real Mosquitto started here on a spare
port: each device is let in with its own secret and reaches only its own topics; the service user of
the platform's workers reads them all, through a shared subscription too."""
from __future__ import annotations

import getpass
import queue
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from cli import app
from core import get_settings, session_scope
from core.devices import SERVICE_SECRET_FILE, DeviceError, DeviceRow, ServiceUser, broker_files, service_user
from core.models import Agent, Device, Subcontractor, Van
from core.mqtt import BrokerAddress, connect, ping_broker
from core.security import verify_device_secret
from core.settings import Settings
from tests.case_world import make_agent
from tests.helpers import free_port, private_broker, unique

NOT_AUTHORIZED = 135  # MQTT v5 reason code 0x87
ACCEPTED = {0, 16}  # success, and "no matching subscribers" (also a success: the broker took it)
QUIET_S = 1.0  # how long "nothing arrives" is watched for
runner = CliRunner()


@dataclass(frozen=True)
class World:
    port: int
    service: tuple[str, str]
    phone: tuple[str, str]  # (device id, secret) of agent A's phone
    other_phone: tuple[str, str]  # agent B's phone
    van: tuple[str, str]
    agent_a: int
    agent_b: int
    van_id: int
    other_van_id: int


class Client:
    """A connected MQTT v5 client that records what it receives and the broker's reason codes."""

    def __init__(self, port: int, username: str, secret: str):
        self.received: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.acks: dict[int, tuple[threading.Event, list]] = {}
        self.client = connect(BrokerAddress("127.0.0.1", port, username, secret), timeout=3)
        self.client.on_message = lambda _c, _u, m: self.received.put((m.topic, m.payload, bool(m.retain)))
        self.client.on_publish = self._acked
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self._acked(_c, _u, mid, codes, _p)

    def _acked(self, _client, _userdata, mid, reason, _properties) -> None:
        self.acks.setdefault(mid, (threading.Event(), []))
        self.acks[mid][1].append(reason)
        self.acks[mid][0].set()

    def _wait(self, mid: int):
        self.acks.setdefault(mid, (threading.Event(), []))
        assert self.acks[mid][0].wait(3), f"no acknowledgement of message {mid}"
        return self.acks[mid][1][0]

    def subscribe(self, topic: str) -> int:
        """The SUBACK's reason code for ``topic`` (a granted QoS, or a failure code)."""
        _, mid = self.client.subscribe(topic, qos=1)
        [code] = self._wait(mid)
        return code.value

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """The PUBACK's reason code of a QoS 1 publish."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        return self._wait(info.mid).value

    def expect(self, topic: str, payload: bytes, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self.received.get(timeout=left)
            except queue.Empty:
                break
            if got[:2] == (topic, payload):
                return
        raise AssertionError(f"{payload!r} never arrived on {topic}")

    def nothing(self, wait: float = QUIET_S) -> list[tuple[str, bytes, bool]]:
        time.sleep(wait)
        got = []
        while not self.received.empty():
            got.append(self.received.get_nowait())
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _add_device(device_id: str, *owner: str) -> str:
    result = runner.invoke(app, ["device", "add", "--device-id", device_id, *owner])
    assert result.exit_code == 0, result.output
    return next(line.split(": ", 1)[1] for line in result.output.splitlines() if line.startswith("secret: "))


@pytest.fixture
def world(migrated, tmp_path, monkeypatch):
    """Two agents with a phone each and two vans (one with a device), the broker files written by the
    real command, and Mosquitto enforcing them; all removed after."""
    with session_scope() as db:
        a, b = make_agent(db), make_agent(db)
        vans = [Van(reference=unique("van"), vrm=uuid.uuid4().hex[:7].upper(), subcontractor_id=a.subcontractor_id)
                for _ in range(2)]
        db.add_all(vans)
        db.flush()
        refs = (a.reference, b.reference, vans[0].reference)
        ids = (a.id, b.id, vans[0].id, vans[1].id)
        firms = (a.subcontractor_id, b.subcontractor_id)
    phone, other_phone, van = unique("phone"), unique("phone"), unique("van-unit")
    port, service = free_port(), ("svc-" + uuid.uuid4().hex[:6], uuid.uuid4().hex)
    monkeypatch.setenv("BAILIWICK_MQTT_URL", f"mqtt://{service[0]}:{service[1]}@127.0.0.1:{port}")
    get_settings.cache_clear()
    try:
        secrets_of = {phone: _add_device(phone, "--agent", refs[0]),
                      other_phone: _add_device(other_phone, "--agent", refs[1]),
                      van: _add_device(van, "--van", refs[2])}
        files = tmp_path / "broker"
        result = runner.invoke(app, ["broker", "config", "--out", str(files)])
        assert result.exit_code == 0, result.output
        # Run as ourselves: started as root, Mosquitto would drop to its own user and lose the files.
        conf = (f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
                f"persistence false\npassword_file {files / 'passwd'}\nacl_file {files / 'acl'}\n")
        with private_broker(tmp_path, lambda _port: conf, port=port, login=f"{service[0]}:{service[1]}"):
            yield World(port=port, service=service, phone=(phone, secrets_of[phone]),
                        other_phone=(other_phone, secrets_of[other_phone]), van=(van, secrets_of[van]),
                        agent_a=ids[0], agent_b=ids[1], van_id=ids[2], other_van_id=ids[3])
    finally:
        get_settings.cache_clear()
        with session_scope() as db:
            db.execute(delete(Device).where(Device.device_id.in_([phone, other_phone, van])))
            db.execute(delete(Van).where(Van.id.in_(ids[2:])))
            db.execute(delete(Agent).where(Agent.id.in_(ids[:2])))
            db.execute(delete(Subcontractor).where(Subcontractor.id.in_(firms)))


@pytest.fixture
def clients(world):
    opened: list[Client] = []

    def open_(who: tuple[str, str]) -> Client:
        opened.append(Client(world.port, *who))
        return opened[-1]

    yield open_
    for c in opened:
        c.close()


def test_the_files_are_private_and_hold_only_hashes(world, tmp_path):
    for name in ("passwd", "acl"):
        mode = (tmp_path / "broker" / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600, name
    passwd = dict(line.split(":", 1) for line in (tmp_path / "broker" / "passwd").read_text().splitlines())
    assert verify_device_secret(world.phone[1], passwd[world.phone[0]])
    assert verify_device_secret(world.service[1], passwd[world.service[0]])
    assert world.phone[1] not in (tmp_path / "broker" / "passwd").read_text()
    assert not [p for p in (tmp_path / "broker").iterdir() if p.name not in ("passwd", "acl")]  # no temp left


def test_a_phone_publishes_as_itself_and_the_service_user_receives_it(world, clients):
    service = clients(world.service)
    # The ingest workers' shared subscriptions: the ACL is checked against the filter after $share/….
    assert service.subscribe("$share/tracking/agents/+/gps") == 1
    assert service.subscribe("$share/tracking/owntracks/+/+") == 1
    phone = clients(world.phone)
    assert phone.publish(f"agents/{world.agent_a}/gps", b"fix-a") == 0
    service.expect(f"agents/{world.agent_a}/gps", b"fix-a")
    assert phone.publish(f"owntracks/{world.phone[0]}/iphone", b"owntracks-a") == 0
    service.expect(f"owntracks/{world.phone[0]}/iphone", b"owntracks-a")


def test_a_phone_cannot_publish_as_another_agent_or_device(world, clients):
    service = clients(world.service)
    assert service.subscribe("agents/#") == 1
    assert service.subscribe("owntracks/#") == 1
    assert service.subscribe("vans/#") == 1
    phone = clients(world.phone)
    for topic in (f"agents/{world.agent_b}/gps", f"owntracks/{world.other_phone[0]}/iphone",
                  f"agents/{world.agent_a}/plan", f"vans/{world.van_id}/anpr"):
        assert phone.publish(topic, b"forged") == NOT_AUTHORIZED, topic
    assert service.nothing() == []


def test_a_phone_reads_its_own_plan_but_not_another_agents(world, clients):
    service = clients(world.service)
    mine, theirs = f"agents/{world.agent_a}/plan", f"agents/{world.agent_b}/plan"
    their_cmd = f"owntracks/{world.other_phone[0]}/iphone/cmd"
    try:
        assert service.publish(mine, b"plan-a", retain=True) in ACCEPTED
        assert service.publish(theirs, b"plan-b", retain=True) in ACCEPTED
        phone = clients(world.phone)
        # Mosquitto 2.0 grants a SUBSCRIBE the ACL does not allow reading (newer brokers answer 135)
        # and then delivers nothing on it: what counts is that nothing arrives, retained or live.
        for topic in (theirs, f"agents/{world.agent_b}/alerts", their_cmd, "agents/#"):
            assert phone.subscribe(topic) in (1, NOT_AUTHORIZED), topic
        assert service.publish(theirs, b"plan-b2") in ACCEPTED
        assert service.publish(their_cmd, b"cmd-b") in ACCEPTED
        # Through "agents/#" the broker hands over the phone's own retained plan, and nothing else.
        assert phone.nothing() == [(mine, b"plan-a", True)]

        assert phone.subscribe(mine) == 1
        phone.expect(mine, b"plan-a")
        for topic, payload in ((f"agents/{world.agent_a}/alerts", b"alert-a"),
                               (f"owntracks/{world.phone[0]}/iphone/cmd", b"cmd-a")):
            assert phone.subscribe(topic) == 1
            assert service.publish(topic, payload) in ACCEPTED
            phone.expect(topic, payload)
    finally:
        for topic in (mine, theirs):
            service.publish(topic, b"", retain=True)


def test_a_van_publishes_only_its_own_anpr(world, clients):
    service = clients(world.service)
    assert service.subscribe("$share/anpr/vans/+/anpr") == 1
    assert service.subscribe("agents/#") == 1
    van = clients(world.van)
    assert van.publish(f"vans/{world.van_id}/anpr", b"read-1") == 0
    service.expect(f"vans/{world.van_id}/anpr", b"read-1")
    for topic in (f"vans/{world.other_van_id}/anpr", f"agents/{world.agent_a}/gps"):
        assert van.publish(topic, b"forged") == NOT_AUTHORIZED, topic
    assert service.nothing() == []
    assert van.subscribe(f"agents/{world.agent_a}/plan") in (1, NOT_AUTHORIZED)
    assert service.publish(f"agents/{world.agent_a}/plan", b"not for vans") in ACCEPTED
    assert van.nothing() == []


def test_a_wrong_password_or_no_password_is_refused_at_connect(world):
    for url in (f"mqtt://{world.phone[0]}:{world.other_phone[1]}@127.0.0.1:{world.port}",
                f"mqtt://{world.service[0]}:wrong@127.0.0.1:{world.port}",
                f"mqtt://{unique('stranger')}:{world.phone[1]}@127.0.0.1:{world.port}",
                f"mqtt://127.0.0.1:{world.port}"):
        with pytest.raises(ConnectionError, match="refused"):
            ping_broker(url)


def test_the_service_secret_comes_from_the_mqtt_url_else_is_generated_once(tmp_path):
    from_url = service_user(Settings(mqtt_url="mqtt://workers:s%40lt@broker:1883", secrets_dir=tmp_path))
    assert (from_url.username, from_url.secret) == ("workers", "s@lt")
    assert not (tmp_path / SERVICE_SECRET_FILE).exists()

    settings = Settings(mqtt_url="mqtt://broker:1883", secrets_dir=tmp_path / "secrets")
    first, again = service_user(settings), service_user(settings)
    assert first == again and first.username == "bailiwick" and len(first.secret) >= 40
    assert stat.S_IMODE((tmp_path / "secrets" / SERVICE_SECRET_FILE).stat().st_mode) == 0o600


def _row(device_id: str, kind: str = "phone", active: bool = True) -> DeviceRow:
    return DeviceRow(device_id=device_id, kind=kind, owner_reference="A0001", owner_id=7, active=active,
                     created_at=datetime.now(UTC), credential_hash="$7$101$c2FsdA==$ZGlnZXN0")


def test_inactive_devices_are_left_out_and_a_device_named_like_the_service_user_is_refused():
    service = ServiceUser("bailiwick", "s3cret")
    files = broker_files([_row("P1"), _row("P2", active=False), _row("V1", kind="van")], service)
    assert [line.split(":")[0] for line in files.passwd.splitlines()] == ["bailiwick", "P1", "V1"]
    assert "user P2" not in files.acl and files.devices == 2
    assert "topic write vans/7/anpr" in files.acl.split("user V1", 1)[1]
    with pytest.raises(DeviceError, match="device-id: 'bailiwick' is the service user"):
        broker_files([_row("bailiwick")], service)


def test_broker_config_refuses_an_out_path_that_is_a_file(tmp_path, migrated):
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["broker", "config", "--out", str(tmp_path / "file")])
    assert result.exit_code == 2 and "out:" in result.output
