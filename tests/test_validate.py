"""The independent plan validator (dispatch.validator): a correct hand-made plan has no violation, and
each kind of violation is caught, alone, on a plan broken in exactly that way. No database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.visit_policy import POLICY_DIR, read_policy_file
from core.visit_rules import CaseFacts, Nation, TimeWindow, VisitFact
from dispatch.model import Break, Dropped, Plan, PlannedVisit, Point, Route, Shift, VisitTask
from dispatch.validator import Violation, validate

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 23)  # a Monday, GMT
BASE = Point(-4.1427, 50.3755)  # Plymouth
A, B, C = Point(-4.13, 50.38), Point(-4.12, 50.39), Point(-4.10, 50.40)
LEG_S = 600  # every journey between two different places takes 10 minutes in these tests


def travel(a: Point, b: Point) -> int:
    return 0 if a == b else LEG_S


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LONDON).astimezone(UTC)


def window(h1: int, h2: int, band: str = "office", day: date = DAY) -> TimeWindow:
    return TimeWindow(at(h1, day=day), at(h2, day=day), band)


def shift(agent_id: int = 1, day: date = DAY, **changes) -> Shift:
    s = Shift(agent_id=agent_id, start=at(8, day=day), end=at(17, day=day), start_at=BASE, end_at=BASE,
              skills=frozenset({"vehicle"}), certificated=True,
              breaks=(Break(at(12, day=day), at(13, 30, day=day), 1800),))
    return replace(s, **changes)


def task(case_id: int, point: Point, day: date = DAY, **changes) -> VisitTask:
    t = VisitTask(case_id=case_id, buyer="plymouth", at=point, windows=(window(9, 12, day=day),
                                                                         window(14, 17, day=day)),
                  service_s=900, priority=50)
    return replace(t, **changes)


def visit(case_id: int, seq: int, point: Point, eta: datetime, agent_id: int = 1, service_s: int = 900,
          win: TimeWindow | None = None) -> PlannedVisit:
    return PlannedVisit(case_id=case_id, agent_id=agent_id, seq=seq, eta=eta,
                        etd=eta + timedelta(seconds=service_s), window=win or window(9, 12, day=eta.date()),
                        service_s=service_s, buyer="plymouth", at=point, time_band="office")


def world(day: date = DAY) -> tuple[Plan, list[VisitTask], list[Shift]]:
    """Agent 1 leaves base at 08:00, visits 101 at 09:00 and 102 at 09:25, is home by 09:50 and can take
    its break at noon; 103 is dropped for capacity."""
    shifts = [shift(day=day)]
    tasks = [task(101, A, day), task(102, B, day), task(103, C, day)]
    visits = (visit(101, 1, A, at(9, day=day)), visit(102, 2, B, at(9, 25, day=day)))
    plan = Plan(day=day, routes=[Route(1, shifts[0], visits, distance_m=9000.0, duration_s=1800)],
                dropped=[Dropped(103, "plymouth", C, "capacity")])
    return plan, tasks, shifts


def with_visits(plan: Plan, *visits: PlannedVisit, route: int = 0) -> Plan:
    routes = list(plan.routes)
    routes[route] = replace(routes[route], visits=tuple(visits))
    return replace(plan, routes=routes)


def kinds(violations: list[Violation]) -> set[str]:
    return {v.kind for v in violations}


def test_a_correct_plan_has_no_violation() -> None:
    plan, tasks, shifts = world()
    assert validate(plan, tasks, shifts, travel=travel) == []


def test_arrival_outside_every_window_breaks_visiting_hours() -> None:
    plan, tasks, shifts = world()
    late = visit(102, 2, B, at(12, 0))  # the window is 09:00–12:00, end exclusive
    violations = validate(with_visits(plan, plan.routes[0].visits[0], late), tasks, shifts, travel=travel)
    assert kinds(violations) == {"window"}
    assert violations[0].case_id == 102 and violations[0].rule_id == "R-VISIT-HOURS"


def test_service_may_run_past_the_window_end() -> None:
    plan, tasks, shifts = world()
    last_minute = visit(102, 2, B, at(11, 59))  # arrives inside the window, leaves at 12:14
    assert validate(with_visits(plan, plan.routes[0].visits[0], last_minute), tasks, shifts, travel=travel) == []


def test_recorded_window_must_be_the_one_arrived_in() -> None:
    plan, tasks, shifts = world()
    wrong = visit(102, 2, B, at(9, 25), win=window(14, 17))
    violations = validate(with_visits(plan, plan.routes[0].visits[0], wrong), tasks, shifts, travel=travel)
    assert kinds(violations) == {"window"}


def test_etd_must_be_eta_plus_service() -> None:
    plan, tasks, shifts = world()
    short = replace(plan.routes[0].visits[1], etd=at(9, 30))
    violations = validate(with_visits(plan, plan.routes[0].visits[0], short), tasks, shifts, travel=travel)
    assert kinds(violations) == {"service"}


def test_service_time_must_be_the_tasks() -> None:
    plan, tasks, shifts = world()
    short = visit(102, 2, B, at(9, 25), service_s=300)
    violations = validate(with_visits(plan, plan.routes[0].visits[0], short), tasks, shifts, travel=travel)
    assert kinds(violations) == {"service"}


def test_visit_before_the_shift_starts() -> None:
    plan, tasks, shifts = world()
    early = replace(shifts[0], start=at(9, 0), breaks=())
    plan = replace(plan, routes=[replace(plan.routes[0], shift=early)])
    violations = validate(plan, tasks, [early], travel=travel)
    # 09:00 is the shift start, so the agent cannot also have driven there by then.
    assert kinds(violations) == {"travel"}
    earlier = visit(101, 1, A, at(8, 55), win=window(8, 12))
    tasks = [replace(t, windows=(window(8, 12),)) if t.case_id == 101 else t for t in tasks]
    violations = validate(with_visits(plan, earlier, plan.routes[0].visits[1]), tasks, [early], travel=travel)
    assert kinds(violations) == {"shift_start", "travel"}


def test_agent_must_be_back_by_the_shift_end() -> None:
    plan, tasks, shifts = world()
    short = replace(shifts[0], end=at(9, 45), breaks=())  # 102 ends 09:40 + 10 min home = 09:50
    plan = replace(plan, routes=[replace(plan.routes[0], shift=short)])
    violations = validate(plan, tasks, [short], travel=travel)
    assert kinds(violations) == {"shift_end"} and violations[0].case_id == 102


def test_consecutive_etas_allow_for_travel() -> None:
    plan, tasks, shifts = world()
    rushed = visit(102, 2, B, at(9, 20))  # 101 ends 09:15, 10 minutes away
    violations = validate(with_visits(plan, plan.routes[0].visits[0], rushed), tasks, shifts, travel=travel)
    assert kinds(violations) == {"travel"} and violations[0].case_id == 102


def test_travel_from_a_matrix_provider() -> None:
    class Provider:
        """Shaped like dispatch.matrix's providers: ``matrix(points).duration_s[i, j]``."""

        def matrix(self, points):
            return SimpleNamespace(duration_s=np.array([[travel(a, b) * 2 for b in points] for a in points]))

    plan, tasks, shifts = world()
    violations = validate(plan, tasks, shifts, travel=Provider())
    assert kinds(violations) == {"travel"} and [v.case_id for v in violations] == [102]


def test_required_skill() -> None:
    plan, tasks, shifts = world()
    tasks = [replace(t, required_skills=frozenset({"vehicle", "anpr"})) if t.case_id == 101 else t for t in tasks]
    violations = validate(plan, tasks, shifts, travel=travel)
    assert kinds(violations) == {"skill"} and "anpr" in violations[0].message


def test_certificated_agent() -> None:
    plan, tasks, shifts = world()
    uncertificated = replace(shifts[0], certificated=False)
    plan = replace(plan, routes=[replace(plan.routes[0], shift=uncertificated)])
    violations = validate(plan, tasks, [uncertificated], travel=travel)
    assert kinds(violations) == {"certificated"} and {v.case_id for v in violations} == {101, 102}
    tasks = [replace(t, needs_certificated=False) for t in tasks]
    assert validate(plan, tasks, [uncertificated], travel=travel) == []


def test_break_must_fit() -> None:
    plan, tasks, shifts = world()
    # A 30 min break between 12:00 and 12:40, with 102 moved to 12:10–12:25: only 10 minutes of the
    # span come before the visit and 15 after it, so the break fits nowhere.
    busy = replace(shifts[0], breaks=(Break(at(12), at(12, 40), 1800),))
    plan = replace(plan, routes=[replace(plan.routes[0], shift=busy)])
    noon = visit(102, 2, B, at(12, 10), win=window(9, 17))
    tasks = [replace(t, windows=(window(9, 17),)) if t.case_id == 102 else t for t in tasks]
    violations = validate(with_visits(plan, plan.routes[0].visits[0], noon), tasks, [busy], travel=travel)
    assert kinds(violations) == {"break"}
    # Ten minutes later the break fits before the visit, with the drive after it.
    later = visit(102, 2, B, at(12, 40), win=window(9, 17))
    assert validate(with_visits(plan, plan.routes[0].visits[0], later), tasks, [busy], travel=travel) == []


def test_break_cannot_count_the_drive_as_rest() -> None:
    plan, tasks, shifts = world()
    tight = replace(shifts[0], breaks=(Break(at(9, 15), at(10), 1800),))
    plan = replace(plan, routes=[replace(plan.routes[0], shift=tight)])
    # 101 ends 09:15, 102 starts 09:55: 40 minutes, 30 of break + 10 of driving — just fits.
    fits = visit(102, 2, B, at(9, 55))
    assert validate(with_visits(plan, plan.routes[0].visits[0], fits), tasks, [tight], travel=travel) == []
    tight_gap = visit(102, 2, B, at(9, 50))
    violations = validate(with_visits(plan, plan.routes[0].visits[0], tight_gap), tasks, [tight], travel=travel)
    assert kinds(violations) == {"break"}


def test_case_visited_twice_by_one_agent() -> None:
    plan, tasks, shifts = world()
    again = visit(101, 3, A, at(10))
    violations = validate(with_visits(plan, *plan.routes[0].visits, again), tasks, shifts, travel=travel)
    assert kinds(violations) == {"duplicate"} and violations[0].case_id == 101


def test_case_visited_by_two_agents() -> None:
    plan, tasks, shifts = world()
    second = shift(2)
    other = Route(2, second, (visit(102, 1, B, at(9), agent_id=2),), distance_m=1.0, duration_s=1200)
    violations = validate(replace(plan, routes=[*plan.routes, other]), tasks, [*shifts, second], travel=travel)
    assert kinds(violations) == {"duplicate"} and "agents [1, 2]" in violations[0].message


def test_case_planned_and_dropped() -> None:
    plan, tasks, shifts = world()
    plan = replace(plan, dropped=[*plan.dropped, Dropped(101, "plymouth", A, "capacity")])
    assert kinds(validate(plan, tasks, shifts, travel=travel)) == {"duplicate"}


def test_no_task_lost() -> None:
    plan, tasks, shifts = world()
    violations = validate(replace(plan, dropped=[]), tasks, shifts, travel=travel)
    assert kinds(violations) == {"lost"} and violations[0].case_id == 103


def test_every_drop_has_a_reason() -> None:
    plan, tasks, shifts = world()
    violations = validate(replace(plan, dropped=[Dropped(103, "plymouth", C, " ")]), tasks, shifts, travel=travel)
    assert kinds(violations) == {"reason"}


def test_unknown_case_and_agent() -> None:
    plan, tasks, shifts = world()
    stray = Route(9, shift(9), (), distance_m=0.0, duration_s=0)
    violations = validate(replace(plan, routes=[*plan.routes, stray]), tasks[1:], shifts, travel=travel)
    assert {(v.kind, v.agent_id, v.case_id) for v in violations} == {("unknown", 9, None), ("unknown", None, 101)}


def test_sequence_numbers_follow_the_route() -> None:
    plan, tasks, shifts = world()
    first, second = plan.routes[0].visits
    violations = validate(with_visits(plan, first, replace(second, seq=3)), tasks, shifts, travel=travel)
    assert kinds(violations) == {"sequence"}
    violations = validate(with_visits(plan, first, replace(second, agent_id=2)), tasks, shifts, travel=travel)
    assert kinds(violations) == {"sequence"}


def test_route_carries_the_agents_shift() -> None:
    plan, tasks, shifts = world()
    plan = replace(plan, routes=[replace(plan.routes[0], shift=replace(shifts[0], end=at(18)))])
    assert kinds(validate(plan, tasks, shifts, travel=travel)) == {"shift"}


def test_pinned_agent_and_time_are_honoured() -> None:
    plan, tasks, shifts = world()
    pinned_agent = [replace(t, pinned_agent=2) if t.case_id == 101 else t for t in tasks]
    assert kinds(validate(plan, pinned_agent, shifts, travel=travel)) == {"pinned"}
    pinned_time = [replace(t, pinned_at=at(10)) if t.case_id == 101 else t for t in tasks]
    assert kinds(validate(plan, pinned_time, shifts, travel=travel)) == {"pinned"}
    honoured = [replace(t, pinned_agent=1, pinned_at=at(9)) if t.case_id == 101 else t for t in tasks]
    assert validate(plan, honoured, shifts, travel=travel) == []
    pinned_dropped = [replace(t, pinned_agent=1) if t.case_id == 103 else t for t in tasks]
    violations = validate(plan, pinned_dropped, shifts, travel=travel)
    assert kinds(violations) == {"pinned"} and violations[0].case_id == 103


def test_replanning_starts_from_the_current_position() -> None:
    plan, tasks, shifts = world()
    midday = replace(shifts[0], available_from=at(9, 20), current_at=A)
    plan = replace(plan, routes=[replace(plan.routes[0], shift=midday)])
    # 101 is under way (pinned at its start); the agent is free at 101's place at 09:20, and 102 is
    # 10 minutes away, so it can be reached at 09:30, not 09:25.
    started = [replace(t, pinned_agent=1, pinned_at=at(9)) if t.case_id == 101 else t for t in tasks]
    violations = validate(plan, started, [midday], travel=travel)
    assert kinds(violations) == {"travel"} and violations[0].case_id == 102
    too_soon = visit(102, 2, B, at(9, 15))
    violations = validate(with_visits(plan, plan.routes[0].visits[0], too_soon), started, [midday], travel=travel)
    assert kinds(violations) == {"shift_start", "travel"}
    later = visit(102, 2, B, at(9, 30))
    assert validate(with_visits(plan, plan.routes[0].visits[0], later), started, [midday], travel=travel) == []


def test_expired_optional_visit_not_planned_after_expiry() -> None:
    plan, tasks, shifts = world()
    sighting = [replace(t, optional=True, expires_at=at(9, 25)) if t.case_id == 102 else t for t in tasks]
    violations = validate(plan, sighting, shifts, travel=travel)
    assert kinds(violations) == {"expired"} and violations[0].case_id == 102
    still_fresh = [replace(t, optional=True, expires_at=at(9, 26)) if t.case_id == 102 else t for t in tasks]
    assert validate(plan, still_fresh, shifts, travel=travel) == []


POLICIES = {name: read_policy_file(POLICY_DIR / f"{name}.yaml") for name in ("ccs_default", "newcastle")}


def facts(case_id: int, policy: str = "ccs_default", **changes) -> CaseFacts:
    f = CaseFacts(case_id=case_id, buyer_reference=f"LO-{case_id}", policy=POLICIES[policy],
                  nation=Nation.england_wales, status="open", stage="enforcement", on_hold=False,
                  vulnerable=False, under_arrangement=False, sensitive=False, notice_issued_on=date(2026, 6, 1),
                  enforcement_stage_on=date(2026, 7, 1), sale_stage_on=None)
    return replace(f, **changes)


def all_facts(**per_case: CaseFacts) -> dict[int, CaseFacts]:
    base = {c: facts(c) for c in (101, 102, 103)}
    return base | {int(k.removeprefix("c")): v for k, v in per_case.items()}


def rule_ids(violations: list[Violation]) -> set[str | None]:
    assert kinds(violations) == {"rule"}
    return {v.rule_id for v in violations}


def test_rules_pass_for_an_allowed_plan() -> None:
    plan, tasks, shifts = world()
    assert validate(plan, tasks, shifts, travel=travel, facts=all_facts(), histories={}) == []


def test_rule_case_on_hold() -> None:
    plan, tasks, shifts = world()
    f = all_facts(c101=facts(101, on_hold=True))
    violations = validate(plan, tasks, shifts, travel=travel, facts=f)
    assert rule_ids(violations) == {"R-CASE-HOLD"} and violations[0].case_id == 101


def test_rule_visiting_hours_narrowed_by_the_buyer() -> None:
    plan, tasks, shifts = world()
    # The task's window was wrongly made from 06:00; Newcastle visits only from 07:30 [002 §2.2].
    early_shift = replace(shifts[0], start=at(6), breaks=())
    tasks = [replace(t, windows=(window(6, 12),)) if t.case_id == 101 else t for t in tasks]
    dawn = visit(101, 1, A, at(7), win=window(6, 12))
    plan = replace(with_visits(plan, dawn, plan.routes[0].visits[1]),
                   routes=[replace(plan.routes[0], shift=early_shift, visits=(dawn, plan.routes[0].visits[1]))])
    f = all_facts(c101=facts(101, "newcastle"))
    assert rule_ids(validate(plan, tasks, [early_shift], travel=travel, facts=f)) == {"R-VISIT-HOURS"}


def test_rule_bank_holiday_of_the_nation() -> None:
    holiday = date(2026, 8, 31)  # summer bank holiday in England and Wales, not in Scotland
    plan, tasks, shifts = world(holiday)
    f = {c: facts(c) for c in (101, 102, 103)}
    assert rule_ids(validate(plan, tasks, shifts, travel=travel, facts=f)) == {"R-VISIT-HOLIDAY"}
    scottish = {c: facts(c, nation=Nation.scotland) for c in (101, 102, 103)}
    assert validate(plan, tasks, shifts, travel=travel, facts=scottish) == []


def test_rule_gap_after_a_no_contact_visit() -> None:
    plan, tasks, shifts = world()
    yesterday = {102: [VisitFact(at(10) - timedelta(days=1), "no_contact", "office")]}
    violations = validate(plan, tasks, shifts, travel=travel, facts=all_facts(), histories=yesterday)
    assert rule_ids(violations) == {"R-VISIT-GAP"} and violations[0].case_id == 102
    contact = {102: [VisitFact(at(10) - timedelta(days=1), "contact", "office")]}
    assert validate(plan, tasks, shifts, travel=travel, facts=all_facts(), histories=contact) == []


def test_rule_planned_case_without_facts() -> None:
    plan, tasks, shifts = world()
    f = all_facts()
    del f[102]
    violations = validate(plan, tasks, shifts, travel=travel, facts=f)
    assert rule_ids(violations) == {None} and violations[0].case_id == 102


@pytest.mark.parametrize("flag, rule", [("vulnerable", "R-CASE-VULN"), ("sensitive", "R-VISIT-SENSITIVE")])
def test_rule_case_blocks(flag: str, rule: str) -> None:
    plan, tasks, shifts = world()
    f = all_facts(c102=facts(102, **{flag: True}))
    assert rule_ids(validate(plan, tasks, shifts, travel=travel, facts=f)) == {rule}
