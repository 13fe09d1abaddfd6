"""Small helpers shared by tests (not fixtures)."""
from __future__ import annotations

import getpass
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import paho.mqtt.client as mqtt

from core import BatchWorker, connect_mqtt, ping_broker

W = TypeVar("W", bound=BatchWorker)


def unique(prefix: str) -> str:
    """A name no earlier run left behind: the test database persists between runs."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PASSWORD = "correct horse battery"


def bearer(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for ``username``, through the real token route."""
    r = client.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Every host name fails to resolve at once, so the pages draw offline. Left to the network, a tile
# request that hangs (a firewall dropping packets) pauses --virtual-time-budget's clock, and Chromium
# never finishes: CI timed out that way twice on the capacity map's screenshot.
_OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND"


def browser_dom(page: str, workdir: Path) -> str:
    """The DOM of the HTML ``page`` after headless Chromium ran its scripts (``make test`` installs
    Chromium; callers skip when ``CHROMIUM`` is None)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "page.html"
    path.write_text(page)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", _OFFLINE, f"--user-data-dir={workdir / 'profile'}",
         "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=90, check=True).stdout


# Records any uncaught script error on the page's root element, where --dump-dom shows it.
_CATCH_ERRORS = ("<script>window.addEventListener('error', function (e) { var r = document.documentElement;"
                 " r.setAttribute('data-js-errors', (r.getAttribute('data-js-errors') || '') + e.message + ';'); });"
                 "</script>")


def browser_check(page: str, workdir: Path, screenshot: str) -> str:
    """Open the HTML ``page`` in headless Chromium: fail on any JavaScript error or when Leaflet drew
    no map, save a screenshot as ``workdir/screenshot``, and return the DOM the scripts built (for the
    caller's marker checks)."""
    dom = browser_dom(page.replace("<head>", "<head>" + _CATCH_ERRORS, 1), workdir)
    errors = re.search(r'data-js-errors="([^"]*)"', dom)
    assert errors is None, f"JavaScript errors: {errors.group(1)}"
    assert re.search(r'class="[^"]*\bleaflet-container\b', dom), "Leaflet drew no map"
    shot = workdir / screenshot
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    # A profile of its own: the DOM run's Chromium may still hold its profile's lock as it exits,
                    # and a second Chromium on a locked profile can hang (one CI run timed out here).
                    "--no-first-run", _OFFLINE, f"--user-data-dir={workdir / 'profile-shot'}",
                    "--window-size=1200,800",
                    "--virtual-time-budget=3000", f"--screenshot={shot}", (workdir / "page.html").as_uri()],
                   capture_output=True, timeout=90, check=True)
    assert shot.stat().st_size > 10_000, "the screenshot is blank"
    return dom


@contextmanager
def running(worker: W) -> Iterator[W]:
    """An ingest worker (``core.BatchWorker``) run in a thread until it has subscribed; stopped, and
    checked stopped, afterwards."""
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    assert worker.subscribed.wait(15), "the worker did not subscribe"
    try:
        yield worker
    finally:
        worker.stopping.set()
        thread.join(15)
    assert not thread.is_alive()


@contextmanager
def publisher() -> Iterator[mqtt.Client]:
    """A client connected to the broker, to publish as a device would; disconnected afterwards."""
    client = connect_mqtt()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def private_broker_conf(port: int) -> str:
    """A Mosquitto configuration for a broker of a test's own on ``port``: anonymous, in memory, and
    with queues as deep as a deployment's (scripts/mosquitto.conf), so that nothing published while a
    loaded machine's worker falls behind is dropped (Mosquitto's defaults keep 1,000 queued)."""
    # Run as ourselves: started as root, Mosquitto would drop to its own user.
    return (f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 1000000\nmax_queued_bytes 0\nmax_inflight_messages 100\n")


MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@contextmanager
def private_broker(folder: Path, conf: Callable[[int], str] = private_broker_conf, *, port: int | None = None,
                   login: str = "") -> Iterator[int]:
    """A Mosquitto of the caller's own on ``port`` (else a spare one), configured by ``conf(port)``
    (by default anonymous with a deployment's deep queues) in ``folder``: its port once it answers
    (signed in as ``login``, ``user:password``, when the configuration wants one); stopped afterwards."""
    port = port or free_port()
    (folder / "mosquitto.conf").write_text(conf(port))
    proc = subprocess.Popen([MOSQUITTO, "-c", str(folder / "mosquitto.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, "mosquitto exited"
            try:
                ping_broker(f"mqtt://{login + '@' if login else ''}127.0.0.1:{port}", timeout=1)
                break
            except ConnectionError:
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)
