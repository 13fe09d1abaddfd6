"""Agents' live positions in Redis (ARCHITECTURE.md "Redis: live position (GEO)").

Two keys, written by tracking (each GPS fix an agent's device sends) and read by the re-planner:

- ``agents:positions``: a GEO set; member = the agent id as a decimal string, position = its last fix
  (WGS84 lon/lat; Redis stores it as a 52-bit geohash, within a metre of what was written).
- ``agents:position_at``: a hash; field = the agent id, value = the fix's time, ISO 8601 in UTC
  (``2026-11-23T12:04:31+00:00``).

A fix is a position and its time (``Fix``; point-like, so ``Fix.lon``/``Fix.lat`` serve wherever a
``dispatch.model.Point`` is read). Both keys are written together in one script, so a reader never
sees a position with another fix's time, and a fix older than the stored one never replaces it; an
agent with only one of the two is treated as having no fix. How old a fix may be and still count is
the reader's rule (``dispatch.replan``).

``namespace`` prefixes both keys (tests use their own, so they never touch the live keys).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import redis

from core.settings import get_settings

__all__ = ["AT_KEY", "GEO_KEY", "Fix", "Nearby", "PointLike", "agents_near", "agents_near_many", "connect",
           "read_positions", "write_positions"]

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


# Per agent: write the fix unless the stored one (position and time both present) is as new or newer,
# so a late batch from a phone that was out of signal never moves an agent back. Atomic in Redis, so
# two ingest workers writing the same agent cannot interleave a read and a write. Times compare as
# (YYYYMMDDHHMMSS, microseconds): both are UTC, written by this module.
_WRITE_NEWER = """
local function when(iso)
  local y, mo, d, h, mi, s = string.match(iso, '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)')
  local frac = string.match(iso, '^[^.+Z]*%.(%d+)') or ''
  return tonumber(y .. mo .. d .. h .. mi .. s), tonumber(string.sub(frac .. '000000', 1, 6))
end
local written = 0
for i = 1, #ARGV, 4 do
  local member, at = ARGV[i], ARGV[i + 3]
  local old = redis.call('HGET', KEYS[2], member)
  local newer = true
  if old and redis.call('ZSCORE', KEYS[1], member) then
    local os, of = when(old)
    local ns, nf = when(at)
    newer = ns > os or (ns == os and nf > of)
  end
  if newer then
    redis.call('GEOADD', KEYS[1], ARGV[i + 1], ARGV[i + 2], member)
    redis.call('HSET', KEYS[2], member, at)
    written = written + 1
  end
end
return written
"""


def write_positions(client: redis.Redis, fixes: Mapping[int, tuple[PointLike, datetime]], *,
                    namespace: str = "") -> int:
    """Store each agent's fix (agent id → (position, aware time)) where it is newer than the stored
    one; an older or equally old fix leaves the stored one. Returns how many agents moved."""
    if not fixes:
        return 0
    args: list[float | str] = []
    for agent_id, (where, at) in fixes.items():
        if at.tzinfo is None:
            raise ValueError(f"agent {agent_id}: the fix time must be timezone-aware")
        args += [str(agent_id), where.lon, where.lat, at.astimezone(UTC).isoformat()]
    return int(client.eval(_WRITE_NEWER, 2, namespace + GEO_KEY, namespace + AT_KEY, *args))


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


@dataclass(frozen=True)
class Nearby:
    """An agent found near a place: its last fix and how far that is from the place."""

    agent_id: int
    distance_m: float
    fix: Fix


def agents_near(client: redis.Redis, lon: float, lat: float, radius_m: float, *,
                namespace: str = "") -> list[Nearby]:
    """The agents whose last fix is within ``radius_m`` of (``lon``, ``lat``), nearest first: one
    ``GEOSEARCH … FROMLONLAT … BYRADIUS … ASC``, then the fixes' times in one ``HMGET``. An agent with
    no time (only one of the two keys) is left out, as ``read_positions`` does."""
    found = client.geosearch(namespace + GEO_KEY, longitude=lon, latitude=lat, radius=radius_m, unit="m",
                             sort="ASC", withdist=True, withcoord=True)
    if not found:
        return []
    times = client.hmget(namespace + AT_KEY, [member for member, _, _ in found])
    out = []
    for (member, dist, (x, y)), at in zip(found, times, strict=True):
        if at is None:
            continue
        when = datetime.fromisoformat(at.decode() if isinstance(at, bytes) else at).astimezone(UTC)
        out.append(Nearby(int(member), float(dist), Fix(float(x), float(y), when)))
    return out


def agents_near_many(client: redis.Redis, places: Sequence[tuple[float, float]], radius_m: float, *,
                     namespace: str = "") -> list[list[Nearby]]:
    """``agents_near`` for each (lon, lat) of ``places``, aligned with them, in two round trips
    whatever their number (every ``GEOSEARCH`` in one pipeline, then every ``HMGET`` in another),
    not two per place: an ANPR batch starts tens of sightings."""
    if not places:
        return []
    pipe = client.pipeline(transaction=False)
    for lon, lat in places:
        pipe.geosearch(namespace + GEO_KEY, longitude=lon, latitude=lat, radius=radius_m, unit="m", sort="ASC",
                       withdist=True, withcoord=True)
    founds = pipe.execute()
    pipe = client.pipeline(transaction=False)
    for found in founds:
        if found:
            pipe.hmget(namespace + AT_KEY, [member for member, _, _ in found])
    times = iter(pipe.execute() if any(founds) else [])
    out: list[list[Nearby]] = []
    for found in founds:
        near = []
        if found:
            for (member, dist, (x, y)), at in zip(found, next(times), strict=True):
                if at is None:
                    continue
                when = datetime.fromisoformat(at.decode() if isinstance(at, bytes) else at).astimezone(UTC)
                near.append(Nearby(int(member), float(dist), Fix(float(x), float(y), when)))
        out.append(near)
    return out


def connect(url: str | None = None) -> redis.Redis:
    """A client for the configured Redis (``BAILIWICK_REDIS_URL``), or for ``url``."""
    return redis.Redis.from_url(url or get_settings().redis_url)
