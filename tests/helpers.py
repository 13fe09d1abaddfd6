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
