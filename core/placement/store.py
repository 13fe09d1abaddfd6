"""Storing validated placements for one buyer, set-based and with no per-row round trips.

Per batch, the good rows are ``COPY``-ed into a temporary staging table and every later step is one
set-based statement. Addresses are matched within the buyer on (normalised first line, postcode);
debtors on (normalised name, address); new ones get ids from their sequences up front so that every
insert is a plain ``INSERT … SELECT``. Rows the database refuses (a postcode not in the GB list and no
coordinates, coordinates outside the UK) come back as errors. An address within 50 m of a sensitive
premises is flagged [R-VISIT-SENSITIVE] with the premises named in ``sensitive_note``. Warrants of
one debtor at one address are linked ("total debt approach"): ``linked_group`` is the leader's case
id, the leader is the earliest received (then lowest id), and a later warrant joins an existing group
without taking the lead. Each new case gets its ``debt`` ledger entry and a ``placed`` case event; an
existing case that becomes linked gets a ``linked`` event. ``assigned_subcontractor_id`` stays null:
core has no region → firm rule yet (the scenario generator's mapping lives in ``sim``, which core does
not import).

Placements for one buyer are serialised by a transaction-scoped advisory lock, so two concurrent
uploads cannot both create the same debtor or both lead one group.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from sqlalchemy.orm import Session

import geodata
from core.placement.rows import FieldNamer, PlacementIn, RowError, json_field, today


@dataclass
class BatchResult:
    case_ids: dict[int, int]  # row → case id, for every stored or already present row
    already_present: set[int]
    errors: list[RowError]


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
