"""A simulated month of field work on the seeded scenario (``bailiwick sim month``): every working
day planned by the real planner and stored, the agents driving their stored plans with their phones
recording, the visits they made reported with outcomes through core's rules and fees, the phones'
fixes stored and the day's GPS evidence and tracked time recorded; some of each firm's time going to
its clients outside the platform (``sim.outside_work``), and optionally one firm diverting one buyer's
visits in one region. At the end, each firm's outside work is what it declares.

sim may not import dispatch, tracking or regions: the month takes them as ``MonthServices`` (the
``cli`` composes them), as the other seams do.

Per day: plan (``MonthServices.plan_day``), read the stored plans (``read_agent_plans``), choose what
each agent really does (``sim.outside_work``), drive it (``sim.agents.drive_day``: the same movement
and phones as ``sim agents``), report the visits (``sim.month_visits`` through ``core.record_visits``)
and commit, so the next day's plan sees them (R-VISIT-GAP, R-VISIT-TIMES). The fixes and the evidence
(``MonthServices.record_day``) go to a worker process: nothing of a later day depends on them, and
on two cores the evidence run (stop detection, the bulk of a day's work) then overlaps the next
day's planning and driving.

Everything drawn is a function of the seed, the day, the agent and the case. The planner works to a
wall-clock limit, so on a loaded machine two runs can store different plans, and the days that
follow them differ accordingly.
"""
from __future__ import annotations

import calendar
import multiprocessing
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import String as SqlString
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core import COMPETING_REASONS, LONDON, DomainError, record_visits, session_scope
from core.models import Address, Agent, Case, Visit
from sim.agent_day import AgentDay, AgentPlan, SimFix, StopKind
from sim.agent_plans import read_agent_plans
from sim.agents import drive_day
from sim.month_visits import visit_reports
from sim.outside_work import (
    CaseOf,
    Diversion,
    candidate_places,
    outside_share,
    pick_place,
    replaced_visits,
    working_plan,
)
from sim.streams import Streams

ACTOR = "sim:month"


@dataclass(frozen=True)
class PhoneDay:
    """One agent's phone's fixes of a day, for ``MonthServices.record_day``."""

    agent_id: int
    device_id: str
    fixes: list[SimFix]


@dataclass(frozen=True)
class DayRecorded:
    """What ``MonthServices.record_day`` stored for a day."""

    fixes: int
    evidence: int
    unmatched: int
    tracked_agents: int


@dataclass(frozen=True)
class MonthServices:
    """What the month needs of the packages sim may not import. ``plan_day(db, day)`` plans and stores
    the day, returning the stored run's id (None: no plan was stored); ``record_day(day, phones)``
    stores the phones' fixes and records the day's evidence and tracked time, in a worker process (so
    it must be picklable: a module-level function)."""

    plan_day: Callable[[Session, date], int | None]
    record_day: Callable[[date, list[PhoneDay]], DayRecorded]


@dataclass(frozen=True)
class Declaration:
    """A firm's outside work in a region over the month, as it declares it (``regions.declare``):
    ``outside_cases`` in case-days per planned day, consistent with its outside ``share`` of the time
    (share / (1 - share) x its average daily competing platform visits there: planned, or dropped
    for a ``core.COMPETING_REASONS`` reason, as the capacity measures count them), and the agents
    who worked outside cases."""

    subcontractor_id: int
    itl1_cd: str
    outside_cases: int
    outside_agents: int
    share: float


@dataclass
class MonthReport:
    month: date
    days: list[date] = field(default_factory=list)        # planned and worked
    unplanned: list[date] = field(default_factory=list)   # no plan stored: not worked
    planned_visits: int = 0
    visits_made: int = 0
    outcomes: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)     # reports core refused, by rule
    outside_stops: int = 0
    diverted: int = 0                                     # planned visits of the diverted buyer skipped
    fixes: int = 0
    evidence: int = 0
    unmatched: int = 0
    tracked_days: int = 0
    declarations: list[Declaration] = field(default_factory=list)
    # (firm, region) -> competing platform visits summed over the planned days
    competing: Counter = field(default_factory=Counter)


class MonthAlreadyWorked(RuntimeError):
    """The month already has visit records: simulating it again would add a second month on top."""


def working_days(month: date, limit: int | None = None) -> list[date]:
    """Monday to Friday of ``month`` (the first ``limit`` of them). Bank holidays are left to the
    planner: its rules give a nation's cases no visit on the nation's holidays (R-VISIT-HOLIDAY)."""
    last = calendar.monthrange(month.year, month.month)[1]
    days = [d for d in (month.replace(day=i) for i in range(1, last + 1)) if d.weekday() < 5]
    return days[:limit] if limit is not None else days


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    first = datetime.combine(month.replace(day=1), datetime.min.time(), LONDON)
    after = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, datetime.combine(after, datetime.min.time(), LONDON)


def _cases(db: Session) -> dict[int, CaseOf]:
    return {cid: CaseOf(buyer, region) for cid, buyer, region in db.execute(
        select(Case.id, Case.buyer_id, Address.itl1_cd).join(Address, Address.id == Case.address_id))}


def _balances(db: Session, case_ids: Sequence[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    return dict(db.execute(select(Case.id, Case.current_balance_pence).where(Case.id.in_(case_ids))).all())


_COMPETING = text("""
SELECT c.assigned_subcontractor_id, x.region, count(*) FROM (
    SELECT case_id, region FROM plan_visit WHERE run_id = :run
    UNION ALL
    SELECT case_id, region FROM plan_dropped WHERE run_id = :run AND reason = ANY(:reasons)) x
JOIN enforcement_case c ON c.id = x.case_id
WHERE c.assigned_subcontractor_id IS NOT NULL AND x.region IS NOT NULL
GROUP BY 1, 2
""").bindparams(bindparam("reasons", type_=ARRAY(SqlString)))


def _day_program(db: Session, plans: Sequence[AgentPlan], firms: dict[int, int], cases: dict[int, CaseOf],
                 day: date, seed: int, diversion: Diversion | None
                 ) -> tuple[list[AgentPlan], dict[int, dict[int, str]]]:
    """Each agent's working plan of the day and, by agent, the planned cases it replaced and why."""
    replaced = {p.agent_id: replaced_visits(p, firms[p.agent_id], cases, day, seed, diversion) for p in plans}
    doors = [(p, v) for p in plans for v in p.visits if v.case_id in replaced[p.agent_id]]
    candidates = candidate_places(db, [(v.x, v.y) for _, v in doors])
    streams = Streams(seed, "month")
    places: dict[int, tuple[float, float]] = {}
    for (p, v), found in zip(doors, candidates):
        avoid = np.array([*p.avoid, *((w.x, w.y) for w in p.visits)], dtype=float).reshape(-1, 2)
        places[v.case_id] = pick_place((v.x, v.y), found, avoid, streams(f"place.{day}.{v.case_id}"))
    return [working_plan(p, replaced[p.agent_id], places) for p in plans], replaced


def _drive(plans: Sequence[AgentPlan], seed: int, day: date) -> list[AgentDay]:
    out = []
    for p in plans:
        profile, traj, truth, fixes, gaps = drive_day(p, seed, day)
        out.append(AgentDay(p, profile, fixes, [], truth, gaps, traj))
    return out


def run_month(month: date, *, seed: int, services: MonthServices, diversion: Diversion | None = None,
              limit: int | None = None, progress: Callable[[date, str], None] | None = None) -> MonthReport:
    """Simulate the working days of ``month`` (the first ``limit``) on the configured database (module
    docstring) and return what was done, with each firm's declaration of its outside work.
    ``progress(day, step)`` is told of each step. Raises ``MonthAlreadyWorked`` when the month has
    visits already (reseed the scenario first)."""
    step = progress or (lambda _day, _step: None)
    report = MonthReport(month.replace(day=1))
    start, end = _month_bounds(month)
    with session_scope() as db:
        if already := db.scalar(select(func.count()).select_from(Visit)
                                .where(Visit.arrived_at >= start, Visit.arrived_at < end)):
            raise MonthAlreadyWorked(f"{month:%Y-%m} already has {already} visits")
        cases = _cases(db)
        firms = dict(db.execute(select(Agent.id, Agent.subcontractor_id)).all())
    outside_agents: dict[tuple[int, str], set[int]] = {}
    pending: list[Future] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as worker:
        for day in working_days(month, limit):
            step(day, "planning")
            with session_scope() as db:
                run_id = services.plan_day(db, day)
            if run_id is None:
                report.unplanned.append(day)
                continue
            step(day, "driving")
            with session_scope() as db:
                plans = read_agent_plans(db, day)
                working, replaced = _day_program(db, plans, firms, cases, day, seed, diversion)
                days = _drive(working, seed, day)
                made = [s.case_id for d in days for s in d.truth if s.kind is StopKind.visit]
                reports = visit_reports(days, _balances(db, made), day, seed)
                step(day, "reporting visits")
                for r in record_visits(db, reports, actor=ACTOR):
                    if isinstance(r, DomainError):
                        report.refused[r.rule_id] += 1
                    else:
                        report.outcomes[r.visit.outcome] += 1
                for firm, region, n in db.execute(_COMPETING, {"run": run_id, "reasons": sorted(COMPETING_REASONS)}):
                    report.competing[(firm, region)] += n
            report.days.append(day)
            report.planned_visits += sum(len(p.visits) for p in plans)
            report.visits_made += len(made)
            for agent, why in replaced.items():
                report.diverted += sum(w == "diverted" for w in why.values())
                report.outside_stops += len(why)
                for case_id in why:
                    outside_agents.setdefault((firms[agent], cases[case_id].itl1_cd), set()).add(agent)
            phones = [PhoneDay(d.plan.agent_id, d.plan.device_id, d.fixes) for d in days]
            pending.append(worker.submit(services.record_day, day, phones))
        step(month, "recording the last days' evidence")
        for f in pending:
            done: DayRecorded = f.result()
            report.fixes += done.fixes
            report.evidence += done.evidence
            report.unmatched += done.unmatched
            report.tracked_days += done.tracked_agents
    report.declarations = declarations(report, outside_agents, seed)
    return report


def declarations(report: MonthReport, outside_agents: dict[tuple[int, str], set[int]], seed: int
                 ) -> list[Declaration]:
    """Each firm's declaration for each region it had competing platform visits in (``Declaration``)."""
    if not report.days:
        return []
    out = []
    for (firm, region), competing in sorted(report.competing.items()):
        share = outside_share(seed, firm, region)
        daily = competing / len(report.days)
        out.append(Declaration(firm, region, round(share / (1 - share) * daily),
                               len(outside_agents.get((firm, region), ())), share))
    return out
