"""Authentication, roles and error shape of the API, against the real database and services."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from api import PUBLIC_PATHS, create_app
from api.tokens import issue_token
from core import get_settings, session_scope
from core.models import AuditEvent, Buyer, User
from core.users import create_user
from tests.helpers import PASSWORD, bearer, unique
from tests.query_world import make_firm

@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture(scope="module")
def people(migrated):
    """One user per role, and two buyers; removed afterwards."""
    with session_scope() as db:
        buyers = [Buyer(reference=unique("test-buyer"), name="Test Council", kind="council") for _ in range(2)]
        db.add_all(buyers)
        db.flush()
        users = {}
        for role in ("admin", "dispatcher", "regional_manager", "agent", "device"):
            users[role] = create_user(db, username=unique(role), password=PASSWORD, role=role, actor="test").username
        users["buyer"] = create_user(db, username=unique("buyer"), password=PASSWORD, role="buyer",
                                     buyer_reference=buyers[0].reference, actor="test").username
        refs = [b.reference for b in buyers]
    yield {"users": users, "buyers": refs}
    with session_scope() as db:
        db.execute(delete(User).where(User.username.in_(users.values())))
        db.execute(delete(Buyer).where(Buyer.reference.in_(refs)))


def login(client, username, password=PASSWORD):
    return client.post("/auth/token", data={"username": username, "password": password})


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_the_public_ones_needs_a_token(app, client, migrated):
    """A bearer token, but on the vendors' ANPR webhooks, which sign in as a van device (HTTP Basic)."""
    # The OpenAPI schema is the app's own public list of routes, whatever the router nesting.
    checked = devices = 0
    for path, operations in app.openapi()["paths"].items():
        if path in PUBLIC_PATHS:
            continue
        device = path.startswith("/anpr/webhooks/")
        for method in operations:
            r = client.request(method.upper(), _concrete(path))
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.json()["detail"].startswith("not authenticated")
            assert r.headers["www-authenticate"] == ("Basic" if device else "Bearer")
            checked += 1
            devices += device
    assert checked >= 5 and devices == 2  # the walk really saw the routers


def test_public_routes_answer_without_a_token(client, migrated):
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/health").status_code in (200, 503)


def test_login_wrong_password_and_unknown_user_are_401(client, people):
    assert login(client, people["users"]["admin"], "wrong password!").status_code == 401
    r = login(client, unique("nobody"))
    assert r.status_code == 401
    assert r.json() == {"detail": "incorrect username or password"}


def test_token_gives_the_principal(client, people):
    r = client.get("/users/me", headers=bearer(client, people["users"]["buyer"]))
    assert r.status_code == 200
    me = r.json()
    assert me["role"] == "buyer" and me["buyer_id"] is not None


def test_expired_token_is_401(client, people):
    with session_scope() as db:
        user = db.scalar(select(User).where(User.username == people["users"]["admin"]))
        token = issue_token(user, expires_in=timedelta(seconds=-1))
    r = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["detail"] == "token expired"


def test_forged_token_is_401(client, people, monkeypatch):
    monkeypatch.setattr(get_settings(), "jwt_secret", "someone else's signing key, long enough for HS256")
    with session_scope() as db:
        forged = issue_token(db.scalar(select(User).where(User.username == people["users"]["admin"])))
    monkeypatch.undo()
    r = client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert r.json()["detail"] == "invalid token"


def test_disabled_user_token_stops_working_at_once(client, people):
    username = people["users"]["dispatcher"]
    h = bearer(client, username)
    with session_scope() as db:
        db.scalar(select(User).where(User.username == username)).active = False
    try:
        assert client.get("/users/me", headers=h).status_code == 401
        assert login(client, username).status_code == 401
    finally:
        with session_scope() as db:
            db.scalar(select(User).where(User.username == username)).active = True


@pytest.mark.parametrize("role, method, path", [
    ("agent", "GET", "/caseload"),
    ("device", "GET", "/caseload"),
    ("buyer", "GET", "/users"),
    ("dispatcher", "POST", "/users"),
    ("device", "GET", "/geography/postcodes/PL1%202AA"),
])
def test_wrong_role_is_403(client, people, role, method, path):
    r = client.request(method, path, headers=bearer(client, people["users"][role]), json={})
    assert r.status_code == 403, r.text
    assert f"role {role} may not do this" in r.json()["detail"]


def test_admin_creates_users_and_it_is_audited(client, people):
    h = bearer(client, people["users"]["admin"])
    name = unique("newbuyer")
    r = client.post("/users", headers=h, json={"username": name, "password": PASSWORD, "role": "buyer",
                                               "buyer": people["buyers"][1]})
    assert r.status_code == 201, r.text
    try:
        assert client.post("/users", headers=h, json={"username": name, "password": PASSWORD,
                                                      "role": "dispatcher"}).status_code == 409
        with session_scope() as db:
            stored = db.scalar(select(User).where(User.username == name))
            assert stored.password_hash.startswith("$argon2")
            audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.create",
                                                       AuditEvent.target == f"user:{stored.id}"))
            assert audit.actor == f"user:{people['users']['admin']}"
    finally:
        with session_scope() as db:
            db.execute(delete(User).where(User.username == name))


def test_bad_input_gets_422_naming_the_field(client, people):
    h = bearer(client, people["users"]["admin"])
    r = client.post("/users", headers=h, json={"username": unique("x"), "password": PASSWORD, "role": "overlord"})
    assert r.status_code == 422
    body = r.json()
    assert "role" in body["detail"] and body["errors"][0]["field"] == "role"
    r = client.post("/users", headers=h, json={"username": unique("x"), "password": PASSWORD, "role": "buyer"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("buyer:")


def test_buyer_sees_only_its_own_caseload_and_the_view_is_audited(client, people):
    username = people["users"]["buyer"]
    r = client.get("/caseload", headers=bearer(client, username))
    assert r.status_code == 200
    assert r.json()["buyers"] == [people["buyers"][0]]
    with session_scope() as db:
        views = db.scalars(select(AuditEvent).where(AuditEvent.actor == f"user:{username}",
                                                    AuditEvent.action == "view")).all()
    assert [v.target for v in views] == ["caseload"]
    r = client.get("/caseload", headers=bearer(client, people["users"]["regional_manager"]))
    assert set(people["buyers"]) <= set(r.json()["buyers"])


def test_unexpected_errors_are_json_without_internals(people):
    app = create_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal server error"}
    assert "secret" not in r.text


def test_admin_creates_a_subcontractor_user_bound_to_its_firm(client, people):
    h = bearer(client, people["users"]["admin"])
    with session_scope() as db:
        firm = make_firm(db)
        firm_id, firm_ref = firm.id, firm.reference
    name = unique("firmuser")
    try:
        r = client.post("/users", headers=h, json={"username": name, "password": PASSWORD, "role": "subcontractor",
                                                   "subcontractor": firm_ref})
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["role"], made["subcontractor_id"], made["buyer_id"]) == ("subcontractor", firm_id, None)
        # The firm is required for the role, and refused for any other; an unknown firm is named.
        for body in ({"role": "subcontractor"}, {"role": "subcontractor", "subcontractor": "no-such-firm"},
                     {"role": "dispatcher", "subcontractor": firm_ref}):
            r = client.post("/users", headers=h, json={"username": unique("x"), "password": PASSWORD, **body})
            assert r.status_code == 422, (body, r.text)
            assert r.json()["detail"].startswith("subcontractor:"), (body, r.text)
    finally:
        with session_scope() as db:
            db.execute(delete(User).where(User.username == name))
