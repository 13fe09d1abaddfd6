"""A small month for the capacity map and the performance report tests (not fixtures): two buyers'
cases in two hexagons of mid-Wales and in Plymouth, their visits, evidence, payments and returns, and
two agents' GPS fixes, with figures worked out by hand in the tests.

The test database persists between runs, so the world is new each time (buyers, firms, agents and
devices have unique references) and the figures that every buyer shares (agent-hours, totals) are
read as differences from the month before the world was added.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import h3
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core import raw_connection
from core.models import Agent, Case, GpsPing, LedgerEntry, Visit, VisitEvidence
from tests.case_world import LAT, LON, make_agent, make_buyer, make_case, unique
from tracking import ensure_gps_partitions

MONTH = date(2026, 5, 1)
# H1: the centre child of a res-6 cell in mid-Wales, so that its six neighbours share its res-6 parent.
H1 = h3.cell_to_center_child(h3.latlng_to_cell(52.30, -3.60, 6), 7)
H1_NEIGHBOUR = min(h3.grid_ring(H1, 1))
# H2: some 55 km north, in another res-5 hexagon, still in Wales.
H2 = h3.latlng_to_cell(52.80, -3.60, 7)


def at(hour: int, day: int = 12, month: int = 5, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def near(cell: str, i: int = 0) -> tuple[float, float]:
    """(lon, lat) a few tens of metres from ``cell``'s centre: inside it, far from its edges."""
    lat, lon = h3.cell_to_latlng(cell)
    return lon + 0.0003 * (i % 5), lat + 0.0002 * (i // 5)


@dataclass(frozen=True)
class Party:
    id: int
    reference: str
    name: str


@dataclass(frozen=True)
class HexWorld:
    """Plain values, read after the world's session has ended."""

    a: Party  # the buyer in focus
    b: Party  # another client, in H1
    f1: int   # subcontractor ids: F1 holds A's H1 and Plymouth cases, F2 its H2 cases
    f2: int
    a_cases: dict[str, int]  # A's case ids by name (a1, b1, k1, ...)
    b_cases: tuple[int, ...]


def _evidence(db: Session, case: Case, agent: Agent, arrival: datetime) -> None:
    db.add(VisitEvidence(case_id=case.id, agent_id=agent.id, device_id=unique("dev"), arrival=arrival,
                         departure=arrival.replace(minute=arrival.minute + 5), dwell_s=300,
                         address_line="1 Test Street", postcode="SY20 8AA", distance_m=5.0, fix_count=10,
                         median_accuracy_m=8.0, source="fixes"))


def _visit(db: Session, case: Case, agent: Agent, arrived: datetime, outcome: str, verified: bool = False) -> None:
    db.add(Visit(case_id=case.id, agent_id=agent.id, arrived_at=arrived, outcome=outcome, recorded_by="test",
                 gps_verified=verified))


def _money(db: Session, case: Case, kind: str, pence: int, when: datetime) -> None:
    # The ledger is append-only and core's payment route stamps the time of posting: a past month's
    # payment is written as its entry would have been.
    db.add(LedgerEntry(case_id=case.id, at=when, kind=kind, amount_pence=pence, actor="test",
                       reference=unique("pay")))
    case.current_balance_pence += pence


def _fix(db: Session, device: str, agent: Agent, cell: str, when: datetime, i: int = 0) -> None:
    lon, lat = near(cell, i)
    db.add(GpsPing(device_id=device, ts=when, agent_id=agent.id, received_at=when,
                   location=WKTElement(f"POINT({lon} {lat})", srid=4326)))


def make_hex_world(db: Session) -> HexWorld:
    """The month of ``MONTH`` (see the tests for the figures it makes). Call it with nothing read from
    gps_ping in ``db``'s transaction: making a day's partition waits for every reader of the table."""
    with raw_connection() as conn:
        for day in (date(2026, 5, 12), date(2026, 4, 28)):
            ensure_gps_partitions(conn, day)
    a = make_buyer(db)
    b = make_buyer(db)
    b.name = f"Northshire Borough Council {b.reference}"
    x, y = make_agent(db, at=near(H1)), make_agent(db, at=near(H2))
    f1, f2 = x.subcontractor_id, y.subcontractor_id
    cases: dict[str, Case] = {}
    for i in range(1, 9):  # a1..a6 open in May (a6 returned in it), a7 closed in April, a8 received in June
        cases[f"a{i}"] = make_case(db, a, at=near(H1, i), assigned_subcontractor_id=f1)
    for i in range(1, 6):
        cases[f"b{i}"] = make_case(db, a, at=near(H2, i), assigned_subcontractor_id=f2)
    cases["k1"] = make_case(db, a, at=(LON, LAT), assigned_subcontractor_id=f1)
    cases["u1"] = make_case(db, a, at=(LON + 0.001, LAT))  # no firm assigned
    c = cases
    c["a6"].status, c["a6"].returned_at, c["a6"].return_reason = "returned", at(10, day=20), "gone away"
    c["a7"].status, c["a7"].closed_at = "closed", datetime(2026, 4, 10, 12, tzinfo=UTC)
    c["a8"].received_on = date(2026, 6, 2)
    c["k1"].status, c["k1"].returned_at = "returned", at(9, day=3)
    other = [make_case(db, b, at=near(H1, 20 + i)) for i in range(3)]

    # Evidence: A's H1 cases one visit in May (and one in April); H2 eleven; B's H1 cases two.
    _evidence(db, c["a1"], x, at(9))
    _evidence(db, c["a2"], x, at(9, month=4))
    for n, key in enumerate(("b1", "b1", "b1", "b2", "b2", "b3", "b3", "b4", "b4", "b5", "b5")):
        _evidence(db, c[key], y, at(8 + n % 10, day=13 + n // 10))
    _evidence(db, other[0], x, at(11))
    _evidence(db, other[1], x, at(12))

    # Visits with outcomes (the performance report).
    _visit(db, c["a1"], x, at(9), "no_contact")
    _visit(db, c["a1"], x, at(9, day=14), "paid", verified=True)
    _visit(db, c["a2"], x, at(10), "arrangement")
    _visit(db, c["a6"], x, at(11), "no_contact")
    _visit(db, c["a1"], x, at(9, month=4), "refused")  # April: not counted
    _visit(db, c["b1"], y, at(9), "no_contact")
    _visit(db, c["b1"], y, at(9, day=15), "refused")
    _visit(db, c["k1"], x, at(9, day=2), "gone_away")

    # Money: 23:30 UTC on 30 April is 00:30 on 1 May in the UK (in); 23:30 UTC on 31 May is June (out).
    _money(db, c["a2"], "payment", -100_00, at(12))
    _money(db, c["a2"], "refund", 5_00, at(13))
    _money(db, c["a3"], "payment", -70_00, at(23, day=30, month=4, minute=30))
    _money(db, c["a4"], "payment", -40_00, at(23, day=31, minute=30))
    _money(db, c["b1"], "payment", -50_00, at(12))
    _money(db, c["k1"], "payment", -25_00, at(8, day=2))

    # GPS: X in H1 at 09:xx (three fixes) and 10:xx, and in H2 at 09:xx; Y in H1's neighbour and in H1 at
    # 09:xx; X in H1 in April.
    dev_x, dev_y = unique("phone-x"), unique("phone-y")
    for i, minute in enumerate((5, 20, 40)):
        _fix(db, dev_x, x, H1, at(9, minute=minute), i)
    _fix(db, dev_x, x, H1, at(10, minute=15))
    _fix(db, dev_x, x, H2, at(9, minute=50))
    _fix(db, dev_y, y, H1_NEIGHBOUR, at(9, minute=10))
    _fix(db, dev_y, y, H1, at(9, minute=30))
    _fix(db, dev_x, x, H1, at(9, day=28, month=4))
    db.flush()
    return HexWorld(Party(a.id, a.reference, a.name), Party(b.id, b.reference, b.name), f1, f2,
                         {key: case.id for key, case in cases.items()}, tuple(case.id for case in other))
