"""Case search, detail, history, lifecycle transitions and clearing a sensitive-address flag.

Scope before role: a route that names a case first resolves it within the caller's buyer scope (404
for a case that is missing or another buyer's, so existence does not leak), and only then checks
whether the caller's role may do the action (403). Every buyer view is written to the audit trail.
A domain rule refusing an action is 409 with the rule id at the start of the message.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import DB, DISPATCH_STAFF, People, audit_buyer_view
from api.errors import WITH_BODY, error, errors, not_found_404
from api.hotlist_sync import sync_hotlist
from api.schemas.cases import (
    CaseDetailOut,
    CaseOut,
    CasePage,
    EventOut,
    SensitiveClearIn,
    TransitionIn,
    TransitionOut,
)
from api.schemas.common import CaseId, Limit, Offset, Text
from core import (
    CaseSearch,
    DomainError,
    Transition,
    apply_transition,
    case_detail,
    case_history,
    case_in_scope,
    load_cases,
    record_audit,
    search_cases,
)
from core.models import Address, CaseEvent

router = APIRouter(tags=["cases"], responses=errors(*WITH_BODY))
NO_CASE = error(404, "no such case in the caller's buyer scope")

# A buyer instructs its own cases: stop and restart them [000 §1.74], decide on a vulnerability
# [002 App.1] and recall them [000 §2.107]. Everything else is the supplier's staff's.
BUYER_TRANSITIONS = frozenset({Transition.hold, Transition.release, Transition.clear_vulnerable,
                               Transition.request_return})


@router.get("/cases", response_model=CasePage)
def find_cases(db: DB, principal: People,
               supplier_reference: Text | None = None, subcontractor_reference: Text | None = None,
               buyer_reference: Text | None = None,
               debtor_name: Annotated[Text | None, Query(description="any part of the name, any case")] = None,
               postcode: Annotated[Text | None, Query(description="a full postcode, or an outward code "
                                                                   "for its district")] = None,
               limit: Limit = 50, offset: Offset = 0) -> CasePage:
    """Search by supplier id, subcontractor reference, buyer reference, debtor name and postcode
    [000 §1.127], within the caller's buyer scope; keys combine with AND; newest placement first."""
    keys = CaseSearch(supplier_reference, subcontractor_reference, buyer_reference, debtor_name, postcode)
    total, items = search_cases(db, keys, principal.buyer_scope, limit=limit, offset=offset)
    audit_buyer_view(db, principal, "case.search", None,
                     {k: v for k, v in keys.__dict__.items() if v} | {"results": len(items)})
    return CasePage(total=total, limit=limit, offset=offset, items=items)


@router.get("/cases/{case_id}", response_model=CaseDetailOut, responses=NO_CASE)
def get_case(case_id: CaseId, db: DB, principal: People) -> CaseDetailOut:
    """The case now: stage, status and flags, balances with the fee breakdown, and its visits."""
    with not_found_404():
        detail = case_detail(db, case_id, principal.buyer_scope)
    audit_buyer_view(db, principal, "case.view", f"case:{case_id}")
    return CaseDetailOut(**detail)


@router.get("/cases/{case_id}/history", response_model=list[EventOut], responses=NO_CASE)
def get_case_history(case_id: CaseId, db: DB, principal: People) -> list[EventOut]:
    """Every event of the case, oldest first: placement, transitions, fees, payments, visits
    [R-CASE-AUDIT]."""
    with not_found_404():
        events = case_history(db, case_id, principal.buyer_scope)
    audit_buyer_view(db, principal, "case.history", f"case:{case_id}")
    return [EventOut(**e) for e in events]


@router.post("/cases/{case_id}/transitions", response_model=TransitionOut,
             responses={**NO_CASE, **error(409, "the case's state or a rule refuses the transition")})
def transition_case(case_id: CaseId, body: TransitionIn, db: DB, principal: People) -> TransitionOut:
    """Move the case through its lifecycle with one route for every transition (the body names it):
    issue_notice (charges the compliance fee), start_enforcement (only after the buyer policy's
    compliance period), hold / release, flag_vulnerable (back to the compliance stage) /
    clear_vulnerable, start_arrangement / end_arrangement, mark_paid (balance 0), request_return,
    return_case (reason), close. Admins and dispatchers may do all; a buyer may hold, release,
    clear_vulnerable and request_return on its own cases. A refused transition is 409 and its message
    starts with the rule id (e.g. ``R-CASE-COMPLIANCE: …``)."""
    with not_found_404():
        case_in_scope(db, case_id, principal.buyer_scope)
        if principal.role not in DISPATCH_STAFF and not (principal.is_buyer and body.transition in BUYER_TRANSITIONS):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {principal.role.value} may not {body.transition.value}")
        event = apply_transition(db, case_id, body.transition, principal.actor,
                                 reason=body.reason, buyer_scope=principal.buyer_scope)
    sync_hotlist(db, [case_id], principal.actor)
    (out,) = load_cases(db, [case_id])
    return TransitionOut(event=EventOut(id=event.id, at=event.at, actor=event.actor, kind=event.kind,
                                        data=event.data), case=CaseOut(**out))


@router.post("/cases/{case_id}/sensitive/clear", response_model=CaseOut,
             responses={**NO_CASE, **error(409, "the address is not flagged sensitive")})
def clear_sensitive(case_id: CaseId, body: SensitiveClearIn, db: DB, principal: People) -> CaseOut:
    """Clear the sensitive flag of the case's address after a person checked it [R-VISIT-SENSITIVE];
    who and when are kept on the address and in the case history. Admins and dispatchers only."""
    with not_found_404():
        case = case_in_scope(db, case_id, principal.buyer_scope)
    if principal.role not in DISPATCH_STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not clear a sensitive flag")
    address = db.get(Address, case.address_id, with_for_update=True)
    if not address.sensitive or address.sensitive_cleared_at is not None:
        raise DomainError("R-VISIT-SENSITIVE", "the address is not flagged sensitive")
    actor, now = principal.actor, datetime.now(UTC)
    address.sensitive_cleared_by, address.sensitive_cleared_at = actor, now
    db.add(CaseEvent(case_id=case_id, actor=actor, at=now, kind="address_sensitive_cleared",
                     data={"rule": "R-VISIT-SENSITIVE", "address_id": address.id, "note": body.note}))
    record_audit(db, actor=actor, role=principal.role.value, action="address.sensitive_clear",
                 target=f"address:{address.id}", data={"case_id": case_id, "note": body.note})
    db.flush()
    (out,) = load_cases(db, [case_id])
    return CaseOut(**out)
