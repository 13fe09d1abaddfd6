"""The policies API and CLI: staff read all, a buyer only its own policy (others 404, views audited),
admins add versions (audited; a bad document is 422 naming the field)."""
from __future__ import annotations

import uuid

import pytest
import yaml
from sqlalchemy import delete, select
from typer.testing import CliRunner

from cli import app as cli_app
from core import session_scope
from core.models import AuditEvent, Buyer, User
from core.users import create_user
from core.visit_policy import POLICY_DIR
from tests.helpers import PASSWORD, bearer, unique



@pytest.fixture(scope="module")
def people(policies_loaded):
    """An admin, a dispatcher and a user of a buyer following the Plymouth policy; removed afterwards."""
    with session_scope() as db:
        buyer = Buyer(reference=unique("policy-buyer"), name="Plymouth Test", kind="council", policy_name="plymouth")
        db.add(buyer)
        db.flush()
        users = {role: create_user(db, username=unique(role), password=PASSWORD, role=role, actor="test").username
                 for role in ("admin", "dispatcher")}
        users["buyer"] = create_user(db, username=unique("buyer"), password=PASSWORD, role="buyer",
                                     buyer_reference=buyer.reference, actor="test").username
        reference = buyer.reference
    yield users
    with session_scope() as db:
        db.execute(delete(User).where(User.username.in_(users.values())))
        db.execute(delete(Buyer).where(Buyer.reference == reference))


def document() -> dict:
    doc = yaml.safe_load((POLICY_DIR / "croydon.yaml").read_text())
    return {k: v for k, v in doc.items() if k not in ("name", "effective_from")}


def test_staff_see_every_policy(client, people) -> None:
    r = client.get("/policies", headers=bearer(client, people["dispatcher"]))
    assert r.status_code == 200
    assert {"ccs_default", "plymouth", "newcastle", "croydon"} <= {p["name"] for p in r.json()}


def test_buyer_sees_only_its_own_policy_and_views_are_audited(client, people) -> None:
    headers = bearer(client, people["buyer"])
    r = client.get("/policies", headers=headers)
    assert [p["name"] for p in r.json()] == ["plymouth"]
    r = client.get("/policies/plymouth", headers=headers)
    assert r.status_code == 200 and r.json()[0]["document"]["min_visits_before_return"] == 5
    # Another buyer's policy and a policy that does not exist look the same.
    other, missing = (client.get(f"/policies/{n}", headers=headers) for n in ("newcastle", "no_such_policy"))
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"] == "no policy 'newcastle'"
    with session_scope() as db:
        targets = db.scalars(select(AuditEvent.target).where(AuditEvent.actor == f"user:{people['buyer']}",
                                                             AuditEvent.action == "view")).all()
    assert sorted(targets) == ["policies", "policy:plymouth"]


def test_admin_adds_a_version_audited(client, people) -> None:
    name = f"t_{uuid.uuid4().hex[:10]}"
    headers = bearer(client, people["admin"])
    r = client.post(f"/policies/{name}/versions", headers=headers,
                    json={"effective_from": "2025-01-01", "document": document()})
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["source"]) == (1, f"api:user:{people['admin']}")
    again = client.post(f"/policies/{name}/versions", headers=headers,
                        json={"effective_from": "2025-01-01", "document": document()})
    assert again.status_code == 409
    with session_scope() as db:
        audit = db.scalars(select(AuditEvent).where(AuditEvent.target == f"policy:{name}")).one()
    assert (audit.action, audit.actor, audit.data["version"]) == ("policy.version", f"user:{people['admin']}", 1)


def test_bad_document_is_422_with_the_field_path(client, people) -> None:
    bad = document()
    bad["hours"]["saturday"] = [{"start": "06:00", "end": "25:00"}]
    r = client.post("/policies/plymouth/versions", headers=bearer(client, people["admin"]),
                    json={"effective_from": "2031-01-01", "document": bad})
    assert r.status_code == 422
    assert "hours.saturday[0].end:" in r.json()["detail"]


def test_non_admin_may_not_edit(client, people) -> None:
    for role in ("dispatcher", "buyer"):
        r = client.post("/policies/plymouth/versions", headers=bearer(client, people[role]),
                        json={"effective_from": "2031-01-01", "document": document()})
        assert r.status_code == 403


def test_cli_load_and_show(policies_loaded) -> None:
    runner = CliRunner()
    loaded = runner.invoke(cli_app, ["policies", "load"])
    assert loaded.exit_code == 0, loaded.output
    assert "plymouth v1 from 2024-01-01 (plymouth.yaml): unchanged" in loaded.output
    shown = runner.invoke(cli_app, ["policies", "show", "newcastle"])
    assert shown.exit_code == 0 and "# newcastle v1 from 2024-01-01 (in force)" in shown.output
    assert '"return_on_day": 169' in shown.output
    assert runner.invoke(cli_app, ["policies", "show", "no_such_policy"]).exit_code == 1
