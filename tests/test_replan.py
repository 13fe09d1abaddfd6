"""Re-planning mid-day: the pure rules of ``replan_inputs`` and ``with_started`` on hand-made days, and
the whole edge on the seeded ``tiny`` scenario with the real PostGIS, Redis and Mosquitto: plan the
day, record a completed and a started visit, move an agent in Redis, re-plan at noon."""
from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import sim
from core import session_scope
from cli import app
from core.models import Agent, AuditEvent, PlanDropped, PlanPin, PlanRun, PlanVisit, Visit
from core.mqtt import broker_address, new_client
from core.positions import AT_KEY, GEO_KEY, Fix, connect, write_positions
from dispatch.eligibility import load_eligibility, shifts_for_day
from dispatch.matrix import BngMatrixProvider
from dispatch.model import Plan, Point, Shift, TimeWindow, VisitTask
from dispatch.planner import plan_day
from dispatch.publish import plan_topic
from dispatch.replan import (
    STALE_AFTER,
    Completed,
    Started,
    can_still_work,
    replan_day,
    replan_inputs,
    started_tasks,
    with_started,
)
from dispatch.pins import Pin
from dispatch.solver import solve
from dispatch.store import load_current_plan
from dispatch.validator import validate
from tests.case_world import ENFORCED, bearer, make_agent, make_buyer, make_case, make_user
from tests.helpers import unique
from tests.crowded_day import CROWDED, CROWDED_DAY, crowded_day, plan_by_cli
from tests.mqtt_listen import listening

DAY = date(2026, 11, 23)
BASE = Point(-4.1427, 50.3755)  # Plymouth
A, B, C = Point(-4.13, 50.38), Point(-4.16, 50.37), Point(-4.12, 50.39)
EXETER = Point(-3.5339, 50.7184)
IVYBRIDGE = Point(-3.9207, 50.3897)
MATRIX = BngMatrixProvider()
runner = CliRunner()


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=UTC)


NOON = at(12)


def shift(agent_id: int, **kw) -> Shift:
    return Shift(agent_id=agent_id, start=at(8), end=at(18), start_at=BASE, end_at=BASE, **kw)


def task(case_id: int, where: Point, h0: int = 8, h1: int = 18, **kw) -> VisitTask:
    return VisitTask(**{"case_id": case_id, "buyer": "plymouth", "at": where,
                        "windows": (TimeWindow(at(h0), at(h1), "day"),), "service_s": 900, "priority": 50, **kw})


# --- the pure rules ------------------------------------------------------------------------------


def test_agents_start_now_from_a_fresh_fix_else_their_last_visit_else_home() -> None:
    shifts = [shift(1), shift(2), shift(3), shift(4)]
    positions = {1: Fix(A.lon, A.lat, NOON - timedelta(minutes=5)),            # fresh
                 2: Fix(A.lon, A.lat, NOON - STALE_AFTER - timedelta(minutes=1)),  # stale: ignored
                 3: Fix(C.lon, C.lat, at(11, 10))}                              # older than its last visit
    done = [Completed(99, 2, at(10), at(10, 20), B), Completed(98, 3, at(11, 20), at(11, 40), B)]
    _, out = replan_inputs([], shifts, now=NOON, positions=positions, in_progress=[], completed=done)
    where = {s.agent_id: s.current_at for s in out}
    assert where == {1: A, 2: B, 3: B, 4: BASE}
    assert all(s.available_from == NOON for s in out)


def test_a_visit_under_way_is_pinned_to_its_agent_at_its_arrival_and_the_agent_is_free_after_it() -> None:
    started = Started(agent_id=2, arrived_at=at(11, 50), task=task(7, C))
    tasks, shifts = replan_inputs([task(1, A, 12)], [shift(1), shift(2)], now=NOON,
                                  positions={2: Fix(B.lon, B.lat, NOON)}, in_progress=[started])
    pinned = next(t for t in tasks if t.case_id == 7)
    assert (pinned.pinned_agent, pinned.pinned_at, pinned.windows) == (2, at(11, 50), started.task.windows)
    two = next(s for s in shifts if s.agent_id == 2)
    # Free when the 15-minute visit ends, where it is (not at the fix: the agent leaves from the door).
    assert (two.available_from, two.current_at) == (at(12, 5), C)
    assert started_tasks(tasks, shifts) == {7}


def test_done_and_started_cases_are_not_planned_again() -> None:
    tasks = [task(1, A, 12), task(2, B, 12), task(3, C, 12)]
    out, _ = replan_inputs(tasks, [shift(1), shift(2)], now=NOON, positions={},
                           in_progress=[Started(2, at(11, 55), task(2, B))],
                           completed=[Completed(1, 1, at(9), at(9, 15), A)])
    assert sorted((t.case_id, t.pinned_agent) for t in out) == [(2, 2), (3, None)]


def test_dispatcher_pins_hold_and_a_time_already_past_keeps_only_the_agent() -> None:
    tasks = [task(1, A, 12), task(2, B, 12), task(3, C, 12)]
    pins = [Pin(1, 2, at(14)), Pin(2, 1, at(11)), Pin(3, 1), Pin(42, 1, at(15))]  # 42 is no task (any more)
    out, _ = replan_inputs(tasks, [shift(1), shift(2)], now=NOON, positions={}, in_progress=[], pins=pins)
    assert sorted((t.case_id, t.pinned_agent, t.pinned_at) for t in out) == [
        (1, 2, at(14)), (2, 1, None), (3, 1, None)]


def test_the_rest_of_the_day_is_solved_around_the_visit_under_way_and_validates() -> None:
    day = [task(1, A, 12), task(2, B, 12), task(3, IVYBRIDGE, 12)]
    tasks, shifts = replan_inputs(day, [shift(1), shift(2)], now=NOON, positions={1: Fix(A.lon, A.lat, NOON)},
                                  in_progress=[Started(2, at(11, 55), task(7, C))], pins=[Pin(3, 1)])
    under_way = started_tasks(tasks, shifts)
    plan = solve([t for t in tasks if t.case_id not in under_way], can_still_work(shifts, MATRIX),
                 matrix=MATRIX, time_limit_s=1, day=DAY)
    plan = with_started(plan, tasks, shifts, MATRIX)
    assert validate(plan, tasks, shifts, travel=MATRIX) == []
    route = {r.agent_id: r for r in plan.routes}
    assert [(v.case_id, v.seq, v.eta) for v in route[2].visits][0] == (7, 1, at(11, 55))
    assert all(v.eta >= NOON for r in plan.routes for v in r.visits if v.case_id != 7)
    assert 3 in {v.case_id for v in route[1].visits}  # the dispatcher's pin
    assert plan.served == 4


def test_an_agent_with_only_a_visit_under_way_gets_a_route_home() -> None:
    tasks, shifts = replan_inputs([], [shift(1)], now=NOON, positions={},
                                  in_progress=[Started(1, at(11, 55), task(7, EXETER))])
    plan = with_started(solve([], can_still_work(shifts, MATRIX), matrix=MATRIX, time_limit_s=1, day=DAY),
                        tasks, shifts, MATRIX)
    assert validate(plan, tasks, shifts, travel=MATRIX) == []
    (route,) = plan.routes
    assert [v.case_id for v in route.visits] == [7] and route.distance_m > 50_000  # Exeter → Plymouth


def test_an_agent_who_can_only_just_get_home_is_given_nothing_more() -> None:
    late = shift(1, available_from=at(17, 30), current_at=EXETER)
    assert can_still_work([late, shift(2, available_from=NOON)], MATRIX) == [shift(2, available_from=NOON)]


# --- the pins API (its own small world; the tiny scenario below reseeds over it) --------------------

PIN_DAY = date(2026, 11, 23)  # a Monday


@pytest.fixture(scope="module")
def world(policies_loaded, geodata_loaded):
    with session_scope() as db:
        plymouth = make_buyer(db, "plymouth")
        enforced, second = make_case(db, plymouth, **ENFORCED), make_case(db, plymouth, **ENFORCED)
        held = make_case(db, plymouth, on_hold=True, hold_reason="buyer instruction", **ENFORCED)
        agent, uncertified = make_agent(db), make_agent(db)
        uncertified.certificated = False
        return {"enforced": enforced.id, "second": second.id, "held": held.id, "agent_id": agent.id,
                "uncertified": uncertified.id,
                **{role: make_user(db, role) for role in ("admin", "dispatcher", "regional_manager")},
                "buyer": make_user(db, "buyer", buyer=plymouth), "agent": make_user(db, "agent", agent=agent)}


def pins_url(day: date = PIN_DAY) -> str:
    return f"/plans/{day.isoformat()}/pins"


def test_a_dispatcher_pins_lists_replaces_and_removes_a_pin_and_each_change_is_audited(client, world) -> None:
    auth = bearer(client, world["dispatcher"])
    with session_scope() as db:  # a reseed restarts case ids; the audit trail keeps older rows
        audited_before = db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    at_ten = "2026-11-23T10:00:00+00:00"
    r = client.post(pins_url(), json={"case_id": world["enforced"], "agent_id": world["agent_id"], "at": at_ten},
                    headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["agent_id"] == world["agent_id"] and r.json()["at"].startswith("2026-11-23T10:00:00")
    r = client.post(pins_url(), json={"case_id": world["enforced"], "agent_id": world["agent_id"]}, headers=auth)
    assert r.status_code == 201 and r.json()["at"] is None  # one pin per case and day: replaced
    listed = client.get(pins_url(), headers=bearer(client, world["regional_manager"]))
    assert listed.status_code == 200
    assert [(p["case_id"], p["at"]) for p in listed.json() if p["case_id"] == world["enforced"]] == [
        (world["enforced"], None)]
    assert client.delete(f"{pins_url()}/{world['enforced']}", headers=auth).status_code == 204
    assert client.delete(f"{pins_url()}/{world['enforced']}", headers=auth).status_code == 404
    with session_scope() as db:
        actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.target == f"case:{world['enforced']}",
                                                                  AuditEvent.action.like("plan.%"),
                                                                  AuditEvent.id > audited_before)
                                  .order_by(AuditEvent.id)))
        pins = db.scalars(select(PlanPin).where(PlanPin.case_id == world["enforced"])).all()
    assert actions == ["plan.pin", "plan.pin", "plan.unpin"] and pins == []


def test_pins_are_for_admins_and_dispatchers_and_need_a_token(client, world) -> None:
    body = {"case_id": world["enforced"], "agent_id": world["agent_id"]}
    assert client.post(pins_url(), json=body).status_code == 401
    assert client.get(pins_url()).status_code == 401
    for role in ("buyer", "agent", "regional_manager"):
        assert client.post(pins_url(), json=body, headers=bearer(client, world[role])).status_code == 403
    for role in ("buyer", "agent"):
        assert client.get(pins_url(), headers=bearer(client, world[role])).status_code == 403
    assert client.post(f"/plans/{PIN_DAY}/replan", json={}, headers=bearer(client, world["buyer"])).status_code == 403
    r = client.post(pins_url(), json=body, headers=bearer(client, world["admin"]))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("body", "field"), [
    ({"agent_id": 1}, "case_id"),
    ({"case_id": "x", "agent_id": 1}, "case_id"),
    ({"case_id": 1, "agent_id": 1, "at": "2026-11-23T10:00:00"}, "at"),        # no UTC offset
    ({"case_id": 1, "agent_id": 1, "at": "2026-11-24T10:00:00+00:00"}, "at"),  # another day
    ({"case_id": 1, "agent_id": 1, "colour": "red"}, "colour"),
])
def test_bad_pins_are_422_naming_the_field(client, world, body, field) -> None:
    r = client.post(pins_url(), json=body, headers=bearer(client, world["dispatcher"]))
    assert r.status_code == 422, r.text
    assert any(e["field"].split(".")[-1] == field for e in r.json()["errors"]), r.json()


def test_unknown_cases_and_agents_are_404(client, world) -> None:
    auth = bearer(client, world["dispatcher"])
    r = client.post(pins_url(), json={"case_id": 2_000_000_000, "agent_id": world["agent_id"]}, headers=auth)
    assert r.status_code == 404 and "case" in r.json()["detail"]
    r = client.post(pins_url(), json={"case_id": world["second"], "agent_id": 2_000_000_000}, headers=auth)
    assert r.status_code == 404 and "agent" in r.json()["detail"]


def test_a_pin_no_plan_could_keep_is_409_saying_why(client, world) -> None:
    auth = bearer(client, world["dispatcher"])

    def pin(case: str, agent: str = "agent_id", at: str | None = None, day: date = PIN_DAY):
        return client.post(pins_url(day), json={"case_id": world[case], "agent_id": world[agent], "at": at},
                           headers=auth)

    held = pin("held")
    assert held.status_code == 409 and held.json()["detail"].startswith("R-CASE-HOLD")
    sunday = pin("second", day=date(2026, 11, 22))  # Plymouth visits Monday to Saturday
    assert sunday.status_code == 409 and sunday.json()["detail"].startswith("R-VISIT-HOURS"), sunday.text
    uncertified = pin("second", "uncertified")
    assert uncertified.status_code == 409 and "certificated" in uncertified.json()["detail"]
    night = pin("second", at="2026-11-23T20:50:00+00:00")  # a 15-minute visit would end after 21:00
    assert night.status_code == 409 and "outside the case's windows" in night.json()["detail"]
    before_shift = pin("second", at="2026-11-23T06:30:00+00:00")  # in the hours, before the 07:00 shift
    assert before_shift.status_code == 409 and "shift" in before_shift.json()["detail"]
    with session_scope() as db:
        assert db.scalars(select(PlanPin).where(PlanPin.case_id.in_([world["held"], world["second"]]),
                                                PlanPin.day == PIN_DAY)).all() == []


# --- the edge, on the tiny scenario ----------------------------------------------------------------

TINY_DAY = sim.SCENARIOS["tiny"].as_of


@pytest.fixture(scope="module")
def tiny(geodata_loaded, policies_loaded) -> date:
    sim.seed_scenario("tiny", seed=1, progress=False)
    return TINY_DAY


@pytest.fixture
def redis_ns():
    client = connect()
    namespace = f"test:{unique('replan')}:"
    yield client, namespace
    client.delete(namespace + GEO_KEY, namespace + AT_KEY)


def retained(topic: str, timeout_s: float = 5.0) -> dict:
    got: dict = {}
    done = threading.Event()
    client = new_client(unique("replan-test"))

    def on_message(c, userdata, msg: mqtt.MQTTMessage) -> None:
        got.update(json.loads(msg.payload))
        done.set()

    client.on_message = on_message
    address = broker_address()
    client.connect(address.host, address.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert done.wait(timeout_s), f"no retained message on {topic}"
    finally:
        client.loop_stop()
        client.disconnect()
    return got


def morning_plan(day: date) -> tuple[Plan, list[Shift]]:
    with session_scope() as db:
        tasks = load_eligibility(db, day).tasks
        shifts = shifts_for_day(db, day)
    return plan_day(tasks, shifts, matrix=MATRIX, day=day, time_limit_s=5), shifts


def test_replanning_at_noon_keeps_what_is_done_and_under_way_and_starts_from_positions(tiny, redis_ns) -> None:
    client, ns = redis_ns
    noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # GMT in November: UK noon
    plan, shifts = morning_plan(tiny)
    morning = sorted((v for r in plan.routes for v in r.visits if v.eta < noon - timedelta(minutes=10)),
                     key=lambda v: v.eta)
    # A completed visit to a national case: its policy (ccs_default) has no daily cap, so a refusal
    # leaves the case eligible for the rest of the day.
    done = next(v for v in morning if v.buyer == "national")
    # A visit under way, by another agent, begun five minutes before noon, inside its window.
    going = next(v for v in morning if v.agent_id != done.agent_id and v.window.start <= noon - timedelta(minutes=5)
                 < v.window.end and v.case_id != done.case_id)
    arrived = noon - timedelta(minutes=5)
    with session_scope() as db:
        db.add_all([
            Visit(case_id=done.case_id, agent_id=done.agent_id, arrived_at=done.eta, departed_at=done.etd,
                  outcome="refused", time_band=done.window.time_band, recorded_by="test"),
            Visit(case_id=going.case_id, agent_id=going.agent_id, arrived_at=arrived, outcome="no_contact",
                  time_band=going.window.time_band, recorded_by="test")])
    moved = next(s for s in shifts if s.agent_id not in (done.agent_id, going.agent_id))
    fix = Point(moved.start_at.lon + 0.02, moved.start_at.lat + 0.01)
    write_positions(client, {moved.agent_id: (fix, noon - timedelta(minutes=2))}, namespace=ns)
    # A dispatcher pins the moved agent's nearest afternoon case at 15:00.
    three = noon + timedelta(hours=3)
    with session_scope() as db:
        afternoon = [t for t in load_eligibility(db, tiny, now=noon).tasks
                     if t.region == moved.region and t.case_id not in (done.case_id, going.case_id)
                     and t.required_skills <= moved.skills
                     and any(w.start <= three and three + timedelta(seconds=t.service_s) <= w.end for w in t.windows)]
        pinned = min(afternoon, key=lambda t: (t.at.lon - fix.lon) ** 2 + (t.at.lat - fix.lat) ** 2)
        db.add(PlanPin(day=tiny, case_id=pinned.case_id, agent_id=moved.agent_id, at=three, created_by="test"))
    try:
        with session_scope() as db:
            outcome = replan_day(db, client, tiny, now=noon, time_limit_s=5, actor="test", publish=True,
                                 positions_namespace=ns)
            run = db.get(PlanRun, outcome.run_id)
            assert run is not None and run.kind == "replan" and run.stats["served"] == outcome.plan.served
            eligibility = load_eligibility(db, tiny, now=noon)
            still_eligible = {t.case_id for t in eligibility.tasks}
            gap = {e.case_id: e.rule_ids for e in eligibility.excluded}
            stored = dict([*db.execute(select(PlanVisit.case_id, PlanVisit.priority)
                                       .where(PlanVisit.run_id == outcome.run_id)),
                           *db.execute(select(PlanDropped.case_id, PlanDropped.priority)
                                       .where(PlanDropped.run_id == outcome.run_id))])
    finally:
        with session_scope() as db:
            for visit in db.scalars(select(Visit).where(Visit.recorded_by == "test",
                                                        Visit.case_id.in_([done.case_id, going.case_id]))):
                db.delete(visit)
            db.delete(db.scalar(select(PlanPin).where(PlanPin.day == tiny, PlanPin.case_id == pinned.case_id)))

    assert outcome.violations == [] and outcome.publish_error is None
    new = outcome.plan
    visits = {v.case_id: v for r in new.routes for v in r.visits}
    # The started visit stays with its agent, at its arrival, first in its route.
    kept = visits[going.case_id]
    assert (kept.agent_id, kept.eta, kept.seq) == (going.agent_id, arrived, 1)
    # The dispatcher's pin holds.
    assert (visits[pinned.case_id].agent_id, visits[pinned.case_id].eta) == (moved.agent_id, three)
    # Nothing else is planned before now; the completed visit is neither planned nor dropped.
    assert all(v.eta >= noon for v in visits.values() if v.case_id != going.case_id)
    assert done.case_id not in visits and done.case_id not in {d.case_id for d in new.dropped}
    # Eligibility alone would have sent an agent back: the re-plan itself keeps the round as made.
    assert done.case_id in still_eligible
    # A no-contact visit already keeps its case out of eligibility for 24 hours (R-VISIT-GAP).
    assert gap[going.case_id] == ("R-VISIT-GAP",)
    # Every visit and dropped visit of the re-plan is stored with its task's priority [000 §1.8], the
    # visit under way too (its task as it stood when it began).
    assert None not in stored.values()
    assert {c: p for c, p in stored.items() if c in still_eligible} == \
        {t.case_id: t.priority for t in eligibility.tasks if t.case_id in stored}
    # Agents start from where they are now.
    shift_of = {s.agent_id: s for s in outcome.shifts}
    where = shift_of[moved.agent_id].current_at  # through Redis's geohash: within a metre
    assert abs(where.lon - fix.lon) < 1e-5 and abs(where.lat - fix.lat) < 1e-5
    assert shift_of[going.agent_id].current_at == going.at
    assert all(s.available_from >= noon for s in outcome.shifts)
    # The agent's phone gets the new day, with the visit under way first.
    day_msg = retained(plan_topic(going.agent_id))
    assert day_msg["run_id"] == outcome.run_id and day_msg["visits"][0]["case_id"] == going.case_id


def busiest_region(db) -> str:
    return db.scalar(select(Agent.itl1_cd).where(Agent.active).group_by(Agent.itl1_cd)
                     .order_by(func.count().desc(), Agent.itl1_cd).limit(1))


def test_post_replan_answers_the_run_summary_and_is_audited(client, tiny) -> None:
    with session_scope() as db:
        region = busiest_region(db)
        dispatcher = make_user(db, "dispatcher")
    auth = bearer(client, dispatcher)
    url = f"/plans/{tiny.isoformat()}/replan"
    body = {"region": region, "time_limit_s": 3, "publish": False, "now": "2026-11-23T12:00:00+00:00"}
    r = client.post(url, json=body, headers=auth)
    assert r.status_code == 201, r.text
    summary = r.json()
    assert summary["day"] == tiny.isoformat() and summary["region"] == region
    assert {"run_id", "served", "dropped", "dropped_by_reason", "distance_m", "agents", "fairness_ratio"} <= set(summary)
    with session_scope() as db:
        run = db.get(PlanRun, summary["run_id"])
        audited = db.scalar(select(AuditEvent).where(AuditEvent.action == "plan.replan",
                                                     AuditEvent.target == f"plan_run:{run.id}")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert run.kind == "replan" and run.region == region and run.stats["served"] == summary["served"]
    assert audited is not None and audited.data["now"] == "2026-11-23T12:00:00+00:00"
    for bad, field in (({**body, "time_limit_s": 0}, "time_limit_s"), ({**body, "time_limit_s": 601}, "time_limit_s"),
                       ({**body, "now": "2026-11-24T12:00:00+00:00"}, "now"), ({**body, "region": "ZZZ"}, "region")):
        r = client.post(url, json=bad, headers=auth)
        assert r.status_code == 422 and any(e["field"] == field for e in r.json()["errors"]), r.text
    assert client.post(url, json=body).status_code == 401


def test_the_replan_command(tiny) -> None:
    with session_scope() as db:
        region = busiest_region(db)
    common = ["replan", "--day", tiny.isoformat(), "--region", region, "--time-limit", "3", "--no-publish"]
    result = runner.invoke(app, [*common, "--now", "2026-11-23T12:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert f"{tiny} {region}: stored as run" in result.output and "served" in result.output
    naive = runner.invoke(app, [*common, "--now", "2026-11-23T12:00:00"])
    assert naive.exit_code == 2 and "--now" in naive.output
    assert runner.invoke(app, ["replan", "--day", "23/11/2026"]).exit_code == 2


@pytest.fixture
def crowded(tiny):
    """The crowded day (``tests.crowded_day``), its morning planned by ``bailiwick plan``."""
    with crowded_day(lambda: plan_by_cli("--no-publish")) as day:
        yield day


def test_a_replan_not_found_in_time_is_refused_and_the_current_plan_kept(crowded) -> None:
    """At 0.01 s the solver gets a millisecond (see tests/test_cli_plan.py, ``TOO_SHORT``) and finds
    nothing for the crowded day: the re-plan is neither stored nor sent, so agents keep the day they have."""
    def state() -> tuple[int, list[int] | None]:
        with session_scope() as db:
            current = load_current_plan(db, CROWDED_DAY, region=CROWDED)
            return (db.scalar(select(func.count()).select_from(PlanRun)),
                    current.stats["run_ids"] if current is not None else None)

    topics = [plan_topic(a) for a in crowded.agents]
    before = state()
    assert before[1] == [crowded.run_id]
    with listening(topics) as phones:
        result = runner.invoke(app, ["replan", "--day", CROWDED_DAY.isoformat(), "--region", CROWDED,
                                     "--time-limit", "0.01", "--now", "2026-12-03T08:00:00+00:00"])
        sent = phones.live()
    assert result.exit_code == 3, result.output
    assert "no plan found within the time limit" in result.output and "re-plan not stored or published" in result.output
    assert "--time-limit" in result.output
    assert state() == before and sent == {}
