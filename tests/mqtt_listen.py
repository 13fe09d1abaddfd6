"""Listening to the real broker in tests (not fixtures): collect what arrives on some topics, and clear
the retained messages a test left behind."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt

from core.mqtt import connect


class Listener:
    def __init__(self) -> None:
        self.messages: dict[str, list[tuple[dict[str, Any] | None, bool]]] = {}
        self.arrived = threading.Condition()

    def on_message(self, _client, _userdata, message) -> None:
        payload = json.loads(message.payload) if message.payload else None
        with self.arrived:
            self.messages.setdefault(message.topic, []).append((payload, bool(message.retain)))
            self.arrived.notify_all()

    def live(self) -> dict[str, list[dict[str, Any] | None]]:
        """What was published while listening (retained messages from before left out)."""
        with self.arrived:
            return {t: [p for p, retained in ms if not retained] for t, ms in self.messages.items()
                    if any(not retained for _, retained in ms)}

    def wait_for(self, topics: Iterable[str], timeout_s: float = 5.0,
                 retained: bool = False) -> dict[str, dict[str, Any] | None]:
        """The latest payload on each of ``topics`` once every one has had a message published while
        listening (or, with ``retained``, any message, a retained one included)."""
        wanted = set(topics)
        deadline = time.monotonic() + timeout_s

        def latest() -> dict[str, dict[str, Any] | None]:
            found = {t: [p for p, r in self.messages.get(t, ()) if retained or not r] for t in wanted}
            return {t: ps[-1] for t, ps in found.items() if ps}

        with self.arrived:
            while len(got := latest()) < len(wanted):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing on {sorted(wanted - got.keys())} within {timeout_s}s")
                self.arrived.wait(left)
            return got


@contextmanager
def connected() -> Iterator[mqtt.Client]:
    """A client connected to ``BAILIWICK_MQTT_URL`` (CONNACK received), its loop running."""
    client = connect(timeout=5)
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


@contextmanager
def listening(topics: Iterable[str]) -> Iterator[Listener]:
    """Subscribed (QoS 1) to ``topics`` for the body; retained messages arrive first."""
    listener = Listener()
    subscribed = threading.Event()
    with connected() as client:
        client.on_message = listener.on_message
        client.on_subscribe = lambda *_args: subscribed.set()
        client.subscribe([(t, 1) for t in topics])
        assert subscribed.wait(5), "no SUBACK"
        yield listener


def clear_retained(topics: Iterable[str]) -> None:
    """An empty retained message removes the retained one (MQTT v5 §3.3.1.3)."""
    with connected() as client:
        for info in [client.publish(t, b"", qos=1, retain=True) for t in topics]:
            info.wait_for_publish(5)
