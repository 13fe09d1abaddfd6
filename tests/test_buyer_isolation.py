"""Buyer isolation across every case, visit and policy route: buyer A's token on buyer B's case, visit
or policy is 404 (not 403, so existence does not leak) and changes nothing; buyer B sees its own.

The routes come from the app's own OpenAPI paths, so routes added later are covered without editing
this test; a path parameter this test cannot fill fails loudly instead of being skipped.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from api import create_app
from core import session_scope
from core.models import CaseEvent, LedgerEntry, Visit
from core.visits import record_visit
from tests.case_world import bearer, make_agent, make_buyer, make_case, make_user

PREFIXES = ("/cases", "/visits", "/policies", "/dispatch")


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture(scope="module")
def world(policies_loaded):
    """Buyer A (Plymouth's policy) and buyer B (Croydon's), B's case in the enforcement stage with a
    visit, and one user each plus an admin."""
    with session_scope() as db:
        buyer_a, buyer_b = make_buyer(db, "plymouth"), make_buyer(db, "croydon")
        case = make_case(db, buyer_b, stage="enforcement", notice_issued_on=date(2026, 1, 6),
                         enforcement_stage_on=date(2026, 2, 2))
        visit = record_visit(db, case_id=case.id, outcome="refused", arrived_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
                             actor="test", agent_id=make_agent(db).id).visit
        ids = {"case_id": case.id, "visit_id": visit.id, "supplier_reference": case.supplier_reference,
               "policy_b": buyer_b.policy_name, "buyer_a": buyer_a.id,
               "a": make_user(db, "buyer", buyer=buyer_a), "b": make_user(db, "buyer", buyer=buyer_b),
               "admin": make_user(db, "admin")}
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
    if name in ("case_id", "visit_id"):
        return world[name]
    if name in ("name", "policy_name", "policy"):
        return world["policy_b"]
    raise AssertionError(f"test_buyer_isolation cannot fill path parameter {{{name}}}: teach _path_value")


def _routes(app) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in app.openapi()["paths"].items()
            if path.startswith(PREFIXES) and "{" in path for method, op in ops.items()]


def _snapshot(client, world) -> tuple:
    admin = bearer(client, world["admin"])
    detail = client.get(f"/cases/{world['case_id']}", headers=admin).json()
    with session_scope() as db:
        counts = tuple(db.scalar(select(func.count()).select_from(t).where(t.case_id == world["case_id"]))
                       for t in (CaseEvent, LedgerEntry, Visit))
    return detail, counts


ROUTES = _routes(create_app())


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
    assert _snapshot(client, world) == before


def test_the_walk_sees_the_case_and_visit_routes():
    assert {p for _, p, _ in ROUTES} >= {"/cases/{case_id}", "/cases/{case_id}/history",
                                         "/cases/{case_id}/transitions", "/cases/{case_id}/visits"}


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
