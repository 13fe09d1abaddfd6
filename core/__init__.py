"""The attached core service: settings, database access, the domain model, credentials and the audit
trail. Case lifecycle, fees and visit policies arrive with the core-service issue."""
from core.audit import record_audit
from core.db import get_engine, libpq_dsn, raw_connection, session_scope
from core.settings import PROJECT_ROOT, Settings, get_settings

__all__ = [
    "PROJECT_ROOT", "Settings", "get_engine", "get_settings", "libpq_dsn", "raw_connection",
    "record_audit", "session_scope",
]
