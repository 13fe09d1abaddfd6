"""What ANPR recorded about a case, for its buyer [000 §2.141]: ``GET /cases/{id}/anpr`` and the
sightings layer of the evidence map; scoped to the buyer and audited."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from anpr_ingest import refresh_cases
from core import session_scope
from core.models import AuditEvent, Case, CaseVehicle
from tests.anpr_world import (
    add_vehicle,
    commit,
    hot_case,
    hotlist_namespace,
    message,
    read,
)
from tests.case_world import make_user
from tests.helpers import bearer

ACTOR = "test:anpr-case-read"


@pytest.fixture
def ns(redis_client) -> Iterator[str]:
    with hotlist_namespace(redis_client) as prefix:
        yield prefix


@pytest.fixture
def seen(van, redis_client, ns) -> dict:
    """A vehicle on two warrants of two buyers, read twice by a van (one sighting), and each buyer's
    caseworker."""
    with session_scope() as db:
        case, other = hot_case(db), hot_case(db)
        vehicle = add_vehicle(db, case)
        db.add(CaseVehicle(case_id=other.id, vehicle_id=vehicle.id))
        users = {"buyer": make_user(db, "buyer", buyer=case.buyer),
                 "other_buyer": make_user(db, "buyer", buyer=other.buyer), "admin": make_user(db, "admin"),
                 "agent": make_user(db, "agent")}
        db.commit()
        refresh_cases(db, redis_client, [case.id, other.id], ACTOR, namespace=ns)
        ids = case.id, other.id, vehicle.vrm
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    written = commit(van, redis_client, ns, message(van, read(ids[2], at, image_ref="cam/1.jpg"),
                                                    read(ids[2], at + timedelta(seconds=30))))
    assert len(written.new_sightings) == 1
    return {"case": ids[0], "other": ids[1], "vrm": ids[2], "at": at, "sighting": written.new_sightings[0],
            "users": users, "van": van}


def get(client, seen, who: str, path: str):
    return client.get(path, headers=bearer(client, seen["users"][who]))


def test_the_buyer_sees_its_cases_sightings_with_their_reads_and_the_view_is_audited(client, seen) -> None:
    r = get(client, seen, "buyer", f"/cases/{seen['case']}/anpr")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json"), r.text
    (feature,) = r.json()["features"]
    p = feature["properties"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-4.1427, 50.3755]}
    assert (p["sighting_id"], p["case_id"], p["vrm"], p["reads"]) == (seen["sighting"], seen["case"], seen["vrm"], 2)
    assert p["first_seen_at"] == seen["at"].isoformat() and p["keeper_result"] is None and not p["actionable"]
    assert [h["image_ref"] for h in p["hits"]] == ["cam/1.jpg", None]
    assert datetime.fromisoformat(p["hits"][1]["ts"]) == seen["at"] + timedelta(seconds=30)
    # Another buyer's warrant on the same vehicle is named nowhere: the sighting's warrants are not listed.
    assert set(p) == {"sighting_id", "case_id", "van", "vrm", "first_seen_at", "last_seen_at", "reads", "best_score",
                      "keeper_result", "actionable", "hits"}
    assert all(set(h) == {"ts", "plate_read", "score", "how", "lon", "lat", "image_ref"} for h in p["hits"])
    with session_scope() as db:
        audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "case.anpr",
                                                    AuditEvent.target == f"case:{seen['case']}")).all()
    assert [(a.actor, a.data["results"]) for a in audit] == [(f"user:{seen['users']['buyer']}", 1)]


def test_another_buyer_gets_404_staff_see_it_unaudited_and_an_agent_is_refused(client, seen) -> None:
    assert get(client, seen, "other_buyer", f"/cases/{seen['case']}/anpr").status_code == 404
    # The other buyer's own warrant on the vehicle shows the same sighting, as its own.
    (feature,) = get(client, seen, "other_buyer", f"/cases/{seen['other']}/anpr").json()["features"]
    assert feature["properties"]["case_id"] == seen["other"]
    assert get(client, seen, "admin", f"/cases/{seen['case']}/anpr").status_code == 200
    assert get(client, seen, "agent", f"/cases/{seen['case']}/anpr").status_code == 403
    with session_scope() as db:
        actors = db.scalars(select(AuditEvent.actor).where(AuditEvent.action == "case.anpr",
                                                           AuditEvent.target == f"case:{seen['case']}")).all()
    assert f"user:{seen['users']['admin']}" not in actors


def test_a_case_with_no_sighting_has_an_empty_collection(client, seen) -> None:
    with session_scope() as db:
        quiet = hot_case(db)
        buyer = make_user(db, "buyer", buyer=db.get(Case, quiet.id).buyer)
        db.commit()
        quiet_id = quiet.id
    r = client.get(f"/cases/{quiet_id}/anpr", headers=bearer(client, buyer))
    assert r.status_code == 200 and r.json() == {"type": "FeatureCollection", "features": []}


def test_the_evidence_map_draws_the_sighting_where_last_read(client, seen) -> None:
    r = get(client, seen, "buyer", f"/maps/cases/{seen['case']}")
    assert r.status_code == 200
    assert re.findall(r'data-sighting=\\"(\d+)\\"', r.text) == [str(seen["sighting"])]
    assert f"ANPR sighting</b> of {seen['vrm']}" in r.text and "no keeper check yet" in r.text
