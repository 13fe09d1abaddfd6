from __future__ import annotations

from fastapi import APIRouter

from api.deps import DB, OfficeStaffOrBuyer, audit_buyer_view
from api.errors import SIGNED_IN, errors
from api.schemas.caseload import CaseloadOut, RegionCaseload
from regions import caseload_summary

router = APIRouter(tags=["regions"], responses=errors(*SIGNED_IN))


@router.get("/caseload", response_model=CaseloadOut)
def caseload(db: DB, principal: OfficeStaffOrBuyer) -> CaseloadOut:
    """Cases per ITL1 region and buyer, and active agents per region. A buyer sees only its own
    cases, and each such view is audited."""
    summary = caseload_summary(db, buyer_id=principal.buyer_scope)
    audit_buyer_view(db, principal, "view", "caseload")
    return CaseloadOut(
        buyers=summary.buyers, cases=summary.cases, agents=summary.agents,
        regions=[RegionCaseload(itl1_cd=r.itl1_cd, name=r.name, cases=r.cases, cases_by_buyer=r.cases_by_buyer,
                                agents=r.agents) for r in summary.regions])
