"""Bulk load of the GB postcode centroids (2.6 M rows) into ``postcode``.

The gzip file is streamed straight into an UNLOGGED staging table with ``COPY ... FROM STDIN`` (the
server parses the CSV; Python only decompresses). One parallel ``CREATE TABLE AS SELECT`` then
normalises and validates the postcodes and builds both geometries; the primary key and the GiST index
are built once the data is in, and the new table is swapped in for the old one. Measured on the
2-core reference machine: 13–15 s in all (COPY ~1.5 s, CREATE TABLE AS ~5–7 s, keys and GiST ~6 s),
against ~16 s with a serial ``INSERT ... SELECT`` in place of the parallel ``CREATE TABLE AS``, ~19 s
for transforming with pyproj in Python and ``COPY``-ing ready EWKB (parsing and normalising 2.6 M
postcodes in pandas costs more than PostGIS's ``ST_Transform``, which gives identical coordinates),
and ~70 s for row-by-row ``INSERT`` (see ``bench/geodata_load.py``).

Building beside the live table and swapping at the end means readers keep the old postcodes (and
only wait the milliseconds of the swap) instead of being locked out for the whole load.
"""
from __future__ import annotations

import gzip
from pathlib import Path

from psycopg import Cursor, sql

from geodata.errors import GeodataError
from geodata.postcodes import COMPACT_PATTERN

TABLE = "postcode"
STAGING = "geodata_postcode_staging"
NEW = "geodata_postcode_new"
# Names from migration 0001; the swapped-in table takes them over.
PKEY = "postcode_pkey"
GIST = "ix_postcode_location_bng"
COLUMNS = ("postcode", "location", "location_bng")
INDEXES = {PKEY, GIST}
CHUNK = 1 << 20


def _check_schema(cur: Cursor) -> None:
    # The swap recreates exactly these columns and indexes; a later migration that adds to the table
    # must extend this loader too, rather than have the loader silently drop its work.
    cur.execute("SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (TABLE,))
    columns = tuple(cur.fetchone()[0] or ())
    cur.execute("SELECT array_agg(indexname::text) FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = %s", (TABLE,))
    indexes = set(cur.fetchone()[0] or ())
    if columns != COLUMNS or indexes != INDEXES:
        raise GeodataError(
            f"table {TABLE} has columns {columns} and indexes {sorted(indexes)}; the bulk loader "
            f"rebuilds only {COLUMNS} with {sorted(INDEXES)} and must be updated to match the schema")


def load_postcodes(cur: Cursor, path: Path, progress=None) -> tuple[int, int]:
    """Replace the contents of ``postcode`` with the rows of ``path`` (runs inside the caller's
    transaction).

    Parameters
    ----------
    cur : psycopg.Cursor
        A cursor whose connection is inside a transaction.
    path : Path
        The gzip CSV with columns ``postcode, lat, lon`` (WGS84).
    progress : geodata.load.Steps, optional
        Progress reporter; ``None`` for silence.

    Returns
    -------
    tuple of int
        ``(rows_loaded, rows_rejected)``: rows without coordinates or with a malformed postcode are
        rejected.
    """
    _check_schema(cur)
    # Sorting for the primary key and the GiST build happen in memory rather than in temp files.
    cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(sql.Identifier(STAGING), sql.Identifier(NEW)))
    # UNLOGGED (not TEMP) so that parallel workers can scan it; created in this transaction, it goes
    # away with a rollback.
    cur.execute(sql.SQL("CREATE UNLOGGED TABLE {} (postcode text, lat float8, lon float8)")
                .format(sql.Identifier(STAGING)))

    size = path.stat().st_size
    task = progress.start("postcode: COPY", total=size) if progress else None
    with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as gz:
        copy_sql = sql.SQL("COPY {} (postcode, lat, lon) FROM STDIN (FORMAT csv, HEADER true)").format(
            sql.Identifier(STAGING))
        with cur.copy(copy_sql) as copy:
            while chunk := gz.read(CHUNK):
                copy.write(chunk)
                if task is not None:
                    progress.advance_to(task, raw.tell())
    copied = cur.rowcount

    def phase(label: str, note: str = "") -> None:
        nonlocal task
        if progress is not None:
            progress.finish(task, note)
            task = progress.start(f"postcode: {label}")

    phase("build geometries", f"{copied:,} rows, {size / 1e6:.1f} MB gzip")
    cur.execute(sql.SQL("""
        CREATE TABLE {new} AS
        SELECT (left(pc, -3) || ' ' || right(pc, 3))::varchar(8) AS postcode,
               pt::geometry(Point, 4326) AS location,
               ST_Transform(pt, 27700)::geometry(Point, 27700) AS location_bng
          FROM (SELECT upper(replace(postcode, ' ', '')) AS pc,
                       ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS pt
                  FROM {staging}
                 WHERE lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180) AS s
         WHERE pc ~ {pattern}
    """).format(new=sql.Identifier(NEW), staging=sql.Identifier(STAGING),
                pattern=sql.Literal(COMPACT_PATTERN)))
    loaded = cur.rowcount
    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(STAGING)))

    phase("primary key + GiST index", f"{loaded:,} kept, {copied - loaded:,} rejected")
    new = sql.Identifier(NEW)
    cur.execute(sql.SQL("ALTER TABLE {} ALTER postcode SET NOT NULL, ALTER location SET NOT NULL, "
                        "ALTER location_bng SET NOT NULL").format(new))
    cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (postcode)")
                .format(new, sql.Identifier(NEW + "_pkey")))
    cur.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (location_bng)")
                .format(sql.Identifier(NEW + "_bng"), new))

    phase("swap + analyze")
    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(TABLE)))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new, sql.Identifier(TABLE)))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
        sql.Identifier(TABLE), sql.Identifier(NEW + "_pkey"), sql.Identifier(PKEY)))
    cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(NEW + "_bng"), sql.Identifier(GIST)))
    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(TABLE)))
    if progress is not None:
        progress.finish(task)
    return loaded, copied - loaded
