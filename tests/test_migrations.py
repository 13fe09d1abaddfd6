"""The migrations build the whole schema on an empty database and take it all away again."""
from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from core import libpq_dsn, migrate
from core.models import Base

SCRATCH = "bailiwick_test_migrations"


@pytest.fixture
def empty_database(database_url):
    admin_dsn = libpq_dsn(database_url)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH}")
    url = make_url(database_url).set(database=SCRATCH).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table_and_downgrade_removes_them(empty_database):
    ours = set(Base.metadata.tables)
    migrate.upgrade(empty_database)  # also creates the postgis extension itself
    assert _tables(empty_database) == ours
    migrate.downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    migrate.upgrade(empty_database)
    assert _tables(empty_database) == ours


def test_migrated_schema_matches_the_models(empty_database):
    """What ``alembic check`` asserts: every table, column, index and constraint of every
    ``core.models`` module is in the migrations, and nothing else is."""
    migrate.upgrade(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": migrate.include_object, "compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_audit_tables_refuse_updates_and_deletes(empty_database):
    """R-CASE-AUDIT: history is never edited in place."""
    migrate.upgrade(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (actor, action) VALUES ('t', 'x')"))
        for statement in ("UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"):
            with pytest.raises(Exception, match="R-CASE-AUDIT"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT actor FROM audit_event")).scalars().all() == ["t"]
    finally:
        engine.dispose()
