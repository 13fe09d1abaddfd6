"""The API's contract: every operation of ``/openapi.json`` (less the long plan and re-plan routes) is
called with data schemathesis generates from the spec itself, as an admin and as a buyer, and each
answer must be documented: no server error, no status the spec does not list, no body that breaks the
schema it documents. The run is in process, seeded and bounded so that it stays well under a minute;
``bench/api_fuzz.py`` is the longer run.

Generated ids rarely name a stored case, so an example with a ``case_id`` in its path is also sent
with it set to a seeded case of the buyer's, and the buyer sends only that one: the routes then go
past their 404 into the real work. The buyer leaves the coverage phase's boundary values (validation,
the same for every role) to the admin, which keeps the run short.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from api.schemas.common import INT4_MAX
from core import session_scope
from tests.case_world import (
    ENFORCED,
    bearer,
    make_agent,
    make_buyer,
    make_case,
    make_user,
)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Minutes of solving per call: covered by their own tests (test_api_plans, test_replan).
LONG_OPERATIONS = {("POST", "/plans"), ("POST", "/plans/{day}/replan")}


def contract_schema(app):
    """The app's spec as schemathesis tests it, the long operations left out."""
    return schemathesis.openapi.from_asgi("/openapi.json", app).exclude(
        lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in LONG_OPERATIONS)


@pytest.fixture(scope="module")
def world(geodata_loaded, policies_loaded):
    with session_scope() as db:
        buyer = make_buyer(db)
        case_id = make_case(db, buyer, postcode="PL4 8AA", **ENFORCED).id
        make_case(db, buyer, postcode="PL4 9ZZ")
        make_agent(db)  # an agent on shift: pins and why-answers have someone to name
        users = {"admin": make_user(db, "admin"), "buyer": make_user(db, "buyer", buyer=buyer)}
    return {"case_id": case_id, "users": users}


@pytest.fixture(scope="module")
def headers(client, world):
    return {role: bearer(client, username) for role, username in world["users"].items()}


# Loaded at collection: reading the spec touches no database.
schema = contract_schema(create_app())


@schema.parametrize()
@settings(max_examples=5, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented(case, headers, world):
    case.call_and_validate(headers=headers["admin"], checks=CHECKS)
    if "case_id" in (case.path_parameters or {}):
        # A buyer asking for a generated id learns only 404: its own case says more.
        case.path_parameters = {**case.path_parameters, "case_id": world["case_id"]}
        case.call_and_validate(headers=headers["admin"], checks=CHECKS)
    # The coverage phase's many boundary values test validation, which is the same for every role.
    if case.meta is None or case.meta.phase.name != TestPhase.COVERAGE:
        case.call_and_validate(headers=headers["buyer"], checks=CHECKS)


# What the first schemathesis run found as server errors, each now a 422 naming the field (or a 404).
@pytest.mark.parametrize(("method", "path", "field"), [
    ("GET", "/cases/2147483648", "case_id"),
    ("GET", "/cases/2147483648/ledger", "case_id"),
    ("DELETE", "/plans/2026-07-06/pins/9223372036854775808", "case_id"),
    ("GET", "/cases?offset=9223372036854775808", "offset"),
    ("GET", "/dispatch/why/1?day=0174-01-01", "day"),
    ("GET", "/plans/0174-01-01/pins", "day"),
    ("GET", "/cases?debtor_name=a%00b", "debtor_name"),
    ("GET", "/policies/a%00b", "name"),
])
def test_out_of_range_or_nul_is_a_422_naming_the_field(client, headers, method, path, field):
    r = client.request(method, path, headers=headers["admin"])
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_nul_in_a_placed_case_is_a_422_naming_the_field(client, headers):
    body = {"buyer_reference": "NUL\x00REF", "debt_type": "council_tax", "original_balance_pence": 100,
            "debtor": {"name": "A\x00B"}, "address": {"line1": "1 Test Street", "postcode": "PL1 2AA"}}
    r = client.post("/cases", json=body, headers=headers["buyer"])
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"buyer_reference", "debtor.name"}


def test_a_visit_by_an_unknown_agent_is_a_404_naming_it(client, headers, world):
    body = {"case_id": world["case_id"], "agent_id": INT4_MAX, "arrived_at": "2026-07-06T10:00:00+01:00",
            "outcome": "no_contact"}
    r = client.post("/visits", json=body, headers=headers["admin"])
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": f"agent {INT4_MAX} not found"}
