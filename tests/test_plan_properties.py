"""Properties of every plan the solver returns, on hypothesis-generated small days around Plymouth
(2–4 agents with random shifts, breaks, skills and certificates; 5–25 tasks with random windows,
service times, priorities, preferred bands, skills, optional visits with an expiry, and pins), each
solved in under a second on the BNG matrix and re-checked by the independent validator:

- no violation at all (the validator's whole list: windows R-VISIT-HOURS, shifts, travel, breaks,
  skills, pins, expiry, duplicates, lost tasks);
- every task is planned or dropped, exactly once;
- an urgent visit (priority ≥ ``URGENT_PRIORITY``) is never dropped for "capacity" while some agent
  with no urgent or pinned visit in the plan could have made it alone (see
  ``test_urgent_visits_are_not_dropped_for_capacity``).

Pins are generated so that they can always be kept (at most one per agent, reachable from home and
back inside the shift and the window): the validator counts a pin the plan does not keep as a
violation, and an impossible pin would make that the test data's fault, not the solver's.

The scenario checks (``tiny`` day, a ``demo`` region) plan from the database and validate WITH the
case facts and visit histories, so every planned visit is also checked with ``visit_allowed``.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import sim
from core import session_scope
from core.case_facts import load_case_facts, visit_history
from core.models import Agent
from dispatch.eligibility import load_eligibility, shifts_for_day
from dispatch.matrix import BngMatrixProvider
from dispatch.model import Break, Plan, PlannedVisit, Point, Route, Shift, TimeWindow, VisitTask
from dispatch.planner import plan_day
from dispatch.solver import URGENT_PRIORITY, solve
from dispatch.validator import validate

DAY = date(2026, 11, 23)
BASE = Point(-4.1427, 50.3755)  # Plymouth
SKILLS = ("vehicle", "commercial", "business_rates")
MATRIX = BngMatrixProvider()
TIME_LIMIT_S = 0.8


def at(minutes: int) -> datetime:
    """Minutes after midnight UTC on ``DAY``."""
    return datetime(2026, 11, 23, tzinfo=UTC) + timedelta(minutes=minutes)


def travel_s(a: Point, b: Point) -> int:
    return int(MATRIX.matrix([a, b]).duration_s[0, 1])


def place(draw: st.DrawFn) -> Point:
    # Within about ±7 km of the city centre: an urban round.
    return Point(BASE.lon + draw(st.floats(-0.1, 0.1)), BASE.lat + draw(st.floats(-0.06, 0.06)))


@st.composite
def shifts(draw: st.DrawFn) -> list[Shift]:
    out = []
    for agent_id in range(1, draw(st.integers(2, 4)) + 1):
        start = draw(st.integers(6 * 60, 10 * 60))
        end = start + draw(st.integers(5 * 60, 10 * 60))
        breaks: tuple[Break, ...] = ()
        if draw(st.booleans()):
            earliest = draw(st.integers(start + 60, end - 4 * 60))
            breaks = (Break(at(earliest), at(earliest + 180), draw(st.sampled_from([15, 30, 45])) * 60),)
        home = place(draw)
        out.append(Shift(agent_id=agent_id, start=at(start), end=at(end), start_at=home, end_at=home,
                         skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
                         certificated=draw(st.booleans()), region="TLK", breaks=breaks))
    return out


@st.composite
def windows(draw: st.DrawFn) -> tuple[TimeWindow, ...]:
    out = []
    cursor = draw(st.integers(6 * 60, 12 * 60))
    for band in ("early", "late")[: draw(st.integers(1, 2))]:
        length = draw(st.integers(45, 6 * 60))
        out.append(TimeWindow(at(cursor), at(cursor + length), band))
        cursor += length + draw(st.integers(0, 120))
    return tuple(out)


@dataclass
class Day:
    tasks: list[VisitTask]
    shifts: list[Shift]


def _feasible_pin(shift: Shift, task: VisitTask) -> datetime | None:
    """A time at which ``shift``'s agent can make ``task`` alone, leaving home at the shift start: the
    earliest start in one of its windows (start and finish inside), clear of the break's span."""
    go, back = travel_s(shift.start_at, task.at), travel_s(task.at, shift.end_at)
    for w in task.windows:
        eta = max(w.start, shift.start + timedelta(seconds=go)).replace(second=0) + timedelta(minutes=1)
        etd = eta + timedelta(seconds=task.service_s)
        if etd > w.end or etd + timedelta(seconds=back) > shift.end:
            continue
        if task.expires_at is not None and eta >= task.expires_at:
            continue
        if any(eta < b.latest and etd > b.earliest for b in shift.breaks):
            continue  # keep the whole break span free, so the break always fits around the pin
        return eta
    return None


@st.composite
def days(draw: st.DrawFn) -> Day:
    agents = draw(shifts())
    tasks = []
    for case_id in range(1, draw(st.integers(5, 25)) + 1):
        ws = draw(windows())
        optional = draw(st.integers(0, 9)) == 0
        expires = None
        if optional:
            expires = ws[0].start + timedelta(minutes=draw(st.integers(30, 300)))
        tasks.append(VisitTask(
            case_id=case_id, buyer=draw(st.sampled_from(["plymouth", "national", "croydon"])), at=place(draw),
            windows=ws, service_s=draw(st.integers(5, 30)) * 60, priority=draw(st.integers(0, 100)),
            region="TLK", preferred=tuple(w for w in ws if draw(st.booleans())),
            required_skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=1))),
            needs_certificated=draw(st.booleans()), optional=optional, expires_at=expires))
    # Pins: at most one per agent, on a task it may do, at a time it can keep.
    pinned: set[int] = set()
    for shift in agents:
        if not draw(st.booleans()):
            continue
        candidates = [t for t in tasks if t.case_id not in pinned and t.required_skills <= shift.skills
                      and (shift.certificated or not t.needs_certificated)]
        if not candidates:
            continue
        task = draw(st.sampled_from(candidates))
        when = _feasible_pin(shift, task)
        if when is None:
            continue
        with_time = draw(st.booleans())
        tasks[task.case_id - 1] = VisitTask(**{**task.__dict__, "pinned_agent": shift.agent_id,
                                               "pinned_at": when if with_time else None})
        pinned.add(task.case_id)
    return Day(tasks, agents)


def solve_day(day: Day) -> Plan:
    return solve(day.tasks, day.shifts, matrix=MATRIX, time_limit_s=TIME_LIMIT_S, day=DAY)


# BAILIWICK_PROPERTY_EXAMPLES=200 for a longer run than the default's dozen days per property.
PROPERTY = settings(max_examples=int(os.environ.get("BAILIWICK_PROPERTY_EXAMPLES", "12")), deadline=None,
                    derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(days())
def test_every_plan_passes_the_validator_and_accounts_for_every_task(day: Day) -> None:
    plan = solve_day(day)
    violations = validate(plan, day.tasks, day.shifts, travel=MATRIX)
    assert violations == [], "\n".join(f"{v.kind} agent={v.agent_id} case={v.case_id}: {v.message}"
                                       for v in violations)
    outcomes = Counter([v.case_id for r in plan.routes for v in r.visits] + [d.case_id for d in plan.dropped])
    assert outcomes == Counter(t.case_id for t in day.tasks)
    assert all(d.reason.strip() for d in plan.dropped)


def _alone(shift: Shift, task: VisitTask) -> bool:
    """Whether ``shift``'s agent could make ``task`` as its only visit of the day: some start inside a
    window (start and finish inside, as the solver plans them) that the validator accepts, tried every
    five minutes."""
    for w in task.windows:
        eta = w.start
        while eta + timedelta(seconds=task.service_s) <= w.end:
            visit = PlannedVisit(case_id=task.case_id, agent_id=shift.agent_id, seq=1, eta=eta,
                                 etd=eta + timedelta(seconds=task.service_s), window=w, service_s=task.service_s,
                                 buyer=task.buyer, at=task.at, time_band=w.time_band)
            solo = Plan(day=DAY, routes=[Route(shift.agent_id, shift, (visit,), 0.0, 0)], dropped=[])
            if not validate(solo, [task], [shift], travel=MATRIX):
                return True
            eta += timedelta(minutes=5)
    return False


@PROPERTY
@given(days())
def test_urgent_visits_are_not_dropped_for_capacity(day: Day) -> None:
    """If an urgent visit is dropped for "capacity", no agent that makes no urgent or pinned visit in the
    plan could have made it alone. Otherwise swapping that agent's whole route for the urgent visit
    alone serves one more urgent visit and loses none, and the solver's urgent penalty is larger than
    everything such a swap can cost — so a plan that drops it is beaten by an obvious one."""
    plan = solve_day(day)
    by_case = {t.case_id: t for t in day.tasks}

    def urgent_class(t: VisitTask) -> bool:
        return (t.priority >= URGENT_PRIORITY and not t.optional) or t.pinned_agent is not None

    busy = {r.agent_id for r in plan.routes if any(urgent_class(by_case[v.case_id]) for v in r.visits)}
    for d in plan.dropped:
        task = by_case[d.case_id]
        if d.reason != "capacity" or not urgent_class(task) or task.pinned_agent is not None:
            continue
        free = [s for s in day.shifts if s.agent_id not in busy and _alone(s, task)]
        assert not free, f"urgent case {task.case_id} dropped for capacity; agents {[s.agent_id for s in free]} " \
                         f"could have made it alone"


def test_an_optional_visit_is_not_planned_at_its_expiry() -> None:
    home = BASE
    shift = Shift(agent_id=1, start=at(6 * 60), end=at(11 * 60), start_at=home, end_at=home)
    sighting = VisitTask(case_id=1, buyer="plymouth", at=home, windows=(TimeWindow(at(6 * 60 + 30), at(8 * 60), None),),
                         service_s=900, priority=50, optional=True, expires_at=at(6 * 60 + 30))
    plan = solve_day(Day([sighting], [shift]))
    assert validate(plan, [sighting], [shift], travel=MATRIX) == []


def test_a_keepable_pin_is_not_traded_for_an_urgent_visit() -> None:
    """A pin the agent can keep is kept even when that drops an urgent visit: dropping a pin costs more
    than any plan that keeps it (``dispatch.routing_model._pin_penalty``)."""
    home = Point(-4.085, 50.3755)
    shift = Shift(agent_id=2, start=at(8 * 60 + 33), end=at(13 * 60 + 33), start_at=home, end_at=home)
    urgent = VisitTask(case_id=6, buyer="plymouth", at=Point(-4.086, 50.3755), priority=91, service_s=300,
                       windows=(TimeWindow(at(8 * 60), at(8 * 60 + 45), "early"),), needs_certificated=False)
    # Alone, the agent keeps the pin (08:46, 13 minutes' drive from home); with the urgent visit
    # nearby it cannot make both, and the dispatcher's pin must win.
    pinned = VisitTask(case_id=7, buyer="plymouth", at=BASE, priority=0, service_s=300,
                       windows=(TimeWindow(at(6 * 60), at(10 * 60 + 55), "early"),), needs_certificated=False,
                       pinned_agent=2, pinned_at=at(8 * 60 + 46))
    assert not validate(solve_day(Day([pinned], [shift])), [pinned], [shift], travel=MATRIX)
    plan = solve_day(Day([urgent, pinned], [shift]))
    assert validate(plan, [urgent, pinned], [shift], travel=MATRIX) == []


# --- scenarios from the database -----------------------------------------------------------------


def plan_from_database(day: date, region: str | None, seconds: float) -> tuple[Plan, list]:
    """Plan ``day`` (in ``region``) from the database and validate it with the case facts and histories."""
    with session_scope() as db:
        eligibility = load_eligibility(db, day, region)
        shifts_ = shifts_for_day(db, day, region)
        plan = plan_day(eligibility.tasks, shifts_, matrix=MATRIX, day=day, time_limit_s=seconds)
        ids = [t.case_id for t in eligibility.tasks]
        violations = validate(plan, eligibility.tasks, shifts_, travel=MATRIX, facts=load_case_facts(db, ids, day),
                              histories=visit_history(db, ids))
    return plan, violations


@pytest.fixture(scope="module")
def tiny_day(geodata_loaded, policies_loaded) -> date:
    sim.seed_scenario("tiny", seed=1, progress=False)
    return sim.SCENARIOS["tiny"].as_of


def test_the_tiny_scenario_day_plans_with_no_violation(tiny_day: date) -> None:
    plan, violations = plan_from_database(tiny_day, None, 5.0)
    assert violations == []
    assert plan.served > 0


@pytest.fixture(scope="module")
def demo_day(tiny_day: date) -> date:
    # Seeded after the tiny checks (the same database holds one scenario at a time).
    sim.seed_scenario("demo", seed=1, progress=False)
    return sim.SCENARIOS["demo"].as_of


def test_a_region_of_the_demo_scenario_plans_with_no_violation(demo_day: date) -> None:
    with session_scope() as db:
        region = db.scalar(select(Agent.itl1_cd).where(Agent.active).group_by(Agent.itl1_cd)
                           .order_by(func.count().desc(), Agent.itl1_cd).limit(1))
    plan, violations = plan_from_database(demo_day, region, 5.0)
    assert violations == []
    assert plan.served > 0 and {v.agent_id for r in plan.routes for v in r.visits}
