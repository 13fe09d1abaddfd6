"""Case routes: search by the five keys, detail with the fee breakdown, history, transitions (409
naming the rule), clearing a sensitive flag, visits through the API, and audited buyer views."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core import session_scope
from core.models import Address, AuditEvent
from tests.case_world import bearer, make_agent, make_buyer, make_case, make_user
from tests.helpers import unique


@pytest.fixture(scope="module")
def world(policies_loaded, geodata_loaded):
    with session_scope() as db:
        buyer = make_buyer(db, "ccs_default")
        surname = unique("Quist")
        case = make_case(db, buyer, debtor_name=f"Morgan {surname}", postcode="PL4 8AA")
        other = make_case(db, buyer, debtor_name="Someone Else", postcode="PL4 9ZZ")
        enforced = make_case(db, buyer, stage="enforcement", notice_issued_on=date(2026, 1, 6),
                             enforcement_stage_on=date(2026, 2, 2))
        agent = make_agent(db)
        w = {"case": case.id, "other": other.id, "enforced": enforced.id, "surname": surname,
             "supplier_reference": case.supplier_reference, "buyer_reference": case.buyer_reference,
             "subcontractor_reference": case.subcontractor_reference, "buyer_id": buyer.id,
             "enforced_address": enforced.address_id, "agent_id": agent.id,
             "buyer": make_user(db, "buyer", buyer=buyer), "admin": make_user(db, "admin"),
             "dispatcher": make_user(db, "dispatcher"), "agent": make_user(db, "agent", agent=agent)}
    return w


@pytest.fixture(scope="module")
def h(client, world):
    return {role: bearer(client, world[role]) for role in ("buyer", "admin", "dispatcher", "agent")}


@pytest.mark.parametrize("key", ["supplier_reference", "subcontractor_reference", "buyer_reference"])
def test_search_by_reference(client, world, h, key):
    r = client.get("/cases", headers=h["admin"], params={key: world[key]})
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["items"]] == [world["case"]]


def test_search_by_debtor_name_and_postcode(client, world, h):
    by_name = client.get("/cases", headers=h["admin"], params={"debtor_name": world["surname"].lower()}).json()
    assert [c["id"] for c in by_name["items"]] == [world["case"]]
    both = client.get("/cases", headers=h["buyer"], params={"postcode": "pl48aa", "debtor_name": world["surname"]})
    assert [c["id"] for c in both.json()["items"]] == [world["case"]]
    district = client.get("/cases", headers=h["buyer"], params={"postcode": "PL4", "limit": 200}).json()
    assert {world["case"], world["other"]} <= {c["id"] for c in district["items"]}
    page = client.get("/cases", headers=h["buyer"], params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], len(page["items"])) == (3, 1, 1)


def test_detail_has_status_balances_and_fee_breakdown(client, world, h):
    r = client.get(f"/cases/{world['case']}", headers=h["buyer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["stage"], body["status"], body["current_balance_pence"]) == ("compliance", "open", 500_00)
    assert body["fees"]["debt_pence"] == body["fees"]["balance_pence"] == 500_00
    assert {line["fee_type"] for line in body["fees"]["lines"]} >= {"compliance", "enforcement"}
    assert body["visits"] == []


def test_transition_409_names_the_rule_and_history_records_the_ones_allowed(client, world, h):
    url = f"/cases/{world['case']}/transitions"
    r = client.post(url, headers=h["dispatcher"], json={"transition": "start_enforcement"})
    assert r.status_code == 409 and r.json()["detail"].startswith("R-CASE-NOE: "), r.text
    r = client.post(url, headers=h["dispatcher"], json={"transition": "issue_notice"})
    assert r.status_code == 200, r.text
    assert r.json()["event"]["data"]["rule"] == "R-CASE-NOE"
    r = client.post(url, headers=h["dispatcher"], json={"transition": "start_enforcement"})
    assert r.status_code == 409 and r.json()["detail"].startswith("R-CASE-COMPLIANCE: "), r.text
    assert client.get(f"/cases/{world['case']}", headers=h["buyer"]).json()["fees"]["balance_pence"] == 575_00
    # A buyer may hold its own case but not issue notices.
    assert client.post(url, headers=h["buyer"], json={"transition": "hold", "reason": "query"}).status_code == 200
    assert client.post(url, headers=h["buyer"], json={"transition": "close", "reason": "x"}).status_code == 403
    kinds = [e["kind"] for e in client.get(f"/cases/{world['case']}/history", headers=h["buyer"]).json()]
    assert kinds == ["placed", "fee_charged", "issue_notice", "hold"]  # the fee is posted inside the notice
    assert client.post(url, headers=h["admin"], json={"transition": "teleport"}).status_code == 422


def test_visit_through_the_api_and_sensitive_clear(client, world, h):
    visit = {"case_id": world["enforced"], "outcome": "sensitive_venue", "arrived_at": "2026-03-03T10:00:00Z",
             "notes": "GP surgery next door", "lat": 50.37, "lon": -4.14, "bwv_reference": "BWV-1"}
    other_agent = client.post("/visits", headers=h["agent"], json={**visit, "agent_id": world["agent_id"] + 1})
    assert other_agent.status_code == 403
    r = client.post("/visits", headers=h["agent"], json=visit)
    assert r.status_code == 201, r.text
    assert r.json()["effects"] == ["address_flagged_sensitive"]
    assert r.json()["visit"]["agent_id"] == world["agent_id"]
    listed = client.get(f"/cases/{world['enforced']}/visits", headers=h["buyer"]).json()
    assert [(v["outcome"], v["bwv_reference"]) for v in listed] == [("sensitive_venue", "BWV-1")]
    clear = f"/cases/{world['enforced']}/sensitive/clear"
    assert client.post(clear, headers=h["buyer"], json={"note": "checked"}).status_code == 403
    r = client.post(clear, headers=h["dispatcher"], json={"note": "surgery closed down"})
    assert r.status_code == 200 and r.json()["dispatchable"], r.text
    with session_scope() as db:
        address = db.get(Address, world["enforced_address"])
        assert address.sensitive_cleared_by == f"user:{world['dispatcher']}"
    again = client.post(clear, headers=h["dispatcher"], json={"note": "again"})
    assert again.status_code == 409 and again.json()["detail"].startswith("R-VISIT-SENSITIVE")


def test_buyer_views_are_audited(client, world, h):
    # Only this test's rows: a scenario reseed restarts case ids, and the audit trail (append-only)
    # keeps rows of earlier runs whose target names the same id.
    with session_scope() as db:
        started = db.scalar(select(func.now()))
    client.get(f"/cases/{world['other']}", headers=h["buyer"])
    client.get(f"/cases/{world['other']}/history", headers=h["buyer"])
    client.get(f"/cases/{world['other']}/visits", headers=h["buyer"])
    client.get(f"/cases/{world['other']}", headers=h["admin"])  # staff reads are not buyer views
    with session_scope() as db:
        rows = db.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.buyer_id)
                          .where(AuditEvent.target == f"case:{world['other']}", AuditEvent.at >= started)).all()
    assert sorted(a for a, _, _ in rows) == ["case.history", "case.view", "case.visits"]
    assert {(actor, buyer) for _, actor, buyer in rows} == {(f"user:{world['buyer']}", world["buyer_id"])}
