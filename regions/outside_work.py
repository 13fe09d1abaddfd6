"""Subcontractors' declarations of their work outside the platform: per month and ITL1 region, the
caseload of their other clients and the agents working it [000 §1.8]. The capacity report adds them
to the platform's own figures (a subcontractor's total caseload and its share of each buyer's
business). A declaration for the same firm, month and region replaces the figures; every change is
audited with the figures before and after."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import record_audit
from core.models import CapacityDeclaration, Itl1Region, Subcontractor


class DeclarationError(ValueError):
    """A declaration cannot be stored as given; ``field`` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Declared:
    id: int
    subcontractor: str
    month: date
    itl1_cd: str
    outside_cases: int
    outside_agents: int
    declared_by: str
    replaced: bool  # an earlier declaration of the same firm, month and region was replaced


def month_start(month: date) -> date:
    return month.replace(day=1)


def declare(db: Session, *, subcontractor_id: int, month: date, itl1_cd: str, outside_cases: int,
            outside_agents: int, actor: str, role: str | None = None) -> Declared:
    """Store (or replace) one firm's outside work in one region for ``month`` (any day of it), in the
    caller's transaction, with its audit row. Figures must be whole numbers of zero or more, and the
    region one of the twelve ITL1 codes."""
    for name, value in (("outside_cases", outside_cases), ("outside_agents", outside_agents)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DeclarationError(name, "must be a whole number")
        if value < 0:
            raise DeclarationError(name, f"must be zero or more, got {value}")
    if db.scalar(select(Itl1Region.code).where(Itl1Region.code == itl1_cd)) is None:
        raise DeclarationError("itl1_cd", f"unknown ITL1 region {itl1_cd!r}")
    firm = db.get(Subcontractor, subcontractor_id)
    if firm is None:
        raise DeclarationError("subcontractor", f"no subcontractor with id {subcontractor_id}")
    first = month_start(month)
    row = db.scalar(select(CapacityDeclaration).where(
        CapacityDeclaration.subcontractor_id == subcontractor_id, CapacityDeclaration.month == first,
        CapacityDeclaration.itl1_cd == itl1_cd).with_for_update())
    before = None
    if row is None:
        row = CapacityDeclaration(subcontractor_id=subcontractor_id, month=first, itl1_cd=itl1_cd,
                                  outside_cases=outside_cases, outside_agents=outside_agents, declared_by=actor)
        db.add(row)
    else:
        before = {"outside_cases": row.outside_cases, "outside_agents": row.outside_agents,
                  "declared_by": row.declared_by}
        row.outside_cases, row.outside_agents, row.declared_by = outside_cases, outside_agents, actor
    db.flush()
    record_audit(db, actor=actor, role=role, action="capacity.declare", target=f"capacity_declaration:{row.id}",
                 data={"subcontractor": firm.reference, "month": first.isoformat(), "itl1_cd": itl1_cd,
                       "outside_cases": outside_cases, "outside_agents": outside_agents, "before": before})
    return Declared(row.id, firm.reference, first, itl1_cd, outside_cases, outside_agents, actor, before is not None)


def declarations(db: Session, month: date, *, subcontractor_id: int | None = None) -> list[Declared]:
    """The month's declarations, by firm and region (one firm's only when given)."""
    q = (select(CapacityDeclaration, Subcontractor.reference)
         .join(Subcontractor, Subcontractor.id == CapacityDeclaration.subcontractor_id)
         .where(CapacityDeclaration.month == month_start(month))
         .order_by(Subcontractor.reference, CapacityDeclaration.itl1_cd))
    if subcontractor_id is not None:
        q = q.where(CapacityDeclaration.subcontractor_id == subcontractor_id)
    return [Declared(d.id, ref, d.month, d.itl1_cd, d.outside_cases, d.outside_agents, d.declared_by, False)
            for d, ref in db.execute(q)]
