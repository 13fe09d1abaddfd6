"""The case lifecycle: which transitions a case may take, and applying them with an audit event.

Two layers. ``check_transition`` is pure (a ``CaseState``, the day, the buyer's policy and the
address's nation in; nothing or a ``DomainError`` naming the rule out), so every guard is tested as a
table. ``apply_transition`` is the database edge: it locks the case row (``FOR UPDATE``, so two
requests cannot both pass a guard on the same old state), checks, applies the effects and appends one
``case_event`` whose kind is the transition name and whose data carries the state before and after
and the rule id [R-CASE-AUDIT].

Transitions and the rule each answers to:

=================  ===================  ===============================================================
transition         rule                 effect
=================  ===================  ===============================================================
issue_notice       R-CASE-NOE           notice date; the £75 compliance fee [R-FEE-COMPLIANCE]
start_enforcement  R-CASE-COMPLIANCE    stage → enforcement, only from the first day after the
                                        policy's compliance period, not under an arrangement
                                        [000 §2.93]
hold / release     R-CASE-HOLD          overlay that stops all enforcement action (reason required)
flag_vulnerable    R-CASE-VULN          vulnerable, and back to the compliance stage (see below)
clear_vulnerable   R-CASE-VULN          the buyer found no vulnerability: enforcement may resume
start_arrangement  R-CASE-ARRANGEMENT   a payment arrangement stops enforcement [000 §2.93, §2.95]
end_arrangement    R-CASE-ARRANGEMENT   the arrangement ended (kept or broken)
mark_paid          R-CASE-PAID          status paid; only when the balance is 0 [000 §2.106]
request_return     R-CASE-RETURN        the buyer's return instruction: enforcement stops now, and the
                                        case must be returned within 24 hours [000 §2.107]
return_case        R-CASE-RETURN        status returned, with a reason; without a buyer request only
                                        once the visit requirement is met [R-VISIT-TIMES]
close              R-CASE-CLOSE         status closed: from paid or returned, or from open with the
                                        buyer's agreement as the reason [000 §2.106]
=================  ===================  ===============================================================

R-CASE-ARRANGEMENT, R-CASE-PAID, R-CASE-CLOSE and R-CASE-TERMINAL are platform rule ids for source
paragraphs DOMAIN.md cites without an id. R-CASE-TERMINAL: a paid or returned case may only be
closed, and a closed case never changes.

Decision on R-CASE-VULN: DOMAIN.md allows either "back to the buyer" or "back to the compliance
stage". Newcastle's code [002 App.1] is explicit: the case reverts to the compliance stage, the agent
seeks an arrangement or signposts help, and the council decides whether the case is returned. So
``flag_vulnerable`` moves the case to the compliance stage and blocks every enforcement action while
the flag stands; returning it is the buyer's separate ``request_return``; ``clear_vulnerable`` lets
enforcement resume (through ``start_enforcement`` again) when the buyer finds no vulnerability.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.case_facts import load_case_facts, visit_history
from core.clock import LONDON
from core.errors import DomainError, NotFound
from core.ledger import charge_compliance_fee
from core.models import Case, CaseEvent, CaseStatus, Stage
from core.visit_rules import VisitFact, compliance_period_end, notice_due_by, ready_to_return

if TYPE_CHECKING:
    from core.visit_policy import VisitPolicy


class Transition(enum.StrEnum):
    issue_notice = "issue_notice"
    start_enforcement = "start_enforcement"
    hold = "hold"
    release = "release"
    flag_vulnerable = "flag_vulnerable"
    clear_vulnerable = "clear_vulnerable"
    start_arrangement = "start_arrangement"
    end_arrangement = "end_arrangement"
    mark_paid = "mark_paid"
    request_return = "request_return"
    return_case = "return_case"
    close = "close"


RULE = {
    Transition.issue_notice: "R-CASE-NOE",
    Transition.start_enforcement: "R-CASE-COMPLIANCE",
    Transition.hold: "R-CASE-HOLD",
    Transition.release: "R-CASE-HOLD",
    Transition.flag_vulnerable: "R-CASE-VULN",
    Transition.clear_vulnerable: "R-CASE-VULN",
    Transition.start_arrangement: "R-CASE-ARRANGEMENT",
    Transition.end_arrangement: "R-CASE-ARRANGEMENT",
    Transition.mark_paid: "R-CASE-PAID",
    Transition.request_return: "R-CASE-RETURN",
    Transition.return_case: "R-CASE-RETURN",
    Transition.close: "R-CASE-CLOSE",
}
TERMINAL = "R-CASE-TERMINAL"
# Transitions whose record would be meaningless without a human reason.
NEEDS_REASON = frozenset({Transition.hold, Transition.flag_vulnerable, Transition.clear_vulnerable,
                          Transition.request_return})


@dataclass(frozen=True)
class CaseState:
    """What the guards look at; ``visits`` feeds the return rule [R-VISIT-TIMES]."""

    stage: str
    status: str
    on_hold: bool = False
    vulnerable: bool = False
    under_arrangement: bool = False
    notice_issued_on: date | None = None
    balance_pence: int = 0
    return_requested: bool = False
    visits: tuple[VisitFact, ...] = ()

    @classmethod
    def of(cls, case: Case, visits: Sequence[VisitFact] = ()) -> CaseState:
        return cls(stage=case.stage, status=case.status, on_hold=case.on_hold, vulnerable=case.vulnerable,
                   under_arrangement=case.under_arrangement, notice_issued_on=case.notice_issued_on,
                   balance_pence=case.current_balance_pence,
                   return_requested=case.return_requested_at is not None, visits=tuple(visits))

    def summary(self) -> dict[str, Any]:
        """The fields a case event records before and after a transition."""
        return {"stage": self.stage, "status": self.status, "on_hold": self.on_hold,
                "vulnerable": self.vulnerable, "under_arrangement": self.under_arrangement}


def _stopped(state: CaseState, doing: str) -> None:
    """R-CASE-HOLD / R-CASE-VULN / R-CASE-RETURN: no enforcement action on a stopped case."""
    if state.on_hold:
        raise DomainError("R-CASE-HOLD", f"case is on hold: no {doing}")
    if state.vulnerable:
        raise DomainError("R-CASE-VULN", f"customer is flagged vulnerable: no {doing}")
    if state.return_requested:
        raise DomainError("R-CASE-RETURN", f"the buyer asked for the case back: no {doing}")


def _issue_notice(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if state.notice_issued_on is not None:
        raise DomainError("R-CASE-NOE", f"notice of enforcement already issued on {state.notice_issued_on}")
    _stopped(state, "notice of enforcement or compliance fee")


def _start_enforcement(state: CaseState, today: date, policy: VisitPolicy, nation: str,
                       reason: str | None) -> None:
    if state.stage != Stage.compliance:
        raise DomainError("R-CASE-COMPLIANCE", f"case is already in the {state.stage} stage")
    if state.notice_issued_on is None:
        raise DomainError("R-CASE-NOE", "no notice of enforcement issued: the compliance period has not begun")
    _stopped(state, "enforcement stage")
    if state.under_arrangement:
        raise DomainError("R-CASE-COMPLIANCE", "customer is under a payment arrangement [000 §2.93]")
    first = compliance_period_end(state.notice_issued_on, policy, nation)
    if today < first:
        raise DomainError("R-CASE-COMPLIANCE",
                          f"compliance period after the notice of {state.notice_issued_on} runs until "
                          f"enforcement may start on {first} (clear days, Sundays and bank holidays excluded)")


def _hold(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if state.on_hold:
        raise DomainError("R-CASE-HOLD", "case is already on hold")


def _release(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if not state.on_hold:
        raise DomainError("R-CASE-HOLD", "case is not on hold")


def _flag_vulnerable(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if state.vulnerable:
        raise DomainError("R-CASE-VULN", "customer is already flagged vulnerable")


def _clear_vulnerable(state: CaseState, today: date, policy: VisitPolicy, nation: str,
                      reason: str | None) -> None:
    if not state.vulnerable:
        raise DomainError("R-CASE-VULN", "customer is not flagged vulnerable")


def _start_arrangement(state: CaseState, today: date, policy: VisitPolicy, nation: str,
                       reason: str | None) -> None:
    if state.under_arrangement:
        raise DomainError("R-CASE-ARRANGEMENT", "customer is already under a payment arrangement")


def _end_arrangement(state: CaseState, today: date, policy: VisitPolicy, nation: str,
                     reason: str | None) -> None:
    if not state.under_arrangement:
        raise DomainError("R-CASE-ARRANGEMENT", "customer is not under a payment arrangement")


def _mark_paid(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if state.balance_pence != 0:
        raise DomainError("R-CASE-PAID", f"balance is {state.balance_pence} pence, not 0: not paid in full")


def _request_return(state: CaseState, today: date, policy: VisitPolicy, nation: str,
                    reason: str | None) -> None:
    if state.return_requested:
        raise DomainError("R-CASE-RETURN", "the buyer has already asked for this case back")


def _return_case(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if not reason:
        raise DomainError("R-CASE-RETURN", "a returned case needs a reason (the report to the buyer)")
    if state.return_requested:
        return  # the buyer's instruction overrides the visit requirement [000 §2.107]
    ready = ready_to_return(policy, state.visits)
    if not ready.ok:
        raise DomainError(ready.rule_ids[0], "not enough visits to return the case: " + "; ".join(ready.reasons))


def _close(state: CaseState, today: date, policy: VisitPolicy, nation: str, reason: str | None) -> None:
    if state.status == CaseStatus.open and not reason:
        raise DomainError("R-CASE-CLOSE", "an open case closes only with the buyer's agreement, given as the reason")


Guard = Callable[[CaseState, date, "VisitPolicy", str, "str | None"], None]
_GUARDS: dict[Transition, Guard] = {
    Transition.issue_notice: _issue_notice,
    Transition.start_enforcement: _start_enforcement,
    Transition.hold: _hold,
    Transition.release: _release,
    Transition.flag_vulnerable: _flag_vulnerable,
    Transition.clear_vulnerable: _clear_vulnerable,
    Transition.start_arrangement: _start_arrangement,
    Transition.end_arrangement: _end_arrangement,
    Transition.mark_paid: _mark_paid,
    Transition.request_return: _request_return,
    Transition.return_case: _return_case,
    Transition.close: _close,
}


def check_transition(state: CaseState, transition: Transition | str, today: date, policy: VisitPolicy,
                     nation: str, *, reason: str | None = None) -> None:
    """Refuse ``transition`` from ``state`` on ``today`` with a ``DomainError`` naming the rule, or
    return None when it is allowed."""
    t = Transition(transition)
    if state.status == CaseStatus.closed:
        raise DomainError(TERMINAL, "case is closed: nothing changes a closed case")
    if state.status in (CaseStatus.paid, CaseStatus.returned) and t is not Transition.close:
        raise DomainError(TERMINAL, f"case is {state.status}: it may only be closed")
    if t in NEEDS_REASON and not (reason and reason.strip()):
        raise DomainError(RULE[t], f"{t} needs a reason")
    _GUARDS[t](state, today, policy, nation, reason)


def _effects(db: Session, case: Case, t: Transition, actor: str, reason: str | None, at: datetime) -> None:
    """Change the row (and the ledger) for an allowed transition."""
    today = at.astimezone(LONDON).date()
    if t is Transition.issue_notice:
        case.notice_issued_on = today
        charge_compliance_fee(db, case, actor)
    elif t is Transition.start_enforcement:
        case.stage, case.enforcement_stage_on = Stage.enforcement, today
    elif t is Transition.hold:
        case.on_hold, case.hold_reason = True, reason
    elif t is Transition.release:
        case.on_hold, case.hold_reason = False, None
    elif t is Transition.flag_vulnerable:
        case.vulnerable, case.vulnerability_note, case.stage = True, reason, Stage.compliance
    elif t is Transition.clear_vulnerable:
        case.vulnerable, case.vulnerability_note = False, None
    elif t is Transition.start_arrangement:
        case.under_arrangement, case.arrangement_since = True, today
    elif t is Transition.end_arrangement:
        case.under_arrangement, case.arrangement_since = False, None
    elif t is Transition.mark_paid:
        case.status, case.paid_at = CaseStatus.paid, at
    elif t is Transition.request_return:
        case.return_requested_at, case.return_reason = at, reason
    elif t is Transition.return_case:
        case.status, case.returned_at, case.return_reason = CaseStatus.returned, at, reason
    elif t is Transition.close:
        case.status, case.closed_at = CaseStatus.closed, at


def lock_case(db: Session, case_id: int, buyer_scope: int | None = None) -> Case:
    """The case row locked for update; ``NotFound`` when absent or outside ``buyer_scope``."""
    query = select(Case).where(Case.id == case_id).with_for_update()
    if buyer_scope is not None:
        query = query.where(Case.buyer_id == buyer_scope)
    case = db.scalar(query)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def transition_locked(db: Session, case: Case, transition: Transition | str, actor: str, *,
                      reason: str | None = None, at: datetime | None = None,
                      data: dict[str, Any] | None = None) -> CaseEvent:
    """Check and apply ``transition`` to a case the caller has already locked (``lock_case``), and
    append its event. Shared by ``apply_transition`` and the visit outcomes."""
    t = Transition(transition)
    at = at or datetime.now(UTC)
    today = at.astimezone(LONDON).date()
    facts = load_case_facts(db, [case.id], today)[case.id]
    visits = visit_history(db, [case.id]).get(case.id, []) if t is Transition.return_case else ()
    before = CaseState.of(case, visits)
    check_transition(before, t, today, facts.policy, facts.nation, reason=reason)
    if t is Transition.issue_notice:
        # A late notice must still go out; the event records that it was late, for the buyer's report.
        due = notice_due_by(case.received_on, facts.policy, facts.nation)
        data = {"notice_due_by": due.isoformat(), "late": today > due, **(data or {})}
    _effects(db, case, t, actor, reason, at)
    db.flush()
    event = CaseEvent(case_id=case.id, actor=actor, at=at, kind=t.value,
                      data={"rule": RULE[t], "from": before.summary(), "to": CaseState.of(case).summary(),
                            **({"reason": reason} if reason else {}), **(data or {})})
    db.add(event)
    db.flush()
    return event


def apply_transition(db: Session, case_id: int, transition: Transition | str, actor: str, *,
                     reason: str | None = None, at: datetime | None = None,
                     buyer_scope: int | None = None) -> CaseEvent:
    """Lock the case, check ``transition``, apply it and return the event recording it. The caller
    commits."""
    return transition_locked(db, lock_case(db, case_id, buyer_scope), transition, actor, reason=reason, at=at)
