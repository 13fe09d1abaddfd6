"""ANPR sightings: ``POST /anpr/sightings/{id}/keeper-check`` records a keeper check's result
[R-ANPR-KEEPER] (admins and dispatchers) through the keeper-check provider (``anpr_ingest.keeper``):
``confirmed`` makes the sighting actionable (a visit at the place it was seen, R-ANPR-NOCHASE);
``new_address`` flags its warrants for the payment option (the customer may pay as at the compliance
stage: a ``payment_option_compliance`` event in each case's history); ``different_keeper`` takes the
vehicle off every van's hotlist before the answer leaves. Audited.

A sighting is checked once: the same result again answers as the first did and changes nothing;
another result is 409, since the first one's effects have already happened.
"""
from __future__ import annotations

from fastapi import APIRouter

from anpr_ingest import LocalKeeperCheck, record_keeper_check
from api.deps import DB, DispatchStaff, LiveHotlist
from api.errors import WITH_BODY, error, errors, not_found_404
from api.schemas.anpr import KeeperCheckIn, KeeperCheckOut
from api.schemas.common import SightingId
from core.models import KeeperCheck

router = APIRouter(prefix="/anpr/sightings", tags=["anpr"], responses={
    **errors(*WITH_BODY),
    **error(404, "no such sighting"),
    **error(409, "R-ANPR-KEEPER: the sighting was already checked with another result"),
})


@router.post("/{sighting_id}/keeper-check", response_model=KeeperCheckOut)
def keeper_check(sighting_id: SightingId, body: KeeperCheckIn, db: DB, principal: DispatchStaff,
                 hotlist: LiveHotlist) -> KeeperCheckOut:
    """Record the keeper check of a sighting's vehicle and apply its effects in one transaction (module
    docstring); for ``different_keeper`` the hotlist is refreshed once that is committed."""
    with not_found_404():
        outcome = record_keeper_check(db, hotlist.client, sighting_id, KeeperCheck(body.result),
                                      provider=LocalKeeperCheck(), actor=principal.actor,
                                      role=principal.role.value, namespace=hotlist.namespace)
    return KeeperCheckOut(sighting_id=outcome.sighting_id, vehicle_id=outcome.vehicle_id, result=outcome.result,
                          actionable=outcome.actionable, checked_at=outcome.checked_at,
                          checked_by=outcome.checked_by, case_ids=list(outcome.case_ids),
                          payment_option_case_ids=list(outcome.flagged_case_ids), off_hotlist=outcome.off_hotlist)
