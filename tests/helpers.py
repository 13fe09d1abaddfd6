"""Small helpers shared by tests (not fixtures)."""
from __future__ import annotations

import socket
import uuid


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
