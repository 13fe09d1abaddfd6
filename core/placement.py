"""Case placement: buyers place warrants one at a time or in files of up to 100,000 rows [000 §2.88].

Every row is validated; good rows are stored, bad rows come back as ``(row, field, reason)`` and the
caller gets a :class:`Receipt`. Placement is idempotent on (buyer, buyer reference): a row whose case
already exists changes nothing and is counted in ``accepted`` *and* in ``already_present`` (it is a
good row and its case exists), so ``received == accepted + rejected`` always holds.

Input shapes
------------
- :class:`PlacementIn`, the JSON object of ``POST /cases`` and of each JSON line.
- CSV with a header; required columns are :data:`CSV_REQUIRED` (``vrm`` may be empty), optional ones
  :data:`CSV_OPTIONAL` (``address_line2, town, lat, lon, make, colour, received_on, debtor_dob,
  debtor_phone, debtor_email``); any other column is ignored. One vehicle per CSV row.

Rules a row must meet
---------------------
- ``debt_type`` one of :class:`core.models.DebtType`; ``original_balance_pence`` a whole number of
  pence, 1 to 10^11 (a zero debt is nothing to enforce); ``received_on`` (default today, London time)
  not in the future; ``buyer_reference`` unique within the upload.
- ``postcode`` a well-formed UK postcode; without ``lat``/``lon`` it must also be a known postcode (its
  centroid places the address). Supplied ``lat``/``lon`` (both or neither) must fall in the UK; they
  may come with a postcode that is not in the list yet (new builds).
- each ``vrm`` a UK registration mark (:mod:`core.vrm`).

Storage, per batch of :data:`BATCH_ROWS` rows and with no per-row round trips: the good rows are
``COPY``-ed into a temporary staging table and every later step is one set-based statement. Addresses
are matched within the buyer on (normalised first line, postcode); debtors on (normalised name,
address); new ones get ids from their sequences up front so that every insert is a plain
``INSERT … SELECT``. An address within 50 m of a sensitive premises is flagged
[R-VISIT-SENSITIVE] with the premises named in ``sensitive_note``. Warrants of one debtor at one
address are linked ("total debt approach"): ``linked_group`` is the leader's case id, the leader is
the earliest received (then lowest id), and a later warrant joins an existing group without taking
the lead. Each new case gets its ``debt`` ledger entry and a ``placed`` case event; an existing case
that becomes linked gets a ``linked`` event. ``assigned_subcontractor_id`` stays null: core has no
region → firm rule yet (the scenario generator's mapping lives in ``sim``, which core does not
import).

Placements for one buyer are serialised by a transaction-scoped advisory lock, so two concurrent
uploads cannot both create the same debtor or both lead one group.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.orm import Session

import geodata
from core.models import DebtType
from core.vrm import normalise_vrm

BATCH_ROWS = 5_000
MAX_BALANCE_PENCE = 10**11  # £1bn: anything larger is a typo, not a warrant
LONDON = ZoneInfo("Europe/London")

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


@dataclass
class Receipt:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    already_present: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class BatchResult:
    case_ids: dict[int, int]  # row → case id, for every stored or already present row
    already_present: set[int]
    errors: list[RowError]


class BadUpload(ValueError):
    """The upload as a whole is unusable (e.g. a CSV header without a required column)."""


class TooManyRows(ValueError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"more than {limit} data rows: nothing was stored; split the file")


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


# --- streaming placement ------------------------------------------------------------------------


def place_stream(db: Session, buyer_id: int, buyer_reference: str, records: Iterable[Record], *,
                 actor: str, source: str, namer: FieldNamer, limit: int) -> Receipt:
    """Validate and store an upload in batches; memory is bounded by :data:`BATCH_ROWS` (plus the
    upload's buyer references, kept to reject duplicates, and the error list). Raises
    :class:`TooManyRows` on the ``limit + 1``-th record, before storing it."""
    receipt = Receipt()
    first_row_of: dict[str, int] = {}
    batch: list[tuple[int, PlacementIn]] = []

    def flush() -> None:
        result = place_batch(db, buyer_id, batch, actor=actor, source=source, namer=namer)
        receipt.errors.extend(result.errors)
        receipt.rejected += len({e.row for e in result.errors})
        receipt.accepted += len(result.case_ids)
        receipt.already_present += len(result.already_present)
        batch.clear()

    for row, record in records:
        receipt.received += 1
        if receipt.received > limit:
            raise TooManyRows(limit)
        errors = [record] if isinstance(record, RowError) else None
        if errors is None:
            placement = validate(row, record, namer)
            if isinstance(placement, list):
                errors = placement
            elif placement.buyer is not None and placement.buyer != buyer_reference:
                errors = [RowError(row, "buyer", f"rows of this upload are placed for buyer {buyer_reference!r}")]
            elif placement.buyer_reference in first_row_of:
                errors = [RowError(row, namer(("buyer_reference",)), "duplicate buyer_reference in this upload "
                                   f"(first at row {first_row_of[placement.buyer_reference]})")]
            else:
                first_row_of[placement.buyer_reference] = row
                batch.append((row, placement))
        if errors:
            receipt.rejected += 1
            receipt.errors.extend(errors)
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    receipt.errors.sort(key=lambda e: e.row)
    return receipt


# --- storing one batch --------------------------------------------------------------------------

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS placement_stage (
    row_no integer PRIMARY KEY,
    buyer_reference text NOT NULL, debt_type text NOT NULL, original_balance_pence bigint NOT NULL,
    received_on date NOT NULL,
    debtor_name text NOT NULL, date_of_birth date, phone text, email text,
    line1 text NOT NULL, line2 text, town text, postcode text NOT NULL,
    lon float8 NOT NULL, lat float8 NOT NULL, itl1_cd text, lad_cd text,
    -- the matching keys: one SQL definition serves both the staged rows and the stored ones
    name_key text GENERATED ALWAYS AS (lower(regexp_replace(btrim(debtor_name), '\\s+', ' ', 'g'))) STORED,
    line1_key text GENERATED ALWAYS AS (lower(regexp_replace(btrim(line1), '\\s+', ' ', 'g'))) STORED,
    existing boolean NOT NULL DEFAULT false,
    case_id integer, address_id integer, new_address boolean NOT NULL DEFAULT false,
    debtor_id integer, new_debtor boolean NOT NULL DEFAULT false
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS placement_stage_vehicle (
    row_no integer NOT NULL, vrm text NOT NULL, make text, colour text
) ON COMMIT DROP;
TRUNCATE placement_stage, placement_stage_vehicle;
"""

_LINE1_KEY = "lower(regexp_replace(btrim({}.line1), '\\s+', ' ', 'g'))"
_NAME_KEY = "lower(regexp_replace(btrim({}.name), '\\s+', ' ', 'g'))"

_STEPS = [
    # Idempotency: rows whose (buyer, buyer_reference) is already stored change nothing.
    """UPDATE placement_stage s SET existing = true, case_id = c.id FROM enforcement_case c
       WHERE c.buyer_id = %(buyer)s AND c.buyer_reference = s.buyer_reference""",
    # The buyer's stored address with the same first line and postcode.
    f"""UPDATE placement_stage s SET address_id = m.id FROM (
          SELECT DISTINCT ON (k.line1_key, k.postcode) k.line1_key, k.postcode, a.id
          FROM (SELECT DISTINCT line1_key, postcode FROM placement_stage WHERE NOT existing) k
          JOIN address a ON a.postcode = k.postcode AND {_LINE1_KEY.format('a')} = k.line1_key
          WHERE EXISTS (SELECT 1 FROM enforcement_case c WHERE c.address_id = a.id AND c.buyer_id = %(buyer)s)
          ORDER BY k.line1_key, k.postcode, a.id) m
        WHERE NOT s.existing AND s.line1_key = m.line1_key AND s.postcode = m.postcode""",
    # The buyer's stored debtor of the same name at the same (stored) address; before new addresses get
    # ids, so only matched addresses are probed.
    f"""UPDATE placement_stage s SET debtor_id = m.debtor_id FROM (
          SELECT DISTINCT ON (c.address_id, {_NAME_KEY.format('d')}) c.address_id,
                 {_NAME_KEY.format('d')} AS name_key, d.id AS debtor_id
          FROM (SELECT DISTINCT address_id FROM placement_stage WHERE address_id IS NOT NULL) k
          JOIN enforcement_case c ON c.address_id = k.address_id AND c.buyer_id = %(buyer)s
          JOIN debtor d ON d.id = c.debtor_id
          ORDER BY c.address_id, {_NAME_KEY.format('d')}, d.id) m
        WHERE NOT s.existing AND s.address_id = m.address_id AND s.name_key = m.name_key""",
    # New addresses: ids drawn up front; the first row naming an address supplies its details.
    # (MATERIALIZED: a re-scanned subquery would call nextval again and split one address in two.)
    """WITH n AS MATERIALIZED (
          SELECT line1_key, postcode, first_row, nextval(pg_get_serial_sequence('address', 'id')) AS id
          FROM (SELECT line1_key, postcode, min(row_no) AS first_row FROM placement_stage
                WHERE NOT existing AND address_id IS NULL GROUP BY 1, 2 ORDER BY 3) f)
        UPDATE placement_stage s SET address_id = n.id, new_address = (s.row_no = n.first_row) FROM n
        WHERE NOT s.existing AND s.address_id IS NULL AND s.line1_key = n.line1_key AND s.postcode = n.postcode""",
    # R-VISIT-SENSITIVE, one indexed ST_DWithin probe per new address, in metres (BNG).
    """INSERT INTO address (id, line1, line2, town, postcode, location, itl1_cd, lad_cd, sensitive, sensitive_note)
       SELECT s.address_id, s.line1, s.line2, s.town, s.postcode, p.pt, s.itl1_cd, s.lad_cd,
              near.note IS NOT NULL, near.note
       FROM placement_stage s
       CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS pt) p
       LEFT JOIN LATERAL (
           SELECT 'within 50 m of ' || string_agg(q.category || ' ' || q.name || ' (' || round(q.d)::int || ' m)',
                                                 '; ' ORDER BY q.d, q.id) AS note
           FROM (SELECT sp.id, sp.category, sp.name, ST_Distance(sp.location_bng, ST_Transform(p.pt, 27700)) AS d
                 FROM sensitive_premises sp
                 WHERE ST_DWithin(sp.location_bng, ST_Transform(p.pt, 27700), 50)) q) near ON true
       WHERE s.new_address""",
    """WITH n AS MATERIALIZED (
          SELECT address_id, name_key, first_row, nextval(pg_get_serial_sequence('debtor', 'id')) AS id
          FROM (SELECT address_id, name_key, min(row_no) AS first_row FROM placement_stage
                WHERE NOT existing AND debtor_id IS NULL GROUP BY 1, 2 ORDER BY 3) f)
        UPDATE placement_stage s SET debtor_id = n.id, new_debtor = (s.row_no = n.first_row) FROM n
        WHERE NOT s.existing AND s.debtor_id IS NULL AND s.address_id = n.address_id AND s.name_key = n.name_key""",
    """INSERT INTO debtor (id, name, date_of_birth, phone, email)
       SELECT debtor_id, debtor_name, date_of_birth, phone, email FROM placement_stage WHERE new_debtor""",
    # Case ids in row order, so supplier references follow the file.
    """WITH n AS MATERIALIZED (
          SELECT row_no, nextval(pg_get_serial_sequence('enforcement_case', 'id')) AS id
          FROM (SELECT row_no FROM placement_stage WHERE NOT existing ORDER BY row_no) o)
        UPDATE placement_stage s SET case_id = n.id FROM n WHERE s.row_no = n.row_no""",
    # ON CONFLICT as a second guard behind the advisory lock. supplier_reference is "BW%08d" of the id
    # (as the scenarios write it), growing past 8 digits rather than being cut.
    """INSERT INTO enforcement_case (id, buyer_id, buyer_reference, supplier_reference, debt_type,
           original_balance_pence, current_balance_pence, stage, status, on_hold, vulnerable, received_on,
           linked_group, is_leading, debtor_id, address_id)
       SELECT case_id, %(buyer)s, buyer_reference,
              'BW' || repeat('0', greatest(0, 8 - length(case_id::text))) || case_id::text, debt_type,
              original_balance_pence, original_balance_pence, 'compliance', 'open', false, false, received_on,
              NULL, true, debtor_id, address_id
       FROM placement_stage WHERE NOT existing ORDER BY row_no
       ON CONFLICT (buyer_id, buyer_reference) DO NOTHING""",
    # current_balance_pence = the ledger sum: the placed debt is the first entry.
    """INSERT INTO ledger_entry (case_id, kind, amount_pence, actor, data)
       SELECT case_id, 'debt', original_balance_pence, %(actor)s, jsonb_build_object('source', %(source)s::text)
       FROM placement_stage WHERE NOT existing""",
    """INSERT INTO case_event (case_id, actor, kind, data)
       SELECT case_id, %(actor)s, 'placed',
              jsonb_build_object('source', %(source)s::text, 'row', row_no, 'buyer_reference', buyer_reference)
       FROM placement_stage WHERE NOT existing""",
    """INSERT INTO vehicle (vrm, make, colour, keeper_check_state)
       SELECT DISTINCT ON (v.vrm) v.vrm, v.make, v.colour, 'not_checked'
       FROM placement_stage_vehicle v JOIN placement_stage s USING (row_no)
       WHERE NOT s.existing ORDER BY v.vrm, v.row_no
       ON CONFLICT (vrm) DO UPDATE SET make = coalesce(vehicle.make, excluded.make),
                                       colour = coalesce(vehicle.colour, excluded.colour)
       WHERE vehicle.make IS NULL OR vehicle.colour IS NULL""",
    """INSERT INTO case_vehicle (case_id, vehicle_id)
       SELECT DISTINCT s.case_id, ve.id FROM placement_stage_vehicle v JOIN placement_stage s USING (row_no)
       JOIN vehicle ve ON ve.vrm = v.vrm WHERE NOT s.existing
       ON CONFLICT DO NOTHING""",
    # Linking ("total debt approach"): every (debtor, address) with more than one case forms a group
    # named after its leader. An existing group keeps its leader; otherwise the earliest received
    # (then lowest id) leads. Only the leader ever holds is_leading within the group, so the unique
    # one-leader index holds at every row of the statement.
    """WITH pairs AS (SELECT DISTINCT debtor_id, address_id FROM placement_stage WHERE NOT existing),
       groups AS (
           SELECT c.debtor_id, c.address_id, max(c.linked_group) AS existing_group,
                  (array_agg(c.id ORDER BY c.received_on, c.id))[1] AS first_id
           FROM enforcement_case c JOIN pairs p USING (debtor_id, address_id)
           GROUP BY 1, 2 HAVING count(*) > 1),
       linked AS (
           UPDATE enforcement_case c
           SET linked_group = coalesce(g.existing_group, g.first_id),
               is_leading = CASE WHEN g.existing_group IS NULL THEN c.id = g.first_id
                                 ELSE c.linked_group IS NOT NULL AND c.is_leading END
           FROM groups g
           WHERE c.debtor_id = g.debtor_id AND c.address_id = g.address_id
             AND c.linked_group IS DISTINCT FROM coalesce(g.existing_group, g.first_id)
           RETURNING c.id, c.linked_group, c.is_leading)
       INSERT INTO case_event (case_id, actor, kind, data)
       SELECT l.id, %(actor)s, 'linked', jsonb_build_object('linked_group', l.linked_group, 'is_leading', l.is_leading)
       FROM linked l WHERE NOT EXISTS (SELECT 1 FROM placement_stage s WHERE s.case_id = l.id AND NOT s.existing)""",
]


def place_batch(db: Session, buyer_id: int, batch: Sequence[tuple[int, PlacementIn]], *, actor: str,
                source: str, namer: FieldNamer = json_field) -> BatchResult:
    """Store validated placements (``(row, placement)``) for one buyer inside the caller's
    transaction; rows failing the database checks (unknown postcode, coordinates outside the UK) come
    back as errors and the rest are stored."""
    errors: list[RowError] = []
    if not batch:
        return BatchResult({}, set(), errors)
    conn: psycopg.Connection = db.connection().connection.driver_connection
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('bailiwick.case_placement'), %s)", [buyer_id])
        cur.execute("SELECT postcode, ST_X(location), ST_Y(location) FROM postcode WHERE postcode = ANY(%s)",
                    [sorted({p.address.postcode for _, p in batch})])
        centroids = {pc: (lon, lat) for pc, lon, lat in cur}
        located = _locate(db, batch, centroids, errors, namer)
        cur.execute(_STAGE)
        received_default = today()
        with cur.copy("COPY placement_stage (row_no, buyer_reference, debt_type, original_balance_pence, "
                      "received_on, debtor_name, date_of_birth, phone, email, line1, line2, town, postcode, "
                      "lon, lat, itl1_cd, lad_cd) FROM STDIN") as copy:
            for (row, p), (lon, lat, itl1, lad) in located:
                d, a = p.debtor, p.address
                copy.write_row((row, p.buyer_reference, p.debt_type.value, p.original_balance_pence,
                                p.received_on or received_default, d.name, d.date_of_birth, d.phone, d.email,
                                a.line1, a.line2, a.town, a.postcode, lon, lat, itl1, lad))
        with cur.copy("COPY placement_stage_vehicle (row_no, vrm, make, colour) FROM STDIN") as copy:
            for (row, p), _ in located:
                for v in p.vehicles:
                    copy.write_row((row, v.vrm, v.make, v.colour))
        # A fresh temp table has no statistics: without them the joins below are planned as nested
        # loops over the staging rows, quadratic in the batch size (100x slower at 5,000 rows).
        cur.execute("ANALYZE placement_stage, placement_stage_vehicle")
        params = {"buyer": buyer_id, "actor": actor, "source": source}
        for step in _STEPS:
            cur.execute(step, params)
        cur.execute("SELECT row_no, case_id, existing FROM placement_stage")
        case_ids, present = {}, set()
        for row, case_id, existing in cur:
            case_ids[row] = case_id
            if existing:
                present.add(row)
    return BatchResult(case_ids, present, errors)


def _locate(db: Session, batch: Sequence[tuple[int, PlacementIn]], centroids: dict[str, tuple[float, float]],
            errors: list[RowError], namer: FieldNamer
            ) -> list[tuple[tuple[int, PlacementIn], tuple[float, float, str | None, str | None]]]:
    """Each row's point (supplied, else its postcode's centroid) with its ITL1 region and local
    authority, found for the whole batch at once; rows that cannot be placed go to ``errors``."""
    placed: list[tuple[tuple[int, PlacementIn], tuple[float, float]]] = []
    for item in batch:
        row, p = item
        a = p.address
        if a.lat is not None and a.lon is not None:
            placed.append((item, (a.lon, a.lat)))
        elif a.postcode in centroids:
            placed.append((item, centroids[a.postcode]))
        else:
            errors.append(RowError(row, namer(("address", "postcode")),
                                   f"unknown postcode {a.postcode!r} (not in the GB postcode list); "
                                   "give lat and lon to place it"))
    if not placed:
        return []
    regions = geodata.locate_points(db, [pt[0] for _, pt in placed], [pt[1] for _, pt in placed])
    out = []
    for (item, (lon, lat)), itl1, lad in zip(placed, regions["itl1_cd"], regions["lad_cd"], strict=True):
        if lad is None and item[1].address.lat is not None:
            errors.append(RowError(item[0], namer(("address", "lat")),
                                   f"lat={lat}, lon={lon} is not in the UK"))
            continue
        out.append((item, (lon, lat, itl1, lad)))
    return out
