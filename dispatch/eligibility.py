"""Which cases may be visited on a day, and when: the planner's input (``VisitTask``s), and for every
case left out the rule that left it out, so a dispatcher can ask "why is this case not in today's
plan?" (``why``).

The pure core is ``eligible_tasks``; ``load_eligibility``, ``shifts_for_day`` and ``why`` are its
database edge (batched: one query per kind of row, whatever the number of cases).

How a task is built (rule ids from DOMAIN.md "Visits"):

- **Windows** come from ``core.visit_rules.visit_windows`` (hours, weekdays, bank holidays of the
  address's nation, blackouts, holds, vulnerability, sensitive addresses, the compliance stage), one
  per time band, in UTC. They are then cut to start no earlier than the last no-contact visit plus the
  policy's gap (R-VISIT-GAP) and, when re-planning, no earlier than ``now``. A case that already had
  the policy's maximum visits on the day gets none (R-VISIT-GAP). A case whose windows are all cut
  away is excluded with the rule that cut them.
- **Preferred** windows are those in the time bands the case has not had yet
  (``missing_time_bands``, R-VISIT-TIMES); empty when any band will do.
- **Priority** follows the stage timetable's next due date (``stage_due``, R-VISIT-SCHEDULE); see
  ``priority_for``.
- **Service time** is ``SERVICE_S`` for a visit, plus ``SERVICE_PER_LINKED_S`` for each further
  linked warrant dealt with at the same door.
- **Linked warrants** (same debtor, same address, one ``linked_group``) are ONE task: one knock
  deals with all of them. The task carries the leading warrant's id when the leader may be visited
  (else the lowest eligible member's), ``EligibilityResult.carried`` lists the warrants it covers,
  and its windows honour the gap after a no-contact visit recorded on ANY member (a visit to the
  door is a visit to the property: the stricter reading, so the task's own case never breaks
  R-VISIT-GAP either). Members excluded on their own (on hold, vulnerable …) are excluded, not
  carried.
- **Skills**: every visit here is in the enforcement or sale stage, which only a certificated agent
  may make [000 §1.12] (``needs_certificated``). Debt types needing specialist knowledge ask for a
  skill (``DEBT_TYPE_SKILLS``); vehicles on a case do not: any agent may visit the address, and only
  the ANPR tasks (optional visits to a sighting) ask for the ``vehicle`` skill.
- **Optional visits** (the seam for ANPR sightings): an ``OptionalVisitSource`` offers
  ``OptionalVisit``s, each a chance to meet a case somewhere else until ``expires_at``. An offer for
  a case that may be visited today REPLACES its ordinary task for the day (two visits the same day
  would break R-VISIT-GAP after a no-contact first one): the task moves to the sighting, its windows
  end at the expiry, it is marked ``optional`` with ``expires_at`` and keeps the higher priority. An
  offer for an excluded case, or one that has already lapsed, changes nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import (
    LONDON,
    OPTIONAL_SKILLS,
    WEEKDAYS,
    CaseFacts,
    StageDue,
    VisitFact,
    id_in,
    load_case_facts,
    missing_time_bands,
    stage_due,
    visit_allowed,
    visit_history,
    visit_windows,
)
from core.models import Address, Agent, Buyer, Case, CaseStatus
from dispatch.model import Break, Point, Shift, TimeWindow, VisitTask

__all__ = [
    "DEBT_TYPE_SKILLS", "SERVICE_PER_LINKED_S", "SERVICE_S", "CaseSite", "EligibilityResult", "Exclusion",
    "OptionalVisit", "OptionalVisitSource", "WhyAnswer", "case_sites", "eligible_tasks", "load_eligibility",
    "priority_for", "shifts_for_day", "why",
]

SERVICE_S = 15 * 60  # one knock, the conversation, the evidence (R-VISIT-EVIDENCE)
SERVICE_PER_LINKED_S = 5 * 60  # each further warrant at the same door: its paperwork and notices
# Debt types an agent needs to know about before visiting; the skill names are the agents' (sim).
DEBT_TYPE_SKILLS: Mapping[str, frozenset[str]] = {
    "business_rates": frozenset({"business_rates"}),
    "commercial_rent": frozenset({"commercial"}),
}

# Default shift, local time, for every active agent every day (no rota is stored yet). It covers an
# early, an office and an evening band of every buyer's policy and stays inside the legal 06:00–21:00
# (R-VISIT-HOURS), with a 30-minute break taken between 12:00 and 14:00.
SHIFT_START, SHIFT_END = time(7, 0), time(19, 0)
BREAK_EARLIEST, BREAK_LATEST, BREAK_S = time(12, 0), time(14, 0), 30 * 60


@dataclass(frozen=True)
class CaseSite:
    """Where and for whom a case is visited, and what the visit asks of the agent."""

    at: Point
    buyer: str
    region: str | None = None  # the address's ITL1 code
    linked_group: int | None = None
    is_leading: bool = True
    debt_type: str = "council_tax"


@dataclass(frozen=True)
class Exclusion:
    """A case that may not be visited on the day; ``rule_ids`` name every rule that says so."""

    case_id: int
    buyer: str
    rule_ids: tuple[str, ...]
    reason: str


@dataclass
class EligibilityResult:
    tasks: list[VisitTask]
    excluded: list[Exclusion]
    # Task case id → every warrant the task deals with (itself first); one entry per task.
    carried: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class OptionalVisit:
    """A chance to meet a case away from its address until ``expires_at`` (an ANPR sighting)."""

    case_id: int
    at: Point
    expires_at: datetime
    reason: str
    priority: int = 60
    required_skills: frozenset[str] = OPTIONAL_SKILLS


class OptionalVisitSource(Protocol):
    """Offers optional visits for a day; ``now`` is set when re-planning."""

    def optional_visits(self, day: date, now: datetime | None) -> Iterable[OptionalVisit]: ...


@dataclass(frozen=True)
class WhyAnswer:
    """Whether a case is in the day's plan input, and why (not)."""

    case_id: int
    eligible: bool
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    windows: tuple[TimeWindow, ...]
    task: VisitTask | None = None


def priority_for(due: StageDue, day: date) -> int:
    """The drop penalty class from the stage timetable (R-VISIT-SCHEDULE): overdue or due today 100;
    due within 2 days 90, within 7 days 70, within 14 days 50, later 30; no deadline (no timetable,
    or every window met) 20; the next window not open yet 10 (a visit now would not count for it)."""
    if due.due_by is None:
        return 20
    if due.opens_on is not None and due.opens_on > day:
        return 10
    days_left = (due.due_by - day).days
    if due.overdue or days_left <= 0:
        return 100
    if days_left <= 2:
        return 90
    if days_left <= 7:
        return 70
    return 50 if days_left <= 14 else 30


def _closed_rules(case: CaseFacts, day: date) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Why ``visit_windows`` is empty: ``visit_allowed`` at the day's first visiting moment (inside the
    hours, so only the case and calendar rules can fail), with no history."""
    hours = case.policy.hours.for_weekday(WEEKDAYS[day.weekday()])
    probe = datetime.combine(day, hours[0].start_time if hours else time(12), tzinfo=LONDON)
    decision = visit_allowed(case, [], probe)
    return decision.rule_ids, decision.reasons


def _cut(windows: Sequence[TimeWindow], earliest: datetime) -> list[TimeWindow]:
    return [replace(w, start=max(w.start, earliest)) for w in windows if w.end > earliest]


def _merged_history(histories: Iterable[Sequence[VisitFact]]) -> list[VisitFact]:
    # One attendance may be recorded on every warrant it dealt with: count it once.
    by_time = {v.arrived_at: v for h in histories for v in h}
    return [by_time[t] for t in sorted(by_time)]


def _history_cuts(case: CaseFacts, history: Sequence[VisitFact], windows: list[TimeWindow], day: date,
                  now: datetime | None) -> tuple[list[TimeWindow], tuple[str, str] | None]:
    """``windows`` cut by the visit history (R-VISIT-GAP) and ``now``; when nothing is left, the rule
    and reason that emptied them."""
    policy = case.policy
    cap = policy.max_visits_per_property_per_day
    today = sum(1 for v in history if v.arrived_at.astimezone(LONDON).date() == day)
    if cap is not None and today >= cap:
        return [], ("R-VISIT-GAP", f"already {today} visit(s) on {day}; at most {cap} a day")
    last_no_contact = max((v.arrived_at for v in history if v.outcome == "no_contact"), default=None)
    if last_no_contact is not None:
        earliest = last_no_contact + timedelta(hours=policy.min_gap_after_no_contact_hours)
        windows = _cut(windows, earliest)
        if not windows:
            reason = (f"no-contact visit at {last_no_contact.astimezone(LONDON):%Y-%m-%d %H:%M}; "
                      f"next visit from {earliest.astimezone(LONDON):%Y-%m-%d %H:%M} [000 §2.116]")
            return [], ("R-VISIT-GAP", reason)
    if now is not None:
        windows = _cut(windows, now)
        if not windows:
            return [], ("R-VISIT-HOURS", f"the day's visiting hours are over at {now.astimezone(LONDON):%H:%M}")
    return windows, None


def _group_key(case_id: int, site: CaseSite) -> tuple[str, int]:
    return ("group", site.linked_group) if site.linked_group is not None else ("case", case_id)


def eligible_tasks(facts: Mapping[int, CaseFacts], histories: Mapping[int, Sequence[VisitFact]],
                   sites: Mapping[int, CaseSite], day: date, now: datetime | None = None,
                   optional: Iterable[OptionalVisit] = ()) -> EligibilityResult:
    """The visit tasks of ``day`` for the cases in ``facts`` (each with its history and site), and an
    exclusion for every other case; see the module docstring. ``optional`` visits are merged last."""
    excluded: list[Exclusion] = []
    groups: dict[tuple[str, int], list[int]] = {}
    windows_of: dict[int, list[TimeWindow]] = {}
    for case_id in sorted(facts):
        case, site = facts[case_id], sites[case_id]
        windows = visit_windows(case, case.policy, day)
        if not windows:
            rule_ids, reasons = _closed_rules(case, day)
            excluded.append(Exclusion(case_id, site.buyer, rule_ids, "; ".join(reasons)))
            continue
        windows_of[case_id] = windows
        groups.setdefault(_group_key(case_id, site), []).append(case_id)

    tasks: list[VisitTask] = []
    carried: dict[int, tuple[int, ...]] = {}
    for members in groups.values():
        lead = next((m for m in members if sites[m].is_leading), members[0])
        case, site = facts[lead], sites[lead]
        history = _merged_history(histories.get(m, ()) for m in members)
        windows, cut_by = _history_cuts(case, history, windows_of[lead], day, now)
        if cut_by is not None:
            excluded.extend(Exclusion(m, sites[m].buyer, (cut_by[0],), cut_by[1]) for m in members)
            continue
        missing = missing_time_bands(case.policy, history)
        dues = [stage_due(facts[m], facts[m].policy, histories.get(m, ()), day) for m in members]
        priority = max(priority_for(d, day) for d in dues)
        due_dates = [d.due_by for d in dues if d.due_by is not None]
        skills = frozenset().union(*(DEBT_TYPE_SKILLS.get(sites[m].debt_type, frozenset()) for m in members))
        ordered = (lead, *(m for m in members if m != lead))
        carried[lead] = ordered
        tasks.append(VisitTask(
            case_id=lead, buyer=site.buyer, at=site.at, windows=tuple(windows),
            service_s=SERVICE_S + SERVICE_PER_LINKED_S * (len(members) - 1), priority=priority,
            region=site.region, preferred=tuple(w for w in windows if w.time_band in missing),
            due_by=min(due_dates, default=None), required_skills=skills, needs_certificated=True))
    return EligibilityResult(_merge_optional(tasks, carried, optional), excluded, carried)


def _merge_optional(tasks: list[VisitTask], carried: Mapping[int, tuple[int, ...]],
                    offers: Iterable[OptionalVisit]) -> list[VisitTask]:
    """Each task replaced by the best unexpired optional visit offered for any warrant it carries
    (module docstring)."""
    task_of = {case_id: task.case_id for task in tasks for case_id in carried[task.case_id]}
    best: dict[int, OptionalVisit] = {}
    for offer in offers:
        owner = task_of.get(offer.case_id)
        if owner is not None and (owner not in best or offer.priority > best[owner].priority):
            best[owner] = offer
    merged = []
    for task in tasks:
        offer = best.get(task.case_id)
        windows = tuple(replace(w, end=min(w.end, offer.expires_at)) for w in task.windows
                        if w.start < offer.expires_at) if offer else ()
        if not windows:
            merged.append(task)  # no offer, or it lapses before the case may be visited
            continue
        merged.append(replace(
            task, at=offer.at, windows=windows,
            preferred=tuple(w for w in windows if any(w.time_band == p.time_band for p in task.preferred)),
            priority=max(task.priority, offer.priority), required_skills=task.required_skills | offer.required_skills,
            optional=True, expires_at=offer.expires_at))
    return merged


# --- the database edge -----------------------------------------------------------------------------


def case_sites(db: Session, case_ids: Sequence[int]) -> dict[int, CaseSite]:
    rows = db.execute(
        select(Case.id, Buyer.reference, func.ST_X(Address.location), func.ST_Y(Address.location),
               Address.itl1_cd, Case.linked_group, Case.is_leading, Case.debt_type)
        .join(Address, Address.id == Case.address_id).join(Buyer, Buyer.id == Case.buyer_id)
        .where(id_in(Case.id, case_ids)))
    return {r[0]: CaseSite(Point(r[2], r[3]), r[1], r[4], r[5], r[6], r[7]) for r in rows}


def _evaluate(db: Session, case_ids: Sequence[int], day: date, now: datetime | None,
              sources: Sequence[OptionalVisitSource]) -> EligibilityResult:
    facts = load_case_facts(db, case_ids, day)
    offers = [offer for source in sources for offer in source.optional_visits(day, now)]
    return eligible_tasks(facts, visit_history(db, case_ids), case_sites(db, case_ids), day, now, offers)


def load_eligibility(db: Session, day: date, region: str | None = None, subcontractor_id: int | None = None,
                     now: datetime | None = None, sources: Sequence[OptionalVisitSource] = ()) -> EligibilityResult:
    """``eligible_tasks`` for every open case (in ``region``, an ITL1 code, and/or assigned to
    ``subcontractor_id``). Compliance-stage cases are candidates too, so that they show up excluded
    with R-CASE-COMPLIANCE rather than silently missing."""
    query = select(Case.id).where(Case.status == CaseStatus.open)
    if region is not None:
        query = query.join(Address, Address.id == Case.address_id).where(Address.itl1_cd == region)
    if subcontractor_id is not None:
        query = query.where(Case.assigned_subcontractor_id == subcontractor_id)
    return _evaluate(db, list(db.scalars(query.order_by(Case.id))), day, now, sources)


def _local_utc(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=LONDON).astimezone(UTC)


def shifts_for_day(db: Session, day: date, region: str | None = None,
                   subcontractor_id: int | None = None) -> list[Shift]:
    """A default shift (``SHIFT_START``–``SHIFT_END`` local, one break) for every active agent (in
    ``region`` / of ``subcontractor_id``), from and back to the agent's home base."""
    query = select(Agent).where(Agent.active)
    if region is not None:
        query = query.where(Agent.itl1_cd == region)
    if subcontractor_id is not None:
        query = query.where(Agent.subcontractor_id == subcontractor_id)
    rest = Break(_local_utc(day, BREAK_EARLIEST), _local_utc(day, BREAK_LATEST), BREAK_S)
    shifts = []
    for agent in db.scalars(query.order_by(Agent.id)):
        home = to_shape(agent.home_base)
        base = Point(home.x, home.y)
        shifts.append(Shift(agent_id=agent.id, start=_local_utc(day, SHIFT_START), end=_local_utc(day, SHIFT_END),
                            start_at=base, end_at=base, skills=frozenset(agent.skills or ()),
                            certificated=agent.certificated, region=agent.itl1_cd, breaks=(rest,)))
    return shifts


def why(db: Session, case_id: int, day: date, now: datetime | None = None,
        sources: Sequence[OptionalVisitSource] = ()) -> WhyAnswer:
    """Whether ``case_id`` is in ``day``'s plan input and why (not): evaluated with its open linked
    warrants, exactly as ``load_eligibility`` would. The case must exist (the caller scopes it)."""
    group = db.scalar(select(Case.linked_group).where(Case.id == case_id))
    ids = [case_id] if group is None else list(db.scalars(
        select(Case.id).where(Case.linked_group == group, (Case.status == CaseStatus.open) | (Case.id == case_id))))
    result = _evaluate(db, ids, day, now, sources)
    for exclusion in result.excluded:
        if exclusion.case_id == case_id:
            return WhyAnswer(case_id, False, exclusion.rule_ids, (exclusion.reason,), ())
    task = next(t for t in result.tasks if case_id in result.carried[t.case_id])
    reasons = ("may be visited",) if task.case_id == case_id else (f"visited with linked warrant {task.case_id}",)
    return WhyAnswer(case_id, True, (), reasons, task.windows, task)
