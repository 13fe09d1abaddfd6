"""Pure visit rules: when a case may be visited, and whether a visit at a moment is allowed.

No database access here: the planner, the lifecycle service and the evidence checker load the facts
(``core.case_facts``) and the buyer's policy (``core.visit_policy``) and pass them in. Rule ids and
source paragraphs are those of ``DOMAIN.md``.

When a case may not be visited at all, ``visit_windows`` is empty and ``visit_allowed`` says why:
- R-CASE-HOLD: on hold, not open (paid, returned, closed), or under a payment arrangement (visits are
  for customers with neither payment nor arrangement [000 §2.93, §2.95]);
- R-CASE-VULN: vulnerable customer [000 §2.97–2.98];
- R-VISIT-SENSITIVE: the address is flagged sensitive and not cleared [004 §5.15];
- R-CASE-COMPLIANCE: still in the compliance stage, or before the enforcement stage start date — no
  enforcement visit before the enforcement stage.
Times are compared in local time (Europe/London); windows are returned in UTC.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from core.clock import LONDON
from core.visit_policy import WEEKDAYS, StageTimetable, TimeRange, VisitPolicy

# What an optional visit to an ANPR sighting asks of the agent: it may end in clamping the vehicle, so
# a vehicle-capable agent. One definition for the planner's optional tasks (dispatch) and the alerts
# that send an agent to a sighting (anpr_ingest).
OPTIONAL_SKILLS = frozenset({"vehicle"})


class Nation(enum.StrEnum):
    """The bank-holiday calendar an address follows (R-VISIT-HOLIDAY)."""

    england_wales = "england_wales"
    scotland = "scotland"
    northern_ireland = "northern_ireland"


# ``holidays`` subdivisions of the UK calendar; Wales shares England's bank holidays.
_HOLIDAY_SUBDIV = {Nation.england_wales: "ENG", Nation.scotland: "SCT", Nation.northern_ireland: "NIR"}


def nation_of_itl1(itl1_cd: str | None) -> Nation:
    """ITL1 region → nation: TLM Scotland, TLN Northern Ireland, anything else (or unknown) England &
    Wales."""
    return {"TLM": Nation.scotland, "TLN": Nation.northern_ireland}.get(itl1_cd or "", Nation.england_wales)


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about one case (see ``core.case_facts.load_case_facts``)."""

    case_id: int
    buyer_reference: str
    policy: VisitPolicy
    nation: str
    status: str
    stage: str
    on_hold: bool
    vulnerable: bool
    under_arrangement: bool
    sensitive: bool  # the address's sensitive flag, not yet cleared (R-VISIT-SENSITIVE)
    notice_issued_on: date | None
    enforcement_stage_on: date | None
    sale_stage_on: date | None


@dataclass(frozen=True)
class VisitFact:
    """One past visit of a case."""

    arrived_at: datetime  # aware
    outcome: str
    time_band: str | None


@dataclass(frozen=True)
class TimeWindow:
    """A span in which a visit is allowed; UTC-aware ends, ``end`` exclusive."""

    start: datetime
    end: datetime
    time_band: str | None


@dataclass(frozen=True)
class Decision:
    """The verdict of a rule check; ``rule_ids`` lists every failing rule, ``reasons`` explain them."""

    ok: bool
    rule_ids: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageDue:
    """The stage timetable's next visit for a case (R-VISIT-SCHEDULE): window ``window_index`` opens on
    ``opens_on`` and is due by ``due_by``; once every window is met both are None and ``return_on`` is
    the timetable's return day, if it has one."""

    due_by: date | None
    window_index: int | None
    overdue: bool
    opens_on: date | None = None
    return_on: date | None = None


class _Failures:
    """Collects failing rules in order, each rule id once."""

    def __init__(self) -> None:
        self.rule_ids: list[str] = []
        self.reasons: list[str] = []

    def add(self, rule_id: str, reason: str) -> None:
        if rule_id not in self.rule_ids:
            self.rule_ids.append(rule_id)
        self.reasons.append(reason)

    def decision(self) -> Decision:
        return Decision(not self.rule_ids, tuple(self.rule_ids), tuple(self.reasons))


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("visit times must be timezone-aware")
    return at.astimezone(LONDON)


@lru_cache(maxsize=64)
def _bank_holidays(nation: str, year: int) -> frozenset[date]:
    return frozenset(holidays.UK(subdiv=_HOLIDAY_SUBDIV[Nation(nation)], years=year))


def is_bank_holiday(day: date, nation: str) -> bool:
    """Whether ``day`` is a bank holiday in ``nation`` (R-VISIT-HOLIDAY)."""
    return day in _bank_holidays(nation, day.year)


def _case_blocks(case: CaseFacts, day: date, failures: _Failures) -> None:
    """The case-level reasons for no visit at all on ``day`` (see the module docstring)."""
    if case.on_hold:
        failures.add("R-CASE-HOLD", "case is on hold")
    if case.status != "open":
        failures.add("R-CASE-HOLD", f"case is {case.status}")
    if case.under_arrangement:
        failures.add("R-CASE-HOLD", "case is under a payment arrangement")
    if case.vulnerable:
        failures.add("R-CASE-VULN", "customer is vulnerable")
    if case.sensitive:
        failures.add("R-VISIT-SENSITIVE", "address is flagged sensitive and not cleared")
    if case.stage == "compliance":
        failures.add("R-CASE-COMPLIANCE", "case is still in the compliance stage")
    elif case.enforcement_stage_on is not None and day < case.enforcement_stage_on:
        failures.add("R-CASE-COMPLIANCE", f"enforcement stage starts on {case.enforcement_stage_on}")


def _day_closures(policy: VisitPolicy, nation: str, day: date, failures: _Failures) -> None:
    """The calendar reasons ``day`` is closed under ``policy`` for an address in ``nation``."""
    weekday = WEEKDAYS[day.weekday()]
    if weekday not in policy.weekdays:
        failures.add("R-VISIT-HOURS", f"no visits on a {weekday.capitalize()}")
    if policy.bank_holidays_closed and is_bank_holiday(day, nation):
        failures.add("R-VISIT-HOLIDAY", f"{day} is a bank holiday ({nation})")
    for blackout in policy.blackouts:
        if blackout.covers(day):
            failures.add("R-VISIT-HOLIDAY", f"blackout {blackout.start}..{blackout.end}: {blackout.reason}")


def time_band_of(policy: VisitPolicy, at: datetime) -> str | None:
    """The policy's named time band containing ``at`` (local time), if any."""
    local = _local(at).time()
    return next((name for name, band in policy.time_bands.items() if band.contains(local)), None)


def _utc(day: date, t: time) -> datetime:
    # zoneinfo applies the offset in force at that local time, so windows follow BST/GMT changes.
    return datetime.combine(day, t, tzinfo=LONDON).astimezone(UTC)


def _split_by_bands(policy: VisitPolicy, span: TimeRange) -> list[tuple[time, time, str | None]]:
    """``span`` cut at the time-band boundaries, each piece with its band (None outside any band)."""
    cuts = {span.start_time, span.end_time}
    for band in policy.time_bands.values():
        cuts |= {t for t in (band.start_time, band.end_time) if span.start_time < t < span.end_time}
    points = sorted(cuts)
    pieces = []
    for start, end in zip(points, points[1:]):
        band = next((name for name, b in policy.time_bands.items() if b.contains(start)), None)
        if pieces and pieces[-1][2] == band:
            pieces[-1] = (pieces[-1][0], end, band)
        else:
            pieces.append((start, end, band))
    return pieces


def visit_windows(case: CaseFacts, policy: VisitPolicy, day: date) -> list[TimeWindow]:
    """The spans of local ``day`` in which ``case`` may be visited under ``policy``, in UTC, one per
    time band: empty on a closed weekday, a bank holiday of the case's nation, a blackout day, or when
    the case may not be visited at all (module docstring). The visit-history rules (R-VISIT-GAP) are
    the caller's, through ``visit_allowed``."""
    failures = _Failures()
    _case_blocks(case, day, failures)
    _day_closures(policy, case.nation, day, failures)
    if failures.rule_ids:
        return []
    return [TimeWindow(_utc(day, start), _utc(day, end), band)
            for span in policy.hours.for_weekday(WEEKDAYS[day.weekday()])
            for start, end, band in _split_by_bands(policy, span)]


def visit_allowed(case: CaseFacts, history: Sequence[VisitFact], at: datetime) -> Decision:
    """Whether a visit to ``case`` at ``at`` is allowed under ``case.policy``, listing every failing
    rule. Only visits before ``at`` count, so the evidence checker may pass the whole history."""
    policy = case.policy
    local = _local(at)
    day = local.date()
    failures = _Failures()
    _case_blocks(case, day, failures)
    _day_closures(policy, case.nation, day, failures)
    hours = policy.hours.for_weekday(WEEKDAYS[day.weekday()])
    if not any(span.contains(local.time()) for span in hours):
        allowed = ", ".join(f"{s.start}–{s.end}" for s in hours) or "none"
        failures.add("R-VISIT-HOURS", f"{local:%H:%M} is outside the visiting hours ({allowed})")
    earlier = [v for v in history if v.arrived_at < at]
    last_no_contact = max((v.arrived_at for v in earlier if v.outcome == "no_contact"), default=None)
    gap = timedelta(hours=policy.min_gap_after_no_contact_hours)
    if last_no_contact is not None and at - last_no_contact < gap:
        hours_since = (at - last_no_contact).total_seconds() / 3600
        failures.add("R-VISIT-GAP", f"{hours_since:.1f} h after a no-contact visit; at least "
                                    f"{policy.min_gap_after_no_contact_hours} h required [000 §2.116]")
    cap = policy.max_visits_per_property_per_day
    same_day = sum(1 for v in earlier if _local(v.arrived_at).date() == day)
    if cap is not None and same_day >= cap:
        failures.add("R-VISIT-GAP", f"already {same_day} visit(s) on {day}; at most {cap} a day")
    return failures.decision()


DEFAULT_NOTICE_WORKING_DAYS = 2  # R-CASE-NOE [000 §2.89]


def notice_due_by(received_on: date, policy: VisitPolicy, nation: str) -> date:
    """The last day the Notice of Enforcement may be issued for a case received on ``received_on``
    (R-CASE-NOE): N working days later (Monday to Friday, not the nation's bank holidays), or N hours
    where the policy says hours (Plymouth: 48 [001 §1.43]). Receipt is known to the day, so hours
    count from the start of it and the deadline is the day they run out."""
    if policy.notice_within_hours is not None:
        return received_on + timedelta(hours=policy.notice_within_hours) // timedelta(days=1) * timedelta(days=1)
    remaining = (policy.notice_within_working_days if policy.notice_within_working_days is not None
                 else DEFAULT_NOTICE_WORKING_DAYS)
    day = received_on
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5 and not is_bank_holiday(day, nation):
            remaining -= 1
    return day


def compliance_period_end(notice_on: date, policy: VisitPolicy, nation: str) -> date:
    """The first date the enforcement stage may start after a notice issued on ``notice_on``
    (R-CASE-COMPLIANCE): the day after ``policy.compliance_period_clear_days`` CLEAR days. A clear day
    is a whole day strictly between the notice and the action — neither the day of the notice nor the
    day of the action counts — and Sundays and ``nation``'s bank holidays are not counted
    [004 §2.38, fee table]."""
    day, counted = notice_on, 0
    while counted < policy.compliance_period_clear_days:
        day += timedelta(days=1)
        if day.weekday() != 6 and not is_bank_holiday(day, nation):
            counted += 1
    return day + timedelta(days=1)


def _stage_anchor(case: CaseFacts, timetable: StageTimetable) -> date | None:
    if timetable.counted_from == "notice_issued":
        return case.notice_issued_on
    return {"compliance": case.notice_issued_on, "enforcement": case.enforcement_stage_on,
            "sale": case.sale_stage_on}.get(case.stage)


def stage_due(case: CaseFacts, policy: VisitPolicy, history: Sequence[VisitFact], day: date) -> StageDue:
    """The next visit the timetable of the case's stage asks for, as of ``day`` (R-VISIT-SCHEDULE).
    Visits from the anchor on meet the windows in order, each visit at most one window and only one
    made on or after that window opens; a late visit still meets its window (the lateness is the
    evidence checker's finding), so the planner always chases the next one."""
    timetable = policy.stage_timetables.get(case.stage)
    anchor = _stage_anchor(case, timetable) if timetable else None
    if timetable is None or anchor is None:
        return StageDue(None, None, False)

    def on_day(base: date, n: int) -> date:
        return base + timedelta(days=n - timetable.anchor_day)

    visit_days = sorted(d for d in (_local(v.arrived_at).date() for v in history) if d >= anchor)
    previous: date | None = None
    remaining = iter(visit_days)
    pending = next(remaining, None)
    for index, window in enumerate(timetable.windows):
        if window.after == "previous_visit" and previous is not None:
            opens, due = previous + timedelta(days=window.from_day), previous + timedelta(days=window.to_day)
        else:
            opens, due = on_day(anchor, window.from_day), on_day(anchor, window.to_day)
        while pending is not None and pending < opens:
            pending = next(remaining, None)
        if pending is None:
            return StageDue(due, index, day > due, opens_on=opens)
        previous, pending = pending, next(remaining, None)
    return_on = on_day(anchor, timetable.return_on_day) if timetable.return_on_day is not None else None
    return StageDue(None, None, False, return_on=return_on)


def _band(policy: VisitPolicy, visit: VisitFact) -> str | None:
    return visit.time_band or time_band_of(policy, visit.arrived_at)


def _out_of_office(policy: VisitPolicy, visit: VisitFact) -> bool:
    return policy.office_hours is not None and not policy.office_hours.contains(_local(visit.arrived_at).time())


def missing_time_bands(policy: VisitPolicy, history: Sequence[VisitFact]) -> set[str]:
    """Time bands the case still needs a visit in before it may be returned (R-VISIT-TIMES): empty once
    ``min_distinct_time_bands`` bands are visited (and, where required, a visit outside office hours
    made [001 §1.20]); otherwise the bands not yet visited — only those outside office hours when that
    visit is all that is missing. The planner prefers these bands."""
    visited = {b for b in (_band(policy, v) for v in history) if b is not None}
    unvisited = set(policy.time_bands) - visited
    needs_out_of_office = (policy.require_out_of_office_hours_visit
                           and not any(_out_of_office(policy, v) for v in history))
    if len(visited) < policy.min_distinct_time_bands:
        return unvisited
    if needs_out_of_office:
        office = policy.office_hours
        return {name for name in unvisited
                if not (office.start_time <= policy.time_bands[name].start_time
                        and policy.time_bands[name].end_time <= office.end_time)}
    return set()


def ready_to_return(policy: VisitPolicy, history: Sequence[VisitFact]) -> Decision:
    """Whether enough visits at enough different times have been made to return the case unpaid
    (R-VISIT-TIMES [000 §2.95, §2.117; 001 §1.19–1.20]). Every attendance counts as a visit."""
    failures = _Failures()
    if len(history) < policy.min_visits_before_return:
        failures.add("R-VISIT-TIMES", f"{len(history)} of {policy.min_visits_before_return} visits made")
    visited = {b for b in (_band(policy, v) for v in history) if b is not None}
    if len(visited) < policy.min_distinct_time_bands:
        failures.add("R-VISIT-TIMES", f"visits in {len(visited)} of {policy.min_distinct_time_bands} "
                                      f"different time bands; missing {', '.join(sorted(set(policy.time_bands) - visited))}")
    if policy.require_out_of_office_hours_visit and not any(_out_of_office(policy, v) for v in history):
        office = policy.office_hours
        failures.add("R-VISIT-TIMES", f"no visit outside office hours {office.start}–{office.end}")
    return failures.decision()
