"""Device credential hashes are in Mosquitto's own format: a real broker, started here on a spare
port with a password file written from our hashes, accepts the right secret and refuses others."""
from __future__ import annotations

import getpass

import pytest

from core.mqtt import ping_broker
from core.security import hash_device_secret, verify_device_secret
from tests.helpers import private_broker


def test_hash_round_trip():
    stored = hash_device_secret("phone secret")
    assert stored.startswith("$7$101$")
    assert verify_device_secret("phone secret", stored)
    assert not verify_device_secret("phone secreT", stored)
    assert not verify_device_secret("x", "not a hash")


@pytest.fixture
def authenticated_broker(tmp_path):
    (tmp_path / "passwd").write_text(f"phone-A0001:{hash_device_secret('s3cret-token')}\n")
    (tmp_path / "passwd").chmod(0o600)

    def conf(port: int) -> str:
        # Run as ourselves: started as root, Mosquitto would drop to its own user and lose the file.
        return (f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
                f"password_file {tmp_path / 'passwd'}\n")

    with private_broker(tmp_path, conf, login="phone-A0001:s3cret-token") as port:
        yield port


def test_mosquitto_accepts_our_hash(authenticated_broker):
    port = authenticated_broker
    ping_broker(f"mqtt://phone-A0001:s3cret-token@127.0.0.1:{port}")
    with pytest.raises(ConnectionError, match="refused"):
        ping_broker(f"mqtt://phone-A0001:wrong@127.0.0.1:{port}")
    with pytest.raises(ConnectionError, match="refused"):
        ping_broker(f"mqtt://127.0.0.1:{port}")
