"""Capacity and the proof that no buyer's cases are deprioritised [000 §1.8, §2.94]: subcontractors
declare their work outside the platform; regional managers (and the supplier's office staff) read every
buyer's figures; a buyer reads its own, audited, and asks where any figure came from."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy import select

from api.checks import check_region, invalid
from api.deps import (
    DB,
    OfficeStaffOrBuyer,
    Principal,
    audit_buyer_view,
    buyer_in_scope,
    require_roles,
)
from api.errors import SIGNED_IN, WITH_BODY, errors
from api.schemas.capacity import (
    CapacityOut,
    DeclarationIn,
    DeclarationOut,
    ExplainOut,
    IndexOut,
    SubcontractorLineOut,
    TableLineOut,
    WeekOut,
)
from api.schemas.common import Month
from core.models import Role, Subcontractor
from regions import (
    MEASURES,
    DeclarationError,
    IndexLine,
    capacity_report,
    declarations,
    declare,
    explain,
    month_period,
)

router = APIRouter(prefix="/capacity", tags=["capacity"], responses=errors(*SIGNED_IN))

Declarer = Annotated[Principal, Depends(require_roles(Role.subcontractor, Role.admin))]
DeclarationReader = Annotated[Principal, Depends(require_roles(
    Role.subcontractor, Role.admin, Role.dispatcher, Role.regional_manager))]
MonthQuery = Annotated[Month, Query(description="the month, YYYY-MM")]
BuyerQuery = Annotated[str | None, Query(description="a buyer's reference; a buyer may name only itself")]


def _index(i: IndexLine) -> IndexOut:
    e = i.estimate
    return IndexOut(region=i.region, subcontractor=i.subcontractor, buyer=i.buyer, priority_class=i.priority_class,
                    index=e.index, low=e.low, high=e.high, share_of_time=e.share_of_time,
                    share_of_caseload=e.share_of_caseload, agent_days=e.agent_days, case_days=i.case_days,
                    seconds=i.seconds, flagged=i.flagged)


@router.post("/declarations", response_model=DeclarationOut, status_code=status.HTTP_201_CREATED,
             responses=errors(*WITH_BODY, 404))
def post_declaration(body: DeclarationIn, db: DB, principal: Declarer) -> DeclarationOut:
    """Declare a subcontractor's work outside the platform in one region for one month: the open
    cases of its other clients and the agents working them. A subcontractor user declares for its own
    firm (naming another is refused); an admin names the firm. Declaring again for the same firm,
    month and region replaces the figures; every declaration is audited."""
    if principal.role == Role.subcontractor:
        firm_id = principal.subcontractor_id
        if body.subcontractor is not None and db.scalar(
                select(Subcontractor.id).where(Subcontractor.reference == body.subcontractor)) != firm_id:
            raise invalid(("body", "subcontractor"), "a subcontractor user declares only for its own firm",
                          body.subcontractor)
    else:
        if body.subcontractor is None:
            raise invalid(("body", "subcontractor"), "an admin must name the subcontractor declared for", None)
        firm_id = db.scalar(select(Subcontractor.id).where(Subcontractor.reference == body.subcontractor))
        if firm_id is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subcontractor {body.subcontractor!r}")
    check_region(db, body.itl1_cd, ("body", "itl1_cd"))
    try:
        d = declare(db, subcontractor_id=firm_id, month=month_period(body.month).first, itl1_cd=body.itl1_cd,
                    outside_cases=body.outside_cases, outside_agents=body.outside_agents, actor=principal.actor,
                    role=principal.role.value)
    except DeclarationError as exc:
        raise invalid(("body", exc.field), exc.message, None) from None
    return DeclarationOut(**d.__dict__)


@router.get("/declarations", response_model=list[DeclarationOut])
def get_declarations(month: MonthQuery, db: DB, principal: DeclarationReader) -> list[DeclarationOut]:
    """The month's declarations: a subcontractor user's own firm's, or every firm's for office staff."""
    firm = principal.subcontractor_id if principal.role == Role.subcontractor else None
    return [DeclarationOut(**d.__dict__) for d in declarations(db, month_period(month).first, subcontractor_id=firm)]


@router.get("", response_model=CapacityOut, responses=errors(404))
def get_capacity(month: MonthQuery, db: DB, principal: OfficeStaffOrBuyer, buyer: BuyerQuery = None) -> CapacityOut:
    """The month's capacity figures per ITL1 region, subcontractor and buyer: the [000 §1.8] table, the
    subcontractors' whole caseloads and agents, agent time from GPS, and the deprioritisation index
    overall and per priority class, with its bootstrap interval, flags and weekly trend. A buyer sees
    its own lines only (other clients appear only inside the totals); each such view is audited."""
    period = month_period(month)
    chosen = buyer_in_scope(db, principal, buyer)
    report = capacity_report(db, period)
    if chosen is not None:
        report = report.for_buyer(chosen.reference)
    audit_buyer_view(db, principal, "view", "capacity", {"month": period.label})
    return CapacityOut(
        month=period.label, threshold=report.threshold, min_work_s=report.min_work_s,
        break_s=report.break_s, door_s=report.door_s, regions=report.regions,
        buyers=sorted(report.buyers),
        table=[TableLineOut(**t.__dict__) for t in report.table],
        subcontractors=[SubcontractorLineOut(**s.__dict__, total_caseload=s.total_caseload,
                                             total_agents=s.total_agents) for s in report.subcontractors],
        indices=[_index(i) for i in report.indices], flags=[_index(i) for i in report.flags()],
        weekly=[WeekOut(**w.__dict__) for w in report.weekly])


@router.get("/explain", response_model=ExplainOut, responses=errors(404))
def get_explain(month: MonthQuery, region: Annotated[str, Query(description="an ITL1 region code")],
                buyer: Annotated[str, Query(description="a buyer's reference")],
                measure: Annotated[str, Query(description="one of " + ", ".join(MEASURES))],
                db: DB, principal: OfficeStaffOrBuyer) -> ExplainOut:
    """The rows one figure of the capacity report was computed from: the cases, agents, visits with
    their dwell and travel, or plan rows; for ``index``, its components."""
    period = month_period(month)
    if measure not in MEASURES:
        raise invalid(("query", "measure"), f"unknown measure {measure!r}; one of {', '.join(MEASURES)}", measure)
    check_region(db, region, ("query", "region"))
    chosen = buyer_in_scope(db, principal, buyer)
    e = explain(db, period, region, chosen.id, chosen.reference, measure)
    audit_buyer_view(db, principal, "view", "capacity.explain",
                     {"month": period.label, "region": region, "measure": measure})
    return ExplainOut(**e.__dict__)
