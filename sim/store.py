"""Storing a generated scenario: replace the operational data in one transaction, by ``COPY``.

The bulk-load recipe of the PostgreSQL manual ("Populating a Database"): the replaced tables' foreign
keys and secondary indexes are dropped for the load and re-created from their own catalogued
definitions afterwards, which checks every key once in a single join and builds each index in one
sort instead of row by row (3-4x faster at ``national`` size). Primary keys and unique
constraints stay, so duplicates still fail during the load. All of it is one transaction: a failure
leaves the previous data and schema untouched.

What a reseed keeps: ``app_user`` rows (their ``agent_id`` is cleared, as the agents are replaced;
a subcontractor user is bound again to the new firm of its firm's reference, and disabled, unbound,
when the new scenario has no such firm),
buyers (upserted by reference so their ids, and the buyer users scoped to them, stay valid; other
buyers are left alone), the reference geography and ``audit_event``. Everything else the generator
produces is replaced, with ids restarting from 1 so that the same seed gives the same ids.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from sim.generator import Scenario

# A replaced case's customer queries go with it, but their ids are never given again: audit rows name a
# query by id. The buyers' query vocabularies and the stored files stay (a reseed keeps the buyers, and
# files are content-addressed).
QUERIES = ("customer_query_attachment", "customer_query_change", "customer_query_message", "customer_query")
# Emptied by TRUNCATE. agent and subcontractor are referenced by
# app_user (directly or through agent), which is kept, and PostgreSQL refuses to TRUNCATE a table
# referenced by a table outside the statement: they are emptied with DELETE instead.
# Stored plans and pins, visit evidence, unmatched stops, tracked days, capacity declarations and ANPR
# hits, sightings and read counts name the replaced cases, agents, firms, vehicles and vans, so they go
# with them.
TRUNCATED = ("anpr_hit", "anpr_sighting", "anpr_read_count", "visit_evidence", "unmatched_stop", "tracked_day",
             "capacity_declaration", "plan_visit", "plan_dropped", "plan_route", "plan_run", "plan_pin",
             "ledger_entry", "visit", "case_vehicle", "case_event", "vehicle", "enforcement_case", "address", "debtor", "device", "van",
             *QUERIES)
DELETED = ("agent", "subcontractor")
# The emptied tables keyed by something else than an id sequence.
NO_ID = {"case_vehicle", "anpr_read_count", "tracked_day"}
# The phones' fixes and geofence events carry no foreign key, but they are the replaced agents' tracks:
# the new scenario's phones (the same device ids, other routes) would otherwise mix with them, e.g. when
# a simulated day is replayed again after a reseed.
GPS = ("gps_ping", "gps_transition")

# Geometry column of the tables whose frames carry lon/lat.
POINTS = {"agent": "home_base", "van": "base", "address": "location"}

CHUNK_ROWS = 50_000


def store(scenario: Scenario, conn: psycopg.Connection, advance: Callable[[int], None] = lambda rows: None) -> None:
    """Replace the operational data with ``scenario`` inside the caller's transaction. ``advance`` is
    called with the number of rows written after each chunk (for a progress bar)."""
    with conn.cursor() as cur:
        _reset(cur)
        buyer_ids = _upsert_buyers(cur, scenario.buyers)
        advance(len(scenario.buyers))
        with _bulk_load(cur, (*TRUNCATED, *DELETED)):
            for table, frame in scenario.tables().items():
                if table == "buyer":
                    continue
                if table == "enforcement_case":
                    frame = frame.assign(buyer=frame["buyer"].map(buyer_ids)).rename(columns={"buyer": "buyer_id"})
                _copy(cur, table, _for_copy(table, frame), advance)
        _rebind_firm_users(cur)
        # The rows carry their own ids; sequences continue after them for ordinary inserts.
        for table in (*TRUNCATED, *DELETED):
            if table not in NO_ID and table not in QUERIES:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"coalesce(max(id), 0) + 1, false) FROM {table}")
        # Fresh statistics, so the first queries after a reseed are planned for the new sizes.
        cur.execute(f"ANALYZE {', '.join((*TRUNCATED, *DELETED))}")


def _reset(cur: psycopg.Cursor) -> None:
    cur.execute("UPDATE app_user SET agent_id = NULL WHERE agent_id IS NOT NULL")
    # Firms are replaced with new ids: remember each subcontractor user's firm by reference, and
    # unbind it (disabled meanwhile, which the schema requires of an unbound subcontractor user).
    cur.execute("""CREATE TEMP TABLE firm_user ON COMMIT DROP AS
                   SELECT u.id, s.reference, u.active FROM app_user u JOIN subcontractor s ON s.id = u.subcontractor_id""")
    cur.execute("UPDATE app_user SET subcontractor_id = NULL, active = false WHERE id IN (SELECT id FROM firm_user)")
    cur.execute(f"TRUNCATE {', '.join(TRUNCATED)}")
    cur.execute(f"TRUNCATE {', '.join(GPS)}")
    for table in DELETED:
        cur.execute(f"DELETE FROM {table}")


@contextmanager
def _bulk_load(cur: psycopg.Cursor, tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the foreign keys and the secondary (non-constraint) indexes of ``tables`` for the body,
    then re-create them exactly as catalogued."""
    cur.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conrelid::regclass::text, conname",
                [list(tables)])
    foreign_keys = cur.fetchall()
    cur.execute("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
                "WHERE indrelid = ANY(%s::regclass[]) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
                "ORDER BY 1", [list(tables)])
    indexes = cur.fetchall()
    # regclass text is already quoted where needed; constraint names are quoted here.
    for table, name, _ in foreign_keys:
        cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(table), sql.Identifier(name)))
    for index, _ in indexes:
        cur.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(index)))
    yield
    cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        cur.execute(definition)
    for table, name, definition in foreign_keys:
        cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            sql.SQL(table), sql.Identifier(name), sql.SQL(definition)))


def _rebind_firm_users(cur: psycopg.Cursor) -> None:
    cur.execute("""UPDATE app_user u SET subcontractor_id = s.id, active = f.active
                   FROM firm_user f JOIN subcontractor s ON s.reference = f.reference WHERE u.id = f.id""")


def _upsert_buyers(cur: psycopg.Cursor, buyers: pd.DataFrame) -> dict[str, int]:
    ids = {}
    for row in buyers[["reference", "name", "kind", "lad_cd", "policy_name"]].itertuples(index=False):
        cur.execute(
            "INSERT INTO buyer (reference, name, kind, lad_cd, policy_name) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (reference) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
            "lad_cd = excluded.lad_cd, policy_name = excluded.policy_name RETURNING id",
            [None if pd.isna(v) else v for v in row],
        )
        ids[row.reference] = cur.fetchone()[0]
    return ids


def _for_copy(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as COPY CSV wants it: points as hex EWKB, dates as ISO dates, instants in UTC,
    lists as array literals."""
    out = frame.copy()
    if table in POINTS:
        out = out.drop(columns=["lon", "lat"])
        out[POINTS[table]] = ewkb_points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
            out[column] = np.where(values.isna().to_numpy(), None,
                                   np.char.add(np.datetime_as_string(utc), "+00:00"))
        elif pd.api.types.is_datetime64_dtype(values.dtype):
            text = np.datetime_as_string(values.to_numpy().astype("datetime64[D]"))
            out[column] = np.where(values.isna().to_numpy(), None, text)
        elif len(values) and isinstance(values.iloc[0], list):
            out[column] = ["{" + ",".join(v) + "}" for v in values]
    return out


def ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> np.ndarray:
    """Hex EWKB of 2-D points, built vectorised: the coordinates go in bit-for-bit, so a stored point
    is exactly the centroid it was drawn from."""
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    points = np.empty(len(lon), dtype=record)
    points["order"] = 1                      # little endian
    points["type"] = 0x20000001              # Point, with the SRID flag set
    points["srid"] = srid
    points["x"], points["y"] = lon, lat
    hexed = points.tobytes().hex().encode()
    return np.frombuffer(hexed, dtype=f"S{2 * record.itemsize}").astype(str).astype(object)


def _copy(cur: psycopg.Cursor, table: str, frame: pd.DataFrame, advance: Callable[[int], None]) -> None:
    columns = ", ".join(frame.columns)
    # The queued writer sends from a thread, so formatting the next chunk overlaps the server's work.
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)", writer=QueuedLibpqWriter(cur)) as copy:
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = frame.iloc[start:start + CHUNK_ROWS]
            buffer = io.StringIO()
            chunk.to_csv(buffer, header=False, index=False)
            copy.write(buffer.getvalue())
            advance(len(chunk))
