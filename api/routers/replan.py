"""Re-planning mid-day: ``POST /plans/{day}/replan`` (admins, dispatchers) runs
``dispatch.replan.replan_day`` at ``now`` (the current time unless given) and answers like
``POST /plans``: the run's summary, 409 with the violations when the re-plan breaks a rule, 503 when no
plan was found within ``time_limit_s`` (nothing is then stored or sent). Audited."""
from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from anpr_ingest import SightingOffers
from api.checks import check_on_day, check_region
from api.deps import DB, DispatchStaff
from api.errors import WITH_BODY, errors
from api.plan_answers import PLAN_REFUSALS, refusal, run_summary
from api.schemas.common import PathDay
from api.schemas.plans import PlanSummary, ReplanIn
from core import connect_redis
from dispatch import replan_day

router = APIRouter(tags=["plans"], responses=errors(*WITH_BODY))


@router.post("/plans/{day}/replan", response_model=PlanSummary, status_code=status.HTTP_201_CREATED,
             responses=PLAN_REFUSALS)
def replan(day: PathDay, body: ReplanIn, db: DB, principal: DispatchStaff) -> PlanSummary | JSONResponse:
    """Re-plan the rest of ``day`` (in ``region``) from ``now``: visits done stay done, visits under way
    stay with their agents, pins hold, agents start from their live positions (``dispatch.replan``).
    The answer waits for the solver (``time_limit_s``)."""
    check_region(db, body.region, ("body", "region"))
    now = body.now or datetime.now(UTC)
    check_on_day(now, day, ("body", "now") if body.now else ("path", "day"))
    outcome = replan_day(db, connect_redis(), day, now=now.astimezone(UTC), region=body.region,
                         time_limit_s=body.time_limit_s, actor=principal.actor, publish=body.publish,
                         role=principal.role.value, audit={"now": now.isoformat(), "publish": body.publish},
                         sources=[SightingOffers(db)])
    return refusal(outcome, body.time_limit_s, "re-plan") or run_summary(day, body.region, outcome)
