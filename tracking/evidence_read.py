"""Reading visit evidence back for the people owed it: ``visit_evidence`` rows as ``EvidenceRecord``s
(with the trail excerpt kept on each row, so they read the same after the day's gps_ping partition is
pruned) and the case address a buyer's evidence map is centred on (``CasePlace``).

Buyer scope is a filter here (``buyer_id``); deciding who may ask is the caller's (the API). A case
that is one of several linked warrants at one address shares the evidence of the group's leading
case: stops are matched to the leading case only (``tracking.days``), and the visit counts for every
warrant at the door.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from core.models import Address, Case, VisitEvidence


class TrailFix(NamedTuple):
    ts: datetime
    lat: float
    lon: float


@dataclass(frozen=True)
class EvidenceRecord:
    """One ``visit_evidence`` row: a stop of the agent's phone matched to a case address."""

    id: int
    case_id: int
    agent_id: int
    device_id: str
    arrival: datetime
    departure: datetime
    dwell_s: int
    address_line: str
    postcode: str
    distance_m: float
    fix_count: int
    median_accuracy_m: float | None
    source: str
    trail: tuple[TrailFix, ...]  # the phone's fixes from 15 min before arrival to 15 min after departure


@dataclass(frozen=True)
class CasePlace:
    """Where a case's debtor lives, as the case holds it now."""

    case_id: int
    address_line: str
    postcode: str
    lat: float
    lon: float


def _trail(rows: list | None) -> tuple[TrailFix, ...]:
    return tuple(TrailFix(datetime.fromisoformat(ts), float(lat), float(lon)) for ts, lat, lon in rows or ())


def read_evidence(db: Session, *, case_id: int | None = None, buyer_id: int | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  region: str | None = None) -> list[EvidenceRecord]:
    """Evidence rows, oldest arrival first: of ``case_id`` (with its linked group's, module docstring),
    of ``buyer_id``'s cases, arriving in [``start``, ``end``), at case addresses in ITL1 ``region``;
    each filter applies when given."""
    q = (select(VisitEvidence).join(Case, Case.id == VisitEvidence.case_id)
         .order_by(VisitEvidence.arrival, VisitEvidence.id))
    if case_id is not None:
        asked = aliased(Case)
        group = select(asked.linked_group).where(asked.id == case_id).scalar_subquery()
        q = q.where(or_(VisitEvidence.case_id == case_id, Case.id == group))
    if buyer_id is not None:
        q = q.where(Case.buyer_id == buyer_id)
    if start is not None:
        q = q.where(VisitEvidence.arrival >= start)
    if end is not None:
        q = q.where(VisitEvidence.arrival < end)
    if region is not None:
        q = q.join(Address, Address.id == Case.address_id).where(Address.itl1_cd == region)
    return [EvidenceRecord(e.id, e.case_id, e.agent_id, e.device_id, e.arrival, e.departure, e.dwell_s,
                           e.address_line, e.postcode, e.distance_m, e.fix_count, e.median_accuracy_m,
                           e.source, _trail(e.trail))
            for e in db.scalars(q)]


def read_case_place(db: Session, case_id: int) -> CasePlace | None:
    """The case's address line (line 1, line 2 and town, as evidence copies it), postcode and
    position; None for an unknown case."""
    line = func.concat_ws(", ", Address.line1, Address.line2, Address.town)
    row = db.execute(select(line, Address.postcode, func.ST_Y(Address.location), func.ST_X(Address.location))
                     .join(Case, Case.address_id == Address.id).where(Case.id == case_id)).one_or_none()
    return None if row is None else CasePlace(case_id, *row)
