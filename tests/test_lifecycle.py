"""Case lifecycle: the pure guards as a table, then transitions against the database writing events."""
from __future__ import annotations

from datetime import date

import pytest

from core.errors import DomainError
from core.lifecycle import CaseState, Transition, check_transition

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
