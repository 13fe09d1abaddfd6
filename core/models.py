"""The core data model: SQLAlchemy 2 typed ORM over PostGIS. Tables are created only by the Alembic
migrations in ``migrations/``; this module is their Python face.

Conventions (ARCHITECTURE.md): points are ``geometry(Point, 4326)``; money is integer pence; times are
timezone-aware UTC; enumerations are short strings guarded by CHECK constraints (``enum_check``) so
that a new value is a one-line migration rather than a type rewrite.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


def enum_check(column: str, values: type[enum.StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def point_4326() -> Geometry:
    # Indexes are declared explicitly (GiST) so the migrations show every index they create.
    return Geometry("POINT", srid=4326, spatial_index=False)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class BuyerKind(enum.StrEnum):
    council = "council"
    national = "national"
    other = "other"


class Role(enum.StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    regional_manager = "regional_manager"
    buyer = "buyer"
    agent = "agent"
    device = "device"


class DeviceKind(enum.StrEnum):
    phone = "phone"
    van = "van"


class DebtType(enum.StrEnum):
    council_tax = "council_tax"
    business_rates = "business_rates"
    parking = "parking"
    sundry = "sundry"
    housing_benefit_overpayment = "housing_benefit_overpayment"
    commercial_rent = "commercial_rent"
    magistrates_fine = "magistrates_fine"


class Stage(enum.StrEnum):
    compliance = "compliance"
    enforcement = "enforcement"
    sale = "sale"


class CaseStatus(enum.StrEnum):
    open = "open"
    paid = "paid"
    returned = "returned"
    closed = "closed"


class VisitOutcome(enum.StrEnum):
    no_contact = "no_contact"
    paid = "paid"
    arrangement = "arrangement"
    refused = "refused"
    gone_away = "gone_away"
    vulnerable = "vulnerable"
    sensitive_venue = "sensitive_venue"


class LedgerKind(enum.StrEnum):
    debt = "debt"                          # the sum placed by the buyer
    fee = "fee"                            # a fee for action that happened [R-FEE-INCURRED]
    payment = "payment"                    # money received (negative amount)
    refund = "refund"                      # money paid back to the customer (positive amount)
    fee_cancellation = "fee_cancellation"  # a fee taken off [R-FEE-CANCEL] (negative amount)
    adjustment = "adjustment"              # a buyer-instructed change to the debt


class FeeType(enum.StrEnum):
    compliance = "compliance"
    enforcement = "enforcement"
    sale = "sale"
    storage = "storage"


class KeeperCheck(enum.StrEnum):
    not_checked = "not_checked"
    requested = "requested"
    confirmed = "confirmed"          # registered keeper is the customer at this address
    new_address = "new_address"      # the customer, at another address [R-ANPR-KEEPER]
    different_keeper = "different_keeper"


# --- parties -------------------------------------------------------------------------------------


class Buyer(Base):
    """A creditor placing cases: a council or a national body."""

    __tablename__ = "buyer"
    __table_args__ = (enum_check("kind", BuyerKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # The council's own local authority; null for buyers placing cases anywhere.
    lad_cd: Mapped[str | None] = mapped_column(String(9))
    # The visit policy (``visit_policy.name``) this buyer's cases follow.
    policy_name: Mapped[str] = mapped_column(String(64), default="ccs_default", server_default="ccs_default")
    created_at: Mapped[datetime] = created_at_column()


class Subcontractor(Base):
    """An enforcement-agent firm to which the supplier distributes cases [000 §1.4]."""

    __tablename__ = "subcontractor"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()


class Agent(Base):
    __tablename__ = "agent"
    __table_args__ = (
        Index("ix_agent_home_base", "home_base", postgresql_using="gist"),
        Index("ix_agent_itl1_cd", "itl1_cd"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    subcontractor_id: Mapped[int] = mapped_column(ForeignKey("subcontractor.id"), index=True)
    certificated: Mapped[bool] = mapped_column(Boolean, default=True)
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    home_base: Mapped[WKBElement] = mapped_column(point_4326())
    home_postcode: Mapped[str | None] = mapped_column(String(8))
    itl1_cd: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()

    subcontractor: Mapped[Subcontractor] = relationship()


class Van(Base):
    """An ANPR unit. Owned by a subcontractor, never by an individual agent [000 §1.148], so it has
    no agent column at all."""

    __tablename__ = "van"
    __table_args__ = (Index("ix_van_base", "base", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    vrm: Mapped[str] = mapped_column(String(8), unique=True)
    subcontractor_id: Mapped[int] = mapped_column(ForeignKey("subcontractor.id"), index=True)
    base: Mapped[WKBElement | None] = mapped_column(point_4326())
    itl1_cd: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()

    subcontractor: Mapped[Subcontractor] = relationship()


class Device(Base):
    """The MQTT identity of an agent's phone or a van. ``credential_hash`` is in Mosquitto's ``$7$``
    format (see ``core.security``)."""

    __tablename__ = "device"
    __table_args__ = (
        enum_check("kind", DeviceKind),
        CheckConstraint(
            "(kind = 'phone' AND agent_id IS NOT NULL AND van_id IS NULL)"
            " OR (kind = 'van' AND van_id IS NOT NULL AND agent_id IS NULL)",
            name="device_owner_matches_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    van_id: Mapped[int | None] = mapped_column(ForeignKey("van.id"), index=True)
    credential_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()


class Debtor(Base):
    __tablename__ = "debtor"
    __table_args__ = (Index("ix_debtor_name_lower", text("lower(name)")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()


class Address(Base):
    __tablename__ = "address"
    __table_args__ = (
        Index("ix_address_location", "location", postgresql_using="gist"),
        Index("ix_address_postcode", "postcode"),
        Index("ix_address_itl1_cd", "itl1_cd"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(8))
    uprn: Mapped[int | None] = mapped_column(BigInteger)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    itl1_cd: Mapped[str | None] = mapped_column(String(3))
    lad_cd: Mapped[str | None] = mapped_column(String(9))
    # R-VISIT-SENSITIVE: within 50 m of a sensitive premises. Cases here are not dispatchable until a
    # person clears the flag (who and when are kept).
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    sensitive_note: Mapped[str | None] = mapped_column(Text)
    sensitive_cleared_by: Mapped[str | None] = mapped_column(String(100))
    sensitive_cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


class Case(Base):
    """One debt placed by one buyer against one debtor at one address (a warrant or liability
    order). Warrants of the same debtor at the same address share ``linked_group`` and exactly one of
    them leads ("total debt approach", R-FEE-ENFORCEMENT)."""

    __tablename__ = "enforcement_case"
    __table_args__ = (
        UniqueConstraint("buyer_id", "buyer_reference", name="uq_case_buyer_reference"),
        enum_check("debt_type", DebtType),
        enum_check("stage", Stage),
        enum_check("status", CaseStatus),
        CheckConstraint("original_balance_pence >= 0", name="original_balance_non_negative"),
        Index("ix_case_buyer_status", "buyer_id", "status"),
        Index("ix_case_subcontractor_reference", "subcontractor_reference"),
        Index("ix_case_linked_group", "linked_group", postgresql_where="linked_group IS NOT NULL"),
        Index("uq_case_one_leader_per_group", "linked_group", unique=True,
              postgresql_where="is_leading AND linked_group IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    buyer_reference: Mapped[str] = mapped_column(String(64))
    supplier_reference: Mapped[str] = mapped_column(String(32), unique=True)
    subcontractor_reference: Mapped[str | None] = mapped_column(String(64))
    debt_type: Mapped[str] = mapped_column(String(32))
    original_balance_pence: Mapped[int] = mapped_column(BigInteger)
    current_balance_pence: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(16), default=Stage.compliance)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.open)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    vulnerability_note: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    notice_issued_on: Mapped[date | None] = mapped_column(Date)
    enforcement_stage_on: Mapped[date | None] = mapped_column(Date)
    sale_stage_on: Mapped[date | None] = mapped_column(Date)
    under_arrangement: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    arrangement_since: Mapped[date | None] = mapped_column(Date)
    # R-FEE-SALE: the buyer's written permission to remove goods.
    removal_permission: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    return_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    return_reason: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # R-ANPR-24H: the vehicles may join the hotlist from this time (24 h after the first
    # enforcement visit at the address); null until such a visit.
    anpr_eligible_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    linked_group: Mapped[int | None] = mapped_column(BigInteger)
    is_leading: Mapped[bool] = mapped_column(Boolean, default=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtor.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"), index=True)
    assigned_subcontractor_id: Mapped[int | None] = mapped_column(ForeignKey("subcontractor.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    buyer: Mapped[Buyer] = relationship()
    debtor: Mapped[Debtor] = relationship()
    address: Mapped[Address] = relationship()
    vehicles: Mapped[list[Vehicle]] = relationship(secondary="case_vehicle", back_populates="cases")


class Vehicle(Base):
    __tablename__ = "vehicle"
    __table_args__ = (enum_check("keeper_check_state", KeeperCheck),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vrm: Mapped[str] = mapped_column(String(8), unique=True)  # normalised: upper case, no spaces
    make: Mapped[str | None] = mapped_column(String(50))
    colour: Mapped[str | None] = mapped_column(String(30))
    keeper_check_state: Mapped[str] = mapped_column(String(20), default=KeeperCheck.not_checked)
    keeper_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    cases: Mapped[list[Case]] = relationship(secondary="case_vehicle", back_populates="vehicles")


class CaseVehicle(Base):
    __tablename__ = "case_vehicle"

    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id", ondelete="CASCADE"), primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), primary_key=True, index=True)


class CaseEvent(Base):
    """The append-only audit trail of a case [R-CASE-AUDIT]. A database trigger refuses UPDATE and
    DELETE, so history cannot be edited in place even by mistake."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class Visit(Base):
    """An agent's attendance at a case's address, with its outcome [R-VISIT-EVIDENCE]. GPS evidence
    (from tracking) attaches to it; the footage stays on the body-worn-video system, referenced."""

    __tablename__ = "visit"
    __table_args__ = (
        enum_check("outcome", VisitOutcome),
        CheckConstraint("departed_at IS NULL OR departed_at >= arrived_at", name="departure_after_arrival"),
        Index("ix_visit_case_arrived", "case_id", "arrived_at"),
        Index("ix_visit_agent_arrived", "agent_id", "arrived_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    planned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    arrived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    departed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))
    time_band: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    bwv_reference: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[WKBElement | None] = mapped_column(point_4326())
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()


class LedgerEntry(Base):
    """One movement of a case's balance, in signed integer pence (positive raises what the customer
    owes). Append-only like the audit trail: a mistake is put right by a further entry. The case's
    ``current_balance_pence`` always equals the sum of its entries."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        enum_check("kind", LedgerKind),
        CheckConstraint("fee_type IS NULL OR fee_type IN ('compliance', 'enforcement', 'sale', 'storage')",
                        name="fee_type_allowed"),
        CheckConstraint("(kind IN ('fee', 'fee_cancellation')) = (fee_type IS NOT NULL)",
                        name="fee_type_iff_fee"),
        Index("ix_ledger_entry_case_at", "case_id", "at"),
        # Re-sending the same payment (same external reference) must not take the money twice.
        Index("uq_ledger_entry_reference", "case_id", "kind", "reference", unique=True,
              postgresql_where="reference IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(20))
    fee_type: Mapped[str | None] = mapped_column(String(20))
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    reference: Mapped[str | None] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class VisitPolicyVersion(Base):
    """One version of a buyer visit policy (``core/policies/*.yaml``), effective from a date. The
    version in force on a day is the one with the latest ``effective_from`` not after it."""

    __tablename__ = "visit_policy"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_visit_policy_name_version"),
        UniqueConstraint("name", "effective_from", name="uq_visit_policy_name_effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(String(200))  # the YAML file, or "api:<user>"
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()


# --- users and the general audit trail -------------------------------------------------------------


class User(Base):
    __tablename__ = "app_user"
    __table_args__ = (
        enum_check("role", Role),
        CheckConstraint("(role = 'buyer') = (buyer_id IS NOT NULL)", name="buyer_scope_iff_buyer_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyer.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()


class AuditEvent(Base):
    """Append-only record of every change and every buyer view outside a case's own history."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"), Index("ix_audit_event_buyer_at", "buyer_id", "at"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(20))
    buyer_id: Mapped[int | None] = mapped_column(Integer)  # the viewer's scope, not a foreign key: audit outlives rows
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


# --- reference geography (owned by ``geodata``, defined here so one metadata holds the schema) ------


class Itl1Region(Base):
    __tablename__ = "itl1_region"
    __table_args__ = (Index("ix_itl1_region_geom", "geom", postgresql_using="gist"),)

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # TLC … TLN
    rgn_cd: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(30))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class LocalAuthority(Base):
    """A local authority district. ``geom`` is the super-generalised UK-wide boundary; ``geom_detailed``
    is the finer boundary where one is loaded (around the councils in the scenarios) and wins when it
    answers."""

    __tablename__ = "local_authority"
    __table_args__ = (
        Index("ix_local_authority_geom", "geom", postgresql_using="gist"),
        Index("ix_local_authority_geom_detailed", "geom_detailed", postgresql_using="gist"),
    )

    lad_cd: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    itl1_cd: Mapped[str] = mapped_column(String(3))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    geom_detailed: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class Postcode(Base):
    """Unit postcode centroids. ``location_bng`` (EPSG:27700) carries the KNN index so that "nearest"
    is nearest in metres, not in degrees (a degree of longitude is ~0.6 of a degree of latitude here)."""

    __tablename__ = "postcode"
    __table_args__ = (Index("ix_postcode_location_bng", "location_bng", postgresql_using="gist"),)

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)  # "PL1 2AA"
    location: Mapped[WKBElement] = mapped_column(point_4326())
    location_bng: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=27700, spatial_index=False))


class SensitivePremises(Base):
    """Places never to visit [R-VISIT-SENSITIVE]."""

    __tablename__ = "sensitive_premises"
    __table_args__ = (Index("ix_sensitive_premises_location_bng", "location_bng", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(8))
    location: Mapped[WKBElement] = mapped_column(point_4326())
    location_bng: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=27700, spatial_index=False))


class GeodataLoad(Base):
    """One row per loaded reference dataset: what was loaded, from which file content, and when."""

    __tablename__ = "geodata_load"

    dataset: Mapped[str] = mapped_column(String(50), primary_key=True)
    source_file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float]
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- day plans (``dispatch.store``) ---------------------------------------------------------------


class PlanKind(enum.StrEnum):
    plan = "plan"      # a whole day planned (``bailiwick plan``, ``POST /plans``)
    replan = "replan"  # the rest of a day re-planned around what is done, under way or pinned


class PlanRun(Base):
    """One stored plan of a day, for one region (ITL1 code) or, with ``region`` null, the whole
    country. The day's current plan is, region by region, the latest run covering that region
    (``dispatch.store.load_current_plan``); older runs stay as the record of what was planned."""

    __tablename__ = "plan_run"
    __table_args__ = (enum_check("kind", PlanKind), Index("ix_plan_run_day_region", "day", "region"))

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(3))  # not a foreign key: geography is reloaded
    created_at: Mapped[datetime] = created_at_column()
    created_by: Mapped[str] = mapped_column(String(100))  # the actor: "user:12", "cli", …
    kind: Mapped[str] = mapped_column(String(10), default=PlanKind.plan)
    time_limit_s: Mapped[float]
    # served, dropped, dropped_by_reason, distance_m, solve_seconds, fairness_ratio, agents, …
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class PlanRoute(Base):
    """One agent's day in a run: the shift it was planned for, its travel and its line on the map
    (start point, every visit in order, end point). ``region`` is the slice of the run it belongs to
    (the agent's region, or the run's for a regional run)."""

    __tablename__ = "plan_route"
    __table_args__ = (
        UniqueConstraint("run_id", "agent_id", name="uq_plan_route_run_agent"),
        Index("ix_plan_route_run_region", "run_id", "region"),
        Index("ix_plan_route_agent", "agent_id"),
        Index("ix_plan_route_start_point", "start_point", postgresql_using="gist"),
        Index("ix_plan_route_end_point", "end_point", postgresql_using="gist"),
        Index("ix_plan_route_path", "path", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_run.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    region: Mapped[str | None] = mapped_column(String(3))
    shift_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    shift_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start_point: Mapped[WKBElement] = mapped_column(point_4326())
    end_point: Mapped[WKBElement] = mapped_column(point_4326())
    distance_m: Mapped[float]
    duration_s: Mapped[int] = mapped_column(Integer)
    path: Mapped[WKBElement] = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))


class PlanVisit(Base):
    """One planned visit: which agent, in what order, when (ETA/ETD), in which hard window.
    ``region`` is the case address's ITL1 code."""

    __tablename__ = "plan_visit"
    __table_args__ = (
        UniqueConstraint("run_id", "case_id", name="uq_plan_visit_run_case"),
        UniqueConstraint("run_id", "agent_id", "seq", name="uq_plan_visit_run_agent_seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("etd >= eta", name="etd_after_eta"),
        Index("ix_plan_visit_case", "case_id"),
        Index("ix_plan_visit_run_buyer", "run_id", "buyer_id"),
        Index("ix_plan_visit_agent_eta", "agent_id", "eta"),
        Index("ix_plan_visit_location", "location", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_run.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    seq: Mapped[int] = mapped_column(Integer)
    eta: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    etd: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The band the visit counts for (R-VISIT-TIMES) and the band of the hard window it falls in:
    # policy bands overlap, so the two can differ.
    time_band: Mapped[str | None] = mapped_column(String(20))
    window_band: Mapped[str | None] = mapped_column(String(20))
    service_s: Mapped[int] = mapped_column(Integer)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    region: Mapped[str | None] = mapped_column(String(3))


class PlanDropped(Base):
    """An eligible visit a run left out, and why (a rule id or a plain reason such as "capacity")."""

    __tablename__ = "plan_dropped"
    __table_args__ = (
        UniqueConstraint("run_id", "case_id", name="uq_plan_dropped_run_case"),
        Index("ix_plan_dropped_run_region", "run_id", "region"),
        Index("ix_plan_dropped_run_buyer", "run_id", "buyer_id"),
        Index("ix_plan_dropped_case", "case_id"),
        Index("ix_plan_dropped_location", "location", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_run.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    reason: Mapped[str] = mapped_column(Text)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    region: Mapped[str | None] = mapped_column(String(3))


class PlanPin(Base):
    """A dispatcher's pin: on ``day`` the case is visited by ``agent_id`` (at ``at``, or at any time
    when null). At most one pin per case and day."""

    __tablename__ = "plan_pin"
    __table_args__ = (
        UniqueConstraint("day", "case_id", name="uq_plan_pin_day_case"),
        Index("ix_plan_pin_agent_day", "agent_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
