"""Where a simulated agent really is, second by second, over the day of its plan (pure).

The agent leaves the start point, drives to each planned visit in order along a road-like path (a
staircase on a street grid turned at a random angle, its corners jittered, at 15-55 km/h per street),
halts at some junctions (under a minute), parks 10-40 m from the door, walks there, dwells 45 s to
15 min, walks back and drives on (a door of another client, ``StopKind.outside``, the same way);
mid-morning it may stop for fuel and around midday for lunch, at places well away from any case
address; at the end it drives to its end point.

The movement is a piecewise-linear trajectory of keyframes (time, x, y) in BNG metres; the phone
samples it (``sim.agent_phone``). The truth is every stop as the agent made it: door arrival and
departure for visits, and the decoys and junction halts too.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from sim.agent_day import AgentPlan, StopKind, Trajectory, TrueStop

DRIVE_KMH = (15.0, 55.0)
WALK_MPS = (1.1, 1.5)
DWELL_S = (45.0, 900.0)
PARK_OFFSET_M = (10.0, 40.0)
JUNCTION_S = (5.0, 45.0)
JUNCTION_CLEAR_M = 150.0  # a junction halt is at least this far (along the road) from either end of a leg
JUNCTION_P = 0.3          # chance of a halt at each corner far enough from the leg's ends
BLOCK_M = 250.0           # typical street-block length of the staircase
DECOY_CLEAR_M = 250.0     # a decoy stop is at least this far from every case address
WAIT_AWAY_S = 1200.0      # an agent this early for a window waits away from the door, not parked at it
FUEL_S = (240.0, 480.0)
LUNCH_S = (1200.0, 2400.0)


class RouteBuilder:
    def __init__(self, t0: datetime, x: float, y: float, rng: np.random.Generator) -> None:
        self.traj = Trajectory(t0, [0.0], [x], [y])
        self.rng = rng
        self.truth: list[TrueStop] = []

    @property
    def now(self) -> float:
        return self.traj.t[-1]

    @property
    def here(self) -> tuple[float, float]:
        return self.traj.x[-1], self.traj.y[-1]

    def when(self, seconds: float) -> datetime:
        return self.traj.t0 + timedelta(seconds=seconds)

    def _key(self, t: float, x: float, y: float) -> None:
        self.traj.t.append(t)
        self.traj.x.append(x)
        self.traj.y.append(y)

    def hold(self, seconds: float) -> None:
        x, y = self.here
        self._key(self.now + seconds, x, y)

    def go(self, x: float, y: float, speed_mps: float) -> None:
        x0, y0 = self.here
        d = math.hypot(x - x0, y - y0)
        if d > 0:
            self._key(self.now + d / speed_mps, x, y)

    def stop(self, kind: StopKind, case_id: int | None, seconds: float) -> None:
        x, y = self.here
        start = self.now
        self.hold(seconds)
        self.truth.append(TrueStop(kind, case_id, self.when(start), self.when(self.now), x, y))

    def drive(self, x: float, y: float) -> None:
        """Drive to (x, y) along a road-like path, halting at some junctions."""
        path = road_path(self.here, (x, y), self.rng)
        along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(path[:, 0]), np.diff(path[:, 1])))])
        total = along[-1]
        lo, hi = (v / 3.6 for v in DRIVE_KMH)
        for i in range(1, len(path)):
            self.go(path[i, 0], path[i, 1], self.rng.uniform(lo, hi))
            corner = i < len(path) - 1 and JUNCTION_CLEAR_M <= along[i] <= total - JUNCTION_CLEAR_M
            if corner and self.rng.random() < JUNCTION_P:
                self.stop(StopKind.junction, None, self.rng.uniform(*JUNCTION_S))

    def on_foot_stop(self, kind: StopKind, case_id: int | None, door: tuple[float, float], dwell_s: float,
                     not_before: datetime | None = None) -> None:
        """Park near ``door``, walk to it (not arriving before ``not_before``: waiting in the car),
        stand there ``dwell_s``, walk back to the car."""
        angle = self.rng.uniform(0, 2 * math.pi)
        offset = self.rng.uniform(*PARK_OFFSET_M)
        park = (door[0] + offset * math.cos(angle), door[1] + offset * math.sin(angle))
        self.drive(*park)
        walk = self.rng.uniform(*WALK_MPS)
        self.hold(self.rng.uniform(3, 10))  # engine off, out of the car
        if not_before is not None:
            early = (not_before - self.when(self.now)).total_seconds() - offset / walk
            if early > 0:
                self.hold(early + 1)
        self.go(*door, walk)
        self.stop(kind, case_id, dwell_s)
        self.go(*park, walk)
        self.hold(self.rng.uniform(3, 10))


def road_path(a: tuple[float, float], b: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A road-like polyline from a to b: alternating runs along the two axes of a street grid turned at
    a random angle, with corners jittered a few metres (an agent never drives the straight line)."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    theta = rng.uniform(0, math.pi / 2)
    c, s = math.cos(theta), math.sin(theta)
    du, dv = c * dx + s * dy, -s * dx + c * dy  # the displacement in grid coordinates
    blocks = int(np.clip((abs(du) + abs(dv)) / BLOCK_M, 1, 24))
    nu = max(1, (blocks + 1) // 2)
    nv = max(1, blocks // 2)
    us = rng.dirichlet(np.ones(nu)) * du
    vs = rng.dirichlet(np.ones(nv)) * dv
    steps = []
    for k in range(max(nu, nv)):
        if k < nu:
            steps.append((us[k], 0.0))
        if k < nv:
            steps.append((0.0, vs[k]))
    pts = [(0.0, 0.0)]
    for su, sv in steps:
        pts.append((pts[-1][0] + su, pts[-1][1] + sv))
    grid = np.array(pts)
    grid[1:-1] += rng.normal(0.0, 6.0, size=(len(grid) - 2, 2))
    xy = np.column_stack([ax + c * grid[:, 0] - s * grid[:, 1], ay + s * grid[:, 0] + c * grid[:, 1]])
    xy[-1] = (bx, by)
    keep = np.concatenate([[True], np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1])) > 0.5])
    keep[-1] = True
    return xy[keep]


def decoy_place(here: tuple[float, float], avoid: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """A place 400-1,500 m from ``here`` at least DECOY_CLEAR_M from every point of ``avoid`` (or, in a
    dense street, the clearest of the places tried)."""
    best, best_clear = here, -1.0
    for _ in range(60):
        r, angle = rng.uniform(400, 1500), rng.uniform(0, 2 * math.pi)
        p = (here[0] + r * math.cos(angle), here[1] + r * math.sin(angle))
        clear = float(np.min(np.hypot(avoid[:, 0] - p[0], avoid[:, 1] - p[1]))) if len(avoid) else math.inf
        if clear >= DECOY_CLEAR_M:
            return p
        if clear > best_clear:
            best, best_clear = p, clear
    return best


def _drive_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    """About how long the drive from a to b takes: a staircase path is about 1.3 times the straight
    line, driven at about 9 m/s on average."""
    return math.hypot(b[0] - a[0], b[1] - a[1]) * 1.3 / 9.0


def move_day(plan: AgentPlan, rng: np.random.Generator) -> tuple[Trajectory, list[TrueStop]]:
    """The agent's true trajectory over the plan's day, and every stop it made."""
    doors = [(v.x, v.y) for v in plan.visits]
    avoid = np.array(list(plan.avoid) + doors, dtype=float).reshape(-1, 2)
    # Leave the start point in time to reach the first visit near its planned time.
    first = plan.visits[0].eta if plan.visits else plan.shift_start
    lead = _drive_s(plan.start, doors[0]) if doors else 0.0
    t0 = max(plan.shift_start, first - timedelta(seconds=lead + 120))
    t0 = t0.replace(microsecond=0)
    b = RouteBuilder(t0, *plan.start, rng)
    # The phone reports from the moment the agent sets off until it is back: agents' bases are at
    # case postcodes, and a phone left on at home would look like a visit there.
    b.hold(rng.uniform(0, 20))
    n = len(plan.visits)
    # After which visit (by index; -1: before the first) the agent stops for fuel and for lunch. An
    # agent with nothing planned still drives: fuel, then lunch.
    fuel_after = n // 3 if n >= 3 and rng.random() < 0.7 else -1 if n == 0 else None
    lunch_after = n // 2 if n >= 2 and rng.random() < 0.9 else -1 if n == 0 else None

    def decoys(after: int) -> None:
        if after == fuel_after:
            b.drive(*decoy_place(b.here, avoid, rng))
            b.stop(StopKind.fuel, None, rng.uniform(*FUEL_S))
        if after == lunch_after:
            b.on_foot_stop(StopKind.lunch, None, decoy_place(b.here, avoid, rng), rng.uniform(*LUNCH_S))

    def wait_away(visit) -> None:
        # Hours early (the next window opens in the evening), an agent does not sit in the car at the
        # door: it waits somewhere clear of every case address and comes back for the window.
        if visit.not_before is None:
            return
        door = (visit.x, visit.y)
        if (visit.not_before - b.when(b.now)).total_seconds() - _drive_s(b.here, door) <= WAIT_AWAY_S:
            return
        b.drive(*decoy_place(b.here, avoid, rng))
        hold = (visit.not_before - b.when(b.now)).total_seconds() - _drive_s(b.here, door) - 120
        if hold > 0:
            b.stop(StopKind.wait, None, hold)

    decoys(-1)
    for i, visit in enumerate(plan.visits):
        wait_away(visit)
        dwell = float(np.exp(rng.uniform(math.log(DWELL_S[0]), math.log(DWELL_S[1]))))
        kind = StopKind.visit if visit.case_id is not None else StopKind.outside
        b.on_foot_stop(kind, visit.case_id, (visit.x, visit.y), dwell, visit.not_before)
        decoys(i)
    b.drive(*plan.end)
    b.hold(rng.uniform(0, 20))
    return b.traj, b.truth
