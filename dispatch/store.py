"""Day plans in the database (``plan_run``, ``plan_route``, ``plan_visit``, ``plan_dropped``;
migration 0003): storing a ``Plan`` and reading back a day's current plan.

A **run** is one stored plan of a day for one region (an ITL1 code) or, with ``region`` null, for the
whole country. Runs are never updated: planning again adds a run, and older runs stay as the record of
what was planned. Every stored row carries the region of the run's slice it belongs to: a regional
run's rows carry its region; in a whole-country run a route carries its agent's region (the shift's,
else the agent's own), a visit or dropped visit its case address's region.

The day's **current plan** is, region by region, the rows of the latest run covering that region: a
whole-country run covers every region, and a later regional run replaces that region only. "Latest"
is the highest run id (ids are handed out in insertion order). A visit belongs to its route (an
agent's timeline is never spliced from two runs), so a whole-country route of a region that a regional
run later replaced goes with all its visits, even one across the border; the regional planner only
plans inside its region, so that happens only for cross-border visits.

A loaded ``Plan`` rebuilds each route's ``Shift`` from the stored shift times and start/end points
(enough for the GeoJSON and the map; skills, breaks and the certificate are not stored), and its
``stats`` are: ``served``, ``dropped``, ``distance_m``, ``duration_s`` over what was loaded, ``run_id``
(the latest run drawn from; for one agent's day, the run its route comes from) and ``run_ids`` (every
run drawn from, ascending). Each run's own solver figures are in ``plan_run.stats`` (``run_stats``).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core import TimeWindow, record_audit
from core.models import (
    Address,
    Agent,
    Buyer,
    Case,
    Device,
    DeviceKind,
    PlanDropped,
    PlanKind,
    PlanRoute,
    PlanRun,
    PlanVisit,
)
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, Shift

__all__ = ["OwnTracksPhone", "VisitAddress", "current_run_ids", "load_current_plan", "load_route_paths",
           "owntracks_phones", "run_stats", "save_plan", "visit_addresses"]


@dataclass(frozen=True)
class VisitAddress:
    """Where an agent knocks: the address's first line and postcode."""

    line1: str
    postcode: str


@dataclass(frozen=True)
class OwnTracksPhone:
    """An agent's phone running the OwnTracks app: its device id and the device name it publishes under
    (``owntracks/<device id>/<name>``), where it reads its commands."""

    device_id: str
    name: str


def _ids(values: Iterable[int]) -> Any:
    # One array parameter, whatever the number of ids (an IN list has one parameter per id).
    return any_(bindparam(None, sorted(set(values)), type_=ARRAY(Integer)))


def _point(p: Point) -> WKTElement:
    return WKTElement(f"POINT({p.lon!r} {p.lat!r})", srid=4326)


def _line(points: Sequence[Point]) -> WKTElement:
    return WKTElement(f"LINESTRING({', '.join(f'{p.lon!r} {p.lat!r}' for p in points)})", srid=4326)


def _path(route: Route) -> list[Point]:
    shift = route.shift
    return [shift.current_at or shift.start_at, *(v.at for v in route.visits), shift.end_at]


def run_stats(plan: Plan) -> dict[str, Any]:
    """What ``plan_run.stats`` holds: the planner's own figures (``solve_seconds``, ``fairness_ratio``,
    …) and, counted from the plan itself, ``served``, ``dropped``, ``dropped_by_reason``,
    ``distance_m``, ``duration_s`` and ``agents`` (routes)."""
    own = {k: float(v) for k, v in plan.stats.items() if isinstance(v, int | float)}
    return own | {
        "served": plan.served, "dropped": len(plan.dropped),
        "dropped_by_reason": dict(Counter(d.reason for d in plan.dropped).most_common()),
        "distance_m": float(sum(r.distance_m for r in plan.routes)),
        "duration_s": int(sum(r.duration_s for r in plan.routes)), "agents": len(plan.routes)}


def save_plan(db: Session, plan: Plan, *, priorities: Mapping[int, int], region: str | None, actor: str,
              kind: str = PlanKind.plan, time_limit_s: float, role: str | None = None,
              audit: dict[str, Any] | None = None) -> int:
    """Store ``plan`` as a new run of ``plan.day`` for ``region`` (None: the whole country) and return
    its id. Rows go in as batched multi-row inserts; the caller's transaction commits them, together
    with the audit row (``plan.create`` or ``plan.replan`` by ``actor``/``role``, with ``audit`` added
    to its data), so no stored plan is ever without its audit entry. Every case must exist (its buyer
    and region are read from it) and have its task's priority in ``priorities`` (case id → priority,
    stored on each visit and dropped visit: the regional measures compare buyers' shares within its
    class, ``core.priority_class``)."""
    kind = PlanKind(kind)
    case_ids = [v.case_id for r in plan.routes for v in r.visits] + [d.case_id for d in plan.dropped]
    cases = {row.id: row for row in db.execute(
        select(Case.id, Case.buyer_id, Address.itl1_cd).join(Address, Address.id == Case.address_id)
        .where(Case.id == _ids(case_ids)))} if case_ids else {}
    unknown = sorted(set(case_ids) - cases.keys())
    if unknown:
        raise ValueError(f"plan names cases that do not exist: {unknown[:10]}")
    unranked = sorted(set(case_ids) - priorities.keys())
    if unranked:
        raise ValueError(f"plan names cases without a priority: {unranked[:10]}")
    agent_regions: dict[int, str | None] = {}
    if region is None and any(r.shift.region is None for r in plan.routes):
        agent_regions = dict(db.execute(select(Agent.id, Agent.itl1_cd)
                                        .where(Agent.id == _ids(r.agent_id for r in plan.routes))).all())

    run = PlanRun(day=plan.day, region=region, created_by=actor, kind=kind, time_limit_s=time_limit_s,
                  stats=run_stats(plan))
    db.add(run)
    db.flush()

    def case_region(case_id: int) -> str | None:
        return region or cases[case_id].itl1_cd

    routes = [{
        "run_id": run.id, "agent_id": r.agent_id,
        "region": region or r.shift.region or agent_regions.get(r.agent_id),
        "shift_start": r.shift.start, "shift_end": r.shift.end, "start_point": _point(r.shift.start_at),
        "end_point": _point(r.shift.end_at), "distance_m": float(r.distance_m), "duration_s": int(r.duration_s),
        "path": _line(_path(r))} for r in plan.routes]
    visits = [{
        "run_id": run.id, "agent_id": v.agent_id, "case_id": v.case_id, "buyer_id": cases[v.case_id].buyer_id,
        "seq": v.seq, "eta": v.eta, "etd": v.etd, "window_start": v.window.start, "window_end": v.window.end,
        "time_band": v.time_band, "window_band": v.window.time_band, "service_s": v.service_s,
        "location": _point(v.at), "region": case_region(v.case_id), "priority": priorities[v.case_id]}
        for r in plan.routes for v in r.visits]
    dropped = [{
        "run_id": run.id, "case_id": d.case_id, "buyer_id": cases[d.case_id].buyer_id, "reason": d.reason,
        "location": _point(d.at), "region": case_region(d.case_id), "priority": priorities[d.case_id]}
        for d in plan.dropped]
    for table, rows in ((PlanRoute, routes), (PlanVisit, visits), (PlanDropped, dropped)):
        if rows:
            db.execute(insert(table), rows)
    record_audit(db, actor=actor, role=role, action=f"plan.{'create' if kind is PlanKind.plan else 'replan'}",
                 target=f"plan_run:{run.id}",
                 data={"day": plan.day.isoformat(), "region": region, "time_limit_s": time_limit_s,
                       "served": len(visits), "dropped": len(dropped), **(audit or {})})
    return run.id


# --- reading the current plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slice:
    """The rows of run ``run_id`` that are current: those of ``region``, or with ``region`` None (a
    whole-country run) every row whose region is not in ``replaced``."""

    run_id: int
    region: str | None
    replaced: frozenset[str] = frozenset()

    def where(self, table: type[PlanRoute] | type[PlanDropped]) -> ColumnElement[bool]:
        if self.region is not None:
            return and_(table.run_id == self.run_id, table.region == self.region)
        if not self.replaced:
            return table.run_id == self.run_id
        return and_(table.run_id == self.run_id,
                    or_(table.region.is_(None), table.region.not_in(sorted(self.replaced))))


def _current_slices(db: Session, day: date, region: str | None) -> list[_Slice]:
    runs = db.execute(select(PlanRun.id, PlanRun.region).where(PlanRun.day == day).order_by(PlanRun.id.desc()))
    slices: list[_Slice] = []
    replaced: set[str] = set()
    for run_id, run_region in runs:
        if region is not None:
            if run_region in (None, region):
                return [_Slice(run_id, region)]
            continue
        if run_region is None:
            slices.append(_Slice(run_id, None, frozenset(replaced)))
            break  # a whole-country run covers everything older runs could
        if run_region not in replaced:
            slices.append(_Slice(run_id, run_region))
            replaced.add(run_region)
    return slices


def current_run_ids(db: Session, day: date, *, region: str | None = None) -> list[int]:
    """The runs the current plan of ``day`` (in ``region``) is drawn from, ascending; empty when the
    day has no plan."""
    return sorted({s.run_id for s in _current_slices(db, day, region)})


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _xy(column: Any) -> tuple[Any, Any]:
    return func.ST_X(column), func.ST_Y(column)


def load_current_plan(db: Session, day: date, *, region: str | None = None, buyer_id: int | None = None,
                      agent_id: int | None = None) -> Plan | None:
    """The current plan of ``day`` (module docstring), or None when no run covers it.

    ``region``: only that region's slice. ``buyer_id``: only that buyer's visits and dropped visits, and
    only the routes with one of its visits, each reduced to those visits (keeping their ``seq`` and the
    route's distance and duration). ``agent_id``: only that agent's route, and no dropped visits."""
    slices = _current_slices(db, day, region)
    if not slices:
        return None
    route_filter = and_(or_(*(s.where(PlanRoute) for s in slices)),
                        PlanRoute.agent_id == agent_id if agent_id is not None else true())
    route_rows = db.execute(
        select(PlanRoute.run_id, PlanRoute.agent_id, PlanRoute.region, PlanRoute.shift_start, PlanRoute.shift_end,
               *_xy(PlanRoute.start_point), *_xy(PlanRoute.end_point), PlanRoute.distance_m, PlanRoute.duration_s)
        .where(route_filter).order_by(PlanRoute.agent_id)).all()
    visits: dict[int, list[PlannedVisit]] = {}
    visit_rows = db.execute(
        select(PlanVisit, Buyer.reference, *_xy(PlanVisit.location))
        .join(PlanRoute, and_(PlanRoute.run_id == PlanVisit.run_id, PlanRoute.agent_id == PlanVisit.agent_id))
        .join(Buyer, Buyer.id == PlanVisit.buyer_id)
        .where(route_filter, PlanVisit.buyer_id == buyer_id if buyer_id is not None else true())
        .order_by(PlanVisit.agent_id, PlanVisit.seq))
    for pv, buyer, lon, lat in visit_rows:
        visits.setdefault(pv.agent_id, []).append(PlannedVisit(
            case_id=pv.case_id, agent_id=pv.agent_id, seq=pv.seq, eta=_utc(pv.eta), etd=_utc(pv.etd),
            window=TimeWindow(_utc(pv.window_start), _utc(pv.window_end), pv.window_band),
            service_s=pv.service_s, buyer=buyer, at=Point(lon, lat), time_band=pv.time_band))
    routes = []
    for r in route_rows:
        if buyer_id is not None and r.agent_id not in visits:
            continue
        start_at, end_at = Point(r[5], r[6]), Point(r[7], r[8])
        shift = Shift(agent_id=r.agent_id, start=_utc(r.shift_start), end=_utc(r.shift_end), start_at=start_at,
                      end_at=end_at, region=r.region)
        routes.append(Route(r.agent_id, shift, tuple(visits.get(r.agent_id, ())), r.distance_m, r.duration_s))
    dropped = [] if agent_id is not None else [
        Dropped(case_id, buyer, Point(lon, lat), reason) for case_id, buyer, reason, lon, lat in db.execute(
            select(PlanDropped.case_id, Buyer.reference, PlanDropped.reason, *_xy(PlanDropped.location))
            .join(Buyer, Buyer.id == PlanDropped.buyer_id)
            .where(or_(*(s.where(PlanDropped) for s in slices)),
                   PlanDropped.buyer_id == buyer_id if buyer_id is not None else true())
            .order_by(PlanDropped.case_id))]
    # An agent's day comes from one run: name that one rather than every run of the day.
    run_ids = sorted({r.run_id for r in route_rows} if agent_id is not None and route_rows
                     else {s.run_id for s in slices})
    plan = Plan(day=day, routes=routes, dropped=dropped)
    plan.stats = {"served": plan.served, "dropped": len(dropped),
                  "distance_m": float(sum(r.distance_m for r in routes)),
                  "duration_s": int(sum(r.duration_s for r in routes)), "run_id": run_ids[-1], "run_ids": run_ids}
    return plan


def load_route_paths(db: Session, day: date, *, region: str | None = None,
                     agent_id: int | None = None) -> dict[int, list[Point]]:
    """Each current route's stored line (start point, visits in order, end point; from the agent's
    position when re-planned), by agent id, for ``dispatch.geojson.plan_to_geojson(plan, paths)``."""
    slices = _current_slices(db, day, region)
    if not slices:
        return {}
    rows = db.execute(select(PlanRoute.agent_id, PlanRoute.path)
                      .where(or_(*(s.where(PlanRoute) for s in slices)),
                             PlanRoute.agent_id == agent_id if agent_id is not None else true()))
    return {agent: [Point(x, y) for x, y in to_shape(path).coords] for agent, path in rows}


def visit_addresses(db: Session, case_ids: Iterable[int]) -> Mapping[int, VisitAddress]:
    """The address line and postcode of each case in ``case_ids`` (one query)."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = db.execute(select(Case.id, Address.line1, Address.postcode).join(Address, Address.id == Case.address_id)
                      .where(Case.id == _ids(ids)))
    return {case_id: VisitAddress(line1, postcode) for case_id, line1, postcode in rows}


def owntracks_phones(db: Session, agent_ids: Iterable[int]) -> dict[int, list[OwnTracksPhone]]:
    """The active OwnTracks phones of each agent in ``agent_ids`` (those whose device name ingest has
    learned; a phone sending the Bailiwick form has none and reads its plan on agents/{id}/plan)."""
    ids = list(agent_ids)
    if not ids:
        return {}
    rows = db.execute(select(Device.agent_id, Device.device_id, Device.owntracks_name)
                      .where(Device.agent_id == _ids(ids), Device.kind == DeviceKind.phone.value, Device.active,
                             Device.owntracks_name.is_not(None))
                      .order_by(Device.agent_id, Device.device_id))
    out: dict[int, list[OwnTracksPhone]] = {}
    for agent_id, device_id, name in rows:
        out.setdefault(agent_id, []).append(OwnTracksPhone(device_id, name))
    return out
