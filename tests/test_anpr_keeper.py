"""The keeper check of a sighting through the API, the database and Redis [R-ANPR-KEEPER], and confirmed
sightings as optional visits at the place seen [R-ANPR-NOCHASE]: each result's effects and audit,
``different_keeper`` off the hotlist at once, who may check, 404/409/422, which sightings the planner
is offered, and a real plan that goes to the sighting's place."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from anpr_ingest import PAYMENT_OPTION_EVENT, SightingOffers, lookup
from core import LONDON, session_scope
from core.models import Agent, AnprSighting, AuditEvent, Case, CaseEvent, Vehicle
from tests.anpr_world import (
    app_hotlist,
    audits,
    commit,
    list_vehicle,
    message,
    read,
    rows,
)
from tests.case_world import make_agent, make_buyer, make_user
from tests.helpers import bearer

ACTOR = "test:anpr-keeper"
KEEPER = "/anpr/sightings/{}/keeper-check"
SEEN_AT = (-4.1427, 50.3755)  # where ``read`` places a van's reads (Plymouth)


@pytest.fixture
def ns(client, redis_client) -> Iterator[str]:
    """The test's own hotlist namespace, which the app refreshes while the test runs."""
    with app_hotlist(client, redis_client) as prefix:
        yield prefix


@pytest.fixture(scope="module")
def users(client, migrated) -> dict[str, dict[str, str]]:
    with session_scope() as db:
        names = {role: make_user(db, role) for role in ("admin", "dispatcher", "agent")}
        names["buyer"] = make_user(db, "buyer", buyer=make_buyer(db))
    return {role: bearer(client, name) for role, name in names.items()}


def sighting(van, vrm: str, redis_client, ns: str, at: datetime | None = None,
             place: tuple[float, float] = SEEN_AT) -> int:
    """A new sighting of ``vrm`` by ``van`` at ``place``, committed through the pipeline."""
    plate_read = read(vrm, at or datetime.now(UTC) - timedelta(minutes=2), lon=place[0], lat=place[1])
    floor = rows("SELECT coalesce(max(id), 0) FROM audit_event")[0][0]
    (sighting_id,) = commit(van, redis_client, ns, message(van, plate_read)).new_sightings
    _AUDIT_FLOOR[sighting_id] = floor
    return sighting_id


def check(client, users, sighting_id: int, result: str, who: str = "dispatcher"):
    return client.post(KEEPER.format(sighting_id), headers=users[who], json={"result": result})


# A reseed (other tests run ``bailiwick seed``) restarts the sighting ids while audit rows stay: a
# sighting's audit starts after the last row written before it was made.
_AUDIT_FLOOR: dict[int, int] = {}


def keeper_audits(db, sighting_id: int) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.target == f"anpr_sighting:{sighting_id}",
                                                    AuditEvent.id > _AUDIT_FLOOR.get(sighting_id, 0))
                           .order_by(AuditEvent.id)))


def test_confirmed_makes_the_sighting_actionable_and_records_the_keeper(client, users, van, listed,
                                                                          redis_client, ns) -> None:
    vrm, vehicle_id = listed
    sid = sighting(van, vrm, redis_client, ns)
    r = check(client, users, sid, "confirmed")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["result"], body["actionable"], body["off_hotlist"], body["payment_option_case_ids"]) == (
        "confirmed", True, False, [])
    with session_scope() as db:
        s = db.get_one(AnprSighting, sid)
        assert (s.keeper_result, s.actionable, s.keeper_checked_by) == ("confirmed", True, body["checked_by"])
        assert body["checked_by"].startswith("user:dispatcher")
        vehicle = db.get_one(Vehicle, vehicle_id)
        assert vehicle.keeper_check_state == "confirmed" and vehicle.keeper_checked_at == s.keeper_checked_at
        (audit,) = keeper_audits(db, sid)
        assert (audit.action, audit.role, audit.data["rule"], audit.data["result"]) == (
            "anpr_keeper_check", "dispatcher", "R-ANPR-KEEPER", "confirmed")
    assert lookup(redis_client, vrm, namespace=ns) is not None, "a confirmed keeper stays on the hotlist"


def test_new_address_flags_the_warrants_for_the_payment_option(client, users, van, listed, redis_client,
                                                               ns) -> None:
    vrm, vehicle_id = listed
    sid = sighting(van, vrm, redis_client, ns)
    r = check(client, users, sid, "new_address", who="admin")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["actionable"] is False and body["payment_option_case_ids"] == body["case_ids"] != []
    with session_scope() as db:
        assert db.get_one(AnprSighting, sid).actionable is False
        assert db.get_one(Vehicle, vehicle_id).keeper_check_state == "new_address"
        for case_id in body["case_ids"]:
            (event,) = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                          CaseEvent.kind == PAYMENT_OPTION_EVENT)).all()
            assert (event.data["rule"], event.data["sighting_id"]) == ("R-ANPR-KEEPER", sid)
        (audit,) = keeper_audits(db, sid)
        assert audit.data["payment_option_case_ids"] == body["case_ids"]
    history = client.get(f"/cases/{body['case_ids'][0]}/history", headers=users["dispatcher"]).json()
    assert PAYMENT_OPTION_EVENT in [e["kind"] for e in history], "a caseworker sees the flag on the case"


def test_different_keeper_takes_the_vehicle_off_the_hotlist_at_once(client, users, van, listed, redis_client,
                                                                    ns) -> None:
    vrm, vehicle_id = listed
    sid = sighting(van, vrm, redis_client, ns)
    r = check(client, users, sid, "different_keeper")
    assert r.status_code == 200, r.text
    assert (r.json()["off_hotlist"], r.json()["actionable"]) == (True, False)
    assert lookup(redis_client, vrm, namespace=ns) is None
    with session_scope() as db:
        vehicle = db.get_one(Vehicle, vehicle_id)
        assert vehicle.keeper_check_state == "different_keeper"
        removed = audits(db, vehicle)[-1]
        assert (removed.action, removed.data["rule"], removed.data["reason"]) == (
            "anpr_hotlist_remove", "R-ANPR-KEEPER", "different_keeper")
        (audit,) = keeper_audits(db, sid)
        assert audit.data["result"] == "different_keeper"


def test_a_second_check_is_a_retry_when_it_agrees_and_a_conflict_when_it_does_not(client, users, van, listed,
                                                                                  redis_client, ns) -> None:
    vrm, _ = listed
    sid = sighting(van, vrm, redis_client, ns)
    first = check(client, users, sid, "confirmed")
    again = check(client, users, sid, "confirmed", who="admin")
    assert again.status_code == 200 and again.json() == first.json()
    other = check(client, users, sid, "different_keeper")
    assert other.status_code == 409 and other.json()["rule_id"] == "R-ANPR-KEEPER"
    assert lookup(redis_client, vrm, namespace=ns) is not None
    with session_scope() as db:
        assert len(keeper_audits(db, sid)) == 1


def test_only_dispatch_staff_check_and_bad_requests_are_refused(client, users, van, listed, redis_client,
                                                                ns) -> None:
    vrm, _ = listed
    sid = sighting(van, vrm, redis_client, ns)
    for who in ("buyer", "agent"):
        assert check(client, users, sid, "confirmed", who=who).status_code == 403
    assert client.post(KEEPER.format(sid), json={"result": "confirmed"}).status_code == 401
    assert check(client, users, 2**62, "confirmed").status_code == 404
    for body in ({"result": "maybe"}, {"result": "not_checked"}, {}):
        r = client.post(KEEPER.format(sid), headers=users["dispatcher"], json=body)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["result"], r.text
    with session_scope() as db:
        assert db.get_one(AnprSighting, sid).keeper_result is None


def test_only_actionable_located_unexpired_sightings_are_offered(client, users, van, listed, redis_client,
                                                                 ns) -> None:
    vrm, _ = listed
    now = datetime.now(UTC)
    seen = now - timedelta(minutes=30)
    confirmed = sighting(van, vrm, redis_client, ns, at=seen)
    nowhere = sighting(van, vrm, redis_client, ns, at=seen - timedelta(minutes=20))
    unchecked = sighting(van, vrm, redis_client, ns, at=seen - timedelta(minutes=40))
    for sid in (confirmed, nowhere):
        assert check(client, users, sid, "confirmed").json()["actionable"] is True
    with session_scope() as db:
        # As a webhook's sighting is: Plate Recognizer gives no position (a van's reads always have one).
        db.execute(update(AnprSighting).where(AnprSighting.id == nowhere).values(location=None))
        db.commit()
        case_ids = set(db.get_one(AnprSighting, confirmed).case_ids)
        today = now.astimezone(LONDON).date()

        def offers(hours: float, at: datetime) -> list:
            return [o for o in SightingOffers(db, hours).optional_visits(today, at) if o.case_id in case_ids]

        (offer,) = offers(1, now)
        assert (offer.at.lon, offer.at.lat, offer.expires_at) == (*SEEN_AT, seen + timedelta(hours=1))
        assert "vehicle" in offer.required_skills and str(confirmed) in offer.reason
        assert offers(1, seen + timedelta(hours=1)) == [], "lapsed"
        assert offers(0.25, now) == [], "lapsed"
        assert db.get_one(AnprSighting, unchecked).actionable is False


PLAN_DAY = date(2026, 12, 15)  # a Tuesday, not a bank holiday
PLAN_REGION = "TLG"  # the West Midlands: no other test plans it
# The warrant's address, and the street nearby where the van saw the vehicle: the planner values an
# optional visit at a short detour only (dispatch.routing_model.OPTIONAL_VALUE_M).
BIRMINGHAM, SEEN_NEARBY = (-1.8904, 52.4862), (-1.8830, 52.4890)


def test_a_plan_visits_the_confirmed_sighting_at_the_place_seen(client, users, van, redis_client, ns,
                                                               policies_loaded) -> None:
    vrm, _ = list_vehicle(redis_client, ns, ACTOR, at=BIRMINGHAM, itl1_cd=PLAN_REGION)
    sid = sighting(van, vrm, redis_client, ns, place=SEEN_NEARBY)
    seen = datetime.combine(PLAN_DAY, time(10), tzinfo=LONDON)
    with session_scope() as db:
        # Seen on the plan day: the pipeline takes no read from so far ahead.
        db.execute(update(AnprSighting).where(AnprSighting.id == sid).values(first_seen_at=seen, last_seen_at=seen))
        agent = make_agent(db, at=BIRMINGHAM, region=PLAN_REGION)
        agent.skills = ["vehicle"]
        agent_id = agent.id
        db.commit()
    (case_id,) = check(client, users, sid, "confirmed").json()["case_ids"]
    try:
        r = client.post("/plans", headers=users["dispatcher"],
                        json={"day": PLAN_DAY.isoformat(), "region": PLAN_REGION, "time_limit_s": 2, "publish": False})
        assert r.status_code == 201, r.text
        plan = client.get(f"/plans/{PLAN_DAY}", params={"region": PLAN_REGION}, headers=users["dispatcher"]).json()
        (visit,) = [f for f in plan["features"] if f["properties"]["kind"] == "visit"
                    and f["properties"]["case_id"] == case_id]
        assert visit["geometry"]["coordinates"] == list(SEEN_NEARBY)
        assert visit["properties"]["agent_id"] == agent_id
        assert datetime.fromisoformat(visit["properties"]["window_end"]) <= seen + timedelta(hours=3)
    finally:
        with session_scope() as db:
            db.execute(update(Case).where(Case.id == case_id).values(status="closed"))
            db.execute(update(Agent).where(Agent.id == agent_id).values(active=False))
            db.commit()
