"""``GET /health``'s answer."""
from __future__ import annotations

from pydantic import BaseModel


class ServiceHealth(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: str  # "ok" | "degraded"
    services: dict[str, ServiceHealth]
