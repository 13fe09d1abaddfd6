"""A case's money: ledger, fee breakdown, payments, refunds and fee cancellations (integer pence)."""
from __future__ import annotations

import dataclasses
import typing

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.schemas.common import Moment, Pence, Text
from core import CancelReason, LedgerLine

# One ledger line as the API shows it: core.ledger.LedgerLine's fields less case_id, which the answer
# names once (LedgerOut.case_id). Built from the dataclass so that the two cannot drift apart.
_LINE_TYPES = typing.get_type_hints(LedgerLine)
EntryOut = create_model(
    "EntryOut", __config__=ConfigDict(from_attributes=True),
    **{f.name: (_LINE_TYPES[f.name], ...) for f in dataclasses.fields(LedgerLine) if f.name != "case_id"})


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
    reference: Text = Field(min_length=1, max_length=100)
    received_at: Moment | None = None


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
    reason: Text = Field(min_length=1, max_length=500)
    reference: Text | None = Field(default=None, min_length=1, max_length=100)


class CancelIn(BaseModel):
    reason: CancelReason
    refund: bool = False


class CancelOut(BaseModel):
    case_id: int
    reason: CancelReason
    cancelled: dict[str, int]
    refunded_pence: int
    breakdown: BreakdownOut
