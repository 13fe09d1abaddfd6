"""Geofences on the phone (issue 11): when a plan is stored or re-planned (``store_and_publish``), each
agent's visits go to the agent's active OwnTracks phones as the app's ``setWaypoints`` command on
``owntracks/{device_id}/{device}/cmd`` — a 50 m region at each case address, named by the case id —
retained at QoS 1; an agent on shift with nothing planned gets an empty list; a phone without a
learned OwnTracks name (the Bailiwick form) or inactive gets none. Over the real broker and database;
every retained message made here is cleared."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import hash_device_secret
from core.models import Address, Buyer, Case, Device, PlanKind, PlanRun
from core.visit_rules import TimeWindow
from dispatch.model import Plan, PlannedVisit, Point, Route, Shift
from dispatch.publish import plan_topic, publish_waypoints
from dispatch.service import store_and_publish
from tests.case_world import make_agent, make_buyer, make_case
from tests.helpers import free_port, unique
from tests.mqtt_listen import clear_retained, listening


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def phone(db, agent_id: int, name: str | None, active: bool = True) -> str:
    device = Device(device_id=unique("phone"), kind="phone", agent_id=agent_id, owntracks_name=name,
                    credential_hash=hash_device_secret("s"), active=active)
    db.add(device)
    db.flush()
    return device.device_id


def cmd(device_id: str, name: str) -> str:
    return f"owntracks/{device_id}/{name}/cmd"


@pytest.fixture
def world(db):
    """A busy agent with two OwnTracks phones, an inactive one and a Bailiwick-form one; an idle agent
    on shift with one OwnTracks phone; two cases in Plymouth. Yields what the test needs, then clears
    every retained message the test could have made."""
    latest = db.scalar(select(func.max(PlanRun.day)))
    day = max(date(2200, 1, 1), (latest or date(2200, 1, 1)) + timedelta(days=1))
    buyer = make_buyer(db)
    cases = [make_case(db, buyer, at=(-4.1427 + i / 500, 50.3755 + i / 1000), itl1_cd="TLK") for i in (1, 2)]
    busy, idle = make_agent(db, region="TLK"), make_agent(db, region="TLK")
    w = {
        "day": day, "cases": cases, "busy": busy.id, "idle": idle.id, "buyer": buyer.reference,
        "busy_phones": [cmd(phone(db, busy.id, "iphone"), "iphone"), cmd(phone(db, busy.id, "pixel"), "pixel")],
        "inactive": cmd(phone(db, busy.id, "old", active=False), "old"),
        "bailiwick_form": phone(db, busy.id, None),
        "idle_phone": cmd(phone(db, idle.id, "nokia"), "nokia"),
    }
    w["address"] = {c.id: db.execute(select(func.ST_X(Address.location), func.ST_Y(Address.location))
                                     .join(Case, Case.address_id == Address.id).where(Case.id == c.id)).one()
                    for c in cases}
    db.commit()
    yield w
    clear_retained([*w["busy_phones"], w["inactive"], w["idle_phone"], plan_topic(busy.id), plan_topic(idle.id)])


def shift(agent_id: int, day: date) -> Shift:
    home = Point(-4.14, 50.37)
    return Shift(agent_id=agent_id, start=at(day, 7), end=at(day, 19), start_at=home, end_at=home, region="TLK")


def route(w, db) -> Route:
    day = w["day"]
    visits = []
    for seq, case in enumerate(w["cases"], start=1):
        lon, lat = w["address"][case.id]  # the planner visits a case at its address (eligibility.case_sites)
        eta = at(day, 8 + seq)
        visits.append(PlannedVisit(case_id=case.id, agent_id=w["busy"], seq=seq, eta=eta,
                                   etd=eta + timedelta(minutes=15), window=TimeWindow(at(day, 8), at(day, 17), "office"),
                                   service_s=900, buyer=db.get(Buyer, case.buyer_id).reference, at=Point(lon, lat),
                                   time_band="office"))
    return Route(w["busy"], shift(w["busy"], day), tuple(visits), distance_m=3_000.0, duration_s=4_000)


def store(db, w, routes: list[Route], kind: str):
    shifts = [shift(w["busy"], w["day"]), shift(w["idle"], w["day"])]
    priorities = {v.case_id: 50 for r in routes for v in r.visits}
    return store_and_publish(db, Plan(w["day"], routes, []), shifts, priorities=priorities, region=None, actor="test",
                             kind=kind, time_limit_s=1, role=None, audit=None, publish=True)


def test_a_stored_plan_sends_each_owntracks_phone_its_visits_as_50_m_regions(db, world) -> None:
    w = world
    topics = [*w["busy_phones"], w["idle_phone"]]
    with listening([*topics, w["inactive"], f"owntracks/{w['bailiwick_form']}/#"]) as listener:
        outcome = store(db, w, [route(w, db)], PlanKind.plan)
        got = listener.wait_for(topics)
    assert outcome.publish_error is None
    assert (outcome.published, outcome.waypoints_published) == (2, 3)
    first, second = w["cases"]
    expected = {"_type": "cmd", "action": "setWaypoints", "waypoints": {
        "_type": "waypoints", "_creator": "bailiwick", "waypoints": [
            {"_type": "waypoint", "desc": str(c.id), "lat": pytest.approx(w["address"][c.id][1], abs=1e-9),
             "lon": pytest.approx(w["address"][c.id][0], abs=1e-9), "rad": 50, "tst": c.id}
            for c in (first, second)]}}
    assert got[w["busy_phones"][0]] == expected and got[w["busy_phones"][1]] == expected
    assert got[w["idle_phone"]]["waypoints"]["waypoints"] == []  # on shift, nothing planned
    # Nothing for the inactive phone, nor for the phone that reads its plan on agents/{id}/plan.
    assert set(listener.live()) == set(topics)


def test_a_replan_replaces_the_retained_regions_and_an_emptied_day_sends_an_empty_list(db, world) -> None:
    w = world
    busy_phone = w["busy_phones"][0]
    store(db, w, [route(w, db)], PlanKind.plan)
    with listening([busy_phone]) as listener:
        outcome = store(db, w, [], PlanKind.replan)  # the busy agent's visits went to someone else
        assert listener.wait_for([busy_phone])[busy_phone]["waypoints"]["waypoints"] == []
    assert outcome.waypoints_published == 3
    # A phone connecting afterwards reads the latest command at once, not the stale one.
    with listening([busy_phone]) as late:
        retained = late.wait_for([busy_phone], retained=True)[busy_phone]
    assert retained["action"] == "setWaypoints" and retained["waypoints"]["waypoints"] == []
    assert late.messages[busy_phone][0][1] is True


def test_no_owntracks_phone_needs_no_broker(monkeypatch, settings) -> None:
    monkeypatch.setattr(settings, "mqtt_url", f"mqtt://127.0.0.1:{free_port()}")
    assert publish_waypoints(Plan(date(2200, 1, 1), [], []), {}, shifts=[shift(1, date(2200, 1, 1))]) == 0
