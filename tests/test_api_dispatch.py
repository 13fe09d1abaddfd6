"""``GET /dispatch/why/{case_id}``: the answer names the rule that keeps a case out of the day's plan,
or gives its windows; who may ask."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from core import session_scope
from core.models import AuditEvent
from core.visits import record_visit
from tests.case_world import ENFORCED, bearer, make_agent, make_buyer, make_case, make_user

MONDAY = date(2026, 11, 16)  # in the past: visits are recorded after they happen
SUMMER_BANK_HOLIDAY = date(2026, 8, 31)


@pytest.fixture(scope="module")
def world(policies_loaded, geodata_loaded):
    with session_scope() as db:
        plymouth, other = make_buyer(db, "plymouth"), make_buyer(db, "croydon")
        enforced = make_case(db, plymouth, **ENFORCED)
        held = make_case(db, plymouth, on_hold=True, hold_reason="buyer instruction", **ENFORCED)
        fresh = make_case(db, plymouth)  # compliance stage
        gap = make_case(db, plymouth, **ENFORCED)
        agent = make_agent(db)
        record_visit(db, case_id=gap.id, outcome="no_contact", arrived_at=datetime.fromisoformat("2026-11-16T09:00Z"),
                     actor="test", agent_id=agent.id)
        foreign = make_case(db, other, **ENFORCED)
        return {"enforced": enforced.id, "held": held.id, "fresh": fresh.id, "gap": gap.id, "foreign": foreign.id,
                "plymouth_id": plymouth.id,
                **{role: make_user(db, role) for role in ("admin", "dispatcher", "regional_manager")},
                "agent": make_user(db, "agent", agent=agent), "buyer": make_user(db, "buyer", buyer=plymouth)}


def ask(client, world, who: str, case: str, day: date = MONDAY):
    return client.get(f"/dispatch/why/{world[case]}", params={"day": day.isoformat()},
                      headers=bearer(client, world[who]))


def test_an_eligible_case_gets_its_windows_and_priority(client, world):
    body = ask(client, world, "dispatcher", "enforced").json()
    assert body["eligible"] and body["rule_ids"] == [] and body["visited_with"] == world["enforced"]
    assert [w["time_band"] for w in body["windows"]] == ["early", "office", "evening"]
    assert body["windows"][0]["start"].startswith("2026-11-16T06:00:00")  # 06:00 GMT is 06:00 UTC
    assert body["priority"] == 100  # Plymouth's first visit was due within 3 days of 1 July


@pytest.mark.parametrize(("case", "day", "rule"), [
    ("held", MONDAY, "R-CASE-HOLD"),
    ("fresh", MONDAY, "R-CASE-COMPLIANCE"),
    ("enforced", SUMMER_BANK_HOLIDAY, "R-VISIT-HOLIDAY"),
    ("enforced", date(2026, 11, 15), "R-VISIT-HOURS"),  # Plymouth: never on a Sunday
    ("gap", MONDAY, "R-VISIT-GAP"),  # a no-contact visit this morning
])
def test_an_excluded_case_names_the_rule(client, world, case, day, rule):
    r = ask(client, world, "admin", case, day)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["eligible"] and body["rule_ids"] == [rule] and body["reasons"] and body["windows"] == []


def test_staff_may_ask_agents_may_not(client, world):
    for role in ("admin", "dispatcher", "regional_manager"):
        assert ask(client, world, role, "held").status_code == 200
    assert ask(client, world, "agent", "held").status_code == 403


def test_a_buyer_asks_about_its_own_cases_only_and_is_audited(client, world):
    assert ask(client, world, "buyer", "held").json()["rule_ids"] == ["R-CASE-HOLD"]
    assert ask(client, world, "buyer", "foreign").status_code == 404
    with session_scope() as db:
        audited = db.scalars(select(AuditEvent.target).where(AuditEvent.action == "dispatch.why",
                                                             AuditEvent.buyer_id == world["plymouth_id"])).all()
    assert audited == [f"case:{world['held']}"]


def test_unknown_case_bad_day_and_no_token(client, world):
    admin = bearer(client, world["admin"])
    assert client.get("/dispatch/why/999999999", headers=admin).status_code == 404
    assert client.get(f"/dispatch/why/{world['held']}", params={"day": "23/11/2026"}, headers=admin).status_code == 422
    assert client.get(f"/dispatch/why/{world['held']}").status_code == 401
    assert client.get(f"/dispatch/why/{world['held']}", headers=admin).json()["day"]  # defaults to today
