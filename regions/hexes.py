"""A month's caseload and agent coverage per H3 hexagon, at the resolutions the capacity map switches
between as it zooms (``RESOLUTIONS``): per hexagon, the open cases and the evidenced visits of each
buyer in each ITL1 region, and the agents' GPS presence.

- Open cases: the cases open at some time during the month (``month_sql.OPEN_DURING``), at their
  address.
- Evidenced visits: ``visit_evidence`` rows (GPS stops matched to a case) arriving in the month, at
  the case's address, so that a hexagon's visits are those its own cases received.
- GPS presence: agent-hours, the distinct (agent, clock hour) pairs with at least one fix in the
  hexagon; an agent driving through three hexagons in an hour counts an hour in each. gps_ping holds
  every fix of every phone, so this is counted in SQL: the hexagons the month's fixes can fall in are
  drawn as polygons into a temporary table, and the fixes are joined to them there.

Counts are keyed by buyer id; who may see which buyer is ``capacity_view``'s business, not this one's.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import h3
from sqlalchemy import text
from sqlalchemy.orm import Session

from regions.month_sql import OPEN_DURING, month_params

__all__ = ["FINEST", "RESOLUTIONS", "HexFigures", "HexTally", "hex_figures", "presence_candidates"]

# Edge lengths about 9.9, 3.7 and 1.4 km: a region, a town, a district of a town.
RESOLUTIONS = (5, 6, 7)
FINEST = max(RESOLUTIONS)
# Fixes are snapped to this grid (degrees) to find the hexagons they may be in: a fix lies at most
# ~0.7 km from its grid point at UK latitudes, less than a res-7 edge (~1.2 km), so its hexagon is
# the grid point's or one of that one's neighbours.
_CANDIDATE_GRID_DEG = 0.01

_CASE_POINTS = f"""
SELECT ST_Y(a.location) AS lat, ST_X(a.location) AS lon, c.buyer_id, a.itl1_cd, count(*) AS n
FROM enforcement_case c JOIN address a ON a.id = c.address_id
WHERE {OPEN_DURING}
GROUP BY 1, 2, 3, 4"""

_VISIT_POINTS = """
SELECT ST_Y(a.location) AS lat, ST_X(a.location) AS lon, c.buyer_id, a.itl1_cd, count(*) AS n
FROM visit_evidence e JOIN enforcement_case c ON c.id = e.case_id JOIN address a ON a.id = c.address_id
WHERE e.arrival >= :lo AND e.arrival < :hi
GROUP BY 1, 2, 3, 4"""

_FIX_GRID = """
SELECT DISTINCT ST_Y(g) AS lat, ST_X(g) AS lon
FROM (SELECT ST_SnapToGrid(location, :grid) AS g FROM gps_ping WHERE ts >= :lo AND ts < :hi) fixes"""

_AGENT_HOURS = """
WITH seen AS (
    SELECT DISTINCT h.cell, p.agent_id, date_trunc('hour', p.ts) AS hour
    FROM gps_ping p JOIN capacity_hex h ON ST_Intersects(h.geom, p.location)
    WHERE p.ts >= :lo AND p.ts < :hi)
SELECT m.res, m.cell, count(DISTINCT (s.agent_id, s.hour)) AS agent_hours
FROM seen s JOIN capacity_hex_parent m ON m.finest = s.cell
GROUP BY m.res, m.cell"""


@dataclass
class HexTally:
    """One hexagon's month: open cases and evidenced visits per (buyer id, ITL1 code), and agent-hours."""

    cases: Counter[tuple[int, str | None]] = field(default_factory=Counter)
    visits: Counter[tuple[int, str | None]] = field(default_factory=Counter)
    agent_hours: int = 0

    def buyer_cases(self, buyer_id: int) -> int:
        return sum(n for (b, _), n in self.cases.items() if b == buyer_id)

    def buyer_visits(self, buyer_id: int) -> int:
        return sum(n for (b, _), n in self.visits.items() if b == buyer_id)


@dataclass(frozen=True)
class HexFigures:
    month: date
    buyers: dict[int, tuple[str, str]]  # id → (reference, name) of every buyer (a few hundred at most)
    cells: dict[int, dict[str, HexTally]]  # resolution → H3 cell → its tally


def presence_candidates(grid_points: Iterable[tuple[float, float]]) -> set[str]:
    """The finest-resolution cells the fixes snapped to ``grid_points`` (lat, lon) can lie in."""
    cells: set[str] = set()
    for lat, lon in grid_points:
        cells.update(h3.grid_disk(h3.latlng_to_cell(lat, lon, FINEST), 1))
    return cells


def _polygon_wkt(cell: str) -> str:
    ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return "POLYGON((" + ", ".join(f"{lon} {lat}" for lon, lat in ring) + "))"


def _agent_hours(db: Session, params: dict[str, object]) -> list[tuple[int, str, int]]:
    """(resolution, cell, agent-hours) of the month's fixes, counted in SQL (module docstring)."""
    grid = db.execute(text(_FIX_GRID), {**params, "grid": _CANDIDATE_GRID_DEG}).all()
    cells = sorted(presence_candidates(grid))
    if not cells:
        return []
    parents = [(cell, res, h3.cell_to_parent(cell, res)) for cell in cells for res in RESOLUTIONS]
    # Dropped at commit; and here first, should an earlier map in the same transaction have made them.
    db.execute(text("DROP TABLE IF EXISTS capacity_hex, capacity_hex_parent"))
    db.execute(text("CREATE TEMPORARY TABLE capacity_hex (cell text PRIMARY KEY, geom geometry(Polygon, 4326)) "
                    "ON COMMIT DROP"))
    db.execute(text("CREATE TEMPORARY TABLE capacity_hex_parent (finest text, res int, cell text) ON COMMIT DROP"))
    db.execute(text("INSERT INTO capacity_hex SELECT cell, ST_GeomFromText(wkt, 4326) "
                    "FROM unnest(CAST(:cells AS text[]), CAST(:wkts AS text[])) AS t(cell, wkt)"),
               {"cells": cells, "wkts": [_polygon_wkt(c) for c in cells]})
    db.execute(text("INSERT INTO capacity_hex_parent SELECT * FROM unnest(CAST(:finest AS text[]), "
                    "CAST(:res AS int[]), CAST(:cell AS text[]))"),
               {"finest": [p[0] for p in parents], "res": [p[1] for p in parents], "cell": [p[2] for p in parents]})
    db.execute(text("CREATE INDEX ON capacity_hex USING gist (geom)"))
    db.execute(text("CREATE INDEX ON capacity_hex_parent (finest)"))
    db.execute(text("ANALYZE capacity_hex"))
    db.execute(text("ANALYZE capacity_hex_parent"))
    return [tuple(row) for row in db.execute(text(_AGENT_HOURS), params)]


def _tally(cells: dict[int, dict[str, HexTally]], rows: Iterable, counter: str) -> None:
    for lat, lon, buyer_id, itl1_cd, n in rows:
        finest = h3.latlng_to_cell(lat, lon, FINEST)
        for res in RESOLUTIONS:
            cell = finest if res == FINEST else h3.cell_to_parent(finest, res)
            getattr(cells[res].setdefault(cell, HexTally()), counter)[buyer_id, itl1_cd] += n


def hex_figures(db: Session, month: date) -> HexFigures:
    """Every buyer's open cases and evidenced visits, and the agents' GPS presence, per hexagon at each
    of ``RESOLUTIONS`` for ``month`` (any day of it)."""
    params = month_params(month)
    cells: dict[int, dict[str, HexTally]] = {res: {} for res in RESOLUTIONS}
    _tally(cells, db.execute(text(_CASE_POINTS), params), "cases")
    _tally(cells, db.execute(text(_VISIT_POINTS), params), "visits")
    for res, cell, hours in _agent_hours(db, params):
        cells[res].setdefault(cell, HexTally()).agent_hours = hours
    buyers = {i: (ref, name) for i, ref, name in db.execute(text("SELECT id, reference, name FROM buyer"))}
    return HexFigures(month.replace(day=1), buyers, cells)
