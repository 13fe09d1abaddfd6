"""The capacity figures of a month: per H3 hexagon (open cases, evidenced visits, GPS agent-hours,
under-served), what a buyer may see of them, and the buyer's performance report, each against figures
worked out by hand from ``tests.hex_world``."""
from __future__ import annotations

from collections import Counter
from datetime import date

import h3
import pytest

from core import session_scope
from regions import (
    MIN_CASES,
    NO_REASON,
    OTHER_CLIENTS,
    HexFigures,
    HexTally,
    Measures,
    capacity_view,
    expected_visits,
    hex_figures,
    performance_report,
    region_outlines,
)
from tests.hex_world import (
    H1,
    H1_NEIGHBOUR,
    H2,
    MONTH,
    HexWorld,
    make_hex_world,
)


@pytest.fixture(scope="module")
def world(geodata_loaded) -> tuple[HexWorld, HexFigures, HexFigures]:
    """The world, with the month's hexagons before and after it was added."""
    with session_scope() as db:
        before = hex_figures(db, MONTH)
    with session_scope() as db:
        made = make_hex_world(db)
    with session_scope() as db:
        return made, before, hex_figures(db, MONTH)


def tally(figures: HexFigures, cell: str, res: int | None = None) -> HexTally:
    res = res if res is not None else h3.get_resolution(cell)
    key = cell if res == h3.get_resolution(cell) else h3.cell_to_parent(cell, res)
    return figures.cells[res].get(key, HexTally())


def test_the_world_sits_where_the_figures_assume() -> None:
    assert h3.cell_to_parent(H1_NEIGHBOUR, 6) == h3.cell_to_parent(H1, 6)
    assert h3.cell_to_parent(H2, 5) != h3.cell_to_parent(H1, 5)


@pytest.mark.parametrize("res", [5, 6, 7])
def test_open_cases_and_evidenced_visits_per_hexagon(world, res: int) -> None:
    w, _, after = world
    a, b = w.a.id, w.b.id
    h1, h2 = tally(after, H1, res), tally(after, H2, res)
    # a1..a6 were open in May (a6 returned in it); a7 closed in April and a8 came in June. One of the
    # two evidence rows of H1 is April's.
    assert (h1.buyer_cases(a), h1.buyer_visits(a)) == (6, 1)
    assert (h1.buyer_cases(b), h1.buyer_visits(b)) == (3, 2)
    assert (h2.buyer_cases(a), h2.buyer_visits(a)) == (5, 11)
    assert h1.cases[a, "TLL"] == 6 and h2.cases[a, "TLL"] == 5


def test_gps_presence_counts_distinct_agent_hours_per_hexagon(world) -> None:
    _, before, after = world

    def added(cell: str, res: int) -> int:
        return tally(after, cell, res).agent_hours - tally(before, cell, res).agent_hours

    # X: three fixes at 09 and one at 10 in H1, one at 09 in H2; Y: 09 in H1's neighbour and in H1.
    assert added(H1, 7) == 3  # X 09, X 10, Y 09
    assert added(H1_NEIGHBOUR, 7) == 1
    assert added(H2, 7) == 1
    # One parent at res 6: Y's 09 is one agent-hour there, though it was in two of its children.
    assert added(H1, 6) == 3
    assert added(H1, 5) == 3
    assert added(H2, 5) == 1


def test_under_served_hexagons_of_the_buyer(world) -> None:
    w, _, after = world
    view = capacity_view(after, focus_buyer_id=w.a.id, others_named=False)
    flagged = {h.cell: h.under_served for h in view.hexes[7] if h.under_served}
    # A in Wales: 12 visits to 11 open cases. H1 expects 6 × 12/11 ≈ 6.55 and had 1 (< half):
    # under-served; H2 expects 5.45 and had 11. Plymouth's 2 cases are too few (and saw none anywhere).
    assert set(flagged) == {H1}
    (u,) = flagged[H1]
    assert (u.buyer, u.cases, u.visits) == (w.a.name, 6, 1) and u.expected == pytest.approx(6 * 12 / 11)
    assert {h.cell for h in view.hexes[5] if h.under_served} == {h3.cell_to_parent(H1, 5)}


def test_the_rule_at_its_edges() -> None:
    def hexagon(cases: int, visits: int) -> HexTally:
        return HexTally(Counter({(1, "TLL"): cases}), Counter({(1, "TLL"): visits}))

    figures = HexFigures(date(2026, 5, 1), {1: ("B1", "Buyer One")}, {5: {}, 6: {}, 7: {}})
    rates = {(1, "TLL"): 2.0}
    assert expected_visits(hexagon(MIN_CASES, 0), 1, rates) == 2.0 * MIN_CASES
    for cases, visits, flagged in ((MIN_CASES, MIN_CASES - 1, True), (MIN_CASES, MIN_CASES, False),
                                   (MIN_CASES - 1, 0, False)):
        figures.cells[7]["c"] = hexagon(cases, visits)
        # The regional rate is taken from the figures themselves: give them the region's rate of 2.
        figures.cells[5]["r"] = HexTally(Counter({(1, "TLL"): 10}), Counter({(1, "TLL"): 20}))
        view = capacity_view(figures, focus_buyer_id=1)
        assert bool(next(h for h in view.hexes[7] if h.cell == "c").under_served) is flagged, (cases, visits)


def test_a_buyer_sees_other_clients_only_summed(world) -> None:
    w, _, after = world
    own = {h.cell: h for h in capacity_view(after, focus_buyer_id=w.a.id, others_named=False).hexes[7]}
    h1 = own[H1]
    assert h1.cases[0] == (w.a.name, 6) and h1.focus_cases == 6
    assert all(label in (w.a.name, OTHER_CLIENTS) for hexagon in own.values() for label, _ in hexagon.cases)
    others = dict(h1.cases)[OTHER_CLIENTS]
    staff = {h.cell: h for h in capacity_view(after).hexes[7]}[H1]
    assert dict(staff.cases)[w.b.name] == 3 and others == staff.total_cases - 6
    assert staff.focus_cases == staff.total_cases
    with pytest.raises(ValueError):
        capacity_view(after, others_named=False)


def test_the_performance_report_of_a_month(world) -> None:
    w, _, _ = world
    with session_scope() as db:
        report = performance_report(db, w.a.id, MONTH)
    # 13 open cases: a1-a6, b1-b5, k1, u1. May's 7 visits: 4 in H1, 2 in H2, 1 in Plymouth, 4 with
    # contact. Collected: a2 £100, a3 £70 (00:30 on 1 May, UK time), b1 £50, k1 £25; a4's £40 is June's.
    assert report.total == Measures(open_cases=13, visits=7, contact_visits=4, gps_verified_visits=1,
                                    collected_pence=245_00, refunded_pence=5_00,
                                    returns={"gone away": 1, NO_REASON: 1})
    assert report.total.visits_per_case == pytest.approx(7 / 13)
    assert report.total.contact_rate == pytest.approx(4 / 7)
    assert report.buyer == w.a.reference and report.month == MONTH
    by_firm = {line.measures.open_cases: line for line in report.by_subcontractor}
    f1, f2, none = by_firm[7], by_firm[5], by_firm[1]
    assert (f1.measures.visits, f1.measures.contact_visits, f1.measures.collected_pence) == (5, 3, 195_00)
    assert f1.measures.returns == {"gone away": 1, NO_REASON: 1} and f1.measures.refunded_pence == 5_00
    assert (f2.measures.visits, f2.measures.contact_visits, f2.measures.collected_pence) == (2, 1, 50_00)
    assert none.subcontractor is None and none.measures == Measures(open_cases=1)
    assert [line.subcontractor for line in report.by_subcontractor][-1] is None  # the unassigned last
    by_region = {line.itl1_cd: line.measures for line in report.by_region}
    assert by_region == {
        "TLK": Measures(open_cases=2, visits=1, contact_visits=1, collected_pence=25_00, returns={NO_REASON: 1}),
        "TLL": Measures(open_cases=11, visits=6, contact_visits=3, gps_verified_visits=1, collected_pence=220_00,
                        refunded_pence=5_00, returns={"gone away": 1})}
    assert {line.region_name for line in report.by_region} == {"South West", "Wales"}
    both = {(line.subcontractor, line.itl1_cd): line.measures.open_cases for line in report.by_subcontractor_region}
    assert both == {(f1.subcontractor, "TLK"): 1, (f1.subcontractor, "TLL"): 6, (f2.subcontractor, "TLL"): 5,
                    (None, "TLK"): 1}


def test_a_month_of_nothing_is_a_report_of_zeros(world) -> None:
    w, _, _ = world
    with session_scope() as db:
        report = performance_report(db, w.a.id, date(2020, 1, 1))
    assert report.total == Measures() and report.total.visits_per_case is None and report.total.contact_rate is None
    assert report.by_subcontractor == report.by_region == report.by_subcontractor_region == ()


def test_region_outlines_are_simplified_geojson(geodata_loaded) -> None:
    with session_scope() as db:
        outlines = region_outlines(db)
    assert len(outlines) == 12 and {o.geometry["type"] for o in outlines} <= {"Polygon", "MultiPolygon"}
    points = sum(len(str(o.geometry)) for o in outlines)
    assert points < 400_000  # some 12,000 points, not the 40,000 stored
