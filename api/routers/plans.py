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

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DB, PEOPLE, Principal, audit_buyer_view, require_roles
from core.models import Itl1Region, Role
from dashboards.plan_map import plan_map_html
from dispatch.geojson import plan_to_geojson
from dispatch.model import Plan
from dispatch.service import PlanOutcome, plan_and_store
from dispatch.store import load_current_plan, load_route_paths, run_stats

router = APIRouter(tags=["plans"])

STAFF = frozenset({Role.admin, Role.dispatcher, Role.regional_manager})
Planner = Annotated[Principal, Depends(require_roles(Role.admin, Role.dispatcher))]
PlanReader = Annotated[Principal, Depends(require_roles(*STAFF, Role.buyer))]
People = Annotated[Principal, Depends(require_roles(*PEOPLE))]
GEOJSON = "application/geo+json"
RegionQuery = Annotated[str | None, Query(description="an ITL1 region code, e.g. TLK (default: every region)")]


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON  # RFC 7946 §12


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    region: str | None = Field(None, description="plan only this ITL1 region (e.g. TLK)")
    time_limit_s: float = Field(30.0, ge=1, le=600, description="the solver's wall-clock limit in seconds")
    publish: bool = Field(True, description="send each agent its day on agents/{agent_id}/plan")


class PlanSummary(BaseModel):
    run_id: int
    day: date
    region: str | None
    served: int
    dropped: int
    dropped_by_reason: dict[str, int]
    distance_m: float
    agents: int  # agents with a route (the solver gives a route only to an agent with visits)
    fairness_ratio: float | None  # served share per buyer and region, min/max (1.0 = proportional)
    published: int  # agents' days sent on agents/{agent_id}/plan
    publish_error: str | None  # why sending failed; the plan is stored all the same


class ViolationOut(BaseModel):
    kind: str
    agent_id: int | None
    case_id: int | None
    rule_id: str | None
    message: str


# 503, not 409 or 422: the request and the day are fine and nothing broke a rule; the solver ran out of
# the time the request gave it, and the same request with a longer time_limit_s may succeed.
NO_PLAN_RESPONSE: dict[int | str, dict[str, Any]] = {
    503: {"description": "no plan found within time_limit_s; nothing was stored or sent, the current plan stays"}}


def refusal(outcome: PlanOutcome, time_limit_s: float, what: str) -> JSONResponse | None:
    """The answer when the plan was not stored, else None: 503 when the solver found no plan within
    ``time_limit_s`` for part of the day (``dispatch.service.unsolved``), 409 with the validator's
    violations."""
    if outcome.unsolved:
        total = outcome.plan.served + len(outcome.plan.dropped)
        return JSONResponse({"detail": f"no plan found within time_limit_s={time_limit_s:g} for {outcome.unsolved} "
                                       f"of {total} visits: the {what} was not stored or sent and the current plan "
                                       "stays; try a longer time_limit_s",
                             "time_limit_s": time_limit_s, "unplanned": outcome.unsolved},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    if outcome.violations:
        violations = [ViolationOut(**asdict(v)).model_dump() for v in outcome.violations]
        return JSONResponse({"detail": f"the {what} breaks {len(violations)} rule(s); nothing was stored",
                             "violations": violations}, status_code=status.HTTP_409_CONFLICT)
    return None


GEOJSON_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection: routes, visits, dropped visits"}}


def check_region(db: Session, region: str | None, loc: tuple[str, ...]) -> None:
    if region is None or db.get(Itl1Region, region) is not None:
        return
    known = ", ".join(db.scalars(select(Itl1Region.code).order_by(Itl1Region.code)))
    raise RequestValidationError([{"loc": loc, "msg": f"unknown ITL1 region {region!r}; one of {known}",
                                   "type": "value_error", "input": region}])


def run_summary(day: date, region: str | None, outcome: PlanOutcome) -> PlanSummary:
    stats = run_stats(outcome.plan)  # the figures stored with the run
    return PlanSummary(run_id=outcome.run_id, day=day, region=region, fairness_ratio=stats.get("fairness_ratio"),
                       published=outcome.published, publish_error=outcome.publish_error,
                       **{k: stats[k] for k in ("served", "dropped", "dropped_by_reason", "distance_m", "agents")})


@router.post("/plans", response_model=PlanSummary, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the validator found violations; nothing was stored"},
                        **NO_PLAN_RESPONSE})
def create_plan(body: PlanIn, db: DB, principal: Planner) -> PlanSummary | JSONResponse:
    """Plan ``day`` (in ``region``) from the database now, store it as the day's current plan and, with
    ``publish``, send each agent its day. The answer waits for the solver (``time_limit_s``). A plan
    the independent validator finds any violation in is refused with 409 and its violations, and
    nothing is stored or sent; so is, with 503, a plan the solver did not find within ``time_limit_s``
    for some part of the day (the day's current plan stays). The plan and its audit row are committed
    together, before the plan is sent to the agents' phones."""
    check_region(db, body.region, ("body", "region"))
    outcome = plan_and_store(db, body.day, region=body.region, time_limit_s=body.time_limit_s,
                             actor=principal.actor, publish=body.publish, role=principal.role.value,
                             audit={"publish": body.publish})
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


@router.get("/plans/{day}", response_class=GeoJSONResponse, responses=GEOJSON_RESPONSE)
def get_plan(day: date, db: DB, principal: PlanReader, region: RegionQuery = None) -> GeoJSONResponse:
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


@router.get("/plans/{day}/agents/{agent_id}", response_class=GeoJSONResponse, responses=GEOJSON_RESPONSE)
def get_agent_day(day: date, agent_id: int, db: DB, principal: People) -> GeoJSONResponse:
    """One agent's day in the current plan: its route line and its visits in order. Agents may read
    their own day only; staff any agent's; buyers none."""
    if principal.role == Role.agent:
        if principal.agent_id != agent_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "an agent may read only its own day")
    elif principal.role not in STAFF:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not read an agent's day")
    plan = load_current_plan(db, day, agent_id=agent_id)  # its route only, no dropped visits
    if plan is None or not plan.routes:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {agent_id} has no route in the plan for {day}")
    return GeoJSONResponse(plan_to_geojson(plan, load_route_paths(db, day, agent_id=agent_id)))


@router.get("/maps/plans/{day}", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "the plan map (Leaflet inlined)"}})
def get_plan_map(day: date, db: DB, principal: PlanReader, region: RegionQuery = None) -> HTMLResponse:
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
