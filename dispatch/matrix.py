"""Travel matrices for the planner: metres and seconds between every pair of points.

The solver asks a ``MatrixProvider`` for one ``TravelMatrix`` over the points of a planning problem
(tasks first, then the agents' start/end points, see ``dispatch.solver.model_points``). Three
providers:

- ``BngMatrixProvider`` (default, no services needed): straight-line distance on the British National
  Grid (EPSG:27700, metres, as ARCHITECTURE.md requires for metric work) times a road circuity factor,
  at a speed set by the area type (urban/rural) of both ends.
- ``OsrmMatrixProvider``: the OSRM table API, for users who run OSRM; chunked for large N.
- ``PlanarMatrixProvider``: plain planar coordinates (benchmarks such as Solomon, where travel time
  equals Euclidean distance). It reads ``Point.lon``/``Point.lat`` as x/y and is never geography.

Every provider rounds *up* to whole metres and seconds: an integer plan that is on time is then on time
in real numbers too.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
import numpy as np
from numpy.typing import NDArray

from dispatch.model import Point
from geodata import to_bng

__all__ = [
    "AREA_SPEED_MPS", "CIRCUITY_FACTOR", "URBAN_LAD_CODES", "AreaType", "BngMatrixProvider", "MatrixProvider",
    "OsrmMatrixProvider", "PlanarMatrixProvider", "TravelMatrix", "area_type_of_lad",
]

AreaType = Literal["urban", "rural"]

# Road distance ÷ straight-line distance. Published national circuity factors for road travel sit
# between about 1.2 and 1.4 (Ballou, Rahardja & Sakai 2002, "Selected country circuity factors for road
# travel distance estimation", Transportation Research A 36(9)); 1.3 is the middle of that range and the
# usual UK rule of thumb. Where a better figure matters, run OSRM and use ``OsrmMatrixProvider``.
CIRCUITY_FACTOR = 1.3

# Door-to-door speeds over the *road* distance, including junctions, parking and finding the door.
# DfT congestion statistics (table CGN0501/CGN0502) give about 25 mph (40 km/h) on local 'A' roads in
# England and well under 20 mph in city centres at peak; residential streets are slower than 'A' roads,
# so urban 25 km/h and rural 50 km/h. Too slow is the safe error: a late plan breaks visit windows.
AREA_SPEED_MPS: Mapping[AreaType, float] = {"urban": 25 / 3.6, "rural": 50 / 3.6}

# Local authorities whose population is predominantly urban: ONS LAD code prefixes E09 (London
# boroughs) and E08 (metropolitan districts) are urban by construction; the unitary cities below are the
# Rural-Urban Classification "urban with city and town / major conurbation" unitaries the platform works
# in most (Plymouth, Bristol, Leicester, Nottingham, Southampton, Portsmouth, Derby, Stoke, Hull, Reading,
# Milton Keynes, Brighton & Hove; Cardiff, Swansea, Newport; Glasgow, Edinburgh, Dundee, Aberdeen;
# Belfast). Everything else is treated as rural, i.e. faster: extend this set before relying on it.
URBAN_LAD_PREFIXES = ("E08", "E09")
URBAN_LAD_CODES = frozenset({
    "E06000026", "E06000023", "E06000016", "E06000018", "E06000045", "E06000044", "E06000015", "E06000021",
    "E06000010", "E06000038", "E06000042", "E06000043",
    "W06000015", "W06000011", "W06000022",
    "S12000049", "S12000036", "S12000042", "S12000033",
    "N09000003",
})


def area_type_of_lad(lad_code: str | None) -> AreaType:
    """Urban or rural for a local authority (ONS LAD code); unknown (``None``) counts as urban, the
    slower and so the safer guess."""
    if lad_code is None:
        return "urban"
    if lad_code.startswith(URBAN_LAD_PREFIXES) or lad_code in URBAN_LAD_CODES:
        return "urban"
    return "rural"


@dataclass(frozen=True)
class TravelMatrix:
    """``distance_m[i, j]`` metres and ``duration_s[i, j]`` seconds from point i to point j (int64)."""

    distance_m: NDArray[np.int64]
    duration_s: NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.distance_m.shape != self.duration_s.shape or self.distance_m.ndim != 2 \
                or self.distance_m.shape[0] != self.distance_m.shape[1]:
            raise ValueError("distance and duration must be square matrices of the same shape")

    @property
    def size(self) -> int:
        return int(self.distance_m.shape[0])


class MatrixProvider(Protocol):
    def matrix(self, points: Sequence[Point]) -> TravelMatrix: ...


def _ceil_int(values: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.ceil(values - 1e-9).astype(np.int64)


class BngMatrixProvider:
    """Straight-line BNG distance × ``circuity`` at the mean of both ends' area speeds.

    ``area_of`` gives a point's area type (e.g. from its LAD via ``area_type_of_lad``); without it every
    point is urban (slower, safe).
    """

    def __init__(self, area_of: Mapping[Point, AreaType] | Callable[[Point], AreaType] | None = None,
                 circuity: float = CIRCUITY_FACTOR, speeds_mps: Mapping[AreaType, float] = AREA_SPEED_MPS):
        self._area_of = area_of
        self.circuity = circuity
        self.speeds_mps = speeds_mps

    def _area(self, p: Point) -> AreaType:
        if self._area_of is None:
            return "urban"
        if callable(self._area_of):
            return self._area_of(p)
        return self._area_of.get(p, "urban")

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points))
        lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points))
        e, n = to_bng(lon, lat)
        road_m = np.hypot(e[:, None] - e[None, :], n[:, None] - n[None, :]) * self.circuity
        speed = np.fromiter((self.speeds_mps[self._area(p)] for p in points), dtype=np.float64,
                            count=len(points))
        pair_speed = (speed[:, None] + speed[None, :]) / 2
        return TravelMatrix(distance_m=_ceil_int(road_m), duration_s=_ceil_int(road_m / pair_speed))


class PlanarMatrixProvider:
    """Euclidean distance between plain (x, y) coordinates carried in ``Point.lon``/``Point.lat``, times
    ``unit_m`` metres per coordinate unit; duration = distance / ``speed_mps``. For benchmarks only
    (Solomon: time = distance, so ``speed_mps=1``); it never claims to be geography."""

    def __init__(self, unit_m: float = 1.0, speed_mps: float = 1.0):
        self.unit_m = unit_m
        self.speed_mps = speed_mps

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        xy = np.array([(p.lon, p.lat) for p in points], dtype=np.float64).reshape(-1, 2)
        d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) * self.unit_m
        return TravelMatrix(distance_m=_ceil_int(d), duration_s=_ceil_int(d / self.speed_mps))


class OsrmMatrixProvider:
    """OSRM ``/table/v1/{profile}`` with ``annotations=duration,distance``.

    OSRM caps a table request (``--max-table-size``, 100 by default), so the N×N matrix is built from
    blocks of at most ``chunk`` sources × ``chunk`` destinations. An unroutable pair (OSRM ``null``)
    gets ``unreachable_s``/``unreachable_m`` so that the solver never uses it.
    """

    def __init__(self, base_url: str, profile: str = "driving", chunk: int = 50, timeout_s: float = 60.0,
                 unreachable_s: int = 10 * 86_400, unreachable_m: int = 10_000_000,
                 client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.chunk = chunk
        self.unreachable_s = unreachable_s
        self.unreachable_m = unreachable_m
        self._client = client or httpx.Client(timeout=timeout_s)

    def _block(self, src: Sequence[Point], dst: Sequence[Point]) -> tuple[NDArray, NDArray]:
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in [*src, *dst])
        params = {
            "annotations": "duration,distance",
            "sources": ";".join(str(i) for i in range(len(src))),
            "destinations": ";".join(str(len(src) + j) for j in range(len(dst))),
        }
        r = self._client.get(f"{self.base_url}/table/v1/{self.profile}/{coords}", params=params)
        r.raise_for_status()
        body = r.json()
        if body.get("code") != "Ok":
            raise RuntimeError(f"OSRM table: {body.get('code')}: {body.get('message', '')}")
        dur = np.array([[math.nan if v is None else v for v in row] for row in body["durations"]], dtype=np.float64)
        dist = np.array([[math.nan if v is None else v for v in row] for row in body["distances"]], dtype=np.float64)
        return dur, dist

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        n = len(points)
        dur = np.zeros((n, n), dtype=np.float64)
        dist = np.zeros((n, n), dtype=np.float64)
        for i in range(0, n, self.chunk):
            for j in range(0, n, self.chunk):
                d_s, d_m = self._block(points[i:i + self.chunk], points[j:j + self.chunk])
                dur[i:i + d_s.shape[0], j:j + d_s.shape[1]] = d_s
                dist[i:i + d_m.shape[0], j:j + d_m.shape[1]] = d_m
        duration_s = np.where(np.isnan(dur), self.unreachable_s, np.ceil(np.nan_to_num(dur))).astype(np.int64)
        distance_m = np.where(np.isnan(dist), self.unreachable_m, np.ceil(np.nan_to_num(dist))).astype(np.int64)
        np.fill_diagonal(duration_s, 0)
        np.fill_diagonal(distance_m, 0)
        return TravelMatrix(distance_m=distance_m, duration_s=duration_s)
