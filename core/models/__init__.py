"""The core data model: SQLAlchemy 2 typed ORM over PostGIS, one module per domain (parties, cases,
money, policies, audit, geography, plans, tracking, anpr, queries) on one declarative ``Base``, so that
one metadata holds the whole schema. Tables are created only by the Alembic migrations in
``migrations/``; these modules are their Python face. A package adding tables adds a module here and
re-exports it below, so that other packages read its tables through ``core.models`` and never import
that package.

Conventions (ARCHITECTURE.md): points are ``geometry(Point, 4326)``; money is integer pence; times are
timezone-aware UTC; enumerations are short strings guarded by CHECK constraints (``enum_check``) so
that a new value is a one-line migration rather than a type rewrite.
"""
from core.models.anpr import AnprDeadLetter, AnprHit, AnprReadCount, AnprSighting
from core.models.audit import AuditEvent
from core.models.base import Base, created_at_column, enum_check, point_4326
from core.models.capacity import CapacityDeclaration
from core.models.cases import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseVehicle,
    DebtType,
    KeeperCheck,
    Stage,
    Vehicle,
    Visit,
    VisitOutcome,
)
from core.models.geography import GeodataLoad, Itl1Region, LocalAuthority, Postcode, SensitivePremises
from core.models.money import FeeType, LedgerEntry, LedgerKind
from core.models.parties import (
    Address,
    Agent,
    Buyer,
    BuyerKind,
    Debtor,
    Device,
    DeviceKind,
    Role,
    Subcontractor,
    User,
    Van,
)
from core.models.plans import PlanDropped, PlanKind, PlanPin, PlanRoute, PlanRun, PlanVisit
from core.models.policies import VisitPolicyVersion
from core.models.queries import (
    MAX_QUERY_TEXT,
    CustomerQuery,
    EscalationCategory,
    QueryAttachment,
    QueryChange,
    QueryChangeKind,
    QueryMessage,
    QueryStatus,
    QueryType,
    StoredFile,
)
from core.models.tracking import (
    GPS_PARTITION_PREFIX,
    GpsDeadLetter,
    GpsPing,
    GpsTransition,
    TrackedDay,
    UnmatchedStop,
    VisitEvidence,
)

__all__ = [
    "AnprDeadLetter", "AnprHit", "AnprReadCount", "AnprSighting",
    "GPS_PARTITION_PREFIX", "GpsDeadLetter", "GpsPing", "GpsTransition", "TrackedDay", "UnmatchedStop",
    "VisitEvidence",
    "MAX_QUERY_TEXT", "CustomerQuery", "EscalationCategory", "QueryAttachment", "QueryChange", "QueryChangeKind",
    "QueryMessage", "QueryStatus", "QueryType", "StoredFile",
    "Address", "Agent", "AuditEvent", "Base", "Buyer", "BuyerKind", "CapacityDeclaration", "Case",
    "CaseEvent", "CaseStatus",
    "CaseVehicle", "DebtType", "Debtor", "Device", "DeviceKind", "FeeType", "GeodataLoad", "Itl1Region",
    "KeeperCheck", "LedgerEntry", "LedgerKind", "LocalAuthority", "PlanDropped", "PlanKind", "PlanPin",
    "PlanRoute", "PlanRun", "PlanVisit", "Postcode", "Role", "SensitivePremises", "Stage", "Subcontractor",
    "User", "Van", "Vehicle", "Visit", "VisitOutcome", "VisitPolicyVersion", "created_at_column",
    "enum_check", "point_4326",
]
