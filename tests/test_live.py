"""Agents' live positions (issue 11): ``GET /agents/live`` answers GeoJSON from the Redis live keys
with speed and battery from the fix's gps_ping row, stale past BAILIWICK_GPS_STALE_S; ``GET /maps/live``
draws them coloured by freshness, checked in a real headless Chromium. Real Redis and PostGIS."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import (
    connect_redis,
    get_settings,
    raw_connection,
    session_scope,
    write_positions,
)
from core.positions import AT_KEY, GEO_KEY, Fix
from dashboards.live_map import FRESHNESS_COLOURS
from tests.case_world import bearer, make_agent, make_buyer, make_user
from tests.helpers import CHROMIUM, browser_check
from tests.test_plan_outputs import ISO_WITH_OFFSET, assert_rfc7946
from tracking import Decoded, GpsFix, GpsStore, Reading, Received, live_agents

STALE_S = get_settings().gps_stale_s


@pytest.fixture
def live():
    """The live keys the API reads, empty before and after (this Redis database is the tests' own)."""
    client = connect_redis()
    client.delete(GEO_KEY, AT_KEY)
    yield client
    client.delete(GEO_KEY, AT_KEY)


@pytest.fixture
def world(geodata_loaded, live):
    """Four agents: fresh (a ping with speed and battery), one near the stale limit, one just past it,
    one two hours old with no ping row (a position written by something other than the ingest), and one
    with no position at all. Positions go in with core.write_positions, the ping rows with GpsStore."""
    now = datetime.now(UTC).replace(microsecond=0)
    with session_scope() as db:
        agents = [make_agent(db, region="TLK") for _ in range(5)]
        ids = [a.id for a in agents]
        users = {"dispatcher": make_user(db, "dispatcher"), "regional_manager": make_user(db, "regional_manager"),
                 "admin": make_user(db, "admin"), "buyer": make_user(db, "buyer", buyer=make_buyer(db)),
                 "agent": make_user(db, "agent", agent=agents[0])}
    # The "near the limit" agent is given 30 s of margin: the request comes seconds after these fixes
    # on a loaded machine (the exact boundary is the pure test's).
    ages = {ids[0]: 20, ids[1]: STALE_S - 30, ids[2]: STALE_S + 1, ids[3]: 7200}
    fixes = {a: GpsFix(f"phone-{a}", a, now - timedelta(seconds=age), -4.14 + i * 0.01, 50.37 + i * 0.01,
                       accuracy_m=8.0, speed_mps=4.5 + i, battery_pct=80 - i)
             for i, (a, age) in enumerate(ages.items())}
    older = GpsFix(f"phone-{ids[0]}", ids[0], fixes[ids[0]].ts - timedelta(seconds=10), -4.2, 50.3,
                   speed_mps=99.0, battery_pct=1)  # an earlier ping of the same agent: not the live one
    with raw_connection() as conn:
        GpsStore(conn, live).commit([Received("agents/x/gps", b"{}", now, Decoded(
            [fixes[ids[0]], older, fixes[ids[1]], fixes[ids[2]]]))])
    write_positions(live, {a: (f, f.ts) for a, f in fixes.items()})
    return {"ids": ids, "fixes": fixes, "users": users}


def features(client, world, role="dispatcher", **params) -> dict[int, dict]:
    r = client.get("/agents/live", params=params, headers=bearer(client, world["users"][role]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert_rfc7946(doc)
    return {f["properties"]["agent_id"]: f for f in doc["features"]}


def test_live_positions_carry_age_speed_battery_and_stale(client, world) -> None:
    ids, fixes = world["ids"], world["fixes"]
    got = features(client, world)
    assert set(got) == set(ids[:4])  # the agent with no position is absent
    for a in ids[:4]:
        f = got[a]
        assert f["geometry"]["coordinates"] == pytest.approx([fixes[a].lon, fixes[a].lat], abs=1e-5)
        props = f["properties"]
        assert set(props) == {"agent_id", "at", "age_s", "speed_mps", "battery_pct", "stale"}
        assert ISO_WITH_OFFSET.match(props["at"]) and datetime.fromisoformat(props["at"]) == fixes[a].ts
    # speed and battery of the live fix's own row, not of the agent's earlier ping
    assert (got[ids[0]]["properties"]["speed_mps"], got[ids[0]]["properties"]["battery_pct"]) == (4.5, 80)
    assert (got[ids[2]]["properties"]["speed_mps"], got[ids[2]]["properties"]["battery_pct"]) == (6.5, 78)
    assert (got[ids[3]]["properties"]["speed_mps"], got[ids[3]]["properties"]["battery_pct"]) == (None, None)
    assert [got[a]["properties"]["stale"] for a in ids[:4]] == [False, False, True, True]
    assert STALE_S - 30 <= got[ids[1]]["properties"]["age_s"] <= STALE_S
    assert got[ids[2]]["properties"]["age_s"] > STALE_S


def test_a_newer_fix_moves_the_agent_and_clears_stale(client, world, live) -> None:
    a = world["ids"][2]
    now = datetime.now(UTC)
    write_positions(live, {a: (GpsFix("p", a, now, -4.0, 50.5), now)})
    props = features(client, world)[a]["properties"]
    assert props["stale"] is False and props["age_s"] < 5 and props["speed_mps"] is None


def test_region_filters_and_an_unknown_region_is_422_naming_the_field(client, world) -> None:
    assert set(world["ids"][:4]) <= set(features(client, world, region="TLK"))
    assert not set(world["ids"]) & set(features(client, world, region="TLC"))
    headers = bearer(client, world["users"]["dispatcher"])
    for url in ("/agents/live", "/maps/live"):
        r = client.get(url, params={"region": "XXX"}, headers=headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region", r.text


def test_office_staff_only_and_a_token_is_needed(client, world) -> None:
    for url in ("/agents/live", "/maps/live"):
        assert client.get(url).status_code == 401
        for role in ("buyer", "agent"):
            assert client.get(url, headers=bearer(client, world["users"][role])).status_code == 403
        for role in ("admin", "regional_manager", "dispatcher"):
            assert client.get(url, headers=bearer(client, world["users"][role])).status_code == 200


def live_map_page(client, world) -> str:
    r = client.get("/maps/live", headers=bearer(client, world["users"]["dispatcher"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return r.text


def test_the_live_map_has_a_marker_per_agent_coloured_by_freshness(client, world) -> None:
    page = live_map_page(client, world)
    ids = world["ids"]
    states = dict(re.findall(r'data-agent=\\"(\d+)\\" data-freshness=\\"([a-z ]+)\\"', page))
    assert {int(a): s for a, s in states.items()} == {ids[0]: "fresh", ids[1]: "fresh", ids[2]: "stale",
                                                     ids[3]: "very old"}
    for colour in FRESHNESS_COLOURS.values():
        assert colour in page
    assert "Times: UK local (Europe/London)" in page and "unpkg.com" not in page.split("<body>")[0][:200]
    assert f"Agent {ids[0]}" in page and "Speed 16 km/h" in page and "Battery 80%" in page
    assert "Speed unknown" in page and "Battery unknown" in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_live_map_renders_in_a_real_browser(client, world, tmp_path: Path) -> None:
    dom = browser_check(live_map_page(client, world), tmp_path, "live_map.png")
    drawn = {int(a) for a in re.findall(r'class="live-agent" data-agent="(\d+)"', dom)}
    assert drawn == set(world["ids"][:4]), "a marker is missing from the drawn map"


def test_stale_means_strictly_older_than_the_threshold() -> None:
    now = datetime(2026, 7, 6, 11, 0, tzinfo=UTC)
    fixes = {1: Fix(-4.1, 50.4, now - timedelta(seconds=300)),
             2: Fix(-4.1, 50.4, now - timedelta(seconds=300, microseconds=1)),
             3: Fix(-4.1, 50.4, now + timedelta(seconds=2))}  # a phone clock a little ahead
    got = {a.agent_id: a for a in live_agents(fixes, {1: Reading(3.0, 55)}, now=now, stale_s=300)}
    assert [got[a].stale for a in (1, 2, 3)] == [False, True, False]
    assert got[3].age_s == 0 and (got[1].speed_mps, got[1].battery_pct) == (3.0, 55)
    assert (got[2].speed_mps, got[2].battery_pct) == (None, None)
    with pytest.raises(ValueError, match="timezone-aware"):
        live_agents(fixes, {}, now=now.replace(tzinfo=None), stale_s=300)
