"""The keeper check of a sighting [R-ANPR-KEEPER]: a hit is not actionable until a keeper check
(a DVLA enquiry) says who the registered keeper is.

- ``confirmed`` (the customer, at the warrant's address): the sighting becomes actionable, and the
  vehicle records the confirmed keeper;
- ``new_address`` (the customer, elsewhere): the customer may pay as at the compliance stage; each
  warrant of the sighting gets a ``payment_option_compliance`` case event saying so (on the case's
  history, for caseworkers and the API); the sighting stays not actionable;
- ``different_keeper`` (someone else): the vehicle records it, which the hotlist rule reads, and
  leaves every van's list at once (``refresh_vehicles`` after the commit: audited as
  ``anpr_hotlist_remove`` naming R-ANPR-KEEPER).

The check goes through a ``KeeperCheckProvider``. The platform has no DVLA link yet: a dispatcher
makes the enquiry and records its answer, and ``LocalKeeperCheck`` is the provider for that. A
provider with a link of its own would ask DVLA and may disagree with (or ignore) what the dispatcher
reports. Whatever the provider answers is written to ``vehicle.keeper_check_state``, so the vehicle
table is where the next check (and the hotlist) finds it.

A sighting is checked once: the same answer again is a retry and changes nothing; a different one is
refused (``DomainError``, 409), since the first has already had its effects (a warrant flagged, a
vehicle off the list) and undoing them is not a keeper check's business.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from anpr_ingest.hotlist import refresh_vehicles
from core import DomainError, NotFound, record_audit
from core.models import AnprSighting, CaseEvent, KeeperCheck, Vehicle

RULE = "R-ANPR-KEEPER"
RESULTS = (KeeperCheck.confirmed, KeeperCheck.new_address, KeeperCheck.different_keeper)
PAYMENT_OPTION_EVENT = "payment_option_compliance"


@dataclass(frozen=True)
class Effect:
    """What a keeper check's result does (module docstring)."""

    actionable: bool       # the sighting may become a visit (R-ANPR-NOCHASE)
    payment_option: bool   # the warrants are flagged: the customer may pay as at compliance stage
    off_hotlist: bool      # the vehicle leaves every van's list


EFFECTS: dict[KeeperCheck, Effect] = {
    KeeperCheck.confirmed: Effect(actionable=True, payment_option=False, off_hotlist=False),
    KeeperCheck.new_address: Effect(actionable=False, payment_option=True, off_hotlist=False),
    KeeperCheck.different_keeper: Effect(actionable=False, payment_option=False, off_hotlist=True),
}


class KeeperCheckProvider(Protocol):
    def check(self, db: Session, vehicle_id: int, reported: KeeperCheck) -> KeeperCheck:
        """The keeper check's result for the vehicle; ``reported`` is the answer the dispatcher got
        (or ``DomainError`` when the provider cannot give one)."""
        ...


class LocalKeeperCheck:
    """The provider without a DVLA link: the vehicle table is the platform's own record of keeper
    checks. A vehicle it already records as someone else's stays so (a later report cannot put it
    back on the lists, R-ANPR-DELETE); otherwise the dispatcher's fresh enquiry is the answer."""

    def check(self, db: Session, vehicle_id: int, reported: KeeperCheck) -> KeeperCheck:
        # Locked, so that two checks of the same vehicle's sightings are written one after the other.
        state = db.scalar(select(Vehicle.keeper_check_state).where(Vehicle.id == vehicle_id).with_for_update())
        if state == KeeperCheck.different_keeper:
            return KeeperCheck.different_keeper
        return reported


@dataclass(frozen=True)
class KeeperOutcome:
    sighting_id: int
    vehicle_id: int
    result: KeeperCheck
    actionable: bool
    checked_at: datetime
    checked_by: str
    case_ids: tuple[int, ...]
    flagged_case_ids: tuple[int, ...]  # warrants given the payment option by this check
    off_hotlist: bool


def _outcome(s: AnprSighting, flagged: tuple[int, ...] = ()) -> KeeperOutcome:
    assert s.keeper_result is not None and s.keeper_checked_at is not None and s.keeper_checked_by is not None
    result = KeeperCheck(s.keeper_result)
    return KeeperOutcome(s.id, s.vehicle_id, result, s.actionable, s.keeper_checked_at, s.keeper_checked_by,
                         tuple(s.case_ids), flagged, EFFECTS[result].off_hotlist)


def record_keeper_check(db: Session, client: redis.Redis, sighting_id: int, reported: KeeperCheck, *,
                        provider: KeeperCheckProvider, actor: str, role: str | None = None,
                        now: datetime | None = None, namespace: str = "") -> KeeperOutcome:
    """Check the keeper of the sighting's vehicle through ``provider``, record the result and its
    effects with an audit row in one transaction and commit; then, for ``different_keeper``, take the
    vehicle off the hotlist of ``namespace``. ``NotFound`` for an unknown sighting; ``DomainError``
    when it was already checked with another result (the same one again changes nothing)."""
    if reported not in EFFECTS:
        raise ValueError(f"a keeper check's result is one of {', '.join(RESULTS)}, not {reported!r}")
    now = now or datetime.now(UTC)
    sighting = db.scalar(select(AnprSighting).where(AnprSighting.id == sighting_id).with_for_update())
    if sighting is None:
        raise NotFound(f"no ANPR sighting {sighting_id}")
    if sighting.keeper_result is not None:
        if sighting.keeper_result != reported:
            raise DomainError(RULE, f"sighting {sighting_id} was checked {sighting.keeper_checked_at:%Y-%m-%d %H:%M} "
                                    f"UTC by {sighting.keeper_checked_by} as {sighting.keeper_result}, not {reported}")
        return _outcome(sighting)
    result = provider.check(db, sighting.vehicle_id, reported)
    effect = EFFECTS[result]
    sighting.keeper_result, sighting.keeper_checked_at, sighting.keeper_checked_by = result, now, actor
    sighting.actionable = effect.actionable
    vehicle = db.get_one(Vehicle, sighting.vehicle_id)
    vehicle.keeper_check_state, vehicle.keeper_checked_at = result, now
    flagged = tuple(sorted(sighting.case_ids)) if effect.payment_option else ()
    for case_id in flagged:
        db.add(CaseEvent(case_id=case_id, actor=actor, at=now, kind=PAYMENT_OPTION_EVENT,
                         data={"rule": RULE, "sighting_id": sighting.id, "vehicle_id": vehicle.id,
                               "reason": "the registered keeper is the customer, at a new address: "
                                         "the customer may pay as at the compliance stage"}))
    record_audit(db, actor=actor, role=role, action="anpr_keeper_check", target=f"anpr_sighting:{sighting.id}",
                 data={"rule": RULE, "result": result.value, "reported": reported.value, "vehicle_id": vehicle.id,
                       "case_ids": list(sighting.case_ids), "actionable": effect.actionable,
                       "payment_option_case_ids": list(flagged)})
    db.commit()
    outcome = _outcome(sighting, flagged)
    if effect.off_hotlist:
        refresh_vehicles(db, client, [vehicle.id], actor, now=now, namespace=namespace)
    return outcome
