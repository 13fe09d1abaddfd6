"""Simulated agent days over MQTT: each agent with a stored plan of the day drives it (``agent_motion``)
carrying a phone (``agent_phone``) whose messages are published to the broker (``agent_publish``),
with the ground truth of every stop written beside them.

    import sim
    days = sim.generate_agent_days(plans, seed=1)                 # pure
    report = sim.simulate_agents(day, speed=None, until=time(12, 0), truth=Path("out/t.csv"))

Each agent's phone mode (Android, iOS, significant change) and payload form (Bailiwick JSON or
OwnTracks) are drawn from the seed and the agent id, as is everything else of its day: the same seed
and plans give the same messages, byte for byte.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from core import LONDON, session_scope
from sim.agent_day import (
    AgentDay,
    AgentPlan,
    Message,
    PayloadForm,
    PhoneProfile,
    SimFix,
    Trajectory,
    TrueStop,
)
from sim.agent_geofence import transition_messages, transitions
from sim.agent_motion import move_day
from sim.agent_phone import OWNTRACKS_DEVICE, choose_profile, messages, phone_fixes
from sim.agent_plans import read_agent_plans
from sim.agent_publish import publish_messages, write_truth
from sim.streams import Streams


def drive_day(plan: AgentPlan, seed: int = 1, day: date | None = None
              ) -> tuple[PhoneProfile, Trajectory, list[TrueStop], list[SimFix], list[tuple[datetime, datetime]]]:
    """Where the agent went and what its phone recorded (pure): the phone's profile, the trajectory,
    the truth, the fixes and the signal gaps, without the messages that would carry them. The phone's
    profile is the agent's whatever the day; with ``day`` the movement and the phone's noise are drawn
    afresh for it (a month of days), without it they are the seed's alone (one simulated day)."""
    streams = Streams(seed, "agents")
    key = plan.agent_id if day is None else f"{plan.agent_id}.{day.isoformat()}"
    profile = choose_profile(streams(f"profile.{plan.agent_id}"))
    traj, truth = move_day(plan, streams(f"motion.{key}"))
    fixes, gaps = phone_fixes(traj, profile, streams(f"phone.{key}"))
    return profile, traj, truth, fixes, gaps


def generate_agent_day(plan: AgentPlan, seed: int = 1, until: datetime | None = None,
                       geofences: bool = False) -> AgentDay:
    """One agent's simulated day (pure). With ``until``, only what the phone sent before it, and the
    stops the agent had left by then. With ``geofences``, an OwnTracks phone also sends the enter and
    leave events of its planned visits' regions (``sim.agent_geofence``)."""
    streams = Streams(seed, "agents")
    profile, traj, truth, fixes, gaps = drive_day(plan, seed)
    events = []
    if geofences and profile.form is PayloadForm.owntracks:
        events = transitions(plan, traj, gaps, streams(f"geofence.{plan.agent_id}"))
    if until is not None:
        fixes = [f for f in fixes if f.sent_at < until]
        truth = [s for s in truth if s.departure < until]
        gaps = [(a, b) for a, b in gaps if a < until]
        events = [e for e in events if e.sent_at < until]
    sent = messages(plan, profile, fixes)
    if events:
        device = OWNTRACKS_DEVICE[profile.mode]
        extra = transition_messages(plan, profile, traj, events, device, streams(f"geofence.msg.{plan.agent_id}"))
        sent = list(heapq.merge(sent, extra, key=lambda m: m.at))
    return AgentDay(plan, profile, fixes, sent, truth, gaps, traj, events)


def generate_agent_days(plans: Sequence[AgentPlan], seed: int = 1, until: datetime | None = None,
                        geofences: bool = False) -> list[AgentDay]:
    return [generate_agent_day(p, seed, until, geofences) for p in plans]


def all_messages(days: Sequence[AgentDay]) -> list[Message]:
    """Every agent's messages in the order they were sent (ties: by agent, in each agent's order)."""
    return list(heapq.merge(*(d.messages for d in days), key=lambda m: m.at))


@dataclass(frozen=True)
class SimReport:
    day: date
    agents: int
    fixes: int
    messages: int
    visits: int  # true door visits
    decoys: int  # fuel and lunch stops
    truth_path: Path

    def describe(self) -> str:
        return (f"{self.day}: {self.agents} agents, {self.messages} messages ({self.fixes} fixes) published; "
                f"{self.visits} visits and {self.decoys} decoy stops in the truth {self.truth_path}")


def simulate_agents(day: date, *, seed: int = 1, speed: float | None = None, until: time | None = None,
                    truth: Path, agent_ids: list[int] | None = None, mqtt_url: str | None = None,
                    database_url: str | None = None, geofences: bool = False,
                    progress: Callable[[int], Callable[[int], None]] | None = None) -> SimReport:
    """Simulate the agents with a stored plan for ``day`` (London) and publish their phones' messages:
    ``speed`` times real time, or as fast as the broker takes them when None. ``until`` (London time
    of the day) ends the simulation there, e.g. ``time(12, 0)`` for a simulated morning. Writes the
    ground truth to ``truth``. ``geofences``: OwnTracks phones also send their geofence events.
    ``progress(total)`` returns a callback told of each message published."""
    with session_scope(database_url) as db:
        plans = read_agent_plans(db, day, agent_ids)
    cutoff = datetime.combine(day, until, LONDON) if until is not None else None
    days = generate_agent_days(plans, seed, cutoff, geofences)
    queue = all_messages(days)
    write_truth(days, truth)
    advance = progress(len(queue)) if progress is not None else (lambda n: None)
    publish_messages(queue, speed=speed, mqtt_url=mqtt_url, advance=advance)
    stops = [s for d in days for s in d.truth]
    return SimReport(day, len(days), sum(len(d.fixes) for d in days), len(queue),
                     sum(s.kind == "visit" for s in stops), sum(s.kind in ("fuel", "lunch") for s in stops), truth)
