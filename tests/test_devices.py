"""``bailiwick device add`` and ``device list`` through the real CLI entry point and database."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from cli import app
from core import session_scope
from core.models import Agent, AuditEvent, Device, Subcontractor, Van
from core.security import verify_device_secret
from tests.case_world import make_agent
from tests.helpers import unique

runner = CliRunner()


def make_van(db, firm_id: int) -> Van:
    van = Van(reference=unique("van"), vrm=uuid.uuid4().hex[:7].upper(), subcontractor_id=firm_id)
    db.add(van)
    db.flush()
    return van


@pytest.fixture
def owners(migrated):
    """An agent and a van of the same firm, and every device registered for them removed after."""
    with session_scope() as db:
        agent = make_agent(db)
        van = make_van(db, agent.subcontractor_id)
        ids = {"agent": agent.id, "agent_ref": agent.reference, "van": van.id, "van_ref": van.reference,
               "firm": agent.subcontractor_id}
    yield ids
    with session_scope() as db:
        db.execute(delete(Device).where((Device.agent_id == ids["agent"]) | (Device.van_id == ids["van"])))
        db.execute(delete(Van).where(Van.id == ids["van"]))
        db.execute(delete(Agent).where(Agent.id == ids["agent"]))
        db.execute(delete(Subcontractor).where(Subcontractor.id == ids["firm"]))


def _add(*args: str):
    return runner.invoke(app, ["device", "add", *args])


def test_add_a_phone_prints_a_generated_secret_once_and_stores_only_its_hash(owners):
    device_id = unique("phone")
    result = _add("--device-id", device_id, "--agent", owners["agent_ref"])
    assert result.exit_code == 0, result.output
    [secret] = [line.split(": ", 1)[1] for line in result.output.splitlines() if line.startswith("secret: ")]
    assert len(secret) >= 40  # token_urlsafe(32): 256 bits
    with session_scope() as db:
        device = db.scalar(select(Device).where(Device.device_id == device_id))
        assert (device.kind, device.agent_id, device.van_id) == ("phone", owners["agent"], None)
        assert device.credential_hash.startswith("$7$") and secret not in device.credential_hash
        assert verify_device_secret(secret, device.credential_hash)
        # The newest: a reseed restarts device ids, and the audit trail keeps every row.
        audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "device.create",
                                                   AuditEvent.target == f"device:{device.id}")
                          .order_by(AuditEvent.id.desc()).limit(1))
        assert audit.data["device_id"] == device_id and audit.actor.startswith("cli:")
        assert secret not in str(audit.data)

    listed = runner.invoke(app, ["device", "list"])
    assert listed.exit_code == 0, listed.output
    [line] = [line for line in listed.output.splitlines() if line.startswith(device_id)]
    assert f"agent {owners['agent_ref']}" in line and "phone" in line
    assert secret not in listed.output and "$7$" not in listed.output


def test_add_a_van_device_with_a_given_secret_prints_no_secret(owners):
    device_id, secret = unique("van-unit"), "a-long-enough-van-secret"
    result = _add("--device-id", device_id, "--van", owners["van_ref"], "--secret", secret)
    assert result.exit_code == 0, result.output
    assert "secret" not in result.output and secret not in result.output
    with session_scope() as db:
        device = db.scalar(select(Device).where(Device.device_id == device_id))
        assert (device.kind, device.agent_id, device.van_id) == ("van", None, owners["van"])
        assert verify_device_secret(secret, device.credential_hash)
    listed = runner.invoke(app, ["device", "list"])
    [line] = [line for line in listed.output.splitlines() if line.startswith(device_id)]
    assert f"van {owners['van_ref']}" in line and " van " in line


def test_add_refuses_bad_input_naming_the_flag_and_stores_nothing(owners):
    taken = unique("phone")
    assert _add("--device-id", taken, "--agent", owners["agent_ref"]).exit_code == 0
    cases = [
        ([], "agent: give exactly one of --agent"),
        (["--agent", owners["agent_ref"], "--van", owners["van_ref"]], "agent: give exactly one of --agent"),
        (["--agent", "no-such-agent-" + unique("x")], "agent: no agent with reference"),
        (["--van", "no-such-van-" + unique("x")], "van: no van with reference"),
        (["--agent", owners["agent_ref"], "--secret", "short"], "secret: must be at least 16"),
    ]
    for extra, message in cases:
        device_id = unique("refused")
        result = _add("--device-id", device_id, *extra)
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
        with session_scope() as db:
            assert db.scalar(select(Device.id).where(Device.device_id == device_id)) is None

    duplicate = _add("--device-id", taken, "--van", owners["van_ref"])
    assert duplicate.exit_code == 2 and f"device-id: {taken!r} is already registered" in duplicate.output
    for bad in ("has/slash", "wild+card", "with space", "colon:in", "#", ""):
        result = _add("--device-id", bad, "--agent", owners["agent_ref"])
        assert result.exit_code == 2 and "device-id:" in result.output, (bad, result.output)
    with session_scope() as db:
        assert db.scalar(select(Device.van_id).where(Device.device_id == taken)) is None
