"""The planning problem and its answer, as plain typed values shared by every part of ``dispatch``:
eligibility produces ``VisitTask``s, shifts come from the agents, the solver turns both into a
``Plan``, the validator re-checks a ``Plan``, and the outputs (GeoJSON, map, database, MQTT) render one.

Times are timezone-aware UTC ``datetime``s; distances are metres, durations seconds. A task's
``windows`` are hard (a visit outside them breaks a rule); ``preferred`` windows are soft (the time
bands the case has not had yet, R-VISIT-TIMES).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from core import TimeWindow

__all__ = ["Break", "Dropped", "Plan", "PlannedVisit", "Point", "Route", "Shift", "TimeWindow", "VisitTask"]


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float


@dataclass(frozen=True)
class Break:
    """An unpaid break of ``duration_s`` to start no earlier than ``earliest`` and end no later than
    ``latest``."""

    earliest: datetime
    latest: datetime
    duration_s: int


@dataclass(frozen=True)
class Shift:
    """One agent's working day: where it starts and ends (the home base), when, what the agent may do."""

    agent_id: int
    start: datetime
    end: datetime
    start_at: Point
    end_at: Point
    skills: frozenset[str] = frozenset()
    certificated: bool = True
    region: str | None = None
    breaks: tuple[Break, ...] = ()
    # Re-planning mid-day: the agent's current position and when it is free there.
    available_from: datetime | None = None
    current_at: Point | None = None


@dataclass(frozen=True)
class VisitTask:
    """One visit that may be made today."""

    case_id: int
    buyer: str
    at: Point
    windows: tuple[TimeWindow, ...]
    service_s: int
    priority: int  # 0 (can wait) … 100 (due today or overdue): sets the penalty for dropping it
    region: str | None = None
    preferred: tuple[TimeWindow, ...] = ()
    due_by: date | None = None
    required_skills: frozenset[str] = frozenset()
    needs_certificated: bool = True
    demand: int = 0  # only the Solomon benchmark uses capacities
    # The seam for optional visits that lapse (an ANPR sighting is worth a visit only for a while).
    optional: bool = False
    expires_at: datetime | None = None
    # A dispatcher's pin, or a visit already started when re-planning.
    pinned_agent: int | None = None
    pinned_at: datetime | None = None

    @property
    def pinned(self) -> bool:
        """Pinned to an agent, a time or both."""
        return self.pinned_agent is not None or self.pinned_at is not None


@dataclass(frozen=True)
class PlannedVisit:
    case_id: int
    agent_id: int
    seq: int  # 1-based position in the agent's route
    eta: datetime
    etd: datetime
    window: TimeWindow  # the hard window the visit falls in
    service_s: int
    buyer: str
    at: Point
    time_band: str | None = None


@dataclass(frozen=True)
class Route:
    agent_id: int
    shift: Shift
    visits: tuple[PlannedVisit, ...]
    distance_m: float
    duration_s: int


@dataclass(frozen=True)
class Dropped:
    case_id: int
    buyer: str
    at: Point
    reason: str  # a rule id or a plain reason ("capacity", "no agent with skill vehicle", …)


@dataclass
class Plan:
    day: date
    routes: list[Route]
    dropped: list[Dropped]
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def served(self) -> int:
        return sum(len(r.visits) for r in self.routes)
