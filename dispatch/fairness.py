"""Fairness between buyers [000 §1.8, §2.94]: how it is measured, and the pure steps ``plan_day`` takes
to reach it.

The rule: when demand exceeds capacity, each buyer's share of the visits served in a region (ITL1)
stays proportional to its share of the visits that competed for that capacity. A buyer whose cases
get less than their share while agents work other buyers' cases may withdraw its warrants for the
area (DOMAIN.md, "Capacity and non-deprioritisation"). Shares are compared within each priority class
(``core.priority_class``: urgent, due, routine; issue 13), so that serving one buyer's overdue cases
before another's routine ones is not counted against the second: ``fairness_by_class`` is the
measure the planner is held to (every buyer's served share ÷ competing share, ``FAIR_TARGET`` the
bar), ``fairness_by_region`` the older one over every priority (min/max over buyers of that ratio),
kept as a figure.

The solver serves the cheapest visits first, so a buyer whose cases are spread over rural areas loses
to one whose cases are dense in a city. ``plan_day`` corrects that in three steps, each here and each
over the (region, class) groups of ``class_shares``:

1. ``fair_shares``: inside one sub-problem, the better-served buyers are capped and the worst-served
   is offered all its visits again.
2. ``favour``: across a region's sub-problems, the urgent visits the under-served buyers need
   (``under_served``, ``favourable``) are offered first (urgent) and the other visits second (demoted
   below urgent), so agents whose own area is full of other buyers' cases go to the under-served
   buyer's.
   ``out_of_reach`` first takes out of the count the visits no agent on shift could make even with
   nothing else to do: they are not capacity given to another buyer.
3. ``trim``: where a class is still below the bar once ``dispatch.exchange`` has put the worst-served
   buyer's visits in the place of others' where they fit, visits are cut one by one from the buyers served
   above their share (the class's served visits down to its lowest buyer's rate ÷ ``FAIR_TARGET``,
   ``_keep``): lowest priority first, then the visit whose removal saves the most time. A trimmed
   visit is dropped with reason ``FAIR_SHARE``. Dispatchers' pins are never trimmed, nor counted. A
   class with too few served visits to share out at the target (rounding) keeps none. A trim that
   would leave the region less than ``TRIM_KEEP`` of its planned visits is not made: the class then
   stays below the target, and ``fairness_by_class`` says so.
   Removing a stop never makes a route late (travel times obey the triangle inequality; the rest of
   the route keeps its times and may wait), so a trimmed plan is as valid as the plan it came from.

Where a class cannot be balanced the drop reasons say why, and the measure leaves those visits out:
``OUT_OF_REACH`` (no agent could make them), a pin that could not be kept, or any reason outside
``COMPETING_REASONS``.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np

# COMPETING_REASONS (drops that are capacity given to other visits: no room, the solver's time ran out,
# or FAIR_SHARE) is core's, so that the regional measures count competing visits as the planner does.
from core import COMPETING_REASONS, PriorityClass, priority_class
from dispatch.matrix import MatrixProvider
from dispatch.model import Dropped, Plan, Shift, VisitTask
from dispatch.routes import visit_costs, without
from dispatch.routing_model import URGENT_PRIORITY
from dispatch.split import able_agents

__all__ = [
    "COMPETING_REASONS", "FAIR_SHARE", "FAIR_TARGET", "NO_FEASIBLE_PLAN", "NO_PLAN_FOUND", "OUT_OF_REACH",
    "SOLVER_FAIR_ENOUGH", "class_fairness", "class_shares", "fair_shares", "fairness_by_class",
    "fairness_by_region", "favour", "favourable", "out_of_reach", "region_fairness",
    "region_served", "served_shares", "share_ratio", "trim", "under_served",
]

FAIR_TARGET = 0.9  # bench/day.py's bar for fairness_min_ratio (issue 4)
# Where ``dispatch.solver.solve`` stops re-solving one model for fairness, and the least fairness a
# polished plan may keep. Above FAIR_TARGET because it is another measure: one model's non-urgent
# visits only (``dispatch.solver._fairness_ratio``), while the day is held to FAIR_TARGET over every
# priority and every cluster of a region, which one model's ratio does not bound.
SOLVER_FAIR_ENOUGH = 0.95
FAIR_SHARE = "fair share"  # reason of a visit trimmed because its buyer was above its share
OUT_OF_REACH = "out of reach: no agent on shift can get there and back within the shift"
# The solver's reason for every visit of a sub-problem it found no plan for within its time.
NO_PLAN_FOUND = "no plan found within the time limit"
# The solver's reason for every visit of a sub-problem that has no plan at all, whatever the time: some
# agent's shift cannot be kept even with no visits (the way to its end point, its breaks). Not
# competing: no other visit took the room.
NO_FEASIBLE_PLAN = "no feasible plan: an agent's shift cannot be kept even with no visits"
# A trim that would keep less than this share of a region's planned visits is not made: one buyer's
# single visit that did not fit must not cancel every other buyer's day there.
TRIM_KEEP = 0.5

Group = tuple[str | None, PriorityClass]  # a region (ITL1) and a priority class
K = TypeVar("K")


def _shares(plan: Plan, tasks: Iterable[VisitTask], group: Callable[[VisitTask], K],
            ) -> dict[K, dict[str, tuple[int, int]]]:
    """Group → buyer → (visits competing for capacity, visits served), for ``group`` of each task."""
    served = {v.case_id for r in plan.routes for v in r.visits}
    competing = served | {d.case_id for d in plan.dropped if d.reason in COMPETING_REASONS}
    counts: dict[K, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for t in tasks:
        if t.case_id in competing:
            c = counts[group(t)][t.buyer]
            c[0] += 1
            c[1] += t.case_id in served
    return {key: {b: (e, s) for b, (e, s) in buyers.items()} for key, buyers in counts.items()}


def served_shares(plan: Plan, tasks: Sequence[VisitTask], *, urgent: bool = True,
                  ) -> dict[str | None, dict[str, tuple[int, int]]]:
    """Region → buyer → (visits competing for capacity, visits served); see ``fairness_by_region``."""
    return _shares(plan, (t for t in tasks if urgent or t.priority < URGENT_PRIORITY), lambda t: t.region)


def class_of(t: VisitTask) -> Group:
    """The region and priority class ``t`` competes in (``fairness_by_class``)."""
    return t.region, priority_class(t.priority)


def class_shares(plan: Plan, tasks: Sequence[VisitTask]) -> dict[Group, dict[str, tuple[int, int]]]:
    """(Region, priority class) → buyer → (visits competing for capacity, visits served), pins left
    out; see ``fairness_by_class``."""
    return _shares(plan, (t for t in tasks if not t.pinned), class_of)


def _ratio(buyers: Mapping[str, tuple[int, int]]) -> float | None:
    """min/max over buyers of served rate, or None when the region does not count (fewer than two
    buyers, or nothing served)."""
    if len(buyers) < 2 or not any(s for _, s in buyers.values()):
        return None
    rates = [s / e for e, s in buyers.values()]
    return min(rates) / max(rates)


def region_fairness(plan: Plan, tasks: Sequence[VisitTask], *, urgent: bool = True) -> dict[str | None, float]:
    """Each counted region's min/max ratio (see ``fairness_by_region``)."""
    out = {}
    for region, buyers in served_shares(plan, tasks, urgent=urgent).items():
        ratio = _ratio(buyers)
        if ratio is not None:
            out[region] = ratio
    return out


def fairness_by_region(plan: Plan, tasks: Sequence[VisitTask], *, urgent: bool = True) -> float:
    """The smallest, over regions, of min/max across buyers of (served share ÷ competing share); 1 is
    perfectly proportional [000 §1.8, §2.94].

    The visits that compete for capacity in a region are its tasks that were planned or dropped for
    one of ``COMPETING_REASONS``: a visit nobody could make (no window, no skill, out of reach, a pin
    that cannot be kept) is not capacity given to another buyer. Regions are the tasks' (ITL1); a region
    counts only when it has at least two buyers and served something. With ``urgent=False`` only tasks
    below ``URGENT_PRIORITY`` count, which is the solver's own measure
    (``dispatch.solver._fairness_ratio``, whose urgent visits are served whenever possible); by default
    every priority counts, because the buyer's measure is the share of agent time on its cases against
    its share of the caseload. A buyer's served share ÷ competing share is its served rate × (competing
    ÷ served) of the region, so min/max of it across buyers is the lowest served rate over the highest.
    """
    return min(region_fairness(plan, tasks, urgent=urgent).values(), default=1.0)


def share_ratio(buyers: Mapping[str, tuple[int, int]]) -> float | None:
    """min over buyers of served share ÷ competing share, or None when the group does not count (fewer
    than two buyers, or nothing served)."""
    if len(buyers) < 2 or not any(s for _, s in buyers.values()):
        return None
    competing, served = sum(e for e, _ in buyers.values()), sum(s for _, s in buyers.values())
    return min(s / e for e, s in buyers.values()) * competing / served


def _unfair(buyers: Mapping[str, tuple[int, int]]) -> bool:
    """Whether the class counts and is below ``FAIR_TARGET`` (a buyer served nothing is 0, not None)."""
    ratio = share_ratio(buyers)
    return ratio is not None and ratio < FAIR_TARGET


def class_fairness(plan: Plan, tasks: Sequence[VisitTask]) -> dict[Group, float]:
    """Each counted (region, priority class)'s ratio (see ``fairness_by_class``)."""
    out = {}
    for key, buyers in class_shares(plan, tasks).items():
        ratio = share_ratio(buyers)
        if ratio is not None:
            out[key] = ratio
    return out


def fairness_by_class(plan: Plan, tasks: Sequence[VisitTask]) -> float:
    """The smallest, over regions and priority classes (``core.priority_class``), of min over buyers of
    (served share ÷ competing share); the planner keeps it at ``FAIR_TARGET`` or above [000 §1.8, §2.94].

    Within a class visits are alike in urgency, so a buyer served below its share there lost to other
    buyers' cases, not to more urgent ones. Competing visits are counted as in ``fairness_by_region``
    (planned, or dropped for one of ``COMPETING_REASONS``), except pins: a dispatcher's pin is served
    whatever the shares and is never trimmed, so it is no part of the planner's share. A (region,
    class) counts only when at least two buyers compete in it and something of it is served. Unlike
    ``fairness_by_region``'s min/max, each buyer is held against the class as a whole: a buyer's served
    share ÷ competing share is its served rate ÷ the class's.
    """
    return min(class_fairness(plan, tasks).values(), default=1.0)


def fair_shares(plan: Plan, tasks: Sequence[VisitTask], matrix: MatrixProvider,
                ) -> tuple[list[VisitTask], list[VisitTask]]:
    """The tasks to offer again, and those left out, so that in each region and priority class below
    ``FAIR_TARGET`` (``fairness_by_class``) every buyer's served rate (served ÷ competing visits) is
    within ``FAIR_TARGET`` of the lowest buyer's rate in ``plan``: the buyer with the lowest rate is
    offered all its visits, every other buyer at most that rate ÷ ``FAIR_TARGET`` of its visits — its
    served ones first (highest priority first), then the unserved ones nearest (in travel time) to a
    planned stop. Served at least as well as before, the lowest buyer then keeps the class's min/max
    of rates at the target, and so every buyer's share ratio. Classes at the target, and pins, are
    offered whole."""
    served = {v.case_id for r in plan.routes for v in r.visits}
    capacity = {d.case_id for d in plan.dropped if d.reason in COMPETING_REASONS}
    groups: dict[Group, dict[str, list[VisitTask]]] = defaultdict(lambda: defaultdict(list))
    offered: list[VisitTask] = []
    for t in tasks:
        if t.case_id in served or t.case_id in capacity:
            if t.pinned:
                offered.append(t)
            else:
                groups[class_of(t)][t.buyer].append(t)
    stops = [v.at for r in plan.routes for v in r.visits]
    unserved = [t for t in tasks if t.case_id in capacity]
    points = list(dict.fromkeys([*stops, *(t.at for t in unserved)]))
    index = {p: i for i, p in enumerate(points)}
    durations = matrix.matrix(points).duration_s
    stop_ix = [index[p] for p in dict.fromkeys(stops)]
    near = {t.case_id: int(durations[stop_ix, index[t.at]].min()) for t in unserved}
    cut: list[VisitTask] = []
    for buyers in groups.values():
        shares = {b: (len(ts), sum(t.case_id in served for t in ts)) for b, ts in buyers.items()}
        if not _unfair(shares):
            offered += [t for ts in buyers.values() for t in ts]  # a fair class is offered as it was
            continue
        rates = {b: s / e for b, (e, s) in shares.items()}
        lowest = min(rates.values())
        for b, ts in buyers.items():
            if rates[b] == lowest:
                offered += ts  # all of them: the time others give up may serve more of them
                continue
            cap = math.floor(lowest * len(ts) / FAIR_TARGET)
            ranked = sorted(ts, key=lambda t: (t.case_id not in served, -t.priority, near.get(t.case_id, 0),
                                               t.case_id))
            offered += ranked[:cap]
            cut += ranked[cap:]
    return offered, cut


def _need(competing: int, served: int, class_competing: int, class_served: int) -> int:
    """How many more of a buyer's ``competing`` visits must be served for its share ratio to reach
    ``FAIR_TARGET``, the class's other buyers served as they are: the least n with
    (served + n) ÷ competing ≥ FAIR_TARGET × (class_served + n) ÷ class_competing, at most all of them."""
    share = competing / class_competing  # of the class's competing visits
    n = (FAIR_TARGET * class_served * share - served) / (1 - FAIR_TARGET * share)
    return min(competing - served, math.ceil(n - 1e-9))


def under_served(plan: Plan, tasks: Sequence[VisitTask]) -> dict[Group, dict[str, int]]:
    """(Region, priority class) → each buyer whose share ratio (``fairness_by_class``) is below
    ``FAIR_TARGET``, with how many more of its visits it needs to reach it, for the classes below the
    target."""
    out: dict[Group, dict[str, int]] = {}
    for key, buyers in class_shares(plan, tasks).items():
        if not _unfair(buyers):
            continue
        competing, served = sum(e for e, _ in buyers.values()), sum(s for _, s in buyers.values())
        out[key] = {b: _need(e, s, competing, served) for b, (e, s) in buyers.items()
                    if s / e < FAIR_TARGET * served / competing}
    return out


def out_of_reach(tasks: Sequence[VisitTask], shifts: Sequence[Shift], matrix: MatrixProvider) -> set[int]:
    """Case ids of ``tasks`` that no agent of ``shifts`` who may make them could reach, visit inside a
    window and be back from by the end of the shift, with nothing else to do (breaks aside). Pinned
    tasks are left to their pin's own reason."""
    if not tasks or not shifts:
        return set()
    starts = [s.current_at or s.start_at for s in shifts]
    ends = [s.end_at for s in shifts]
    leave = np.array([(max(s.start, s.available_from) if s.available_from else s.start).timestamp() for s in shifts])
    back_by = np.array([s.end.timestamp() for s in shifts])
    able = able_agents(shifts)
    out: set[int] = set()
    chunk = 512
    for lo in range(0, len(tasks), chunk):
        part = [t for t in tasks[lo:lo + chunk] if not t.pinned]
        points = list(dict.fromkeys([*starts, *ends, *(t.at for t in part)]))
        index = {p: i for i, p in enumerate(points)}
        dur = matrix.matrix(points).duration_s
        start_ix, end_ix = [index[p] for p in starts], [index[p] for p in ends]
        for t in part:
            j = index[t.at]
            arrive = leave + dur[start_ix, j]
            home = dur[j, end_ix]
            reachable = False
            for w in t.windows:
                begin = np.maximum(arrive, w.start.timestamp())
                done = begin + t.service_s
                fits = able(t) & (done <= w.end.timestamp()) & (done + home <= back_by)
                if t.expires_at is not None:
                    fits &= begin < t.expires_at.timestamp()
                if fits.any():
                    reachable = True
                    break
            if not reachable:
                out.add(t.case_id)
    return out


def favour(tasks: Sequence[VisitTask], region: str | None, favoured: set[int]) -> list[VisitTask]:
    """``tasks`` with the visits of ``region`` not in ``favoured`` (case ids) demoted below urgent (their
    priority order kept), so that the solver serves the favoured ones before any other there. Pins stay
    pins (the solver treats a pinned visit as urgent whatever its priority)."""
    return [replace(t, priority=min(t.priority, URGENT_PRIORITY - 1))
            if t.region == region and t.case_id not in favoured else t for t in tasks]


def _keep(buyers: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """How many of its served visits each buyer keeps so that the class is at ``FAIR_TARGET``: the
    class's served visits cut to the lowest buyer's rate ÷ ``FAIR_TARGET`` of its competing ones, one
    at a time from the buyer then served at the highest rate (the fewest cuts: the lowest buyer's rate
    is what every share is held against)."""
    competing = sum(e for e, _ in buyers.values())
    lowest = min(s / e for e, s in buyers.values())
    keep = {b: s for b, (_, s) in buyers.items()}
    for _ in range(sum(keep.values()) - math.floor(lowest * competing / FAIR_TARGET + 1e-9)):
        top = max(keep, key=lambda b: (keep[b] / buyers[b][0], b))
        keep[top] -= 1
    return keep


def favourable(under: Mapping[Group, dict[str, int]]) -> dict[Group, dict[str, int]]:
    """The part of ``under_served``'s answer that ``favour`` can act on: the urgent classes. The solver
    serves urgent visits before any other, so a favoured urgent visit (the others demoted below urgent)
    is served first; a visit of a lower class cannot be put first without passing visits of a higher
    one, so those classes are left to the solver's own quotas and to ``trim``."""
    return {key: needs for key, needs in under.items() if key[1] is PriorityClass.urgent}


def region_served(plan: Plan, by_case: Mapping[int, VisitTask]) -> Counter[str | None]:
    """Region → visits ``plan`` serves there."""
    return Counter(by_case[v.case_id].region for r in plan.routes for v in r.visits)


def trim(plan: Plan, tasks: Sequence[VisitTask], matrix: MatrixProvider, *, planned: Plan | None = None) -> Plan:
    """``plan`` with the visits of buyers served above their share cut until every region's every
    priority class is at ``FAIR_TARGET`` by ``fairness_by_class`` (module docstring, step 3). Classes
    already fair are untouched; pins are never cut (nor counted). ``TRIM_KEEP`` is of what ``planned``
    served in each region (by default ``plan``; ``dispatch.exchange`` may already have given up some)."""
    by_case = {t.case_id: t for t in tasks}
    day = region_served(planned or plan, by_case)
    left = region_served(plan, by_case)  # what each region keeps after the trims decided so far
    over: dict[tuple[Group, str], int] = {}  # ((region, class), buyer) → visits to cut
    for key, buyers in class_shares(plan, tasks).items():
        if not _unfair(buyers):
            continue
        keep = _keep(buyers)
        # Too few visits to share out at the target (one buyer's single visit against another's
        # none): none is kept. The class then no longer counts, and no buyer is served above another.
        if _unfair({b: (e, keep[b]) for b, (e, _) in buyers.items()}):
            keep = dict.fromkeys(buyers, 0)
        cut = sum(s for _, s in buyers.values()) - sum(keep.values())
        # Not made when the region would keep less than TRIM_KEEP of its day: the class then stays as
        # unfair as it is.
        if left[key[0]] - cut < TRIM_KEEP * day[key[0]]:
            continue
        left[key[0]] -= cut
        over.update({(key, b): s - keep[b] for b, (_, s) in buyers.items() if s > keep[b]})
    if not over:
        return plan
    candidates: dict[tuple[Group, str], list[tuple[int, float, int]]] = defaultdict(list)
    for route in plan.routes:
        if not any((class_of(by_case[v.case_id]), v.buyer) in over for v in route.visits):
            continue
        for v, saving in zip(route.visits, visit_costs(route, matrix)):
            t = by_case[v.case_id]
            if (class_of(t), v.buyer) in over and not t.pinned:
                candidates[(class_of(t), v.buyer)].append((t.priority, -saving, v.case_id))
    gone: set[int] = set()
    for key, n in over.items():
        gone.update(case_id for _, _, case_id in sorted(candidates[key])[:n])
    routes = [r if not any(v.case_id in gone for v in r.visits) else without(r, gone, matrix)
              for r in plan.routes]
    dropped = [*plan.dropped, *(Dropped(c, by_case[c].buyer, by_case[c].at, FAIR_SHARE) for c in sorted(gone))]
    return Plan(day=plan.day, routes=[r for r in routes if r is not None], dropped=dropped,
                stats=dict(plan.stats))
