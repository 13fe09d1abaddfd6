"""``bailiwick sim month`` (issue 13): a short month of the tiny scenario planned by the real planner,
driven, reported and recorded: plans, visits with outcomes, evidence and tracked days that agree with
each other, declarations stored and audited; the draws a function of the seed; a ``--divert`` firm
visiting the named buyer's planned cases in the region markedly less than an honest run while the
rest is unchanged; a bad ``--divert`` part refused by name. Real PostGIS, Redis and planner."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

import sim
from cli import app
from core import session_scope
from core.models import AuditEvent, CapacityDeclaration, GpsPing, Visit
from sim.outside_work import DIVERTED_SKIP, CaseOf, replaced_visits
from tracking import day_bounds

runner = CliRunner()
MONTH = "2026-11"
DAYS = 2
DIVERT = ("westward", "TLK", "plymouth")  # the firm, region and buyer with the most planned visits in tiny
FIRST = date(2026, 11, 2)


@dataclass(frozen=True)
class Run:
    output: str
    started: datetime
    made: dict[tuple[str, str, str], tuple[int, int]]  # (firm, region, buyer) -> (planned, made)


def _reseed() -> None:
    sim.seed_scenario("tiny", seed=1, progress=False)
    start, _ = day_bounds(FIRST)
    _, end = day_bounds(date(2026, 11, 30))
    with session_scope() as db:  # the phones' tracks carry no key to the scenario (sim.store.GPS)
        db.execute(delete(GpsPing).where(GpsPing.ts >= start, GpsPing.ts < end))


# Per firm, case region and buyer: the visits planned for the firm's agents over the run's days, and
# those the agents made (recorded visit, or GPS evidence at the case: a report core refused is still
# a door the agent stood at).
_MADE = text("""
SELECT s.reference, pv.region, b.reference, count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM visit_evidence ve WHERE ve.case_id = pv.case_id AND ve.agent_id = pv.agent_id
             AND (ve.arrival AT TIME ZONE 'Europe/London')::date = r.day))
FROM plan_visit pv JOIN plan_run r ON r.id = pv.run_id JOIN agent a ON a.id = pv.agent_id
JOIN subcontractor s ON s.id = a.subcontractor_id JOIN buyer b ON b.id = pv.buyer_id
GROUP BY 1, 2, 3
""")


def _run(*extra: str) -> Run:
    _reseed()
    started = datetime.now(UTC)
    result = runner.invoke(app, ["sim", "month", "--scenario", "tiny", "--month", MONTH, "--days", str(DAYS),
                                 "--plan-seconds", "2", *extra])
    assert result.exit_code == 0, result.output
    with session_scope() as db:
        made = {(f, r, b): (n, m) for f, r, b, n, m in db.execute(_MADE)}
    return Run(result.output, started, made)


@pytest.fixture(scope="module")
def honest(geodata_loaded, policies_loaded) -> Run:
    return _run("--seed", "3")


def test_a_month_plans_drives_reports_and_records_every_day(honest: Run) -> None:
    assert f"{DAYS} days planned and worked" in honest.output
    with session_scope() as db:
        days = db.scalars(text("SELECT DISTINCT day FROM plan_run ORDER BY day")).all()
        assert days == [FIRST, date(2026, 11, 3)]
        visits = db.execute(select(Visit.outcome, func.count()).group_by(Visit.outcome)).all()
        outcomes = dict(visits)
        assert outcomes["no_contact"] > sum(n for o, n in outcomes.items() if o != "no_contact") > 0
        assert len(outcomes) >= 3
        # Every recorded visit is of a planned case of its agent that day, and the GPS confirms most: an
        # agent early at a door waits in the car beside it, a stop that starts well before the knock.
        unplanned = db.scalar(text("""
            SELECT count(*) FROM visit v WHERE NOT EXISTS (
                SELECT 1 FROM plan_visit pv JOIN plan_run r ON r.id = pv.run_id
                WHERE pv.case_id = v.case_id AND pv.agent_id = v.agent_id
                  AND r.day = (v.arrived_at AT TIME ZONE 'Europe/London')::date)"""))
        assert unplanned == 0
        assert db.scalar(text("SELECT avg(gps_verified::int) FROM visit")) > 0.7
        # Each agent-day with a plan has its tracked time, within the span from its first fix to its
        # last, and the day's evidence lies within that span (the exact rule: test_tracked_day).
        rows = db.execute(text("""
            SELECT t.agent_id, t.day, t.tracked_s, extract(epoch FROM t.last_fix_at - t.first_fix_at),
                   t.first_fix_at <= min(ve.arrival) AND max(ve.departure) <= t.last_fix_at
            FROM tracked_day t JOIN visit_evidence ve ON ve.agent_id = t.agent_id
              AND (ve.arrival AT TIME ZONE 'Europe/London')::date = t.day
            GROUP BY t.agent_id, t.day""")).all()
        routes = db.scalar(text("SELECT count(*) FROM plan_route pr JOIN plan_run r ON r.id = pr.run_id "
                                "WHERE EXISTS (SELECT 1 FROM plan_visit pv WHERE pv.run_id = r.id "
                                "AND pv.agent_id = pr.agent_id)"))
        assert len(rows) == routes
        for agent, day, tracked, span, inside in rows:
            assert 0 < tracked <= span and inside, (agent, day)
        # Other clients' doors are stops of no case.
        assert db.scalar(text("SELECT count(*) FROM unmatched_stop")) > 0


def test_each_firm_declares_its_outside_work_and_the_declaration_is_audited(honest: Run) -> None:
    with session_scope() as db:
        declared = db.scalars(select(CapacityDeclaration).where(CapacityDeclaration.month == FIRST.replace(day=1))
                              ).all()
        assert declared and all(d.declared_by == "cli:sim-month" for d in declared)
        assert any(d.outside_cases > 0 and d.outside_agents > 0 for d in declared)
        audited = db.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == "capacity.declare", AuditEvent.at >= honest.started,
                                   AuditEvent.target.in_([f"capacity_declaration:{d.id}" for d in declared])))
        assert audited == len(declared)
    assert f"declared {len(declared)} declarations" in honest.output


def test_what_the_agents_do_is_drawn_from_the_seed(honest: Run) -> None:
    with session_scope() as db:
        plans = sim.read_agent_plans(db, FIRST)
        cases = {cid: CaseOf(b, r) for cid, b, r in db.execute(text(
            "SELECT c.id, c.buyer_id, a.itl1_cd FROM enforcement_case c JOIN address a ON a.id = c.address_id"))}
    plan = max(plans, key=lambda p: len(p.visits))
    firm = 1
    draws = [replaced_visits(p, firm, cases, FIRST, 3, None) for p in plans]
    assert draws == [replaced_visits(p, firm, cases, FIRST, 3, None) for p in plans]
    assert draws != [replaced_visits(p, firm, cases, FIRST, 4, None) for p in plans]
    once = sim.agents.drive_day(plan, 3, FIRST)
    assert once[2] == sim.agents.drive_day(plan, 3, FIRST)[2]
    assert once[2] != sim.agents.drive_day(plan, 3, date(2026, 11, 3))[2]  # each day is drawn afresh


def _rate(run: Run, key) -> float:
    planned, made = run.made[key]
    return made / planned


def test_a_diverting_firm_visits_the_buyers_cases_in_the_region_markedly_less(honest: Run) -> None:
    diverted = _run("--seed", "3", "--divert", ":".join(DIVERT))
    assert "diverted" in diverted.output
    assert honest.made[DIVERT][0] >= 10, honest.made  # enough planned visits to tell
    # Honest firms lose 10-30 % of planned visits to outside work; the diverted buyer loses 70 % more.
    assert _rate(honest, DIVERT) >= 0.6
    assert _rate(diverted, DIVERT) <= (1 - DIVERTED_SKIP) + 0.15
    for key in honest.made.keys() & diverted.made.keys() - {DIVERT}:
        if honest.made[key][0] >= 10 and diverted.made[key][0] >= 10:
            assert abs(_rate(diverted, key) - _rate(honest, key)) < 0.2, key


@pytest.mark.parametrize("divert, named", [
    ("nosuch:TLK:plymouth", "subcontractor 'nosuch'"),
    ("westward:TLX:plymouth", "region 'TLX'"),
    ("westward:TLK:nosuch", "buyer 'nosuch'"),
    ("westward:TLK", "SUBCONTRACTOR:REGION:BUYER"),
])
def test_a_bad_divert_part_is_refused_by_name(honest: Run, divert: str, named: str) -> None:
    result = runner.invoke(app, ["sim", "month", "--scenario", "tiny", "--month", MONTH, "--days", "1",
                                 "--divert", divert])
    assert result.exit_code == 2
    assert "--divert" in result.output and named in result.output
