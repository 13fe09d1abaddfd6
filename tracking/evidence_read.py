"""Reading visit evidence back for the people owed it: ``visit_evidence`` rows as ``EvidenceRecord``s
(with the trail excerpt kept on each row, so they read the same after the day's gps_ping partition is
pruned) and the case address a buyer's evidence map is centred on (``CasePlace``).

Each record carries its stop, where the phone dwelt: the median latitude and longitude of the trail's
fixes between arrival and departure, worked out in the database so that a long list of evidence does
not carry every trail out of it. The trail itself is read only when asked for (``with_trail``): the
map draws it; the GeoJSON and CSV answers do not need it.

Buyer scope is a filter here (``buyer_id``); deciding who may ask is the caller's (the API). A case
that is one of several linked warrants at one address shares the evidence of the group's leading
case: stops are matched to the leading case only (``tracking.days``), and the visit counts for every
warrant at the door.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import DateTime, Double, func, literal, or_, select
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
    stop: tuple[float, float] | None  # (lat, lon); None when the trail holds no fix of the dwell
    # The phone's fixes from 15 min before arrival to 15 min after departure; None when not read.
    trail: tuple[TrailFix, ...] | None = None


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


def _stop_median(axis: int):
    """The median of coordinate ``axis`` (1: lat, 2: lon) of the row's trail fixes from arrival to
    departure, as a correlated subquery."""
    fix = func.jsonb_array_elements(VisitEvidence.trail).table_valued("value").render_derived(name="fix")
    at = fix.c.value.op("->>")(literal(0)).cast(DateTime(timezone=True))
    coordinate = fix.c.value.op("->>")(literal(axis)).cast(Double)
    return (select(func.percentile_cont(0.5).within_group(coordinate)).select_from(fix)
            .where(at.between(VisitEvidence.arrival, VisitEvidence.departure)).scalar_subquery())


def read_evidence(db: Session, *, case_id: int | None = None, buyer_id: int | None = None,
                  start: datetime | None = None, end: datetime | None = None, region: str | None = None,
                  limit: int | None = None, with_trail: bool = False) -> list[EvidenceRecord]:
    """Evidence rows, oldest arrival first: of ``case_id`` (with its linked group's, module docstring),
    of ``buyer_id``'s cases, arriving in [``start``, ``end``), at case addresses in ITL1 ``region``;
    each filter applies when given. At most ``limit`` rows; their trails with ``with_trail``."""
    e = VisitEvidence
    columns = [e.id, e.case_id, e.agent_id, e.device_id, e.arrival, e.departure, e.dwell_s, e.address_line,
               e.postcode, e.distance_m, e.fix_count, e.median_accuracy_m, e.source, _stop_median(1),
               _stop_median(2)]
    q = (select(*columns, *([e.trail] if with_trail else [])).join(Case, Case.id == e.case_id)
         .order_by(e.arrival, e.id).limit(limit))
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
    out = []
    for row in db.execute(q):
        lat, lon = row[13], row[14]
        out.append(EvidenceRecord(*row[:13], stop=None if lat is None else (lat, lon),
                                  trail=_trail(row[15]) if with_trail else None))
    return out


def read_case_place(db: Session, case_id: int) -> CasePlace | None:
    """The case's address line (line 1, line 2 and town, as evidence copies it), postcode and
    position; None for an unknown case."""
    line = func.concat_ws(", ", Address.line1, Address.line2, Address.town)
    row = db.execute(select(line, Address.postcode, func.ST_Y(Address.location), func.ST_X(Address.location))
                     .join(Case, Case.address_id == Address.id).where(Case.id == case_id)).one_or_none()
    return None if row is None else CasePlace(case_id, *row)
