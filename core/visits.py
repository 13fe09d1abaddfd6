"""Visits as data: recording an agent's attendance and applying its outcome to the case.

``record_visit`` checks the visit against the buyer's policy (``core.visit_rules.visit_allowed``),
stores it with its time band, appends a ``visit_recorded`` case event and calls ``apply_outcome``,
the one place that says what each outcome does to the case.

A visit that broke a rule. A visit is a report of something that already happened, so refusing to
store it would hide evidence the buyer is entitled to [R-CASE-AUDIT, R-VISIT-EVIDENCE]. But a client
that sends the wrong case or time should hear about it, not silently create a breach. So:

- by default a visit that ``visit_allowed`` refuses raises ``DomainError`` naming its rule ids (the
  API answers 409) and nothing is stored;
- with ``acknowledge_breach`` the agent confirms it really happened: it is stored, flagged with a
  ``visit_breach`` case event listing the rules, and earns nothing: no enforcement fee, no ANPR clock
  [R-FEE-INCURRED: only lawful action incurs a fee]. What the customer did still counts (a payment
  taken, an arrangement, a vulnerability or a sensitive venue seen);
- ``vulnerable`` and ``sensitive_venue`` are the agent stopping because of a rule, so they are always
  stored, breach or not (flagged when the visit itself broke a rule).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from geoalchemy2 import WKTElement
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.case_facts import id_in, load_case_facts, visit_history
from core.clock import LONDON
from core.errors import DomainError, NotFound
from core.ledger import charge_enforcement_fee, fee_breakdown, record_payment
from core.lifecycle import Transition, lock_case, transition_locked
from core.models import (
    Address,
    Case,
    CaseEvent,
    CaseStatus,
    FeeType,
    Stage,
    Visit,
    VisitOutcome,
)
from core.visit_rules import CaseFacts, Decision, VisitFact, time_band_of, visit_allowed

# The agent turned away because of the customer or the place: stored even when the visit broke a rule.
PROTECTIVE = frozenset({VisitOutcome.vulnerable, VisitOutcome.sensitive_venue})
# Outcomes after which no enforcement fee is due: the agent stopped, and "there must be no costs"
# for a vulnerable customer [002 §2.1].
NO_FEE = PROTECTIVE
ANPR_DELAY = timedelta(hours=24)  # R-ANPR-24H


@dataclass
class VisitRecord:
    """A stored visit, the rules it broke and the effects its outcome had."""

    visit: Visit
    breaches: tuple[str, ...] = ()
    effects: list[str] = field(default_factory=list)


def _leader(db: Session, case: Case) -> Case:
    """The leading warrant of the case's linked group (the case itself when unlinked)."""
    if case.linked_group is None or case.is_leading:
        return case
    return db.scalar(select(Case).where(Case.linked_group == case.linked_group, Case.is_leading)
                     .with_for_update()) or case


def _enforcement_fee_due(db: Session, leader: Case) -> bool:
    """Whether the group's leader can take the enforcement fee now: the ledger charges it once per
    stage of a linked group and refuses a second, so later attendances add nothing."""
    if leader.stage == Stage.compliance or leader.on_hold or leader.status != CaseStatus.open:
        return False
    charged = fee_breakdown(db, leader.id).fees
    return not any(line.fee_type == FeeType.enforcement and line.net_pence for line in charged)


def _group(db: Session, case: Case) -> list[Case]:
    if case.linked_group is None:
        return [case]
    return list(db.scalars(select(Case).where(Case.linked_group == case.linked_group).with_for_update()))


def apply_outcome(db: Session, case: Case, visit: Visit, actor: str, *, lawful: bool,
                  amount_pence: int | None = None, payment_reference: str | None = None) -> list[str]:
    """Every outcome's effect on the case, in one place; returns the names of the effects applied.

    - attendance in the enforcement or sale stage (any outcome but vulnerable / sensitive_venue): the
      enforcement fee, once per visit for the whole linked group, on its leading warrant
      [R-FEE-ENFORCEMENT, R-FEE-INCURRED]; the first such visit starts the ANPR clock of every
      warrant at the address: eligible 24 hours after arrival [R-ANPR-24H];
    - paid: the money taken on the doorstep is a payment (amount and receipt reference) [000 §2.115],
      allocated by the ledger [R-PAY-ALLOC]; each warrant it clears is marked paid;
    - arrangement: ``start_arrangement``; vulnerable: ``flag_vulnerable`` (back to compliance);
    - sensitive_venue: the address is flagged sensitive until a person clears it [R-VISIT-SENSITIVE];
    - gone_away, refused, no_contact: nothing beyond the attendance; the ``visit_recorded`` event is
      the note for tracing and the return decision, and the next visit's 24-hour gap after no contact
      is checked by ``visit_allowed`` [R-VISIT-GAP].
    """
    outcome = VisitOutcome(visit.outcome)
    effects: list[str] = []
    open_case = case.status == CaseStatus.open
    attended = lawful and open_case and case.stage in (Stage.enforcement, Stage.sale) and outcome not in NO_FEE
    if attended:
        leader = _leader(db, case)
        if _enforcement_fee_due(db, leader):
            charge_enforcement_fee(db, leader, visit.id, actor)
            effects.append("enforcement_fee")
        clock = [c for c in _group(db, case) if c.anpr_eligible_from is None]
        for c in clock:
            c.anpr_eligible_from = visit.arrived_at + ANPR_DELAY
        if clock:
            effects.append("anpr_clock")
    if outcome is VisitOutcome.paid:
        if not amount_pence or amount_pence <= 0 or not payment_reference:
            raise DomainError("R-VISIT-EVIDENCE", "a paid outcome needs the amount and the receipt reference")
        receipt = record_payment(db, case, amount_pence, payment_reference, actor, received_at=visit.arrived_at)
        effects.append("payment")
        # A warrant the doorstep payment cleared is paid in full there and then [000 §2.106].
        for paid in db.scalars(select(Case).where(Case.id.in_(receipt.allocation))):
            if paid.current_balance_pence == 0 and paid.status == CaseStatus.open:
                transition_locked(db, paid, Transition.mark_paid, actor, at=visit.arrived_at,
                                  data={"visit_id": visit.id, "reference": payment_reference})
                effects.append(Transition.mark_paid.value)
    elif outcome is VisitOutcome.arrangement and open_case and not case.under_arrangement:
        transition_locked(db, case, Transition.start_arrangement, actor, at=visit.arrived_at,
                          data={"visit_id": visit.id})
        effects.append(Transition.start_arrangement.value)
    elif outcome is VisitOutcome.vulnerable and open_case and not case.vulnerable:
        transition_locked(db, case, Transition.flag_vulnerable, actor, at=visit.arrived_at,
                          reason=visit.notes or f"identified at visit {visit.id}", data={"visit_id": visit.id})
        effects.append(Transition.flag_vulnerable.value)
    elif outcome is VisitOutcome.sensitive_venue:
        address = db.get(Address, case.address_id, with_for_update=True)
        address.sensitive, address.sensitive_note = True, visit.notes or f"sensitive venue seen at visit {visit.id}"
        address.sensitive_cleared_by = address.sensitive_cleared_at = None
        db.add(CaseEvent(case_id=case.id, actor=actor, at=visit.arrived_at, kind="address_flagged_sensitive",
                         data={"rule": "R-VISIT-SENSITIVE", "visit_id": visit.id, "address_id": address.id}))
        effects.append("address_flagged_sensitive")
    return effects


@dataclass(frozen=True)
class VisitReport:
    """One visit as an agent reports it (``record_visit``'s arguments; ``record_visits`` takes many)."""

    case_id: int
    outcome: str
    arrived_at: datetime
    agent_id: int | None = None
    planned_at: datetime | None = None
    departed_at: datetime | None = None
    notes: str | None = None
    bwv_reference: str | None = None
    lat: float | None = None
    lon: float | None = None
    amount_pence: int | None = None
    payment_reference: str | None = None
    acknowledge_breach: bool = False


def _refuse_future(report: VisitReport) -> None:
    """A visit is a report of the past: its outcome must be one we know and its arrival not ahead."""
    VisitOutcome(report.outcome)
    if report.arrived_at > datetime.now(UTC):
        raise DomainError("R-VISIT-EVIDENCE", "a visit is recorded after it happened: arrival is in the future")


def _decide(report: VisitReport, facts: CaseFacts, history: list[VisitFact]) -> Decision:
    """``visit_allowed`` for the report; raises ``DomainError`` for a visit that broke a rule unless
    acknowledged or protective (module docstring)."""
    decision = visit_allowed(facts, history, report.arrived_at)
    if not decision.ok and not (report.acknowledge_breach or VisitOutcome(report.outcome) in PROTECTIVE):
        raise DomainError(decision.rule_ids[0], f"visit not allowed ({', '.join(decision.rule_ids)}): "
                          + "; ".join(decision.reasons) + "; send acknowledge_breach to record it as evidence")
    return decision


def _store(db: Session, case: Case, facts: CaseFacts, decision: Decision, report: VisitReport,
           actor: str) -> VisitRecord:
    """Store a checked visit of the locked ``case`` and apply its outcome."""
    r = report
    outcome = VisitOutcome(r.outcome)
    location = WKTElement(f"POINT({r.lon} {r.lat})", srid=4326) if r.lat is not None and r.lon is not None else None
    visit = Visit(case_id=r.case_id, agent_id=r.agent_id, planned_at=r.planned_at, arrived_at=r.arrived_at,
                  departed_at=r.departed_at, outcome=outcome.value,
                  time_band=time_band_of(facts.policy, r.arrived_at), notes=r.notes,
                  bwv_reference=r.bwv_reference, location=location, recorded_by=actor)
    db.add(visit)
    db.flush()
    record = VisitRecord(visit, decision.rule_ids)
    if record.breaches:
        db.add(CaseEvent(case_id=r.case_id, actor=actor, at=datetime.now(UTC), kind="visit_breach",
                         data={"visit_id": visit.id, "rules": list(decision.rule_ids),
                               "reasons": list(decision.reasons)}))
    record.effects = apply_outcome(db, case, visit, actor, lawful=decision.ok, amount_pence=r.amount_pence,
                                   payment_reference=r.payment_reference)
    db.add(CaseEvent(case_id=r.case_id, actor=actor, at=r.arrived_at, kind="visit_recorded",
                     data={"visit_id": visit.id, "outcome": outcome.value, "agent_id": r.agent_id,
                           "time_band": visit.time_band, "effects": record.effects}))
    db.flush()
    return record


def record_visit(db: Session, *, case_id: int, outcome: str, arrived_at: datetime, actor: str,
                 agent_id: int | None = None, planned_at: datetime | None = None,
                 departed_at: datetime | None = None, notes: str | None = None, bwv_reference: str | None = None,
                 lat: float | None = None, lon: float | None = None, amount_pence: int | None = None,
                 payment_reference: str | None = None, acknowledge_breach: bool = False,
                 buyer_scope: int | None = None) -> VisitRecord:
    """Check, store and apply one visit (see the module docstring for visits that broke a rule).
    The case row is locked first so two reports for one case cannot both pass the 24-hour gap."""
    report = VisitReport(case_id, outcome, arrived_at, agent_id, planned_at, departed_at, notes, bwv_reference,
                         lat, lon, amount_pence, payment_reference, acknowledge_breach)
    _refuse_future(report)
    case = lock_case(db, case_id, buyer_scope)
    facts: CaseFacts = load_case_facts(db, [case_id], arrived_at.astimezone(LONDON).date())[case_id]
    decision = _decide(report, facts, visit_history(db, [case_id]).get(case_id, []))
    return _store(db, case, facts, decision, report, actor)


def record_visits(db: Session, reports: Sequence[VisitReport], *, actor: str) -> list[VisitRecord | DomainError]:
    """``record_visit`` for many visits of distinct cases (a day's reports of a whole field force), with
    the same checks and effects: the cases are locked in one statement (in id order, so two batches
    cannot deadlock), their facts read once per London day of arrival and their histories once; then
    each report is checked and stored in the order given. A refused report is returned as its
    ``DomainError`` in its place and the others are stored. One visit per case, because the facts are
    read before any visit is stored (a second visit would be checked against the case as it was)."""
    ids = [r.case_id for r in reports]
    if len(set(ids)) != len(ids):
        raise ValueError("record_visits takes one visit per case")
    cases = {c.id: c for c in db.scalars(select(Case).where(id_in(Case.id, ids)).order_by(Case.id)
                                         .with_for_update())}
    if missing := sorted(set(ids) - set(cases)):
        raise NotFound(f"case {missing[0]} not found")
    by_day: dict = {}
    for r in reports:
        by_day.setdefault(r.arrived_at.astimezone(LONDON).date(), []).append(r.case_id)
    facts = {cid: f for day, day_ids in by_day.items() for cid, f in load_case_facts(db, day_ids, day).items()}
    history = visit_history(db, ids)
    out: list[VisitRecord | DomainError] = []
    for r in reports:
        try:
            _refuse_future(r)
            decision = _decide(r, facts[r.case_id], history[r.case_id])
        except DomainError as refused:
            out.append(refused)
            continue
        out.append(_store(db, cases[r.case_id], facts[r.case_id], decision, r, actor))
    return out
