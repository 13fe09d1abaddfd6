"""Reading and validating placement rows, with no database: a CSV or JSON-lines upload becomes
numbered records, and each record a typed :class:`PlacementIn` or the list of its problems as
``RowError(row, field, reason)``, the field named as the upload names it (CSV column or JSON path).

Input shapes
------------
- :class:`PlacementIn`, the JSON object of ``POST /cases`` and of each JSON line.
- CSV with a header; required columns are :data:`CSV_REQUIRED` (``vrm`` may be empty), optional ones
  :data:`CSV_OPTIONAL` (``address_line2, town, lat, lon, make, colour, received_on, debtor_dob,
  debtor_phone, debtor_email``); any other column is ignored. One vehicle per CSV row.

Rules a row must meet here
--------------------------
- ``debt_type`` one of :class:`core.models.DebtType`; ``original_balance_pence`` a whole number of
  pence, 1 to 10^11 (a zero debt is nothing to enforce); ``received_on`` (default today, London time)
  not in the future.
- ``postcode`` a well-formed UK postcode; ``lat``/``lon`` both or neither.
- each ``vrm`` a UK registration mark (:mod:`core.vrm`).

The rules that need the upload or the database (unique ``buyer_reference`` within the upload, a known
postcode, coordinates in the UK) are checked by :mod:`core.placement.stream` and
:mod:`core.placement.store`.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import geodata
from core.clock import LONDON
from core.models import DebtType
from core.vrm import normalise_vrm

MAX_BALANCE_PENCE = 10**11  # £1bn: anything larger is a typo, not a warrant

CSV_REQUIRED = ("buyer_reference", "debt_type", "original_balance_pence", "debtor_name", "address_line1",
                "postcode", "vrm")
# CSV column → where it goes in a PlacementIn.
CSV_COLUMNS: dict[str, tuple[str | int, ...]] = {
    "buyer_reference": ("buyer_reference",),
    "debt_type": ("debt_type",),
    "original_balance_pence": ("original_balance_pence",),
    "received_on": ("received_on",),
    "debtor_name": ("debtor", "name"),
    "debtor_dob": ("debtor", "date_of_birth"),
    "debtor_phone": ("debtor", "phone"),
    "debtor_email": ("debtor", "email"),
    "address_line1": ("address", "line1"),
    "address_line2": ("address", "line2"),
    "town": ("address", "town"),
    "postcode": ("address", "postcode"),
    "lat": ("address", "lat"),
    "lon": ("address", "lon"),
    "vrm": ("vehicles", 0, "vrm"),
    "make": ("vehicles", 0, "make"),
    "colour": ("vehicles", 0, "colour"),
}
CSV_OPTIONAL = tuple(c for c in CSV_COLUMNS if c not in CSV_REQUIRED)
_CSV_FIELD_OF = {loc: column for column, loc in CSV_COLUMNS.items()}
_CSV_FIELD_OF[("address",)] = "lat"  # the lat/lon pairing check is reported on lat


def today() -> date:
    return datetime.now(LONDON).date()


# --- the placement of one case --------------------------------------------------------------------


class _In(BaseModel):
    # JSON lines may carry fields of later versions or of the buyer's own systems: ignore, don't fail.
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class DebtorIn(_In):
    name: str = Field(min_length=1, max_length=200)
    date_of_birth: date | None = None
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)


class AddressIn(_In):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    postcode: str
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str) -> str:
        return geodata.normalise_postcode(value)

    @model_validator(mode="after")
    def _both_coordinates(self) -> AddressIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class VehicleIn(_In):
    vrm: str
    make: str | None = Field(default=None, max_length=50)
    colour: str | None = Field(default=None, max_length=30)

    @field_validator("vrm")
    @classmethod
    def _vrm(cls, value: str) -> str:
        return normalise_vrm(value)


class PlacementIn(_In):
    buyer: str | None = Field(default=None, description="buyer reference: staff name the buyer they place "
                                                         "for; a buyer user may omit it (own buyer)")
    buyer_reference: str = Field(min_length=1, max_length=64)
    debt_type: DebtType
    original_balance_pence: int = Field(gt=0, le=MAX_BALANCE_PENCE, description="whole pence")
    received_on: date | None = Field(default=None, description="default today; not in the future")
    debtor: DebtorIn
    address: AddressIn
    vehicles: list[VehicleIn] = Field(default_factory=list, max_length=20)

    @field_validator("original_balance_pence", mode="before")
    @classmethod
    def _whole_pence(cls, value: Any) -> Any:
        # Pydantic would accept 1250.0; a float here means someone sent pounds or a rounded sum.
        if isinstance(value, float):
            raise ValueError("must be a whole number of pence (an integer), not a decimal")
        return value

    @field_validator("received_on")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > today():
            raise ValueError(f"received_on {value} is in the future")
        return value


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


class BadUpload(ValueError):
    """The upload as a whole is unusable (e.g. a CSV header without a required column)."""


# --- reading uploads ----------------------------------------------------------------------------

Record = tuple[int, dict[str, Any] | RowError]
FieldNamer = Callable[[tuple[str | int, ...]], str]


def json_field(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc)


def csv_field(loc: tuple[str | int, ...]) -> str:
    return _CSV_FIELD_OF.get(loc, json_field(loc))


def read_jsonl(lines: Iterable[str]) -> Iterator[Record]:
    """One record per non-blank line; ``row`` is the line number from 1."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield number, RowError(number, "", f"not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield number, RowError(number, "", "each line must be a JSON object")
            continue
        yield number, value


def read_csv(lines: Iterable[str]) -> Iterator[Record]:
    """One record per CSV data row; ``row`` is the file line the record starts on (the header is line
    1). Raises :class:`BadUpload` if the header lacks a required column."""
    reader = csv.reader(lines)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise BadUpload("empty upload: expected a CSV header line") from None
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise BadUpload(f"CSV header lacks required column(s) {', '.join(missing)}; "
                        f"required: {', '.join(CSV_REQUIRED)}")
    used = [(i, CSV_COLUMNS[h]) for i, h in enumerate(header) if h in CSV_COLUMNS]
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last_line = reader.line_num
            yield start, RowError(start, "", f"unreadable CSV: {exc}")
            continue
        last_line = reader.line_num
        if not fields or fields == [""]:
            continue  # blank line
        if len(fields) != len(header):
            yield start, RowError(start, "", f"expected {len(header)} fields (as in the header), found {len(fields)}")
            continue
        yield start, _nest({loc: fields[i].strip() for i, loc in used if fields[i].strip()})


def _nest(flat: dict[tuple[str | int, ...], str]) -> dict[str, Any]:
    """{("address", "postcode"): "PL1 2AA", ("vehicles", 0, "vrm"): …} → the PlacementIn shape. Make
    and colour without a VRM describe no vehicle and are dropped."""
    out: dict[str, Any] = {"debtor": {}, "address": {}}
    vehicle: dict[str, str] = {}
    for loc, value in flat.items():
        if loc[0] == "vehicles":
            vehicle[str(loc[2])] = value
        elif len(loc) == 2:
            out[str(loc[0])][str(loc[1])] = value
        else:
            out[str(loc[0])] = value
    out["vehicles"] = [vehicle] if "vrm" in vehicle else []
    return out


def validate(row: int, raw: dict[str, Any], namer: FieldNamer) -> PlacementIn | list[RowError]:
    """Pure validation of one record: the model, or every problem with it."""
    try:
        return PlacementIn.model_validate(raw)
    except ValidationError as exc:
        return [RowError(row, namer(tuple(e["loc"])), _reason(e["msg"])) for e in exc.errors()]


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ")
