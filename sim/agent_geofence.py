"""OwnTracks geofence events of a simulated phone (pure): the app holds a 50 m region per planned visit
(the plan's ``setWaypoints``, named by case id) and publishes ``_type: transition`` on
``owntracks/{device_id}/{device}/event`` when the agent crosses one, late as phones are: the operating
system notices an enter some seconds to a minute after it, a leave up to a minute and a half after."""
from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np

import geodata
from sim.agent_day import AgentPlan, Message, PhoneProfile, Trajectory, Transition

REGION_M = 50.0
ENTER_LATENCY_S = (5.0, 60.0)
LEAVE_LATENCY_S = (10.0, 90.0)


def transitions(plan: AgentPlan, traj: Trajectory, gaps: list[tuple[datetime, datetime]],
                rng: np.random.Generator) -> list[Transition]:
    """Every crossing of a planned visit's region, as the phone reports it (in a signal gap, sent when
    the signal is back)."""
    seconds = np.arange(0, math.floor(traj.end_s) + 1, dtype=float)
    x, y = traj.at(seconds)
    t0 = traj.t0.astimezone(UTC)
    out: list[Transition] = []
    for visit in {v.case_id: v for v in plan.visits if v.case_id is not None}.values():
        inside = np.hypot(x - visit.x, y - visit.y) <= REGION_M
        for k in np.flatnonzero(inside[1:] != inside[:-1]) + 1:
            event = "enter" if inside[k] else "leave"
            lag = rng.uniform(*(ENTER_LATENCY_S if event == "enter" else LEAVE_LATENCY_S))
            crossed = t0 + timedelta(seconds=float(seconds[k]))
            ts = min(crossed + timedelta(seconds=round(lag)), t0 + timedelta(seconds=float(seconds[-1])))
            sent = ts + timedelta(seconds=rng.uniform(0.3, 2.0))
            for g0, g1 in gaps:
                if g0 <= ts < g1:
                    sent = g1 + timedelta(seconds=rng.uniform(2.0, 20.0))
            out.append(Transition(visit.case_id, event, crossed, ts, sent))
    return sorted(out, key=lambda tr: (tr.sent_at, tr.ts))


def transition_messages(plan: AgentPlan, profile: PhoneProfile, traj: Trajectory, events: list[Transition],
                        device: str, rng: np.random.Generator) -> list[Message]:
    """The events as the OwnTracks app sends them: where the phone was when it noticed, with its
    accuracy; ``wtst`` is when the regions were set (the plan's start)."""
    if not events:
        return []
    t0 = traj.t0.astimezone(UTC)
    secs = np.array([(e.ts - t0).total_seconds() for e in events])
    tx, ty = traj.at(secs)
    sigma = np.clip(profile.noise_m * np.exp(rng.normal(0.0, 0.35, len(events))), 5.0, 30.0)
    lon, lat = geodata.to_wgs84(tx + rng.normal(0.0, 1.0, len(events)) * sigma,
                                ty + rng.normal(0.0, 1.0, len(events)) * sigma)
    wtst = int(plan.shift_start.timestamp())
    topic = f"owntracks/{plan.device_id}/{device}/event"
    return [Message(e.sent_at, topic, json.dumps({
        "_type": "transition", "tid": plan.reference[-2:], "acc": round(float(sg) * 1.5, 1),
        "desc": str(e.case_id), "event": e.event, "lat": round(float(la), 7), "lon": round(float(lo), 7),
        "tst": int(e.ts.timestamp()), "wtst": wtst, "t": "c"}).encode(), 0)
        for e, la, lo, sg in zip(events, lat, lon, sigma)]
