"""Pure parts of case placement: VRM shapes, CSV/JSON-lines reading and row validation (no database)."""
from __future__ import annotations

import pytest

from core.placement import RowError, csv_field, json_field, read_csv, read_jsonl, validate
from core.vrm import InvalidVRM, normalise_vrm

HEADER = "buyer_reference,debt_type,original_balance_pence,debtor_name,address_line1,postcode,vrm\n"


@pytest.mark.parametrize("text, stored", [
    ("ab12 cde", "AB12CDE"),   # current
    ("A123 BCD", "A123BCD"),   # prefix
    ("ABC 123D", "ABC123D"),   # suffix
    ("1 ABC", "1ABC"),         # dateless
    ("ABC 1234", "ABC1234"),   # dateless / Northern Ireland
])
def test_uk_vrm_shapes_are_normalised(text, stored):
    assert normalise_vrm(text) == stored


@pytest.mark.parametrize("text", ["", "AB12-CDE", "ABCDEFGH", "12345678", "ABCD", "AB12CDEF", "A1B2C3"])
def test_garbage_vrms_are_rejected(text):
    with pytest.raises(InvalidVRM):
        normalise_vrm(text)


def test_csv_rows_are_numbered_by_file_line_and_extra_columns_are_ignored():
    body = (HEADER.rstrip("\n") + ",town,notes\n"
            "R1,parking,100,Ann,1 High St,pl1 1aa,,Plymouth,whatever\n"
            "\n"
            'R2,parking,100,"Multi\nLine",2 High St,PL1 1AA,AB12CDE,,\n'
            "R3,parking\n")
    records = list(read_csv(body.splitlines(keepends=True)))
    assert [row for row, _ in records] == [2, 4, 6]
    assert records[0][1]["address"] == {"line1": "1 High St", "postcode": "pl1 1aa", "town": "Plymouth"}
    assert records[1][1]["vehicles"] == [{"vrm": "AB12CDE"}]
    assert isinstance(records[2][1], RowError) and records[2][1].row == 6


def test_validation_names_csv_columns_and_json_paths():
    raw = next(r for _, r in read_csv((HEADER + "R1,tax,1.5,,1 High St,XX,???\n").splitlines(keepends=True)))
    fields = {e.field for e in validate(2, raw, csv_field)}
    assert fields == {"debt_type", "original_balance_pence", "debtor_name", "postcode", "vrm"}
    (row, raw), = read_jsonl(['{"buyer_reference": "R", "debt_type": "parking", "original_balance_pence": 5,'
                              ' "debtor": {"name": "A"}, "address": {"line1": "x", "postcode": "PL1 1AA", "lat": 50}}'])
    assert [(e.row, e.field) for e in validate(row, raw, json_field)] == [(1, "address")]


def test_a_good_row_validates():
    placement = validate(1, {"buyer_reference": " R1 ", "debt_type": "sundry", "original_balance_pence": "2500",
                             "debtor": {"name": "Ann"}, "address": {"line1": "1 High St", "postcode": "pl11aa"},
                             "vehicles": [{"vrm": "ab12cde"}]}, json_field)
    assert placement.buyer_reference == "R1" and placement.original_balance_pence == 2500
    assert placement.address.postcode == "PL1 1AA" and placement.vehicles[0].vrm == "AB12CDE"
