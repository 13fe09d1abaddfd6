"""Benchmark: the API's contract fuzzed at length (the long form of ``tests/test_api_contract.py``).

Every operation of ``/openapi.json`` except the long plan and re-plan routes is called in process with
data schemathesis generates from the spec in all its phases (the spec's examples, the coverage phase's
boundary values, fuzzing with valid and invalid data), as an admin and as a buyer; an operation with a
``case_id`` in its path is called again with a case of that buyer's, so the routes go past their 404. Each answer is checked: not a server error (an exception raised by the app
counts as one), a status the spec documents, a body matching the schema it documents.

Database: ``bailiwick_bench`` (or ``BAILIWICK_BENCH_DATABASE_URL``) with ``_api_<scenario>`` appended,
created, migrated, loaded with the reference geography and the shipped policies, and seeded (seed 1)
with the scenario (``tiny`` by default) when it has no agents. Fuzzing changes its data (transitions,
visits, payments); nothing here depends on that.

Run: ``.venv/bin/python bench/api_fuzz.py [--examples 50] [--scenario tiny|demo]``. Progress goes line
by line; the last line is ``RESULT operations=… cases=… server_errors=… undocumented=…
schema_violations=…`` (cases: requests sent; the other three: failing requests of each kind).
"""
from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

SEED = 1
# Minutes of solving per call: benched by bench/day.py, tested by test_api_plans and test_replan.
LONG_OPERATIONS = {("POST", "/plans"), ("POST", "/plans/{day}/replan")}
KINDS = ("server_errors", "undocumented", "schema_violations")


def database_url(scenario: str) -> str:
    from common import bench_url

    parsed = make_url(bench_url())
    return parsed.set(database=f"{parsed.database}_api_{scenario}").render_as_string(hide_password=False)


def prepare(url: str, scenario: str) -> dict[str, object]:
    """The seeded database, and the two users' tokens and a case of the buyer's."""
    from common import ensure_database

    import geodata
    import sim
    from api import issue_token
    from core import create_user, get_settings, load_policies, session_scope
    from core.models import Agent, Buyer, Case

    ensure_database(url)
    geodata.load_all(get_settings().geodata_dir, url, progress=False)  # skips unchanged files
    with session_scope(url) as db:
        load_policies(db, actor="bench:api_fuzz")
        seeded = db.scalar(select(func.count()).select_from(Agent))
    if not seeded:
        print(f"seeding {scenario} into {make_url(url).database} …", flush=True)
        print(sim.seed_scenario(scenario, seed=SEED, progress=False, url=url).describe(), flush=True)
    stamp = time.strftime("%Y%m%d%H%M%S")
    with session_scope(url) as db:
        case = db.scalars(select(Case).order_by(Case.id)).first()
        buyer = db.get(Buyer, case.buyer_id)
        admin = create_user(db, username=f"fuzz-admin-{stamp}", password="fuzz-password", role="admin",
                            actor="bench:api_fuzz")
        buyer_user = create_user(db, username=f"fuzz-buyer-{stamp}", password="fuzz-password", role="buyer",
                                 buyer_reference=buyer.reference, actor="bench:api_fuzz")
        db.flush()
        tokens = {"admin": issue_token(admin), "buyer": issue_token(buyer_user)}
    return {"case_id": case.id, "headers": {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}}


def _one_line(message: str) -> str:
    return " ".join(message.split())[:300]


def fuzz(operation, examples: int, world: dict, counts: Counter, findings: dict[tuple[str, str], str]) -> None:
    """Every phase schemathesis has for one operation: the schema's examples, the coverage phase's
    boundary values and ``examples`` fuzzed cases of each generation mode (positive and negative)."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup, ServerError
    from schemathesis.generation.hypothesis.builder import (
        HypothesisTestConfig,
        HypothesisTestMode,
        create_test,
    )
    from schemathesis.openapi.checks import JsonSchemaError, UndefinedStatusCode
    from schemathesis.specs.openapi.checks import (
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    kind_of = {ServerError: "server_errors", UndefinedStatusCode: "undocumented",
               JsonSchemaError: "schema_violations"}
    label = f"{operation.method.upper()} {operation.path}"

    def send(case, headers: dict[str, str]) -> None:
        counts["cases"] += 1
        try:
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                kind = next((k for cls, k in kind_of.items() if isinstance(failure, cls)), None)
                if kind:
                    counts[kind] += 1
                    findings.setdefault((label, kind), _one_line(f"{failure.title}: {failure}"))
        except Exception as exc:  # noqa: BLE001 (the app raised: a client would have had a 500)
            counts["server_errors"] += 1
            findings.setdefault((label, "server_errors"), _one_line(f"{type(exc).__name__}: {exc}"))

    def run(case) -> None:
        # Failures are counted, not raised: no shrinking, no stop at the first, every example counts.
        headers = world["headers"]
        for role in ("admin", "buyer"):
            send(case, headers[role])
        if "case_id" in (case.path_parameters or {}):
            # Generated ids rarely name a stored case: the buyer's own case goes past the 404.
            case.path_parameters = {**case.path_parameters, "case_id": world["case_id"]}
            for role in ("admin", "buyer"):
                send(case, headers[role])

    config = HypothesisTestConfig(
        project=operation.schema.config, modes=list(HypothesisTestMode), seed=SEED,
        settings=settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
    try:
        create_test(operation=operation, test_func=run, config=config)()
    except Unsatisfiable:
        pass  # nothing of that mode exists, e.g. no invalid request to a route without parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="fuzzed examples per operation")
    parser.add_argument("--scenario", default="tiny", choices=("tiny", "demo"))
    args = parser.parse_args()

    url = database_url(args.scenario)
    # The app reads the database from the settings: point them at the bench database first.
    os.environ["BAILIWICK_DATABASE_URL"] = url
    from core import get_settings

    get_settings.cache_clear()
    world = prepare(url, args.scenario)

    import schemathesis

    from api import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = [r.ok() for r in schema.get_all_operations()
                  if (r.ok().method.upper(), r.ok().path) not in LONG_OPERATIONS]
    counts: Counter = Counter()
    findings: dict[tuple[str, str], str] = {}
    started = time.monotonic()
    print(f"fuzzing {len(operations)} operations, {args.examples} fuzzed examples each, {date.today()}", flush=True)
    for i, operation in enumerate(operations, 1):
        before = sum(counts[k] for k in KINDS)
        fuzz(operation, args.examples, world, counts, findings)
        found = sum(counts[k] for k in KINDS) - before
        print(f"[{i}/{len(operations)}] {operation.method.upper()} {operation.path}: {counts['cases']} requests "
              f"so far, {found} failing here ({time.monotonic() - started:.0f} s)", flush=True)
    for (label, kind), message in sorted(findings.items()):
        print(f"  {kind} {label}: {message}")
    print(f"RESULT operations={len(operations)} cases={counts['cases']} "
          + " ".join(f"{k}={counts[k]}" for k in KINDS), flush=True)


if __name__ == "__main__":
    main()
