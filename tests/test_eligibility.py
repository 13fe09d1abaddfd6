"""Eligibility: the pure core on hand-made facts (every rule that excludes a case, the cuts, the
preferred bands, priorities, linked warrants, the optional-visit seam), then the database edge on a
seeded ``tiny`` scenario."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest
from sqlalchemy import func, select

import sim
from core import session_scope
from core.models import Agent, Case
from core.visit_policy import POLICY_DIR, VisitPolicy, read_policy_file
from core.visit_rules import LONDON, CaseFacts, VisitFact
from dispatch.eligibility import (
    SERVICE_PER_LINKED_S,
    SERVICE_S,
    CaseSite,
    OptionalVisit,
    eligible_tasks,
    load_eligibility,
    shifts_for_day,
    why,
)
from dispatch.model import Point

MONDAY = date(2026, 11, 23)
SATURDAY = date(2026, 11, 28)
SUMMER_BANK_HOLIDAY = date(2026, 8, 31)  # England & Wales
HOME = Point(-4.1427, 50.3755)


@cache
def policy(name: str) -> VisitPolicy:
    return read_policy_file(POLICY_DIR / f"{name}.yaml")


def facts(case_id: int = 1, policy_name: str = "ccs_default", **fields) -> CaseFacts:
    base = CaseFacts(case_id=case_id, buyer_reference=f"BR{case_id}", policy=policy(policy_name),
                     nation="england_wales", status="open", stage="enforcement", on_hold=False, vulnerable=False,
                     under_arrangement=False, sensitive=False, notice_issued_on=date(2026, 5, 1),
                     enforcement_stage_on=date(2026, 6, 1), sale_stage_on=None)
    return replace(base, **fields)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LONDON)


def visit(at: datetime, outcome: str = "no_contact") -> VisitFact:
    return VisitFact(at.astimezone(UTC), outcome, None)


def run(cases: list[CaseFacts], day: date = MONDAY, histories=None, sites=None, **kw):
    sites = sites or {}
    return eligible_tasks({c.case_id: c for c in cases}, histories or {},
                          {c.case_id: sites.get(c.case_id, CaseSite(HOME, "buyer")) for c in cases}, day, **kw)


def only_task(result):
    assert not result.excluded, result.excluded
    (task,) = result.tasks
    return task


def exclusion_rules(result) -> tuple[str, ...]:
    assert not result.tasks, result.tasks
    (exclusion,) = result.excluded
    assert exclusion.reason
    return exclusion.rule_ids


def test_an_open_enforcement_case_gets_the_policy_windows_in_utc_one_per_band():
    task = only_task(run([facts()]))
    assert [(w.start, w.end, w.time_band) for w in task.windows] == [
        (local(MONDAY, 6), local(MONDAY, 8, 30), "early"), (local(MONDAY, 8, 30), local(MONDAY, 17), "office"),
        (local(MONDAY, 17), local(MONDAY, 21), "evening")]
    assert task.service_s == SERVICE_S and task.needs_certificated and task.required_skills == frozenset()


def test_summer_windows_follow_british_summer_time():
    day = date(2026, 7, 6)
    task = only_task(run([facts()], day=day))
    assert task.windows[0].start == datetime(2026, 7, 6, 5, tzinfo=UTC)  # 06:00 BST


def test_windows_start_24_hours_after_a_no_contact_visit():
    history = {1: [visit(local(MONDAY - timedelta(days=1), 15, 20))]}
    task = only_task(run([facts()], histories=history))
    assert task.windows[0].start == local(MONDAY, 15, 20)  # R-VISIT-GAP
    assert [w.time_band for w in task.windows] == ["office", "evening"]


def test_a_visit_with_contact_does_not_cut_the_windows():
    history = {1: [visit(local(MONDAY - timedelta(days=1), 15), "refused")]}
    assert only_task(run([facts()], histories=history)).windows[0].start == local(MONDAY, 6)


def test_a_no_contact_visit_today_excludes_the_case_with_r_visit_gap():
    assert exclusion_rules(run([facts()], histories={1: [visit(local(MONDAY, 7))]})) == ("R-VISIT-GAP",)


def test_plymouths_one_visit_a_day_is_counted():
    history = {1: [visit(local(MONDAY, 7), "refused")]}
    assert exclusion_rules(run([facts(policy_name="plymouth")], histories=history)) == ("R-VISIT-GAP",)
    assert only_task(run([facts()], histories=history))  # the national default has no daily cap


def test_re_planning_cuts_the_windows_at_now_and_excludes_after_hours():
    task = only_task(run([facts()], now=local(MONDAY, 18)))
    assert [(w.start, w.time_band) for w in task.windows] == [(local(MONDAY, 18), "evening")]
    assert exclusion_rules(run([facts()], now=local(MONDAY, 21, 5))) == ("R-VISIT-HOURS",)


@pytest.mark.parametrize(("fields", "rule"), [
    ({"on_hold": True}, "R-CASE-HOLD"),
    ({"under_arrangement": True}, "R-CASE-HOLD"),
    ({"status": "paid"}, "R-CASE-HOLD"),
    ({"vulnerable": True}, "R-CASE-VULN"),
    ({"sensitive": True}, "R-VISIT-SENSITIVE"),
    ({"stage": "compliance"}, "R-CASE-COMPLIANCE"),
    ({"enforcement_stage_on": MONDAY + timedelta(days=1)}, "R-CASE-COMPLIANCE"),
])
def test_a_case_that_may_not_be_visited_is_excluded_with_its_rule(fields, rule):
    assert exclusion_rules(run([facts(**fields)])) == (rule,)


def test_every_failing_rule_is_named():
    assert exclusion_rules(run([facts(on_hold=True, vulnerable=True)])) == ("R-CASE-HOLD", "R-CASE-VULN")


def test_newcastle_on_a_saturday_is_excluded_with_r_visit_hours():
    assert exclusion_rules(run([facts(policy_name="newcastle")], day=SATURDAY)) == ("R-VISIT-HOURS",)
    assert only_task(run([facts()], day=SATURDAY))


def test_plymouth_on_a_bank_holiday_is_excluded_with_r_visit_holiday():
    assert exclusion_rules(run([facts(policy_name="plymouth")], day=SUMMER_BANK_HOLIDAY)) == ("R-VISIT-HOLIDAY",)
    # The same date is no bank holiday in Scotland (its summer holiday is early August).
    assert only_task(run([facts(policy_name="plymouth", nation="scotland")], day=SUMMER_BANK_HOLIDAY))


def test_plymouths_christmas_blackout():
    assert exclusion_rules(run([facts(policy_name="plymouth")], day=date(2026, 12, 29))) == ("R-VISIT-HOLIDAY",)


def test_preferred_windows_are_the_bands_not_yet_had():
    earlier = MONDAY - timedelta(days=10)
    history = {1: [visit(local(earlier, 7), "refused"), visit(local(earlier + timedelta(days=2), 11), "refused")]}
    task = only_task(run([facts()], histories=history))
    assert [w.time_band for w in task.preferred] == ["evening"]
    assert len(task.windows) == 3  # the other bands stay allowed


def test_no_preference_once_every_band_was_had():
    earlier = MONDAY - timedelta(days=10)
    history = {1: [visit(local(earlier + timedelta(days=i), h), "refused") for i, h in enumerate((7, 11, 19))]}
    assert only_task(run([facts()], histories=history)).preferred == ()


def test_plymouth_prefers_out_of_office_bands_until_one_is_had():
    task = only_task(run([facts(policy_name="plymouth")]))
    assert {w.time_band for w in task.preferred} == {"early", "office", "evening"}


def test_priority_rises_as_the_stage_due_date_nears():
    # Plymouth: the first enforcement visit within 3 days of the stage start [001 stage table].
    def priority(started_days_ago: int) -> int:
        start = MONDAY - timedelta(days=started_days_ago)
        return only_task(run([facts(policy_name="plymouth", enforcement_stage_on=start)])).priority

    assert [priority(d) for d in (0, 1, 3, 5)] == [70, 90, 100, 100]
    task = only_task(run([facts(policy_name="plymouth", enforcement_stage_on=MONDAY - timedelta(days=1))]))
    assert task.due_by == MONDAY + timedelta(days=2)


def test_priority_without_a_deadline_and_before_the_window_opens():
    # No sale-stage timetable anywhere: no deadline.
    sale = facts(stage="sale", sale_stage_on=MONDAY - timedelta(days=3))
    assert only_task(run([sale])).priority == 20
    # Newcastle: the first visit from day 28 after the notice (day 1); the notice was 10 days ago.
    early = facts(policy_name="newcastle", notice_issued_on=MONDAY - timedelta(days=10),
                  enforcement_stage_on=MONDAY - timedelta(days=1))
    assert only_task(run([early])).priority == 10


def test_linked_warrants_are_one_task_at_the_leader_carrying_all():
    group = [facts(1), facts(2), facts(3), facts(4, vulnerable=True)]
    sites = {i: CaseSite(HOME, "buyer", "TLK", linked_group=77, is_leading=i == 2) for i in (1, 2, 3, 4)}
    result = run(group, sites=sites)
    (task,) = result.tasks
    assert task.case_id == 2 and result.carried == {2: (2, 1, 3)}
    assert task.service_s == SERVICE_S + 2 * SERVICE_PER_LINKED_S
    assert [(e.case_id, e.rule_ids) for e in result.excluded] == [(4, ("R-CASE-VULN",))]


def test_a_no_contact_visit_on_any_linked_warrant_cuts_the_groups_windows():
    sites = {i: CaseSite(HOME, "buyer", linked_group=5, is_leading=i == 1) for i in (1, 2)}
    history = {2: [visit(local(MONDAY - timedelta(days=1), 16))]}
    (task,) = run([facts(1), facts(2)], sites=sites, histories=history).tasks
    assert task.case_id == 1 and task.windows[0].start == local(MONDAY, 16)


def test_a_linked_group_whose_leader_is_on_hold_is_led_by_the_next_warrant():
    sites = {i: CaseSite(HOME, "buyer", linked_group=6, is_leading=i == 1) for i in (1, 2, 3)}
    result = run([facts(1, on_hold=True), facts(2), facts(3)], sites=sites)
    assert result.carried == {2: (2, 3)} and [e.case_id for e in result.excluded] == [1]


def test_debt_types_ask_for_specialist_skills():
    sites = {1: CaseSite(HOME, "buyer", debt_type="business_rates"), 2: CaseSite(HOME, "buyer", debt_type="parking")}
    tasks = {t.case_id: t for t in run([facts(1), facts(2)], sites=sites).tasks}
    assert tasks[1].required_skills == {"business_rates"} and tasks[2].required_skills == frozenset()


class Sightings:
    """A trivial ``OptionalVisitSource``: what the ANPR issue will plug in."""

    def __init__(self, *offers: OptionalVisit) -> None:
        self.offers = offers

    def optional_visits(self, day, now):
        return [o for o in self.offers if o.expires_at.astimezone(LONDON).date() == day]


def test_an_optional_visit_replaces_the_days_task_until_it_expires():
    seen = Point(-4.15, 50.38)
    source = Sightings(OptionalVisit(1, seen, local(MONDAY, 10), "ANPR sighting", priority=60))
    offers = list(source.optional_visits(MONDAY, None))
    no_deadline = facts(stage="sale", sale_stage_on=MONDAY - timedelta(days=3))
    task = only_task(run([no_deadline], optional=offers))
    assert (task.at, task.optional, task.expires_at) == (seen, True, local(MONDAY, 10))
    assert [(w.start, w.end) for w in task.windows] == [(local(MONDAY, 6), local(MONDAY, 8, 30)),
                                                         (local(MONDAY, 8, 30), local(MONDAY, 10))]
    assert task.required_skills == {"vehicle"} and task.priority == 60  # the offer's, above no deadline's 20


def test_an_optional_visit_that_lapses_or_is_for_an_excluded_case_changes_nothing():
    lapsed = OptionalVisit(1, Point(0, 51), local(MONDAY, 5), "seen before hours")
    plain = only_task(run([facts()]))
    assert only_task(run([facts()], optional=[lapsed])) == plain
    held = run([facts(2, on_hold=True)], optional=[replace(lapsed, case_id=2, expires_at=local(MONDAY, 12))])
    assert (held.tasks, [e.rule_ids for e in held.excluded]) == ([], [("R-CASE-HOLD",)])


def test_an_optional_visit_for_a_linked_warrant_moves_the_groups_task():
    sites = {i: CaseSite(HOME, "buyer", linked_group=8, is_leading=i == 1) for i in (1, 2)}
    offer = OptionalVisit(2, Point(0, 51), local(MONDAY, 20), "ANPR sighting", priority=60)
    (task,) = run([facts(1, enforcement_stage_on=MONDAY), facts(2)], sites=sites, optional=[offer]).tasks
    assert task.case_id == 1 and task.at == Point(0, 51) and task.windows[-1].end == local(MONDAY, 20)


# --- the database edge, on the seeded ``tiny`` scenario ----------------------------------------------

DAY = sim.SCENARIOS["tiny"].as_of


@pytest.fixture(scope="module")
def tiny(geodata_loaded, policies_loaded):
    sim.seed_scenario("tiny", seed=1, progress=False)
    return DAY


def test_every_open_case_is_a_task_carried_or_excluded_with_a_rule(tiny):
    with session_scope() as db:
        result = load_eligibility(db, tiny)
        open_cases = db.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
        compliance = set(db.scalars(select(Case.id).where(Case.status == "open", Case.stage == "compliance")))
    carried = [c for t in result.tasks for c in result.carried[t.case_id]]
    excluded = [e.case_id for e in result.excluded]
    assert len(carried) + len(excluded) == open_cases and not set(carried) & set(excluded)
    assert result.tasks and all(e.rule_ids for e in result.excluded)
    assert compliance <= {e.case_id for e in result.excluded if "R-CASE-COMPLIANCE" in e.rule_ids}
    assert all(t.windows and t.needs_certificated and 0 <= t.priority <= 100 for t in result.tasks)
    assert all(w.start.date() == tiny for t in result.tasks for w in t.windows)


def test_a_region_filter_keeps_its_own_cases(tiny):
    with session_scope() as db:
        whole = load_eligibility(db, tiny)
        region = next(t.region for t in whole.tasks if t.region)
        part = load_eligibility(db, tiny, region=region)
    assert part.tasks and {t.region for t in part.tasks} == {region}
    assert {t.case_id for t in part.tasks} == {t.case_id for t in whole.tasks if t.region == region}


def test_why_agrees_with_the_days_eligibility(tiny):
    with session_scope() as db:
        result = load_eligibility(db, tiny)
        task, exclusion = result.tasks[0], result.excluded[0]
        in_plan, left_out = why(db, task.case_id, tiny), why(db, exclusion.case_id, tiny)
    assert in_plan.eligible and in_plan.windows == task.windows and in_plan.rule_ids == ()
    assert not left_out.eligible and left_out.rule_ids == exclusion.rule_ids


def test_shifts_for_every_active_agent_from_the_home_base(tiny):
    with session_scope() as db:
        active = db.scalar(select(func.count()).select_from(Agent).where(Agent.active))
        shifts = shifts_for_day(db, tiny)
        regional = shifts_for_day(db, tiny, region=shifts[0].region)
    assert len(shifts) == active > 0
    shift = shifts[0]
    assert (shift.start, shift.end) == (local(tiny, 7), local(tiny, 19))
    assert shift.start_at == shift.end_at and shift.breaks[0].duration_s == 1800
    assert regional and {s.region for s in regional} == {shift.region}
    assert any("vehicle" in s.skills for s in shifts)
