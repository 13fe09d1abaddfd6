"""The pure visit rules (core.visit_rules) against the shipped buyer policies; no database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from core.clock import LONDON
from core.visit_policy import POLICY_DIR, read_policy_file
from core.visit_rules import (
    CaseFacts, Nation, VisitFact, compliance_period_end, missing_time_bands, nation_of_itl1, notice_due_by,
    ready_to_return, stage_due, time_band_of, visit_allowed, visit_windows,
)

POLICIES = {name: read_policy_file(POLICY_DIR / f"{name}.yaml")
            for name in ("ccs_default", "plymouth", "newcastle", "croydon")}


def case(policy: str = "ccs_default", **changes) -> CaseFacts:
    facts = CaseFacts(case_id=1, buyer_reference="LO-1", policy=POLICIES[policy], nation=Nation.england_wales,
                      status="open", stage="enforcement", on_hold=False, vulnerable=False,
                      under_arrangement=False, sensitive=False, notice_issued_on=date(2025, 1, 6),
                      enforcement_stage_on=date(2025, 2, 2), sale_stage_on=None)
    return replace(facts, **changes)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def visit(at: datetime, outcome: str = "no_contact", band: str | None = None) -> VisitFact:
    return VisitFact(arrived_at=at, outcome=outcome, time_band=band)


def test_nation_from_itl1() -> None:
    assert nation_of_itl1("TLM") is Nation.scotland
    assert nation_of_itl1("TLN") is Nation.northern_ireland
    assert nation_of_itl1("TLK") is Nation.england_wales
    assert nation_of_itl1(None) is Nation.england_wales


def test_newcastle_saturday_has_no_window() -> None:
    c = case("newcastle")
    assert visit_windows(c, c.policy, date(2025, 6, 7)) == []
    assert "R-VISIT-HOURS" in visit_allowed(c, [], local(2025, 6, 7, 10)).rule_ids
    windows = visit_windows(c, c.policy, date(2025, 6, 9))
    assert windows[0].start == local(2025, 6, 9, 7, 30) and windows[-1].end == local(2025, 6, 9, 21)


def test_plymouth_christmas_blackout_wraps_the_year() -> None:
    c = case("plymouth")
    for day in (date(2025, 12, 24), date(2026, 1, 2)):
        assert visit_windows(c, c.policy, day) == []
    decision = visit_allowed(c, [], local(2025, 12, 24, 10))
    assert decision.rule_ids == ("R-VISIT-HOLIDAY",) and "blackout" in decision.reasons[0]
    assert visit_windows(c, c.policy, date(2026, 1, 3))  # a Saturday after the blackout


def test_plymouth_closed_on_english_bank_holiday_and_sunday() -> None:
    c = case("plymouth")
    assert visit_windows(c, c.policy, date(2025, 5, 5)) == []  # Early May bank holiday
    assert visit_allowed(c, [], local(2025, 5, 5, 10)).rule_ids == ("R-VISIT-HOLIDAY",)
    assert visit_allowed(c, [], local(2025, 6, 8, 10)).rule_ids == ("R-VISIT-HOURS",)  # Sunday


def test_scottish_address_uses_scottish_bank_holidays() -> None:
    english, scottish = case(), case(nation=Nation.scotland)
    # Summer bank holiday: 4 August in Scotland, 25 August in England & Wales (2025).
    assert visit_windows(scottish, scottish.policy, date(2025, 8, 4)) == []
    assert visit_windows(english, english.policy, date(2025, 8, 4))
    assert visit_windows(english, english.policy, date(2025, 8, 25)) == []
    assert visit_windows(scottish, scottish.policy, date(2025, 8, 25))


def test_visit_20_hours_after_no_contact_is_refused() -> None:
    c = case()
    history = [visit(local(2025, 6, 10, 17))]
    decision = visit_allowed(c, history, local(2025, 6, 11, 13))
    assert not decision.ok and decision.rule_ids == ("R-VISIT-GAP",)
    assert visit_allowed(c, history, local(2025, 6, 11, 17)).ok
    # Contact made: no wait needed.
    assert visit_allowed(c, [visit(local(2025, 6, 10, 9), "refused")], local(2025, 6, 10, 18)).ok


def test_third_newcastle_visit_in_one_day_is_refused() -> None:
    c = case("newcastle")
    history = [visit(local(2025, 6, 10, 8), "refused"), visit(local(2025, 6, 10, 12), "refused")]
    assert visit_allowed(c, history[:1], local(2025, 6, 10, 12)).ok
    decision = visit_allowed(c, history, local(2025, 6, 10, 19))
    assert decision.rule_ids == ("R-VISIT-GAP",) and "at most 2" in decision.reasons[0]


def test_case_on_hold_is_refused_and_has_no_window() -> None:
    c = case(on_hold=True)
    assert visit_windows(c, c.policy, date(2025, 6, 10)) == []
    assert visit_allowed(c, [], local(2025, 6, 10, 10)).rule_ids == ("R-CASE-HOLD",)


@pytest.mark.parametrize(("changes", "rule"), [
    ({"status": "paid"}, "R-CASE-HOLD"), ({"under_arrangement": True}, "R-CASE-HOLD"),
    ({"vulnerable": True}, "R-CASE-VULN"), ({"sensitive": True}, "R-VISIT-SENSITIVE"),
    ({"stage": "compliance"}, "R-CASE-COMPLIANCE"),
])
def test_cases_that_may_not_be_visited(changes: dict, rule: str) -> None:
    c = case(**changes)
    assert visit_windows(c, c.policy, date(2025, 6, 10)) == []
    assert visit_allowed(c, [], local(2025, 6, 10, 10)).rule_ids == (rule,)


def test_every_failing_rule_is_listed() -> None:
    c = case("plymouth", on_hold=True, vulnerable=True)
    decision = visit_allowed(c, [visit(local(2025, 12, 23, 20))], local(2025, 12, 24, 5))
    assert set(decision.rule_ids) == {"R-CASE-HOLD", "R-CASE-VULN", "R-VISIT-HOLIDAY", "R-VISIT-HOURS",
                                      "R-VISIT-GAP"}


def test_windows_follow_daylight_saving() -> None:
    c = case("croydon")
    winter, summer = (visit_windows(c, c.policy, d) for d in (date(2025, 3, 28), date(2025, 3, 31)))
    assert winter[0].start == datetime(2025, 3, 28, 7, tzinfo=UTC)  # GMT
    assert summer[0].start == datetime(2025, 3, 31, 6, tzinfo=UTC)  # BST
    assert [w.time_band for w in summer] == ["early", "office", "evening"]
    assert summer[-1].end == datetime(2025, 3, 31, 18, tzinfo=UTC)
    assert visit_allowed(c, [], datetime(2025, 3, 31, 6, 30, tzinfo=UTC)).ok  # 07:30 BST
    assert not visit_allowed(c, [], datetime(2025, 3, 28, 6, 30, tzinfo=UTC)).ok  # 06:30 GMT


def test_time_band_of_uses_local_time() -> None:
    policy = POLICIES["plymouth"]
    assert time_band_of(policy, datetime(2025, 7, 1, 16, 30, tzinfo=UTC)) == "evening"  # 17:30 BST
    assert time_band_of(policy, local(2025, 7, 1, 8, 29)) == "early"
    assert time_band_of(policy, local(2025, 7, 1, 22)) is None


def test_compliance_period_clear_days() -> None:
    ccs, croydon = POLICIES["ccs_default"], POLICIES["croydon"]
    # Notice Monday 2 June 2025: 14 clear days, Sundays not counted, end on Wednesday 18 June.
    assert compliance_period_end(date(2025, 6, 2), croydon, Nation.england_wales) == date(2025, 6, 19)
    assert compliance_period_end(date(2025, 6, 2), ccs, Nation.england_wales) == date(2025, 6, 19)


def test_compliance_period_skips_the_nations_bank_holidays() -> None:
    plymouth = POLICIES["plymouth"]
    # 7 clear days after Wednesday 20 August 2025; 25 August is a bank holiday in England only.
    assert compliance_period_end(date(2025, 8, 20), plymouth, Nation.england_wales) == date(2025, 8, 30)
    assert compliance_period_end(date(2025, 8, 20), plymouth, Nation.scotland) == date(2025, 8, 29)


def test_newcastle_timetable_windows() -> None:
    c = case("newcastle", notice_issued_on=date(2025, 1, 6))  # Day 1; Day 28 is 2 February
    due = stage_due(c, c.policy, [], date(2025, 2, 3))
    assert (due.opens_on, due.due_by, due.window_index, due.overdue) == (date(2025, 2, 2), date(2025, 2, 6), 0, False)
    # A second visit inside days 28-32 does not meet the days 33-61 window.
    history = [visit(local(2025, 2, 4, 10)), visit(local(2025, 2, 5, 18))]
    due = stage_due(c, c.policy, history, date(2025, 3, 10))
    assert (due.opens_on, due.due_by, due.window_index, due.overdue) == (date(2025, 2, 7), date(2025, 3, 7), 1, True)
    history += [visit(local(2025, 2, 20, 10)), visit(local(2025, 4, 1, 10)), visit(local(2025, 5, 1, 10))]
    due = stage_due(c, c.policy, history, date(2025, 5, 2))
    assert (due.due_by, due.window_index, due.return_on) == (None, None, date(2025, 6, 23))  # Day 169


def test_plymouth_second_visit_within_14_days_of_first() -> None:
    c = case("plymouth", enforcement_stage_on=date(2025, 6, 2))
    assert stage_due(c, c.policy, [], date(2025, 6, 2)).due_by == date(2025, 6, 5)
    due = stage_due(c, c.policy, [visit(local(2025, 6, 6, 10))], date(2025, 6, 21))
    assert (due.due_by, due.window_index, due.overdue) == (date(2025, 6, 20), 1, True)


def test_ccs_first_visit_within_30_days_of_enforcement_stage() -> None:
    c = case(enforcement_stage_on=date(2025, 6, 2))
    assert stage_due(c, c.policy, [], date(2025, 6, 2)).due_by == date(2025, 7, 2)
    assert stage_due(case(stage="compliance"), POLICIES["ccs_default"], [], date(2025, 6, 2)).due_by is None


def test_plymouth_needs_five_visits_and_one_out_of_office_hours() -> None:
    plymouth = POLICIES["plymouth"]
    office_only = [visit(local(2025, 6, d, 10)) for d in (2, 4, 6, 9, 11)]
    decision = ready_to_return(plymouth, office_only)
    assert decision.rule_ids == ("R-VISIT-TIMES",)
    assert any("outside office hours" in r for r in decision.reasons)
    three_bands = [visit(local(2025, 6, 2, 7)), visit(local(2025, 6, 4, 10)), visit(local(2025, 6, 6, 19))]
    assert any("3 of 5" in r for r in ready_to_return(plymouth, three_bands).reasons)
    assert ready_to_return(POLICIES["ccs_default"], three_bands).ok
    assert ready_to_return(plymouth, three_bands + office_only[3:]).ok


def test_missing_time_bands() -> None:
    ccs = POLICIES["ccs_default"]
    assert missing_time_bands(ccs, []) == {"early", "office", "evening"}
    assert missing_time_bands(ccs, [visit(local(2025, 6, 2, 10))]) == {"early", "evening"}
    # A recorded band wins over the arrival time.
    assert missing_time_bands(ccs, [visit(local(2025, 6, 2, 10), band="evening")]) == {"early", "office"}
    # Enough bands but no visit outside office hours: only the out-of-office bands are missing.
    relaxed = POLICIES["plymouth"].model_copy(update={"min_distinct_time_bands": 1})
    assert missing_time_bands(relaxed, [visit(local(2025, 6, 2, 10))]) == {"early", "evening"}
    assert missing_time_bands(relaxed, [visit(local(2025, 6, 2, 20))]) == set()


@pytest.mark.parametrize("policy, received, nation, due", [
    # R-CASE-NOE: 2 working days by default [000 §2.89]; Friday → Tuesday.
    ("ccs_default", date(2026, 11, 20), Nation.england_wales, date(2026, 11, 24)),
    # Easter Monday 2026 (6 April) is a bank holiday in England but not in Scotland.
    ("ccs_default", date(2026, 4, 2), Nation.england_wales, date(2026, 4, 8)),
    ("ccs_default", date(2026, 4, 2), Nation.scotland, date(2026, 4, 7)),
    # Newcastle: the next working day [002 App.1 Day 1]; Plymouth: 48 hours, weekends included [001 §1.43].
    ("newcastle", date(2026, 11, 20), Nation.england_wales, date(2026, 11, 23)),
    ("plymouth", date(2026, 11, 20), Nation.england_wales, date(2026, 11, 22)),
])
def test_notice_deadline(policy, received, nation, due):
    assert notice_due_by(received, POLICIES[policy], nation) == due
