"""Stored day plans (``dispatch.store``) against the real database: a plan reads back as it was
saved, the current plan is the latest run per region, and the buyer and agent views see only theirs.

Each test plans its own far-future day (the test database persists between runs), on cases and agents
made with ``tests.case_world``."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.models import Agent, Buyer, Case, PlanDropped, PlanRun, PlanVisit
from core.visit_rules import TimeWindow
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, Shift
from dispatch.store import (
    current_run_ids,
    load_current_plan,
    load_route_paths,
    save_plan,
    visit_addresses,
)
from tests.case_world import make_agent, make_buyer, make_case


@pytest.fixture
def day(db) -> date:
    """A day no stored run has yet."""
    latest = db.scalar(select(func.max(PlanRun.day)))
    return max(date(2200, 1, 1), (latest or date(2200, 1, 1)) + timedelta(days=1))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


class World:
    """Two buyers' cases in two regions (TLK, TLC) and an agent in each."""

    def __init__(self, db) -> None:
        self.db = db
        self.buyers = [make_buyer(db), make_buyer(db)]
        self.agents = {region: self._agent(region) for region in ("TLK", "TLC")}

    def _agent(self, region: str) -> Agent:
        agent = make_agent(self.db)
        agent.itl1_cd = region
        self.db.flush()
        return agent

    def case(self, region: str, buyer: int = 0) -> Case:
        return make_case(self.db, self.buyers[buyer], itl1_cd=region)

    def shift(self, day: date, region: str) -> Shift:
        base = Point(-4.14 if region == "TLK" else -1.61, 50.37 if region == "TLK" else 54.97)
        return Shift(agent_id=self.agents[region].id, start=at(day, 7), end=at(day, 19), start_at=base,
                     end_at=base, region=region)

    def route(self, day: date, region: str, cases: list[Case], start_hour: int = 8) -> Route:
        shift = self.shift(day, region)
        visits = []
        for seq, case in enumerate(cases, start=1):
            eta = at(day, start_hour + seq, 7)
            # The visit counts for the office band, inside the early window: policy bands overlap.
            window = TimeWindow(at(day, start_hour + seq - 1), at(day, start_hour + seq + 1), "early")
            visits.append(PlannedVisit(
                case_id=case.id, agent_id=shift.agent_id, seq=seq, eta=eta, etd=eta + timedelta(seconds=900),
                window=window, service_s=900, buyer=self.db.get(Buyer, case.buyer_id).reference,
                at=Point(-4.1427 + seq / 1000, 50.3755 + seq / 1000), time_band="office"))
        return Route(shift.agent_id, shift, tuple(visits), distance_m=12_345.5 * len(cases), duration_s=3_600 * len(cases))

    def dropped(self, case: Case, reason: str = "capacity") -> Dropped:
        return Dropped(case.id, self.db.get(Buyer, case.buyer_id).reference, Point(-4.2, 50.4), reason)


def _save(db, plan: Plan, **kw) -> int:
    """``save_plan`` with every case at priority 50: these tests are about runs and slices."""
    cases = [v.case_id for r in plan.routes for v in r.visits] + [d.case_id for d in plan.dropped]
    return save_plan(db, plan, priorities=dict.fromkeys(cases, 50), **kw)


def _sorted(plan: Plan) -> tuple[list[Route], list[Dropped]]:
    return sorted(plan.routes, key=lambda r: r.agent_id), sorted(plan.dropped, key=lambda d: d.case_id)


def test_a_saved_plan_reads_back_with_the_same_visits_etas_windows_and_drops(db, day):
    world = World(db)
    k1, k2, c1 = world.case("TLK"), world.case("TLK", buyer=1), world.case("TLC")
    out1, out2 = world.case("TLK"), world.case("TLC", buyer=1)
    plan = Plan(day, [world.route(day, "TLK", [k1, k2]), world.route(day, "TLC", [c1])],
                [world.dropped(out1), world.dropped(out2, "no agent with skill commercial")],
                stats={"solve_seconds": 1.25, "fairness_ratio": 0.97})
    run_id = _save(db, plan, region=None, actor="test", time_limit_s=5)

    loaded = load_current_plan(db, day)
    routes, dropped = _sorted(loaded)
    want_routes, want_dropped = _sorted(plan)
    assert [r.visits for r in routes] == [r.visits for r in want_routes]
    assert [(r.distance_m, r.duration_s) for r in routes] == [(r.distance_m, r.duration_s) for r in want_routes]
    assert [(r.shift.start, r.shift.end, r.shift.start_at, r.shift.end_at, r.shift.region) for r in routes] == \
        [(s.start, s.end, s.start_at, s.end_at, s.region) for s in (r.shift for r in want_routes)]
    assert dropped == want_dropped
    assert all(v.eta.tzinfo is not None for r in routes for v in r.visits)
    assert loaded.stats["run_id"] == run_id and loaded.stats["run_ids"] == [run_id]
    assert (loaded.stats["served"], loaded.stats["dropped"]) == (3, 2)

    run = db.get(PlanRun, run_id)
    assert (run.day, run.region, run.kind, run.created_by, run.time_limit_s) == (day, None, "plan", "test", 5)
    assert run.stats["served"] == 3 and run.stats["solve_seconds"] == 1.25
    assert run.stats["dropped_by_reason"] == {"capacity": 1, "no agent with skill commercial": 1}
    regions = dict(db.execute(select(PlanVisit.case_id, PlanVisit.region).where(PlanVisit.run_id == run_id)).all())
    assert regions == {k1.id: "TLK", k2.id: "TLK", c1.id: "TLC"}  # each visit's case address region

    route = want_routes[0]
    assert load_route_paths(db, day)[route.agent_id] == \
        [route.shift.start_at, *(v.at for v in route.visits), route.shift.end_at]
    assert visit_addresses(db, [k1.id])[k1.id].postcode == "PL1 2AA"


def test_the_current_plan_is_the_latest_run_covering_each_region(db, day):
    world = World(db)
    k_old, k_new, c_old = world.case("TLK"), world.case("TLK"), world.case("TLC")
    k_out_old, k_out_new, c_out = world.case("TLK"), world.case("TLK"), world.case("TLC")
    whole = _save(db, Plan(day, [world.route(day, "TLK", [k_old]), world.route(day, "TLC", [c_old])],
                               [world.dropped(k_out_old), world.dropped(c_out)]), region=None, actor="test",
                      time_limit_s=5)
    # A later TLK run replaces TLK only: its route, its visits and its drops.
    tlk = _save(db, Plan(day, [world.route(day, "TLK", [k_new], start_hour=10)], [world.dropped(k_out_new)]),
                    region="TLK", actor="test", kind="replan", time_limit_s=5)
    current = load_current_plan(db, day)
    by_agent = {r.agent_id: [v.case_id for v in r.visits] for r in current.routes}
    assert by_agent == {world.agents["TLK"].id: [k_new.id], world.agents["TLC"].id: [c_old.id]}
    assert sorted(d.case_id for d in current.dropped) == sorted([k_out_new.id, c_out.id])
    assert current.stats["run_ids"] == [whole, tlk] and current.stats["run_id"] == tlk
    assert current_run_ids(db, day) == [whole, tlk]

    tlc_only = load_current_plan(db, day, region="TLC")
    assert [v.case_id for r in tlc_only.routes for v in r.visits] == [c_old.id]
    assert [d.case_id for d in tlc_only.dropped] == [c_out.id] and tlc_only.stats["run_ids"] == [whole]
    assert current_run_ids(db, day, region="TLK") == [tlk]

    # A whole-country run after that replaces everything.
    again = _save(db, Plan(day, [world.route(day, "TLC", [c_old])], []), region=None, actor="test",
                      time_limit_s=5)
    latest = load_current_plan(db, day)
    assert [r.agent_id for r in latest.routes] == [world.agents["TLC"].id] and latest.dropped == []
    assert current_run_ids(db, day) == [again]


def test_no_plan_is_none(db, day):
    world = World(db)
    assert load_current_plan(db, day) is None
    _save(db, Plan(day, [world.route(day, "TLK", [world.case("TLK")])], []), region="TLK", actor="test",
              time_limit_s=5)
    assert load_current_plan(db, day, region="TLC") is None  # no run covers TLC
    assert load_current_plan(db, day, region="TLK").served == 1


def test_a_buyer_sees_only_its_visits_and_drops_and_an_agent_only_its_route(db, day):
    world = World(db)
    mine, theirs, other_region = world.case("TLK"), world.case("TLK", buyer=1), world.case("TLC", buyer=1)
    my_drop, their_drop = world.case("TLK"), world.case("TLK", buyer=1)
    plan = Plan(day, [world.route(day, "TLK", [theirs, mine]), world.route(day, "TLC", [other_region])],
                [world.dropped(my_drop), world.dropped(their_drop)])
    run_id = _save(db, plan, region=None, actor="test", time_limit_s=5)
    buyer = world.buyers[0]

    view = load_current_plan(db, day, buyer_id=buyer.id)
    assert [r.agent_id for r in view.routes] == [world.agents["TLK"].id]  # the TLC route has none of its cases
    (visit,) = view.routes[0].visits
    assert (visit.case_id, visit.seq, visit.buyer) == (mine.id, 2, buyer.reference)  # its place in the round
    assert [d.case_id for d in view.dropped] == [my_drop.id]

    agent = world.agents["TLC"].id
    own = load_current_plan(db, day, agent_id=agent)
    assert [r.agent_id for r in own.routes] == [agent] and own.dropped == []
    assert [v.case_id for v in own.routes[0].visits] == [other_region.id] and own.stats["run_id"] == run_id
    assert load_current_plan(db, day, agent_id=world.agents["TLK"].id, buyer_id=world.buyers[1].id).served == 1


def test_saving_refuses_unknown_cases_and_kinds(db, day):
    world = World(db)
    route = world.route(day, "TLK", [world.case("TLK")])
    ghost = Dropped(2**31 - 1, "nobody", Point(0, 51), "capacity")
    with pytest.raises(ValueError, match="do not exist"):
        _save(db, Plan(day, [route], [ghost]), region=None, actor="test", time_limit_s=5)
    with pytest.raises(ValueError):
        _save(db, Plan(day, [route], []), region=None, actor="test", kind="guess", time_limit_s=5)


def test_each_visit_and_dropped_visit_keeps_its_task_priority(db, day):
    """The priority of every planned and dropped visit is stored with it (plan_visit.priority,
    plan_dropped.priority): the regional measures compare buyers within its class [000 §1.8]."""
    world = World(db)
    urgent, routine, out = world.case("TLK"), world.case("TLK", buyer=1), world.case("TLK")
    plan = Plan(day, [world.route(day, "TLK", [urgent, routine])], [world.dropped(out)])
    run_id = save_plan(db, plan, priorities={urgent.id: 100, routine.id: 20, out.id: 60}, region=None,
                       actor="test", time_limit_s=5)

    assert dict(db.execute(select(PlanVisit.case_id, PlanVisit.priority).where(PlanVisit.run_id == run_id)).all()) \
        == {urgent.id: 100, routine.id: 20}
    assert db.execute(select(PlanDropped.case_id, PlanDropped.priority)
                      .where(PlanDropped.run_id == run_id)).all() == [(out.id, 60)]
    with pytest.raises(ValueError, match="without a priority"):
        save_plan(db, plan, priorities={urgent.id: 100, routine.id: 20}, region=None, actor="test", time_limit_s=5)
