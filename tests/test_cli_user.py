"""``bailiwick user add`` through the real CLI entry point and database."""
from __future__ import annotations

from sqlalchemy import delete, select
from typer.testing import CliRunner

from cli import app
from core import session_scope
from core.models import Agent, Buyer, Subcontractor, User
from tests.case_world import make_agent
from tests.helpers import unique

runner = CliRunner()


def test_user_add_creates_a_buyer_user_bound_to_its_buyer(migrated):
    ref, name = unique("cli-buyer"), unique("cli-user")
    with session_scope() as db:
        db.add(Buyer(reference=ref, name="CLI Council", kind="council"))
    try:
        result = runner.invoke(app, ["user", "add", "--username", name, "--password", "s3cret-enough",
                                     "--role", "buyer", "--buyer", ref])
        assert result.exit_code == 0, result.output
        with session_scope() as db:
            user = db.scalar(select(User).where(User.username == name))
            buyer = db.scalar(select(Buyer).where(Buyer.reference == ref))
            assert (user.role, user.buyer_id) == ("buyer", buyer.id)
            assert user.password_hash.startswith("$argon2") and "s3cret" not in user.password_hash
    finally:
        with session_scope() as db:
            db.execute(delete(User).where(User.username == name))
            db.execute(delete(Buyer).where(Buyer.reference == ref))


def test_user_add_links_an_agent_user_to_its_agent(migrated):
    name = unique("cli-agent")
    with session_scope() as db:
        agent = make_agent(db)
        ref, agent_id, firm_id = agent.reference, agent.id, agent.subcontractor_id
    try:
        result = runner.invoke(app, ["user", "add", "--username", name, "--password", "long enough",
                                     "--role", "agent", "--agent", ref])
        assert result.exit_code == 0, result.output
        with session_scope() as db:
            user = db.scalar(select(User).where(User.username == name))
            assert (user.role, user.agent_id, user.buyer_id) == ("agent", agent_id, None)
    finally:
        with session_scope() as db:
            db.execute(delete(User).where(User.username == name))
            db.execute(delete(Agent).where(Agent.id == agent_id))
            db.execute(delete(Subcontractor).where(Subcontractor.id == firm_id))


def test_user_add_refuses_bad_input_with_the_field_named(migrated):
    cases = [
        (["--role", "buyer"], "buyer: a buyer user needs"),
        (["--role", "buyer", "--buyer", unique("no-such-buyer")], "buyer: no buyer with reference"),
        (["--role", "dispatcher", "--buyer", "x"], "buyer: only buyer users"),
        (["--role", "emperor"], "role: unknown role"),
        (["--role", "agent", "--agent", unique("no-such-agent")], "agent: no agent with reference"),
    ]
    for extra, message in cases:
        name = unique("cli-bad")
        result = runner.invoke(app, ["user", "add", "--username", name, "--password", "long enough", *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output
        with session_scope() as db:
            assert db.scalar(select(User).where(User.username == name)) is None
