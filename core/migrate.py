"""Running the Alembic migrations from code (the CLI and the tests), with the project's own config."""
from __future__ import annotations

import re

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers

from core.settings import PROJECT_ROOT, get_settings

# PostGIS's own tables (spatial_ref_sys, tiger/topology schemas) are not ours to migrate.
NOT_OURS = frozenset({"spatial_ref_sys"})
# gps_ping's day partitions are made at run time by tracking, not by the migrations.
GPS_PARTITION = re.compile(r"gps_ping_\d{8}")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter for autogenerate and ``alembic check``: our tables, with GeoAlchemy2's handling
    of spatial columns and indexes."""
    if type_ == "table" and (name in NOT_OURS or GPS_PARTITION.fullmatch(name or "")):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
