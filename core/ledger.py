"""The case ledger: the I/O edge of the fee engine (``core.fees`` computes, this module posts).

Every function works inside the caller's transaction: it locks the case rows it changes
(``SELECT … FOR UPDATE``, in id order so two writers on one linked group cannot deadlock), appends
``ledger_entry`` rows, moves ``enforcement_case.current_balance_pence`` by exactly the same amounts, and
writes a ``case_event`` [R-CASE-AUDIT]. Nothing is edited in place; a mistake is put right by a
further entry. A refused action raises ``core.errors.DomainError`` naming its rule.

Decisions:

- **Overpayment is refused** (R-PAY-ALLOC), not held as credit: the ledger has no "unallocated"
  account, and money taken beyond the balance would have to be refunded anyway.
- **A balance goes below zero only as a credit owed to the customer**, after fees already paid for
  are cancelled without ``refund=True`` (``cancel_fees``); ``refund=True`` pays that credit back.
- **Payments are allocated over the open warrants of the same buyer in the case's linked group**
  (``core.fees.allocate_payment``): another creditor's warrant in the group is enforced together with
  ours [000 §1.109], but a buyer's money is not paid into another creditor's warrant.
- **Enforcement and sale fees are charged once per stage of a linked group**, not at every visit: the
  regulations fix one fee per stage and the buyers say "one enforcement fee and one sale fee … across
  multiple liability orders" [004 §9]. A second fee for the same visit, or while the group already
  carries a live (uncancelled) fee of that type, is refused.
"""
from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import fees
from core.errors import DomainError, NotFound
from core.models import (
    Case,
    CaseEvent,
    CaseStatus,
    FeeType,
    LedgerEntry,
    LedgerKind,
    Stage,
    Visit,
)


class CancelReason(enum.StrEnum):
    """Why fees are cancelled [R-FEE-CANCEL]."""

    out_of_time_witness_statement = "out_of_time_witness_statement"  # [000 §1.70]
    proof_of_earlier_payment = "proof_of_earlier_payment"            # [000 §2.105]
    buyer_decision = "buyer_decision"                                # [000 §1.106]


@dataclass(frozen=True)
class LedgerLine:
    id: int
    case_id: int
    at: datetime
    kind: str
    fee_type: str | None
    amount_pence: int
    visit_id: int | None
    reference: str | None
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PaymentReceipt:
    """Where a payment went: case id → pence. ``replayed`` when the reference had been recorded before
    and nothing changed."""

    case_id: int
    reference: str
    amount_pence: int
    allocation: dict[int, int]
    replayed: bool


@dataclass(frozen=True)
class FeeLine:
    fee_type: str
    charged_pence: int
    cancelled_pence: int  # a positive amount taken off

    @property
    def net_pence(self) -> int:
        return self.charged_pence - self.cancelled_pence


@dataclass(frozen=True)
class FeeBreakdown:
    """One case's balance explained: debt + net fees − paid + refunded = balance."""

    case_id: int
    debt_pence: int  # placed debt plus buyer adjustments
    fees: list[FeeLine]
    paid_pence: int
    refunded_pence: int
    balance_pence: int

    @property
    def fees_net_pence(self) -> int:
        return sum(line.net_pence for line in self.fees)


@dataclass(frozen=True)
class Cancellation:
    case_id: int
    reason: CancelReason
    cancelled: dict[str, int] = field(default_factory=dict)  # fee type → pence taken off
    refunded_pence: int = 0


# --- reading ---------------------------------------------------------------------------------------


def ledger_of(db: Session, case_id: int) -> list[LedgerLine]:
    """Every entry of a case, oldest first."""
    _get_case(db, case_id)
    rows = db.scalars(select(LedgerEntry).where(LedgerEntry.case_id == case_id)
                      .order_by(LedgerEntry.at, LedgerEntry.id))
    return [LedgerLine(e.id, e.case_id, e.at, e.kind, e.fee_type, e.amount_pence, e.visit_id, e.reference,
                       e.actor, e.data) for e in rows]


def fee_breakdown(db: Session, case_id: int) -> FeeBreakdown:
    case = _get_case(db, case_id)
    t = _totals(db, [case_id])[case_id]
    return FeeBreakdown(
        case_id=case_id,
        debt_pence=t[LedgerKind.debt, None] + t[LedgerKind.adjustment, None],
        fees=[FeeLine(ft.value, t[LedgerKind.fee, ft], -t[LedgerKind.fee_cancellation, ft]) for ft in FeeType],
        paid_pence=-t[LedgerKind.payment, None],
        refunded_pence=t[LedgerKind.refund, None],
        balance_pence=case.current_balance_pence,
    )


# --- charges ---------------------------------------------------------------------------------------


def charge_compliance_fee(db: Session, case: Case, actor: str) -> LedgerLine:
    """R-FEE-COMPLIANCE: £75 on this warrant once its Notice of Enforcement is issued; never twice."""
    case = _lock(db, case.id)
    _refuse_if_inactive(case)
    if case.notice_issued_on is None:
        raise DomainError("R-FEE-INCURRED", f"case {case.id}: no Notice of Enforcement issued yet, "
                                            "so no compliance fee")
    if _has(db, case.id, LedgerKind.fee, FeeType.compliance):
        raise DomainError("R-FEE-COMPLIANCE", f"case {case.id} already carries its compliance fee")
    amount = fees.compliance_fee()
    entry = _post(db, case, LedgerKind.fee, amount, actor, fee_type=FeeType.compliance,
                  data={"rule": "R-FEE-COMPLIANCE"})
    _event(db, case, actor, "fee_charged", {"fee_type": FeeType.compliance, "amount_pence": amount})
    return _line(entry)


def charge_enforcement_fee(db: Session, leading_case: Case, visit_id: int, actor: str) -> LedgerLine:
    """R-FEE-ENFORCEMENT: one fee for the attendance ``visit_id`` covering every open warrant of the
    linked group, on the group's sum to be recovered, posted on the leading warrant."""
    return _charge_group_fee(db, leading_case, visit_id, actor, FeeType.enforcement, "R-FEE-ENFORCEMENT",
                             fees.enforcement_fee)


def charge_sale_fee(db: Session, leading_case: Case, visit_id: int, actor: str) -> LedgerLine:
    """R-FEE-SALE: as the enforcement fee, and only with the buyer's written permission to remove."""
    return _charge_group_fee(db, leading_case, visit_id, actor, FeeType.sale, "R-FEE-SALE", fees.sale_fee)


def _charge_group_fee(db: Session, leading_case: Case, visit_id: int, actor: str, fee_type: FeeType,
                      rule: str, scale: Callable[[int], int]) -> LedgerLine:
    group = _lock_group(db, leading_case)
    leader = next(c for c in group if c.id == leading_case.id)
    if len(group) > 1 and not leader.is_leading:
        real = next((c.id for c in group if c.is_leading), None)
        raise DomainError(rule, f"case {leader.id} is not the leading warrant of its linked group; "
                                f"post the fee on case {real}")
    _refuse_if_inactive(leader)
    if fee_type == FeeType.sale and not leader.removal_permission:
        raise DomainError(rule, f"case {leader.id}: no sale fee without the buyer's written permission "
                                "to remove goods")
    if leader.stage == Stage.compliance:
        raise DomainError("R-CASE-COMPLIANCE", f"case {leader.id} is still in the compliance stage")
    ids = [c.id for c in group]
    visit = db.get(Visit, visit_id)
    if visit is None or visit.case_id not in ids:
        raise DomainError("R-FEE-INCURRED", f"visit {visit_id} is not an attendance on case {leader.id} "
                                            "or its linked warrants")
    if visit.arrived_at > datetime.now(UTC):
        raise DomainError("R-FEE-INCURRED", f"visit {visit_id} has not happened yet")
    if db.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == LedgerKind.fee,
                                              LedgerEntry.fee_type == fee_type,
                                              LedgerEntry.visit_id == visit_id).limit(1)):
        raise DomainError(rule, f"a {fee_type} fee was already charged for visit {visit_id}")
    totals = _totals(db, ids)
    if sum(totals[i][LedgerKind.fee, fee_type] + totals[i][LedgerKind.fee_cancellation, fee_type] for i in ids):
        raise DomainError(rule, f"the linked group of case {leader.id} already carries a {fee_type} fee "
                                "for this stage")
    enforced = [c for c in group if c.status == CaseStatus.open and not c.on_hold]
    recover = sum(_sum_to_be_recovered(totals[c.id]) for c in enforced)
    amount = scale(recover)
    data = {"rule": rule, "sum_to_be_recovered_pence": recover, "warrants": [c.id for c in enforced]}
    entry = _post(db, leader, LedgerKind.fee, amount, actor, fee_type=fee_type, visit_id=visit_id, data=data)
    _event(db, leader, actor, "fee_charged", {"fee_type": fee_type, "amount_pence": amount,
                                              "visit_id": visit_id, **data})
    return _line(entry)


# --- money -----------------------------------------------------------------------------------------


def record_payment(db: Session, case: Case, amount_pence: int, reference: str, actor: str,
                   received_at: datetime | None = None) -> PaymentReceipt:
    """Take a payment made on ``case``, allocated over the open warrants of the same buyer in its
    linked group [R-PAY-ALLOC]. Idempotent on ``reference``: re-sending it changes nothing and returns
    the original allocation (a different amount under the same reference is refused)."""
    if not reference:
        raise DomainError("R-PAY-ALLOC", "a payment needs its external reference")
    group = [c for c in _lock_group(db, case) if c.buyer_id == case.buyer_id]
    earlier = db.execute(select(LedgerEntry.case_id, LedgerEntry.amount_pence)
                         .where(LedgerEntry.case_id.in_([c.id for c in group]),
                                LedgerEntry.kind == LedgerKind.payment, LedgerEntry.reference == reference)).all()
    if earlier:
        allocation = {case_id: -amount for case_id, amount in earlier}
        if sum(allocation.values()) != amount_pence:
            raise DomainError("R-PAY-ALLOC", f"payment reference {reference!r} was already recorded for "
                                             f"{sum(allocation.values())}p, not {amount_pence}p")
        return PaymentReceipt(case.id, reference, amount_pence, allocation, replayed=True)
    this = next(c for c in group if c.id == case.id)
    if this.status != CaseStatus.open:
        raise DomainError("R-CASE-HOLD", f"case {case.id} is {this.status}; it takes no payment")
    warrants = [fees.Warrant(c.id, c.current_balance_pence, c.is_leading, c.received_on)
                for c in group if c.status == CaseStatus.open]
    try:
        allocation = fees.allocate_payment(amount_pence, warrants)
    except fees.FeeError as exc:
        raise DomainError(exc.rule_id, str(exc).split(": ", 1)[1]) from None
    received = (received_at or datetime.now(UTC)).isoformat()
    by_id = {c.id: c for c in group}
    for case_id, share in allocation.items():
        data = {"rule": "R-PAY-ALLOC", "payment_pence": amount_pence, "paid_on_case": case.id,
                "received_at": received}
        _post(db, by_id[case_id], LedgerKind.payment, -share, actor, reference=reference, data=data)
        _event(db, by_id[case_id], actor, "payment_received",
               {"amount_pence": share, "reference": reference, **data})
    return PaymentReceipt(case.id, reference, amount_pence, allocation, replayed=False)


def record_refund(db: Session, case: Case, amount_pence: int, reason: str, actor: str,
                  reference: str | None = None) -> LedgerLine:
    """Pay money back to the customer (raises the balance). At most what the case has received net of
    earlier refunds. Idempotent on ``reference`` when one is given."""
    if amount_pence <= 0:
        raise DomainError("R-FEE-CANCEL", f"a refund must be positive, not {amount_pence}p")
    case = _lock(db, case.id)
    if reference:
        earlier = db.scalar(select(LedgerEntry).where(LedgerEntry.case_id == case.id, LedgerEntry.reference
                                                      == reference, LedgerEntry.kind == LedgerKind.refund))
        if earlier is not None:
            if earlier.amount_pence != amount_pence:
                raise DomainError("R-FEE-CANCEL", f"refund reference {reference!r} was already recorded for "
                                                  f"{earlier.amount_pence}p, not {amount_pence}p")
            return _line(earlier)
    t = _totals(db, [case.id])[case.id]
    refundable = -t[LedgerKind.payment, None] - t[LedgerKind.refund, None]
    if amount_pence > refundable:
        raise DomainError("R-FEE-CANCEL", f"case {case.id} has received {refundable}p net of refunds; "
                                          f"cannot refund {amount_pence}p")
    entry = _post(db, case, LedgerKind.refund, amount_pence, actor, reference=reference, data={"reason": reason})
    _event(db, case, actor, "refund", {"amount_pence": amount_pence, "reason": reason, "reference": reference})
    return _line(entry)


def cancel_fees(db: Session, case: Case, reason: str, actor: str, refund: bool = False) -> Cancellation:
    """R-FEE-CANCEL: take off every live fee of this warrant, compliance included, one negative
    ``fee_cancellation`` per fee type. With ``refund`` and money already paid beyond what is now owed
    (a negative balance), that money is refunded."""
    try:
        why = CancelReason(reason)
    except ValueError:
        raise DomainError("R-FEE-CANCEL", f"unknown reason {reason!r}; one of "
                                          + ", ".join(r.value for r in CancelReason)) from None
    case = _lock(db, case.id)
    t = _totals(db, [case.id])[case.id]
    live = {ft: t[LedgerKind.fee, ft] + t[LedgerKind.fee_cancellation, ft] for ft in FeeType}
    live = {ft: pence for ft, pence in live.items() if pence > 0}
    if not live:
        raise DomainError("R-FEE-CANCEL", f"case {case.id} carries no fees to cancel")
    for ft, pence in live.items():
        _post(db, case, LedgerKind.fee_cancellation, -pence, actor, fee_type=ft,
              data={"rule": "R-FEE-CANCEL", "reason": why})
    refunded = 0
    if refund and case.current_balance_pence < 0:
        refunded = -case.current_balance_pence
        _post(db, case, LedgerKind.refund, refunded, actor, data={"rule": "R-FEE-CANCEL", "reason": why})
    result = Cancellation(case.id, why, {ft.value: pence for ft, pence in live.items()}, refunded)
    _event(db, case, actor, "fees_cancelled", {"reason": why, "cancelled": result.cancelled,
                                               "refunded_pence": refunded})
    return result


# --- internals -------------------------------------------------------------------------------------


def _get_case(db: Session, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def _lock(db: Session, case_id: int) -> Case:
    """The case row, locked, fresh from the database (another writer may have moved its balance)."""
    case = db.scalar(select(Case).where(Case.id == case_id).with_for_update()
                     .execution_options(populate_existing=True))
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def _lock_group(db: Session, case: Case) -> list[Case]:
    """The case and its linked warrants, locked, fresh from the database."""
    where = Case.linked_group == case.linked_group if case.linked_group is not None else Case.id == case.id
    return list(db.scalars(select(Case).where(where).order_by(Case.id).with_for_update()
                           .execution_options(populate_existing=True)))


def _refuse_if_inactive(case: Case) -> None:
    if case.on_hold or case.status != CaseStatus.open:
        state = "on hold" if case.on_hold else case.status
        raise DomainError("R-CASE-HOLD", f"case {case.id} is {state}: no enforcement action, no fee")


def _sum_to_be_recovered(t: dict[tuple[str, str | None], int]) -> int:
    return fees.sum_to_be_recovered(
        max(0, t[LedgerKind.debt, None] + t[LedgerKind.adjustment, None]),
        max(0, t[LedgerKind.fee, FeeType.compliance] + t[LedgerKind.fee_cancellation, FeeType.compliance]),
        max(0, -t[LedgerKind.payment, None] - t[LedgerKind.refund, None]))


def _totals(db: Session, case_ids: list[int]) -> dict[int, dict[tuple[str, str | None], int]]:
    """Sum of entries per case by (kind, fee type); missing combinations read as 0."""
    totals: dict[int, dict[tuple[str, str | None], int]] = {i: defaultdict(int) for i in case_ids}
    rows = db.execute(select(LedgerEntry.case_id, LedgerEntry.kind, LedgerEntry.fee_type,
                             func.sum(LedgerEntry.amount_pence))
                      .where(LedgerEntry.case_id.in_(case_ids))
                      .group_by(LedgerEntry.case_id, LedgerEntry.kind, LedgerEntry.fee_type))
    for case_id, kind, fee_type, total in rows:
        totals[case_id][LedgerKind(kind), FeeType(fee_type) if fee_type else None] = int(total)
    return totals


def _has(db: Session, case_id: int, kind: LedgerKind, fee_type: FeeType | None = None) -> bool:
    query = select(LedgerEntry.id).where(LedgerEntry.case_id == case_id, LedgerEntry.kind == kind)
    if fee_type is not None:
        query = query.where(LedgerEntry.fee_type == fee_type)
    return db.scalar(query.limit(1)) is not None


def _post(db: Session, case: Case, kind: LedgerKind, amount_pence: int, actor: str, *,
          fee_type: FeeType | None = None, visit_id: int | None = None, reference: str | None = None,
          data: dict[str, Any] | None = None) -> LedgerEntry:
    """The one place a balance moves: the entry and the balance change together."""
    entry = LedgerEntry(case_id=case.id, kind=kind, fee_type=fee_type, amount_pence=amount_pence,
                        visit_id=visit_id, reference=reference, actor=actor, data=data or {})
    db.add(entry)
    case.current_balance_pence += amount_pence
    db.flush()
    return entry


def _event(db: Session, case: Case, actor: str, kind: str, data: dict[str, Any]) -> None:
    db.add(CaseEvent(case_id=case.id, actor=actor, kind=kind, data=data))


def _line(e: LedgerEntry) -> LedgerLine:
    return LedgerLine(e.id, e.case_id, e.at, e.kind, e.fee_type, e.amount_pence, e.visit_id, e.reference,
                      e.actor, e.data)
