"""Customer queries through the API [000 §1.126–1.127]: a buyer's caseworker raises a query, the supplier
and the case's subcontractor answer, the thread goes both ways; statuses move by messages and by hand,
each change kept with its time; allocation to the buyer's own caseworkers only; filters; each buyer's
query types and escalation categories; and nobody sees a query outside its scope (404, never 403).
Attachments are ``test_query_attachments``'s."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from core import session_scope
from core.models import AuditEvent, QueryChange
from tests.case_world import bearer, make_agent, make_buyer, make_case, make_user
from tests.query_world import long_text, tokens, world  # noqa: F401  (fixtures)


def _raise(client, tokens, world, *, case="case_f", who="a1", type_="payment_not_recorded", text=None, **extra):
    body = {"case_id": world[case], "type": type_, "text": text or long_text(900), **extra}
    r = client.post("/queries", headers=tokens[who], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _audits(action: str, target: str) -> list[AuditEvent]:
    with session_scope() as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target == target)).all()
        db.expunge_all()
        return rows


# --- raising and the thread ----------------------------------------------------------------------------

def test_a_caseworker_raises_a_query_of_800_characters_and_more(client, tokens, world):
    text = long_text(5000)
    q = _raise(client, tokens, world, text=text)
    assert (q["case_id"], q["buyer"], q["type"], q["status"]) == (world["case_f"], world["buyer_a"],
                                                                    "payment_not_recorded", "open")
    assert q["text"] == text and len(q["text"]) == 5000 and q["preview"] == text[:200]
    assert (q["allocated_to"], q["raised_by"]) == (world["a1"], world["a1"])  # allocated to itself by default
    assert [(c["kind"], c["status"], c["allocated_to"], c["by"]) for c in q["history"]] == [
        ("raised", "open", world["a1"], world["a1"])]
    assert _audits("query.raise", f"query:{q['id']}")[0].actor == f"user:{world['a1']}"
    assert len(_raise(client, tokens, world, text=long_text(10_000))["text"]) == 10_000


@pytest.mark.parametrize(("text", "why"), [("", "empty"), ("   \n\t ", "blank"), ("x" * 10_001, "too long"),
                                           ("before\x00after", "NUL")])
def test_bad_text_is_a_422_naming_text(client, tokens, world, text, why):
    r = client.post("/queries", headers=tokens["a1"],
                    json={"case_id": world["case_f"], "type": "other", "text": text})
    assert r.status_code == 422, (why, r.text)
    assert [e["field"] for e in r.json()["errors"]] == ["text"]


def test_only_a_buyer_raises_and_only_on_its_own_cases(client, tokens, world):
    body = {"case_id": world["case_f"], "type": "other", "text": long_text(800)}
    assert client.post("/queries", headers=tokens["admin"], json=body).status_code == 403
    assert client.post("/queries", headers=tokens["sub_f"], json=body).status_code == 403
    r = client.post("/queries", headers=tokens["b1"], json=body)  # buyer A's case
    assert r.status_code == 404, r.text
    r = client.post("/queries", headers=tokens["a1"], json={**body, "type": "no_such_type"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["type"]


def test_the_thread_goes_both_ways_and_moves_the_status(client, tokens, world):
    q = _raise(client, tokens, world)
    url = f"/queries/{q['id']}/messages"
    steps = [("dispatcher", "awaiting_buyer"), ("a2", "awaiting_supplier"), ("sub_f", "awaiting_buyer"),
             ("a1", "awaiting_supplier"), ("admin", "awaiting_buyer")]
    for who, status in steps:
        r = client.post(url, headers=tokens[who], json={"text": f"from {who}: " + long_text(850)})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == status
    thread = client.get(f"/queries/{q['id']}", headers=tokens["a1"]).json()
    roles = {"dispatcher": "dispatcher", "a2": "buyer", "sub_f": "subcontractor", "a1": "buyer", "admin": "admin"}
    assert [(m["author"], m["role"]) for m in thread["messages"]] == [(world[w], roles[w]) for w, _ in steps]
    assert all(m["text"].startswith(f"from {w}: ") for m, (w, _) in zip(thread["messages"], steps, strict=True))
    times = [datetime.fromisoformat(m["at"]) for m in thread["messages"]]
    assert times == sorted(times) and len(set(times)) == len(times)
    # Each message that moved the status is a change in the history, with its time.
    assert [(c["kind"], c["status"]) for c in thread["history"]] == [("raised", "open")] + [
        ("message", status) for _, status in steps]
    assert [c["at"] for c in thread["history"][1:]] == [m["at"] for m in thread["messages"]]


# --- statuses by hand ----------------------------------------------------------------------------------

def _status(client, tokens, query_id, who, status, **extra):
    return client.post(f"/queries/{query_id}/status", headers=tokens[who], json={"status": status, **extra})


def test_statuses_escalation_closing_and_reopening_each_keep_their_time(client, tokens, world):
    q = _raise(client, tokens, world, type_="fees_dispute")
    qid = q["id"]
    r = _status(client, tokens, qid, "a1", "escalated")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["escalation_category"]
    r = _status(client, tokens, qid, "a1", "escalated", escalation_category="no_such_route")
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["escalation_category"]
    assert _status(client, tokens, qid, "dispatcher", "escalated",
                   escalation_category="service_manager").status_code == 403  # the buyer's routes, the buyer's call
    r = _status(client, tokens, qid, "a1", "escalated", escalation_category="complaint_stage_1",
                note="no answer in 5 working days")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["escalation_category"]) == ("escalated", "complaint_stage_1")
    assert r.json()["escalation_category_label"] == "Formal complaint, stage 1"
    # An answer does not undo an escalation.
    r = client.post(f"/queries/{qid}/messages", headers=tokens["admin"], json={"text": "We are looking into it."})
    assert r.json()["status"] == "escalated"
    r = _status(client, tokens, qid, "a1", "escalated", escalation_category="complaint_stage_2")
    assert r.status_code == 200 and r.json()["escalation_category"] == "complaint_stage_2"
    r = _status(client, tokens, qid, "a1", "escalated", escalation_category="complaint_stage_2")
    assert (r.status_code, r.json()["rule_id"]) == (409, "R-QUERY-STATUS")
    assert _status(client, tokens, qid, "sub_f", "closed").status_code == 403
    r = _status(client, tokens, qid, "admin", "closed", note="refund made")
    assert r.status_code == 200 and r.json()["closed_at"] is not None and r.json()["escalation_category"] is None
    for refused in (client.post(f"/queries/{qid}/messages", headers=tokens["a1"], json={"text": "and?"}),
                    client.post(f"/queries/{qid}/allocation", headers=tokens["a1"], json={"allocated_to": world["a2"]}),
                    _status(client, tokens, qid, "a1", "awaiting_supplier")):
        assert (refused.status_code, refused.json()["rule_id"]) == (409, "R-QUERY-CLOSED"), refused.text
    r = _status(client, tokens, qid, "a1", "open", note="the refund has not arrived")
    assert r.status_code == 200 and (r.json()["status"], r.json()["closed_at"]) == ("open", None)
    history = r.json()["history"]
    assert [(c["kind"], c["status"], c["escalation_category"], c["by"], c["note"]) for c in history] == [
        ("raised", "open", None, world["a1"], None),
        ("status", "escalated", "complaint_stage_1", world["a1"], "no answer in 5 working days"),
        ("status", "escalated", "complaint_stage_2", world["a1"], None),
        ("status", "closed", None, world["admin"], "refund made"),
        ("status", "open", None, world["a1"], "the refund has not arrived")]
    times = [datetime.fromisoformat(c["at"]) for c in history]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len(_audits("query.status", f"query:{qid}")) == 4


def test_a_subcontractor_hands_a_query_back_but_does_not_close_it(client, tokens, world):
    q = _raise(client, tokens, world)
    assert _status(client, tokens, q["id"], "sub_f", "awaiting_buyer").json()["status"] == "awaiting_buyer"
    assert _status(client, tokens, q["id"], "sub_f", "open").status_code == 403


# --- allocation ----------------------------------------------------------------------------------------

def test_a_caseworker_allocates_to_any_caseworker_of_its_buyer_itself_included(client, tokens, world):
    q = _raise(client, tokens, world, allocated_to=world["a2"])
    assert q["allocated_to"] == world["a2"]
    url = f"/queries/{q['id']}/allocation"
    r = client.post(url, headers=tokens["a2"], json={"allocated_to": world["a1"]})
    assert r.status_code == 200 and r.json()["allocated_to"] == world["a1"]
    r = client.post(url, headers=tokens["a2"], json={"allocated_to": world["a2"]})
    assert r.status_code == 200 and r.json()["allocated_to"] == world["a2"]
    assert [(c["kind"], c["allocated_to"], c["by"]) for c in r.json()["history"]] == [
        ("raised", world["a2"], world["a1"]), ("allocated", world["a1"], world["a2"]),
        ("allocated", world["a2"], world["a2"])]
    assert len(_audits("query.allocate", f"query:{q['id']}")) == 2


@pytest.mark.parametrize("who", ["b1", "admin", "sub_f", "nobody-by-this-name"])
def test_allocation_to_anyone_but_the_buyers_caseworkers_is_a_422_naming_allocated_to(client, tokens, world, who):
    q = _raise(client, tokens, world)
    name = world.get(who, who)
    r = client.post(f"/queries/{q['id']}/allocation", headers=tokens["a1"], json={"allocated_to": name})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["allocated_to"]
    r = client.post("/queries", headers=tokens["a1"], json={"case_id": world["case_f"], "type": "other",
                                                            "text": "x", "allocated_to": name})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["allocated_to"]
    assert client.get(f"/queries/{q['id']}", headers=tokens["a1"]).json()["allocated_to"] == world["a1"]


def test_supplier_staff_and_subcontractors_do_not_allocate(client, tokens, world):
    q = _raise(client, tokens, world)
    for who in ("dispatcher", "sub_f"):
        r = client.post(f"/queries/{q['id']}/allocation", headers=tokens[who], json={"allocated_to": world["a2"]})
        assert r.status_code == 403, r.text
    r = client.post(f"/queries/{q['id']}/allocation", headers=tokens["admin"], json={"allocated_to": world["a2"]})
    assert r.status_code == 200


# --- the list and its filters --------------------------------------------------------------------------

def test_filters_by_status_case_caseworker_and_type_paged(client, tokens, world):
    with session_scope() as db:
        buyer = make_buyer(db)
        cases = [make_case(db, buyer).id for _ in range(2)]
        c1, c2 = make_user(db, "buyer", buyer=buyer), make_user(db, "buyer", buyer=buyer)
        reference = buyer.reference
    t1, t2 = bearer(client, c1), bearer(client, c2)
    made = []
    for case_id, type_, token, allocated in [(cases[0], "deceased", t1, c1), (cases[0], "insolvency", t1, c2),
                                             (cases[1], "deceased", t2, c2), (cases[1], "other", t2, c2)]:
        r = client.post("/queries", headers=token, json={"case_id": case_id, "type": type_, "text": long_text(810),
                                                         "allocated_to": allocated})
        made.append(r.json()["id"])
    client.post(f"/queries/{made[3]}/messages", headers=tokens["admin"], json={"text": "answered"})

    def ids(**params):
        r = client.get("/queries", headers=t1, params=params)
        assert r.status_code == 200, r.text
        return r.json()["total"], [q["id"] for q in r.json()["items"]]

    assert ids() == (4, made[::-1])  # newest first
    assert ids(status="awaiting_buyer") == (1, [made[3]])
    assert ids(status="open") == (3, [made[2], made[1], made[0]])
    assert ids(case_id=cases[0]) == (2, [made[1], made[0]])
    assert ids(allocated_to=c2) == (3, [made[3], made[2], made[1]])
    assert ids(allocated_to=c1) == (1, [made[0]])
    assert ids(type="deceased") == (2, [made[2], made[0]])
    assert ids(type="deceased", allocated_to=c2, case_id=cases[1]) == (1, [made[2]])
    assert ids(limit=2, offset=1) == (4, [made[2], made[1]])
    r = client.get("/queries", headers=t1, params={"status": "pending"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["status"]
    item = client.get("/queries", headers=t1, params={"case_id": cases[1], "type": "other"}).json()["items"][0]
    assert (item["allocated_to"], item["type_label"], item["status"]) == (c2, "Other", "awaiting_buyer")
    assert "text" not in item and len(item["preview"]) == 200
    # Office staff see every buyer's and filter by buyer.
    r = client.get("/queries", headers=tokens["admin"], params={"buyer": reference, "limit": 200})
    assert r.json()["total"] == 4
    assert client.get("/queries", headers=tokens["admin"], params={"buyer": "no-such-buyer"}).status_code == 404


# --- scope ---------------------------------------------------------------------------------------------

def test_buyer_b_gets_404_for_buyer_a_s_query_and_changes_nothing(client, tokens, world):
    q = _raise(client, tokens, world)
    qid = q["id"]
    before = client.get(f"/queries/{qid}", headers=tokens["admin"]).json()
    for method, url, body in [("GET", f"/queries/{qid}", None),
                              ("POST", f"/queries/{qid}/messages", {"text": "hello"}),
                              ("POST", f"/queries/{qid}/status", {"status": "closed"}),
                              ("POST", f"/queries/{qid}/allocation", {"allocated_to": world["b1"]}),
                              ("POST", f"/queries/{qid}/allocation", {"allocated_to": world["a1"]})]:
        r = client.request(method, url, headers=tokens["b1"], json=body)
        assert r.status_code == 404, (method, url, r.text)
        assert r.json() == {"detail": f"query {qid} not found"}
    assert client.get(f"/queries/{qid}", headers=tokens["admin"]).json() == before
    r = client.get("/queries", headers=tokens["b1"], params={"case_id": world["case_f"]})
    assert (r.status_code, r.json()["total"]) == (200, 0)
    assert client.get("/queries", headers=tokens["b1"], params={"buyer": world["buyer_a"]}).status_code == 404
    assert all(item["buyer"] == world["buyer_b"]
               for item in client.get("/queries", headers=tokens["b1"], params={"limit": 200}).json()["items"])


def test_a_subcontractor_user_sees_only_queries_on_its_firms_cases(client, tokens, world):
    on_f = _raise(client, tokens, world, case="case_f")["id"]
    on_g = _raise(client, tokens, world, case="case_g")["id"]
    b_on_f = _raise(client, tokens, world, case="case_b", who="b1")["id"]  # another buyer's case, the same firm
    assert client.get(f"/queries/{on_f}", headers=tokens["sub_f"]).status_code == 200
    assert client.get(f"/queries/{b_on_f}", headers=tokens["sub_f"]).status_code == 200
    for url, body in [(f"/queries/{on_g}", None), (f"/queries/{on_g}/messages", {"text": "hello"}),
                      (f"/queries/{on_g}/status", {"status": "awaiting_buyer"})]:
        r = client.request("POST" if body else "GET", url, headers=tokens["sub_f"], json=body)
        assert r.status_code == 404, (url, r.text)
    assert client.get(f"/queries/{on_g}", headers=tokens["sub_g"]).status_code == 200
    listed = client.get("/queries", headers=tokens["sub_f"], params={"limit": 200}).json()
    seen = {q["id"] for q in listed["items"]}
    assert {on_f, b_on_f} <= seen and on_g not in seen
    assert {q["case_id"] for q in listed["items"]} <= {world["case_f"], world["case_b"]}
    assert _audits("query.view", f"query:{on_f}")[-1].role == "subcontractor"


def test_agents_take_no_part(client, world):
    with session_scope() as db:
        agent_user = make_user(db, "agent", agent=make_agent(db))
    token = bearer(client, agent_user)
    assert client.get("/queries", headers=token).status_code == 403
    assert client.get("/queries/types", headers=token).status_code == 403


def test_every_buyer_view_is_audited(client, tokens, world):
    q = _raise(client, tokens, world)
    client.get(f"/queries/{q['id']}", headers=tokens["a2"])
    client.get("/queries", headers=tokens["a2"], params={"case_id": world["case_f"]})
    view = _audits("query.view", f"query:{q['id']}")
    assert [(v.actor, v.role, v.buyer_id) for v in view] == [(f"user:{world['a2']}", "buyer", world["buyer_a_id"])]
    with session_scope() as db:
        listed = db.scalars(select(AuditEvent).where(AuditEvent.action == "query.list",
                                                     AuditEvent.actor == f"user:{world['a2']}")).all()
        assert listed[-1].data["case_id"] == world["case_f"]
    # Staff reads are not buyer views.
    client.get(f"/queries/{q['id']}", headers=tokens["admin"])
    assert len(_audits("query.view", f"query:{q['id']}")) == 1


def test_history_is_append_only(client, tokens, world):
    q = _raise(client, tokens, world)
    with session_scope() as db, pytest.raises(Exception, match="R-CASE-AUDIT"):
        db.execute(QueryChange.__table__.delete().where(QueryChange.query_id == q["id"]))


# --- each buyer's query types and escalation categories -----------------------------------------------

def test_a_buyer_has_default_types_and_categories_until_it_sets_its_own(client, tokens, world):
    types = client.get("/queries/types", headers=tokens["a1"]).json()
    assert types["buyer"] == world["buyer_a"] and len(types["items"]) >= 20
    assert all(t["active"] for t in types["items"])
    categories = client.get("/queries/escalation-categories", headers=tokens["a1"]).json()
    assert len(categories["items"]) >= 5
    assert client.get("/queries/types", headers=tokens["b1"]).json()["buyer"] == world["buyer_b"]
    assert client.get("/queries/types", headers=tokens["b1"], params={"buyer": world["buyer_a"]}).status_code == 404
    r = client.get("/queries/types", headers=tokens["admin"])
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["buyer"]
    assert client.get("/queries/types", headers=tokens["admin"], params={"buyer": world["buyer_a"]}).json() == types


def test_a_buyer_sets_its_own_query_types_and_escalation_routes(client, tokens, world):
    with session_scope() as db:
        buyer = make_buyer(db)
        reference, worker = buyer.reference, make_user(db, "buyer", buyer=buyer)
        case_id = make_case(db, buyer).id
    token = bearer(client, worker)
    own = [{"code": f"ctax_{i:02d}", "label": f"Council tax query {i}"} for i in range(25)]
    r = client.put("/queries/types", headers=token, json={"items": own})
    assert r.status_code == 200, r.text
    assert [(t["code"], t["active"]) for t in r.json()["items"]][:25] == [(t["code"], True) for t in own]
    assert not any(t["active"] for t in r.json()["items"][25:])  # the defaults, retired
    assert client.post("/queries", headers=token, json={"case_id": case_id, "type": "ctax_24",
                                                        "text": long_text(800)}).status_code == 201
    r = client.post("/queries", headers=token, json={"case_id": case_id, "type": "other", "text": "x"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["type"]
    routes = [{"code": code, "label": code.replace("_", " ")} for code in
              ("team_leader", "revenues_manager", "head_of_service", "complaints_officer", "ombudsman_prep")]
    r = client.put("/queries/escalation-categories", headers=token, json={"items": routes})
    assert [c["code"] for c in r.json()["items"] if c["active"]] == [c["code"] for c in routes]
    # Other buyers keep theirs.
    assert any(t["code"] == "other" and t["active"]
               for t in client.get("/queries/types", headers=tokens["a1"]).json()["items"])
    with session_scope() as db:
        audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "query.types_update",
                                                    AuditEvent.target == f"buyer:{reference}")).one()
        assert len(audit.data["after"]) == 25 + len(audit.data["before"])


@pytest.mark.parametrize(("items", "field"), [
    ([{"code": "a", "label": "A"}, {"code": "a", "label": "again"}], "items.1.code"),
    ([{"code": "Bad Code", "label": "A"}], "items.0.code"),
    ([{"code": "a", "label": " "}], "items.0.label"),
    ([{"code": "a", "label": "A", "active": False}], "items"),
    ([], "items"),
])
def test_bad_lists_are_a_422_naming_the_field(client, tokens, items, field):
    r = client.put("/queries/types", headers=tokens["a1"], json={"items": items})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_only_buyers_and_admins_change_the_lists(client, tokens, world):
    body = {"items": [{"code": "x", "label": "X"}]}
    assert client.put("/queries/types", headers=tokens["dispatcher"], json=body,
                      params={"buyer": world["buyer_a"]}).status_code == 403
    assert client.put("/queries/types", headers=tokens["b1"], json=body,
                      params={"buyer": world["buyer_a"]}).status_code == 404
