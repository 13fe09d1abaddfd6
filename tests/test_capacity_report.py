"""One buyer's monthly capacity report as HTML and XLSX [000 §1.8, §1.136]: from the CLI and the API,
with the buyer's figures, its flags and chart, and nothing of any other buyer."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli import app
from core import session_scope
from tests.capacity_world import CapacityWorld
from tests.case_world import make_user
from tests.helpers import bearer


@pytest.fixture
def world(geodata_loaded):
    """Twenty days in TLK of two agents serving buyers A and B in the plan, where B's visits are made
    only one day in four (so B is flagged), with users for both buyers and a regional manager."""
    with session_scope() as db:
        w = CapacityWorld(db)
        a, b, firm = w.buyer(), w.buyer(), w.firm()
        agents = [w.agent(firm), w.agent(firm)]
        cases = {(buyer.id, i): w.case(buyer, firm) for buyer in (a, b) for i in range(2)}
        for n in range(1, 21):
            d = w.day(n)
            w.plan(d, served=[(cases[(buyer.id, i)], agents[i], 95) for buyer in (a, b) for i in range(2)])
            for i, agent in enumerate(agents):
                w.agent_day(agent, d, 9.0, [(cases[(a.id, i)], 9.25, 9.5),
                                            (cases[(b.id, i)] if n % 4 == 0 else None, 9.75, 10.0)])
        info = {"month": w.month.strftime("%Y-%m"), "a": a.reference, "b": b.reference, "a_name": a.name,
                "b_name": b.name, "users": {"a": make_user(db, "buyer", buyer=a), "b": make_user(db, "buyer", buyer=b),
                                            "manager": make_user(db, "regional_manager")}}
    return info


def _report(*args: str):
    return CliRunner().invoke(app, ["report", "capacity", *args])


def test_the_cli_writes_xlsx_and_html_with_the_flag(world, tmp_path):
    xlsx = tmp_path / "b.xlsx"
    r = _report("--month", world["month"], "--buyer", world["b"], "--format", "xlsx", "--out", str(xlsx))
    assert r.exit_code == 0, r.output
    # Flagged in the region overall and in its one class (urgent), for all firms and for the one firm.
    assert "4 flagged" in r.output and "flagged: TLK all firms overall index 0.40" in r.output
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Summary", "Regions", "Index", "Weekly", "Performance"]
    assert len(wb["Summary"]._images) == 1  # the chart
    flagged = [row for row in wb["Index"].iter_rows(values_only=True) if row[-1] == "yes"]
    assert flagged and flagged[0][0] == "South West" and flagged[0][2] == "overall"
    html = tmp_path / "b.html"
    r = _report("--month", world["month"], "--buyer", world["b"], "--format", "html", "--out", str(html))
    assert r.exit_code == 0, r.output
    page = html.read_text()
    assert "data:image/png;base64," in page and "Flagged:" in page
    assert world["b_name"] in page and world["a"] not in page


def test_the_cli_names_a_bad_option(world):
    r = _report("--month", "2026-14", "--buyer", world["b"])
    assert r.exit_code == 2 and "--month" in r.output
    r = _report("--month", world["month"], "--buyer", "nobody-at-all")
    assert r.exit_code == 2 and "--buyer" in r.output


def test_the_route_serves_a_buyer_its_own_report_only(client, world):
    h = bearer(client, world["users"]["a"])
    r = client.get("/reports/capacity", params={"month": world["month"]}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert world["a"] in r.text and world["b"] not in r.text  # (both buyers are named "Test Council")
    assert client.get("/reports/capacity", params={"month": world["month"], "buyer": world["b"]},
                      headers=h).status_code == 404
    r = client.get("/reports/capacity", params={"month": world["month"], "format": "xlsx"}, headers=h)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert load_workbook(io.BytesIO(r.content)).sheetnames[0] == "Summary"
    r = client.get("/reports/capacity", params={"month": world["month"], "format": "pdf"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"


def test_staff_name_the_buyer(client, world):
    h = bearer(client, world["users"]["manager"])
    r = client.get("/reports/capacity", params={"month": world["month"]}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "buyer"
    r = client.get("/reports/capacity", params={"month": world["month"], "buyer": world["b"]}, headers=h)
    assert r.status_code == 200 and "Flagged:" in r.text
