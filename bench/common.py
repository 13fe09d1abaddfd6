"""What every bench script needs: its own scratch database (never ``bailiwick``), migrated.

Bench scripts run as ``python bench/NAME.py``, so this module is imported as ``common``."""
from __future__ import annotations

import os

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core import get_settings, libpq_dsn, upgrade_schema


def bench_url() -> str:
    """``BAILIWICK_BENCH_DATABASE_URL``, else ``bailiwick_bench`` on the configured server."""
    url = os.environ.get("BAILIWICK_BENCH_DATABASE_URL")
    if url:
        return url
    return make_url(get_settings().database_url).set(database="bailiwick_bench").render_as_string(
        hide_password=False)


def ensure_database(url: str) -> None:
    """Create the database with PostGIS if missing, and migrate it to the newest schema."""
    name = make_url(url).database
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(libpq_dsn(admin), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade_schema(url)
