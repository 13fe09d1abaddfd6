"""Case placement through the API (``POST /cases``, ``POST /cases/bulk``), against the real database
and reference geography. Cases are append-only history (ledger, events), so each test works under
fresh buyers and references instead of cleaning up."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from api.routers import case_intake
from core import session_scope
from core.models import AuditEvent, Buyer
from core.users import create_user
from tests.helpers import PASSWORD, bearer, unique

HEADER = "buyer_reference,debt_type,original_balance_pence,debtor_name,address_line1,postcode,vrm"
DERRIFORD = (-4.114068, 50.416145)  # Derriford Hospital, PL6 8DH, in the sensitive_premises table


@pytest.fixture(scope="module")
def world(geodata_loaded):
    with session_scope() as db:
        buyers = [Buyer(reference=unique("intake-buyer"), name="Intake Council", kind="council") for _ in range(2)]
        db.add_all(buyers)
        db.flush()
        users = {role: create_user(db, username=unique(role), password=PASSWORD, role=role, actor="test").username
                 for role in ("admin", "dispatcher", "agent")}
        users["buyer"] = create_user(db, username=unique("buyer"), password=PASSWORD, role="buyer",
                                     buyer_reference=buyers[0].reference, actor="test").username
        return {"users": users, "buyers": [b.reference for b in buyers]}


@pytest.fixture(scope="module")
def auth(client, world):
    return {role: bearer(client, username) for role, username in world["users"].items()}


def case_body(**overrides):
    body = {"buyer_reference": unique("ref"), "debt_type": "council_tax", "original_balance_pence": 123_45,
            "debtor": {"name": "Ann Example"},
            "address": {"line1": f"{unique('1')} Armada Way", "town": "Plymouth", "postcode": "pl1 1aa"},
            "vehicles": [{"vrm": "ab12 cde", "make": "Ford", "colour": "Blue"}]}
    body.update(overrides)
    return body


def bulk(client, headers, body: str, content_type="text/csv", buyer=None):
    params = {"buyer": buyer} if buyer else {}
    return client.post("/cases/bulk", content=body.encode(), params=params,
                       headers={**headers, "content-type": content_type})


def test_buyer_places_one_case_and_gets_it_back(client, auth, world):
    body = case_body()
    r = client.post("/cases", json=body, headers=auth["buyer"])
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["buyer"] == world["buyers"][0]
    assert case["supplier_reference"] == f"BW{case['id']:08d}"
    assert (case["stage"], case["status"], case["received_on"] is not None) == ("compliance", "open", True)
    assert case["current_balance_pence"] == case["original_balance_pence"] == 12345
    assert case["address"]["postcode"] == "PL1 1AA"
    assert (case["address"]["itl1_cd"], case["address"]["lad_cd"]) == ("TLK", "E06000026")  # Plymouth
    assert case["vehicles"] == [{"vrm": "AB12CDE", "make": "Ford", "colour": "Blue"}]
    assert case["dispatchable"] is True and case["linked_group"] is None and case["is_leading"] is True
    with session_scope() as db:
        ledger = db.execute(text("SELECT kind, amount_pence FROM ledger_entry WHERE case_id = :i"), {"i": case["id"]}).all()
        events = db.execute(text("SELECT kind, actor FROM case_event WHERE case_id = :i"), {"i": case["id"]}).all()
    assert ledger == [("debt", 12345)]
    assert events == [("placed", f"user:{world['users']['buyer']}")]
    # Re-sending is idempotent: the stored case, 200, nothing new.
    again = client.post("/cases", json=body, headers=auth["buyer"])
    assert again.status_code == 200 and again.json()["id"] == case["id"]


def test_who_may_place_for_whom(client, auth, world):
    mine, other = world["buyers"]
    assert client.post("/cases", json=case_body(buyer=other), headers=auth["buyer"]).status_code == 404
    assert client.post("/cases", json=case_body(buyer=mine), headers=auth["buyer"]).status_code == 201
    assert client.post("/cases", json=case_body(), headers=auth["agent"]).status_code == 403
    assert client.post("/cases", json=case_body(), headers=auth["admin"]).status_code == 422  # no buyer named
    assert client.post("/cases", json=case_body(buyer="no-such-buyer"), headers=auth["admin"]).status_code == 404
    r = client.post("/cases", json=case_body(buyer=other), headers=auth["dispatcher"])
    assert r.status_code == 201 and r.json()["buyer"] == other
    assert bulk(client, auth["buyer"], HEADER + "\n", buyer=other).status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"debt_type": "speeding"}, "debt_type"),
    ({"original_balance_pence": -5}, "original_balance_pence"),
    ({"original_balance_pence": 12.5}, "original_balance_pence"),
    ({"received_on": "2999-01-01"}, "received_on"),
    ({"vehicles": [{"vrm": "NOT-A-PLATE!"}]}, "vehicles.0.vrm"),
    ({"address": {"line1": "1 High St", "postcode": "XX1"}}, "address.postcode"),
])
def test_single_placement_rejects_bad_fields(client, auth, change, field):
    r = client.post("/cases", json=case_body(**change), headers=auth["buyer"])
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


def test_unknown_postcode_and_coordinates_outside_the_uk(client, auth):
    r = client.post("/cases", json=case_body(address={"line1": "1 Nowhere", "postcode": "ZZ9 9ZZ"}), headers=auth["buyer"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "address.postcode"
    assert "unknown postcode" in r.json()["detail"]
    paris = {"line1": "1 Rue", "postcode": "PL1 1AA", "lat": 48.8566, "lon": 2.3522}
    r = client.post("/cases", json=case_body(address=paris), headers=auth["buyer"])
    assert r.status_code == 422 and "not in the UK" in r.json()["detail"]


def test_supplied_coordinates_place_the_address(client, auth):
    # A Newcastle point with a Plymouth postcode: the coordinates win.
    address = {"line1": "1 Grey St", "postcode": "PL1 1AA", "lat": 54.9720, "lon": -1.6130}
    case = client.post("/cases", json=case_body(address=address), headers=auth["buyer"]).json()
    assert (case["address"]["lat"], case["address"]["lon"]) == (54.9720, -1.6130)
    assert (case["address"]["itl1_cd"], case["address"]["lad_cd"]) == ("TLC", "E08000021")


def test_address_near_a_hospital_is_flagged_and_not_dispatchable(client, auth):
    lon, lat = DERRIFORD
    near = client.post("/cases", json=case_body(address={"line1": "Flat 1", "postcode": "PL6 8DH",
                                                         "lat": lat + 0.0003, "lon": lon}), headers=auth["buyer"]).json()
    assert near["address"]["sensitive"] is True and near["dispatchable"] is False
    assert "Derriford Hospital" in near["address"]["sensitive_note"]
    far = client.post("/cases", json=case_body(address={"line1": "Flat 2", "postcode": "PL6 8DH",
                                                        "lat": lat + 0.0018, "lon": lon}), headers=auth["buyer"]).json()
    assert far["address"]["sensitive"] is False and far["dispatchable"] is True


def test_warrants_of_one_debtor_at_one_address_are_linked(client, auth):
    line1 = f"{unique('7')} Union Street"
    first = case_body(received_on="2025-01-10", address={"line1": line1, "postcode": "PL1 1AB"},
                      debtor={"name": "Bob  Linked"})
    second = case_body(received_on="2025-01-05", address={"line1": line1.upper(), "postcode": "PL1 1AB"},
                       debtor={"name": "bob linked"})
    csv_body = "\n".join([
        HEADER + ",received_on",
        f"{first['buyer_reference']},council_tax,1000,Bob  Linked,{line1},PL1 1AB,,2025-01-10",
        f"{second['buyer_reference']},parking,2000,bob linked,{line1.upper()},pl11ab,,2025-01-05",
    ]) + "\n"
    receipt = bulk(client, auth["buyer"], csv_body).json()
    assert (receipt["accepted"], receipt["rejected"]) == (2, 0), receipt
    with session_scope() as db:
        rows = db.execute(text("SELECT buyer_reference, id, linked_group, is_leading, debtor_id, address_id "
                               "FROM enforcement_case WHERE buyer_reference = ANY(:r)"),
                          {"r": [first["buyer_reference"], second["buyer_reference"]]}).all()
    by_ref = {r[0]: r for r in rows}
    leader = by_ref[second["buyer_reference"]]  # received earlier
    follower = by_ref[first["buyer_reference"]]
    assert leader.is_leading and not follower.is_leading
    assert leader.linked_group == follower.linked_group == leader.id
    assert (leader.debtor_id, leader.address_id) == (follower.debtor_id, follower.address_id)
    # A later warrant (even one received earlier still) joins the group without taking the lead.
    third = client.post("/cases", json=case_body(received_on="2024-12-01", address={"line1": line1, "postcode": "PL1 1AB"},
                                                 debtor={"name": "Bob Linked"}), headers=auth["buyer"]).json()
    assert (third["linked_group"], third["is_leading"]) == (leader.id, False)
    # A different person at the address is a different debtor, unlinked.
    other = client.post("/cases", json=case_body(address={"line1": line1, "postcode": "PL1 1AB"},
                                                 debtor={"name": "Carol Other"}), headers=auth["buyer"]).json()
    assert other["linked_group"] is None and other["debtor"]["id"] != leader.debtor_id


def test_bulk_csv_reports_bad_rows_by_line_and_keeps_good_ones(client, auth):
    refs = [unique("csv") for _ in range(9)]
    csv_body = "\n".join([
        HEADER + ",make,colour,town",
        f"{refs[0]},council_tax,1000,Ann One,1 Royal Parade,PL1 1AA,AB12CDE,Ford,Red,Plymouth",  # line 2 good
        f"{refs[1]},speeding,1000,Ann Two,2 Royal Parade,PL1 1AA,,,,",                          # 3 debt_type
        f"{refs[2]},council_tax,-1,Ann Three,3 Royal Parade,PL1 1AA,,,,",                       # 4 amount
        f"{refs[3]},council_tax,1000,Ann Four,4 Royal Parade,ZZ9 9ZZ,,,,",                      # 5 unknown postcode
        f"{refs[4]},council_tax,1000,Ann Five,5 Royal Parade,PL1 1AA,12345678,,,",              # 6 vrm
        "",                                                                                     # 7 blank, skipped
        f"{refs[5]},council_tax,1000,\"Ann, Six\",6 Royal Parade,PL1 1AA,,,,",                  # 8 good
        f"{refs[6]},council_tax,1000,Ann Seven,7 Royal Parade,NOTAPOSTCODE,,,,",                # 9 postcode format
        f"{refs[5]},council_tax,1000,Ann Dup,8 Royal Parade,PL1 1AA,,,,",                       # 10 duplicate ref
        f"{refs[7]},council_tax,1000",                                                          # 11 short row
        f"{refs[8]},parking,999,\"Ann\nNine\",9 Royal Parade,PL1 1AA,B1,,,",                    # 12-13 good
    ]) + "\n"
    r = bulk(client, auth["buyer"], csv_body)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert (receipt["received"], receipt["accepted"], receipt["rejected"], receipt["already_present"]) == (10, 3, 7, 0)
    errors = {(e["row"], e["field"]) for e in receipt["errors"]}
    assert errors == {(3, "debt_type"), (4, "original_balance_pence"), (5, "postcode"), (6, "vrm"),
                      (9, "postcode"), (10, "buyer_reference"), (11, "")}
    assert all(e["reason"] for e in receipt["errors"])
    # The same file again: nothing changes, the good rows are reported as already present.
    again = bulk(client, auth["buyer"], csv_body).json()
    assert (again["accepted"], again["rejected"], again["already_present"]) == (3, 7, 3)
    with session_scope() as db:
        count = db.scalar(text("SELECT count(*) FROM enforcement_case WHERE buyer_reference = ANY(:r)"), {"r": refs})
        audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "cases.bulk_placed")
                           .order_by(AuditEvent.id.desc()).limit(1)).one()
    assert count == 3
    assert audit.data["already_present"] == 3 and audit.data["format"] == "csv"


def test_bulk_json_lines(client, auth, world):
    good = case_body()
    lines = [json.dumps(good), "", "not json", json.dumps(case_body(debt_type="nope")),
             json.dumps(case_body(buyer=world["buyers"][1]))]
    r = bulk(client, auth["admin"], "\n".join(lines), content_type="application/x-ndjson", buyer=world["buyers"][0])
    receipt = r.json()
    assert (receipt["received"], receipt["accepted"], receipt["rejected"]) == (4, 1, 3), receipt
    assert {(e["row"], e["field"]) for e in receipt["errors"]} == {(3, ""), (4, "debt_type"), (5, "buyer")}
    # Without a content type, a body starting with "{" is sniffed as JSON lines.
    sniffed = bulk(client, auth["buyer"], json.dumps(good) + "\n", content_type="")
    assert sniffed.json()["already_present"] == 1


def test_bulk_header_must_name_the_required_columns(client, auth):
    r = bulk(client, auth["buyer"], "buyer_reference,debt_type\nx,parking\n")
    assert r.status_code == 422 and "postcode" in r.json()["detail"]


def test_bulk_over_the_row_limit_stores_nothing(client, auth, monkeypatch):
    monkeypatch.setattr(case_intake, "MAX_BULK_ROWS", 3)
    refs = [unique("lim") for _ in range(4)]
    rows = [f"{ref},parking,500,Dan Limit,{i} Hoe Road,PL1 1AA," for i, ref in enumerate(refs)]
    r = bulk(client, auth["buyer"], "\n".join([HEADER, *rows]) + "\n")
    assert r.status_code == 413 and "more than 3" in r.json()["detail"]
    with session_scope() as db:
        assert db.scalar(text("SELECT count(*) FROM enforcement_case WHERE buyer_reference = ANY(:r)"), {"r": refs}) == 0
    assert bulk(client, auth["buyer"], "\n".join([HEADER, *rows[:3]]) + "\n").json()["accepted"] == 3
