"""Finding and reading cases for the case routes and the buyer portal [000 §1.126–1.140].

Every function takes ``buyer_scope`` (``Principal.buyer_scope``): a buyer sees only its own cases, and
a case outside the scope is ``NotFound`` exactly like a missing one, so existence does not leak.
Auditing the view is the route's job (it knows who is looking).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.case_read import load_cases
from core.errors import NotFound
from core.ledger import fee_breakdown
from core.models import Address, Case, CaseEvent, Debtor, Visit

MAX_LIMIT = 200


@dataclass(frozen=True)
class CaseSearch:
    """The five search keys [000 §1.127]; any combination, all optional."""

    supplier_reference: str | None = None
    subcontractor_reference: str | None = None
    buyer_reference: str | None = None
    debtor_name: str | None = None
    postcode: str | None = None


def normalise_postcode(text: str) -> str:
    """"pl12aa" → "PL1 2AA"; an outward code alone ("pl1") stays as it is, upper-cased."""
    compact = re.sub(r"\s+", "", text).upper()
    return compact if len(compact) <= 4 else f"{compact[:-3]} {compact[-3:]}"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select, keys: CaseSearch, buyer_scope: int | None) -> Select:
    if buyer_scope is not None:
        query = query.where(Case.buyer_id == buyer_scope)
    if keys.supplier_reference:
        query = query.where(Case.supplier_reference == keys.supplier_reference.strip())
    if keys.subcontractor_reference:
        query = query.where(Case.subcontractor_reference == keys.subcontractor_reference.strip())
    if keys.buyer_reference:
        query = query.where(Case.buyer_reference == keys.buyer_reference.strip())
    if keys.debtor_name:
        # Any part of the name, case-insensitively: staff often have only a surname.
        query = query.where(Case.debtor_id.in_(
            select(Debtor.id).where(Debtor.name.ilike(f"%{_like_escape(keys.debtor_name.strip())}%", escape="\\"))))
    if keys.postcode:
        postcode = normalise_postcode(keys.postcode)
        # A full postcode matches exactly; an outward code ("PL1") matches its whole district.
        match = Address.postcode == postcode if " " in postcode else Address.postcode.like(f"{postcode} %")
        query = query.where(Case.address_id.in_(select(Address.id).where(match)))
    return query


def search_cases(db: Session, keys: CaseSearch, buyer_scope: int | None, *, limit: int = 50,
                 offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """(total matches, one page of cases in ``CaseOut`` shape), newest placement first."""
    limit = max(1, min(limit, MAX_LIMIT))
    total = db.scalar(_filtered(select(func.count()).select_from(Case), keys, buyer_scope))
    ids = db.scalars(_filtered(select(Case.id), keys, buyer_scope)
                     .order_by(Case.received_on.desc(), Case.id.desc()).limit(limit).offset(max(0, offset))).all()
    return total or 0, load_cases(db, ids)


def case_in_scope(db: Session, case_id: int, buyer_scope: int | None) -> Case:
    """The case, or ``NotFound`` when it does not exist or belongs to another buyer."""
    case = db.get(Case, case_id)
    if case is None or (buyer_scope is not None and case.buyer_id != buyer_scope):
        raise NotFound(f"case {case_id} not found")
    return case


def case_visits(db: Session, case_id: int, buyer_scope: int | None) -> list[dict[str, Any]]:
    """The case's visits, oldest first, with the rules each broke (``visit_breach`` events) and the
    GPS-verified times beside the reported ones [R-VISIT-EVIDENCE]."""
    case_in_scope(db, case_id, buyer_scope)
    breaches: dict[int, list[str]] = {}
    for data in db.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case_id,
                                                         CaseEvent.kind == "visit_breach")):
        breaches.setdefault(data["visit_id"], []).extend(data["rules"])
    rows = db.execute(select(Visit, func.ST_Y(Visit.location), func.ST_X(Visit.location))
                      .where(Visit.case_id == case_id).order_by(Visit.arrived_at, Visit.id))
    return [{"id": v.id, "case_id": v.case_id, "agent_id": v.agent_id, "planned_at": v.planned_at,
             "arrived_at": v.arrived_at, "departed_at": v.departed_at, "outcome": v.outcome,
             "time_band": v.time_band, "notes": v.notes, "bwv_reference": v.bwv_reference,
             "lat": lat, "lon": lon, "recorded_by": v.recorded_by, "breaches": breaches.get(v.id, []),
             "gps_arrived_at": v.gps_arrived_at, "gps_departed_at": v.gps_departed_at,
             "gps_verified": v.gps_verified}
            for v, lat, lon in rows]


def case_detail(db: Session, case_id: int, buyer_scope: int | None) -> dict[str, Any]:
    """The case as ``CaseOut`` plus its lifecycle dates, fee breakdown and visits."""
    case = case_in_scope(db, case_id, buyer_scope)
    (out,) = load_cases(db, [case_id])
    out.update({name: getattr(case, name) for name in (
        "hold_reason", "vulnerability_note", "arrangement_since", "sale_stage_on", "removal_permission",
        "return_requested_at", "return_reason", "returned_at", "paid_at", "closed_at", "anpr_eligible_from")})
    f = fee_breakdown(db, case_id)
    out["fees"] = {"debt_pence": f.debt_pence, "fees_net_pence": f.fees_net_pence, "paid_pence": f.paid_pence,
                   "refunded_pence": f.refunded_pence, "balance_pence": f.balance_pence,
                   "lines": [{**asdict(line), "net_pence": line.net_pence} for line in f.fees]}
    out["visits"] = case_visits(db, case_id, buyer_scope)
    return out


def case_history(db: Session, case_id: int, buyer_scope: int | None) -> list[dict[str, Any]]:
    """Every event of the case, oldest first [R-CASE-AUDIT]."""
    case_in_scope(db, case_id, buyer_scope)
    events = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id))
    return [{"id": e.id, "at": e.at, "actor": e.actor, "kind": e.kind, "data": e.data} for e in events]
