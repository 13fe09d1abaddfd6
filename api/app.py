"""The FastAPI application. Every route except ``/health``, ``/auth/token`` and the API docs needs a
bearer token, but the ANPR webhooks, which need a van device's HTTP Basic credentials; routers get the
principal and its buyer scope (or the van device) from ``api.deps``."""
from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import (
    anpr,
    anpr_alerts,
    auth,
    capacity,
    capacity_maps,
    case_anpr,
    case_intake,
    caseload,
    cases,
    dispatch,
    evidence,
    geography,
    health,
    ledger,
    live,
    pins,
    plans,
    policies,
    queries,
    replan,
    reports,
    sightings,
    users,
    visits,
)

PUBLIC_PATHS = frozenset({"/health", "/auth/token", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def create_app() -> FastAPI:
    app = FastAPI(title="Bailiwick", version="0.1.0", debug=False,
                  description="Field operations for UK civil enforcement: cases, rounds, GPS evidence, ANPR.")
    install_error_handlers(app)
    for module in (health, auth, users, caseload, geography, case_intake, cases, ledger, visits, policies,
                   dispatch, plans, pins, replan, live, evidence, case_anpr, anpr, sightings,
                   anpr_alerts, capacity, capacity_maps, reports, queries):
        app.include_router(module.router)
    return app
