"""Several planned visits of one agent at one address point (or next door): which of a day's stops, and
which part of each, is evidence for which case (pure).

Addresses are geocoded to points, and several cases often sit at one point: flats in one block, or
warrants at neighbouring doors geocoded to their postcode's centroid. An agent who visits them one after
the other makes one stop there as far as GPS can tell (walking to the car and back stays within the stop
circle), and ``evidence.match_stop`` would give that stop to one case only.

Which cases share a place
-------------------------
The agent's planned cases joined in chains (so the grouping never depends on which of them a stop
happens to be nearest) by two links:

- within ``SAME_POINT_M`` (5 m) of each other: GPS (sigma 5-30 m) cannot tell such addresses apart by
  position at all, so the plan's order is the only evidence of which visit came first;
- next to each other in the plan and within ``NEXT_DOOR_M`` (50 m, the stop circle's radius): the agent
  walks from one to the next from one parking place, and the stop detector sees one stop, whose centre
  lies between the doors (the demo day has runs of five and six flats at points 38 m apart, visited in
  one stop). Cases that far apart but not next in the plan stay apart: a stop at one house must not be
  credited to a neighbour the plan visits at another time, and ``match_stop`` tells them apart by the
  stop's centre.

A stop counts for a place only when every case of the place is within the evidence radius of the stop,
as any evidence must be; otherwise it is matched as usual. Unplanned cases are left out: without a plan
there is no order to go by.

A stop at two places
--------------------
The stop circle (50 m around the stop's centre) can hold doors of two places: neighbours 56 m apart
visited from one parking place, or the last flat of one block and the first of the next. The stop's
centre then lies between them and is nearest one place only. A stop whose phone shows still periods
(``Stop.still``) is therefore looked at period by period: each is placed at the mean of its fixes,
which tells doors tens of metres apart apart, and matched as a stop would be (``match_stop``, its
place if the case has one). Where consecutive periods stand at different places the stop is cut
between them, at the walk, and each piece counts as a stop of its place below, centred at its periods
and timed by them (a period near no address goes with the one before it). Doors of one place (one
point, or next door) are not told apart this way: the plan's order is what tells them.

Which stop is for which cases
-----------------------------
The place's cases are taken in plan order (``CaseAddress.seq``) and the stops matched to the place in
time order; each stop takes the next cases, as many as follows, and the last stop takes the rest. A
stop left with no case (more stops at the place than cases planned there) is matched as usual.

- A stop whose phone reported densely (a fix every ``DENSE_GAP_S`` or more often, so that its walks
  between doors show, ``Stop.still``) takes as many cases as it shows visits (its still periods, at
  least one), leaving at least one for each later stop.
- A phone that reports by distance sends a fix every 5 minutes while the agent stands at the place
  and nothing for a walk of a few tens of metres, so how many visits such a stop held is not known;
  all that is known is how long the agent was there. The cases those stops share (what the dense
  stops leave) go to them in proportion to the time each lasted, at least one each (largest
  remainders first, the earlier of equal ones): the agent who spent 15 minutes at a block before
  lunch and 30 after visited about a third of its flats before. This only decides which observed
  span a case's visit is attributed to, and only where the plan's order leaves it open; the times
  stay the stop's own (shared, below). Giving the first stop one case and the last all the others,
  as a dense phone's counts would, attributes most visits to the wrong span whenever the agent came
  back after a break; giving each case every span it could fall in would make several rows per visit.
  A visit the detector found no stop for (a phone silent through a short return to the place) is
  attributed to a stop of the place that did not hold it: nothing in the fixes tells.

Which part of a stop is for which case
--------------------------------------
A stop with one case keeps its own times. A stop with k >= 2 cases whose phone shows at least k still
periods (``Stop.still``: standing still, separated by walks the phone's speeds show) is split at its
k - 1 longest walks, and the k parts go to the cases in plan order, each timed by its still periods.

When the phone shows fewer still periods than cases (no speeds, a phone that reports by distance and
sends nothing while the agent stands at a door, or doors a few steps apart), nothing tells when one visit
ended and the next began, and no such time is invented. Each of the cases then gets the whole span the
agent was at the place (from the first still period's arrival to the last one's departure, or the stop's
own times when no still period is known), ``shared`` saying so. That is still true evidence for each
case [R-VISIT-EVIDENCE: the address with postcode, an arrival and a departure]: the agent was
demonstrably at that address from arrival to departure (to within the evidence radius, as for any
stop; next-door cases of one place are within 50 m of each other), and each visit happened within that
span. Giving
the stop to the first case only would leave the other visits with no evidence although the GPS shows
the agent at their address; giving each case a guessed share would be evidence of times nobody saw.
``gps_verified`` stays honest with it: a visit reported within 5 minutes of both ends of the span is one
the GPS cannot contradict, and a later visit of a long shared stop (reported arrival more than 5 minutes
after the span's start) is not verified.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import geodata
from tracking.evidence import DEFAULT_EVIDENCE_RADIUS_M, CaseAddress, Match, match_stop
from tracking.stops import DENSE_GAP_S, Stop

# Addresses this close are one point to GPS; visits next to each other in the plan this close are made
# from one parking place (module docstring).
SAME_POINT_M = 5.0
NEXT_DOOR_M = 50.0


@dataclass(frozen=True, slots=True)
class StopCase:
    """One case a stop is evidence for, and the times it is evidence of.

    ``opens`` / ``closes``: the arrival (departure) is the stop's own, where the phone's geofence events
    of the case may refine it; a split part's inner ends are walks between doors of one place, whose
    geofences the phone enters and leaves all at once, so their events say nothing there."""

    match: Match
    arrival: datetime
    departure: datetime
    opens: bool = True
    closes: bool = True
    shared: bool = False  # the whole span at the place, shared by several cases (module docstring)


def place_groups(addresses: Sequence[CaseAddress], same_point_m: float = SAME_POINT_M,
                 next_door_m: float = NEXT_DOOR_M) -> dict[int, tuple[CaseAddress, ...]]:
    """Each planned case that shares its place with another, mapped to all the cases of that place in
    plan order: chains of cases within ``same_point_m`` of each other, or next to each other in the plan
    and within ``next_door_m`` (module docstring)."""
    planned = sorted((a for a in addresses if a.planned), key=lambda a: (a.seq is None, a.seq or 0, a.case_id))
    parent = list(range(len(planned)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(planned):
        for j in range(i + 1, len(planned)):
            b = planned[j]
            d = math.hypot(a.x - b.x, a.y - b.y)
            next_in_plan = a.seq is not None and b.seq is not None and abs(a.seq - b.seq) == 1
            if d <= same_point_m or (next_in_plan and d <= next_door_m):
                parent[root(j)] = root(i)
    members: dict[int, list[CaseAddress]] = {}
    for i, a in enumerate(planned):
        members.setdefault(root(i), []).append(a)
    return {a.case_id: tuple(group) for group in members.values() if len(group) > 1 for a in group}


def _parts(stop: Stop, k: int) -> list[tuple[datetime, datetime]] | None:
    """The stop cut into k parts at its k - 1 longest walks between still periods, or None when it
    shows fewer than k still periods."""
    periods = stop.still
    if len(periods) < k:
        return None
    walks = sorted(range(1, len(periods)),
                   key=lambda i: (-(periods[i].arrival - periods[i - 1].departure).total_seconds(), i))
    cuts = sorted(walks[:k - 1])
    bounds = [0, *cuts, len(periods)]
    return [(periods[a].arrival, periods[b - 1].departure) for a, b in itertools.pairwise(bounds)]


def _span(stop: Stop) -> tuple[datetime, datetime]:
    if stop.still:
        return stop.still[0].arrival, stop.still[-1].departure
    return stop.arrival, stop.departure


def _at_place(stop: Stop, x: float, y: float, cases: Sequence[CaseAddress], opens: bool = True,
              closes: bool = True) -> list[StopCase]:
    """The evidence of one stop (or piece of one, whose ``opens`` / ``closes`` say whether its ends are
    the stop's own) for the cases it takes (module docstring)."""
    def match(case: CaseAddress) -> Match:
        return Match(case, math.hypot(case.x - x, case.y - y))

    if len(cases) == 1:
        return [StopCase(match(cases[0]), stop.arrival, stop.departure, opens=opens, closes=closes)]
    parts = _parts(stop, len(cases))
    if parts is None:
        arrival, departure = _span(stop)
        return [StopCase(match(c), arrival, departure, opens=opens, closes=closes, shared=True) for c in cases]
    last = len(parts) - 1
    return [StopCase(match(c), a, d, opens=opens and i == 0, closes=closes and i == last)
            for i, (c, (a, d)) in enumerate(zip(cases, parts))]


@dataclass(frozen=True, slots=True)
class _Piece:
    """A stop, or the part of it at one place (module docstring), with its centre in BNG metres."""

    n: int  # the stop's index
    stop: Stop
    x: float
    y: float
    opens: bool = True
    closes: bool = True


def _place_of(x: float, y: float, addresses: Sequence[CaseAddress], groups: dict[int, tuple[CaseAddress, ...]],
              radius_m: float) -> tuple[int, ...] | None:
    m = match_stop(x, y, addresses, radius_m)
    if m is None:
        return None
    group = groups.get(m.case.case_id) if m.case.planned else None
    return tuple(c.case_id for c in group) if group is not None else (m.case.case_id,)


def _pieces(n: int, stop: Stop, x: float, y: float, addresses: Sequence[CaseAddress],
            groups: dict[int, tuple[CaseAddress, ...]], radius_m: float) -> list[_Piece]:
    """The stop cut where its still periods stand at different places (module docstring); a still
    period near no address goes with the one before it (or after, at the start)."""
    if len(stop.still) < 2:
        return [_Piece(n, stop, x, y)]
    at = [tuple(float(v) for v in geodata.to_bng(p.lon, p.lat)) for p in stop.still]
    places = [_place_of(px, py, addresses, groups, radius_m) for px, py in at]
    known = [p for p in places if p is not None]
    if len(set(known)) < 2:
        return [_Piece(n, stop, x, y)]
    filled, last = [], known[0]
    for place in places:
        last = place if place is not None else last
        filled.append(last)
    runs = [list(g) for _, g in itertools.groupby(range(len(filled)), key=filled.__getitem__)]
    out = []
    for k, run in enumerate(runs):
        px = sum(at[i][0] for i in run) / len(run)
        py = sum(at[i][1] for i in run) / len(run)
        lon, lat = geodata.to_wgs84(px, py)
        periods = tuple(stop.still[i] for i in run)
        piece = replace(stop, arrival=periods[0].arrival, departure=periods[-1].departure, lat=float(lat),
                        lon=float(lon), still=periods)
        out.append(_Piece(n, piece, px, py, opens=k == 0, closes=k == len(runs) - 1))
    return out


def match_stops(stops: Sequence[tuple[Stop, float, float]], addresses: Sequence[CaseAddress],
                radius_m: float = DEFAULT_EVIDENCE_RADIUS_M, same_point_m: float = SAME_POINT_M,
                next_door_m: float = NEXT_DOOR_M) -> list[list[StopCase]]:
    """For each of one phone's stops of a day (in time order, each with its centre in BNG metres), the
    cases it is evidence for and when: none for a stop near no case, one as ``match_stop`` has it for
    a stop at an address of its own, and at a place several planned cases share, the cases and times
    the module docstring gives; a stop whose still periods stand at different places, for each
    place."""
    groups = place_groups(addresses, same_point_m, next_door_m)
    out: list[list[StopCase]] = [[] for _ in stops]
    at_place: dict[tuple[int, ...], list[_Piece]] = {}
    for n, (stop, x, y) in enumerate(stops):
        for piece in _pieces(n, stop, x, y, addresses, groups, radius_m):
            m = match_stop(piece.x, piece.y, addresses, radius_m)
            group = groups.get(m.case.case_id) if m is not None and m.case.planned else None
            if group is not None and all(math.hypot(c.x - piece.x, c.y - piece.y) <= radius_m for c in group):
                at_place.setdefault(tuple(c.case_id for c in group), []).append(piece)
            elif m is not None:
                out[n].append(_plain(piece, m))
    for key, pieces in at_place.items():
        cases = list(groups[key[0]])
        for piece, take in zip(pieces, _shares([p.stop for p in pieces], len(cases))):
            mine, cases = cases[:take], cases[take:]
            if mine:
                out[piece.n] += _at_place(piece.stop, piece.x, piece.y, mine, piece.opens, piece.closes)
            elif (plain := match_stop(piece.x, piece.y, addresses, radius_m)) is not None:
                out[piece.n].append(_plain(piece, plain))
    return [sorted(cases, key=lambda c: c.arrival) for cases in out]


def _plain(piece: _Piece, m: Match) -> StopCase:
    return StopCase(m, piece.stop.arrival, piece.stop.departure, opens=piece.opens, closes=piece.closes)


def _dense(stop: Stop) -> bool:
    """Whether the phone reported through the stop often enough for its walks to show (module
    docstring): a 10-second phone does, one that reports by distance (a fix every 5 minutes while the
    agent stands still) does not."""
    if stop.fix_count < 2:
        return False
    return (stop.last_fix_ts - stop.first_fix_ts).total_seconds() / (stop.fix_count - 1) <= DENSE_GAP_S


def _shares(stops: Sequence[Stop], n: int) -> list[int]:
    """How many of a place's ``n`` cases (in plan order) each of its stops (in time order) takes
    (module docstring): a stop whose phone reported densely as many as it shows still periods, leaving
    at least one for each later stop; the stops of a phone that did not, what is left in proportion to
    the time each lasted (at least one each, the largest remainders first, the earlier of equal ones);
    the last stop the rest. A stop may take none when the place has fewer cases than stops."""
    m = len(stops)
    shares = [0] * m
    sparse = [i for i, stop in enumerate(stops) if not _dense(stop)]
    left = n
    for i, stop in enumerate(stops):
        if i in sparse:
            continue
        others = m - i - 1 + sum(k < i for k in sparse)  # stops still to take at least one
        shares[i] = max(0, min(left, max(1, len(stop.still)), left - others))
        left -= shares[i]
    if sparse:
        weights = [max((stops[i].departure - stops[i].arrival).total_seconds(), 1.0) for i in sparse]
        floor = min(1, left // len(sparse))
        exact = [floor + (left - floor * len(sparse)) * w / sum(weights) for w in weights]
        whole = [int(e) for e in exact]
        order = sorted(range(len(sparse)), key=lambda k: (-(exact[k] - whole[k]), k))
        for k in order[:left - sum(whole)]:
            whole[k] += 1
        for i, share in zip(sparse, whole):
            shares[i] = share
    else:
        shares[-1] += left
    return shares
