"""Caseload at a glance: cases per ITL1 region and buyer, and active agents per region. The first
cut of the capacity picture that regional managers and buyers are owed [000 §1.8]."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Address, Agent, Buyer, Case, Itl1Region

OUTSIDE = "??"  # cases or agents whose point fell in no region (should stay empty)


@dataclass
class RegionLine:
    itl1_cd: str
    name: str
    cases_by_buyer: dict[str, int] = field(default_factory=dict)
    agents: int = 0

    @property
    def cases(self) -> int:
        return sum(self.cases_by_buyer.values())


@dataclass
class CaseloadSummary:
    buyers: list[str]
    regions: list[RegionLine]

    def buyer_totals(self) -> dict[str, int]:
        return {b: sum(r.cases_by_buyer.get(b, 0) for r in self.regions) for b in self.buyers}

    @property
    def cases(self) -> int:
        return sum(r.cases for r in self.regions)

    @property
    def agents(self) -> int:
        return sum(r.agents for r in self.regions)


def caseload_summary(db: Session, buyer_id: int | None = None) -> CaseloadSummary:
    """Cases per region and buyer (only ``buyer_id``'s when given) and active agents per region,
    listing all twelve regions even where there is nothing yet."""
    lines = {code: RegionLine(code, name) for code, name in
             db.execute(select(Itl1Region.code, Itl1Region.name).order_by(Itl1Region.code))}

    def line(code: str | None) -> RegionLine:
        code = code or OUTSIDE
        return lines.setdefault(code, RegionLine(code, "outside any region"))

    buyer_q = select(Buyer.reference).order_by(Buyer.reference)
    case_q = (select(Address.itl1_cd, Buyer.reference, func.count())
              .select_from(Case).join(Address, Case.address_id == Address.id).join(Buyer, Case.buyer_id == Buyer.id)
              .group_by(Address.itl1_cd, Buyer.reference))
    if buyer_id is not None:
        buyer_q = buyer_q.where(Buyer.id == buyer_id)
        case_q = case_q.where(Case.buyer_id == buyer_id)
    for itl1_cd, buyer, n in db.execute(case_q):
        line(itl1_cd).cases_by_buyer[buyer] = n
    for itl1_cd, n in db.execute(select(Agent.itl1_cd, func.count()).where(Agent.active).group_by(Agent.itl1_cd)):
        line(itl1_cd).agents = n
    return CaseloadSummary(buyers=list(db.scalars(buyer_q)), regions=list(lines.values()))
