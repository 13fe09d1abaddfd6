"""What one viewer may see of a month's hexagons (``hexes.HexFigures``), and which hexagons are
under-served. Pure: no database.

Scoping: the office (admin, dispatcher, regional manager) sees every buyer by name. A buyer sees its
own cases and visits by name and every other client's only summed, as ``OTHER_CLIENTS``: the view
carries labels and counts, never another buyer's id, reference or name.

Under-served [000 §1.8, §2.94]: a buyer's cases in a hexagon get far fewer visits than its cases in
the same regions do. Per buyer and ITL1 region, the regional rate is the buyer's evidenced visits per
open case there in the month; a hexagon's expected visits are, over the buyer's open cases in it, the
sum of their regions' rates (a hexagon on a border mixes two). The hexagon is under-served for the
buyer when it holds at least ``MIN_CASES`` of the buyer's open cases and their evidenced visits are
below ``UNDER_SERVED_SHARE`` of the expected ones. Where the buyer's regional rate is zero nothing is
expected, so nothing there is under-served by this measure (the capacity report shows the region).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from regions.hexes import RESOLUTIONS, HexFigures, HexTally

__all__ = ["MIN_CASES", "OTHER_CLIENTS", "UNDER_SERVED_SHARE", "CapacityView", "HexView", "UnderServed",
           "capacity_view", "expected_visits", "regional_rates"]

OTHER_CLIENTS = "other clients"
# Fewer cases than this are too few to judge: one unvisited case would flag its hexagon.
MIN_CASES = 5
UNDER_SERVED_SHARE = 0.5


@dataclass(frozen=True)
class UnderServed:
    buyer: str  # the buyer's label
    cases: int
    visits: int
    expected: float


@dataclass(frozen=True)
class HexView:
    cell: str
    resolution: int
    cases: tuple[tuple[str, int], ...]   # (label, open cases): the focus buyer first, then by count
    visits: tuple[tuple[str, int], ...]  # (label, evidenced visits), likewise
    agent_hours: int
    focus_cases: int   # the focus buyer's open cases; every buyer's when there is no focus
    focus_visits: int  # likewise
    under_served: tuple[UnderServed, ...]

    @property
    def total_cases(self) -> int:
        return sum(n for _, n in self.cases)

    @property
    def total_visits(self) -> int:
        return sum(n for _, n in self.visits)


@dataclass(frozen=True)
class CapacityView:
    month: date
    focus: str | None  # the label of the buyer in focus, if any
    others_named: bool
    hexes: dict[int, tuple[HexView, ...]]  # resolution → its hexagons with anything to show


def regional_rates(figures: HexFigures) -> dict[tuple[int, str | None], float]:
    """(buyer id, ITL1 code) → evidenced visits per open case in the month, where it has open cases."""
    cases: Counter[tuple[int, str | None]] = Counter()
    visits: Counter[tuple[int, str | None]] = Counter()
    # Every case and visit is in exactly one hexagon of any one resolution.
    for tally in figures.cells[RESOLUTIONS[0]].values():
        cases.update(tally.cases)
        visits.update(tally.visits)
    return {key: visits[key] / n for key, n in cases.items() if n}


def expected_visits(tally: HexTally, buyer_id: int, rates: dict[tuple[int, str | None], float]) -> float:
    return sum(n * rates.get((b, region), 0.0) for (b, region), n in tally.cases.items() if b == buyer_id)


def _under_served(tally: HexTally, buyer_id: int, label: str,
                  rates: dict[tuple[int, str | None], float]) -> UnderServed | None:
    cases, visits = tally.buyer_cases(buyer_id), tally.buyer_visits(buyer_id)
    expected = expected_visits(tally, buyer_id, rates)
    if cases >= MIN_CASES and expected > 0 and visits < UNDER_SERVED_SHARE * expected:
        return UnderServed(label, cases, visits, expected)
    return None


def _shares(counts: Counter[int], focus: int | None, label: dict[int, str], others_named: bool
            ) -> tuple[tuple[str, int], ...]:
    first = [(label[focus], counts[focus])] if focus is not None and counts[focus] else []
    if not others_named:
        rest = sum(n for b, n in counts.items() if b != focus)
        return tuple(first + ([(OTHER_CLIENTS, rest)] if rest else []))
    named = sorted(((label[b], n) for b, n in counts.items() if b != focus and n), key=lambda s: (-s[1], s[0]))
    return tuple(first + named)


def capacity_view(figures: HexFigures, *, focus_buyer_id: int | None = None, others_named: bool = True
                  ) -> CapacityView:
    """The hexagons as seen with ``focus_buyer_id`` in focus (its counts drawn, and only its
    under-served hexagons flagged; every buyer's without a focus). ``others_named=False`` is a buyer's
    own view: ``focus_buyer_id`` is the buyer, every other buyer is summed as ``OTHER_CLIENTS``."""
    if not others_named and focus_buyer_id is None:
        raise ValueError("a view that does not name other buyers needs the viewer's buyer in focus")
    label = {b: name for b, (_, name) in figures.buyers.items()}
    rates = regional_rates(figures)
    hexes: dict[int, tuple[HexView, ...]] = {}
    for res in RESOLUTIONS:
        views = []
        for cell, tally in sorted(figures.cells[res].items()):
            cases, visits = Counter[int](), Counter[int]()
            for (b, _), n in tally.cases.items():
                cases[b] += n
            for (b, _), n in tally.visits.items():
                visits[b] += n
            judged = [focus_buyer_id] if focus_buyer_id is not None else sorted(cases)
            flagged = tuple(u for b in judged if (u := _under_served(tally, b, label[b], rates)) is not None)
            views.append(HexView(
                cell, res, _shares(cases, focus_buyer_id, label, others_named),
                _shares(visits, focus_buyer_id, label, others_named), tally.agent_hours,
                cases[focus_buyer_id] if focus_buyer_id is not None else cases.total(),
                visits[focus_buyer_id] if focus_buyer_id is not None else visits.total(), flagged))
        hexes[res] = tuple(views)
    focus = label[focus_buyer_id] if focus_buyer_id is not None else None
    return CapacityView(figures.month, focus, others_named, hexes)
