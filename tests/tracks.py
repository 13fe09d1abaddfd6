"""Synthetic GPS tracks in real British coordinates (Plymouth) for the stop-detector tests.

A route is a list of legs: drive to a point at a speed, or dwell. The true position is known every
second; a phone mode samples it the way real apps do (Android every ~10 s; iOS after 100 m or 5 min;
"significant change" after ~500 m or 5 min), then GPS noise and chosen outliers are added. The truth
keeps each dwell's real arrival and departure at the door.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

import geodata
from tracking import Fix

# Royal Parade, Plymouth city centre.
ORIGIN_LON, ORIGIN_LAT = -4.1427, 50.3713
ORIGIN_X, ORIGIN_Y = geodata.to_bng(ORIGIN_LON, ORIGIN_LAT)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Drive:
    dx: float  # metres east of the origin
    dy: float  # metres north of the origin
    speed_mps: float = 12.0


@dataclass(frozen=True)
class Dwell:
    seconds: int
    door: bool = True  # False: a halt that is not a visit (traffic light)


@dataclass(frozen=True)
class TrueStop:
    arrival: datetime
    departure: datetime
    x: float
    y: float


@dataclass
class Track:
    fixes: list[Fix]
    stops: list[TrueStop]
    halts: list[TrueStop] = field(default_factory=list)


def _true_path(legs: list[Drive | Dwell]) -> tuple[np.ndarray, list[tuple[int, int, float, float, bool]]]:
    """Positions at each whole second (metres, relative to the origin) and the dwells as
    (start_s, end_s, x, y, door)."""
    x = y = 0.0
    pos: list[tuple[float, float]] = [(x, y)]
    dwells = []
    for leg in legs:
        if isinstance(leg, Drive):
            dist = math.hypot(leg.dx - x, leg.dy - y)
            steps = max(1, round(dist / leg.speed_mps))
            for k in range(1, steps + 1):
                pos.append((x + (leg.dx - x) * k / steps, y + (leg.dy - y) * k / steps))
            x, y = leg.dx, leg.dy
        else:
            start = len(pos) - 1
            pos.extend([(x, y)] * leg.seconds)
            dwells.append((start, len(pos) - 1, x, y, leg.door))
    return np.array(pos), dwells


def _sample(path: np.ndarray, mode: str, start_offset_s: int) -> list[int]:
    if mode == "android":
        return list(range(start_offset_s, len(path), 10))
    min_move, max_wait = {"ios": (100.0, 300), "significant": (500.0, 300)}[mode]
    idx = [0]
    for i in range(1, len(path)):
        last = idx[-1]
        if math.dist(path[i], path[last]) >= min_move or i - last >= max_wait:
            idx.append(i)
    return idx


def make_track(
    legs: list[Drive | Dwell],
    mode: str = "android",
    noise_m: float = 8.0,
    outliers: dict[int, tuple[float, float]] | None = None,
    seed: int = 1,
    start_offset_s: int = 0,
    report_speed: bool = True,
) -> Track:
    """``outliers`` maps a second of the true timeline to a displacement (metres) of the fix the
    phone reports nearest after it."""
    path, dwells = _true_path(legs)
    rng = np.random.default_rng(seed)
    idx = _sample(path, mode, start_offset_s)
    xy = path[idx] + rng.normal(0.0, noise_m, size=(len(idx), 2))
    for second, (ox, oy) in (outliers or {}).items():
        j = next(k for k, i in enumerate(idx) if i >= second)
        xy[j] += (ox, oy)
    lons, lats = geodata.to_wgs84(xy[:, 0] + ORIGIN_X, xy[:, 1] + ORIGIN_Y)
    # Phones report Doppler speed, far better than position noise: the true speed over the last second.
    speeds = [0.0 if i == 0 else round(math.dist(path[i], path[i - 1]), 1) for i in idx]
    fixes = [Fix(ts=T0 + timedelta(seconds=int(i)), lat=float(la), lon=float(lo),
                 accuracy_m=round(max(noise_m, 3.0) * 1.5, 1), speed_mps=v if report_speed else None)
             for i, lo, la, v in zip(idx, lons, lats, speeds)]
    truth = [TrueStop(T0 + timedelta(seconds=s), T0 + timedelta(seconds=e), x + ORIGIN_X, y + ORIGIN_Y)
             for s, e, x, y, door in dwells if door]
    halts = [TrueStop(T0 + timedelta(seconds=s), T0 + timedelta(seconds=e), x + ORIGIN_X, y + ORIGIN_Y)
             for s, e, x, y, door in dwells if not door]
    return Track(fixes, truth, halts)
