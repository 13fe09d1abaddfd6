"""Cases: placement (``POST /cases``, ``POST /cases/bulk``), search, detail, history and transitions.
``CaseOut`` is built from :func:`core.case_read.load_cases`, which returns exactly its fields."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import Text, no_nul
from api.schemas.ledger import FeeLineOut
from api.schemas.visits import VisitOut
from core import AddressIn, DebtorIn, PlacementIn, Transition, VehicleIn


class CaseDebtorOut(BaseModel):
    id: int
    name: str


class CaseAddressOut(BaseModel):
    line1: str
    line2: str | None
    town: str | None
    postcode: str
    lat: float
    lon: float
    itl1_cd: str | None
    lad_cd: str | None
    sensitive: bool = Field(description="within 50 m of a sensitive premises [R-VISIT-SENSITIVE]")
    sensitive_note: str | None


class CaseVehicleOut(BaseModel):
    vrm: str
    make: str | None
    colour: str | None


class CaseOut(BaseModel):
    id: int
    buyer: str = Field(description="the buyer's reference")
    buyer_reference: str
    supplier_reference: str
    subcontractor_reference: str | None
    debt_type: str
    original_balance_pence: int
    current_balance_pence: int
    stage: str
    status: str
    on_hold: bool
    vulnerable: bool
    under_arrangement: bool
    received_on: date
    notice_issued_on: date | None
    enforcement_stage_on: date | None
    linked_group: int | None
    is_leading: bool
    debtor: CaseDebtorOut
    address: CaseAddressOut
    vehicles: list[CaseVehicleOut]
    dispatchable: bool = Field(description="open, not on hold, not vulnerable, and the address is not "
                                           "flagged sensitive (or the flag was cleared by a person)")


class PlacementErrorOut(BaseModel):
    row: int = Field(description="line number in the file (the CSV header is line 1; JSON lines from 1)")
    field: str
    reason: str


class PlacementReceipt(BaseModel):
    """The answer to ``POST /cases/bulk`` [000 §2.88]: ``received = accepted + rejected``; rows whose
    case was already stored (same buyer reference) count as accepted and also in ``already_present``."""
    received: int
    accepted: int
    rejected: int
    already_present: int
    errors: list[PlacementErrorOut]


class _NoNul(BaseModel):
    """Refuses a NUL in any text field of the placement models below (``api.schemas.common.no_nul``)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return no_nul(value) if isinstance(value, str) else value


class DebtorBody(_NoNul, DebtorIn):
    pass


class AddressBody(_NoNul, AddressIn):
    pass


class VehicleBody(_NoNul, VehicleIn):
    pass


class PlacementBody(_NoNul, PlacementIn):
    """``core.placement.PlacementIn`` as the API reads it: its rules, and no NUL in any text."""

    debtor: DebtorBody
    address: AddressBody
    vehicles: list[VehicleBody] = Field(default_factory=list, max_length=20)


class CasePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CaseOut]


class FeesOut(BaseModel):
    """debt + net fees − paid + refunded = balance (``core.ledger.fee_breakdown``)."""

    debt_pence: int
    fees_net_pence: int
    paid_pence: int
    refunded_pence: int
    balance_pence: int
    lines: list[FeeLineOut]


class CaseDetailOut(CaseOut):
    hold_reason: str | None
    vulnerability_note: str | None
    arrangement_since: date | None
    sale_stage_on: date | None
    removal_permission: bool
    return_requested_at: datetime | None
    return_reason: str | None
    returned_at: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None
    anpr_eligible_from: datetime | None
    fees: FeesOut
    visits: list[VisitOut]


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]


class TransitionIn(BaseModel):
    transition: Transition
    reason: Text | None = Field(default=None, max_length=2000,
                                description="required for hold, flag_vulnerable, clear_vulnerable, "
                                            "request_return, return_case and closing an open case")


class TransitionOut(BaseModel):
    event: EventOut
    case: CaseOut


class SensitiveClearIn(BaseModel):
    note: Text = Field(min_length=1, max_length=2000, description="why the address is safe to visit")
