"""The CLI's names and flags are contracts; ``bailiwick serve`` really serves."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer.main
from sqlalchemy import delete
from typer.testing import CliRunner

from cli import app
from core import session_scope
from core.models import User
from core.settings import Settings
from core.users import create_user
from tests.helpers import free_port, unique

runner = CliRunner()
README = Path(__file__).resolve().parents[1] / "README.md"


def cli_commands(group=None, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """Every command the ``bailiwick`` CLI runs, by its words (``("db", "upgrade")``)."""
    group = group or typer.main.get_command(app)
    found = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= cli_commands(command, (*path, name))
        else:
            found[(*path, name)] = command
    return found


def readme_commands() -> dict[tuple[str, ...], set[str]]:
    """The commands of the README's "Command line" block, each with the flags its lines show."""
    section = README.read_text().split("\n## Command line\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    root, documented = typer.main.get_command(app), {}
    for line in block.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        assert words[0] == "bailiwick", line
        command, path = root, ()
        for word in words[1:]:
            if not hasattr(command, "commands") or word not in command.commands:
                break
            command, path = command.commands[word], (*path, word)
        documented.setdefault(path, set()).update(re.findall(r"--[a-z][a-z-]*", line.split("#", 1)[0]))
    return documented


def test_readme_command_line_shows_every_command_and_flag_and_no_other():
    documented, commands = readme_commands(), cli_commands()
    assert set(documented) == set(commands)
    for path, command in commands.items():
        options = [set(p.opts + p.secondary_opts) for p in command.params if p.param_type_name == "option"]
        assert documented[path] <= set().union(*options), (path, documented[path])
        assert [o for o in options if not o & documented[path]] == [], path


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
