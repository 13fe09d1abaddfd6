"""Agents' days over the real Mosquitto broker (``dispatch.publish``): one retained QoS 1 message per
agent on ``agents/{agent_id}/plan``, an empty day for an agent on shift with nothing planned, and a
phone that connects later still gets its day. Agent ids are random and far above any seeded id, so
that nothing else on the shared broker is touched; every retained message made here is cleared."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from core.visit_rules import TimeWindow
from dispatch.model import Break, Dropped, Plan, PlannedVisit, Point, Route, Shift
from dispatch.publish import PublishError, plan_topic, publish_plan
from dispatch.store import VisitAddress
from tests.helpers import free_port
from tests.mqtt_listen import clear_retained, connected, listening

DAY = date(2026, 11, 23)  # GMT: local times carry +00:00


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


@pytest.fixture
def agents():
    busy, idle = random.sample(range(10**9, 2 * 10**9), 2)
    yield busy, idle
    clear_retained([plan_topic(busy), plan_topic(idle)])


def _shift(agent_id: int) -> Shift:
    home = Point(-4.14, 50.37)
    return Shift(agent_id=agent_id, start=at(7), end=at(19), start_at=home, end_at=home,
                 breaks=(Break(at(12), at(14), 1800),))


def _plan(busy: int) -> Plan:
    shift = _shift(busy)
    visits = tuple(PlannedVisit(
        case_id=100 + seq, agent_id=busy, seq=seq, eta=at(8 + seq), etd=at(8 + seq, 15),
        window=TimeWindow(at(8), at(17), "office"), service_s=900, buyer="plymouth",
        at=Point((-4.11, -4.12)[seq - 1], 50.4), time_band="office") for seq in (1, 2))
    return Plan(DAY, [Route(busy, shift, visits, distance_m=8_000.0, duration_s=9_000)],
                [Dropped(999, "plymouth", Point(-4.2, 50.4), "capacity")], stats={"run_id": 41})


def test_each_agent_gets_its_day_retained_and_an_idle_agent_an_empty_day(agents):
    busy, idle = agents
    topics = [plan_topic(busy), plan_topic(idle)]
    addresses = {101: VisitAddress("1 Test Street", "PL1 2AA")}
    with listening(topics) as listener:
        sent = publish_plan(_plan(busy), shifts=[_shift(busy), _shift(idle)], addresses=addresses)
        days = listener.wait_for(topics)
    assert sent == 2
    day = days[plan_topic(busy)]
    assert (day["day"], day["agent_id"], day["run_id"]) == ("2026-11-23", busy, 41)
    assert day["shift"]["start"] == "2026-11-23T07:00:00+00:00" and day["shift"]["end_at"] == {"lat": 50.37,
                                                                                              "lon": -4.14}
    assert day["shift"]["breaks"] == [{"earliest": "2026-11-23T12:00:00+00:00",
                                       "latest": "2026-11-23T14:00:00+00:00", "duration_s": 1800}]
    first, second = day["visits"]
    assert first == {"seq": 1, "case_id": 101, "eta": "2026-11-23T09:00:00+00:00",
                     "etd": "2026-11-23T09:15:00+00:00", "window_start": "2026-11-23T08:00:00+00:00",
                     "window_end": "2026-11-23T17:00:00+00:00", "time_band": "office", "service_s": 900,
                     "lat": 50.4, "lon": -4.11, "address": "1 Test Street", "postcode": "PL1 2AA"}
    assert second["seq"] == 2 and "address" not in second  # no address given for it
    assert (day["distance_m"], day["duration_s"]) == (8000.0, 9000)
    empty = days[plan_topic(idle)]
    assert (empty["agent_id"], empty["visits"], empty["distance_m"]) == (idle, [], 0.0)

    # A phone connecting afterwards gets the retained day at once.
    with listening([plan_topic(busy)]) as late:
        again = late.wait_for([plan_topic(busy)], retained=True)[plan_topic(busy)]
    assert again == day and late.messages[plan_topic(busy)][0][1] is True


def test_a_new_plan_replaces_the_retained_day(agents):
    busy, _ = agents
    publish_plan(_plan(busy))
    publish_plan(Plan(DAY, [], []), shifts=[_shift(busy)], run_id=42)  # nothing for the agent now
    with listening([plan_topic(busy)]) as late:
        day = late.wait_for([plan_topic(busy)], retained=True)[plan_topic(busy)]
    assert (day["run_id"], day["visits"]) == (42, [])


def test_a_given_client_is_used_and_left_connected(agents):
    busy, _ = agents
    with connected() as client, listening([plan_topic(busy)]) as listener:
        assert publish_plan(_plan(busy), client) == 1
        assert client.is_connected()
        assert listener.wait_for([plan_topic(busy)])[plan_topic(busy)]["agent_id"] == busy


def test_no_broker_is_a_publish_error(monkeypatch, settings):
    monkeypatch.setattr(settings, "mqtt_url", f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(PublishError, match="cannot reach"):
        publish_plan(_plan(1), timeout_s=1)


def test_times_in_summer_carry_the_bst_offset(agents):
    busy, _ = agents
    summer = datetime(2026, 7, 1, 8, tzinfo=UTC)
    shift = replace(_shift(busy), start=summer, end=summer + timedelta(hours=12), breaks=())
    plan = Plan(date(2026, 7, 1), [Route(busy, shift, (), 0.0, 0)], [])
    with listening([plan_topic(busy)]) as listener:
        publish_plan(plan)
        day = listener.wait_for([plan_topic(busy)])[plan_topic(busy)]
    assert day["shift"]["start"] == "2026-07-01T09:00:00+01:00"
