"""Case search, detail, history, lifecycle transitions and clearing a sensitive-address flag.

Scope before role: a route that names a case first resolves it within the caller's buyer scope (404
for a case that is missing or another buyer's, so existence does not leak), and only then checks
whether the caller's role may do the action (403). Every buyer view is written to the audit trail.
A domain rule refusing an action is 409 with the rule id at the start of the message.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from api.case_schemas import CaseOut
from api.deps import DB, PEOPLE, Principal, audit_buyer_view, require_roles
from core import record_audit
from core.case_query import (
    CaseSearch,
    case_detail,
    case_history,
    case_in_scope,
    search_cases,
)
from core.case_read import load_cases
from core.errors import DomainError, NotFound
from core.lifecycle import Transition, apply_transition
from core.models import Address, CaseEvent, Role

router = APIRouter(tags=["cases"])
People = Annotated[Principal, Depends(require_roles(*PEOPLE))]

STAFF = frozenset({Role.admin, Role.dispatcher})
# A buyer instructs its own cases: stop and restart them [000 §1.74], decide on a vulnerability
# [002 App.1] and recall them [000 §2.107]. Everything else is the supplier's staff's.
BUYER_TRANSITIONS = frozenset({Transition.hold, Transition.release, Transition.clear_vulnerable,
                               Transition.request_return})


@contextmanager
def not_found_404() -> Iterator[None]:
    """``NotFound`` (missing, or another buyer's) → 404. A ``DomainError`` goes on to the app's
    handler: 409 with the rule id leading the message."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


class CasePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CaseOut]


class FeeLineOut(BaseModel):
    fee_type: str
    charged_pence: int
    cancelled_pence: int
    net_pence: int


class FeesOut(BaseModel):
    """debt + net fees − paid + refunded = balance (``core.ledger.fee_breakdown``)."""

    debt_pence: int
    fees_net_pence: int
    paid_pence: int
    refunded_pence: int
    balance_pence: int
    lines: list[FeeLineOut]


class VisitOut(BaseModel):
    id: int
    case_id: int
    agent_id: int | None
    planned_at: datetime | None
    arrived_at: datetime
    departed_at: datetime | None
    outcome: str
    time_band: str | None
    notes: str | None
    bwv_reference: str | None
    lat: float | None
    lon: float | None
    recorded_by: str
    breaches: list[str] = Field(description="rule ids the visit broke, when it was recorded as evidence "
                                            "with acknowledge_breach")


class CaseDetailOut(CaseOut):
    hold_reason: str | None
    vulnerability_note: str | None
    arrangement_since: date | None
    sale_stage_on: date | None
    removal_permission: bool
    return_requested_at: datetime | None
    return_reason: str | None
    returned_at: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None
    anpr_eligible_from: datetime | None
    fees: FeesOut
    visits: list[VisitOut]


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]


class TransitionIn(BaseModel):
    transition: Transition
    reason: str | None = Field(default=None, max_length=2000,
                               description="required for hold, flag_vulnerable, clear_vulnerable, "
                                           "request_return, return_case and closing an open case")


class TransitionOut(BaseModel):
    event: EventOut
    case: CaseOut


class SensitiveClearIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="why the address is safe to visit")


@router.get("/cases", response_model=CasePage)
def find_cases(db: DB, principal: People,
               supplier_reference: str | None = None, subcontractor_reference: str | None = None,
               buyer_reference: str | None = None,
               debtor_name: Annotated[str | None, Query(description="any part of the name, any case")] = None,
               postcode: Annotated[str | None, Query(description="a full postcode, or an outward code "
                                                                  "for its district")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0)] = 0) -> CasePage:
    """Search by supplier id, subcontractor reference, buyer reference, debtor name and postcode
    [000 §1.127], within the caller's buyer scope; keys combine with AND; newest placement first."""
    keys = CaseSearch(supplier_reference, subcontractor_reference, buyer_reference, debtor_name, postcode)
    total, items = search_cases(db, keys, principal.buyer_scope, limit=limit, offset=offset)
    audit_buyer_view(db, principal, "case.search", None,
                     {k: v for k, v in keys.__dict__.items() if v} | {"results": len(items)})
    return CasePage(total=total, limit=limit, offset=offset, items=items)


@router.get("/cases/{case_id}", response_model=CaseDetailOut)
def get_case(case_id: int, db: DB, principal: People) -> CaseDetailOut:
    """The case now: stage, status and flags, balances with the fee breakdown, and its visits."""
    with not_found_404():
        detail = case_detail(db, case_id, principal.buyer_scope)
    audit_buyer_view(db, principal, "case.view", f"case:{case_id}")
    return CaseDetailOut(**detail)


@router.get("/cases/{case_id}/history", response_model=list[EventOut])
def get_case_history(case_id: int, db: DB, principal: People) -> list[EventOut]:
    """Every event of the case, oldest first: placement, transitions, fees, payments, visits
    [R-CASE-AUDIT]."""
    with not_found_404():
        events = case_history(db, case_id, principal.buyer_scope)
    audit_buyer_view(db, principal, "case.history", f"case:{case_id}")
    return [EventOut(**e) for e in events]


@router.post("/cases/{case_id}/transitions", response_model=TransitionOut)
def transition_case(case_id: int, body: TransitionIn, db: DB, principal: People) -> TransitionOut:
    """Move the case through its lifecycle with one route for every transition (the body names it):
    issue_notice (charges the compliance fee), start_enforcement (only after the buyer policy's
    compliance period), hold / release, flag_vulnerable (back to the compliance stage) /
    clear_vulnerable, start_arrangement / end_arrangement, mark_paid (balance 0), request_return,
    return_case (reason), close. Admins and dispatchers may do all; a buyer may hold, release,
    clear_vulnerable and request_return on its own cases. A refused transition is 409 and its message
    starts with the rule id (e.g. ``R-CASE-COMPLIANCE: …``)."""
    with not_found_404():
        case_in_scope(db, case_id, principal.buyer_scope)
        if principal.role not in STAFF and not (principal.is_buyer and body.transition in BUYER_TRANSITIONS):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {principal.role.value} may not {body.transition.value}")
        event = apply_transition(db, case_id, body.transition, principal.actor,
                                 reason=body.reason, buyer_scope=principal.buyer_scope)
    (out,) = load_cases(db, [case_id])
    return TransitionOut(event=EventOut(id=event.id, at=event.at, actor=event.actor, kind=event.kind,
                                        data=event.data), case=CaseOut(**out))


@router.post("/cases/{case_id}/sensitive/clear", response_model=CaseOut)
def clear_sensitive(case_id: int, body: SensitiveClearIn, db: DB, principal: People) -> CaseOut:
    """Clear the sensitive flag of the case's address after a person checked it [R-VISIT-SENSITIVE];
    who and when are kept on the address and in the case history. Admins and dispatchers only."""
    with not_found_404():
        case = case_in_scope(db, case_id, principal.buyer_scope)
    if principal.role not in STAFF:
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
