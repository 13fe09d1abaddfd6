"""Alembic migrations: the only way Bailiwick's tables are created or changed."""
