"""``bailiwick plan`` and ``dispatch.service.plan_and_store`` on the seeded ``tiny`` scenario, through
the real CLI entry point, database and broker: a regional day is planned, validated with the case
facts, stored and sent to the agents' phones; a plan with a violation is neither stored nor sent; bad
input exits 2 naming the flag."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

import dispatch.service
import sim
from cli import app
from core import session_scope
from core.models import AuditEvent, Case, PlanDropped, PlanPin, PlanRun, PlanVisit
from dispatch.eligibility import load_eligibility, shifts_for_day
from dispatch.fairness import NO_PLAN_FOUND
from dispatch.planner import plan_day
from dispatch.publish import plan_topic
from dispatch.service import check_plan, plan_and_store, travel_provider
from dispatch.search import ROUTING_FAIL_TIMEOUT
from dispatch.solver import model_points, solve
from dispatch.store import load_current_plan
from tests.crowded_day import CROWDED, CROWDED_DAY, crowded_day, plan_by_cli
from tests.mqtt_listen import clear_retained, listening

DAY = sim.SCENARIOS["tiny"].as_of
REGION = "TLK"  # the South West: tiny's Plymouth cases and one agent
SECONDS = "3"
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(geodata_loaded, policies_loaded):
    sim.seed_scenario("tiny", seed=1, progress=False)
    return DAY


def _runs() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(PlanRun))


def _agents(region: str) -> list[int]:
    with session_scope() as db:
        return [s.agent_id for s in shifts_for_day(db, DAY, region=region)]


def test_plan_a_region_stores_and_publishes_it(tiny):
    agents = _agents(REGION)
    topics = [plan_topic(a) for a in agents]
    try:
        with listening(topics) as phones:
            result = runner.invoke(app, ["plan", "--day", DAY.isoformat(), "--region", REGION.lower(),
                                         "--time-limit", SECONDS])
            days = phones.wait_for(topics)
    finally:
        clear_retained(topics)
    assert result.exit_code == 0, result.output
    run_id = int(re.search(r"stored as run (\d+)", result.output)[1])
    served = int(re.search(r"served +(\d+) visits", result.output)[1])
    assert "dropped" in result.output and "km" in result.output and "fairness" in result.output

    with session_scope() as db:
        run = db.get(PlanRun, run_id)
        assert (run.day, run.region, run.created_by, run.kind) == (DAY, REGION, "cli", "plan")
        audit = db.scalars(select(AuditEvent).where(AuditEvent.target == f"plan_run:{run_id}")
                              .order_by(AuditEvent.id.desc()).limit(1)).one()
        assert (audit.action, audit.actor, audit.data["served"]) == ("plan.create", "cli", served)
        plan = load_current_plan(db, DAY, region=REGION)
        tasks = load_eligibility(db, DAY, region=REGION).tasks
    assert plan.stats["run_ids"] == [run_id] and plan.served == served > 0
    # Every eligible visit of the region is either planned or dropped with a reason.
    assert {v.case_id for r in plan.routes for v in r.visits} | {d.case_id for d in plan.dropped} == \
        {t.case_id for t in tasks}
    assert all(d.reason for d in plan.dropped)

    for route in plan.routes:
        day = days[plan_topic(route.agent_id)]
        assert (day["run_id"], day["day"]) == (run_id, DAY.isoformat())
        assert [v["case_id"] for v in day["visits"]] == [v.case_id for v in route.visits]
        assert all(v["postcode"] and v["address"] for v in day["visits"])


def test_a_plan_with_a_violation_is_neither_stored_nor_published(tiny, monkeypatch):
    """A plan that breaks a rule is worse than no plan: one visit an hour before its window opens
    (R-VISIT-HOURS) and the whole plan is refused."""

    def early(tasks, shifts, **kw):
        plan = plan_day(tasks, shifts, **kw)
        route = next(r for r in plan.routes if r.visits)
        first = route.visits[0]
        moved = replace(first, eta=first.window.start - timedelta(hours=1),
                        etd=first.window.start - timedelta(hours=1) + timedelta(seconds=first.service_s))
        plan.routes[plan.routes.index(route)] = replace(route, visits=(moved, *route.visits[1:]))
        return plan

    monkeypatch.setattr(dispatch.service, "plan_day", early)
    before = _runs()
    topics = [plan_topic(a) for a in _agents(REGION)]
    with listening(topics) as phones:
        result = runner.invoke(app, ["plan", "--day", DAY.isoformat(), "--region", REGION, "--time-limit", SECONDS])
    assert result.exit_code == 1, result.output
    assert "R-VISIT-HOURS" in result.output and "not stored or published" in result.output
    assert _runs() == before
    assert phones.live() == {}


def test_a_day_with_no_feasible_plan_is_refused_naming_the_shifts(tiny, monkeypatch):
    """An agent who starts in Aberdeen three hours before the end of a shift it must end in Plymouth
    cannot keep that shift even with no visits: no time limit finds a plan, so the day is refused (exit
    3, nothing stored or sent) and the message points at the shifts, not at the time limit."""
    from dispatch.model import Point

    def stranded(db, day, **kw):
        shifts = shifts_for_day(db, day, **kw)
        first = shifts[0]
        return [replace(first, current_at=Point(-2.0943, 57.1497), available_from=first.end - timedelta(hours=3)),
                *shifts[1:]]

    monkeypatch.setattr(dispatch.service, "shifts_for_day", stranded)
    before = _runs()
    topics = [plan_topic(a) for a in _agents(REGION)]
    with listening(topics) as phones:
        result = runner.invoke(app, ["plan", "--day", DAY.isoformat(), "--region", REGION, "--time-limit", SECONDS])
    assert result.exit_code == 3, result.output
    assert "no feasible plan for" in result.output and "check the agents' shifts" in result.output
    assert "try a longer --time-limit" not in result.output
    assert _runs() == before
    assert phones.live() == {}


def test_the_validator_reads_the_case_facts_from_the_database(tiny):
    """A visit to a case that became vulnerable after it was planned is a violation (R-CASE-VULN), and
    so is one dealing with a linked warrant put on hold (R-CASE-HOLD): the task stands for it too."""
    with session_scope() as db:
        outcome = plan_and_store(db, DAY, region="TLC", time_limit_s=float(SECONDS), actor="test", publish=False)
        assert outcome.violations == [] and outcome.plan.served > 0
        eligibility = load_eligibility(db, DAY, region="TLC")
        visited = [v.case_id for r in outcome.plan.routes for v in r.visits]
        db.get(Case, visited[0]).vulnerable = True
        linked = [t for t in visited if len(eligibility.carried[t]) > 1]
        assert linked, "tiny's TLC plan visits a linked group"
        member = eligibility.carried[linked[0]][1]
        db.get(Case, member).on_hold = True
        db.flush()
        travel = travel_provider(db, model_points(eligibility.tasks, outcome.shifts))
        violations = check_plan(db, outcome.plan, eligibility, outcome.shifts, travel, DAY)
        db.rollback()
    found = {(v.case_id, v.rule_id) for v in violations}
    assert {(c, r) for c, r in found if r == "R-CASE-VULN"} == {(visited[0], "R-CASE-VULN")}
    assert (member, "R-CASE-HOLD") in found


def test_planning_later_in_the_day_starts_from_now(tiny):
    with session_scope() as db:
        shifts = shifts_for_day(db, DAY, region=REGION)
        now = shifts[0].start + timedelta(hours=5)
        outcome = plan_and_store(db, DAY, region=REGION, time_limit_s=float(SECONDS), actor="test", publish=False,
                                 now=now)
        priority = {t.case_id: t.priority for t in load_eligibility(db, DAY, region=REGION, now=now).tasks}
        stored = [*db.execute(select(PlanVisit.case_id, PlanVisit.priority).where(PlanVisit.run_id == outcome.run_id)),
                  *db.execute(select(PlanDropped.case_id, PlanDropped.priority)
                              .where(PlanDropped.run_id == outcome.run_id))]
    assert outcome.violations == [] and outcome.run_id is not None
    assert all(v.eta >= now for r in outcome.plan.routes for v in r.visits)
    # Every planned and dropped visit is stored with its task's priority [000 §1.8].
    assert len(stored) == len(priority) and dict(stored) == priority


def test_a_plan_honours_the_dispatchers_pins(tiny):
    with session_scope() as db:
        agents = _agents(REGION)
        tasks = load_eligibility(db, DAY, region=REGION).tasks
        task = tasks[len(tasks) // 2]
        # Mid-morning, so that the agent can get there from anywhere in the region.
        late = shifts_for_day(db, DAY, region=REGION)[0].start + timedelta(hours=3)
        at = next(max(w.start, late) for w in task.windows if w.end - max(w.start, late) >= timedelta(hours=1))
        db.add(PlanPin(day=DAY, case_id=task.case_id, agent_id=agents[-1], at=at, created_by="test"))
        db.commit()
        try:
            outcome = plan_and_store(db, DAY, region=REGION, time_limit_s=float(SECONDS), actor="test",
                                     publish=False)
        finally:
            db.execute(delete(PlanPin).where(PlanPin.day == DAY, PlanPin.case_id == task.case_id))
            db.commit()
    assert outcome.violations == [] and outcome.run_id is not None
    visit = next(v for r in outcome.plan.routes for v in r.visits if v.case_id == task.case_id)
    assert (visit.agent_id, visit.eta) == (agents[-1], at)


# The planner gives a sub-problem at least 0.05 s and the solver keeps 0.05 s of its share for
# stitching, so at 0.01 s the search itself gets a millisecond: a real limit, no stand-in for the solver.
TOO_SHORT = "0.01"


@pytest.fixture
def crowded(tiny):
    """The crowded day (``tests.crowded_day``), its morning planned and published by ``bailiwick plan``."""
    with crowded_day(plan_by_cli) as day:
        yield day


def test_a_plan_not_found_in_time_is_refused_and_the_previous_plan_kept(crowded):
    """Were it stored, a plan the solver found nothing for would become the region's current plan and
    send every agent an empty day over the good one it has."""
    topics = [plan_topic(a) for a in crowded.agents]
    try:
        before = _runs()
        with listening(topics) as phones:
            result = runner.invoke(app, ["plan", "--day", CROWDED_DAY.isoformat(), "--region", CROWDED,
                                         "--time-limit", TOO_SHORT])
            kept = phones.wait_for(topics, retained=True)
            sent = phones.live()
    finally:
        clear_retained(topics)
    assert result.exit_code == 3, result.output
    assert re.search(r"no plan found within the time limit for \d+ of \d+ visits: plan not stored or "
                     r"published, the previous plan is kept; try a longer --time-limit", result.output), result.output
    assert _runs() == before and sent == {}
    assert {day["run_id"] for day in kept.values()} == {crowded.run_id}  # what the phones hold
    with session_scope() as db:
        assert load_current_plan(db, CROWDED_DAY, region=CROWDED).stats["run_ids"] == [crowded.run_id]


def test_the_solver_out_of_time_says_so(crowded):
    """The crowded day's model at 0.01 s: the search runs out of time before its first solution, and
    the solver says that (a longer limit may find a plan), not that the day has no plan."""
    with session_scope() as db:
        tasks = load_eligibility(db, CROWDED_DAY, region=CROWDED).tasks
        shifts = shifts_for_day(db, CROWDED_DAY, region=CROWDED)
        travel = travel_provider(db, model_points(tasks, shifts))
    plan = solve(tasks, shifts, matrix=travel, time_limit_s=float(TOO_SHORT), day=CROWDED_DAY)
    assert plan.routes == [] and len(tasks) > 200
    assert {d.reason for d in plan.dropped} == {NO_PLAN_FOUND}
    assert plan.stats["search_status"] == ROUTING_FAIL_TIMEOUT


def test_a_day_with_nothing_to_plan_is_a_valid_empty_plan(tiny):
    """Christmas Day: every buyer's policy closes on bank holidays (R-VISIT-HOLIDAY), so nothing is
    eligible while the agent is on shift. Nothing to plan is not a plan not found, whatever the limit."""
    christmas = "2026-12-25"
    with session_scope() as db:
        assert load_eligibility(db, date.fromisoformat(christmas), region=REGION).tasks == []
    result = runner.invoke(app, ["plan", "--day", christmas, "--region", REGION, "--time-limit", TOO_SHORT,
                                 "--no-publish"])
    assert result.exit_code == 0, result.output
    assert "stored as run" in result.output and re.search(r"served +0 visits", result.output)


@pytest.mark.parametrize(("args", "message"), [
    (["--day", "2026-13-40"], "--day: '2026-13-40' is not a date"),
    (["--day", DAY.isoformat(), "--region", "TLZ"], "--region: 'TLZ' is not an ITL1 region code"),
    (["--day", DAY.isoformat(), "--time-limit", "0"], "--time-limit: 0 is not a positive"),
])
def test_bad_input_exits_2_naming_the_flag(tiny, args, message):
    before = _runs()
    result = runner.invoke(app, ["plan", *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert _runs() == before


def test_the_command_and_its_flags_exist():
    result = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    for flag in ("--day", "--region", "--time-limit", "--no-publish"):
        assert flag in result.output
