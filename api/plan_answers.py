"""What ``POST /plans`` and ``POST /plans/{day}/replan`` answer: the stored run's summary, or why the
plan was not stored (409 with the validator's violations, 503 when the solver ran out of time)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import status
from fastapi.responses import JSONResponse

from api.schemas.plans import NoPlanOut, PlanRefusedOut, PlanSummary, ViolationOut
from dispatch import PlanOutcome, run_stats

# 503, not 409 or 422: the request and the day are fine and nothing broke a rule; the solver ran out of
# the time the request gave it, and the same request with a longer time_limit_s may succeed. An agent's
# shift that no plan can keep answers 503 too (as it did before the solver told the two apart), its
# detail saying that the shifts, not the time limit, must change.
PLAN_REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"model": PlanRefusedOut, "description": "the validator found violations; nothing was stored"},
    503: {"model": NoPlanOut,
          "description": "no plan found within time_limit_s (or none exists for an agent's shift); nothing was "
                 "stored or sent, the current plan stays"}}


def refusal(outcome: PlanOutcome, time_limit_s: float, what: str) -> JSONResponse | None:
    """The answer when the plan was not stored, else None: 503 when the solver found no plan for part
    of the day (``dispatch.service.unsolved``: within ``time_limit_s``, or none exists because an agent's
    shift cannot be kept), 409 with the validator's violations."""
    if outcome.unsolved:
        total = outcome.plan.served + len(outcome.plan.dropped)
        kept = f"the {what} was not stored or sent and the current plan stays"
        if outcome.infeasible:
            detail = (f"no feasible plan for {outcome.infeasible} of {total} visits: an agent's shift cannot be "
                      f"kept even with no visits; {kept}; check the agents' shifts and home bases")
        else:
            detail = (f"no plan found within time_limit_s={time_limit_s:g} for {outcome.unsolved} of {total} "
                      f"visits: {kept}; try a longer time_limit_s")
        return JSONResponse({"detail": detail, "time_limit_s": time_limit_s, "unplanned": outcome.unsolved},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    if outcome.violations:
        violations = [ViolationOut(**asdict(v)).model_dump() for v in outcome.violations]
        return JSONResponse({"detail": f"the {what} breaks {len(violations)} rule(s); nothing was stored",
                             "violations": violations}, status_code=status.HTTP_409_CONFLICT)
    return None


def run_summary(day: date, region: str | None, outcome: PlanOutcome) -> PlanSummary:
    stats = run_stats(outcome.plan)  # the figures stored with the run
    return PlanSummary(run_id=outcome.run_id, day=day, region=region, fairness_ratio=stats.get("fairness_ratio"),
                       published=outcome.published, publish_error=outcome.publish_error,
                       **{k: stats[k] for k in ("served", "dropped", "dropped_by_reason", "distance_m", "agents")})
