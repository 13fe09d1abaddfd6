"""``/health``: public, and honest about each backing service."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.schemas.health import Health, ServiceHealth
from core import get_engine, get_settings, ping_broker

router = APIRouter(tags=["health"])

TIMEOUT_S = 2.0


def _postgis() -> str:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(int(TIMEOUT_S * 1000))})
        return "PostGIS " + conn.execute(text("SELECT postgis_lib_version()")).scalar_one()


def _redis() -> str:
    client = redis.Redis.from_url(get_settings().redis_url, socket_timeout=TIMEOUT_S,
                                  socket_connect_timeout=TIMEOUT_S)
    try:
        client.ping()
        return "Redis " + client.info("server")["redis_version"]
    finally:
        client.close()


def _mqtt() -> str:
    ping_broker(timeout=TIMEOUT_S)
    return "broker accepted an MQTT v5 connection"


CHECKS = {"postgis": _postgis, "redis": _redis, "mqtt": _mqtt}


def _run(check) -> ServiceHealth:
    try:
        return ServiceHealth(ok=True, detail=check())
    except Exception as exc:  # any failure is a finding to report, not a crash
        return ServiceHealth(ok=False, detail=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health():
    """Checks PostGIS, Redis and the MQTT broker in parallel; 200 when all answer, else 503."""
    with ThreadPoolExecutor(len(CHECKS)) as pool:
        results = dict(zip(CHECKS, pool.map(_run, CHECKS.values())))
    ok = all(r.ok for r in results.values())
    body = Health(status="ok" if ok else "degraded", services=results)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
