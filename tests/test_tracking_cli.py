"""``bailiwick tracking stops`` and ``tracking evidence`` (issue 11): the stops CSV's exact columns and
rows, the evidence the command stores, and bad flags refused with exit 2 naming the flag."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from core import session_scope
from core.models import UnmatchedStop, VisitEvidence
from tests.test_evidence import DAY, AgentDay, make_agent_day

runner = CliRunner()


@pytest.fixture
def agent_day(geodata_loaded) -> AgentDay:
    return make_agent_day()


def test_stops_writes_every_stop_of_the_day_with_its_match(agent_day, tmp_path: Path) -> None:
    out = tmp_path / "stops.csv"
    result = runner.invoke(app, ["tracking", "stops", "--day", DAY.isoformat(), "--agent",
                                 str(agent_day.agent_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 stops written" in result.output
    with out.open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["agent_id", "device_id", "arrival", "departure", "lat", "lon", "postcode", "case_id",
                       "source"]
    visit, halt = (dict(zip(rows[0], r)) for r in rows[1:])
    assert (visit["agent_id"], visit["device_id"]) == (str(agent_day.agent_id), agent_day.device_id)
    assert visit["case_id"] == str(agent_day.visited_case) and halt["case_id"] == ""
    assert visit["source"] == halt["source"] == "fixes"
    # London time with its offset: GMT in March.
    assert visit["arrival"].startswith("2026-03-02T09:0") and visit["arrival"].endswith("+00:00")
    assert visit["arrival"] < visit["departure"] < halt["arrival"] < halt["departure"]
    assert visit["postcode"].startswith("PL") and halt["postcode"].startswith("PL")
    assert abs(float(visit["lat"]) - 50.3713) < 0.001


def test_evidence_stores_the_day_and_a_rerun_adds_nothing(agent_day) -> None:
    args = ["tracking", "evidence", "--day", DAY.isoformat(), "--agent", str(agent_day.agent_id)]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "1 visit evidence, 1 unmatched stops" in result.output
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(VisitEvidence)
                         .where(VisitEvidence.device_id == agent_day.device_id)) == 1
        assert db.scalar(select(func.count()).select_from(UnmatchedStop)
                         .where(UnmatchedStop.device_id == agent_day.device_id)) == 1


@pytest.mark.parametrize("flags, named", [
    (["--day", "2026-02-30"], "--day"),
    (["--day", "yesterday"], "--day"),
    (["--day", "2026-03-02", "--agent", "jane"], "--agent"),
    (["--day", "2026-03-02", "--agent", "999999999"], "--agent"),
])
@pytest.mark.parametrize("command", ["stops", "evidence"])
def test_a_bad_flag_exits_2_naming_it(migrated, tmp_path: Path, command: str, flags: list[str],
                                      named: str) -> None:
    out = tmp_path / "stops.csv"
    extra = ["--out", str(out)] if command == "stops" else []
    result = runner.invoke(app, ["tracking", command, *flags, *extra])
    assert result.exit_code == 2
    assert named in result.output
    assert not out.exists()
