"""Agents' live positions in Redis (ARCHITECTURE.md "Redis: live position (GEO)").

Two keys, written by tracking (each GPS fix an agent's device sends) and read by the re-planner:

- ``agents:positions``: a GEO set; member = the agent id as a decimal string, position = its last fix
  (WGS84 lon/lat; Redis stores it as a 52-bit geohash, within a metre of what was written).
- ``agents:position_at``: a hash; field = the agent id, value = the fix's time, ISO 8601 in UTC
  (``2026-11-23T12:04:31+00:00``).

A fix is a position and its time (``Fix``; point-like, so ``Fix.lon``/``Fix.lat`` serve wherever a
``dispatch.model.Point`` is read). Both keys are written together in one transaction, so a reader
never sees a position with another fix's time; an agent with only one of the two is treated as having
no fix. How old a fix may be and still count is the reader's rule (``dispatch.replan``).

``namespace`` prefixes both keys (tests use their own, so they never touch the live keys).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import redis

from core.settings import get_settings

__all__ = ["AT_KEY", "GEO_KEY", "Fix", "PointLike", "connect", "read_positions", "write_positions"]

GEO_KEY = "agents:positions"
AT_KEY = "agents:position_at"


class PointLike(Protocol):
    lon: float
    lat: float


@dataclass(frozen=True)
class Fix:
    """An agent's last reported position (WGS84) and when it was taken (aware, UTC)."""

    lon: float
    lat: float
    at: datetime


def write_positions(client: redis.Redis, fixes: Mapping[int, tuple[PointLike, datetime]], *,
                    namespace: str = "") -> None:
    """Store each agent's latest fix (agent id → (position, aware time)), replacing its previous one."""
    if not fixes:
        return
    geo: list[float | str] = []
    times: dict[str, str] = {}
    for agent_id, (where, at) in fixes.items():
        if at.tzinfo is None:
            raise ValueError(f"agent {agent_id}: the fix time must be timezone-aware")
        geo += [where.lon, where.lat, str(agent_id)]
        times[str(agent_id)] = at.astimezone(UTC).isoformat()
    pipe = client.pipeline(transaction=True)
    pipe.geoadd(namespace + GEO_KEY, geo)
    pipe.hset(namespace + AT_KEY, mapping=times)
    pipe.execute()


def read_positions(client: redis.Redis, agent_ids: Iterable[int], *, namespace: str = "") -> dict[int, Fix]:
    """The last fix of each of ``agent_ids`` that has one (position and time)."""
    ids = list(dict.fromkeys(agent_ids))
    if not ids:
        return {}
    members = [str(a) for a in ids]
    pipe = client.pipeline(transaction=True)
    pipe.geopos(namespace + GEO_KEY, *members)
    pipe.hmget(namespace + AT_KEY, members)
    positions, times = pipe.execute()
    out: dict[int, Fix] = {}
    for agent_id, pos, at in zip(ids, positions, times):
        if pos is None or at is None:
            continue
        when = datetime.fromisoformat(at.decode() if isinstance(at, bytes) else at)
        out[agent_id] = Fix(float(pos[0]), float(pos[1]), when.astimezone(UTC))
    return out


def connect(url: str | None = None) -> redis.Redis:
    """A client for the configured Redis (``BAILIWICK_REDIS_URL``), or for ``url``."""
    return redis.Redis.from_url(url or get_settings().redis_url)
