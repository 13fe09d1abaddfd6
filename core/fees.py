"""The statutory fee scale and payment allocation, as pure functions over integer pence (no I/O).
``core.ledger`` posts what these compute.

Fees (Taking Control of Goods (Fees) Regulations 2014; [004 fee table], [000 §1.97–1.110]):

- R-FEE-COMPLIANCE: £75 per warrant.
- R-FEE-ENFORCEMENT: £235 plus 7.5% of the part of the sum to be recovered above £1,500.
- R-FEE-SALE: £110 plus 7.5% of the part above £1,500, only with the buyer's written permission to
  remove [000 §1.99].

- R-FEE-INCURRED storage: only for goods removed, from midnight on the day of removal, for each full
  24 hours held [000 §2.131] (``storage_periods``); the rate is the store's reasonable cost, an input.

**Sum to be recovered** is the debt still owed, without fees: the placed debt (and buyer adjustments)
less what has been paid towards it. For linked warrants enforced together it is the sum over the
warrants, so one fee is charged on the total (2 × £900 → one fee on £1,800) [000 §1.109]. Compliance
fees are not part of it. Payments go to the compliance fee first [004 §8.2 item 3], so only the part of
a payment beyond the compliance fees reduces the sum to be recovered (``sum_to_be_recovered``).

**Rounding**: 7.5% of an amount in pence is rarely a whole penny (7.5% of £0.13 is 0.975p). The
percentage part is rounded **down** to the whole penny: the scale is a statutory maximum ("fees must
not exceed the statutory amounts" [004 appendix]), so rounding up would overcharge by a fraction of a
penny. It is computed exactly in integers (``excess * 75 // 1000``), never with floats.

**Allocation** (R-PAY-ALLOC, [000 §1.110]): a payment that does not cover every warrant of a linked
group closes as many whole warrants as possible instead of spreading. Smallest outstanding balance
first is the order that closes the most (any other choice of k warrants costs at least as much as the k
smallest); ties go to the warrant placed first, then the lower id, so the result is deterministic. The
source does not say where the remainder goes; it goes to the leading warrant when that is still open
(it carries the group's enforcement and sale fees, so the remainder pays towards those), otherwise to
the next warrant in closing order, so it never spreads across more than one unclosed warrant.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.clock import LONDON

COMPLIANCE_FEE_PENCE = 75_00
ENFORCEMENT_FIXED_PENCE = 235_00
SALE_FIXED_PENCE = 110_00
PERCENTAGE_THRESHOLD_PENCE = 1_500_00
# 7.5% as an exact ratio, so the percentage never passes through a float.
PERCENTAGE_NUMERATOR, PERCENTAGE_DENOMINATOR = 75, 1000


class FeeError(ValueError):
    """A fee the scale does not allow, naming the rule (``rule_id``)."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"{rule_id}: {message}")
        self.rule_id = rule_id


def percentage_part(sum_to_recover_pence: int) -> int:
    """7.5% of the part above £1,500, rounded down to the whole penny (see the module docstring)."""
    _check_amount(sum_to_recover_pence, "sum to be recovered")
    excess = max(0, sum_to_recover_pence - PERCENTAGE_THRESHOLD_PENCE)
    return excess * PERCENTAGE_NUMERATOR // PERCENTAGE_DENOMINATOR


def compliance_fee() -> int:
    """R-FEE-COMPLIANCE: the same £75 on every warrant, whatever its size."""
    return COMPLIANCE_FEE_PENCE


def enforcement_fee(sum_to_recover_pence: int) -> int:
    """R-FEE-ENFORCEMENT: £235 + 7.5% above £1,500 of the (group's) sum to be recovered."""
    return ENFORCEMENT_FIXED_PENCE + percentage_part(sum_to_recover_pence)


def sale_fee(sum_to_recover_pence: int, *, removal_permission: bool = True) -> int:
    """R-FEE-SALE: £110 + 7.5% above £1,500; refused without the buyer's permission to remove."""
    if not removal_permission:
        raise FeeError("R-FEE-SALE", "no sale fee without the buyer's written permission to remove goods")
    return SALE_FIXED_PENCE + percentage_part(sum_to_recover_pence)


def storage_periods(removed_at: datetime, until: datetime) -> int:
    """R-FEE-INCURRED: the full 24-hour periods goods removed at ``removed_at`` have been stored by
    ``until`` [000 §2.131]. The clock starts at the midnight that ends the day of removal (London
    time): starting at the midnight before it would charge for hours before the goods were taken."""
    if removed_at.tzinfo is None or until.tzinfo is None:
        raise ValueError("removed_at and until must be timezone-aware")
    start = datetime.combine(removed_at.astimezone(LONDON).date() + timedelta(days=1), time(0), LONDON)
    # Elapsed time in UTC: subtracting two times of one zone gives wall-clock hours, wrong across the
    # clock changes.
    return max(int((until.astimezone(UTC) - start.astimezone(UTC)) // timedelta(hours=24)), 0)


def storage_fee(removed_at: datetime, until: datetime, daily_rate_pence: int) -> int:
    """The storage fee for goods held from ``removed_at`` to ``until`` at ``daily_rate_pence`` per
    full 24 hours (R-FEE-INCURRED)."""
    _check_amount(daily_rate_pence, "daily_rate_pence")
    return storage_periods(removed_at, until) * daily_rate_pence


def sum_to_be_recovered(debt_pence: int, compliance_fees_pence: int, paid_pence: int) -> int:
    """The debt still owed, without fees, for one warrant: payments meet the compliance fee first
    [004 §8.2], and only the rest reduces the debt. Never below zero."""
    for value, name in ((debt_pence, "debt"), (compliance_fees_pence, "compliance fees"), (paid_pence, "paid")):
        _check_amount(value, name)
    return max(0, debt_pence - max(0, paid_pence - compliance_fees_pence))


@dataclass(frozen=True)
class Warrant:
    """One warrant of a linked group as allocation sees it."""

    case_id: int
    outstanding_pence: int
    is_leading: bool = False
    received_on: date | None = None


def allocate_payment(amount_pence: int, warrants: Sequence[Warrant]) -> dict[int, int]:
    """R-PAY-ALLOC: split ``amount_pence`` over ``warrants`` closing as many whole warrants as possible
    (order and remainder in the module docstring). Returns case id → pence, only non-zero shares.
    Raises ``FeeError`` for a payment larger than everything outstanding: there is nothing to pay."""
    if amount_pence <= 0:
        raise FeeError("R-PAY-ALLOC", f"a payment must be positive, not {amount_pence}p")
    open_warrants = [w for w in warrants if w.outstanding_pence > 0]
    outstanding = sum(w.outstanding_pence for w in open_warrants)
    if amount_pence > outstanding:
        raise FeeError("R-PAY-ALLOC", f"payment of {amount_pence}p exceeds the {outstanding}p outstanding")
    order = sorted(open_warrants, key=lambda w: (w.outstanding_pence, w.received_on or date.min, w.case_id))
    shares: dict[int, int] = {}
    left = amount_pence
    unclosed = []
    for warrant in order:
        if warrant.outstanding_pence <= left:
            shares[warrant.case_id] = warrant.outstanding_pence
            left -= warrant.outstanding_pence
        else:
            unclosed.append(warrant)
    if left:
        # Ascending order means the remainder is smaller than every unclosed balance, so it fits on any
        # one of them; the leader is preferred (module docstring).
        target = next((w for w in unclosed if w.is_leading), unclosed[0])
        shares[target.case_id] = left
    return shares


def _check_amount(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be integer pence, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative ({value}p)")
