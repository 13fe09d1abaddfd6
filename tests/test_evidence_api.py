"""Buyers' GPS evidence (issue 11, "API" and "Maps"; R-VISIT-EVIDENCE): ``GET /cases/{id}/evidence`` and
``GET /evidence`` answer GeoJSON (a Point at the stop per evidence row) or CSV with ``Accept: text/csv``,
scoped to the buyer (another buyer's case is a 404) and audited; visits carry their GPS times; the
buyer's evidence map ``GET /maps/cases/{id}`` shows the case address, the stop and its trail and nothing
of other cases, and draws in a real headless Chromium. Real PostGIS; the fixes go in through the
ingest store and become evidence through ``record_day_evidence``."""
from __future__ import annotations

import csv
import io
import re
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import geodata
from api.routers.evidence import wants_csv
from core import session_scope
from core.models import AuditEvent, Case, VisitEvidence
from tests.case_world import bearer, make_agent, make_buyer, make_case, make_user
from tests.helpers import CHROMIUM, browser_check
from tests.test_evidence import DAY, AgentDay, lon_lat, make_agent_day
from tests.test_plan_outputs import ISO_WITH_OFFSET, assert_rfc7946
from tracking import (
    EVIDENCE_COLUMNS,
    EvidenceRecord,
    TrailFix,
    buyer_trail,
    evidence_csv,
    evidence_geojson,
    local_iso,
    read_evidence,
    record_day_evidence,
)

PROPERTIES_ORDER = ["case_id", "agent_id", "device_id", "arrival", "departure", "dwell_s", "address_line",
                    "postcode", "distance_m", "fix_count", "median_accuracy_m", "source"]
PROPERTIES = set(PROPERTIES_ORDER)
CSV_TYPE = "text/csv"


@pytest.fixture(scope="module")
def world(geodata_loaded, policies_loaded) -> dict:
    """The agent day of test_evidence recorded as evidence (one stop at the visited case's door), the
    case's buyer and another buyer, each with a user, and the staff and agent roles."""
    day: AgentDay = make_agent_day()
    with session_scope() as db:
        record_day_evidence(db, DAY, day.agent_id)
        case = db.get(Case, day.visited_case)
        other_buyer = make_buyer(db)
        other_case = make_case(db, other_buyer, at=lon_lat(400, 0)).id
        users = {"buyer": make_user(db, "buyer", buyer=case.buyer),
                 "other_buyer": make_user(db, "buyer", buyer=other_buyer),
                 "admin": make_user(db, "admin"), "dispatcher": make_user(db, "dispatcher"),
                 "regional_manager": make_user(db, "regional_manager"),
                 "agent": make_user(db, "agent", agent=make_agent(db))}
        (evidence,) = db.scalars(select(VisitEvidence).where(VisitEvidence.device_id == day.device_id))
        db.expunge(evidence)
    return {"day": day, "users": users, "evidence": evidence, "other_case": other_case}


@pytest.fixture(scope="module")
def headers(client, world) -> dict[str, dict[str, str]]:
    return {role: bearer(client, user) for role, user in world["users"].items()}


def get(client, headers, role: str, url: str, accept: str | None = None, **params):
    h = dict(headers[role]) | ({"Accept": accept} if accept else {})
    return client.get(url, params=params, headers=h)


# --- GET /cases/{id}/evidence ----------------------------------------------------------------------

def test_case_evidence_is_a_point_at_the_stop_with_the_evidence_properties(client, world, headers) -> None:
    day, ev = world["day"], world["evidence"]
    r = get(client, headers, "buyer", f"/cases/{day.visited_case}/evidence")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert_rfc7946(doc)
    [feature] = doc["features"]
    assert feature["id"] == ev.id and feature["geometry"]["type"] == "Point"
    props = feature["properties"]
    assert set(props) == PROPERTIES
    assert (props["case_id"], props["agent_id"], props["device_id"]) == (day.visited_case, day.agent_id,
                                                                        day.device_id)
    assert (props["postcode"], props["source"], props["fix_count"]) == ("PL1 1EA", "fixes", ev.fix_count)
    assert props["address_line"] == ev.address_line and "Test Street" in props["address_line"]
    for key, stored in (("arrival", ev.arrival), ("departure", ev.departure)):
        assert ISO_WITH_OFFSET.match(props[key]), props[key]
        assert abs(datetime.fromisoformat(props[key]) - stored) < timedelta(seconds=1)
    assert props["arrival"].endswith("+00:00")  # UK local: GMT on 2 March
    assert props["dwell_s"] == ev.dwell_s and abs(props["dwell_s"] - 300) < 30
    assert props["distance_m"] == pytest.approx(ev.distance_m, abs=0.05)
    assert props["median_accuracy_m"] == 12.0
    # The stop, where the phone dwelt: at the door 400 m east of the origin, within GPS noise.
    x, y = geodata.to_bng(*feature["geometry"]["coordinates"])
    door_x, door_y = geodata.to_bng(*lon_lat(400, 0))
    assert abs(x - door_x) < 25 and abs(y - door_y) < 25


def test_case_evidence_as_csv_has_the_same_columns_plus_lat_lon(client, world, headers) -> None:
    url = f"/cases/{world['day'].visited_case}/evidence"
    feature = get(client, headers, "buyer", url).json()["features"][0]
    r = get(client, headers, "buyer", url, accept=CSV_TYPE)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(CSV_TYPE) and "Accept" in r.headers["vary"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == list(EVIDENCE_COLUMNS) == [*PROPERTIES_ORDER, "lat", "lon"]
    [row] = [dict(zip(rows[0], values)) for values in rows[1:]]
    props = feature["properties"]
    assert {k: row[k] for k in PROPERTIES} == {k: str(v) for k, v in props.items()}
    lon, lat = feature["geometry"]["coordinates"]
    assert (float(row["lat"]), float(row["lon"])) == pytest.approx((lat, lon), abs=1e-6)


def test_a_linked_warrant_shows_the_evidence_of_its_leading_case(client, world, headers) -> None:
    day = world["day"]
    with session_scope() as db:
        visited = db.get(Case, day.visited_case)
        second = make_case(db, visited.buyer, address=visited.address, debtor=visited.debtor,
                           received_on=date(2026, 2, 1),
                           assigned_subcontractor_id=visited.assigned_subcontractor_id).id
    r = get(client, headers, "buyer", f"/cases/{second}/evidence")
    assert r.status_code == 200, r.text
    assert [f["properties"]["case_id"] for f in r.json()["features"]] == [day.visited_case]


# --- scope, roles and audit ------------------------------------------------------------------------

def test_another_buyers_case_is_a_404_and_its_evidence_is_not_in_the_list(client, world, headers) -> None:
    case = world["day"].visited_case
    for url in (f"/cases/{case}/evidence", f"/maps/cases/{case}"):
        r = get(client, headers, "other_buyer", url)
        assert r.status_code == 404 and r.json() == {"detail": f"case {case} not found"}, r.text
    r = get(client, headers, "other_buyer", "/evidence", **{"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert r.status_code == 200 and r.json()["features"] == []
    own = get(client, headers, "buyer", "/evidence", **{"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert {f["properties"]["case_id"] for f in own.json()["features"]} == {case}
    assert get(client, headers, "admin", "/cases/2147483647/evidence").status_code == 404


def test_staff_see_every_buyers_evidence_agents_none_and_a_token_is_needed(client, world, headers) -> None:
    case = world["day"].visited_case
    for url in (f"/cases/{case}/evidence", f"/maps/cases/{case}"):
        assert client.get(url).status_code == 401
        assert get(client, headers, "agent", url).status_code == 403
        for role in ("admin", "dispatcher", "regional_manager"):
            assert get(client, headers, role, url).status_code == 200, (role, url)
    staff = get(client, headers, "dispatcher", "/evidence", **{"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert world["evidence"].id in {f["id"] for f in staff.json()["features"]}


def audit_rows(username: str) -> list[tuple]:
    with session_scope() as db:
        return db.execute(select(AuditEvent.action, AuditEvent.target, AuditEvent.buyer_id, AuditEvent.data)
                          .where(AuditEvent.actor == f"user:{username}").order_by(AuditEvent.id)).all()


def test_every_buyer_read_is_audited_and_staff_reads_are_not(client, world, headers) -> None:
    case = world["day"].visited_case
    buyer, dispatcher = world["users"]["buyer"], world["users"]["dispatcher"]
    before, staff_before = len(audit_rows(buyer)), len(audit_rows(dispatcher))
    get(client, headers, "buyer", f"/cases/{case}/evidence", accept=CSV_TYPE)
    get(client, headers, "buyer", "/evidence", **{"from": DAY.isoformat(), "to": DAY.isoformat(), "region": "TLK"})
    get(client, headers, "buyer", f"/maps/cases/{case}")
    get(client, headers, "dispatcher", f"/cases/{case}/evidence")
    get(client, headers, "dispatcher", f"/maps/cases/{case}")
    rows = audit_rows(buyer)[before:]
    assert [(a, t) for a, t, _, _ in rows] == [("case.evidence", f"case:{case}"), ("evidence.search", None),
                                               ("case.evidence_map", f"case:{case}")]
    with session_scope() as db:
        buyer_id = db.get(Case, case).buyer_id
    assert {b for _, _, b, _ in rows} == {buyer_id}
    assert rows[0][3] == {"results": 1, "format": "csv"}
    assert rows[1][3]["region"] == "TLK" and rows[1][3]["results"] == 1
    assert len(audit_rows(dispatcher)) == staff_before


# --- GET /evidence: the range and the region --------------------------------------------------------

def listed(client, headers, role="buyer", **params) -> set[int]:
    r = get(client, headers, role, "/evidence", **params)
    assert r.status_code == 200, r.text
    assert_rfc7946(r.json())
    return {f["id"] for f in r.json()["features"]}


def test_the_range_takes_uk_days_or_instants_and_the_region_filters(client, world, headers) -> None:
    ev = world["evidence"]
    arrival = ev.arrival
    day = DAY.isoformat()
    assert listed(client, headers, **{"from": day, "to": day}) == {ev.id}  # a day `to` is included
    next_day = (DAY + timedelta(days=1)).isoformat()
    assert listed(client, headers, **{"from": next_day, "to": next_day}) == set()
    # Instants: `from` included, `to` excluded.
    assert listed(client, headers, **{"from": arrival.isoformat(), "to": (arrival + timedelta(seconds=1)).isoformat()}) \
        == {ev.id}
    assert listed(client, headers, **{"from": (arrival - timedelta(minutes=1)).isoformat(),
                                      "to": arrival.isoformat()}) == set()
    assert listed(client, headers, **{"from": day, "to": day, "region": "TLK"}) == {ev.id}  # Plymouth: South West
    assert listed(client, headers, **{"from": day, "to": day, "region": "TLC"}) == set()


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-03-03", "to": "2026-03-02"}, "from"),
    ({"from": "2026-03-02T10:00:00+00:00", "to": "2026-03-02T09:00:00+00:00"}, "from"),
    ({"from": "2026-03-01", "to": "2026-04-01"}, "to"),  # 32 days
    ({"from": "2026-03-02T10:00:00", "to": "2026-03-03"}, "from"),  # no offset
    ({"from": "2026-02-30", "to": "2026-03-03"}, "from"),
    ({"from": "yesterday", "to": "2026-03-03"}, "from"),
    ({"from": "2026-03-02", "to": "2100-01-01"}, "to"),
    ({"from": "2026-03-02", "to": "2026-03-03", "region": "XXX"}, "region"),
    ({"to": "2026-03-03"}, "from"),
])
def test_a_bad_range_or_region_is_a_422_naming_the_field(client, headers, params, field) -> None:
    r = get(client, headers, "buyer", "/evidence", **params)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_a_range_of_31_days_is_allowed(client, world, headers) -> None:
    # March 2026 holds the change to BST: 31 UK days, 743 hours.
    assert listed(client, headers, **{"from": "2026-03-01", "to": "2026-03-31"}) == {world["evidence"].id}


# --- visits carry their GPS times [R-VISIT-EVIDENCE] -------------------------------------------------

def test_visits_show_the_gps_times_beside_the_reported_ones(client, world, headers) -> None:
    day = world["day"]
    body = {"case_id": day.visited_case, "agent_id": day.agent_id, "arrived_at": "2026-03-02T09:02:00+00:00",
            "departed_at": "2026-03-02T09:08:00+00:00", "outcome": "no_contact", "acknowledge_breach": True}
    r = client.post("/visits", json=body, headers=headers["dispatcher"])
    assert r.status_code == 201, r.text
    posted = r.json()["visit"]
    assert (posted["gps_arrived_at"], posted["gps_departed_at"], posted["gps_verified"]) == (None, None, False)
    with session_scope() as db:
        record_day_evidence(db, DAY, day.agent_id)
    ev = world["evidence"]
    listed_visits = get(client, headers, "buyer", f"/cases/{day.visited_case}/visits").json()
    detail_visits = get(client, headers, "buyer", f"/cases/{day.visited_case}").json()["visits"]
    for visits in (listed_visits, detail_visits):
        [visit] = [v for v in visits if v["id"] == posted["id"]]
        assert datetime.fromisoformat(visit["gps_arrived_at"]) == ev.arrival
        assert datetime.fromisoformat(visit["gps_departed_at"]) == ev.departure
        assert visit["gps_verified"] is True
        assert visit["arrived_at"].startswith("2026-03-02T09:02:00")  # the reported times stay


# --- the buyer's evidence map ----------------------------------------------------------------------

def evidence_map_page(client, headers, case_id: int, role: str = "buyer") -> str:
    r = get(client, headers, role, f"/maps/cases/{case_id}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    return r.text


def test_the_evidence_map_shows_the_address_the_stop_and_its_trail_and_no_other_case(client, world,
                                                                                      headers) -> None:
    day, ev = world["day"], world["evidence"]
    page = evidence_map_page(client, headers, day.visited_case)
    assert f'data-case=\\"{day.visited_case}\\"' in page and f'data-evidence=\\"{ev.id}\\"' in page
    assert "PL1 1EA" in page and "Test Street" in page
    # Popup times in UK local time with the zone and offset (GMT on 2 March), and the dwell.
    local = ev.arrival.astimezone(UTC)
    assert f"Arrived {local:%H:%M:%S} GMT (+00:00), Mon 2 Mar 2026" in page
    assert f"Dwell {ev.dwell_s // 60} min {ev.dwell_s % 60:02d} s" in page
    assert "evidence-trail" in page and "Times: UK local (Europe/London)" in page
    for other in (day.distant_case, day.other_firm_case, world["other_case"]):
        assert not re.search(rf"Case {other}\b", page) and f'data-case=\\"{other}\\"' not in page
    assert "unpkg.com" not in page.split("<body>")[0][:200]


def test_the_evidence_map_of_a_case_without_evidence_shows_its_address(client, world, headers) -> None:
    page = evidence_map_page(client, headers, world["day"].distant_case, role="admin")
    assert f'data-case=\\"{world["day"].distant_case}\\"' in page and "evidence-stop" not in page.split("<body>")[1]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_evidence_map_renders_in_a_real_browser(client, world, headers, tmp_path: Path) -> None:
    day, ev = world["day"], world["evidence"]
    dom = browser_check(evidence_map_page(client, headers, day.visited_case), tmp_path, "evidence_map.png")
    assert re.findall(r'class="evidence-case" data-case="(\d+)"', dom) == [str(day.visited_case)], \
        "the case address marker is missing"
    assert re.findall(r'class="evidence-stop" data-evidence="(\d+)"', dom) == [str(ev.id)], \
        "the stop marker is missing"
    assert re.search(r'<path class="evidence-trail', dom), "the trail is missing"


# --- pure parts -------------------------------------------------------------------------------------

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def record(trail: list[tuple[int, float, float]], arrival_s: int, departure_s: int) -> EvidenceRecord:
    return EvidenceRecord(1, 10, 7, "p", T + timedelta(seconds=arrival_s), T + timedelta(seconds=departure_s),
                          departure_s - arrival_s, "1 Test Street", "PL1 1EA", 5.0, 3, None, "fixes", None,
                          tuple(TrailFix(T + timedelta(seconds=s), lat, lon) for s, lat, lon in trail))


def east(metres: float) -> tuple[float, float]:
    lon, lat = lon_lat(metres, 0)
    return lat, lon


def test_the_buyers_trail_is_cut_at_the_phones_other_stops() -> None:
    # Every 10 s: 5 min at a neighbour's door at 0 m, drive to 300 m, 5 min at this case's door, drive
    # to 600 m, 5 min at the next door. The buyer sees from leaving the first door to reaching the last.
    trail, t = [], 0
    for leg in ((0, 0, 300), (0, 300, 60), (300, 300, 300), (300, 600, 60), (600, 600, 300)):
        start, end, seconds = leg
        for i in range(0, seconds, 10):
            trail.append((t, *east(start + (end - start) * i / seconds)))
            t += 10
    r = record(trail, 360, 660)
    seconds = [(f.ts - T).total_seconds() for f in buyer_trail(r)]
    # Leaving the first door's 50 m circle takes 10 s at 5 m/s; so does entering the last one's.
    assert 300 <= seconds[0] <= 320 and 690 <= seconds[-1] <= 710, (seconds[0], seconds[-1])
    assert seconds == [s for s, _, _ in trail if seconds[0] <= s <= seconds[-1]]


def test_a_trail_with_no_other_stop_is_shown_whole() -> None:
    r = record([(0, 50.0, -4.0), (100, 50.001, -4.001), (200, 50.0012, -4.0011), (300, 50.0008, -4.0009),
                (400, 50.01, -4.01)], 90, 310)
    assert buyer_trail(r) == r.trail
    assert buyer_trail(record([], 0, 60)) == ()
    with pytest.raises(ValueError, match="without its trail"):
        buyer_trail(EvidenceRecord(**{**r.__dict__, "trail": None}))


def test_the_stop_is_the_median_of_the_trail_fixes_of_the_dwell(world) -> None:
    """The database's median (``read_evidence``) over the stored trail, checked against Python's."""
    ev = world["evidence"]
    with session_scope() as db:
        [r] = read_evidence(db, case_id=ev.case_id, with_trail=True)
        [bare] = read_evidence(db, case_id=ev.case_id)
        # A row whose trail holds no fix of its dwell (as before trails were kept) has no stop.
        db.get(VisitEvidence, ev.id).trail = [[r.trail[0].ts.isoformat(), 50.0, -4.0]]
        db.flush()
        [no_stop] = read_evidence(db, case_id=ev.case_id)
        db.rollback()
    inside = [f for f in r.trail if r.arrival <= f.ts <= r.departure]
    assert len(inside) > 25
    assert r.stop == pytest.approx((statistics.median(f.lat for f in inside),
                                    statistics.median(f.lon for f in inside)), abs=1e-12)
    assert bare.trail is None and bare.stop == r.stop
    assert no_stop.stop is None
    feature = evidence_geojson([no_stop])["features"][0]
    assert feature["geometry"] is None
    assert evidence_csv([no_stop]).splitlines()[1].endswith(",fixes,,")


def test_times_are_uk_local_with_their_offset() -> None:
    assert local_iso(datetime(2026, 7, 1, 8, 30, 5, 600000, tzinfo=UTC)) == "2026-07-01T09:30:05+01:00"
    assert local_iso(datetime(2026, 3, 2, 9, tzinfo=UTC)) == "2026-03-02T09:00:00+00:00"


@pytest.mark.parametrize("accept, csv_wanted", [
    (None, False), ("*/*", False), ("text/csv", True), ("application/geo+json", False),
    ("text/csv;q=0.5, application/geo+json", False), ("application/geo+json;q=0.2, text/csv", True),
    ("text/html,*/*;q=0.8", False), ("text/csv, */*", True), ("text/csv;q=0.5, */*", False), ("text/*", True),
    ("text/csv;q=oops", False), ("text/csv;q=0", False),
])
def test_csv_is_answered_when_accept_prefers_it(accept, csv_wanted) -> None:
    assert wants_csv(accept) is csv_wanted


def test_a_range_holding_too_many_rows_is_a_422_naming_to(client, world, headers, monkeypatch) -> None:
    import api.routers.evidence as evidence_routes

    day = DAY.isoformat()
    monkeypatch.setattr(evidence_routes, "MAX_ROWS", 1)
    assert listed(client, headers, **{"from": day, "to": day}) == {world["evidence"].id}  # one is allowed
    monkeypatch.setattr(evidence_routes, "MAX_ROWS", 0)
    r = get(client, headers, "buyer", "/evidence", **{"from": day, "to": day})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["to"], r.text
    assert "shorter range or a region" in r.json()["detail"]
