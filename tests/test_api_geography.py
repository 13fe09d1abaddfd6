"""The geography routes answer from the real reference data, with clear errors for bad input."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from api import create_app
from api.tokens import issue_token
from core import session_scope
from core.models import User
from core.users import create_user
from tests.helpers import unique


@pytest.fixture(scope="module")
def client(geodata_loaded):
    name = unique("geo")
    with session_scope() as db:
        create_user(db, username=name, password="long enough pw", role="dispatcher", actor="test")
    with session_scope() as db:
        token = issue_token(db.scalar(select(User).where(User.username == name)))
    with TestClient(create_app()) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c
    with session_scope() as db:
        db.execute(delete(User).where(User.username == name))


def test_postcode_lookup_normalises(client):
    r = client.get("/geography/postcodes/pl12aa")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["postcode"] == "PL1 2AA"
    assert 50.3 < body["lat"] < 50.4 and -4.2 < body["lon"] < -4.1


def test_postcode_errors_name_the_field(client):
    r = client.get("/geography/postcodes/not-a-postcode")
    assert r.status_code == 422 and r.json()["detail"].startswith("postcode:")
    r = client.get("/geography/postcodes/ZZ99ZZ")
    assert r.status_code == 404 and "ZZ9 9ZZ" in r.json()["detail"]


@pytest.mark.parametrize("lat, lon, itl1, lad, area", [
    (50.3713, -4.1427, "TLK", "E06000026", "PL"),
    (54.9733, -1.6131, "TLC", "E08000021", "NE"),
    (51.3762, -0.0982, "TLI", "E09000008", "CR"),
])
def test_locate(client, lat, lon, itl1, lad, area):
    r = client.get("/geography/locate", params={"lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["itl1_cd"], body["lad_cd"]) == (itl1, lad)
    assert body["nearest_postcode"].startswith(area) and body["nearest_postcode_distance_m"] < 500


def test_locate_at_sea_and_out_of_range(client):
    r = client.get("/geography/locate", params={"lat": 48.0, "lon": -15.0})
    assert r.status_code == 404 and r.json()["detail"].startswith("lat/lon:")
    r = client.get("/geography/locate", params={"lat": 95, "lon": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lat"
