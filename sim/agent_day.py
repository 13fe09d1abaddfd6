"""The simulated agent day's boundary types: what a day is generated from (an agent's stored plan) and
what it produces (the phone's fixes, the MQTT messages that carry them, and the ground truth).

Positions inside the generator are British National Grid metres (EPSG:27700); fixes and truth rows
carry WGS84 degrees, as phones and buyers see them."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


class PhoneMode(enum.StrEnum):
    """How the phone decides to report (see ``tracking.stops``): Android every ~10 s; iOS after 100 m
    or 5 min; iOS "significant change" after ~500 m or 5 min."""

    android = "android"
    ios = "ios"
    significant = "significant"


class PayloadForm(enum.StrEnum):
    bailiwick = "bailiwick"  # agents/{agent_id}/gps, {"device_id", "fixes": [...]}
    owntracks = "owntracks"  # owntracks/{device_id}/{device}, one _type=location per fix


class StopKind(enum.StrEnum):
    visit = "visit"        # at a planned case's door
    outside = "outside"    # at another client's door (work outside the platform): a visit, but of no case
    fuel = "fuel"          # decoy: at a fuel station pump
    lunch = "lunch"        # decoy: at a cafe door
    junction = "junction"  # a halt at a junction, under a minute: never a visit
    wait = "wait"          # hours early for a visit's window: waiting away from any door


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    case_id: int | None  # None: a door of the firm's other clients (``sim.outside_work``)
    x: float  # the case address, BNG metres
    y: float
    eta: datetime
    # The start of the visit's window: an agent early at the door waits in the car until it opens
    # (a knock before it would break the rule that set it, e.g. R-VISIT-GAP). None: no wait.
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """One agent's stored plan of the day, as the simulator drives it."""

    agent_id: int
    reference: str
    device_id: str
    shift_start: datetime
    start: tuple[float, float]  # BNG metres
    end: tuple[float, float]
    visits: tuple[PlannedVisit, ...]
    # Case addresses a decoy stop must keep away from (the firm's open cases and the plan's), so that
    # a fuel or lunch stop can never honestly count as a visit.
    avoid: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class PhoneProfile:
    mode: PhoneMode
    form: PayloadForm
    noise_m: float  # the phone's typical GPS sigma, metres (each fix draws around it, within 5-30 m)


@dataclass(frozen=True, slots=True)
class TrueStop:
    """Where the agent really stood still and when: for a visit, the arrival at and departure from the
    door (not the parking spot)."""

    kind: StopKind
    case_id: int | None
    arrival: datetime
    departure: datetime
    x: float
    y: float

    @property
    def dwell_s(self) -> float:
        return (self.departure - self.arrival).total_seconds()


@dataclass(frozen=True, slots=True)
class SimFix:
    ts: datetime  # whole seconds (OwnTracks' tst is whole seconds)
    lat: float
    lon: float
    accuracy_m: float
    speed_mps: float
    heading_deg: float
    battery_pct: int
    sent_at: datetime  # when the phone publishes it: later than ts after a signal gap
    outlier: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    at: datetime  # sim time of publishing
    topic: str
    payload: bytes
    fixes: int  # positions (or plate reads) it carries
    # The device that publishes it, when each device signs in to the broker on its own (vans do).
    device_id: str | None = None


@dataclass
class Trajectory:
    """Keyframes of the agent's true position: ``t`` seconds after ``t0`` (non-decreasing)."""

    t0: datetime
    t: list[float]
    x: list[float]
    y: list[float]

    @property
    def end_s(self) -> float:
        return self.t[-1]

    def at(self, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions at ``seconds`` after t0 (clamped to the day)."""
        return np.interp(seconds, self.t, self.x), np.interp(seconds, self.t, self.y)


@dataclass(frozen=True, slots=True)
class Transition:
    """An OwnTracks geofence event of a planned visit's region (``sim.agent_geofence``)."""

    case_id: int
    event: str       # "enter" or "leave"
    crossed: datetime  # when the agent really crossed the region's edge
    ts: datetime       # when the phone noticed (the payload's tst, whole seconds)
    sent_at: datetime


@dataclass(frozen=True)
class AgentDay:
    plan: AgentPlan
    profile: PhoneProfile
    fixes: list[SimFix]
    messages: list[Message]
    truth: list[TrueStop]
    gaps: list[tuple[datetime, datetime]]  # signal lost .. regained
    trajectory: Trajectory  # where the agent really was
    transitions: list[Transition] = field(default_factory=list)  # geofence events, when simulated
