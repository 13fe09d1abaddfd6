"""What every bench script needs: its own scratch database (never ``bailiwick``), migrated, and a
scenario seeded into it.

Bench scripts run as ``python bench/NAME.py``, so this module is imported as ``common``."""
from __future__ import annotations

import os

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core import get_settings, libpq_dsn, load_policies, session_scope, upgrade_schema


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


def scenario_url(scenario: str, purpose: str = "") -> str:
    """The scratch database of a scenario: the bench database for ``national``, the same name with
    ``_<scenario>`` appended for the others; with a ``purpose``, ``_<purpose>`` appended as well (a
    bench that works a scenario's month keeps it away from the fresh day other benches plan)."""
    url = bench_url()
    parsed = make_url(url)
    name = parsed.database if scenario == "national" else f"{parsed.database}_{scenario}"
    return parsed.set(database=f"{name}_{purpose}" if purpose else name).render_as_string(hide_password=False)


def ensure_scenario(url: str, scenario: str, *, seed: int = 1, force: bool = False, actor: str = "bench") -> None:
    """The database created and migrated, with the reference geography and the shipped policies, and
    seeded with ``scenario`` (``seed``) unless it already holds that scenario's agent and case counts
    (always, with ``force``). Seeding is not a measured part of any bench."""
    from sqlalchemy import func, select

    import geodata
    import sim
    from core.models import Agent, Case

    spec = sim.SCENARIOS[scenario]
    ensure_database(url)
    geodata.load_all(get_settings().geodata_dir, url, progress=False)  # skips unchanged files
    with session_scope(url) as db:
        load_policies(db, actor=actor)
        counts = (db.scalar(select(func.count()).select_from(Agent)), db.scalar(select(func.count()).select_from(Case)))
    if force or counts != (spec.agents, spec.cases):
        print(f"seeding {scenario} (seed {seed}) into {make_url(url).database} …", flush=True)
        print(sim.seed_scenario(scenario, seed=seed, progress=False, url=url).describe(), flush=True)
