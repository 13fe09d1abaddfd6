"""The services ``bailiwick sim month`` composes for ``sim.run_month`` (sim may not import dispatch,
tracking or regions), the ``--divert`` option read against the database, and the declarations stored.

- ``plan_day``: ``dispatch.plan_and_store`` as ``bailiwick plan`` runs it, not published (the month's
  phones are simulated from the stored plans), again with twice and four times the time when the
  solver found no plan in time for some visits (a loaded machine leaves sub-problems without a first
  solution, and a day not planned is a day not worked);
- ``record_day`` (in the month's worker process): the phones' fixes through the GPS ingest's batch
  store (``tracking.GpsStore``, as the MQTT consumer writes them), then ``tracking.record_day_evidence``
  (visit evidence, unmatched stops, tracked working time).
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

import sim

ACTOR = "cli:sim-month"


class BadDivert(ValueError):
    """``--divert`` cannot be read; the message names the part."""


def plan_day(db: Session, day: date, *, seconds: float) -> int | None:
    """Plan and store ``day`` (the stored run's id; None when no plan could be stored)."""
    from dispatch import plan_and_store

    for limit in (seconds, 2 * seconds, 4 * seconds):
        outcome = plan_and_store(db, day, time_limit_s=limit, actor=ACTOR, publish=False)
        if not outcome.unsolved:
            break
    return outcome.run_id


def record_day(day: date, phones: list[sim.PhoneDay]) -> sim.DayRecorded:
    """The day's fixes into gps_ping and its evidence recorded, committed."""
    from core import connect_redis, raw_connection, session_scope
    from tracking import Decoded, GpsFix, GpsStore, Received, record_day_evidence

    fixes = [GpsFix(p.device_id, p.agent_id, f.ts, f.lon, f.lat, f.accuracy_m, f.speed_mps, f.heading_deg,
                    f.battery_pct) for p in phones for f in p.fixes]
    with raw_connection() as conn:
        written, _ = GpsStore(conn, connect_redis()).commit(
            [Received("sim/month", b"", datetime.now(UTC), Decoded(fixes))])
    with session_scope() as db:
        done = record_day_evidence(db, day)
    return sim.DayRecorded(written.fixes, done.evidence, done.unmatched, done.tracked_agents)


def services(plan_seconds: float) -> sim.MonthServices:
    return sim.MonthServices(partial(plan_day, seconds=plan_seconds), record_day)


def parse_divert(db: Session, text: str) -> sim.Diversion:
    """``SUBCONTRACTOR:REGION:BUYER`` (references and an ITL1 code) as a ``sim.Diversion``."""
    from core.models import Buyer, Itl1Region, Subcontractor

    parts = text.split(":")
    if len(parts) != 3:
        raise BadDivert(f"{text!r} is not SUBCONTRACTOR:REGION:BUYER (e.g. westward:TLK:plymouth)")
    firm_ref, region, buyer_ref = (p.strip() for p in parts)
    firm = db.scalar(select(Subcontractor.id).where(Subcontractor.reference == firm_ref))
    if firm is None:
        known = ", ".join(db.scalars(select(Subcontractor.reference).order_by(Subcontractor.reference)))
        raise BadDivert(f"subcontractor {firm_ref!r} unknown; known: {known}")
    region = region.upper()
    if db.scalar(select(Itl1Region.code).where(Itl1Region.code == region)) is None:
        raise BadDivert(f"region {region!r} is not an ITL1 region code (e.g. TLK)")
    buyer = db.scalar(select(Buyer.id).where(Buyer.reference == buyer_ref))
    if buyer is None:
        known = ", ".join(db.scalars(select(Buyer.reference).order_by(Buyer.reference)))
        raise BadDivert(f"buyer {buyer_ref!r} unknown; known: {known}")
    return sim.Diversion(firm, region, buyer)


def store_declarations(db: Session, month: date, declared: list[sim.Declaration]) -> int:
    """Each firm's declaration through ``regions.declare`` (audited); returns how many."""
    from regions import declare

    for d in declared:
        declare(db, subcontractor_id=d.subcontractor_id, month=month, itl1_cd=d.itl1_cd,
                outside_cases=d.outside_cases, outside_agents=d.outside_agents, actor=ACTOR)
    return len(declared)
