"""Splitting a large day into sub-problems the solver can finish: by region, then by clusters of agents.

A whole national day (130,000 tasks, 2,000 agents) is far beyond one OR-Tools model, and even the demo
day (1,337 tasks × 60 agents) does not get a first solution in 20 s. ``split_day`` cuts the day into
``SubProblem``s of at most ``max_agents`` agents each, with every task either in exactly one sub-problem
or in ``DaySplit.dropped`` with a reason. It is pure: no solver, no database, no clock.

1. **Regions.** Agents are grouped by ``Shift.region`` (ITL1). A task is offered to the agents of its
   own region (``VisitTask.region``). When its region has no agent on shift who may make the visit
   (skills, certificated), it goes to the nearest cluster of any region that has one (nearest agent's
   home base); when no agent on shift anywhere may make it, it is dropped with the solver's own wording
   (``dispatch.skills``: "no agent with skill commercial", "no certificated agent"). A task pinned to
   an agent goes to that agent's cluster, or is dropped with "pinned agent N not on shift".
2. **Clusters.** Within a region, agents are split by home base by recursive coordinate bisection in
   British National Grid metres (``project``): the group is cut at a quantile of its wider axis into
   two groups sized in proportion to the number of clusters each will hold, until every group has at
   most ``max_agents`` agents. Unlike k-means this bounds the size of every cluster (the solver's time
   grows much faster than linearly with it) and is deterministic; clusters are compact because every
   cut is along the wider spread.
3. **What is offered.** An agent's day holds about ``work seconds ÷ (service + TRAVEL_PER_VISIT_S)``
   visits. When a region's tasks exceed ``offer_factor`` × that (a national day has 2.5× more urgent
   visits than the agents can make), only that many are offered to the solver and the rest are dropped
   with reason ``capacity`` (what the solver would have said, decided before it spent time on them).
   Tasks are offered by priority, highest first; the priority class that does not fit whole is shared
   between buyers in proportion to their tasks in that class (largest remainders), each buyer's nearest
   tasks (to an agent's base) first. So when demand exceeds capacity every buyer keeps its share of
   what may be served in the region [000 §1.8, §2.94], and the solver chooses among visits near agents.
4. **Balanced assignment.** The offered tasks of a region are shared among its clusters in proportion
   to the clusters' capacity (with ``BALANCE_SLACK`` headroom), so that no cluster is far more
   oversubscribed than its neighbours (that would skew a buyer's served share in the region): pinned
   tasks first, then tasks with the fewest eligible clusters, then by regret (how much further the
   second-nearest cluster is than the nearest), each to its nearest cluster that still has room, or to
   its nearest cluster when every cluster is full.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dispatch.model import Dropped, Shift, VisitTask
from dispatch.skills import may_do, nobody_may, pin_off_shift

__all__ = [
    "BALANCE_SLACK", "DaySplit", "MAX_AGENTS", "OFFER_FACTOR", "Project", "SubProblem", "TRAVEL_PER_VISIT_S",
    "able_agents", "bng", "cluster_agents", "nearest_parts", "planar", "split_day", "work_seconds",
]

# At 5–10 agents and a few hundred tasks the solver's first solution takes well under a second; at
# 60 agents × 1,300 tasks it does not finish in 20 s.
MAX_AGENTS = 4
# Mean travel between two visits of a round (measured: 13 agents in Tyneside make 339 visits in a
# 11.5-hour day, 1,600 s a visit with 900 s of service).
TRAVEL_PER_VISIT_S = 700
# Offer the solver this many times the visits it is estimated to manage: enough choice to build
# compact rounds, not so much that it spends its time on visits it will drop anyway.
OFFER_FACTOR = 1.3
# A cluster may take this much more than its proportional share of its region's offered tasks, so
# that tasks are not sent far for the sake of exact balance.
BALANCE_SLACK = 1.15

Project = Callable[[NDArray[np.float64], NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]


def planar(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The identity projection, for planar problems (``PlanarMatrixProvider``)."""
    return x, y


def bng(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitude/latitude to British National Grid metres (the default projection)."""
    from geodata import to_bng

    return to_bng(lon, lat)


@dataclass(frozen=True)
class SubProblem:
    """Agents of one cluster and the tasks offered to them; ``key`` is ``REGION/index``. ``favoured``:
    the buyers whose visits come first (``dispatch.planner``'s fairness round; empty otherwise)."""

    key: str
    region: str | None
    tasks: tuple[VisitTask, ...]
    shifts: tuple[Shift, ...]
    favoured: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DaySplit:
    parts: tuple[SubProblem, ...]
    dropped: tuple[Dropped, ...]


def work_seconds(s: Shift) -> float:
    """Seconds the agent can spend on visits and travel: the shift (from when it is available) less
    its breaks."""
    start = max(s.start, s.available_from) if s.available_from else s.start
    return max(0.0, (s.end - start).total_seconds() - sum(b.duration_s for b in s.breaks))


def _xy(points: Iterable, project: Project) -> NDArray[np.float64]:
    pts = list(points)
    lon = np.fromiter((p.lon for p in pts), dtype=np.float64, count=len(pts))
    lat = np.fromiter((p.lat for p in pts), dtype=np.float64, count=len(pts))
    x, y = project(lon, lat)
    return np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)]).reshape(-1, 2)


def cluster_agents(shifts: Sequence[Shift], max_agents: int = MAX_AGENTS,
                   project: Project = bng) -> list[list[Shift]]:
    """``shifts`` in groups of at most ``max_agents`` by home base (recursive coordinate bisection, see
    the module docstring); groups come out in a stable order."""
    if max_agents < 1:
        raise ValueError("max_agents must be at least 1")
    if not shifts:
        return []
    xy = _xy((s.start_at for s in shifts), project)

    def bisect(ix: NDArray[np.intp], k: int) -> list[NDArray[np.intp]]:
        if k <= 1:
            return [ix]
        pts = xy[ix]
        axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        order = ix[np.lexsort((ix, pts[:, axis]))]
        k_left = k // 2
        n_left = round(len(ix) * k_left / k)
        return bisect(order[:n_left], k_left) + bisect(order[n_left:], k - k_left)

    groups = bisect(np.arange(len(shifts)), math.ceil(len(shifts) / max_agents))
    return [[shifts[i] for i in sorted(g)] for g in groups if len(g)]


def able_agents(shifts: Sequence[Shift]) -> Callable[[VisitTask], NDArray[np.bool_]]:
    """A function giving, for a task, which of ``shifts`` may make it (``may_do``): worked out once per
    combination of skills and certificate, of which a day has a handful."""
    masks: dict[tuple[frozenset[str], bool], NDArray[np.bool_]] = {}

    def able(t: VisitTask) -> NDArray[np.bool_]:
        need = (t.required_skills, t.needs_certificated)
        if need not in masks:
            masks[need] = np.array([may_do(t, s) for s in shifts], dtype=bool)
        return masks[need]

    return able


def _offer(tasks: list[VisitTask], dist: NDArray[np.float64], budget: int) -> tuple[list[int], list[int]]:
    """Positions of the tasks offered (at most ``budget``) and of those left out, by priority and then
    a fair share per buyer of the class that does not fit (module docstring, step 3)."""
    if len(tasks) <= budget:
        return list(range(len(tasks))), []
    by_priority: dict[int, list[int]] = defaultdict(list)
    for i, t in enumerate(tasks):
        by_priority[t.priority].append(i)
    offered: list[int] = []
    left: list[int] = []
    for priority in sorted(by_priority, reverse=True):
        members = by_priority[priority]
        room = budget - len(offered)
        if len(members) <= room:
            offered += members
            continue
        by_buyer: dict[str, list[int]] = defaultdict(list)
        for i in members:
            by_buyer[tasks[i].buyer].append(i)
        exact = {b: room * len(ix) / len(members) for b, ix in by_buyer.items()}
        quota = {b: math.floor(q) for b, q in exact.items()}
        for b in sorted(exact, key=lambda b: (quota[b] - exact[b], b))[: room - sum(quota.values())]:
            quota[b] += 1
        for b, ix in sorted(by_buyer.items()):
            ranked = sorted(ix, key=lambda i: (dist[i], tasks[i].case_id))
            offered += ranked[: quota[b]]
            left += ranked[quota[b]:]
    return offered, left


def _nearest_by_cluster(task_xy: NDArray[np.float64], agents_xy: NDArray[np.float64],
                        agent_cluster: NDArray[np.intp], n_clusters: int) -> NDArray[np.float64]:
    """Tasks × clusters: distance from each task to the nearest of the given agents in each cluster
    (``inf`` where the cluster has none of them). Chunked so that a region's matrix stays small."""
    out = np.full((len(task_xy), n_clusters), np.inf)
    if not len(agents_xy):
        return out
    order = np.argsort(agent_cluster, kind="stable")
    agents_xy, agent_cluster = agents_xy[order], agent_cluster[order]
    starts = np.flatnonzero(np.r_[True, agent_cluster[1:] != agent_cluster[:-1]])
    for lo in range(0, len(task_xy), 4096):
        chunk = task_xy[lo:lo + 4096]
        d = np.hypot(chunk[:, None, 0] - agents_xy[None, :, 0], chunk[:, None, 1] - agents_xy[None, :, 1])
        out[lo:lo + len(chunk), agent_cluster[starts]] = np.minimum.reduceat(d, starts, axis=1)
    return out


def nearest_parts(tasks: Sequence[VisitTask], parts: Sequence[SubProblem],
                  project: Project = bng) -> list[tuple[int, float] | None]:
    """For each task, the position in ``parts`` of the part holding the nearest agent (home base, or
    current position) who may make it, and that agent's straight-line distance (``project`` units);
    None where no agent of ``parts`` may."""
    agents = [(k, s) for k, p in enumerate(parts) for s in p.shifts]
    if not tasks or not agents:
        return [None] * len(tasks)
    agents_xy = _xy((s.current_at or s.start_at for _, s in agents), project)
    able_of = able_agents([s for _, s in agents])
    task_xy = _xy((t.at for t in tasks), project)
    out: list[tuple[int, float] | None] = []
    for t, xy in zip(tasks, task_xy):
        able = able_of(t)
        if not able.any():
            out.append(None)
            continue
        d = np.where(able, np.hypot(*(agents_xy - xy).T), np.inf)
        nearest = int(np.argmin(d))
        out.append((agents[nearest][0], float(d[nearest])))
    return out


def split_day(tasks: Sequence[VisitTask], shifts: Sequence[Shift], *, max_agents: int = MAX_AGENTS,
              offer_factor: float | None = OFFER_FACTOR, project: Project = bng) -> DaySplit:
    """The day's sub-problems and the tasks dropped before solving (module docstring).
    ``offer_factor=None`` offers every task."""
    if not shifts:
        return DaySplit((), tuple(Dropped(t.case_id, t.buyer, t.at, "no agent on shift") for t in tasks))
    by_region: dict[str | None, list[Shift]] = defaultdict(list)
    for s in shifts:
        by_region[s.region].append(s)
    clusters: list[tuple[str, str | None, list[Shift]]] = []
    for region in sorted(by_region, key=lambda r: (r is None, r or "")):
        for n, group in enumerate(cluster_agents(by_region[region], max_agents, project)):
            clusters.append((f"{region}/{n}", region, group))
    agents = [s for _, _, group in clusters for s in group]
    agent_cluster = np.array([c for c, (_, _, group) in enumerate(clusters) for _ in group], dtype=np.intp)
    agents_xy = _xy((s.start_at for s in agents), project)
    work = np.array([work_seconds(s) for s in agents])
    cluster_work = np.bincount(agent_cluster, weights=work, minlength=len(clusters))
    cluster_region = [region for _, region, _ in clusters]
    agent_index = {s.agent_id: k for k, s in enumerate(agents)}
    task_xy = _xy((t.at for t in tasks), project)
    region_agents = {r: np.array([cluster_region[c] == r for c in agent_cluster]) for r in by_region}

    dropped: list[Dropped] = []
    forced: dict[int, int] = {}  # task position → its only cluster (pinned, or the fallback region's)
    free: dict[str | None, list[int]] = defaultdict(list)  # region → task positions to share out
    able_of = able_agents(agents)
    fallback: list[int] = []
    for i, t in enumerate(tasks):
        if t.pinned_agent is not None:
            k = agent_index.get(t.pinned_agent)
            if k is None:
                dropped.append(Dropped(t.case_id, t.buyer, t.at, pin_off_shift(t)))
            else:
                forced[i] = int(agent_cluster[k])
            continue
        able = able_of(t)
        if not able.any():
            dropped.append(Dropped(t.case_id, t.buyer, t.at, nobody_may(t, shifts)))
        elif t.region in region_agents and (able & region_agents[t.region]).any():
            free[t.region].append(i)
        else:
            fallback.append(i)
    for i in fallback:  # no agent of its region may make it: the cluster of the nearest agent who may
        able = able_of(tasks[i])
        d = np.hypot(*(agents_xy[able] - task_xy[i]).T)
        forced[i] = int(agent_cluster[np.flatnonzero(able)[int(np.argmin(d))]])

    forced_in: dict[str | None, list[int]] = defaultdict(list)
    for i, c in forced.items():
        forced_in[cluster_region[c]].append(i)
    parts: dict[int, list[int]] = defaultdict(list)
    for region in sorted(set(free) | set(forced_in), key=lambda r: (r is None, r or "")):
        positions, pinned = free.get(region, []), forced_in.get(region, [])
        for i in pinned:
            parts[forced[i]].append(i)
        if not positions:
            continue
        in_region = np.flatnonzero([r == region for r in cluster_region])
        dist = np.full((len(positions), len(in_region)), np.inf)
        by_need: dict[tuple[frozenset[str], bool], list[int]] = defaultdict(list)
        for j, i in enumerate(positions):
            by_need[(tasks[i].required_skills, tasks[i].needs_certificated)].append(j)
        local = {int(c): n for n, c in enumerate(in_region)}
        for rows in by_need.values():
            ks = np.flatnonzero(able_of(tasks[positions[rows[0]]]) & np.isin(agent_cluster, in_region))
            dist[rows] = _nearest_by_cluster(task_xy[[positions[j] for j in rows]], agents_xy[ks],
                                             np.array([local[int(c)] for c in agent_cluster[ks]], dtype=np.intp),
                                             len(in_region))
        region_work = float(cluster_work[in_region].sum()) or 1.0
        room = np.ceil((len(positions) + len(pinned)) * BALANCE_SLACK * cluster_work[in_region] / region_work)
        load = np.zeros(len(in_region))
        for i in pinned:
            load[local[forced[i]]] += 1
        options = np.isfinite(dist).sum(axis=1)
        two = np.sort(dist, axis=1)[:, :2] if len(in_region) > 1 else np.c_[dist, np.full(len(dist), np.inf)]
        regret = np.where(np.isfinite(two[:, 1]), two[:, 1] - two[:, 0], np.inf)
        ranked = np.argsort(dist, axis=1, kind="stable")
        share: dict[int, list[int]] = defaultdict(list)  # local cluster → rows of ``positions``
        for j in sorted(range(len(positions)), key=lambda j: (options[j], -regret[j], tasks[positions[j]].case_id)):
            choices = ranked[j, : options[j]]
            n = next((n for n in choices if load[n] < room[n]), choices[0])
            load[n] += 1
            share[int(n)].append(j)
        service = float(np.mean([tasks[i].service_s for i in positions]))
        for n, rows in sorted(share.items()):
            c = int(in_region[n])
            offered = rows
            if offer_factor is not None:
                budget = math.floor(cluster_work[c] / (service + TRAVEL_PER_VISIT_S) * offer_factor)
                picked, left = _offer([tasks[positions[j]] for j in rows], dist[rows, n],
                                      max(0, budget - len(parts[c])))
                offered = [rows[k] for k in picked]
                dropped += [Dropped(tasks[positions[rows[k]]].case_id, tasks[positions[rows[k]]].buyer,
                                    tasks[positions[rows[k]]].at, "capacity") for k in left]
            parts[c] += [positions[j] for j in offered]

    out = tuple(SubProblem(clusters[c][0], clusters[c][1], tuple(tasks[i] for i in sorted(ix)),
                           tuple(clusters[c][2]))
                for c, ix in sorted(parts.items()) if ix)
    return DaySplit(out, tuple(dropped))
