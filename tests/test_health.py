"""``/health`` reports each backing service honestly, using the real ones."""
from __future__ import annotations

from fastapi.testclient import TestClient

from api import create_app
from core import get_settings
from tests.helpers import free_port


def _health():
    with TestClient(create_app()) as client:
        return client.get("/health")


def test_health_reports_every_service_ok(migrated):
    r = _health()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert set(body["services"]) == {"postgis", "redis", "mqtt"}
    assert body["services"]["postgis"]["detail"].startswith("PostGIS 3")
    assert body["services"]["redis"]["detail"].startswith("Redis ")


def test_health_names_the_service_that_is_down(migrated, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "redis_url", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(settings, "mqtt_url", f"mqtt://127.0.0.1:{free_port()}")
    r = _health()
    assert r.status_code == 503
    services = r.json()["services"]
    assert services["postgis"]["ok"] is True
    assert services["redis"]["ok"] is False and "Connection" in services["redis"]["detail"]
    assert services["mqtt"]["ok"] is False and "cannot reach" in services["mqtt"]["detail"]
