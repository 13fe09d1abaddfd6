"""The agents' stored plans of a day, read for the simulator: for each agent with a route in a plan
run of the day, its route of the latest such run (the plan it is working to, each visit with the
start of its window), its phone and the case addresses a decoy stop must keep away from."""
from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session

import geodata
from core.models import (
    Address,
    Agent,
    Case,
    CaseStatus,
    Device,
    PlanRoute,
    PlanRun,
    PlanVisit,
)
from sim.agent_day import AgentPlan, PlannedVisit


def _bng(lons: list[float], lats: list[float]) -> list[tuple[float, float]]:
    if not lons:
        return []
    xs, ys = geodata.to_bng(np.array(lons, dtype=float), np.array(lats, dtype=float))
    return list(zip(xs.tolist(), ys.tolist()))


def read_agent_plans(db: Session, day: date, agent_ids: list[int] | None = None, *,
                     idle: bool = False) -> list[AgentPlan]:
    """The plans of ``day`` of the agents that have one and an active phone, by agent id. With ``idle``,
    also the other active agents with a phone, as plans without visits (from and back to their home
    base, starting when the earliest planned shift does): their day is fuel, lunch and driving, which
    must yield no evidence."""
    latest = (select(PlanRoute.agent_id, func.max(PlanRoute.run_id).label("run_id"))
              .join(PlanRun, PlanRun.id == PlanRoute.run_id).where(PlanRun.day == day)
              .group_by(PlanRoute.agent_id))
    if agent_ids is not None:
        latest = latest.where(PlanRoute.agent_id.in_(agent_ids))
    keys = [tuple(r) for r in db.execute(latest)]
    if not keys:
        return []
    routes = db.execute(
        select(PlanRoute.agent_id, PlanRoute.shift_start, func.ST_X(PlanRoute.start_point),
               func.ST_Y(PlanRoute.start_point), func.ST_X(PlanRoute.end_point), func.ST_Y(PlanRoute.end_point),
               Agent.reference, Agent.subcontractor_id, Device.device_id)
        .join(Agent, Agent.id == PlanRoute.agent_id)
        .join(Device, (Device.agent_id == Agent.id) & (Device.kind == "phone") & Device.active)
        .where(tuple_(PlanRoute.agent_id, PlanRoute.run_id).in_(keys))
        .order_by(PlanRoute.agent_id, Device.device_id)).all()
    visits: dict[int, list] = {}
    for agent, case, eta, window_start, lon, lat in db.execute(
            select(PlanVisit.agent_id, PlanVisit.case_id, PlanVisit.eta, PlanVisit.window_start,
                   func.ST_X(Address.location), func.ST_Y(Address.location))
            .join(Case, Case.id == PlanVisit.case_id).join(Address, Address.id == Case.address_id)
            .where(tuple_(PlanVisit.agent_id, PlanVisit.run_id).in_(keys)).order_by(PlanVisit.agent_id,
                                                                                      PlanVisit.seq)):
        visits.setdefault(agent, []).append((case, eta, window_start, lon, lat))
    if idle and routes:
        start_at = min(r[1] for r in routes)
        planned = {r[0] for r in routes}
        query = (select(Agent.id, literal(start_at), func.ST_X(Agent.home_base), func.ST_Y(Agent.home_base),
                        func.ST_X(Agent.home_base), func.ST_Y(Agent.home_base), Agent.reference,
                        Agent.subcontractor_id, Device.device_id)
                 .join(Device, (Device.agent_id == Agent.id) & (Device.kind == "phone") & Device.active)
                 .where(Agent.active, Agent.id.not_in(planned)).order_by(Agent.id, Device.device_id))
        if agent_ids is not None:
            query = query.where(Agent.id.in_(agent_ids))
        routes = sorted([*routes, *db.execute(query).all()], key=lambda r: (r[0], r[8]))
    firms = sorted({r[7] for r in routes})
    avoid: dict[int, list[tuple[float, float]]] = {}
    rows = db.execute(select(Case.assigned_subcontractor_id, func.ST_X(Address.location), func.ST_Y(Address.location))
                      .join(Address, Address.id == Case.address_id)
                      .where(Case.status == CaseStatus.open, Case.is_leading,
                             Case.assigned_subcontractor_id.in_(firms))).all()
    for firm, xy in zip([r[0] for r in rows], _bng([r[1] for r in rows], [r[2] for r in rows])):
        avoid.setdefault(firm, []).append(xy)
    plans: list[AgentPlan] = []
    seen: set[int] = set()
    for agent, shift_start, slon, slat, elon, elat, ref, firm, device in routes:
        if agent in seen:  # an agent with two phones: the simulator carries the first
            continue
        seen.add(agent)
        mine = visits.get(agent, [])
        start, end = _bng([slon, elon], [slat, elat])
        doors = _bng([v[3] for v in mine], [v[4] for v in mine])
        plans.append(AgentPlan(
            agent_id=agent, reference=ref, device_id=device, shift_start=shift_start, start=start, end=end,
            visits=tuple(PlannedVisit(case, x, y, eta, opens)
                         for (case, eta, opens, _, _), (x, y) in zip(mine, doors)),
            avoid=tuple(avoid.get(firm, ()))))
    return plans
