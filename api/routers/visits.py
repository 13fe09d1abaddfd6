"""Recording visits (agents' outcomes) and listing a case's visits.

An agent records its own visits only; dispatchers and admins may record for any agent (e.g. from a
phone call). Buyers read their own cases' visits. See ``core.visits`` for what a visit that broke a
rule does (409 unless ``acknowledge_breach``).
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import DB, VISIT_RECORDERS, People, audit_buyer_view
from api.errors import WITH_BODY, error, errors, not_found_404
from api.hotlist_sync import sync_hotlist
from api.schemas.common import CaseId
from api.schemas.visits import VisitIn, VisitOut, VisitRecorded
from core import case_in_scope, case_visits, record_visit
from core.models import Agent, Role

router = APIRouter(tags=["visits"], responses=errors(*WITH_BODY))


@router.post("/visits", response_model=VisitRecorded, status_code=status.HTTP_201_CREATED,
             responses={**error(404, "no such case in the caller's buyer scope, or no such agent"),
                        **error(409, "the visit broke a rule of the buyer's policy (without acknowledge_breach) "
                                     "or the case's state refuses it")})
def post_visit(body: VisitIn, db: DB, principal: People) -> VisitRecorded:
    """Record a visit and apply its outcome: the enforcement fee for attendance in the enforcement
    stage, the ANPR clock, doorstep payments, arrangements, vulnerability, sensitive venues. A visit
    the buyer's policy forbids (hours, holidays, the 24-hour gap, …) is 409 naming the rules, unless
    ``acknowledge_breach`` records it as flagged evidence. Agents (own agent id only), dispatchers and
    admins."""
    with not_found_404():
        case_in_scope(db, body.case_id, principal.buyer_scope)
    if principal.role not in VISIT_RECORDERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not record visits")
    agent_id = body.agent_id
    if principal.role == Role.agent:
        if agent_id not in (None, principal.agent_id) or principal.agent_id is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "an agent records only its own visits")
        agent_id = principal.agent_id
    if agent_id is not None and db.get(Agent, agent_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {agent_id} not found")
    with not_found_404():
        record = record_visit(db, case_id=body.case_id, outcome=body.outcome, arrived_at=body.arrived_at,
                              actor=principal.actor, agent_id=agent_id, planned_at=body.planned_at,
                              departed_at=body.departed_at, notes=body.notes, bwv_reference=body.bwv_reference,
                              lat=body.lat, lon=body.lon, amount_pence=body.amount_pence,
                              payment_reference=body.payment_reference,
                              acknowledge_breach=body.acknowledge_breach)
    sync_hotlist(db, [body.case_id], principal.actor)
    (visit,) = [v for v in case_visits(db, body.case_id, None) if v["id"] == record.visit.id]
    return VisitRecorded(visit=VisitOut(**visit), breaches=list(record.breaches), effects=record.effects)


@router.get("/cases/{case_id}/visits", response_model=list[VisitOut],
            responses=error(404, "no such case in the caller's buyer scope"))
def list_case_visits(case_id: CaseId, db: DB, principal: People) -> list[VisitOut]:
    """The case's visits, oldest first, with arrival, departure, outcome, time band, footage reference
    and position [R-VISIT-EVIDENCE]."""
    with not_found_404():
        visits = case_visits(db, case_id, principal.buyer_scope)
    audit_buyer_view(db, principal, "case.visits", f"case:{case_id}")
    return [VisitOut(**v) for v in visits]
