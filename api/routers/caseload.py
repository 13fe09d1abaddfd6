from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import DB, Principal, audit_buyer_view, require_roles
from api.schemas import CaseloadOut, RegionCaseload
from core.models import Role
from regions import caseload_summary

router = APIRouter(tags=["regions"])
Viewer = Annotated[Principal, Depends(require_roles(Role.admin, Role.dispatcher, Role.regional_manager, Role.buyer))]


@router.get("/caseload", response_model=CaseloadOut)
def caseload(db: DB, principal: Viewer) -> CaseloadOut:
    """Cases per ITL1 region and buyer, and active agents per region. A buyer sees only its own
    cases, and each such view is audited."""
    summary = caseload_summary(db, buyer_id=principal.buyer_scope)
    audit_buyer_view(db, principal, "view", "caseload")
    return CaseloadOut(
        buyers=summary.buyers, cases=summary.cases, agents=summary.agents,
        regions=[RegionCaseload(itl1_cd=r.itl1_cd, name=r.name, cases=r.cases, cases_by_buyer=r.cases_by_buyer,
                                agents=r.agents) for r in summary.regions])
