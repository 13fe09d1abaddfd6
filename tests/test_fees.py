"""The fee scale and payment allocation (core.fees): pure functions, table-driven worked examples."""
from __future__ import annotations

from datetime import date, datetime
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import fees
from core.clock import LONDON
from core.fees import (
    FeeError,
    Warrant,
    allocate_payment,
    compliance_fee,
    enforcement_fee,
    percentage_part,
    sale_fee,
    sum_to_be_recovered,
)


def test_compliance_fee_is_75_pounds_per_warrant():
    """R-FEE-COMPLIANCE"""
    assert compliance_fee() == 75_00


@pytest.mark.parametrize(("sum_pence", "fee_pence"), [
    (0, 235_00),
    (1_000_00, 235_00),                 # £1,000 → £235.00
    (1_500_00, 235_00),                 # the threshold itself carries no percentage
    (1_800_00, 257_50),                 # two linked £900 warrants: one fee on £1,800
    (3_000_00, 347_50),                 # £235 + £112.50
    (10_000_00, 235_00 + 637_50),
])
def test_enforcement_fee_worked_examples(sum_pence, fee_pence):
    """R-FEE-ENFORCEMENT"""
    assert enforcement_fee(sum_pence) == fee_pence


@pytest.mark.parametrize(("sum_pence", "fee_pence"), [
    (1_000_00, 110_00),
    (3_000_00, 222_50),                 # £110 + £112.50
])
def test_sale_fee_worked_examples(sum_pence, fee_pence):
    """R-FEE-SALE"""
    assert sale_fee(sum_pence) == fee_pence


def test_sale_fee_needs_removal_permission():
    with pytest.raises(FeeError) as err:
        sale_fee(1_000_00, removal_permission=False)
    assert err.value.rule_id == "R-FEE-SALE"
    assert str(err.value).startswith("R-FEE-SALE: ")


@pytest.mark.parametrize(("excess_pence", "percent_pence"), [
    (1, 0),      # 0.075p
    (13, 0),     # 0.975p: rounds down, never up
    (14, 1),     # 1.05p
    (26, 1),     # 1.95p
    (27, 2),     # 2.025p
    (40, 3),     # exactly 3p
    (1_333, 99),  # 99.975p
    (1_334, 100),  # 100.05p
])
def test_percentage_rounds_down_to_the_penny(excess_pence, percent_pence):
    """The 7.5% is a statutory maximum: the fraction of a penny is dropped (module docstring)."""
    assert percentage_part(1_500_00 + excess_pence) == percent_pence
    assert enforcement_fee(1_500_00 + excess_pence) == 235_00 + percent_pence


@given(st.integers(min_value=0, max_value=10**10))
def test_percentage_never_exceeds_the_exact_seven_and_a_half_percent(sum_pence):
    part = percentage_part(sum_pence)
    exact_thousandths = max(0, sum_pence - 1_500_00) * 75   # the exact fee in 1/1000 p
    assert part * 1000 <= exact_thousandths < (part + 1) * 1000


@pytest.mark.parametrize("bad", [1.5, "100", True])
def test_money_is_integer_pence(bad):
    with pytest.raises(TypeError):
        enforcement_fee(bad)


@pytest.mark.parametrize(("debt", "compliance", "paid", "expected"), [
    (900_00, 75_00, 0, 900_00),          # the compliance fee is not part of it
    (900_00, 75_00, 50_00, 900_00),      # a payment meets the compliance fee first [004 §8.2]
    (900_00, 75_00, 175_00, 800_00),
    (900_00, 0, 1_000_00, 0),            # never negative
])
def test_sum_to_be_recovered(debt, compliance, paid, expected):
    assert sum_to_be_recovered(debt, compliance, paid) == expected


def _w(case_id, pence, leading=False, received=None):
    return Warrant(case_id, pence, is_leading=leading, received_on=received)


@pytest.mark.parametrize(("amount", "warrants", "expected"), [
    # R-PAY-ALLOC: close whole warrants, smallest first, rather than spreading.
    (300_00, [_w(1, 500_00, True), _w(2, 100_00), _w(3, 200_00)], {2: 100_00, 3: 200_00}),
    # The remainder goes to the leading warrant when it is still open …
    (350_00, [_w(1, 500_00, True), _w(2, 100_00), _w(3, 200_00)], {2: 100_00, 3: 200_00, 1: 50_00}),
    # … otherwise to the next warrant in closing order.
    (200_00, [_w(1, 100_00, True), _w(2, 300_00), _w(3, 400_00)], {1: 100_00, 2: 100_00}),
    # Paid-off warrants take nothing.
    (100_00, [_w(1, 0, True), _w(2, 150_00)], {2: 100_00}),
    # Ties: the warrant placed first closes first.
    (100_00, [_w(1, 100_00, True, date(2025, 3, 1)), _w(2, 100_00, False, date(2025, 1, 1))], {2: 100_00}),
    # Paying everything closes everything.
    (600_00, [_w(1, 500_00, True), _w(2, 100_00)], {1: 500_00, 2: 100_00}),
])
def test_allocate_payment(amount, warrants, expected):
    assert allocate_payment(amount, warrants) == expected


@pytest.mark.parametrize("amount", [0, -1, 600_01])
def test_allocate_payment_refuses_nothing_or_overpayment(amount):
    with pytest.raises(FeeError) as err:
        allocate_payment(amount, [_w(1, 500_00, True), _w(2, 100_00)])
    assert err.value.rule_id == "R-PAY-ALLOC"


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=6), st.data())
def test_allocation_closes_as_many_warrants_as_any_split_could(balances, data):
    warrants = [_w(i, b, i == 0) for i, b in enumerate(balances)]
    total = sum(balances)
    if total == 0:
        return
    amount = data.draw(st.integers(min_value=1, max_value=total))
    shares = allocate_payment(amount, warrants)
    assert sum(shares.values()) == amount
    assert all(0 < shares[i] <= balances[i] for i in shares)
    closed = sum(1 for i, b in enumerate(balances) if b > 0 and shares.get(i) == b)
    best = max(k for k in range(len(balances) + 1)
               if any(sum(c) <= amount for c in combinations([b for b in balances if b > 0], k))
               or k == 0)
    assert closed == best
    assert sum(1 for i in shares if shares[i] < balances[i]) <= 1   # never spread


# --- storage (R-FEE-INCURRED, [000 §2.131]) ---------------------------------------------------------

@pytest.mark.parametrize("removed, until, periods", [
    # Removed Monday 14:00; the clock starts at midnight ending Monday.
    ((2026, 11, 23, 14, 0), (2026, 11, 23, 23, 59), 0),
    ((2026, 11, 23, 14, 0), (2026, 11, 24, 23, 59), 0),   # 23 h 59 m is not a full 24 hours
    ((2026, 11, 23, 14, 0), (2026, 11, 25, 0, 0), 1),
    ((2026, 11, 23, 0, 5), (2026, 11, 27, 9, 0), 3),
    # Sunday 25 October 2026 has 25 hours: a full 24 hours from its midnight ends at 23:00 that day.
    ((2026, 10, 24, 10, 0), (2026, 10, 25, 22, 59), 0),
    ((2026, 10, 24, 10, 0), (2026, 10, 25, 23, 0), 1),
])
def test_storage_counts_full_days_from_midnight_after_removal(removed, until, periods):
    removed_at, until_at = datetime(*removed, tzinfo=LONDON), datetime(*until, tzinfo=LONDON)
    assert fees.storage_periods(removed_at, until_at) == periods
    assert fees.storage_fee(removed_at, until_at, 12_50) == periods * 12_50


def test_storage_needs_aware_times_and_a_positive_rate():
    with pytest.raises(ValueError):
        fees.storage_periods(datetime(2026, 11, 23, 14), datetime(2026, 11, 30, 14))
    with pytest.raises(ValueError):
        fees.storage_fee(datetime(2026, 11, 23, tzinfo=LONDON), datetime(2026, 11, 30, tzinfo=LONDON), -1)
