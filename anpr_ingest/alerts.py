"""Alerts: each new sighting of a hotlist vehicle is sent to the nearest available agent, on
``agents/{agent_id}/alerts`` (MQTT v5, QoS 1, not retained: an alert is news, not state).

Who is alerted (``choose_agent``, pure): of the agents whose live position (``core.agents_near``:
``GEOSEARCH … BYRADIUS … ASC`` over the keys tracking writes) is within ``BAILIWICK_ANPR_ALERT_RADIUS_KM``
of where the vehicle was last seen, the nearest one that is *available*:

- an active agent, certificated (an ANPR visit is an enforcement visit [000 §1.12]) and with the skills
  an optional visit to a sighting asks (``core.OPTIONAL_SKILLS``);
- whose position is fresh: not older than ``BAILIWICK_GPS_STALE_S`` (stale as ``GET /agents/live``
  shows it). A stale position says where the agent was, not where the agent is.

Nothing else (a plan, a visit under way) makes an agent unavailable yet: the alert says where the
vehicle was; the agent's own judgement, and the dispatcher, decide whether to go.

A sighting without a place (the camera gave no position) cannot be routed to an agent, and one with no
available agent in range is left unalerted: both stay in ``GET /anpr/alerts`` for dispatchers.

Once at most (``raise_alerts``): the sightings are locked (``FOR UPDATE SKIP LOCKED``) and taken only
while ``alerted_at`` is null; each alert is published and, once the broker acknowledged it, recorded
(``alerted_agent_id``, ``alerted_at``) in the same transaction, so a second processing of the batch (a
retry after an outage, a redelivery) alerts nobody twice. An alert the broker did not acknowledge is
not recorded and ``core.PublishError`` is raised after the others are: the ingest worker retries its
after-commit step, and the sighting is taken again. A crash between the acknowledgement and the commit
alerts again: at least once, never lost.

The alert says it is not actionable until a keeper check is recorded [R-ANPR-KEEPER] and that agents
never chase [R-ANPR-NOCHASE]. It carries the hit's own mark, and nothing of any other read
[R-ANPR-PRIVACY]; log lines carry ids only.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import (
    OPTIONAL_SKILLS,
    PublishError,
    agents_near_many,
    get_settings,
    publish_acked,
)
from core.models import AnprSighting

log = logging.getLogger(__name__)

ALERT_QOS = 1
NOT_ACTIONABLE = ("Not actionable until a keeper check (DVLA enquiry) is recorded confirming the registered "
                  "keeper is the customer [R-ANPR-KEEPER]. Never give chase or stop a moving vehicle: the task "
                  "is at the place the vehicle was seen, not a pursuit [R-ANPR-NOCHASE].")


def alert_topic(agent_id: int) -> str:
    return f"agents/{agent_id}/alerts"


@dataclass(frozen=True)
class AgentCandidate:
    """An agent near a sighting, as ``choose_agent`` weighs it."""

    agent_id: int
    distance_m: float
    fix_at: datetime     # when the agent's live position was taken
    active: bool
    certificated: bool
    skills: frozenset[str]


def choose_agent(candidates: Sequence[AgentCandidate], *, now: datetime, stale_s: float,
                 needs: frozenset[str] = OPTIONAL_SKILLS) -> AgentCandidate | None:
    """The nearest available candidate (module docstring), or None; equally near ones by agent id, so
    that the choice does not depend on the order Redis gave them in."""
    fresh_from = now - timedelta(seconds=stale_s)
    available = [c for c in candidates
                 if c.active and c.certificated and needs <= c.skills and c.fix_at >= fresh_from]
    return min(available, key=lambda c: (c.distance_m, c.agent_id), default=None)


@dataclass(frozen=True)
class PendingSighting:
    """A sighting not alerted yet, as its alert describes it."""

    id: int
    vrm: str
    case_ids: tuple[int, ...]
    first_seen_at: datetime
    last_seen_at: datetime
    actionable: bool
    lon: float | None
    lat: float | None


def alert_payload(s: PendingSighting, agent: AgentCandidate) -> dict[str, Any]:
    assert s.lon is not None and s.lat is not None
    return {"sighting_id": s.id, "vrm": s.vrm, "case_ids": list(s.case_ids),
            "place": {"lat": s.lat, "lon": s.lon}, "seen_at": s.last_seen_at.isoformat(),
            "first_seen_at": s.first_seen_at.isoformat(), "distance_m": round(agent.distance_m),
            "actionable": s.actionable, "rules": ["R-ANPR-KEEPER", "R-ANPR-NOCHASE"], "note": NOT_ACTIONABLE}


@dataclass(frozen=True)
class Alert:
    """An alert the broker acknowledged, and when (for the hit-to-alert latency)."""

    sighting_id: int
    agent_id: int
    distance_m: float
    published_at: datetime


_PENDING = """SELECT id, vrm, case_ids, first_seen_at, last_seen_at, actionable, ST_X(location), ST_Y(location)
FROM anpr_sighting WHERE id = ANY(%s) AND alerted_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED"""
_AGENTS = "SELECT id, active, certificated, skills FROM agent WHERE id = ANY(%s)"
_RECORD = "UPDATE anpr_sighting SET alerted_agent_id = %s, alerted_at = %s WHERE id = %s"


def raise_alerts(conn: psycopg.Connection, positions: redis.Redis, publisher: mqtt.Client,
                 sighting_ids: Sequence[int], *, namespace: str = "", radius_km: float | None = None,
                 stale_s: float | None = None, timeout_s: float = 5.0) -> list[Alert]:
    """Alert the nearest available agent to each of ``sighting_ids`` not alerted yet (module
    docstring); ``conn`` has no transaction open, ``publisher`` is connected. Returns the alerts sent;
    raises ``core.PublishError`` (after recording the others) when the broker did not take one.
    ``namespace`` prefixes the live-position keys (tests use their own)."""
    if not sighting_ids:
        return []
    settings = get_settings()
    radius_m = 1000 * (radius_km if radius_km is not None else settings.anpr_alert_radius_km)
    stale_s = stale_s if stale_s is not None else settings.gps_stale_s
    with conn.transaction(), conn.cursor() as cur:
        pending = [PendingSighting(r[0], r[1], tuple(r[2]), r[3], r[4], r[5], r[6], r[7])
                   for r in cur.execute(_PENDING, (list(sighting_ids),))]
        placed = [s for s in pending if s.lon is not None and s.lat is not None]
        near = dict(zip((s.id for s in placed),
                        agents_near_many(positions, [(s.lon, s.lat) for s in placed], radius_m, namespace=namespace),
                        strict=True))
        ids = sorted({n.agent_id for found in near.values() for n in found})
        agents = {r[0]: r[1:] for r in cur.execute(_AGENTS, (ids,))} if ids else {}
        now = datetime.now(UTC)
        chosen: list[tuple[PendingSighting, AgentCandidate]] = []
        for s in pending:
            candidates = [AgentCandidate(n.agent_id, n.distance_m, n.fix.at, *_known(agents.get(n.agent_id)))
                          for n in near.get(s.id, ())]
            agent = choose_agent(candidates, now=now, stale_s=stale_s)
            if agent is None:
                log.info("sighting %s: no available agent within %g km%s", s.id, radius_m / 1000,
                         "" if s.id in near else " (the sighting has no place)")
            else:
                chosen.append((s, agent))
        problems = publish_acked(publisher, [(alert_topic(a.agent_id), json.dumps(alert_payload(s, a)), ALERT_QOS)
                                             for s, a in chosen], timeout_s=timeout_s)
        published_at = datetime.now(UTC)
        sent = [Alert(s.id, a.agent_id, a.distance_m, published_at)
                for (s, a), problem in zip(chosen, problems, strict=True) if problem is None]
        cur.executemany(_RECORD, [(a.agent_id, a.published_at, a.sighting_id) for a in sent])
    for a in sent:
        log.info("sighting %s: alerted agent %s (%.0f m away)", a.sighting_id, a.agent_id, a.distance_m)
    failed = [p for p in problems if p is not None]
    if failed:
        raise PublishError(f"{len(failed)} of {len(chosen)} alerts not sent: {failed[0]}")
    return sent


def _known(row: tuple[bool, bool, list[str]] | None) -> tuple[bool, bool, frozenset[str]]:
    """(active, certificated, skills) of an agent row; an id in Redis with no agent row (a deleted
    agent's leftover position) is never available."""
    if row is None:
        return False, False, frozenset()
    active, certificated, skills = row
    return active, certificated, frozenset(skills or ())


# --- What dispatchers see: every sighting with its alert state -------------------------------------

@dataclass(frozen=True)
class SightingAlert:
    """A sighting and its alert state (``alerted_agent_id`` null: no agent was alerted)."""

    sighting_id: int
    vrm: str
    case_ids: tuple[int, ...]
    van_id: int
    first_seen_at: datetime
    last_seen_at: datetime
    reads: int
    lon: float | None
    lat: float | None
    alerted_agent_id: int | None
    alerted_at: datetime | None
    keeper_result: str | None
    actionable: bool


def read_alerts(db: Session, *, start: datetime | None = None, end: datetime | None = None, limit: int = 50,
                offset: int = 0) -> tuple[int, list[SightingAlert]]:
    """The sightings first seen in [``start``, ``end``) (either open), newest first, one page of them,
    and how many there are in all."""
    s = AnprSighting
    where = [c for c in ((s.first_seen_at >= start) if start else None,
                         (s.first_seen_at < end) if end else None) if c is not None]
    total = db.scalar(select(func.count()).select_from(s).where(*where))
    rows = db.execute(select(s.id, s.vrm, s.case_ids, s.van_id, s.first_seen_at, s.last_seen_at, s.reads,
                             func.ST_X(s.location), func.ST_Y(s.location), s.alerted_agent_id, s.alerted_at,
                             s.keeper_result, s.actionable)
                      .where(*where).order_by(s.first_seen_at.desc(), s.id.desc()).limit(limit).offset(offset))
    return int(total or 0), [SightingAlert(r[0], r[1], tuple(r[2]), *r[3:]) for r in rows]


def alerts_geojson(alerts: Sequence[SightingAlert], **members: Any) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection: a Point per sighting where it was last seen (a null geometry when
    the camera gave no place), times ISO 8601 with their offset; ``members`` are added to the
    collection (foreign members, RFC 7946 §6.1: the page's total, limit and offset)."""
    return {"type": "FeatureCollection", **members, "features": [
        {"type": "Feature", "id": a.sighting_id,
         "geometry": None if a.lon is None else {"type": "Point", "coordinates": [a.lon, a.lat]},
         "properties": {"sighting_id": a.sighting_id, "vrm": a.vrm, "case_ids": list(a.case_ids),
                        "van_id": a.van_id, "first_seen_at": a.first_seen_at.isoformat(),
                        "last_seen_at": a.last_seen_at.isoformat(), "reads": a.reads,
                        "alerted": a.alerted_agent_id is not None, "alerted_agent_id": a.alerted_agent_id,
                        "alerted_at": a.alerted_at.isoformat() if a.alerted_at else None,
                        "keeper_result": a.keeper_result, "actionable": a.actionable}}
        for a in alerts]}
