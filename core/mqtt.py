"""MQTT plumbing shared by every package that talks to the broker: the ``BAILIWICK_MQTT_URL`` parsed
once, and MQTT v5 clients built the same way everywhere."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from core.settings import get_settings


class PublishError(ConnectionError):
    """The broker could not be reached, refused the connection, or did not acknowledge a message."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def broker_address(url: str | None = None) -> BrokerAddress:
    """Parse ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS, default port 8883)."""
    parts = urlsplit(url or get_settings().mqtt_url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"BAILIWICK_MQTT_URL must look like mqtt://host:port, got {url!r}")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def new_client(client_id: str = "", address: BrokerAddress | None = None) -> mqtt.Client:
    """An MQTT v5 client configured for ``address`` (credentials, TLS), not yet connected."""
    address = address or broker_address()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    return client


def connect(address: BrokerAddress | None = None, timeout: float = 2.0, keepalive: int = 30) -> mqtt.Client:
    """A client connected to the broker, its network loop running, once the broker's CONNACK accepted
    it; ``ConnectionError`` with the reason if the broker cannot be reached, does not answer within
    ``timeout`` seconds or refuses."""
    address = address or broker_address()
    client = new_client(address=address)
    answered = threading.Event()
    outcome: dict[str, object] = {}

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        outcome["reason"] = reason_code
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(address.host, address.port, keepalive=keepalive)
    except OSError as exc:
        raise ConnectionError(f"cannot reach {address.host}:{address.port}: {exc}") from exc
    client.loop_start()
    problem = None
    if not answered.wait(timeout):
        problem = f"no CONNACK from {address.host}:{address.port} within {timeout:g}s"
    elif outcome["reason"].is_failure:
        problem = f"broker refused the connection: {outcome['reason']}"
    if problem is not None:
        client.disconnect()
        client.loop_stop()
        raise ConnectionError(problem)
    return client


def ping_broker(url: str | None = None, timeout: float = 2.0) -> None:
    """Connect and wait for the broker's CONNACK; raise ``ConnectionError`` with the reason if none
    arrives or the broker refuses."""
    client = connect(broker_address(url), timeout=timeout, keepalive=10)
    client.disconnect()
    client.loop_stop()


def publish_acked(client: mqtt.Client, messages: Sequence[tuple[str, str | bytes, int]], *, retain: bool = False,
                  timeout_s: float = 10.0) -> list[str | None]:
    """Publish each (topic, payload, QoS) of ``messages`` on ``client`` (connected, its network loop
    running) and wait for every acknowledgement: for each message, None once the broker took it, else
    why not (not sent, no PUBACK within ``timeout_s``, refused by the broker). All are sent before any
    is waited for, so a batch costs one round trip, not one per message."""
    refused: dict[int, object] = {}
    chained = client.on_publish

    def on_publish(c, userdata, mid, reason_code, properties):
        if reason_code.is_failure:
            refused[mid] = reason_code
        if chained is not None:
            chained(c, userdata, mid, reason_code, properties)

    client.on_publish = on_publish
    problems: list[str | None] = []
    try:
        sent = [(topic, client.publish(topic, payload, qos=qos, retain=retain)) for topic, payload, qos in messages]
        deadline = time.monotonic() + timeout_s  # one deadline for the batch, not one per message
        for topic, info in sent:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                problems.append(f"{topic}: not sent: {exc}")
                continue
            if not info.is_published():
                problems.append(f"{topic}: no PUBACK within {timeout_s:g}s")
            elif info.mid in refused:
                problems.append(f"{topic}: the broker refused it: {refused[info.mid]}")
            else:
                problems.append(None)
    finally:
        client.on_publish = chained
    return problems
