"""Dispatchers' pins (``dispatch.pins``): "this case is visited by that agent (at that time)".

- ``POST /plans/{day}/pins`` (admins, dispatchers): checked at once, so that a pin no plan could keep
  is refused with 409 and the reason (``dispatch.pins.check_pin``); a new pin replaces the case's pin
  of that day.
- ``GET /plans/{day}/pins`` (office staff), ``DELETE /plans/{day}/pins/{case_id}`` (admins, dispatchers).

Every change is audited. Pins are staff data: buyers and agents get 403.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from api.checks import check_on_day
from api.deps import DB, DispatchStaff, OfficeStaff
from api.errors import WITH_BODY, error, errors
from api.schemas.common import CaseId, PathDay
from api.schemas.pins import PinIn, PinOut
from core.models import Agent, Case, PlanPin
from dispatch import Pin, PinRefused, check_pin, day_pins, remove_pin, save_pin

router = APIRouter(tags=["plans"], responses=errors(*WITH_BODY))


def _out(pin: PlanPin) -> PinOut:
    return PinOut(day=pin.day, case_id=pin.case_id, agent_id=pin.agent_id, at=pin.at, created_by=pin.created_by,
                  created_at=pin.created_at)


@router.post("/plans/{day}/pins", response_model=PinOut, status_code=status.HTTP_201_CREATED,
             responses={**error(404, "no such case or agent"),
                        **error(409, "no plan could keep the pin; the detail says why")})
def create_pin(day: PathDay, body: PinIn, db: DB, principal: DispatchStaff) -> PinOut:
    """Pin ``case_id`` to ``agent_id`` on ``day`` (at ``at``), replacing the case's pin of that day."""
    if body.at is not None:
        check_on_day(body.at, day, ("body", "at"))
    if db.get(Case, body.case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {body.case_id} not found")
    agent = db.get(Agent, body.agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"agent {body.agent_id} not found")
    pin = Pin(body.case_id, body.agent_id, body.at)
    try:
        check_pin(db, day, pin, agent)
    except PinRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _out(save_pin(db, day, pin, principal.actor, principal.role.value))


@router.get("/plans/{day}/pins", response_model=list[PinOut])
def list_pins(day: PathDay, db: DB, principal: OfficeStaff) -> list[PinOut]:
    """The day's pins, oldest first."""
    return [_out(p) for p in day_pins(db, day)]


@router.delete("/plans/{day}/pins/{case_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=error(404, "the case has no pin that day"))
def delete_pin(day: PathDay, case_id: CaseId, db: DB, principal: DispatchStaff) -> Response:
    if not remove_pin(db, day, case_id, principal.actor, principal.role.value):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no pin on {day}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
