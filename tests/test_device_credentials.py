"""Device credential hashes are in Mosquitto's own format: a real broker, started here on a spare
port with a password file written from our hashes, accepts the right secret and refuses others."""
from __future__ import annotations

import getpass
import shutil
import subprocess
import time

import pytest

from core.mqtt import ping_broker
from core.security import hash_device_secret, verify_device_secret
from tests.helpers import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def test_hash_round_trip():
    stored = hash_device_secret("phone secret")
    assert stored.startswith("$7$101$")
    assert verify_device_secret("phone secret", stored)
    assert not verify_device_secret("phone secreT", stored)
    assert not verify_device_secret("x", "not a hash")


@pytest.fixture
def authenticated_broker(tmp_path):
    port = free_port()
    (tmp_path / "passwd").write_text(f"phone-A0001:{hash_device_secret('s3cret-token')}\n")
    (tmp_path / "passwd").chmod(0o600)
    (tmp_path / "mosquitto.conf").write_text(
        # Run as ourselves: started as root, Mosquitto would drop to its own user and lose the file.
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {tmp_path / 'passwd'}\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(tmp_path / "mosquitto.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            ping_broker(f"mqtt://phone-A0001:s3cret-token@127.0.0.1:{port}", timeout=1)
            break
        except ConnectionError:
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(5)


def test_mosquitto_accepts_our_hash(authenticated_broker):
    port = authenticated_broker
    ping_broker(f"mqtt://phone-A0001:s3cret-token@127.0.0.1:{port}")
    with pytest.raises(ConnectionError, match="refused"):
        ping_broker(f"mqtt://phone-A0001:wrong@127.0.0.1:{port}")
    with pytest.raises(ConnectionError, match="refused"):
        ping_broker(f"mqtt://127.0.0.1:{port}")
