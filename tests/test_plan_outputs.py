"""Plan outputs: the GeoJSON interface (issue 4 contract, RFC 7946), the plan-file CSV readers, the plan
map (rendered in a real headless Chromium) and the plan-file command. No database."""
from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from shapely.geometry import shape
from typer.testing import CliRunner

import dispatch.solver  # noqa: F401 — plan-file imports it when run: a broken solver fails here, loudly
from cli import app
from dashboards.plan_map import plan_map, plan_map_html
from dispatch.geojson import plan_from_geojson, plan_to_geojson
from dispatch.model import Dropped, Point, Route
from dispatch.plan_file import PlanFileError, check_pins, read_agents, read_cases
from tests.helpers import CHROMIUM, browser_dom
from tests.test_validate import DAY, B, at, shift, visit, world

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
ROUTE_KEYS = {"kind", "agent_id", "distance_m", "duration_s", "shift_start", "shift_end"}
VISIT_KEYS = {"kind", "agent_id", "case_id", "buyer", "seq", "eta", "etd", "window_start", "window_end",
              "time_band", "service_s"}
DROPPED_KEYS = {"kind", "case_id", "buyer", "reason"}


def assert_rfc7946(doc: dict) -> None:
    """The parts of RFC 7946 a plan can get wrong: structure, no crs (§4), positions [lon, lat] in range
    (§3.1.1), LineStrings of two or more positions (§3.1.4), JSON without NaN."""
    json.dumps(doc, allow_nan=False)
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    for f in doc["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict) and "crs" not in f
        geometry = f["geometry"]
        positions = [geometry["coordinates"]] if geometry["type"] == "Point" else geometry["coordinates"]
        if geometry["type"] == "LineString":
            assert len(positions) >= 2
        for lon, lat in positions:
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert shape(geometry).is_valid


def summer_world():
    """The test world moved to a BST day, where London local time is UTC+1."""
    return world(date(2026, 7, 6))


def test_geojson_matches_the_contract() -> None:
    plan, _, _ = world()
    doc = plan_to_geojson(plan)
    assert_rfc7946(doc)
    by_kind = {k: [f for f in doc["features"] if f["properties"]["kind"] == k] for k in ("route", "visit", "dropped")}
    assert [len(v) for v in by_kind.values()] == [1, 2, 1] and len(doc["features"]) == 4
    route = by_kind["route"][0]
    assert route["geometry"]["type"] == "LineString" and set(route["properties"]) == ROUTE_KEYS
    # Base → 101 → 102 → base, longitude first.
    assert route["geometry"]["coordinates"] == [[-4.1427, 50.3755], [-4.13, 50.38], [-4.12, 50.39],
                                                [-4.1427, 50.3755]]
    assert route["properties"] == {"kind": "route", "agent_id": 1, "distance_m": 9000.0, "duration_s": 1800,
                                   "shift_start": "2026-11-23T08:00:00+00:00",
                                   "shift_end": "2026-11-23T17:00:00+00:00"}
    first = by_kind["visit"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [-4.13, 50.38]}
    assert first["properties"] == {"kind": "visit", "agent_id": 1, "case_id": 101, "buyer": "plymouth", "seq": 1,
                                   "eta": "2026-11-23T09:00:00+00:00", "etd": "2026-11-23T09:15:00+00:00",
                                   "window_start": "2026-11-23T09:00:00+00:00",
                                   "window_end": "2026-11-23T12:00:00+00:00", "time_band": "office",
                                   "service_s": 900}
    dropped = by_kind["dropped"][0]
    assert set(dropped["properties"]) == DROPPED_KEYS and dropped["geometry"]["type"] == "Point"
    assert dropped["properties"] == {"kind": "dropped", "case_id": 103, "buyer": "plymouth", "reason": "capacity"}
    for f in doc["features"]:
        for key in ("shift_start", "shift_end", "eta", "etd", "window_start", "window_end"):
            if key in f["properties"]:
                assert ISO_WITH_OFFSET.match(f["properties"][key])
    assert all(set(f["properties"]) == VISIT_KEYS for f in by_kind["visit"])


def test_geojson_times_are_london_local_with_the_summer_offset() -> None:
    plan, _, _ = summer_world()
    visit = next(f for f in plan_to_geojson(plan)["features"] if f["properties"]["kind"] == "visit")
    assert visit["properties"]["eta"] == "2026-07-06T09:00:00+01:00"
    assert datetime.fromisoformat(visit["properties"]["eta"]) == plan.routes[0].visits[0].eta


def test_geojson_route_follows_a_given_path() -> None:
    plan, _, _ = world()
    road = [Point(-4.1427, 50.3755), Point(-4.135, 50.378), Point(-4.13, 50.38), Point(-4.1427, 50.3755)]
    line = plan_to_geojson(plan, route_paths={1: road})["features"][0]["geometry"]["coordinates"]
    assert line == [[p.lon, p.lat] for p in road]


def test_geojson_round_trip() -> None:
    plan, _, _ = world()
    back = plan_from_geojson(json.loads(json.dumps(plan_to_geojson(plan))), DAY)
    assert back.dropped == plan.dropped
    assert back.routes[0].visits == plan.routes[0].visits
    original = plan.routes[0]
    assert (back.routes[0].shift.start, back.routes[0].shift.end, back.routes[0].distance_m) == \
        (original.shift.start, original.shift.end, original.distance_m)


def cases_csv(*rows: str, header: str = "case_id,buyer,lat,lon,windows,service_min,priority,skills") -> io.StringIO:
    return io.StringIO("\n".join([header, *rows]) + "\n")


def test_example_files_read() -> None:
    tasks = read_cases(EXAMPLES / "plan_cases.csv", DAY)
    shifts = read_agents(EXAMPLES / "plan_agents.csv", DAY)
    assert [t.case_id for t in tasks] == [1001, 1002, 1003, 1004, 1005, 1006]
    assert tasks[0].windows[0].start == at(6) and tasks[0].windows[0].time_band == "early"
    assert tasks[4].optional and tasks[4].expires_at == at(14) and tasks[4].required_skills == {"vehicle"}
    assert tasks[0].service_s == 900 and tasks[0].preferred[0].time_band == "evening"
    assert {s.agent_id for s in shifts} == {1, 2} and shifts[0].breaks[0].duration_s == 1800
    assert check_pins(tasks, shifts) == []


def test_case_times_are_london_local() -> None:
    task = read_cases(cases_csv("1,p,50.4,-4.1,09:00-12:00;14:00-17:00,15,50,"), date(2026, 7, 6))[0]
    assert [w.start.hour for w in task.windows] == [8, 13]  # BST: 09:00 local is 08:00 UTC


def test_case_reader_rejects_malformed_rows_with_row_numbers() -> None:
    source = cases_csv(
        "1,p,50.4,-4.1,09:00-12:00,15,50,",        # row 2: fine
        "2,p,95.0,-4.1,09:00-12:00,15,50,",        # row 3: latitude out of range
        "3,p,50.4,-4.1,12:00-09:00,15,50,",        # row 4: window ends before it starts
        "4,p,50.4,-4.1,9am-noon,15,50,",           # row 5: not HH:MM
        "1,p,50.4,-4.1,09:00-12:00,15,50,",        # row 6: duplicate case id
        "6,p,50.4,-4.1,09:00-12:00,fifteen,50,",   # row 7: not a number
        "7,p,50.4,-4.1,09:00-12:00,15,50",         # row 8: a field short
        "8,,50.4,-4.1,09:00-12:00,15,50,",         # row 9: empty buyer
        "9,p,50.4,-4.1,09:00-12:00,15,101,",       # row 10: priority out of range
    )
    with pytest.raises(PlanFileError) as caught:
        read_cases(source, DAY)
    rows = [int(re.match(r"cases\.csv row (\d+):", e).group(1)) for e in caught.value.errors]
    assert rows == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "lat" in caught.value.errors[0] and "duplicate id 1 (first on row 2)" in caught.value.errors[3]


def test_case_reader_rejects_missing_and_unknown_columns() -> None:
    with pytest.raises(PlanFileError) as caught:
        read_cases(cases_csv("1,p,50.4,-4.1,15", header="case_id,buyer,lat,lon,service_mins"), DAY)
    assert caught.value.errors == ["cases.csv: missing column service_min", "cases.csv: missing column windows",
                                   "cases.csv: unknown column service_mins"]


def test_agent_reader_rejects_malformed_rows_with_row_numbers() -> None:
    source = io.StringIO("agent_id,lat,lon,shift_start,shift_end,break_earliest,break_latest,break_min\n"
                         "1,50.4,-4.1,08:00,17:00,12:00,14:00,30\n"
                         "2,50.4,-4.1,17:00,08:00,,,\n"       # row 3: shift ends before it starts
                         "3,50.4,-4.1,08:00,17:00,12:00,,30\n"  # row 4: half a break
                         "4,50.4,-4.1,08:00,17:00,12:00,12:10,30\n"  # row 5: break cannot fit
                         "x,50.4,-4.1,08:00,17:00,,,\n")      # row 6: agent id not a number
    with pytest.raises(PlanFileError) as caught:
        read_agents(source, DAY)
    assert [e.split(":")[0] for e in caught.value.errors] == [f"agents.csv row {n}" for n in (3, 4, 5, 6)]


def test_pins_must_name_an_agent_on_shift() -> None:
    tasks = read_cases(cases_csv("1,p,50.4,-4.1,09:00-12:00,15,50,", header="case_id,buyer,lat,lon,windows,"
                                 "service_min,priority,pinned_agent"), DAY)
    assert tasks[0].pinned_agent is None
    pinned = [replace(tasks[0], pinned_agent=7)]
    assert check_pins(pinned, read_agents(EXAMPLES / "plan_agents.csv", DAY)) == [
        "cases.csv: case 1 is pinned to agent 7, who is not in agents.csv"]


def two_agent_plan():
    plan, _, _ = world()
    second = Route(2, shift(2, start_at=B, end_at=B), (visit(102, 1, B, at(10), agent_id=2),), 500.0, 900)
    first = replace(plan.routes[0], visits=plan.routes[0].visits[:1])
    return replace(plan, routes=[first, second],
                   dropped=[*plan.dropped, Dropped(104, "newcastle", Point(-4.11, 50.41), "R-VISIT-GAP")])


def test_map_has_a_layer_per_agent_and_the_dropped_apart() -> None:
    plan = two_agent_plan()
    page = plan_map(plan).get_root().render()
    for name in ("Agent 1 (1 visits)", "Agent 2 (1 visits)", "Dropped (2)"):
        assert name in page
    for reason in ("Reason: capacity", "Reason: R-VISIT-GAP"):
        assert reason in page
    assert "#1f77b4" in page and "#d62728" in page and "#7f7f7f" in page  # one colour each, grey drops
    assert "ETA 10:00" in page and "Window 09:00–12:00 (office)" in page and "fitBounds" in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_map_renders_in_a_real_browser(tmp_path: Path) -> None:
    dom = browser_dom(plan_map_html(two_agent_plan(), self_contained=True), tmp_path)
    assert re.search(r'class="[^"]*\bleaflet-container\b', dom)
    # Leaflet ran to the end of the script: layer control built, two numbered stops, route lines drawn.
    assert "<span> Agent 1 (1 visits)</span>" in dom and "<span> Dropped (2)</span>" in dom
    assert len(re.findall(r'class="plan-stop"[^>]*>\d+</div>', dom)) == 2
    assert dom.count('class="leaflet-interactive"') >= 2


def test_plan_file_command(tmp_path: Path) -> None:
    out, page = tmp_path / "plan.geojson", tmp_path / "plan.html"
    result = CliRunner().invoke(app, ["plan-file", "--cases", str(EXAMPLES / "plan_cases.csv"), "--agents",
                                      str(EXAMPLES / "plan_agents.csv"), "--day", "2026-11-23", "--out", str(out),
                                      "--map", str(page), "--time-limit", "3"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert_rfc7946(doc)
    served = {f["properties"]["case_id"] for f in doc["features"] if f["properties"]["kind"] == "visit"}
    dropped = {f["properties"]["case_id"] for f in doc["features"] if f["properties"]["kind"] == "dropped"}
    assert served | dropped == {1001, 1002, 1003, 1004, 1005, 1006} and not served & dropped
    assert "leaflet" in page.read_text()


def test_plan_file_command_lists_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "cases.csv"
    bad.write_text("case_id,buyer,lat,lon,windows,service_min\n1,p,50.4,-4.1,25:00-26:00,15\n")
    result = CliRunner().invoke(app, ["plan-file", "--cases", str(bad), "--agents", str(EXAMPLES / "plan_agents.csv"),
                                      "--day", "2026-11-23", "--out", str(tmp_path / "plan.geojson")])
    assert result.exit_code == 2 and "cases.csv row 2: windows" in result.output
    assert not (tmp_path / "plan.geojson").exists()
