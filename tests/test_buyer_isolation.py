"""Buyer isolation across every case, visit, evidence, policy and query route: buyer A's token on buyer B's case,
visit, policy, query or attachment is 404 (not 403, so existence does not leak) and changes nothing; buyer B
sees its own.

The plan routes (``/plans``, ``/maps/plans``) are walked apart: a day's plan is not one buyer's object,
so buyer A may get an answer there (its own part of the plan, or 403), but never a trace of buyer B's
planned or dropped visits.

The routes come from the app's own OpenAPI paths, so routes added later are covered without editing
this test; a path parameter this test cannot fill fails loudly instead of being skipped.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api import create_app
from core import get_settings, session_scope
from core.models import (
    CaseEvent,
    CustomerQuery,
    LedgerEntry,
    QueryAttachment,
    QueryChange,
    QueryMessage,
    Role,
    User,
    Visit,
)
from core.visit_rules import TimeWindow
from core.visits import record_visit
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, Shift
from dispatch.store import save_plan
from queries import Caller, IncomingFile, attach, raise_query
from tests.case_world import LAT, LON, bearer, make_agent, make_buyer, make_case, make_user

PREFIXES = ("/cases", "/visits", "/policies", "/dispatch", "/maps/cases", "/queries")
PLAN_PREFIXES = ("/plans", "/maps/plans")
PLAN_DAY = date(2026, 2, 25)


@pytest.fixture(scope="module")
def app():
    return create_app()


def _plan_of_b(visited: int, dropped: int, buyer: str, agent_id: int) -> Plan:
    """A whole-country plan of ``PLAN_DAY`` in which the agent visits one of buyer B's cases and drops another."""
    def at(hour: int) -> datetime:
        return datetime.combine(PLAN_DAY, time(hour), tzinfo=UTC)

    base, where = Point(LON, LAT), Point(LON + 0.01, LAT)
    visit = PlannedVisit(visited, agent_id, 1, at(10), at(10) + timedelta(minutes=15),
                         TimeWindow(at(9), at(17), "office"), 900, buyer, where, "office")
    route = Route(agent_id, Shift(agent_id, at(8), at(18), base, base), (visit,), 2000.0, 3600)
    return Plan(PLAN_DAY, [route], [Dropped(dropped, buyer, where, "capacity")])


def _query_of_b(db, username: str, case_id: int) -> tuple[int, int]:
    """A query buyer B's caseworker raised on its case, with a telephone recording attached: the ids."""
    user = db.scalar(select(User).where(User.username == username))
    caller = Caller(user.id, user.username, Role.buyer, user.buyer_id)
    query = raise_query(db, caller, case_id=case_id, type_code="payment_not_recorded", text="Paid on 1 March.")
    with IncomingFile(get_settings().files_dir) as incoming:
        incoming.write(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64)
        recording = attach(db, caller, query.query.id, incoming.finish(), "call.mp3")
    return query.query.id, recording.id


@pytest.fixture(scope="module")
def world(policies_loaded, geodata_loaded):
    """Buyer A (Plymouth's policy) and buyer B (Croydon's), B's case in the enforcement stage with a
    visit and a query with an attachment, a stored plan of ``PLAN_DAY`` visiting that case and dropping
    another of B's, and one user each plus an admin."""
    with session_scope() as db:
        buyer_a, buyer_b = make_buyer(db, "plymouth"), make_buyer(db, "croydon")
        case = make_case(db, buyer_b, stage="enforcement", notice_issued_on=date(2026, 1, 6),
                         enforcement_stage_on=date(2026, 2, 2))
        agent = make_agent(db)
        visit = record_visit(db, case_id=case.id, outcome="refused", arrived_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
                             actor="test", agent_id=agent.id).visit
        left_out = make_case(db, buyer_b, stage="enforcement", notice_issued_on=date(2026, 1, 6),
                             enforcement_stage_on=date(2026, 2, 2))
        save_plan(db, _plan_of_b(case.id, left_out.id, buyer_b.reference, agent.id),
                  priorities={case.id: 95, left_out.id: 40}, region=None, actor="test", time_limit_s=1)
        ids = {"case_id": case.id, "visit_id": visit.id, "supplier_reference": case.supplier_reference,
               "policy_b": buyer_b.policy_name, "buyer_a": buyer_a.id, "buyer_b_reference": buyer_b.reference,
               "planned_cases": (case.id, left_out.id), "agent_id": agent.id,
               "a": make_user(db, "buyer", buyer=buyer_a), "b": make_user(db, "buyer", buyer=buyer_b),
               "admin": make_user(db, "admin")}
        ids["query_id"], ids["attachment_id"] = _query_of_b(db, ids["b"], case.id)
    return ids


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _example(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A minimal valid value for a JSON schema: the request must pass validation so the route itself
    answers (a 422 would prove nothing about isolation)."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        return _example(spec, next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _example(spec, sub) for name, sub in schema.get("properties", {}).items()
                if name in schema.get("required", ())}
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2026-03-03T10:00:00Z"
        if schema.get("format") == "date":
            return "2026-03-03"
        return "x" * max(1, schema.get("minLength", 1))
    return {"integer": max(1, schema.get("minimum", 1)), "number": 1.0, "boolean": False, "array": []}[kind]


def _path_value(name: str, world: dict[str, Any]) -> Any:
    if name in ("case_id", "visit_id", "query_id", "attachment_id"):
        return world[name]
    if name in ("name", "policy_name", "policy"):
        return world["policy_b"]
    if name == "day":
        return PLAN_DAY.isoformat()
    if name == "agent_id":
        return world["agent_id"]
    raise AssertionError(f"test_buyer_isolation cannot fill path parameter {{{name}}}: teach _path_value")


def _routes(app, prefixes: tuple[str, ...] = PREFIXES) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in app.openapi()["paths"].items()
            if path.startswith(prefixes) and "{" in path for method, op in ops.items()]


def _snapshot(client, world) -> tuple:
    admin = bearer(client, world["admin"])
    detail = client.get(f"/cases/{world['case_id']}", headers=admin).json()
    query = client.get(f"/queries/{world['query_id']}", headers=admin).json()
    with session_scope() as db:
        counts = tuple(db.scalar(select(func.count()).select_from(t).where(t.case_id == world["case_id"]))
                       for t in (CaseEvent, LedgerEntry, Visit, CustomerQuery))
        counts += tuple(db.scalar(select(func.count()).select_from(t).where(t.query_id == world["query_id"]))
                        for t in (QueryMessage, QueryChange, QueryAttachment))
    return detail, query, counts


ROUTES = _routes(create_app())
PLAN_ROUTES = _routes(create_app(), PLAN_PREFIXES)


def _call(client, spec, method, path, op, headers, values):
    url = path.format(**{p["name"]: values(p["name"]) for p in op.get("parameters", []) if p["in"] == "path"})
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    return client.request(method, url, headers=headers, json=_example(spec, body["schema"]) if body else None)


@pytest.mark.parametrize(("method", "path", "op"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_buyer_a_gets_404_on_buyer_b_objects(app, client, world, method, path, op):
    spec = app.openapi()
    a = bearer(client, world["a"])
    before = _snapshot(client, world)
    r = _call(client, spec, method, path, op, a, lambda name: _path_value(name, world))
    assert _snapshot(client, world) == before  # nothing changed, whatever the answer
    assert r.status_code == 404, (method, path, r.status_code, r.text)


def test_routes_taking_the_case_in_body_or_query_do_not_leak(client, world):
    a = bearer(client, world["a"])
    before = _snapshot(client, world)
    r = client.post("/visits", headers=a, json={"case_id": world["case_id"], "outcome": "refused",
                                                "arrived_at": "2026-03-04T10:00:00Z"})
    assert r.status_code == 404, r.text
    r = client.get("/cases", headers=a, params={"supplier_reference": world["supplier_reference"]})
    assert (r.status_code, r.json()["total"]) == (200, 0)
    r = client.post("/queries", headers=a, json={"case_id": world["case_id"], "type": "other", "text": "x"})
    assert r.status_code == 404, r.text
    r = client.get("/queries", headers=a, params={"case_id": world["case_id"]})
    assert (r.status_code, r.json()["total"]) == (200, 0)
    for route in ("/queries", "/queries/types", "/queries/escalation-categories"):
        assert client.get(route, headers=a, params={"buyer": world["buyer_b_reference"]}).status_code == 404
    body = {"items": [{"code": "x", "label": "X"}]}
    for route in ("/queries/types", "/queries/escalation-categories"):
        assert client.put(route, headers=a, json=body, params={"buyer": world["buyer_b_reference"]}).status_code == 404
    assert _snapshot(client, world) == before


def test_the_walk_sees_the_case_visit_and_query_routes():
    assert {p for _, p, _ in ROUTES} >= {"/cases/{case_id}", "/cases/{case_id}/history",
                                         "/cases/{case_id}/transitions", "/cases/{case_id}/visits",
                                         "/cases/{case_id}/evidence", "/maps/cases/{case_id}",
                                         "/queries/{query_id}", "/queries/{query_id}/messages",
                                         "/queries/{query_id}/status", "/queries/{query_id}/allocation",
                                         "/queries/{query_id}/attachments",
                                         "/queries/{query_id}/attachments/{attachment_id}"}
    assert {p for _, p, _ in PLAN_ROUTES} >= {"/plans/{day}", "/plans/{day}/agents/{agent_id}", "/maps/plans/{day}"}


@pytest.mark.parametrize(("method", "path", "op"), PLAN_ROUTES, ids=[f"{m} {p}" for m, p, _ in PLAN_ROUTES])
def test_buyer_a_sees_nothing_of_buyer_b_in_plans(app, client, world, method, path, op):
    a = bearer(client, world["a"])
    before = _snapshot(client, world)
    r = _call(client, app.openapi(), method, path, op, a, lambda name: _path_value(name, world))
    assert _snapshot(client, world) == before
    assert r.status_code in (200, 403, 404), (method, path, r.status_code, r.text)
    assert world["buyer_b_reference"] not in r.text
    for case_id in world["planned_cases"]:  # as a GeoJSON property or in a map popup
        assert not re.search(rf'"case_id":\s*{case_id}\b|Case {case_id}\b', r.text), (method, path)


def test_buyer_b_sees_its_planned_and_dropped_visits(client, world):
    b = bearer(client, world["b"])
    doc = client.get(f"/plans/{PLAN_DAY.isoformat()}", headers=b).json()
    assert {(f["properties"]["kind"], f["properties"]["case_id"]) for f in doc["features"]} == {
        ("visit", world["planned_cases"][0]), ("dropped", world["planned_cases"][1])}
    page = client.get(f"/maps/plans/{PLAN_DAY.isoformat()}", headers=b).text
    assert all(f"<b>Case {case_id}</b>" in page for case_id in world["planned_cases"])


def test_buyer_b_reads_its_own(client, world):
    b = bearer(client, world["b"])
    for method, path, op in ROUTES:
        if method != "GET":
            continue
        url = path.format(**{p["name"]: _path_value(p["name"], world)
                             for p in op.get("parameters", []) if p["in"] == "path"})
        r = client.get(url, headers=b)
        assert r.status_code == 200, (path, r.status_code, r.text)
    found = client.get("/cases", headers=b, params={"supplier_reference": world["supplier_reference"]}).json()
    assert [c["id"] for c in found["items"]] == [world["case_id"]]
