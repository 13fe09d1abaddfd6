"""A case's money: its ledger and fee breakdown, payments, refunds and fee cancellations. Amounts
are integer pence. A buyer reaches only its own cases (another buyer's case answers 404 so its
existence does not leak) and every buyer view is audited. A refused action answers 409 naming the
rule (``core.errors.DomainError``)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import DB, PEOPLE, Principal, audit_buyer_view, require_roles
from core.ledger import (
    CancelReason,
    cancel_fees,
    fee_breakdown,
    ledger_of,
    record_payment,
    record_refund,
)
from core.models import Case, Role

router = APIRouter(prefix="/cases/{case_id}", tags=["ledger"])
Reader = Annotated[Principal, Depends(require_roles(*PEOPLE))]
Payer = Annotated[Principal, Depends(require_roles(Role.admin, Role.dispatcher, Role.buyer))]
# Strict: 12.5 or "1250" is not an amount of pence.
Pence = Annotated[int, Field(gt=0, strict=True)]


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    fee_type: str | None
    amount_pence: int
    visit_id: int | None
    reference: str | None
    actor: str
    data: dict[str, Any]


class FeeLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    fee_type: str
    charged_pence: int
    cancelled_pence: int
    net_pence: int


class BreakdownOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    debt_pence: int
    fees: list[FeeLineOut]
    fees_net_pence: int
    paid_pence: int
    refunded_pence: int
    balance_pence: int


class LedgerOut(BaseModel):
    case_id: int
    entries: list[EntryOut]
    breakdown: BreakdownOut


class PaymentIn(BaseModel):
    amount_pence: Pence
    reference: str = Field(min_length=1, max_length=100)
    received_at: AwareDatetime | None = None


class Share(BaseModel):
    case_id: int
    amount_pence: int


class PaymentOut(BaseModel):
    case_id: int
    reference: str
    amount_pence: int
    allocation: list[Share]
    replayed: bool


class RefundIn(BaseModel):
    amount_pence: Pence
    reason: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, min_length=1, max_length=100)


class CancelIn(BaseModel):
    reason: CancelReason
    refund: bool = False


class CancelOut(BaseModel):
    case_id: int
    reason: CancelReason
    cancelled: dict[str, int]
    refunded_pence: int
    breakdown: BreakdownOut


def _case(db: DB, case_id: int, principal: Principal) -> Case:
    case = db.get(Case, case_id)
    scope = principal.buyer_scope
    if case is None or (scope is not None and case.buyer_id != scope):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} not found")
    return case


@router.get("/ledger", response_model=LedgerOut)
def get_ledger(case_id: int, db: DB, principal: Reader) -> LedgerOut:
    case = _case(db, case_id, principal)
    audit_buyer_view(db, principal, "view", f"case:{case.id}/ledger")
    return LedgerOut(case_id=case.id, entries=[EntryOut.model_validate(e) for e in ledger_of(db, case.id)],
                     breakdown=BreakdownOut.model_validate(fee_breakdown(db, case.id)))


@router.post("/payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "the reference was recorded before; nothing changed"}})
def post_payment(case_id: int, body: PaymentIn, db: DB, principal: Payer, response: Response) -> PaymentOut:
    case = _case(db, case_id, principal)
    receipt = record_payment(db, case, body.amount_pence, body.reference, principal.actor, body.received_at)
    if receipt.replayed:
        response.status_code = status.HTTP_200_OK
    return PaymentOut(case_id=receipt.case_id, reference=receipt.reference, amount_pence=receipt.amount_pence,
                      replayed=receipt.replayed,
                      allocation=[Share(case_id=i, amount_pence=p) for i, p in sorted(receipt.allocation.items())])


@router.post("/refunds", response_model=EntryOut, status_code=status.HTTP_201_CREATED)
def post_refund(case_id: int, body: RefundIn, db: DB, principal: Payer) -> EntryOut:
    """Pay money back to the customer (staff only). Scope is checked before role, so a buyer asking
    about another buyer's case learns nothing (404) and about its own is refused (403)."""
    case = _case(db, case_id, principal)
    if principal.is_buyer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "role buyer may not do this; needs one of admin, dispatcher")
    line = record_refund(db, case, body.amount_pence, body.reason, principal.actor, reference=body.reference)
    return EntryOut.model_validate(line)


@router.post("/fees/cancel", response_model=CancelOut)
def post_cancel(case_id: int, body: CancelIn, db: DB, principal: Payer) -> CancelOut:
    case = _case(db, case_id, principal)
    result = cancel_fees(db, case, body.reason, principal.actor, refund=body.refund)
    return CancelOut(case_id=result.case_id, reason=result.reason, cancelled=result.cancelled,
                     refunded_pence=result.refunded_pence,
                     breakdown=BreakdownOut.model_validate(fee_breakdown(db, case.id)))
