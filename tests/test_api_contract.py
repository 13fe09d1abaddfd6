"""The API's contract: every operation of ``/openapi.json`` (less the long plan and re-plan routes) is
called with data schemathesis generates from the spec itself, as an admin and as a buyer, and each
answer must be documented: no server error, no status the spec does not list, no body that breaks the
schema it documents. The run is in process, seeded and bounded so that it stays well under a minute;
``bench/api_fuzz.py`` is the longer run.

Generated ids rarely name a stored case, so each example is also sent with the path's ``case_id`` set
to a seeded case of the buyer's: the routes then go past their 404 into the real work.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api import create_app
from core import session_scope
from tests.case_world import ENFORCED, bearer, make_agent, make_buyer, make_case, make_user

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Minutes of solving per call: covered by their own tests (test_api_plans, test_replan).
LONG_OPERATIONS = {("POST", "/plans"), ("POST", "/plans/{day}/replan")}


def contract_schema(app):
    """The app's spec as schemathesis tests it, the long operations left out (shared with the bench)."""
    return schemathesis.openapi.from_asgi("/openapi.json", app).exclude(
        lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in LONG_OPERATIONS)


@pytest.fixture(scope="module")
def world(policies_loaded):
    with session_scope() as db:
        buyer = make_buyer(db)
        case = make_case(db, buyer, postcode="PL4 8AA", **ENFORCED)
        make_case(db, buyer, postcode="PL4 9ZZ")
        agent = make_agent(db)
        users = {"admin": make_user(db, "admin"), "buyer": make_user(db, "buyer", buyer=buyer)}
    return {"case_id": case.id, "agent_id": agent.id, "users": users}


@pytest.fixture(scope="module")
def headers(client, world):
    return {role: bearer(client, username) for role, username in world["users"].items()}


# Loaded at collection: reading the spec touches no database.
schema = contract_schema(create_app())


@schema.parametrize()
@settings(max_examples=6, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented(case, headers, world):
    for role in ("admin", "buyer"):
        case.call_and_validate(headers=headers[role], checks=CHECKS)
    if "case_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "case_id": world["case_id"]}
        for role in ("admin", "buyer"):
            case.call_and_validate(headers=headers[role], checks=CHECKS)
