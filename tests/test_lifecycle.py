"""Case lifecycle: the pure guards as a table, then transitions against the database writing events."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import session_scope
from core.errors import DomainError, NotFound
from core.ledger import fee_breakdown
from core.lifecycle import CaseState, Transition, apply_transition, check_transition
from core.models import CaseEvent
from core.visit_policy import policy_in_force
from tests.case_world import make_buyer, make_case

TODAY = date(2026, 3, 2)
OPEN = CaseState(stage="compliance", status="open", notice_issued_on=date(2026, 1, 5), balance_pence=10_000)


def _state(**changes) -> CaseState:
    return CaseState(**{**OPEN.__dict__, **changes})


# (state, transition, reason, rule id refusing it or None when allowed). Guards that do not read the
# policy: the compliance-period cases, which do, are below.
GUARDS = [
    (_state(notice_issued_on=None), "issue_notice", None, None),
    (OPEN, "issue_notice", None, "R-CASE-NOE"),
    (_state(notice_issued_on=None, on_hold=True), "issue_notice", None, "R-CASE-HOLD"),
    (_state(notice_issued_on=None, vulnerable=True), "issue_notice", None, "R-CASE-VULN"),
    (_state(notice_issued_on=None), "start_enforcement", None, "R-CASE-NOE"),
    (_state(stage="enforcement"), "start_enforcement", None, "R-CASE-COMPLIANCE"),
    (_state(on_hold=True), "start_enforcement", None, "R-CASE-HOLD"),
    (_state(vulnerable=True), "start_enforcement", None, "R-CASE-VULN"),
    (_state(return_requested=True), "start_enforcement", None, "R-CASE-RETURN"),
    (_state(under_arrangement=True), "start_enforcement", None, "R-CASE-COMPLIANCE"),
    (OPEN, "hold", "buyer instruction", None),
    (OPEN, "hold", None, "R-CASE-HOLD"),
    (_state(on_hold=True), "hold", "again", "R-CASE-HOLD"),
    (_state(on_hold=True), "release", None, None),
    (OPEN, "release", None, "R-CASE-HOLD"),
    (_state(stage="enforcement"), "flag_vulnerable", "serious illness", None),
    (OPEN, "flag_vulnerable", "  ", "R-CASE-VULN"),
    (_state(vulnerable=True), "flag_vulnerable", "again", "R-CASE-VULN"),
    (_state(vulnerable=True), "clear_vulnerable", "buyer found no vulnerability", None),
    (OPEN, "clear_vulnerable", "nothing to clear", "R-CASE-VULN"),
    (OPEN, "start_arrangement", None, None),
    (_state(under_arrangement=True), "start_arrangement", None, "R-CASE-ARRANGEMENT"),
    (_state(under_arrangement=True), "end_arrangement", None, None),
    (OPEN, "end_arrangement", None, "R-CASE-ARRANGEMENT"),
    (_state(balance_pence=0), "mark_paid", None, None),
    (OPEN, "mark_paid", None, "R-CASE-PAID"),
    (OPEN, "request_return", "buyer recalls", None),
    (OPEN, "request_return", None, "R-CASE-RETURN"),
    (_state(return_requested=True), "request_return", "twice", "R-CASE-RETURN"),
    (_state(return_requested=True), "return_case", "returned at the buyer's request", None),
    (_state(return_requested=True), "return_case", None, "R-CASE-RETURN"),
    (OPEN, "close", None, "R-CASE-CLOSE"),
    (OPEN, "close", "buyer agreed to close", None),
    (_state(status="paid", balance_pence=0), "close", None, None),
    (_state(status="returned"), "close", None, None),
    (_state(status="paid", balance_pence=0), "hold", "late", "R-CASE-TERMINAL"),
    (_state(status="returned"), "start_arrangement", None, "R-CASE-TERMINAL"),
    *[(_state(status="closed"), t.value, "any", "R-CASE-TERMINAL") for t in Transition],
]


@pytest.mark.parametrize(("state", "transition", "reason", "rule"), GUARDS,
                         ids=[f"{i}-{g[1]}-{g[3] or 'ok'}" for i, g in enumerate(GUARDS)])
def test_guard_table(state, transition, reason, rule):
    if rule is None:
        check_transition(state, transition, TODAY, None, "england_wales", reason=reason)
    else:
        with pytest.raises(DomainError) as refused:
            check_transition(state, transition, TODAY, None, "england_wales", reason=reason)
        assert refused.value.rule_id == rule
        assert str(refused.value).startswith(rule)


def test_unknown_transition_is_not_a_domain_error():
    with pytest.raises(ValueError):
        check_transition(OPEN, "teleport", TODAY, None, "england_wales")


# R-CASE-COMPLIANCE: (policy, nation, notice date, first day the enforcement stage may start), counted
# by hand: clear days exclude the notice day, the start day, Sundays and the nation's bank holidays.
COMPLIANCE = [
    # Easter 2026: Good Friday 3 Apr and Easter Monday 6 Apr are bank holidays in England & Wales.
    ("plymouth", "england_wales", date(2026, 4, 1), date(2026, 4, 12)),
    # Scotland has Good Friday but not Easter Monday, so one day earlier.
    ("plymouth", "scotland", date(2026, 4, 1), date(2026, 4, 11)),
    # Croydon: 14 clear days; early May bank holiday (4 May) and three Sundays skipped.
    ("croydon", "england_wales", date(2026, 5, 1), date(2026, 5, 20)),
    ("plymouth", "england_wales", date(2026, 5, 1), date(2026, 5, 12)),
]


@pytest.fixture(scope="module")
def policies(policies_loaded):
    with session_scope() as db:
        return {name: policy_in_force(db, name, date(2026, 1, 1)) for name in ("plymouth", "croydon")}


@pytest.mark.parametrize(("policy", "nation", "notice", "first"), COMPLIANCE)
def test_compliance_period(policies, policy, nation, notice, first):
    state = _state(notice_issued_on=notice)
    check_transition(state, "start_enforcement", first, policies[policy], nation)
    with pytest.raises(DomainError) as refused:
        check_transition(state, "start_enforcement", first - timedelta(days=1), policies[policy], nation)
    assert refused.value.rule_id == "R-CASE-COMPLIANCE"
    assert str(first) in refused.value.message


# --- the database edge ---------------------------------------------------------------------------


@pytest.fixture
def world(db, policies_loaded):
    return make_buyer(db, "plymouth")


def _events(db, case_id):
    return list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def test_notice_charges_the_compliance_fee_and_writes_the_event(db, world):
    case = make_case(db, world)
    event = apply_transition(db, case.id, "issue_notice", "user:clerk", at=datetime(2026, 1, 6, 10, tzinfo=UTC))
    assert case.notice_issued_on == date(2026, 1, 6)
    assert case.current_balance_pence == 500_00 + 75_00  # R-FEE-COMPLIANCE
    assert [line.charged_pence for line in fee_breakdown(db, case.id).fees if line.fee_type == "compliance"] == [75_00]
    assert (event.kind, event.actor, event.data["rule"]) == ("issue_notice", "user:clerk", "R-CASE-NOE")
    assert "issue_notice" in [e.kind for e in _events(db, case.id)]
    # R-CASE-NOE under Plymouth's policy: within 48 hours of receipt (received Monday 5 January).
    assert (event.data["notice_due_by"], event.data["late"]) == ("2026-01-07", False)


def test_a_late_notice_still_goes_out_and_says_it_was_late(db, world):
    case = make_case(db, world)
    event = apply_transition(db, case.id, "issue_notice", "user:clerk", at=datetime(2026, 1, 8, 10, tzinfo=UTC))
    assert case.notice_issued_on == date(2026, 1, 8)
    assert (event.data["notice_due_by"], event.data["late"]) == ("2026-01-07", True)


def test_a_lifecycle_run_records_every_transition(db, world):
    case = make_case(db, world, notice_issued_on=date(2026, 1, 5))
    at = datetime(2026, 2, 2, 9, tzinfo=UTC)
    steps = [("start_enforcement", None), ("hold", "buyer query"), ("release", None),
             ("flag_vulnerable", "serious illness"), ("clear_vulnerable", "buyer: not vulnerable"),
             ("start_enforcement", None), ("start_arrangement", None), ("end_arrangement", None),
             ("request_return", "buyer recalls the warrant"), ("return_case", "returned on request"),
             ("close", None)]
    for transition, reason in steps:
        apply_transition(db, case.id, transition, "user:clerk", reason=reason, at=at)
    kinds = [e.kind for e in _events(db, case.id) if e.kind in {s for s, _ in steps}]
    assert kinds == [s for s, _ in steps]
    vulnerable = next(e for e in _events(db, case.id) if e.kind == "flag_vulnerable")
    # R-CASE-VULN: back to the compliance stage, recorded from/to.
    assert vulnerable.data["from"]["stage"] == "enforcement" and vulnerable.data["to"]["stage"] == "compliance"
    assert (case.status, case.return_reason) == ("closed", "returned on request")
    with pytest.raises(DomainError) as refused:
        apply_transition(db, case.id, "hold", "user:clerk", reason="too late")
    assert refused.value.rule_id == "R-CASE-TERMINAL"


def test_illegal_transitions_name_their_rule_and_change_nothing(db, world):
    case = make_case(db, world, notice_issued_on=date(2026, 4, 1))
    before = len(_events(db, case.id))
    with pytest.raises(DomainError) as refused:  # Plymouth: not before 12 April (see COMPLIANCE)
        apply_transition(db, case.id, "start_enforcement", "user:clerk", at=datetime(2026, 4, 11, 12, tzinfo=UTC))
    assert refused.value.rule_id == "R-CASE-COMPLIANCE"
    with pytest.raises(DomainError) as refused:
        apply_transition(db, case.id, "mark_paid", "user:clerk")
    assert refused.value.rule_id == "R-CASE-PAID"
    with pytest.raises(DomainError) as refused:  # no buyer request, no visits: R-VISIT-TIMES
        apply_transition(db, case.id, "return_case", "user:clerk", reason="not collected")
    assert refused.value.rule_id == "R-VISIT-TIMES"
    assert (case.stage, case.status) == ("compliance", "open")
    assert len(_events(db, case.id)) == before


def test_unknown_case_is_not_found(db, policies_loaded):
    with pytest.raises(NotFound):
        apply_transition(db, 2_000_000_000, "hold", "user:clerk", reason="x")
