"""Dispatch questions: "why is this case (not) in the day's plan?" (``dispatch.eligibility.why``).

Scope before role, as for the case routes: the case is resolved within the caller's buyer scope first
(404 for a missing case or another buyer's), then the role is checked (403). Admins, dispatchers and
regional managers may ask about any case; a buyer may ask about its own cases (it is entitled to know
why its case is not being visited, e.g. a bank holiday or a hold it placed; the answer names rules,
not agents), and the view is audited; agents may not ask (their day comes from the plan).
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from anpr_ingest import SightingOffers
from api.deps import DB, OFFICE_STAFF_AND_BUYERS, People, audit_buyer_view
from api.errors import SIGNED_IN, error, errors, not_found_404
from api.schemas.common import CaseId, Day
from api.schemas.dispatch import WhyOut, WindowOut
from core import LONDON, case_in_scope
from dispatch import why

router = APIRouter(tags=["dispatch"], responses=errors(*SIGNED_IN))


@router.get("/dispatch/why/{case_id}", response_model=WhyOut,
            responses=error(404, "no such case in the caller's buyer scope"))
def why_case(case_id: CaseId, db: DB, principal: People,
             day: Annotated[Day | None, Query(description="the plan day (default: today, UK time)")] = None
             ) -> WhyOut:
    """Whether the case may be visited on ``day`` and when (windows in UTC, preferred time bands), or
    the rule ids that keep it out of the plan (e.g. ``R-VISIT-HOLIDAY``, ``R-CASE-HOLD``,
    ``R-VISIT-GAP``)."""
    with not_found_404():
        case_in_scope(db, case_id, principal.buyer_scope)
    if principal.role not in OFFICE_STAFF_AND_BUYERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not ask why")
    day = day or datetime.now(LONDON).date()
    answer = why(db, case_id, day, sources=[SightingOffers(db)])
    audit_buyer_view(db, principal, "dispatch.why", f"case:{case_id}", {"day": day.isoformat()})
    task = answer.task
    return WhyOut(case_id=case_id, day=day, eligible=answer.eligible, rule_ids=list(answer.rule_ids),
                  reasons=list(answer.reasons), windows=[WindowOut(**w.__dict__) for w in answer.windows],
                  preferred=[WindowOut(**w.__dict__) for w in task.preferred] if task else [],
                  priority=task.priority if task else None, due_by=task.due_by if task else None,
                  visited_with=task.case_id if task else None)
