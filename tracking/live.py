"""The dispatchers' live view: each agent's newest fix from Redis (``core.read_positions``, the keys the
ingest writes), its age and whether it is stale, and the speed and battery of that same fix.

Redis keeps only position and time, so speed and battery are read from the ``gps_ping`` row of that
fix, for every agent in one query (the exact (agent, ts) pairs, bounded by the fixes' time range so
PostgreSQL reads only those days' partitions). An agent whose row is gone (pruned, or a position
written by something other than the ingest) keeps its position with unknown speed and battery.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core import read_positions
from core.models import Agent

__all__ = ["LiveAgent", "Reading", "live_agents", "live_geojson", "read_live"]


class Fix(Protocol):
    """A stored live position (``core.read_positions``): WGS84 and an aware time."""

    lon: float
    lat: float
    at: datetime


@dataclass(frozen=True)
class Reading:
    """What the phone said beside its position, when it said it."""

    speed_mps: float | None
    battery_pct: int | None


@dataclass(frozen=True)
class LiveAgent:
    agent_id: int
    lon: float
    lat: float
    at: datetime       # aware, UTC
    age_s: float       # now − at; never negative (a phone clock a little ahead reads as just now)
    speed_mps: float | None
    battery_pct: int | None
    stale: bool        # older than the stale threshold (BAILIWICK_GPS_STALE_S)


def live_agents(fixes: Mapping[int, Fix], readings: Mapping[int, Reading], *, now: datetime,
                stale_s: float) -> list[LiveAgent]:
    """Each agent's live state at ``now``, by agent id. Stale means strictly older than ``stale_s``:
    a fix exactly ``stale_s`` old still counts as fresh."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    out: list[LiveAgent] = []
    for agent_id in sorted(fixes):
        fix = fixes[agent_id]
        age = max(0.0, (now - fix.at).total_seconds())
        reading = readings.get(agent_id, Reading(None, None))
        out.append(LiveAgent(agent_id, fix.lon, fix.lat, fix.at.astimezone(UTC), age, reading.speed_mps,
                             reading.battery_pct, age > stale_s))
    return out


def live_geojson(agents: list[LiveAgent]) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection: one Point per agent, ``at`` in ISO 8601 with its offset."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": a.agent_id,
         "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
         "properties": {"agent_id": a.agent_id, "at": a.at.isoformat(), "age_s": round(a.age_s, 1),
                        "speed_mps": a.speed_mps, "battery_pct": a.battery_pct, "stale": a.stale}}
        for a in agents]}


# The row of each agent's Redis fix (same agent, same ts); two devices of one agent reporting the same
# instant resolve to the row received last. The ts range lets the planner prune to those partitions.
_READINGS = text("""
    SELECT DISTINCT ON (g.agent_id) g.agent_id, g.speed_mps, g.battery_pct
    FROM gps_ping g
    JOIN unnest(CAST(:agent_ids AS integer[]), CAST(:ats AS timestamptz[])) AS f(agent_id, ts)
      ON g.agent_id = f.agent_id AND g.ts = f.ts
    WHERE g.ts BETWEEN :first AND :last
    ORDER BY g.agent_id, g.received_at DESC
""")


def _readings(db: Session, fixes: Mapping[int, Fix]) -> dict[int, Reading]:
    if not fixes:
        return {}
    ids = list(fixes)
    ats = [fixes[a].at for a in ids]
    rows = db.execute(_READINGS, {"agent_ids": ids, "ats": ats, "first": min(ats), "last": max(ats)})
    return {r.agent_id: Reading(r.speed_mps, r.battery_pct) for r in rows}


def read_live(db: Session, live: redis.Redis, *, now: datetime, stale_s: float, region: str | None = None,
              namespace: str = "") -> list[LiveAgent]:
    """Every registered agent (of ITL1 ``region``, when given) with a live position (module docstring);
    a position left in Redis by an agent no longer registered is not shown."""
    agents = select(Agent.id) if region is None else select(Agent.id).where(Agent.itl1_cd == region)
    fixes = read_positions(live, db.scalars(agents), namespace=namespace)
    return live_agents(fixes, _readings(db, fixes), now=now, stale_s=stale_s)
