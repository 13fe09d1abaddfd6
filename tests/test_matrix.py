"""Travel matrices: BNG distance × circuity at area speeds, planar (Solomon), and OSRM's table API
against a real local HTTP server serving canned OSRM answers."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from dispatch.matrix import (AREA_SPEED_MPS, CIRCUITY_FACTOR, BngMatrixProvider, OsrmMatrixProvider,
                             PlanarMatrixProvider, area_type_of_lad)
from dispatch.model import Point

PLYMOUTH = Point(-4.1427, 50.3755)  # city centre
EXETER = Point(-3.5339, 50.7184)


def test_bng_plymouth_exeter_is_straight_line_times_circuity():
    m = BngMatrixProvider().matrix([PLYMOUTH, EXETER])
    straight_km = m.distance_m[0, 1] / CIRCUITY_FACTOR / 1000
    # Plymouth–Exeter is about 58 km as the crow flies (BNG easting/northing difference ≈ 43 km × 39 km).
    assert 55 < straight_km < 61
    assert m.distance_m[0, 1] == m.distance_m[1, 0]
    assert m.distance_m[0, 0] == 0 and m.duration_s[1, 1] == 0
    # No area given: both ends urban, the slower and safer speed.
    assert m.duration_s[0, 1] == pytest.approx(m.distance_m[0, 1] / AREA_SPEED_MPS["urban"], abs=1)


def test_bng_speed_follows_area_type():
    areas = {PLYMOUTH: "urban", EXETER: "rural"}
    mixed = BngMatrixProvider(area_of=areas).matrix([PLYMOUTH, EXETER])
    rural = BngMatrixProvider(area_of=lambda p: "rural").matrix([PLYMOUTH, EXETER])
    urban = BngMatrixProvider().matrix([PLYMOUTH, EXETER])
    assert rural.duration_s[0, 1] < mixed.duration_s[0, 1] < urban.duration_s[0, 1]
    mean_speed = (AREA_SPEED_MPS["urban"] + AREA_SPEED_MPS["rural"]) / 2
    assert mixed.duration_s[0, 1] == pytest.approx(mixed.distance_m[0, 1] / mean_speed, abs=1)


def test_area_type_of_lad():
    assert area_type_of_lad("E09000033") == "urban"   # Westminster (London borough)
    assert area_type_of_lad("E08000035") == "urban"   # Leeds (metropolitan district)
    assert area_type_of_lad("E06000026") == "urban"   # Plymouth (unitary city)
    assert area_type_of_lad("E07000045") == "rural"   # Teignbridge
    assert area_type_of_lad("E06000052") == "rural"   # Cornwall
    assert area_type_of_lad(None) == "urban"


def test_planar_rounds_up_and_time_equals_distance():
    m = PlanarMatrixProvider(unit_m=1000, speed_mps=1).matrix([Point(0, 0), Point(3, 4), Point(1, 1)])
    assert m.distance_m[0, 1] == 5000 and m.duration_s[0, 1] == 5000
    assert m.distance_m[0, 2] == 1415  # √2 × 1000 = 1414.2…, rounded up
    assert np.array_equal(m.distance_m, m.distance_m.T)


class _OsrmHandler(BaseHTTPRequestHandler):
    """Answers /table/v1/driving/… like OSRM: duration = 100 × |i − j| seconds, distance = 1000 ×
    |i − j| metres where i, j are the points' longitudes; no route to or from longitude 99."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)  # not urlparse: it cuts ';…' off the path
        type(self).requests.append(self.path)
        if not url.path.startswith("/table/v1/driving/"):
            self.send_error(404)
            return
        coords = url.path.removeprefix("/table/v1/driving/").split(";")
        lons = [float(c.split(",")[0]) for c in coords]
        q = parse_qs(url.query)
        assert q["annotations"] == ["duration,distance"]
        src = [int(i) for i in q["sources"][0].split(";")]
        dst = [int(i) for i in q["destinations"][0].split(";")]

        def cell(i: int, j: int, scale: float) -> float | None:
            if 99 in (lons[i], lons[j]) and lons[i] != lons[j]:
                return None
            return scale * abs(lons[i] - lons[j]) + 0.4

        body = {"code": "Ok", "durations": [[cell(i, j, 100) for j in dst] for i in src],
                "distances": [[cell(i, j, 1000) for j in dst] for i in src]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def osrm_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsrmHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _OsrmHandler.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_table_chunked(osrm_server: str):
    points = [Point(float(i), 50.0) for i in range(5)] + [Point(99.0, 50.0)]
    m = OsrmMatrixProvider(osrm_server, chunk=2, unreachable_s=777_777, unreachable_m=888_888).matrix(points)
    # 6 points in blocks of 2 × 2: nine requests.
    assert len(_OsrmHandler.requests) == 9
    assert m.duration_s[0, 4] == 401 and m.distance_m[4, 0] == 4001  # 400.4 s, 4000.4 m rounded up
    assert m.duration_s[3, 1] == 201
    assert m.duration_s[0, 5] == 777_777 and m.distance_m[5, 2] == 888_888
    assert m.duration_s[5, 5] == 0 and np.all(np.diag(m.distance_m) == 0)


def test_osrm_http_error_is_raised(osrm_server: str):
    with pytest.raises(httpx.HTTPStatusError):
        OsrmMatrixProvider(osrm_server + "/nope").matrix([PLYMOUTH, EXETER])
