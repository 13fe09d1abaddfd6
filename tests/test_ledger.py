"""The case ledger (core.ledger) against the real database: fees, payments, refunds, cancellations,
and the invariant that every balance is the sum of its ledger entries [R-CASE-AUDIT]."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core import session_scope
from core.errors import DomainError
from core.ledger import (
    cancel_fees,
    charge_compliance_fee,
    charge_enforcement_fee,
    charge_sale_fee,
    fee_breakdown,
    ledger_of,
    record_payment,
    record_refund,
)
from core.models import Case, CaseEvent, LedgerEntry, Visit
from tests.case_world import make_cases
from tests.helpers import unique

ACTOR = "test"


def make_visit(db, case: Case, *, hours_ago: float = 1) -> Visit:
    visit = Visit(case_id=case.id, arrived_at=datetime.now(UTC) - timedelta(hours=hours_ago),
                  outcome="no_contact", recorded_by=ACTOR)
    db.add(visit)
    db.flush()
    return visit


def ledger_sum(db, case_id: int) -> int:
    return db.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
                     .where(LedgerEntry.case_id == case_id))


def assert_balanced(db, *cases: Case) -> None:
    for case in cases:
        db.refresh(case)
        assert case.current_balance_pence == ledger_sum(db, case.id), case.id


def test_compliance_fee_once_per_warrant(db):
    (case,) = make_cases(db, [500_00])
    assert case.current_balance_pence == 575_00
    with pytest.raises(DomainError) as err:
        charge_compliance_fee(db, case, ACTOR)
    assert err.value.rule_id == "R-FEE-COMPLIANCE"
    assert_balanced(db, case)


def test_no_compliance_fee_before_the_notice(db):
    (case,) = make_cases(db, [500_00], noticed=False)
    with pytest.raises(DomainError) as err:
        charge_compliance_fee(db, case, ACTOR)
    assert err.value.rule_id == "R-FEE-INCURRED"


def test_linked_warrants_carry_one_enforcement_fee_on_the_leader(db):
    """Two linked £900 warrants enforced at one visit: one fee on £1,800 = £257.50 [R-FEE-ENFORCEMENT]."""
    leader, other = make_cases(db, [900_00, 900_00])
    visit = make_visit(db, other)
    line = charge_enforcement_fee(db, leader, visit.id, ACTOR)
    assert (line.case_id, line.amount_pence, line.visit_id) == (leader.id, 257_50, visit.id)
    assert line.data["sum_to_be_recovered_pence"] == 1_800_00
    assert leader.current_balance_pence == 900_00 + 75_00 + 257_50
    assert other.current_balance_pence == 900_00 + 75_00
    with pytest.raises(DomainError) as err:   # the same visit again
        charge_enforcement_fee(db, leader, visit.id, ACTOR)
    assert err.value.rule_id == "R-FEE-ENFORCEMENT"
    with pytest.raises(DomainError) as err:   # a later visit in the same stage
        charge_enforcement_fee(db, leader, make_visit(db, leader).id, ACTOR)
    assert err.value.rule_id == "R-FEE-ENFORCEMENT"
    with pytest.raises(DomainError) as err:   # never on a follower
        charge_enforcement_fee(db, other, make_visit(db, other).id, ACTOR)
    assert err.value.rule_id == "R-FEE-ENFORCEMENT" and str(leader.id) in err.value.message
    events = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == leader.id)).all()
    assert "fee_charged" in events
    assert_balanced(db, leader, other)


@pytest.mark.parametrize(("debt", "fee"), [(1_000_00, 235_00), (3_000_00, 347_50)])
def test_enforcement_fee_worked_examples_on_the_ledger(db, debt, fee):
    (case,) = make_cases(db, [debt])
    assert charge_enforcement_fee(db, case, make_visit(db, case).id, ACTOR).amount_pence == fee


@pytest.mark.parametrize(("setup", "rule"), [
    ({"on_hold": True}, "R-CASE-HOLD"),
    ({"status": "paid"}, "R-CASE-HOLD"),
    ({"status": "returned"}, "R-CASE-HOLD"),
    ({"status": "closed"}, "R-CASE-HOLD"),
    ({"stage": "compliance"}, "R-CASE-COMPLIANCE"),
])
def test_no_enforcement_fee_on_a_case_that_may_not_be_enforced(db, setup, rule):
    (case,) = make_cases(db, [1_000_00])
    for column, value in setup.items():
        setattr(case, column, value)
    db.flush()
    with pytest.raises(DomainError) as err:
        charge_enforcement_fee(db, case, make_visit(db, case).id, ACTOR)
    assert err.value.rule_id == rule


def test_no_fee_for_a_visit_that_has_not_happened(db):
    """R-FEE-INCURRED"""
    (case,) = make_cases(db, [1_000_00])
    with pytest.raises(DomainError) as err:
        charge_enforcement_fee(db, case, make_visit(db, case, hours_ago=-2).id, ACTOR)
    assert err.value.rule_id == "R-FEE-INCURRED"


def test_sale_fee_needs_removal_permission(db):
    (case,) = make_cases(db, [3_000_00], stage="sale")
    with pytest.raises(DomainError) as err:
        charge_sale_fee(db, case, make_visit(db, case).id, ACTOR)
    assert err.value.rule_id == "R-FEE-SALE"
    (allowed,) = make_cases(db, [3_000_00], stage="sale", removal_permission=True)
    assert charge_sale_fee(db, allowed, make_visit(db, allowed).id, ACTOR).amount_pence == 222_50


def test_payment_closes_whole_warrants_and_is_idempotent(db):
    """R-PAY-ALLOC: £600 over warrants owing £575, £275 (leader £1,075 after its fee)."""
    leader, small, middle = make_cases(db, [1_000_00, 200_00, 500_00])
    receipt = record_payment(db, leader, 900_00, "bank-1", ACTOR)
    assert receipt.allocation == {small.id: 275_00, middle.id: 575_00, leader.id: 50_00}
    assert not receipt.replayed
    again = record_payment(db, leader, 900_00, "bank-1", ACTOR)
    assert again.replayed and again.allocation == receipt.allocation
    assert [c.current_balance_pence for c in (leader, small, middle)] == [1_025_00, 0, 0]
    with pytest.raises(DomainError) as err:
        record_payment(db, leader, 1_00, "bank-1", ACTOR)
    assert err.value.rule_id == "R-PAY-ALLOC"
    with pytest.raises(DomainError) as err:
        record_payment(db, leader, 1_025_01, "bank-2", ACTOR)
    assert err.value.rule_id == "R-PAY-ALLOC" and "exceeds" in err.value.message
    assert_balanced(db, leader, small, middle)


def test_fees_after_an_accepted_out_of_time_witness_statement_are_all_cancelled(db):
    """R-FEE-CANCEL [000 §1.70]: compliance and enforcement fees go; the balance is the debt."""
    (case,) = make_cases(db, [3_000_00])
    charge_enforcement_fee(db, case, make_visit(db, case).id, ACTOR)
    result = cancel_fees(db, case, "out_of_time_witness_statement", ACTOR)
    assert result.cancelled == {"compliance": 75_00, "enforcement": 347_50}
    breakdown = fee_breakdown(db, case.id)
    assert breakdown.balance_pence == breakdown.debt_pence == 3_000_00
    assert breakdown.fees_net_pence == 0
    assert {line.fee_type: line.cancelled_pence for line in breakdown.fees}["enforcement"] == 347_50
    with pytest.raises(DomainError) as err:
        cancel_fees(db, case, "buyer_decision", ACTOR)
    assert err.value.rule_id == "R-FEE-CANCEL"
    assert_balanced(db, case)


def test_cancelling_fees_already_paid_refunds_the_excess(db):
    (case,) = make_cases(db, [100_00])
    record_payment(db, case, 175_00, unique("pay"), ACTOR)
    result = cancel_fees(db, case, "proof_of_earlier_payment", ACTOR, refund=True)
    assert result.refunded_pence == 75_00
    breakdown = fee_breakdown(db, case.id)
    assert (breakdown.paid_pence, breakdown.refunded_pence, breakdown.balance_pence) == (175_00, 75_00, 0)
    assert [line.kind for line in ledger_of(db, case.id)][-2:] == ["fee_cancellation", "refund"]


def test_refund_at_most_what_was_received(db):
    (case,) = make_cases(db, [100_00])
    record_payment(db, case, 50_00, unique("pay"), ACTOR)
    with pytest.raises(DomainError):
        record_refund(db, case, 50_01, "overpaid", ACTOR)
    record_refund(db, case, 50_00, "cheque bounced", ACTOR, reference="r1")
    assert record_refund(db, case, 50_00, "cheque bounced", ACTOR, reference="r1").amount_pence == 50_00
    assert case.current_balance_pence == 175_00
    assert_balanced(db, case)


@pytest.mark.parametrize("statement", ["UPDATE ledger_entry SET amount_pence = 0 WHERE id = :id",
                                       "DELETE FROM ledger_entry WHERE id = :id"])
def test_ledger_is_append_only(geodata_loaded, statement):
    with session_scope() as db:
        (case,) = make_cases(db, [100_00])
        entry_id = ledger_of(db, case.id)[0].id
    with pytest.raises(DBAPIError, match="R-CASE-AUDIT"), session_scope() as db:
        db.execute(text(statement), {"id": entry_id})


# A step: (operation, warrant index, amount in pounds).
steps = st.lists(st.tuples(st.sampled_from(["enforce", "sale", "pay", "refund", "cancel", "place"]),
                           st.integers(0, 2), st.integers(1, 2_500)), max_size=12)


def _group(db, leader: Case, cases: list[Case]) -> list[Case]:
    """The leader's linked warrants among ``cases`` (a warrant placed by a later step stands alone)."""
    for c in cases:
        db.refresh(c)
    if leader.linked_group is None:
        return [leader]
    return [c for c in cases if c.linked_group == leader.linked_group]


def _live_fee(db, case: Case, fee_type: str) -> int:
    return next(line.net_pence for line in fee_breakdown(db, case.id).fees if line.fee_type == fee_type)


def expected_refusal(db, op: str, case: Case, cases: list[Case], pence: int) -> str | None:
    """The rule that must refuse the step, or None when it must succeed (core.ledger's decisions, read
    off the ledger as it stands before the step)."""
    group = _group(db, cases[0], cases)
    if op in ("enforce", "sale"):
        if case not in group:
            return "R-FEE-INCURRED"  # the visit is at a warrant outside the leader's group
        fee_type, rule = ("enforcement", "R-FEE-ENFORCEMENT") if op == "enforce" else ("sale", "R-FEE-SALE")
        return rule if sum(_live_fee(db, c, fee_type) for c in group) else None
    if op == "pay":
        payable = _group(db, case, cases)
        return "R-PAY-ALLOC" if pence > sum(max(c.current_balance_pence, 0) for c in payable) else None
    if op == "refund":
        breakdown = fee_breakdown(db, case.id)
        return "R-FEE-CANCEL" if pence > breakdown.paid_pence - breakdown.refunded_pence else None
    if op == "cancel":
        return None if any(line.net_pence > 0 for line in fee_breakdown(db, case.id).fees) else "R-FEE-CANCEL"
    return None  # placing another warrant


# Placement refuses a zero debt (nothing to enforce), so every warrant owes at least a pound.
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(debts=st.lists(st.integers(1, 4_000), min_size=1, max_size=3), steps=steps)
def test_every_balance_is_the_sum_of_its_ledger(geodata_loaded, debts, steps):
    """Whatever the sequence, each step succeeds or is refused under the rule that governs it, each
    balance equals its ledger sum, and a balance is negative only as a credit after fees already paid
    were cancelled without refund (core.ledger docstring)."""
    with session_scope() as db:
        cases = make_cases(db, [d * 100 for d in debts], removal_permission=True)
        credit_allowed = set()
        for op, index, pounds in steps:
            case = cases[index % len(cases)]

            def step() -> None:
                if op == "enforce":
                    charge_enforcement_fee(db, cases[0], make_visit(db, case).id, ACTOR)
                elif op == "sale":
                    charge_sale_fee(db, cases[0], make_visit(db, case).id, ACTOR)
                elif op == "pay":
                    record_payment(db, case, pounds * 100, unique("pay"), ACTOR)
                elif op == "refund":
                    record_refund(db, case, pounds * 100, "test", ACTOR)
                elif op == "cancel":
                    cancel_fees(db, case, "buyer_decision", ACTOR, refund=pounds % 2 == 0)
                    if pounds % 2:
                        credit_allowed.add(case.id)
                else:
                    cases.extend(make_cases(db, [pounds * 100], buyer=cases[0].buyer))

            refusal = expected_refusal(db, op, case, cases, pounds * 100)
            if refusal is None:
                step()
            else:
                with pytest.raises(DomainError) as refused, db.begin_nested():
                    step()
                assert refused.value.rule_id == refusal, (op, str(refused.value))
            for c in cases:
                db.refresh(c)
                assert c.current_balance_pence == ledger_sum(db, c.id)
                assert c.current_balance_pence >= 0 or c.id in credit_allowed
        db.rollback()
