"""Reading cases in the shape the API shows them (``api.case_schemas.CaseOut``): two set-based
queries for any number of ids, so placement receipts and case views never load row by row."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_CASES = text("""
SELECT c.id, b.reference AS buyer, c.buyer_reference, c.supplier_reference, c.subcontractor_reference,
       c.debt_type, c.original_balance_pence, c.current_balance_pence, c.stage, c.status, c.on_hold,
       c.vulnerable, c.under_arrangement, c.received_on, c.notice_issued_on, c.enforcement_stage_on,
       c.linked_group, c.is_leading,
       d.id AS debtor_id, d.name AS debtor_name,
       a.line1, a.line2, a.town, a.postcode, ST_Y(a.location) AS lat, ST_X(a.location) AS lon,
       a.itl1_cd, a.lad_cd, a.sensitive, a.sensitive_note,
       -- R-VISIT-SENSITIVE: a flagged address stays undispatchable until a person clears it.
       (c.status = 'open' AND NOT c.on_hold AND NOT c.vulnerable
        AND NOT (a.sensitive AND a.sensitive_cleared_at IS NULL)) AS dispatchable
FROM enforcement_case c
JOIN buyer b ON b.id = c.buyer_id
JOIN debtor d ON d.id = c.debtor_id
JOIN address a ON a.id = c.address_id
WHERE c.id = ANY(:ids)
""")

_VEHICLES = text("""
SELECT cv.case_id, v.vrm, v.make, v.colour FROM case_vehicle cv JOIN vehicle v ON v.id = cv.vehicle_id
WHERE cv.case_id = ANY(:ids) ORDER BY cv.case_id, v.vrm
""")

_ADDRESS = ("line1", "line2", "town", "postcode", "lat", "lon", "itl1_cd", "lad_cd", "sensitive", "sensitive_note")


def load_cases(db: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The cases with these ids, in the order given (unknown ids are left out), as dicts with the
    fields of ``api.case_schemas.CaseOut``. No buyer scoping here: the caller decides who may see
    which ids."""
    ids = list(ids)
    vehicles: dict[int, list[dict[str, Any]]] = {}
    for case_id, vrm, make, colour in db.execute(_VEHICLES, {"ids": ids}):
        vehicles.setdefault(case_id, []).append({"vrm": vrm, "make": make, "colour": colour})
    found = {}
    for row in db.execute(_CASES, {"ids": ids}).mappings():
        case = {k: v for k, v in row.items() if k not in _ADDRESS and k not in ("debtor_id", "debtor_name")}
        case["debtor"] = {"id": row["debtor_id"], "name": row["debtor_name"]}
        case["address"] = {k: row[k] for k in _ADDRESS}
        case["vehicles"] = vehicles.get(row["id"], [])
        found[row["id"]] = case
    return [found[i] for i in ids if i in found]
