"""The CLI's names and flags are contracts; ``bailiwick serve`` really serves."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from cli import app
from core import session_scope
from core.models import User
from core.settings import Settings
from core.users import create_user
from tests.helpers import free_port, unique

runner = CliRunner()


@pytest.mark.parametrize("command, flags", [
    (["db", "upgrade"], []),
    (["geodata", "load"], ["--force"]),
    (["seed"], ["--scenario", "--seed"]),
    (["user", "add"], ["--username", "--password", "--role", "--buyer"]),
    (["serve"], ["--host", "--port"]),
    (["demo"], []),
])
def test_commands_and_flags_exist(command, flags):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    for flag in flags:
        assert flag in result.output


def test_seed_rejects_an_unknown_scenario():
    result = runner.invoke(app, ["seed", "--scenario", "galactic"])
    assert result.exit_code == 2
    assert "galactic" in result.output


def _bailiwick() -> str:
    return shutil.which("bailiwick", path=str(Path(sys.executable).parent)) or "bailiwick"


def test_serve_answers_health_and_issues_tokens(migrated):
    port, name = free_port(), unique("serve")
    with session_scope() as db:
        create_user(db, username=name, password="a long password", role="dispatcher", actor="test")
    proc = subprocess.Popen([_bailiwick(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        token = httpx.post(f"{base}/auth/token", data={"username": name, "password": "a long password"})
        assert token.status_code == 200
        me = httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.json()["username"] == name
        assert httpx.get(f"{base}/users/me").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
        with session_scope() as db:
            db.execute(delete(User).where(User.username == name))


def test_signing_key_is_generated_once_into_a_private_file(tmp_path):
    settings = Settings(jwt_secret="", secrets_dir=tmp_path / "secrets")
    key = settings.signing_key()
    path = tmp_path / "secrets" / "jwt_secret"
    assert len(key) >= 48 and path.read_text().strip() == key
    assert path.stat().st_mode & 0o077 == 0
    assert Settings(jwt_secret="", secrets_dir=tmp_path / "secrets").signing_key() == key
    assert Settings(jwt_secret="from-env", secrets_dir=tmp_path / "secrets").signing_key() == "from-env"
