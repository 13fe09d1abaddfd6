"""The core service, above ``geodata`` and below every domain package:

- plumbing: settings (``settings``), database engines and sessions (``db``), migrations (``migrate``),
  MQTT clients (``mqtt``), the one local time zone (``clock``);
- the data model: ``models``, one module per domain on one metadata;
- cases: placement (``placement``), the lifecycle (``lifecycle``), finding and reading cases
  (``case_query``, ``case_read``, ``case_facts``), vehicle marks (``vrm``);
- money: the fee scale (``fees``) and the ledger that posts it (``ledger``);
- visits: buyer policies (``visit_policy``), the pure visit rules (``visit_rules``) and recording
  visits (``visits``); agents' live positions (``positions``);
- people and trust: users (``users``), credentials (``security``), the audit trail (``audit``) and the
  domain errors naming their rules (``errors``).

This ``__init__`` names only the plumbing every package needs."""
from core.audit import record_audit
from core.db import get_engine, libpq_dsn, raw_connection, session_scope
from core.settings import PROJECT_ROOT, Settings, get_settings

__all__ = [
    "PROJECT_ROOT", "Settings", "get_engine", "get_settings", "libpq_dsn", "raw_connection",
    "record_audit", "session_scope",
]
