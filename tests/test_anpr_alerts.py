"""ANPR alerts over the real broker, Redis GEO (a namespace of the test's own) and PostGIS: each new
sighting goes to the nearest available agent (the skill an ANPR visit needs, a fresh position) on
``agents/{id}/alerts``, once; no place or nobody in range leaves it unalerted; ``GET /anpr/alerts``
lists them all for the office."""
from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from anpr_ingest import (
    NOT_ACTIONABLE,
    AgentCandidate,
    AnprStore,
    PlateRead,
    Taken,
    alert_topic,
    choose_agent,
    match_reads,
    raise_alerts,
)
from api.deps import Hotlist, get_hotlist
from core import (
    OPTIONAL_SKILLS,
    get_settings,
    libpq_dsn,
    session_scope,
    write_positions,
)
from core.positions import Fix
from tests.anpr_world import VanDevice, anpr_worker, hotlist_namespace, rows
from tests.case_world import make_agent, make_buyer, make_user
from tests.helpers import bearer, publisher, running
from tests.mqtt_listen import connected, listening
from tests.test_anpr_ingest import commit, message, read

PLACE = (-4.1427, 50.3755)  # where the tests' reads are taken (lon, lat), as tests.test_anpr_ingest's
STALE_S = get_settings().gps_stale_s


@pytest.fixture
def ns(redis_client) -> Iterator[str]:
    with hotlist_namespace(redis_client) as prefix:
        yield prefix


def agents(*, skills: list[list[str]]) -> list[int]:
    with session_scope() as db:
        made = [make_agent(db) for _ in skills]
        for agent, s in zip(made, skills, strict=True):
            agent.skills = s
        db.flush()
        return [a.id for a in made]


def place(redis_client, ns: str, where: dict[int, tuple[float, float, float]]) -> None:
    """Agent id → (km east of ``PLACE``, km north of it, age of the fix in seconds)."""
    now = datetime.now(UTC)
    write_positions(redis_client, {
        a: (Fix(PLACE[0] + east / 71.0, PLACE[1] + north / 111.2, now), now - timedelta(seconds=age))
        for a, (east, north, age) in where.items()}, namespace=ns)


def commit_unplaced(van: VanDevice, redis_client, ns: str, vrm: str, ts: datetime) -> int:
    """A read with no position (as a Plate Recognizer webhook's) through the store: its new sighting."""
    taken = Taken([(van.van_id, van.device_id, PlateRead(ts, vrm, 0.9, None, None), datetime.now(UTC))], [])
    with psycopg.connect(libpq_dsn()) as conn:
        (sighting,) = AnprStore(conn, b"k").commit(match_reads(taken, redis_client, 0.55, namespace=ns), []).new_sightings
    return sighting


def alerted(sighting_id: int) -> tuple:
    return rows("SELECT alerted_agent_id, alerted_at IS NOT NULL FROM anpr_sighting WHERE id = %s", sighting_id)[0]


# --- choosing the agent (pure) ---

def candidate(agent_id: int, km: float, *, age_s: float = 10, skills=OPTIONAL_SKILLS, active=True,
              certificated=True, now: datetime) -> AgentCandidate:
    return AgentCandidate(agent_id, km * 1000, now - timedelta(seconds=age_s), active, certificated,
                          frozenset(skills))


def test_the_nearest_available_agent_is_chosen() -> None:
    now = datetime(2026, 7, 6, 11, 0, tzinfo=UTC)
    far_skilled = candidate(9, 12.0, now=now)
    cases = {
        "a nearer agent without the skill": candidate(1, 1.0, skills=(), now=now),
        "a nearer stale agent": candidate(2, 1.0, age_s=301, now=now),
        "a nearer inactive agent": candidate(3, 1.0, active=False, now=now),
        "a nearer agent not certificated": candidate(4, 1.0, certificated=False, now=now),
    }
    for why, nearer in cases.items():
        assert choose_agent([nearer, far_skilled], now=now, stale_s=300) == far_skilled, why
    at_limit = candidate(5, 2.0, age_s=300, now=now)  # stale means strictly older than the limit
    assert choose_agent([far_skilled, at_limit], now=now, stale_s=300) == at_limit
    assert choose_agent([candidate(7, 3.0, now=now), candidate(6, 3.0, now=now)], now=now, stale_s=300).agent_id == 6
    assert choose_agent([], now=now, stale_s=300) is None
    assert choose_agent(list(cases.values()), now=now, stale_s=300) is None


# --- through the real worker, Redis GEO and the broker ---

def test_a_sighting_alerts_the_nearest_skilled_fresh_agent_on_its_topic_once(van, listed, redis_client,
                                                                              ns) -> None:
    vrm, vehicle_id = listed
    unskilled, stale, skilled, farther = agents(skills=[[], ["vehicle"], ["vehicle", "commercial"], ["vehicle"]])
    place(redis_client, ns, {unskilled: (0.5, 0, 10), stale: (1.0, 0, STALE_S + 60), skilled: (3.0, 0, 10),
                             farther: (6.0, 0, 10)})
    topics = [alert_topic(a) for a in (unskilled, stale, skilled, farther)]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    with listening(topics) as listener, publisher() as client, running(anpr_worker(ns)) as worker:
        client.publish(f"vans/{van.van_id}/anpr", message(van, read(vrm, at)), qos=1).wait_for_publish(10)
        got = listener.wait_for([alert_topic(skilled)], timeout_s=15)[alert_topic(skilled)]
        deadline = time.monotonic() + 10
        while worker.written.alerts < 1:
            assert time.monotonic() < deadline, f"the worker recorded no alert: {worker.written}"
            time.sleep(0.05)
        time.sleep(0.3)  # anything sent to another agent would have arrived by now
        assert set(listener.live()) == {alert_topic(skilled)} and len(listener.live()[alert_topic(skilled)]) == 1
    (sighting_id,) = rows("SELECT id FROM anpr_sighting WHERE vehicle_id = %s", vehicle_id)[0]
    assert got is not None
    assert got["sighting_id"] == sighting_id and got["vrm"] == vrm
    assert got["place"] == pytest.approx({"lat": PLACE[1], "lon": PLACE[0]})
    assert datetime.fromisoformat(got["seen_at"]) == at and got["case_ids"]
    assert got["actionable"] is False and got["note"] == NOT_ACTIONABLE
    assert "R-ANPR-KEEPER" in got["note"] and "R-ANPR-NOCHASE" in got["note"]
    assert 2500 < got["distance_m"] < 3500
    assert alerted(sighting_id) == (skilled, True)
    assert worker.written.alerts == 1

    # A second processing of the sighting (a retried after-commit step) alerts nobody again.
    with listening(topics) as listener, connected() as client, psycopg.connect(libpq_dsn()) as conn:
        assert raise_alerts(conn, redis_client, client, [sighting_id], namespace=ns) == []
        time.sleep(0.3)
        assert listener.live() == {}
    assert alerted(sighting_id) == (skilled, True)


def test_nobody_in_range_or_no_place_leaves_the_sighting_unalerted(van, listed, redis_client, ns) -> None:
    vrm, _ = listed
    (far,) = agents(skills=[["vehicle"]])
    radius_km = get_settings().anpr_alert_radius_km
    place(redis_client, ns, {far: (radius_km + 5, 0, 10)})
    t0 = datetime.now(UTC) - timedelta(hours=2)
    placed = commit(van, redis_client, ns, message(van, read(vrm, t0))).new_sightings
    unplaced = commit_unplaced(van, redis_client, ns, vrm, t0 + timedelta(minutes=30))
    with listening([alert_topic(far)]) as listener, connected() as client, \
            psycopg.connect(libpq_dsn()) as conn:
        assert raise_alerts(conn, redis_client, client, [*placed, unplaced], namespace=ns) == []
        # the same agent is alerted once the radius reaches it: the only reason it was not
        (sent,) = raise_alerts(conn, redis_client, client, placed, namespace=ns, radius_km=radius_km + 10)
        assert sent.agent_id == far
        listener.wait_for([alert_topic(far)])
    assert alerted(unplaced) == (None, False)


def test_hit_commit_to_alert_publish_latency(van, redis_client, ns) -> None:
    """Measured, not asserted (for bench/anpr.py): from a batch's commit to its alert's PUBACK, with
    the real store, Redis GEO and broker, one new sighting per batch."""
    from tests.anpr_world import list_vehicle

    (agent,) = agents(skills=[["vehicle"]])
    place(redis_client, ns, {agent: (1.0, 1.0, 5)})
    marks = [list_vehicle(redis_client, ns, "test:anpr-alerts")[0] for _ in range(30)]
    took = []
    with connected() as client, psycopg.connect(libpq_dsn()) as conn:
        for i, vrm in enumerate(marks):
            written = commit(van, redis_client, ns, message(van, read(vrm, datetime.now(UTC) - timedelta(seconds=i))))
            committed = time.perf_counter()
            (sent,) = raise_alerts(conn, redis_client, client, written.new_sightings, namespace=ns)
            took.append((time.perf_counter() - committed) * 1000)
            assert sent.agent_id == agent
    took.sort()
    print(f"\ncommit → alert published (PUBACK), {len(took)} sightings: p50 {statistics.median(took):.1f} ms, "
          f"p99 {took[int(0.99 * (len(took) - 1))]:.1f} ms, max {took[-1]:.1f} ms")


# --- the webhooks alert too ---

def test_a_webhook_sighting_alerts_the_nearest_agent(client, van, listed, redis_client, ns) -> None:
    vrm, vehicle_id = listed
    (agent,) = agents(skills=[["vehicle"]])
    body = json.loads((get_settings().shared_dir / "samples" / "anpr" / "openalpr_alpr_group_v1.json")
                      .read_bytes().decode("utf-8-sig"))
    body["best_plate"]["plate"] = body["best_plate_number"] = vrm
    body["best_plate"]["candidates"][0]["plate"] = vrm
    body["gps_longitude"], body["gps_latitude"] = PLACE  # as alpr_group v2 sends the camera's fix
    place(redis_client, ns, {agent: (0.7, 0, 5)})
    client.app.dependency_overrides[get_hotlist] = lambda: Hotlist(redis_client, ns)
    try:
        with listening([alert_topic(agent)]) as listener:
            r = client.post("/anpr/webhooks/openalpr", content=json.dumps(body),
                            auth=(van.device_id, "van-secret"), headers={"content-type": "application/json"})
            assert r.status_code == 200 and r.json()["hits"] == 1, r.text
            got = listener.wait_for([alert_topic(agent)])[alert_topic(agent)]
    finally:
        client.app.dependency_overrides.pop(get_hotlist)
    (sighting_id,) = rows("SELECT id FROM anpr_sighting WHERE vehicle_id = %s", vehicle_id)[0]
    assert got is not None and got["sighting_id"] == sighting_id and got["vrm"] == vrm
    assert alerted(sighting_id) == (agent, True)


# --- GET /anpr/alerts ---

def test_alerts_route_is_office_only_and_lists_sightings_newest_first(client, van, listed, redis_client,
                                                                       ns) -> None:
    vrm, _ = listed
    (agent,) = agents(skills=[["vehicle"]])
    place(redis_client, ns, {agent: (0.2, 0, 5)})
    # A range of the test's own: the database keeps earlier runs' sightings.
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400, minutes=random.randrange(10**6))
    first = commit(van, redis_client, ns, message(van, read(vrm, t0))).new_sightings[0]
    second = commit_unplaced(van, redis_client, ns, vrm, t0 + timedelta(hours=1))
    with connected() as mqtt_client, psycopg.connect(libpq_dsn()) as conn:
        raise_alerts(conn, redis_client, mqtt_client, [first, second], namespace=ns)
    with session_scope() as db:
        users = {role: make_user(db, role) for role in ("admin", "dispatcher", "regional_manager")}
        users["buyer"] = make_user(db, "buyer", buyer=make_buyer(db))
        users["agent"] = make_user(db, "agent", agent=make_agent(db))
    params = {"from": t0.isoformat(), "to": (t0 + timedelta(hours=1, seconds=1)).isoformat()}
    assert client.get("/anpr/alerts", params=params).status_code == 401
    for role in ("buyer", "agent"):
        assert client.get("/anpr/alerts", params=params, headers=bearer(client, users[role])).status_code == 403
    for role in ("admin", "regional_manager"):
        assert client.get("/anpr/alerts", params=params, headers=bearer(client, users[role])).status_code == 200
    headers = bearer(client, users["dispatcher"])
    r = client.get("/anpr/alerts", params=params, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json", r.text
    doc = r.json()
    assert (doc["type"], doc["total"], [f["id"] for f in doc["features"]]) == ("FeatureCollection", 2,
                                                                               [second, first])
    unplaced, placed = doc["features"]
    assert unplaced["geometry"] is None and unplaced["properties"]["alerted"] is False
    assert placed["geometry"]["coordinates"] == pytest.approx(list(PLACE))
    props = placed["properties"]
    assert (props["vrm"], props["alerted"], props["alerted_agent_id"], props["actionable"]) == (vrm, True, agent,
                                                                                                False)
    assert datetime.fromisoformat(props["first_seen_at"]) == t0 and props["alerted_at"] is not None
    page = client.get("/anpr/alerts", params={**params, "limit": 1, "offset": 1}, headers=headers).json()
    assert (page["total"], [f["id"] for f in page["features"]]) == (2, [first])
    r = client.get("/anpr/alerts", params={"from": params["to"], "to": params["from"]}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from", r.text
