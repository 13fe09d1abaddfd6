"""The core service, above ``geodata`` and below every domain package:

- plumbing: settings (``settings``), database engines and sessions (``db``), migrations (``migrate``),
  MQTT clients (``mqtt``), the one local time zone (``clock``);
- ingest: the MQTT batch worker every ingest worker runs (``mqtt_worker``: shared subscription,
  persistent session, acknowledgement after commit, retries through outages) and the device → owner
  lookup its handlers use (``device_registry``);
- the data model: ``models``, one module per domain on one metadata;
- cases: placement (``placement``), the lifecycle (``lifecycle``), finding and reading cases
  (``case_query``, ``case_read``, ``case_facts``), vehicle marks (``vrm``);
- money: the fee scale (``fees``) and the ledger that posts it (``ledger``);
- visits: buyer policies (``visit_policy``), the pure visit rules (``visit_rules``) and recording
  visits (``visits``); the priority classes buyers' shares are compared within (``priority``);
  agents' live positions (``positions``) and the geofences on their phones
  (``geofence``);
- people and trust: users (``users``), devices and their broker files (``devices``), credentials
  (``security``), the audit trail (``audit``) and the domain errors naming their rules (``errors``).

This ``__init__`` is core's public surface: other packages import from ``core`` (and the tables from
``core.models``), never from its modules, so that a module can move without breaking them (the
import-linter contracts in pyproject.toml hold every package to this)."""

from core.audit import record_audit
from core.case_facts import id_in, load_case_facts, visit_history
from core.case_query import (
    CaseSearch,
    case_detail,
    case_history,
    case_in_scope,
    case_visits,
    search_cases,
)
from core.case_read import load_cases
from core.clock import LONDON
from core.db import get_engine, libpq_dsn, raw_connection, session_scope
from core.dead_letters import insert_letters
from core.device_registry import DeviceRegistry
from core.devices import (
    DeviceError,
    DeviceRow,
    add_device,
    list_devices,
    write_broker_files,
)
from core.errors import DomainError, NotFound
from core.geofence import GEOFENCE_RADIUS_M, geofence_name, owntracks_cmd_topic
from core.ledger import (
    CancelReason,
    LedgerLine,
    cancel_fees,
    fee_breakdown,
    ledger_of,
    record_payment,
    record_refund,
)
from core.lifecycle import Transition, apply_transition
from core.migrate import downgrade as downgrade_schema
from core.migrate import upgrade as upgrade_schema
from core.mqtt import PublishError, broker_address, ping_broker, publish_acked
from core.mqtt import connect as connect_mqtt
from core.mqtt import new_client as new_mqtt_client
from core.mqtt_worker import (
    BatchHandler,
    BatchWorker,
    BatchWorkerConfig,
    DatabaseHandler,
    Message,
)
from core.placement import (
    AddressIn,
    BadUpload,
    DebtorIn,
    PlacementIn,
    TooManyRows,
    VehicleIn,
    csv_field,
    json_field,
    place_batch,
    place_stream,
    read_csv,
    read_jsonl,
)
from core.positions import (
    Nearby,
    agents_near,
    agents_near_many,
    read_positions,
    write_positions,
)
from core.positions import connect as connect_redis
from core.priority import (
    CLASS_FLOORS,
    COMPETING_REASONS,
    PriorityClass,
    priority_class,
    priority_class_sql,
)
from core.security import hash_device_secret, verify_device_secret
from core.settings import PROJECT_ROOT, Settings, get_settings
from core.users import UserError, authenticate, create_user
from core.visit_policy import (
    POLICY_DIR,
    WEEKDAYS,
    PolicyError,
    VisitPolicy,
    current_versions,
    load_policies,
    policy_versions,
    read_policy_file,
    save_policy_version,
)
from core.visit_rules import (
    OPTIONAL_SKILLS,
    CaseFacts,
    StageDue,
    TimeWindow,
    VisitFact,
    missing_time_bands,
    stage_due,
    visit_allowed,
    visit_windows,
)
from core.visits import VisitReport, record_visit, record_visits
from core.vrm import InvalidVRM, normalise_vrm

__all__ = [
    "CLASS_FLOORS", "COMPETING_REASONS", "GEOFENCE_RADIUS_M", "LONDON", "OPTIONAL_SKILLS", "POLICY_DIR", "PROJECT_ROOT", "WEEKDAYS", "AddressIn", "BadUpload",
    "BatchHandler", "BatchWorker", "BatchWorkerConfig", "CancelReason", "CaseFacts", "CaseSearch", "DatabaseHandler", "DebtorIn",
    "DeviceError", "DeviceRegistry", "DeviceRow", "DomainError", "InvalidVRM", "LedgerLine", "Message",
    "Nearby", "NotFound", "PlacementIn", "PolicyError", "PriorityClass", "PublishError", "Settings", "StageDue", "TimeWindow", "TooManyRows", "Transition",
    "UserError", "VehicleIn", "VisitFact", "VisitPolicy", "VisitReport", "add_device", "agents_near", "agents_near_many", "apply_transition", "authenticate",
    "broker_address", "cancel_fees", "case_detail", "case_history", "case_in_scope", "case_visits",
    "connect_mqtt", "connect_redis", "create_user", "csv_field", "current_versions", "downgrade_schema",
    "fee_breakdown", "geofence_name", "get_engine", "get_settings", "hash_device_secret", "id_in", "insert_letters", "json_field",
    "ledger_of", "libpq_dsn", "list_devices", "load_case_facts", "load_cases", "load_policies",
    "missing_time_bands", "new_mqtt_client", "normalise_vrm", "owntracks_cmd_topic", "ping_broker", "place_batch",
    "place_stream", "policy_versions", "priority_class", "priority_class_sql", "publish_acked", "raw_connection", "read_csv", "read_jsonl", "read_policy_file",
    "read_positions", "record_audit", "record_payment", "record_refund", "record_visit", "record_visits", "save_policy_version",
    "search_cases", "session_scope", "stage_due", "upgrade_schema", "verify_device_secret", "visit_allowed",
    "visit_history", "visit_windows", "write_broker_files", "write_positions",
]
