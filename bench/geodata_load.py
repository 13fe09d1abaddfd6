"""Benchmark: loading the reference geography, and bulk point location.

Into a scratch database (``bailiwick_bench``, created with PostGIS and migrated if missing; override
with ``BAILIWICK_BENCH_DATABASE_URL``):

1. a forced full ``geodata.load_all`` (per-dataset seconds);
2. the baseline it replaces: row-by-row ``INSERT`` (psycopg ``executemany``) of a 50,000-postcode
   sample into a copy of the ``postcode`` table with its indexes, extrapolated to the full file;
3. ``geodata.locate_points`` on 200,000 random postcode centroids, against the scalar
   ``geodata.local_authority_of`` on 2,000 (extrapolated).

Run: ``.venv/bin/python bench/geodata_load.py``. The last line is ``RESULT key=value ...``.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import psycopg
from common import bench_url, ensure_database
from sqlalchemy.engine import make_url

import geodata
from core import get_settings, libpq_dsn, session_scope
from geodata import POSTCODES_FILE

BASELINE_SAMPLE = 50_000
LOCATE_POINTS = 200_000
SCALAR_POINTS = 2_000
SEED = 20261121


def baseline_insert(url: str, sample: pd.DataFrame) -> float:
    """Seconds to INSERT the sample row by row into an indexed copy of ``postcode``."""
    with psycopg.connect(libpq_dsn(url)) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_postcode_rowwise")
        conn.execute("CREATE TABLE bench_postcode_rowwise (LIKE postcode INCLUDING ALL)")
        conn.commit()
        rows = [(pc, lon, lat, lon, lat) for pc, lon, lat in
                zip(sample.postcode, sample.lon.astype(float), sample.lat.astype(float))]
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO bench_postcode_rowwise (postcode, location, location_bng) VALUES (%s, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
                "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 27700))", rows)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_postcode_rowwise")
        conn.commit()
    return seconds


def main() -> None:
    url = bench_url()
    ensure_database(url)
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")

    started = time.perf_counter()
    reports = geodata.load_all(get_settings().geodata_dir, url, force=True, progress=False)
    total = time.perf_counter() - started
    for report in reports:
        print(f"  {report.dataset:<20} {report.rows:>10,} rows {report.seconds:8.2f} s")
    print(f"  {'all datasets':<20} {'':>15} {total:8.2f} s")
    postcode = next(r for r in reports if r.dataset == "postcode")

    frame = pd.read_csv(get_settings().geodata_dir / POSTCODES_FILE)
    rng = np.random.default_rng(SEED)
    sample = frame.iloc[rng.choice(len(frame), BASELINE_SAMPLE, replace=False)]
    baseline = baseline_insert(url, sample)
    extrapolated = baseline * len(frame) / BASELINE_SAMPLE
    speedup = extrapolated / postcode.seconds
    print(f"baseline: executemany INSERT of {BASELINE_SAMPLE:,} postcodes {baseline:.2f} s "
          f"→ {extrapolated:.1f} s extrapolated to {len(frame):,}; COPY pipeline {postcode.seconds:.2f} s "
          f"({speedup:.1f}× faster)")

    points = frame.iloc[rng.choice(len(frame), LOCATE_POINTS, replace=False)]
    lons, lats = points.lon.to_numpy(), points.lat.to_numpy()
    with session_scope(url) as db:
        t = time.perf_counter()
        located = geodata.locate_points(db, lons, lats)
        locate_cold = time.perf_counter() - t
        t = time.perf_counter()
        geodata.locate_points(db, lons, lats)
        locate_warm = time.perf_counter() - t
        t = time.perf_counter()
        for lon, lat in zip(lons[:SCALAR_POINTS], lats[:SCALAR_POINTS]):
            try:
                geodata.local_authority_of(db, lon, lat)
            except geodata.OutsideUK:
                pass
        scalar = time.perf_counter() - t
    scalar_extrapolated = scalar * LOCATE_POINTS / SCALAR_POINTS
    print(f"locate_points: {LOCATE_POINTS:,} points {locate_cold:.2f} s (first call, loads the polygons), "
          f"{locate_warm:.2f} s (cached); {located.lad_cd.isna().sum()} outside")
    print(f"scalar local_authority_of: {SCALAR_POINTS:,} points {scalar:.2f} s → {scalar_extrapolated:.1f} s "
          f"extrapolated to {LOCATE_POINTS:,} ({scalar_extrapolated / locate_cold:.0f}× slower)")

    print(f"RESULT postcode_rows={postcode.rows} postcode_load_seconds={postcode.seconds:.2f} "
          f"geodata_load_seconds={total:.2f} baseline_insert_seconds_extrapolated={extrapolated:.1f} "
          f"speedup={speedup:.1f} locate_points_200k_seconds={locate_cold:.2f}")


if __name__ == "__main__":
    main()
