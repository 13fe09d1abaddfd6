"""Exchanging visits between buyers on planned routes, so that a priority class of a region reaches its
fair share by serving the worst-served buyer rather than only cutting the others (``dispatch.planner``,
step 6, before the trim).

The trim (``dispatch.fairness.trim``) reaches ``FAIR_TARGET`` by cutting the over-served buyers'
visits, and stands down where that would cancel most of a region's day (``TRIM_KEEP``): a buyer whose
routine cases lie out of town, against another's in the city where the agents live, then stays far
below its share day after day. ``exchange`` first puts the worst-served buyer's unplanned visits of
the class in the place of better-served buyers' visits of the same class:

- the route keeps its other visits at their times; the new visit is reached from the one before,
  starts and ends inside one of its windows, and is left in time to reach the one after (or the home
  base by the shift's end), by an agent who may make it (``dispatch.skills.may_do``); the route must
  still pass the validator (its breaks);
- an unplanned visit takes the place of one planned visit, or, where no single one makes room (a visit
  further out), of a run of up to ``RUN`` consecutive ones; the visits given up across a region stay
  within the trim's bound (``TRIM_KEEP`` of its planned visits);
- an exchange is made only if it raises the class's ratio (the share ratio of its worst-served buyer,
  whoever that is after it): a buyer with a single visit may be served it ahead of others, as long as
  none of them ends where the worst-served one was;
- the exchanges that give up fewest visits, then the cheapest (extra seconds of driving and service),
  are made first, a round at a time: within a round, no two exchanges touch neighbouring visits of a
  route (each was priced with the route as it was).

A visit given up is dropped as ``FAIR_SHARE``; pins are never moved nor given up.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from core import COMPETING_REASONS, TimeWindow
from dispatch.fairness import (
    FAIR_SHARE, FAIR_TARGET, TRIM_KEEP, Group, class_of, class_shares, region_served, share_ratio,
)
from dispatch.matrix import MatrixProvider
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, VisitTask
from dispatch.routes import remeasured
from dispatch.skills import may_do
from dispatch.validator import validate_route

__all__ = ["exchange"]

NEAREST = 8  # runs of planned visits priced per unplanned one (the nearest, straight line)
RUN = 3  # the most consecutive planned visits one unplanned visit may take the place of
ROUNDS = 40  # per (region, class): each round re-prices against the routes as the last one left them


@dataclass(frozen=True)
class _Swap:
    run: int  # how many consecutive planned visits it takes the place of
    extra_s: float  # seconds the route spends more (driving and service; less when negative)
    task: VisitTask  # the unplanned visit put in
    agent: int
    k: int  # the position on the agent's route of the first visit it replaces
    eta: datetime
    window: TimeWindow  # the task's window it starts in


def _xy(points: Sequence[Point]) -> np.ndarray:
    """Planar metres, good enough to find near neighbours within a region."""
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    return np.column_stack([lon * 111_320 * np.cos(np.radians(lat)), lat * 110_540])


def _start(t: VisitTask, arrive: datetime) -> tuple[datetime, TimeWindow] | None:
    """The earliest start at or after ``arrive`` inside one of ``t``'s windows with its service ending in
    it (as the solver plans: ``dispatch.solver._window_of``), and that window; None when none fits."""
    for w in sorted(t.windows, key=lambda w: w.start):
        eta = max(arrive, w.start)
        if eta + timedelta(seconds=t.service_s) <= w.end and (t.expires_at is None or eta < t.expires_at):
            return eta, w
    return None


def _ends(route: Route, k: int, run: int) -> tuple[Point, datetime, Point, datetime]:
    """Around visits ``k`` … ``k + run - 1`` of ``route``: where the agent is before them and from when,
    where it goes after them and by when."""
    s, visits = route.shift, route.visits
    here = (s.current_at or s.start_at) if k == 0 else visits[k - 1].at
    free = max(s.start, s.available_from or s.start) if k == 0 else visits[k - 1].etd
    nxt = k + run
    after, due = (visits[nxt].at, visits[nxt].eta) if nxt < len(visits) else (s.end_at, s.end)
    return here, free, after, due


def _priced(route: Route, k: int, run: int, task: VisitTask, dur: np.ndarray, ix: Mapping[Point, int],
            ) -> _Swap | None:
    """``task`` in the place of visits ``k`` … ``k + run - 1`` of ``route``, the others keeping their
    times; None when it does not fit."""
    here, free, after, due = _ends(route, k, run)
    fit = _start(task, free + timedelta(seconds=int(dur[ix[here], ix[task.at]])))
    if fit is None:
        return None
    eta, window = fit
    if eta + timedelta(seconds=task.service_s + int(dur[ix[task.at], ix[after]])) > due:
        return None
    stops = [here, *(v.at for v in route.visits[k:k + run]), after]
    old = sum(dur[ix[a], ix[b]] for a, b in zip(stops, stops[1:])) + sum(v.service_s for v in route.visits[k:k + run])
    extra = dur[ix[here], ix[task.at]] + task.service_s + dur[ix[task.at], ix[after]] - old
    return _Swap(run, float(extra), task, route.agent_id, k, eta, window)


def _swapped(route: Route, swap: _Swap, matrix: MatrixProvider) -> Route:
    t = swap.task
    etd = swap.eta + timedelta(seconds=t.service_s)
    band = next((w.time_band for w in t.preferred if w.start <= swap.eta and etd <= w.end), swap.window.time_band)
    visit = PlannedVisit(case_id=t.case_id, agent_id=route.agent_id, seq=swap.k + 1, eta=swap.eta, etd=etd,
                         window=swap.window, service_s=t.service_s, buyer=t.buyer, at=t.at, time_band=band)
    visits = list(route.visits)
    visits[swap.k:swap.k + swap.run] = [visit]
    return remeasured(route, visits, matrix)


class _Class:
    """One (region, priority class) being balanced: its buyers' (competing, served) counts as exchanges
    are made."""

    def __init__(self, counts: Mapping[str, tuple[int, int]]):
        self.counts = {b: list(c) for b, c in counts.items()}

    def ratio(self) -> float | None:
        return share_ratio({b: (e, s) for b, (e, s) in self.counts.items()})

    def fair(self) -> bool:
        ratio = self.ratio()
        return ratio is None or ratio >= FAIR_TARGET

    def lowest(self) -> str:
        return min(self.counts, key=lambda b: (self.counts[b][1] / self.counts[b][0], b))

    def _move(self, taker: str, givers: Sequence[str], sign: int) -> None:
        self.counts[taker][1] += sign
        for g in givers:
            self.counts[g][1] -= sign

    def raised_by(self, taker: str, givers: Sequence[str]) -> bool:
        """Whether ``taker`` serving one more visit and each of ``givers`` one fewer raises the class's
        ratio (its worst-served buyer's share ratio, whoever that is after it)."""
        if taker in givers:
            return False
        before = self.ratio() or 0.0
        self._move(taker, givers, 1)
        after = self.ratio() or 0.0
        self._move(taker, givers, -1)
        return after > before

    def exchange(self, taker: str, givers: Sequence[str]) -> None:
        self._move(taker, givers, 1)


def _runs(routes: Mapping[int, Route], agents: Sequence[int], key: Group, taker: str,
          by_case: Mapping[int, VisitTask]) -> list[tuple[int, int, int]]:
    """(agent, first position, length) of every run of up to ``RUN`` consecutive planned visits of the
    class ``key`` on the routes of ``agents``, none of them ``taker``'s nor pinned."""
    out = []
    for a in agents:
        r = routes[a]
        ok = [class_of(by_case[v.case_id]) == key and not by_case[v.case_id].pinned and v.buyer != taker
              for v in r.visits]
        for k in range(len(ok)):
            for n in range(1, RUN + 1):
                if k + n > len(ok) or not ok[k + n - 1]:
                    break
                out.append((a, k, n))
    return out


def _round(day: date, key: Group, group: _Class, routes: dict[int, Route], agents: Sequence[int],
           unplanned: dict[int, VisitTask], by_case: Mapping[int, VisitTask], matrix: MatrixProvider,
           gone: dict[int, VisitTask], spare: dict[str | None, float]) -> int:
    """One round of exchanges for ``group``'s worst-served buyer on the routes of ``agents`` (its
    region's); the number made."""
    taker = group.lowest()
    wanted = [t for t in unplanned.values() if t.buyer == taker and class_of(t) == key]
    runs = _runs(routes, agents, key, taker, by_case) if wanted else []
    if not runs:
        return 0
    spots = _xy([routes[a].visits[k].at for a, k, _ in runs])
    near: dict[int, list[int]] = {}
    for t, xy in zip(wanted, _xy([t.at for t in wanted])):
        d = np.hypot(*(spots - xy).T)
        near[t.case_id] = np.argsort(d)[:NEAREST * RUN].tolist()
    points: list[Point] = [t.at for t in wanted]
    for a, k, n in {runs[j] for js in near.values() for j in js}:
        here, _, after, _ = _ends(routes[a], k, n)
        points += [here, *(v.at for v in routes[a].visits[k:k + n]), after]
    points = list(dict.fromkeys(points))
    ix = {p: i for i, p in enumerate(points)}
    dur = matrix.matrix(points).duration_s
    priced = []
    for t in wanted:
        for j in near[t.case_id]:
            a, k, n = runs[j]
            if may_do(t, routes[a].shift) and (swap := _priced(routes[a], k, n, t, dur, ix)) is not None:
                priced.append(swap)
    made = 0
    touched: set[tuple[int, int]] = set()
    shortened: set[int] = set()
    placed: set[int] = set()
    for swap in sorted(priced, key=lambda s: (s.run, s.extra_s, s.task.case_id, s.agent, s.k)):
        if group.fair():
            break
        span = [(swap.agent, swap.k + d) for d in range(-1, swap.run + 1)]
        olds = routes[swap.agent].visits[swap.k:swap.k + swap.run]
        if (swap.task.case_id in placed or swap.agent in shortened or any(p in touched for p in span)
                or swap.run - 1 > spare[key[0]] or not group.raised_by(taker, [v.buyer for v in olds])):
            continue
        route = _swapped(routes[swap.agent], swap, matrix)
        if validate_route(route, by_case, travel=matrix, day=day):
            continue
        routes[swap.agent] = route
        touched.update(span)
        if swap.run > 1:  # the positions after it have moved: the route waits for the next round
            shortened.add(swap.agent)
        placed.add(swap.task.case_id)
        del unplanned[swap.task.case_id]
        gone.update((v.case_id, by_case[v.case_id]) for v in olds)
        group.exchange(taker, [v.buyer for v in olds])
        spare[key[0]] -= swap.run - 1
        made += 1
    return made


def exchange(plan: Plan, tasks: Sequence[VisitTask], matrix: MatrixProvider) -> Plan:
    """``plan`` with, in every (region, priority class) below ``FAIR_TARGET`` (``fairness_by_class``), the
    worst-served buyer's unplanned visits exchanged for better-served buyers' planned ones where they fit
    (module docstring): as many visits served, or fewer where a run of them made room for one further out;
    what it gave up is dropped as ``FAIR_SHARE``."""
    unfair = {key: _Class(buyers) for key, buyers in class_shares(plan, tasks).items()}
    unfair = {key: group for key, group in unfair.items() if not group.fair()}
    if not unfair:
        return plan
    by_case = {t.case_id: t for t in tasks}
    routes = {r.agent_id: r for r in plan.routes}
    # Each region's own agents: the class's share is of the agents' time there (an agent of another
    # region with a visit here is lent, and its day is planned with its own region's).
    in_region: dict[str | None, list[int]] = defaultdict(list)
    for r in plan.routes:
        in_region[r.shift.region].append(r.agent_id)
    unplanned = {d.case_id: by_case[d.case_id] for d in plan.dropped
                 if d.reason in COMPETING_REASONS and d.case_id in by_case and not by_case[d.case_id].pinned
                 and class_of(by_case[d.case_id]) in unfair}
    gone: dict[int, VisitTask] = {}
    # What each region may give up: the trim's bound (TRIM_KEEP of its planned visits).
    spare = {r: (1 - TRIM_KEEP) * n for r, n in region_served(plan, by_case).items()}
    for key, group in unfair.items():
        for _ in range(ROUNDS):
            if group.fair() or not _round(plan.day, key, group, routes, in_region[key[0]], unplanned, by_case,
                                          matrix, gone, spare):
                break
    if not gone:
        return plan
    placed = {v.case_id for r in routes.values() for v in r.visits}
    dropped = [d for d in plan.dropped if d.case_id not in placed]
    dropped += [Dropped(c, t.buyer, t.at, FAIR_SHARE) for c, t in sorted(gone.items())]
    return Plan(day=plan.day, routes=[routes[r.agent_id] for r in plan.routes], dropped=dropped,
                stats=dict(plan.stats))
