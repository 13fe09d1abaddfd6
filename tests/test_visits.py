"""Visits as data: every outcome's effect on the case (``core.visits.apply_outcome``), and what a visit
that broke a rule does."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.errors import DomainError
from core.ledger import fee_breakdown
from core.models import Address, CaseEvent, Visit
from core.visits import record_visit
from tests.case_world import make_agent, make_buyer, make_case

# A Tuesday morning, inside every policy's hours and on no bank holiday.
TUESDAY = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
ENFORCEMENT = {"stage": "enforcement", "notice_issued_on": date(2026, 1, 6), "enforcement_stage_on": date(2026, 2, 2)}


@pytest.fixture
def buyer(db, policies_loaded):
    return make_buyer(db, "ccs_default")


@pytest.fixture
def agent(db):
    return make_agent(db)


def _enforcement_fees(db, case_id) -> int:
    return next(line.charged_pence for line in fee_breakdown(db, case_id).fees if line.fee_type == "enforcement")


def _visit(db, case, outcome, at, agent, **kw):
    return record_visit(db, case_id=case.id, outcome=outcome, arrived_at=at, actor="user:agent",
                        agent_id=agent.id, departed_at=at + timedelta(minutes=10), **kw)


def test_linked_group_pays_one_enforcement_fee_on_the_leader_and_starts_the_anpr_clock(db, buyer, agent):
    leader = make_case(db, buyer, **ENFORCEMENT)
    # Placed at the leader's address for the same debtor: placement links the two, the leader leading.
    other = make_case(db, buyer, address=leader.address, debtor=leader.debtor, **ENFORCEMENT)
    assert (other.linked_group, leader.is_leading, other.is_leading) == (leader.id, True, False)
    first = _visit(db, other, "no_contact", TUESDAY, agent)
    # R-FEE-ENFORCEMENT: £235 + 7.5% of (2 × £500 − £1,500 → nothing above) on the leader, none on the other.
    assert first.effects == ["enforcement_fee", "anpr_clock"]
    assert (_enforcement_fees(db, leader.id), _enforcement_fees(db, other.id)) == (235_00, 0)
    # R-ANPR-24H: both warrants at the address, 24 hours after arrival.
    assert leader.anpr_eligible_from == other.anpr_eligible_from == TUESDAY + timedelta(hours=24)
    assert first.visit.time_band == "office"
    second = _visit(db, leader, "refused", TUESDAY + timedelta(days=1), agent)
    assert second.effects == []  # the group already carries its fee; the clock already runs
    assert _enforcement_fees(db, leader.id) == 235_00
    assert leader.anpr_eligible_from == TUESDAY + timedelta(hours=24)


def test_the_24_hour_gap_after_no_contact_refuses_or_flags(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    _visit(db, case, "no_contact", TUESDAY, agent)
    with pytest.raises(DomainError) as refused:
        _visit(db, case, "refused", TUESDAY + timedelta(hours=3), agent)
    assert refused.value.rule_id == "R-VISIT-GAP"
    assert len(db.scalars(select(Visit).where(Visit.case_id == case.id)).all()) == 1
    # The agent insists it happened: stored as evidence, flagged, and earning nothing.
    flagged = _visit(db, case, "refused", TUESDAY + timedelta(hours=3), agent, acknowledge_breach=True)
    assert flagged.breaches == ("R-VISIT-GAP",)
    breach = db.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "visit_breach"))
    assert breach.data["visit_id"] == flagged.visit.id and breach.data["rules"] == ["R-VISIT-GAP"]
    assert flagged.effects == []


def test_breach_visit_earns_no_fee(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    late = _visit(db, case, "no_contact", TUESDAY.replace(hour=22), agent, acknowledge_breach=True)
    assert late.breaches == ("R-VISIT-HOURS",)
    assert (late.effects, _enforcement_fees(db, case.id), case.anpr_eligible_from) == ([], 0, None)


def test_vulnerable_outcome_reverts_to_compliance_without_a_fee(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    record = _visit(db, case, "vulnerable", TUESDAY, agent, notes="carer says customer is terminally ill")
    assert record.effects == ["flag_vulnerable"]
    assert (case.vulnerable, case.stage, case.vulnerability_note) == (True, "compliance",
                                                                       "carer says customer is terminally ill")
    assert _enforcement_fees(db, case.id) == 0
    with pytest.raises(DomainError) as refused:  # R-CASE-VULN: no further enforcement visit
        _visit(db, case, "no_contact", TUESDAY + timedelta(days=2), agent)
    assert "R-CASE-VULN" in str(refused.value)


def test_sensitive_venue_flags_the_address_and_stops_visits(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    record = _visit(db, case, "sensitive_venue", TUESDAY, agent, notes="address is a hospice")
    assert record.effects == ["address_flagged_sensitive"]
    address = db.get(Address, case.address_id)
    assert (address.sensitive, address.sensitive_note) == (True, "address is a hospice")
    assert _enforcement_fees(db, case.id) == 0
    with pytest.raises(DomainError) as refused:
        _visit(db, case, "refused", TUESDAY + timedelta(days=2), agent)
    assert refused.value.rule_id == "R-VISIT-SENSITIVE"
    # Turning away again is still recorded, though the visit is itself a breach.
    again = _visit(db, case, "sensitive_venue", TUESDAY + timedelta(days=3), agent)
    assert again.breaches == ("R-VISIT-SENSITIVE",)


def test_doorstep_payment_in_full_marks_the_case_paid(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    record = _visit(db, case, "paid", TUESDAY, agent, amount_pence=500_00 + 235_00, payment_reference="RCPT-1")
    assert record.effects == ["enforcement_fee", "anpr_clock", "payment", "mark_paid"]
    assert (case.current_balance_pence, case.status) == (0, "paid")


def test_arrangement_outcome_starts_the_arrangement(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    record = _visit(db, case, "arrangement", TUESDAY, agent)
    assert record.effects == ["enforcement_fee", "anpr_clock", "start_arrangement"]
    assert (case.under_arrangement, case.arrangement_since) == (True, TUESDAY.date())


def test_a_future_visit_is_refused(db, buyer, agent):
    case = make_case(db, buyer, **ENFORCEMENT)
    with pytest.raises(DomainError) as refused:
        _visit(db, case, "no_contact", datetime.now(UTC) + timedelta(hours=1), agent)
    assert refused.value.rule_id == "R-VISIT-EVIDENCE"


def test_a_batch_of_visits_is_checked_stored_and_applied_as_one_by_one(db, buyer, agent):
    from core.visits import VisitReport, record_visits

    fresh, gapped, paying = (make_case(db, buyer, **ENFORCEMENT) for _ in range(3))
    _visit(db, gapped, "no_contact", TUESDAY - timedelta(hours=2), agent)  # R-VISIT-GAP for the batch's
    out = record_visits(db, [
        VisitReport(fresh.id, "no_contact", TUESDAY, agent.id, departed_at=TUESDAY + timedelta(minutes=5)),
        VisitReport(gapped.id, "no_contact", TUESDAY, agent.id),
        VisitReport(paying.id, "paid", TUESDAY, agent.id, amount_pence=paying.current_balance_pence,
                    payment_reference="R-1"),
    ], actor="sim")
    assert out[0].effects == ["enforcement_fee", "anpr_clock"] and out[0].visit.time_band == "office"
    assert isinstance(out[1], DomainError) and out[1].rule_id == "R-VISIT-GAP"
    assert out[2].effects == ["enforcement_fee", "anpr_clock", "payment"]  # the fee is still owed
    assert db.scalars(select(Visit.case_id).where(Visit.case_id.in_([fresh.id, gapped.id, paying.id]))
                      .order_by(Visit.id)).all() == [gapped.id, fresh.id, paying.id]
    with pytest.raises(ValueError, match="one visit per case"):
        record_visits(db, [VisitReport(fresh.id, "no_contact", TUESDAY, agent.id)] * 2, actor="sim")
