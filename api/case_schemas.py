"""The API's representation of a case, shared by case placement (``POST /cases``) and the case routes
(``GET /cases/{id}``). Built from :func:`core.case_read.load_cases`, which returns exactly these
fields."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


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
