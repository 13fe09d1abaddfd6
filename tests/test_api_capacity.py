"""The capacity routes [000 §1.8, §2.94]: declarations by subcontractor users (validated, scoped to
their firm, audited), the month's figures and their explanation, each buyer-scoped."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import create_user, session_scope
from core.models import AuditEvent, CapacityDeclaration
from tests.capacity_world import CapacityWorld
from tests.case_world import make_user
from tests.helpers import PASSWORD, bearer, unique


@pytest.fixture
def world(geodata_loaded):
    """Two buyers with one visit each in TLK on the month's 4th, by two agents of one firm, and users:
    a buyer user for each, a regional manager, a user of the firm and one of another firm."""
    with session_scope() as db:
        w = CapacityWorld(db)
        a, b, firm, other = w.buyer(), w.buyer(), w.firm(), w.firm()
        x, y = w.agent(firm), w.agent(firm)
        a1, b1 = w.case(a, firm), w.case(b, firm)
        d = w.day(4)
        w.plan(d, served=[(a1, x, 95), (b1, y, 95)])
        w.agent_day(x, d, 9.0, [(a1, 9.5, 9.75)])
        w.agent_day(y, d, 9.0, [(b1, 9.25, 9.5)])
        users = {"a": make_user(db, "buyer", buyer=a), "b": make_user(db, "buyer", buyer=b),
                 "manager": make_user(db, "regional_manager")}
        for key, f in (("firm", firm), ("other_firm", other)):
            users[key] = create_user(db, username=unique("sub"), password=PASSWORD, role="subcontractor",
                                     actor="test", subcontractor_reference=f.reference).username
        info = {"month": w.month.strftime("%Y-%m"), "a": a.reference, "b": b.reference, "a_id": a.id,
                "b_id": b.id, "a_name": a.name, "firm": firm.reference, "firm_id": firm.id,
                "other_firm": other.reference, "a1": a1.id, "b1": b1.id}
    return info, users


def test_a_subcontractor_declares_for_its_own_firm_and_it_is_audited(client, world):
    info, users = world
    h = bearer(client, users["firm"])
    body = {"month": info["month"], "itl1_cd": "TLK", "outside_cases": 40, "outside_agents": 3}
    r = client.post("/capacity/declarations", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["subcontractor"] == info["firm"] and not r.json()["replaced"]
    r = client.post("/capacity/declarations", json=body | {"outside_cases": 41}, headers=h)
    assert r.status_code == 201 and r.json()["replaced"]
    with session_scope() as db:
        row = db.get(CapacityDeclaration, r.json()["id"])
        assert (row.outside_cases, row.subcontractor_id) == (41, info["firm_id"])
        audits = db.scalars(select(AuditEvent).where(AuditEvent.action == "capacity.declare",
                                                     AuditEvent.target == f"capacity_declaration:{row.id}")).all()
        assert [a.data["outside_cases"] for a in audits] == [40, 41]
        assert audits[1].data["before"]["outside_cases"] == 40
    # Its own firm's declarations only.
    listed = client.get("/capacity/declarations", params={"month": info["month"]},
                        headers=bearer(client, users["other_firm"])).json()
    assert listed == []
    # Naming another firm is refused, naming the field.
    r = client.post("/capacity/declarations", json=body | {"subcontractor": info["other_firm"]}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subcontractor"


@pytest.mark.parametrize(("change", "field"), [
    ({"outside_cases": -1}, "outside_cases"), ({"outside_agents": -5}, "outside_agents"),
    ({"outside_cases": None}, "outside_cases"), ({"month": "2026-13"}, "month"), ({"itl1_cd": "XXX"}, "itl1_cd"),
])
def test_a_bad_declaration_is_rejected_naming_the_field(client, world, change, field):
    info, users = world
    body = {"month": info["month"], "itl1_cd": "TLK", "outside_cases": 1, "outside_agents": 1} | change
    body = {k: v for k, v in body.items() if v is not None}
    r = client.post("/capacity/declarations", json=body, headers=bearer(client, users["firm"]))
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}


def test_buyers_and_others_may_not_declare(client, world):
    info, users = world
    body = {"month": info["month"], "itl1_cd": "TLK", "outside_cases": 1, "outside_agents": 1}
    for user in ("a", "manager"):
        assert client.post("/capacity/declarations", json=body, headers=bearer(client, users[user])).status_code == 403
    assert client.post("/capacity/declarations", json=body).status_code == 401


def test_the_manager_sees_every_buyer_and_a_buyer_only_itself(client, world):
    info, users = world
    r = client.get("/capacity", params={"month": info["month"]}, headers=bearer(client, users["manager"]))
    assert r.status_code == 200, r.text
    assert {info["a"], info["b"]} <= {i["buyer"] for i in r.json()["indices"]}

    r = client.get("/capacity", params={"month": info["month"]}, headers=bearer(client, users["a"]))
    assert r.status_code == 200
    text = r.text
    assert info["a"] in text and info["b"] not in text
    assert {i["buyer"] for i in r.json()["indices"]} == {info["a"]}
    assert r.json()["buyers"] == [info["a"]]
    # Another buyer's figures are not found; the view was audited.
    r = client.get("/capacity", params={"month": info["month"], "buyer": info["b"]}, headers=bearer(client, users["a"]))
    assert r.status_code == 404 and info["b"] in r.json()["detail"]  # the name it asked for, nothing more
    with session_scope() as db:
        assert db.scalar(select(AuditEvent.id).where(AuditEvent.buyer_id == info["a_id"],
                                                     AuditEvent.target == "capacity")) is not None
    # A subcontractor user reads no buyer's figures.
    assert client.get("/capacity", params={"month": info["month"]},
                      headers=bearer(client, users["firm"])).status_code == 403


def test_a_bad_month_is_a_422_naming_it(client, world):
    _, users = world
    r = client.get("/capacity", params={"month": "November"}, headers=bearer(client, users["manager"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"


def test_explain_traces_agent_time_to_the_evidence(client, world):
    info, users = world
    h = bearer(client, users["a"])
    q = {"month": info["month"], "region": "TLK", "buyer": info["a"]}
    r = client.get("/capacity/explain", params=q | {"measure": "agent_time"}, headers=h)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [row["case_id"] for row in rows] == [info["a1"]]
    # 09:00 first fix, 09:30-09:45 at the door: 1,800 s of travel and 900 s of dwell.
    assert rows[0]["travel_s"] == pytest.approx(1800) and rows[0]["dwell_s"] == pytest.approx(900)
    assert r.json()["value"] == pytest.approx(2700)
    r = client.get("/capacity/explain", params=q | {"measure": "competing_caseload"}, headers=h)
    assert [row["case_id"] for row in r.json()["rows"]] == [info["a1"]]
    r = client.get("/capacity/explain", params=q | {"measure": "index"}, headers=h)
    assert r.json()["value"] == pytest.approx(next(c["value"] for c in r.json()["rows"]
                                                   if c["component"] == "share_of_time")
                                              / next(c["value"] for c in r.json()["rows"]
                                                     if c["component"] == "share_of_caseload"), rel=1e-4)
    # Another buyer's rows are not found; an unknown measure names the field.
    assert client.get("/capacity/explain", params=q | {"buyer": info["b"], "measure": "agent_time"},
                      headers=h).status_code == 404
    r = client.get("/capacity/explain", params=q | {"measure": "vibes"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "measure"
