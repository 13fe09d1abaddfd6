"""A case's money: its ledger and fee breakdown, payments, refunds and fee cancellations. Amounts
are integer pence. A buyer reaches only its own cases (another buyer's case answers 404 so its
existence does not leak) and every buyer view is audited. A refused action answers 409 naming the
rule (``core.errors.DomainError``)."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from api.deps import DB, DispatchStaffOrBuyer, People, Principal, audit_buyer_view
from api.errors import WITH_BODY, error, errors
from api.hotlist_sync import sync_hotlist
from api.schemas.common import CaseId
from api.schemas.ledger import (
    BreakdownOut,
    CancelIn,
    CancelOut,
    EntryOut,
    LedgerOut,
    PaymentIn,
    PaymentOut,
    RefundIn,
    Share,
)
from core import cancel_fees, fee_breakdown, ledger_of, record_payment, record_refund
from core.models import Case

router = APIRouter(prefix="/cases/{case_id}", tags=["ledger"],
                   responses={**errors(*WITH_BODY), **error(404, "no such case in the caller's buyer scope")})
REFUSED = error(409, "a rule of the ledger refuses the action; rule_id names it")


def _case(db: DB, case_id: int, principal: Principal) -> Case:
    case = db.get(Case, case_id)
    scope = principal.buyer_scope
    if case is None or (scope is not None and case.buyer_id != scope):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} not found")
    return case


@router.get("/ledger", response_model=LedgerOut)
def get_ledger(case_id: CaseId, db: DB, principal: People) -> LedgerOut:
    case = _case(db, case_id, principal)
    audit_buyer_view(db, principal, "view", f"case:{case.id}/ledger")
    return LedgerOut(case_id=case.id, entries=[EntryOut.model_validate(e) for e in ledger_of(db, case.id)],
                     breakdown=BreakdownOut.model_validate(fee_breakdown(db, case.id)))


@router.post("/payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "the reference was recorded before; nothing changed"}, **REFUSED})
def post_payment(case_id: CaseId, body: PaymentIn, db: DB, principal: DispatchStaffOrBuyer, response: Response) -> PaymentOut:
    case = _case(db, case_id, principal)
    receipt = record_payment(db, case, body.amount_pence, body.reference, principal.actor, body.received_at)
    sync_hotlist(db, [case.id, *receipt.allocation], principal.actor)
    if receipt.replayed:
        response.status_code = status.HTTP_200_OK
    return PaymentOut(case_id=receipt.case_id, reference=receipt.reference, amount_pence=receipt.amount_pence,
                      replayed=receipt.replayed,
                      allocation=[Share(case_id=i, amount_pence=p) for i, p in sorted(receipt.allocation.items())])


@router.post("/refunds", response_model=EntryOut, status_code=status.HTTP_201_CREATED, responses=REFUSED)
def post_refund(case_id: CaseId, body: RefundIn, db: DB, principal: DispatchStaffOrBuyer) -> EntryOut:
    """Pay money back to the customer (staff only). Scope is checked before role, so a buyer asking
    about another buyer's case learns nothing (404) and about its own is refused (403)."""
    case = _case(db, case_id, principal)
    if principal.is_buyer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "role buyer may not do this; needs one of admin, dispatcher")
    line = record_refund(db, case, body.amount_pence, body.reason, principal.actor, reference=body.reference)
    return EntryOut.model_validate(line)


@router.post("/fees/cancel", response_model=CancelOut, responses=REFUSED)
def post_cancel(case_id: CaseId, body: CancelIn, db: DB, principal: DispatchStaffOrBuyer) -> CancelOut:
    case = _case(db, case_id, principal)
    result = cancel_fees(db, case, body.reason, principal.actor, refund=body.refund)
    return CancelOut(case_id=result.case_id, reason=result.reason, cancelled=result.cancelled,
                     refunded_pence=result.refunded_pence,
                     breakdown=BreakdownOut.model_validate(fee_breakdown(db, case.id)))
