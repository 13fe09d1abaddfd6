"""Database engine and sessions. One engine per URL and process; sessions are short-lived units of
work (``with session_scope() as s: ...`` commits on success, rolls back on error)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.settings import get_settings


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    return create_engine(url or get_settings().database_url, pool_pre_ping=True, future=True)


@lru_cache
def _session_factory(url: str | None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    session = _session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def libpq_dsn(url: str | None = None) -> str:
    """The SQLAlchemy URL as a plain libpq connection string, for raw psycopg connections used by
    bulk loads (``COPY``), which SQLAlchemy does not expose."""
    sa_url = make_url(url or get_settings().database_url)
    return sa_url.set(drivername="postgresql").render_as_string(hide_password=False)


def raw_connection(url: str | None = None) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(url))
