"""``GET /maps/capacity``: who may read it, what a buyer's page holds of other clients (nothing by
name, reference or id), bad months, the audit of buyer views, and the page in a real browser."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core import session_scope
from core.models import AuditEvent, Buyer
from regions import capacity_view, hex_figures
from tests.case_world import bearer, make_user
from tests.helpers import CHROMIUM, browser_check
from tests.hex_world import H1, MONTH, HexWorld, make_hex_world

URL = "/maps/capacity"
MONTH_Q = f"{MONTH:%Y-%m}"


@pytest.fixture(scope="module")
def world(geodata_loaded) -> HexWorld:
    with session_scope() as db:
        return make_hex_world(db)


@pytest.fixture(scope="module")
def users(client, world) -> dict[str, dict[str, str]]:
    with session_scope() as db:
        a, b = db.get(Buyer, world.a.id), db.get(Buyer, world.b.id)
        names = {"a": make_user(db, "buyer", buyer=a), "b": make_user(db, "buyer", buyer=b),
                 "manager": make_user(db, "regional_manager"), "agent": make_user(db, "agent")}
    return {role: bearer(client, name) for role, name in names.items() if role != "agent"}


def page(client, headers: dict[str, str], **query: str) -> str:
    r = client.get(URL, params={"month": MONTH_Q, **query}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def test_the_office_sees_every_buyer_by_name(client, world, users) -> None:
    text = page(client, users["manager"])
    assert world.a.name in text and world.b.name in text
    focused = page(client, users["manager"], buyer=world.b.reference)
    assert f"Open cases ({world.b.name})" in focused


def test_a_buyer_sees_its_own_cases_and_other_clients_only_summed(client, world, users) -> None:
    text = page(client, users["a"])
    assert world.a.name in text and "other clients" in text and H1 in text
    # Nothing of B: its name (and the distinctive part of it), reference, ids, its cases' ids.
    for leak in (world.b.name, "Northshire", world.b.reference, f"buyer:{world.b.id}", f'"buyer_id": {world.b.id}'):
        assert leak not in text, leak
    assert not re.search(r'"(buyer_id|buyer|case_id)"', text)
    own = page(client, users["a"], buyer=world.a.reference)  # its own reference is allowed
    assert world.b.reference not in own and "Northshire" not in own


def test_a_buyer_asking_for_another_buyer_gets_404(client, world, users) -> None:
    for reference in (world.b.reference, "no-such-buyer"):
        r = client.get(URL, params={"month": MONTH_Q, "buyer": reference}, headers=users["a"])
        assert r.status_code == 404, r.text
        assert world.b.name not in r.text
    r = client.get(URL, params={"month": MONTH_Q, "buyer": "no-such-buyer"}, headers=users["manager"])
    assert r.status_code == 404


def test_no_token_is_401_and_an_agent_is_403(client, world) -> None:
    assert client.get(URL, params={"month": MONTH_Q}).status_code == 401
    with session_scope() as db:
        agent = make_user(db, "agent")
    assert client.get(URL, params={"month": MONTH_Q}, headers=bearer(client, agent)).status_code == 403


@pytest.mark.parametrize("month", ["2026-13", "2026-5", "May", "1999-12", "2026-05-01", ""])
def test_a_bad_month_is_422_naming_it(client, users, month: str) -> None:
    r = client.get(URL, params={"month": month}, headers=users["manager"])
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["month"]


def test_a_missing_month_is_422_naming_it(client, users) -> None:
    r = client.get(URL, headers=users["manager"])
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["month"]


def test_buyer_views_are_audited_and_staff_views_not(client, world, users) -> None:
    def audits(buyer_id: int) -> list[AuditEvent]:
        with session_scope() as db:
            return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "capacity.map",
                                                            AuditEvent.buyer_id == buyer_id)))

    seen = len(audits(world.a.id))
    page(client, users["a"])
    page(client, users["manager"], buyer=world.a.reference)
    rows = audits(world.a.id)
    assert len(rows) == seen + 1
    assert rows[-1].data["month"] == MONTH_Q and rows[-1].data["under_served"] >= 1


def test_the_route_is_documented(client) -> None:
    spec = client.get("/openapi.json").json()["paths"][URL]["get"]
    assert {p["name"] for p in spec["parameters"]} == {"month", "buyer"}
    assert {"200", "401", "403", "404", "422"} <= set(spec["responses"])


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_capacity_map_renders_in_a_real_browser(client, world, users, tmp_path: Path) -> None:
    dom = browser_check(page(client, users["a"]), tmp_path, "capacity_map.png")
    regions = re.findall(r'<path class="capacity-region', dom)
    caseload = re.findall(r'<path class="capacity-hex capacity-caseload', dom)
    under = re.findall(r'<path class="capacity-hex capacity-under_served', dom)
    assert len(regions) == 12, "the region outlines are missing"
    # One resolution at a time: as many hexagons as A has at one of them, not the three layers at once.
    with session_scope() as db:
        view = capacity_view(hex_figures(db, MONTH), focus_buyer_id=world.a.id, others_named=False)
    per_resolution = {res: sum(h.focus_cases > 0 for h in hexes) for res, hexes in view.hexes.items()}
    assert len(caseload) in per_resolution.values(), (len(caseload), per_resolution)
    assert len(under) == 1, "the under-served hexagon is missing"
