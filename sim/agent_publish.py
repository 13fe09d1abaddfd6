"""Publishing simulated devices' messages over real MQTT (QoS 1), in the order and at the pace they were
sent: ``speed`` times real time, or as fast as the broker takes them (``speed=None``); the fixes keep
their original timestamps either way. Phones share the connection of ``BAILIWICK_MQTT_URL``; devices
given their secrets (vans) each sign in as themselves. And the ground truth written beside them as CSV."""
from __future__ import annotations

import csv
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geodata
from core import LONDON, broker_address, new_mqtt_client
from sim.agent_day import AgentDay, Message

# Messages in flight before the publisher waits for the broker's PUBACKs (bounded memory, and a
# broker that is slower than the publisher slows it down instead of losing messages).
WINDOW = 500

TRUTH_COLUMNS = ["agent_id", "device_id", "mode", "form", "kind", "case_id", "arrival", "departure", "dwell_s",
                 "lat", "lon"]


def _connect(mqtt_url: str | None, timeout: float = 10.0, login: tuple[str, str] | None = None):
    """A connected client with a wide in-flight window (paho's default of 20 unacknowledged QoS 1
    messages would pace a replay by the round trip), signed in as ``login`` (username, password) when
    given; ``ConnectionError`` when the broker does not accept it within ``timeout``."""
    address = broker_address(mqtt_url)
    if login is not None:
        address = dataclasses.replace(address, username=login[0], password=login[1])
    client = new_mqtt_client(address=address)
    client.max_inflight_messages_set(WINDOW)
    answered = threading.Event()
    outcome = {}

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        outcome["reason"] = reason_code
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise ConnectionError(f"cannot reach {address.host}:{address.port}: {exc}") from exc
    client.loop_start()
    if not answered.wait(timeout) or outcome["reason"].is_failure:
        client.loop_stop()
        raise ConnectionError(f"{address.host}:{address.port} did not accept the connection: "
                              f"{outcome.get('reason', 'no CONNACK')}")
    return client


def publish_messages(messages: Sequence[Message], *, speed: float | None, mqtt_url: str | None = None,
                     advance: Callable[[int], None] = lambda n: None,
                     secrets: Mapping[str, str] | None = None) -> int:
    """Publish ``messages`` (sorted by ``at``) with QoS 1; returns how many. ``advance`` is told each
    one published (a progress bar). With ``secrets`` (device_id → secret), each message goes out on
    its own device's connection, as the broker's ACL wants of a device in production."""
    if not messages:
        return 0
    if secrets is None:
        shared = _connect(mqtt_url)
        clients = {m.device_id: shared for m in messages}
    else:
        clients = {}
        try:
            for device_id in dict.fromkeys(m.device_id for m in messages):
                if device_id is None or device_id not in secrets:
                    raise ConnectionError(f"no secret for device {device_id!r}")
                clients[device_id] = _connect(mqtt_url, login=(device_id, secrets[device_id]))
        except ConnectionError:
            _disconnect(set(clients.values()))
            raise
    try:
        wall0, sim0 = time.monotonic(), messages[0].at
        pending = []
        for m in messages:
            if speed is not None:
                due = wall0 + (m.at - sim0).total_seconds() / speed
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            pending.append(clients[m.device_id].publish(m.topic, m.payload, qos=1))
            if len(pending) >= WINDOW:
                for info in pending:
                    info.wait_for_publish(60)
                pending.clear()
            advance(1)
        for info in pending:
            info.wait_for_publish(60)
    finally:
        _disconnect(set(clients.values()))
    return len(messages)


def _disconnect(clients) -> None:
    for client in clients:
        client.disconnect()
        client.loop_stop()


def _when(t) -> str:
    return t.astimezone(LONDON).isoformat(timespec="seconds")


def truth_rows(days: Sequence[AgentDay]) -> list[list]:
    rows = []
    for d in days:
        for s in d.truth:
            lon, lat = geodata.to_wgs84(s.x, s.y)
            rows.append([d.plan.agent_id, d.plan.device_id, d.profile.mode, d.profile.form, s.kind,
                         "" if s.case_id is None else s.case_id, _when(s.arrival), _when(s.departure),
                         round(s.dwell_s), f"{lat:.6f}", f"{lon:.6f}"])
    return rows


def write_truth(days: Sequence[AgentDay], path: Path) -> int:
    """The ground truth of ``days`` as CSV (``TRUTH_COLUMNS``; times in ISO 8601 with their London
    offset, to the second); returns the number of stops written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = truth_rows(days)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(TRUTH_COLUMNS)
        w.writerows(rows)
    return len(rows)
