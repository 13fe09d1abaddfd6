"""A day of one or all agents' phones: their fixes read back from ``gps_ping``, the stops detected in
them (``detect_stops``), each stop matched to a case address (``evidence.match_stop``), its times
taken from the phone's geofence events of that case where they agree with the fixes
(``evidence.geofence_timing`` over ``gps_transition``) and, by ``record_day_evidence``, stored as
``visit_evidence`` or, unmatched, as ``unmatched_stop``.

A day is a London calendar day (what an agent and a buyer call "the day"), read as its UTC bounds
(``tracking.london_day.day_bounds``), so a BST day spans two UTC partitions of gps_ping.

The candidate addresses of an agent's day are:

- the visits of the agent's current plan: the agent's route in the latest plan run of the day that
  has one (tracking may not import dispatch; this is dispatch's "the run its route comes from");
- the other open cases assigned to the agent's firm (``Case.assigned_subcontractor_id``): the case
  model assigns cases to a subcontractor, never to one agent.

Only leading cases are read, so linked warrants at one address are one candidate.
"""
from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from geoalchemy2 import WKTElement
from sqlalchemy import Float, and_, cast, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

import geodata
from core import geofence_name
from core.models import (
    Address,
    Agent,
    Case,
    CaseStatus,
    Device,
    GpsPing,
    GpsTransition,
    PlanRoute,
    PlanRun,
    PlanVisit,
    UnmatchedStop,
    Visit,
    VisitEvidence,
)
from tracking.evidence import (
    DEFAULT_EVIDENCE_RADIUS_M,
    GEOFENCE_TOLERANCE,
    CaseAddress,
    Match,
    RegionEvent,
    VisitTiming,
    geofence_timing,
    gps_verified,
)
from tracking.fixes import Fix
from tracking.gap_visits import claims, gap_visits, silent_gaps
from tracking.london_day import day_bounds
from tracking.shared_door import StopCase, match_stops
from tracking.stops import ON_FOOT_MPS, Stop, detect_stops
from tracking.tracked import record_tracked_days

# How much of the phone's track around a stop its evidence keeps (``visit_evidence.trail``): enough to
# show the approach and the departure on the buyer's map once the day's pings are pruned.
TRAIL_MARGIN = timedelta(minutes=15)


def trail_excerpt(track: Sequence[Fix], arrival: datetime, departure: datetime,
                  margin: timedelta = TRAIL_MARGIN) -> list[list]:
    """The fixes of ``track`` (in time order) from ``margin`` before ``arrival`` to ``margin`` after
    ``departure``, as ``[ts ISO 8601, lat, lon]`` rows (``visit_evidence.trail``)."""
    times = [f.ts for f in track]
    lo = bisect.bisect_left(times, arrival - margin)
    hi = bisect.bisect_right(times, departure + margin)
    return [[f.ts.astimezone(UTC).isoformat(), f.lat, f.lon] for f in track[lo:hi]]


@dataclass(frozen=True)
class DayStop:
    agent_id: int
    device_id: str
    stop: Stop            # as detected in the fixes
    postcode: str | None  # the nearest postcode to the stop, None when none is near
    match: Match | None
    timing: VisitTiming   # the stop's times as evidence: the fixes', or the agreeing geofence events'
    # A part of the stop: one of several visits at one address point, told apart by the walks between
    # them (``tracking.shared_door``); its fix count and accuracy are of its own span.
    part: bool = False
    shared: bool = False  # the stop's span, shared by the several cases at its point

    @property
    def arrival(self) -> datetime:
        return self.timing.arrival

    @property
    def departure(self) -> datetime:
        return self.timing.departure

    @property
    def source(self) -> str:
        return self.timing.source


def read_day_fixes(db: Session, day: date, agent_id: int | None = None) -> dict[tuple[int, str], list[Fix]]:
    """Each phone's fixes of ``day`` in time order, by (agent id, device id): one query, ordered by
    device and time. The agent is the one the fix was stored under, so a phone handed over mid-day
    gives each agent their own part."""
    start, end = day_bounds(day)
    q = (select(GpsPing.agent_id, GpsPing.device_id, GpsPing.ts, func.ST_Y(GpsPing.location),
                func.ST_X(GpsPing.location), GpsPing.accuracy_m, GpsPing.speed_mps)
         .join(Device, Device.device_id == GpsPing.device_id)
         .where(Device.kind == "phone", GpsPing.ts >= start, GpsPing.ts < end)
         .order_by(GpsPing.device_id, GpsPing.ts))
    if agent_id is not None:
        q = q.where(GpsPing.agent_id == agent_id)
    out: dict[tuple[int, str], list[Fix]] = {}
    for agent, device, ts, lat, lon, acc, speed in db.execute(q):
        out.setdefault((agent, device), []).append(Fix(ts, lat, lon, acc, speed))
    return out


def read_day_transitions(db: Session, day: date, agent_id: int | None = None
                         ) -> dict[tuple[int, str], list[RegionEvent]]:
    """Each phone's geofence events of ``day`` (and of the agreement tolerance either side, for a stop
    at midnight) in time order, by (agent id, device id) as ``read_day_fixes``."""
    start, end = day_bounds(day)
    q = (select(GpsTransition.agent_id, GpsTransition.device_id, GpsTransition.ts, GpsTransition.event,
                GpsTransition.region)
         .where(GpsTransition.ts >= start - GEOFENCE_TOLERANCE, GpsTransition.ts < end + GEOFENCE_TOLERANCE)
         .order_by(GpsTransition.device_id, GpsTransition.ts))
    if agent_id is not None:
        q = q.where(GpsTransition.agent_id == agent_id)
    out: dict[tuple[int, str], list[RegionEvent]] = {}
    for agent, device, ts, event, region in db.execute(q):
        out.setdefault((agent, device), []).append(RegionEvent(ts, event, region))
    return out


def _timing(case: StopCase, events: list[RegionEvent]) -> VisitTiming:
    """The case's times, from its agreeing geofence events where they may refine them: only at the ends
    that are the stop's own (``StopCase.opens`` / ``closes``)."""
    usable = [e for e in events if (case.opens if e.event == "enter" else case.closes)]
    return geofence_timing(case.arrival, case.departure, geofence_name(case.match.case.case_id), usable)


def _bng(location):
    t = func.ST_Transform(location, 27700)
    return cast(func.ST_X(t), Float), cast(func.ST_Y(t), Float)


def case_addresses(db: Session, day: date, agent_id: int) -> list[CaseAddress]:
    """The addresses a stop of the agent on ``day`` may be evidence for (module docstring)."""
    run_id = db.scalar(select(func.max(PlanRoute.run_id)).join(PlanRun, PlanRun.id == PlanRoute.run_id)
                       .where(PlanRun.day == day, PlanRoute.agent_id == agent_id))
    x, y = _bng(Address.location)
    line = func.concat_ws(", ", Address.line1, Address.line2, Address.town)
    found: dict[int, CaseAddress] = {}
    if run_id is not None:
        planned = (select(Case.id, line, Address.postcode, x, y, PlanVisit.seq).select_from(PlanVisit)
                   .join(Case, Case.id == PlanVisit.case_id).join(Address, Address.id == Case.address_id)
                   .where(PlanVisit.run_id == run_id, PlanVisit.agent_id == agent_id))
        for cid, ln, pc, cx, cy, seq in db.execute(planned):
            found[cid] = CaseAddress(cid, ln, pc, cx, cy, planned=True, seq=seq)
    firm = select(Agent.subcontractor_id).where(Agent.id == agent_id).scalar_subquery()
    others = (select(Case.id, line, Address.postcode, x, y).join(Address, Address.id == Case.address_id)
              .where(Case.status == CaseStatus.open, Case.is_leading, Case.assigned_subcontractor_id == firm))
    for cid, ln, pc, cx, cy in db.execute(others):
        found.setdefault(cid, CaseAddress(cid, ln, pc, cx, cy, planned=False))
    return list(found.values())


def _nearest_postcode(db: Session, stop: Stop) -> str | None:
    try:
        return geodata.nearest_postcode(db, stop.lon, stop.lat).postcode
    except geodata.NoPostcodeNearby:
        return None


def day_stops(db: Session, day: date, agent_id: int | None = None, *,
              radius_m: float = DEFAULT_EVIDENCE_RADIUS_M,
              progress: Callable[[Iterable[tuple[tuple[int, str], list[Fix]]]],
                                 Iterable[tuple[tuple[int, str], list[Fix]]]] = iter,
              fixes: dict[tuple[int, str], list[Fix]] | None = None) -> list[DayStop]:
    """Every stop of ``day``'s phones (of ``agent_id`` only, if given), matched and timed; ordered by
    agent, device and arrival. A stop at a point several planned cases share is one ``DayStop`` per
    case it is evidence for (``tracking.shared_door``). ``progress`` wraps the per-device loop (a
    progress bar); ``fixes`` are the day's fixes when already read (``read_day_fixes``)."""
    if fixes is None:
        fixes = read_day_fixes(db, day, agent_id)
    events = read_day_transitions(db, day, agent_id)
    addresses: dict[int, list[CaseAddress]] = {}
    out: list[DayStop] = []
    for (agent, device), track in progress(sorted(fixes.items())):
        if agent not in addresses:
            addresses[agent] = case_addresses(db, day, agent)
        stops = detect_stops(track)
        centres = [(stop, *(float(v) for v in geodata.to_bng(stop.lon, stop.lat))) for stop in stops]
        phone_events = events.get((agent, device), [])
        for stop, cases in zip(stops, match_stops(centres, addresses[agent], radius_m)):
            postcode = _nearest_postcode(db, stop)
            if not cases:
                out.append(DayStop(agent, device, stop, postcode, None,
                                   VisitTiming(stop.arrival, stop.departure, "fixes")))
            for case in cases:
                out.append(DayStop(agent, device, stop, postcode, case.match, _timing(case, phone_events),
                                   part=not (case.opens and case.closes), shared=case.shared))
    return _with_gap_visits(db, out, fixes, addresses, events)


# --- Planned visits a distance-reporting phone fell silent through (tracking.gap_visits) ---

def _by_proximity(s: DayStop, speeds: dict[tuple[str, datetime], float | None]) -> bool:
    """Whether a matched stop's case rests on the proximity of a fix alone (``tracking.gap_visits``): it
    is one of the firm's other open cases, or the stop is one fix the phone sent while driving."""
    if not s.match.case.planned:
        return True
    if s.stop.fix_count != 1:
        return False
    speed = speeds.get((s.device_id, s.stop.first_fix_ts))
    return speed is not None and speed >= ON_FOOT_MPS


def _with_gap_visits(db: Session, stops: list[DayStop], fixes: dict[tuple[int, str], list[Fix]],
                     addresses: dict[int, list[CaseAddress]],
                     events: dict[tuple[int, str], list[RegionEvent]]) -> list[DayStop]:
    """``stops`` with each agent's planned visits found in its phones' silent gaps added as matched
    stops (``gap_visits``), each replacing the unmatched stops the detector placed at the gap's own
    fixes, and the stops matched by the proximity of a fix alone (``_by_proximity``) that claimed the
    gap or are of the same case (``tracking.gap_visits``); ordered as ``day_stops``."""
    speeds = {(device, f.ts): f.speed_mps for (_, device), track in fixes.items() for f in track}
    out = list(stops)
    for agent in sorted({a for a, _ in fixes}):
        mine = [s for s in stops if s.agent_id == agent and s.match is not None and not _by_proximity(s, speeds)]
        spans = [(s.stop.first_fix_ts, s.stop.last_fix_ts) for s in mine]
        evidenced: dict[int, tuple[datetime, datetime]] = {}
        for s, (first, last) in zip(mine, spans):
            a, d = evidenced.get(s.match.case.case_id, (first, last))
            evidenced[s.match.case.case_id] = (min(a, first), max(d, last))
        route = sorted((c for c in addresses.get(agent, []) if c.planned),
                       key=lambda c: (c.seq is None, c.seq or 0, c.case_id))
        gaps = [g for (a, device), track in sorted(fixes.items()) if a == agent
                for g in silent_gaps(track, device)]
        for v in gap_visits(gaps, route, evidenced, spans):
            g = v.gap
            accuracies = [f.accuracy_m for f in (g.before, g.after) if f.accuracy_m is not None]
            stop = Stop(v.arrival, v.departure, v.nearest.lat, v.nearest.lon, 2,
                        statistics.median(accuracies) if accuracies else None, True, True,
                        g.before.ts, g.after.ts)
            case = StopCase(Match(v.case, v.distance_m), v.arrival, v.departure)
            out = [s for s in out if not (
                (s.match is None and s.device_id == g.device_id
                 and g.before.ts <= s.stop.first_fix_ts and s.stop.last_fix_ts <= g.after.ts)
                or (s.match is not None and s.agent_id == agent and _by_proximity(s, speeds)
                    and ((s.device_id == g.device_id and claims((s.stop.first_fix_ts, s.stop.last_fix_ts), g))
                         or s.match.case.case_id == v.case.case_id)))]
            out.append(DayStop(agent, g.device_id, stop, _nearest_postcode(db, stop), case.match,
                               _timing(case, events.get((agent, g.device_id), []))))
    return sorted(out, key=lambda s: (s.agent_id, s.device_id, s.arrival))


@dataclass(frozen=True)
class DayEvidence:
    evidence: int
    unmatched: int
    visits_verified: int  # visit records of the day whose reported times the GPS confirms
    tracked_agents: int  # agents whose tracked working time of the day was written (tracked_day)


def attach_to_visits(db: Session, day: date, agents: Iterable[int], stops: list[DayStop]) -> int:
    """Give each visit record of ``day`` by ``agents`` the GPS arrival and departure of the agent's
    matched stop at the same case (a linked warrant's visit: at its leading case, which the stop is
    matched to), the stop nearest in arrival when there are several, and ``gps_verified``
    [R-VISIT-EVIDENCE]. A visit with no such stop has its GPS times cleared, so a re-run after a
    correction leaves nothing stale. Returns the number of visits verified."""
    start, end = day_bounds(day)
    matched: dict[tuple[int, int], list[VisitTiming]] = {}
    for s in stops:
        if s.match is not None:
            matched.setdefault((s.agent_id, s.match.case.case_id), []).append(s.timing)
    leader = aliased(Case)
    visits = db.execute(
        select(Visit, func.coalesce(leader.id, Case.id)).join(Case, Case.id == Visit.case_id)
        .outerjoin(leader, and_(leader.linked_group == Case.linked_group, leader.is_leading))
        .where(Visit.agent_id.in_(sorted(set(agents))), Visit.arrived_at >= start, Visit.arrived_at < end))
    verified = 0
    for visit, case_id in visits:
        candidates = matched.get((visit.agent_id, case_id), [])
        if not candidates:
            visit.gps_arrived_at = visit.gps_departed_at = None
            visit.gps_verified = False
            continue
        gps = min(candidates, key=lambda t: abs(t.arrival - visit.arrived_at))
        visit.gps_arrived_at, visit.gps_departed_at = gps.arrival, gps.departure
        visit.gps_verified = gps_verified(visit.arrived_at, visit.departed_at, gps.arrival, gps.departure)
        verified += visit.gps_verified
    return verified


def _upsert(db: Session, table, constraint: str, rows: list[dict], other) -> None:
    """``rows`` into ``table`` (updated on ``constraint``: device and arrival, and the case for
    evidence), and the same stops (device and arrival) out of ``other``."""
    if not rows:
        return
    ins = insert(table).values(rows)
    db.execute(ins.on_conflict_do_update(constraint=constraint, set_={k: ins.excluded[k] for k in rows[0]}))
    keys = [(r["device_id"], r["arrival"]) for r in rows]
    db.execute(delete(other).where(tuple_(other.device_id, other.arrival).in_(keys)))


def _drop_stale(db: Session, day: date, phones: Iterable[tuple[int, str]], tables_keys) -> None:
    """Remove the day's rows of ``phones`` that are no longer a stop of theirs: a stop whose arrival
    moved (a geofence event or late fixes arriving after the day was first recorded), or evidence now
    for another case (a re-plan), would otherwise leave its old row beside the new one. ``tables_keys``:
    (table, its key columns, the keys of the rows just written)."""
    phones = sorted(set(phones))
    if not phones:
        return
    start, end = day_bounds(day)
    for table, columns, keys in tables_keys:
        cols = [getattr(table, c) for c in columns]
        db.execute(delete(table).where(tuple_(table.agent_id, table.device_id).in_(phones),
                                       table.arrival >= start, table.arrival < end,
                                       tuple_(*cols).not_in(keys)))


def _fixes_of(s: DayStop, track: Sequence[Fix]) -> tuple[int, float | None]:
    """The fix count and median accuracy of a stop's evidence: the stop's, or for a part of it (one of
    several visits at one point) those of the fixes within the part."""
    if not s.part:
        return s.stop.fix_count, s.stop.median_accuracy_m
    times = [f.ts for f in track]
    inside = track[bisect.bisect_left(times, s.arrival):bisect.bisect_right(times, s.departure)]
    accuracies = [f.accuracy_m for f in inside if f.accuracy_m is not None]
    return len(inside), statistics.median(accuracies) if accuracies else None


def record_day_evidence(db: Session, day: date, agent_id: int | None = None, *,
                        radius_m: float = DEFAULT_EVIDENCE_RADIUS_M,
                        progress=iter) -> DayEvidence:
    """Detect and match ``day``'s stops and store them: a matched stop as ``visit_evidence``, the rest
    as ``unmatched_stop``. Evidence is upserted on (device_id, arrival, case_id) (several cases at one
    address point may share a stop's span, ``tracking.shared_door``), unmatched stops on (device_id,
    arrival); a stop's row in the other table is removed, and so are the day's rows of the phones read
    that are no longer a stop (or no longer evidence for that case), so re-running a day (after more
    late fixes or geofence events, or a re-plan) leaves one row per stop and case. A matched stop's
    times are its ``DayStop.timing``, ``source`` saying whether geofence events gave them. The agents'
    visit records of the day get the GPS times (``attach_to_visits``), and the agents' tracked working
    time of the day is written (``tracking.tracked.record_tracked_days``). Does not commit."""
    fixes = read_day_fixes(db, day, agent_id)
    stops = day_stops(db, day, agent_id, radius_m=radius_m, progress=progress, fixes=fixes)
    evidence = [{"case_id": s.match.case.case_id, "agent_id": s.agent_id, "device_id": s.device_id,
                 "arrival": s.arrival, "departure": s.departure, "dwell_s": round(s.timing.dwell_s),
                 "address_line": s.match.case.address_line, "postcode": s.match.case.postcode,
                 "distance_m": s.match.distance_m,
                 **dict(zip(("fix_count", "median_accuracy_m"), _fixes_of(s, fixes[(s.agent_id, s.device_id)]))),
                 "source": s.source,
                 "trail": trail_excerpt(fixes[(s.agent_id, s.device_id)], s.arrival, s.departure)}
                for s in stops if s.match is not None]
    unmatched = [{"agent_id": s.agent_id, "device_id": s.device_id, "arrival": s.arrival,
                  "departure": s.departure, "nearest_postcode": s.postcode,
                  "location": WKTElement(f"POINT({s.stop.lon} {s.stop.lat})", srid=4326)}
                 for s in stops if s.match is None]
    # One statement per table, not one per stop: a stop's row in the other table goes, its own is upserted.
    _upsert(db, VisitEvidence, "uq_visit_evidence_device_arrival_case", evidence, UnmatchedStop)
    _upsert(db, UnmatchedStop, "uq_unmatched_stop_device_arrival", unmatched, VisitEvidence)
    evidence_key = ("device_id", "arrival", "case_id")
    _drop_stale(db, day, fixes, [
        (VisitEvidence, evidence_key, [tuple(r[k] for k in evidence_key) for r in evidence]),
        (UnmatchedStop, ("device_id", "arrival"), [(r["device_id"], r["arrival"]) for r in unmatched])])
    # Only agents whose fixes are still there: a day whose pings were pruned keeps the GPS times its
    # visits were given while they were there.
    agents = [agent for agent, _ in fixes]
    verified = attach_to_visits(db, day, agents, stops)
    return DayEvidence(len(evidence), len(unmatched), verified, record_tracked_days(db, day, agent_id))
