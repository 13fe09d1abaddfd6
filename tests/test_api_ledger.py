"""The ledger routes: a case's money over HTTP, scoped to the buyer, errors naming the rule."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import session_scope
from core.models import AuditEvent
from core.users import create_user
from tests.helpers import PASSWORD, bearer, unique
from tests.case_world import make_buyer, make_cases



@pytest.fixture(scope="module")
def world(geodata_loaded):
    """Two buyers, a user for each role that matters, and linked warrants of buyer A (£900 leading, £800)."""
    with session_scope() as db:
        a, b = make_buyer(db), make_buyer(db)
        leader, other = make_cases(db, [900_00, 800_00], buyer=a)
        users = {role: create_user(db, username=unique(role), password=PASSWORD, role=role, actor="test").username
                 for role in ("admin", "dispatcher", "agent")}
        for name, buyer in (("buyer_a", a), ("buyer_b", b)):
            users[name] = create_user(db, username=unique(name), password=PASSWORD, role="buyer",
                                      buyer_reference=buyer.reference, actor="test").username
        return {"users": users, "leader": leader.id, "other": other.id}


def test_ledger_shows_entries_and_breakdown_and_audits_the_buyer_view(client, world):
    who = world["users"]["buyer_a"]
    r = client.get(f"/cases/{world['leader']}/ledger", headers=bearer(client, who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["kind"] for e in body["entries"]] == ["debt", "fee"]
    assert body["breakdown"]["debt_pence"] == 900_00
    assert body["breakdown"]["balance_pence"] == 975_00
    assert {f["fee_type"]: f["net_pence"] for f in body["breakdown"]["fees"]}["compliance"] == 75_00
    with session_scope() as db:
        assert db.scalar(select(AuditEvent).where(AuditEvent.actor == f"user:{who}", AuditEvent.action == "view",
                                                  AuditEvent.target == f"case:{world['leader']}/ledger"))


@pytest.mark.parametrize("request_", [
    ("get", "ledger", None),
    ("post", "payments", {"amount_pence": 100, "reference": "x"}),
    ("post", "fees/cancel", {"reason": "buyer_decision"}),
])
def test_another_buyers_case_is_not_found(client, world, request_):
    method, path, body = request_
    r = client.request(method, f"/cases/{world['leader']}/{path}", json=body,
                       headers=bearer(client, world["users"]["buyer_b"]))
    assert r.status_code == 404
    assert r.json()["detail"] == f"case {world['leader']} not found"


def test_payment_is_allocated_and_idempotent(client, world):
    """R-PAY-ALLOC: £875 closes the follower (owing £875) whole instead of spreading over both."""
    headers = bearer(client, world["users"]["buyer_a"])
    reference = unique("bank")
    body = {"amount_pence": 875_00, "reference": reference, "received_at": "2025-03-01T10:00:00Z"}
    r = client.post(f"/cases/{world['leader']}/payments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    closed = r.json()["allocation"]
    assert closed == [{"case_id": world["other"], "amount_pence": 875_00}]
    again = client.post(f"/cases/{world['leader']}/payments", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["allocation"] == closed


def test_overpayment_is_a_409_naming_the_rule(client, world):
    r = client.post(f"/cases/{world['leader']}/payments", json={"amount_pence": 10**9, "reference": unique("p")},
                    headers=bearer(client, world["users"]["dispatcher"]))
    assert r.status_code == 409
    assert r.json()["detail"].startswith("R-PAY-ALLOC: ")


@pytest.mark.parametrize(("body", "field"), [
    ({"amount_pence": 12.5, "reference": "x"}, "amount_pence"),
    ({"amount_pence": "1250", "reference": "x"}, "amount_pence"),
    ({"amount_pence": 0, "reference": "x"}, "amount_pence"),
    ({"amount_pence": 100}, "reference"),
    ({"amount_pence": 100, "reference": "x", "received_at": "2025-03-01T10:00:00"}, "received_at"),
])
def test_bad_payment_bodies_name_the_field(client, world, body, field):
    r = client.post(f"/cases/{world['leader']}/payments", json=body, headers=bearer(client, world["users"]["admin"]))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_roles(client, world):
    agent = bearer(client, world["users"]["agent"])
    assert client.get(f"/cases/{world['other']}/ledger", headers=agent).status_code == 200
    r = client.post(f"/cases/{world['other']}/payments", json={"amount_pence": 1, "reference": "a"}, headers=agent)
    assert r.status_code == 403
    r = client.post(f"/cases/{world['other']}/refunds", json={"amount_pence": 1, "reason": "x"},
                    headers=bearer(client, world["users"]["buyer_a"]))
    assert r.status_code == 403


def test_cancel_fees_then_refund(client, world):
    """R-FEE-CANCEL: a warrant paid in full whose compliance fee is then cancelled with a refund gets
    the £75 back."""
    with session_scope() as db:
        (case,) = make_cases(db, [100_00])
    headers = bearer(client, world["users"]["admin"])
    paid = client.post(f"/cases/{case.id}/payments", json={"amount_pence": 175_00, "reference": unique("p")},
                       headers=headers)
    assert paid.status_code == 201, paid.text
    r = client.post(f"/cases/{case.id}/fees/cancel",
                    json={"reason": "out_of_time_witness_statement", "refund": True}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] == {"compliance": 75_00}
    assert r.json()["refunded_pence"] == 75_00
    assert r.json()["breakdown"]["balance_pence"] == 0
    again = client.post(f"/cases/{case.id}/fees/cancel", json={"reason": "buyer_decision"}, headers=headers)
    assert again.status_code == 409 and again.json()["detail"].startswith("R-FEE-CANCEL: ")
    bad = client.post(f"/cases/{case.id}/fees/cancel", json={"reason": "because"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    refund = client.post(f"/cases/{case.id}/refunds", json={"amount_pence": 100_01, "reason": "x"},
                         headers=headers)
    assert refund.status_code == 409 and refund.json()["detail"].startswith("R-FEE-CANCEL: ")
