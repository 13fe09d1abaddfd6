"""Recording visits (agents' outcomes) and listing a case's visits.

An agent records its own visits only; dispatchers and admins may record for any agent (e.g. from a
phone call). Buyers read their own cases' visits. See ``core.visits`` for what a visit that broke a
rule does (409 unless ``acknowledge_breach``).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from api.deps import DB, PEOPLE, Principal, require_roles
from api.routers.cases import VisitOut, audit_buyer_view, not_found_404
from core.case_query import case_in_scope, case_visits
from core.models import Role, VisitOutcome
from core.visits import record_visit

router = APIRouter(tags=["visits"])
People = Annotated[Principal, Depends(require_roles(*PEOPLE))]
RECORDERS = frozenset({Role.agent, Role.dispatcher, Role.admin})


class VisitIn(BaseModel):
    case_id: int
    agent_id: int | None = Field(default=None, description="defaults to the signed-in agent")
    planned_at: AwareDatetime | None = None
    arrived_at: AwareDatetime
    departed_at: AwareDatetime | None = None
    outcome: VisitOutcome
    notes: str | None = Field(default=None, max_length=4000)
    bwv_reference: str | None = Field(default=None, max_length=100, description="body-worn-video footage id")
    lat: float | None = Field(default=None, ge=49.0, le=61.0)
    lon: float | None = Field(default=None, ge=-9.0, le=2.5)
    amount_pence: int | None = Field(default=None, gt=0, description="paid outcome: money taken")
    payment_reference: str | None = Field(default=None, max_length=100, description="paid outcome: receipt")
    acknowledge_breach: bool = Field(default=False, description="record a visit that broke a rule as "
                                                                "flagged evidence instead of refusing it")

    @model_validator(mode="after")
    def _consistent(self) -> VisitIn:
        if self.departed_at is not None and self.departed_at < self.arrived_at:
            raise ValueError("departed_at is before arrived_at")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.outcome == VisitOutcome.paid and not (self.amount_pence and self.payment_reference):
            raise ValueError("a paid outcome needs amount_pence and payment_reference")
        return self


class VisitRecorded(BaseModel):
    visit: VisitOut
    breaches: list[str]
    effects: list[str] = Field(description="what the outcome did: enforcement_fee, anpr_clock, payment, "
                                           "mark_paid, start_arrangement, flag_vulnerable, "
                                           "address_flagged_sensitive")


@router.post("/visits", response_model=VisitRecorded, status_code=status.HTTP_201_CREATED)
def post_visit(body: VisitIn, db: DB, principal: People) -> VisitRecorded:
    """Record a visit and apply its outcome: the enforcement fee for attendance in the enforcement
    stage, the ANPR clock, doorstep payments, arrangements, vulnerability, sensitive venues. A visit
    the buyer's policy forbids (hours, holidays, the 24-hour gap, …) is 409 naming the rules, unless
    ``acknowledge_breach`` records it as flagged evidence. Agents (own agent id only), dispatchers and
    admins."""
    with not_found_404():
        case_in_scope(db, body.case_id, principal.buyer_scope)
    if principal.role not in RECORDERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not record visits")
    agent_id = body.agent_id
    if principal.role == Role.agent:
        if agent_id not in (None, principal.agent_id) or principal.agent_id is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "an agent records only its own visits")
        agent_id = principal.agent_id
    with not_found_404():
        record = record_visit(db, case_id=body.case_id, outcome=body.outcome, arrived_at=body.arrived_at,
                              actor=principal.actor, agent_id=agent_id, planned_at=body.planned_at,
                              departed_at=body.departed_at, notes=body.notes, bwv_reference=body.bwv_reference,
                              lat=body.lat, lon=body.lon, amount_pence=body.amount_pence,
                              payment_reference=body.payment_reference,
                              acknowledge_breach=body.acknowledge_breach)
    (visit,) = [v for v in case_visits(db, body.case_id, None) if v["id"] == record.visit.id]
    return VisitRecorded(visit=VisitOut(**visit), breaches=list(record.breaches), effects=record.effects)


@router.get("/cases/{case_id}/visits", response_model=list[VisitOut])
def list_case_visits(case_id: int, db: DB, principal: People) -> list[VisitOut]:
    """The case's visits, oldest first, with arrival, departure, outcome, time band, footage reference
    and position [R-VISIT-EVIDENCE]."""
    with not_found_404():
        visits = case_visits(db, case_id, principal.buyer_scope)
    audit_buyer_view(db, principal, "case.visits", f"case:{case_id}")
    return [VisitOut(**v) for v in visits]
