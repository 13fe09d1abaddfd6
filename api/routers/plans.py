"""Plans: create a day's plan (dispatchers), read it as GeoJSON, an agent's own day, the plan map.

Who sees what:
- admins and dispatchers plan (``POST /plans``); admins, dispatchers and regional managers read every
  plan and every agent's day;
- a buyer reads the day's plan and map reduced to its own cases: its planned visits (with the agent,
  stop number, ETA and window of each) and its dropped visits, and no route lines. A route line runs
  through every stop of the agent's day, so it would show other buyers' debtors' addresses and the
  agent's home base; the route's distance and duration describe the whole day, not the buyer's part.
  Each buyer view is audited;
- an agent reads only its own day (``GET /plans/{day}/agents/{its agent id}``), which has no dropped
  visits (those belong to nobody's route); the whole plan and the map are the dispatchers'.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from anpr_ingest import SightingOffers
from api.checks import check_region
from api.deps import (
    DB,
    OFFICE_STAFF,
    DispatchStaff,
    OfficeStaffOrBuyer,
    People,
    Principal,
    audit_buyer_view,
)
from api.errors import WITH_BODY, error, errors
from api.geojson import GEOJSON, GeoJSONResponse
from api.plan_answers import PLAN_REFUSALS, refusal, run_summary
from api.schemas.common import AgentId, PathDay, RegionQuery
from api.schemas.plans import PlanIn, PlanSummary
from core.models import Role
from dashboards import plan_map_html
from dispatch import (
    Plan,
    load_current_plan,
    load_route_paths,
    plan_and_store,
    plan_to_geojson,
)

router = APIRouter(tags=["plans"], responses=errors(*WITH_BODY))

GEOJSON_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection: routes, visits, dropped visits"}}
NO_PLAN = error(404, "no plan for the day (in the region)")


@router.post("/plans", response_model=PlanSummary, status_code=status.HTTP_201_CREATED,
             responses=PLAN_REFUSALS)
def create_plan(body: PlanIn, db: DB, principal: DispatchStaff) -> PlanSummary | JSONResponse:
    """Plan ``day`` (in ``region``) from the database now, store it as the day's current plan and, with
    ``publish``, send each agent its day. The answer waits for the solver (``time_limit_s``). A plan
    the independent validator finds any violation in is refused with 409 and its violations, and
    nothing is stored or sent; so is, with 503, a plan the solver did not find within ``time_limit_s``
    for some part of the day (the day's current plan stays). The plan and its audit row are committed
    together, before the plan is sent to the agents' phones."""
    check_region(db, body.region, ("body", "region"))
    outcome = plan_and_store(db, body.day, region=body.region, time_limit_s=body.time_limit_s,
                             actor=principal.actor, publish=body.publish, role=principal.role.value,
                             audit={"publish": body.publish}, sources=[SightingOffers(db)])
    return refusal(outcome, body.time_limit_s, "plan") or run_summary(body.day, body.region, outcome)


def _not_found(day: date, region: str | None) -> HTTPException:
    where = f" in region {region}" if region else ""
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no plan for {day.isoformat()}{where}")


def _scoped_plan(db: Session, principal: Principal, day: date, region: str | None) -> Plan:
    check_region(db, region, ("query", "region"))
    plan = load_current_plan(db, day, region=region, buyer_id=principal.buyer_scope)
    if plan is None:
        raise _not_found(day, region)
    return plan


def _route_paths(db: Session, principal: Principal, day: date, region: str | None):
    # Stored lines start where a re-planned agent was; a buyer's view has no lines at all.
    return {} if principal.is_buyer else load_route_paths(db, day, region=region)


def buyer_geojson(document: dict[str, Any]) -> dict[str, Any]:
    """A buyer's plan document: its visits and drops without the route lines (module docstring)."""
    return {**document, "features": [f for f in document["features"] if f["properties"]["kind"] != "route"]}


@router.get("/plans/{day}", response_class=GeoJSONResponse, responses={**GEOJSON_RESPONSE, **NO_PLAN})
def get_plan(day: PathDay, db: DB, principal: OfficeStaffOrBuyer, region: RegionQuery = None) -> GeoJSONResponse:
    """The day's current plan as GeoJSON (the plan interface of issue 4): one LineString per route,
    one Point per planned visit and per dropped visit, times in London local time with offset. A buyer
    gets its own visits and drops only, without route lines."""
    plan = _scoped_plan(db, principal, day, region)
    document = plan_to_geojson(plan, _route_paths(db, principal, day, region))
    if principal.is_buyer:
        document = buyer_geojson(document)
        audit_buyer_view(db, principal, "plan.view", f"plan:{day.isoformat()}",
                         {"region": region, "visits": plan.served, "dropped": len(plan.dropped)})
    return GeoJSONResponse(document)


@router.get("/plans/{day}/agents/{agent_id}", response_class=GeoJSONResponse,
            responses={**GEOJSON_RESPONSE, **error(404, "the agent has no route in the day's plan")})
def get_agent_day(day: PathDay, agent_id: AgentId, db: DB, principal: People) -> GeoJSONResponse:
    """One agent's day in the current plan: its route line and its visits in order. Agents may read
    their own day only; staff any agent's; buyers none."""
    if principal.role == Role.agent:
        if principal.agent_id != agent_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "an agent may read only its own day")
    elif principal.role not in OFFICE_STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not read an agent's day")
    plan = load_current_plan(db, day, agent_id=agent_id)  # its route only, no dropped visits
    if plan is None or not plan.routes:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {agent_id} has no route in the plan for {day}")
    return GeoJSONResponse(plan_to_geojson(plan, load_route_paths(db, day, agent_id=agent_id)))


@router.get("/maps/plans/{day}", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "the plan map (Leaflet inlined)"},
                       **NO_PLAN})
def get_plan_map(day: PathDay, db: DB, principal: OfficeStaffOrBuyer, region: RegionQuery = None) -> HTMLResponse:
    """The day's current plan on a map: one colour and layer per agent, numbered stops, popups with ETA
    and window (UK local time), dropped visits in their own grey layer, a legend. Leaflet is inlined so
    the page draws without a CDN (only the background tiles need the internet). A buyer's map shows its
    own visits and drops only, without route lines or agents' bases."""
    plan = _scoped_plan(db, principal, day, region)
    if principal.is_buyer:
        audit_buyer_view(db, principal, "plan.map", f"plan:{day.isoformat()}",
                         {"region": region, "visits": plan.served, "dropped": len(plan.dropped)})
    return HTMLResponse(plan_map_html(plan, self_contained=True, route_lines=not principal.is_buyer,
                                      route_paths=_route_paths(db, principal, day, region)))
