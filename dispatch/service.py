"""Planning a day from the database, the one way the CLI (``bailiwick plan``) and the API
(``POST /plans``) do it: ``plan_and_store``.

1. The day's input: eligible visits (``dispatch.eligibility.load_eligibility``) and the agents' shifts
   (``shifts_for_day``), for one region or the whole country. With ``now`` (planning the rest of a day
   that has begun) windows are cut at ``now``, agents are available from ``now`` and shifts already
   over are left out.
2. Travel: ``BngMatrixProvider`` with each point's area type from its local authority (urban/rural
   speeds, ``dispatch.matrix.area_type_of_lad``).
3. ``dispatch.planner.plan_day``. A plan the solver did not finish is refused (``unsolved``): when it
   found no plan for some sub-problem, within the time limit (its visits are dropped with
   ``NO_PLAN_FOUND``) or at all (``NO_FEASIBLE_PLAN``: an agent's shift cannot be kept even with no
   visits, counted apart as ``PlanOutcome.infeasible`` because only a change of shifts helps), that
   part's agents would get an empty day over the good one they have, so nothing is validated, stored
   or published and the current plan stays; the outcome counts those visits
   (``PlanOutcome.unsolved``). The whole plan is refused, not only the unfinished part: a run replaces
   the current plan of every region it covers, so storing the rest would still empty that part. Only
   those reasons refuse a plan: a day with nothing to plan, or whose visits no agent can make (every
   one dropped for ``capacity``, skills or windows), is a valid plan.
4. The independent validator (``dispatch.validator.validate``) with every visited case's facts and
   visit history, so each visit is re-checked with ``visit_allowed`` (hours, holidays, blackouts,
   holds, vulnerability, sensitive addresses, the gap after a no-contact visit). A task stands for its
   linked warrants (one knock deals with all of them): its history is theirs merged, as eligibility
   built it, and every carried warrant is checked at the visit's time too.
5. Only a plan with no violation is stored (``dispatch.store.save_plan``) and committed, then
   published to the agents' phones (``dispatch.publish.publish_plan``, empty days included), and its
   visits sent as geofences to the agents' OwnTracks phones (``dispatch.publish.publish_waypoints``):
   ``store_and_publish``, which re-planning uses too. A plan with violations is neither stored nor
   published: the outcome lists them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from core import CaseFacts, VisitFact, load_case_facts, visit_allowed, visit_history
from core.models import PlanKind
from dispatch.eligibility import (
    EligibilityResult,
    OptionalVisitSource,
    load_eligibility,
    shifts_for_day,
)
from dispatch.fairness import NO_FEASIBLE_PLAN
from dispatch.matrix import AreaType, BngMatrixProvider, area_type_of_lad
from dispatch.model import Plan, Point, Shift
from dispatch.pins import apply_pins, load_pins
from dispatch.planner import NO_PLAN_FOUND, plan_day
from dispatch.publish import PublishError, publish_plan, publish_waypoints
from dispatch.solver import model_points
from dispatch.store import owntracks_phones, save_plan, visit_addresses
from dispatch.validator import Violation, validate

__all__ = ["PlanOutcome", "Progress", "check_plan", "infeasible", "plan_and_store", "store_and_publish", "travel_provider",
           "unsolved"]

# progress(step, done, total): step is "eligibility", "solve" (done/total sub-problems), "validate",
# "store" or "publish".
Progress = Callable[[str, int, int], None]


@dataclass
class PlanOutcome:
    """``run_id`` is the stored run, None when the plan was not stored because of ``violations`` or
    because the solver found no plan for ``unsolved`` visits, ``infeasible`` of them because no plan
    exists at all (module docstring, step 3). ``published`` counts the agents' days sent,
    ``waypoints_published`` the geofence commands sent to OwnTracks phones; ``publish_error`` says why
    publishing failed (the plan is stored all the same, and phones can still read it through the API)."""

    run_id: int | None
    plan: Plan
    violations: list[Violation]
    shifts: list[Shift] = field(default_factory=list)
    published: int = 0
    waypoints_published: int = 0
    publish_error: str | None = None
    unsolved: int = 0
    infeasible: int = 0


def _available(shifts: Sequence[Shift], now: datetime | None) -> list[Shift]:
    if now is None:
        return list(shifts)
    return [replace(s, available_from=max(s.start, now)) for s in shifts if s.end > now]


def unsolved(plan: Plan) -> int:
    """The visits the solver found no plan for, within the time limit or at all: a plan with any is
    refused (module docstring, step 3)."""
    return sum(d.reason in (NO_PLAN_FOUND, NO_FEASIBLE_PLAN) for d in plan.dropped)


def infeasible(plan: Plan) -> int:
    """Of ``unsolved``, the visits of sub-problems with no plan at all (``NO_FEASIBLE_PLAN``): a longer
    time limit cannot help them, the agents' shifts must change."""
    return sum(d.reason == NO_FEASIBLE_PLAN for d in plan.dropped)


def travel_provider(db: Session, points: Sequence[Point]) -> BngMatrixProvider:
    """The planner's travel times: BNG distances at the urban or rural speed of each point's local authority."""
    from geodata import locate_points

    located = locate_points(db, [p.lon for p in points], [p.lat for p in points])
    area: dict[Point, AreaType] = {p: area_type_of_lad(lad) for p, lad in zip(points, located["lad_cd"])}
    return BngMatrixProvider(area_of=area)


def _merged(members: Sequence[int], histories: Mapping[int, Sequence[VisitFact]]) -> list[VisitFact]:
    # One attendance may be recorded on every warrant it dealt with: count it once (as eligibility does).
    by_time = {v.arrived_at: v for m in members for v in histories.get(m, ())}
    return [by_time[t] for t in sorted(by_time)]


def _carried_violations(plan: Plan, carried: Mapping[int, tuple[int, ...]], facts: Mapping[int, CaseFacts],
                        histories: Mapping[int, Sequence[VisitFact]]) -> list[Violation]:
    """``visit_allowed`` for every further warrant a planned visit deals with (``validate`` checks the
    task's own case)."""
    found = []
    for route in plan.routes:
        for visit in route.visits:
            for member in carried.get(visit.case_id, ())[1:]:
                case = facts.get(member)
                if case is None:
                    found.append(Violation("rule", visit.agent_id, member, None,
                                           f"linked warrant {member} of case {visit.case_id} has no case facts"))
                    continue
                decision = visit_allowed(case, histories.get(visit.case_id, ()), visit.eta)
                found += [Violation("rule", visit.agent_id, member, rule_id,
                                    f"linked warrant {member} of case {visit.case_id}: {rule_id} at "
                                    f"{visit.eta.isoformat(timespec='seconds')}: {'; '.join(decision.reasons)}")
                          for rule_id in decision.rule_ids]
    return found


def check_plan(db: Session, plan: Plan, eligibility: EligibilityResult, shifts: Sequence[Shift],
               travel: BngMatrixProvider, day: date) -> list[Violation]:
    """Every violation of ``plan`` (module docstring, step 4)."""
    members = {case_id for group in eligibility.carried.values() for case_id in group}
    facts = load_case_facts(db, sorted(members), day)
    own = visit_history(db, sorted(members))
    histories = {task: _merged(group, own) for task, group in eligibility.carried.items()}
    return (validate(plan, eligibility.tasks, shifts, travel=travel, facts=facts, histories=histories)
            + _carried_violations(plan, eligibility.carried, facts, histories))


def plan_and_store(db: Session, day: date, *, region: str | None = None, time_limit_s: float = 30.0, actor: str,
                   publish: bool = True, now: datetime | None = None, progress: Progress | None = None,
                   role: str | None = None, audit: dict[str, Any] | None = None,
                   sources: Sequence[OptionalVisitSource] = ()) -> PlanOutcome:
    """Plan ``day`` (in ``region``, an ITL1 code; None: the whole country) from the database, with the
    optional visits ``sources`` offer (ANPR sightings, composed by the caller), validate,
    and store and publish the plan only when the solver finished it and it has no violation (module
    docstring). ``actor`` is recorded on the run ("user:12", "cli") and, with ``role`` and ``audit``
    (extra data), on the audit row stored with it. The stored run is committed before it is published, so a
    phone never gets a plan the database does not have."""
    step = progress or (lambda _step, _done, _total: None)
    step("eligibility", 0, 1)
    eligibility = load_eligibility(db, day, region=region, now=now, sources=sources)
    eligibility = replace(eligibility, tasks=apply_pins(eligibility.tasks, load_pins(db, day)))
    shifts = _available(shifts_for_day(db, day, region=region), now)
    travel = travel_provider(db, model_points(eligibility.tasks, shifts))
    step("eligibility", 1, 1)
    plan = plan_day(eligibility.tasks, shifts, matrix=travel, day=day, time_limit_s=time_limit_s,
                    progress=lambda done, total: step("solve", done, total))
    if unfinished := unsolved(plan):
        return PlanOutcome(None, plan, [], shifts, unsolved=unfinished, infeasible=infeasible(plan))
    step("validate", 0, 1)
    violations = check_plan(db, plan, eligibility, shifts, travel, day)
    step("validate", 1, 1)
    if violations:
        return PlanOutcome(None, plan, violations, shifts)
    return store_and_publish(db, plan, shifts, priorities={t.case_id: t.priority for t in eligibility.tasks},
                             region=region, actor=actor, kind=PlanKind.plan, time_limit_s=time_limit_s, role=role,
                             audit=audit, publish=publish, progress=step)


def store_and_publish(db: Session, plan: Plan, shifts: Sequence[Shift], *, priorities: Mapping[int, int],
                      region: str | None, actor: str, kind: str, time_limit_s: float, role: str | None,
                      audit: dict[str, Any] | None, publish: bool, progress: Progress | None = None) -> PlanOutcome:
    """Store ``plan`` (validated by the caller) as a new run of ``kind``, with each visit's and dropped
    visit's task priority (``priorities``, case id → priority; ``dispatch.store.save_plan``), commit
    it, then (``publish``) send each agent's day: committed first, so a phone never gets a plan the
    database does not have. A plan that could not be published stays stored
    (``PlanOutcome.publish_error``). ``progress`` as ``plan_and_store``'s ("store", "publish")."""
    step = progress or (lambda _step, _done, _total: None)
    step("store", 0, 1)
    run_id = save_plan(db, plan, priorities=priorities, region=region, actor=actor, kind=kind,
                       time_limit_s=time_limit_s, role=role, audit=audit)
    plan.stats["run_id"] = run_id
    db.commit()
    step("store", 1, 1)
    outcome = PlanOutcome(run_id, plan, [], list(shifts))
    if publish:
        step("publish", 0, len(shifts))
        addresses = visit_addresses(db, (v.case_id for r in plan.routes for v in r.visits))
        errors = []
        try:
            outcome.published = publish_plan(plan, shifts=shifts, addresses=addresses, run_id=run_id)
        except PublishError as exc:
            errors.append(str(exc))
        phones = owntracks_phones(db, {s.agent_id for s in shifts} | {r.agent_id for r in plan.routes})
        try:
            outcome.waypoints_published = publish_waypoints(plan, phones, shifts=shifts)
        except PublishError as exc:
            errors.append(f"geofences: {exc}")
        outcome.publish_error = "; ".join(errors) or None
        step("publish", outcome.published, len(shifts))
    return outcome
