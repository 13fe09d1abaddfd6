"""Who is involved: buyers placing cases, subcontractor firms with their agents, vans and devices,
debtors with their addresses, and the users of the system."""
from __future__ import annotations

import enum
from datetime import date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, created_at_column, enum_check, point_4326


class BuyerKind(enum.StrEnum):
    council = "council"
    national = "national"
    other = "other"


class Role(enum.StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    regional_manager = "regional_manager"
    buyer = "buyer"
    subcontractor = "subcontractor"
    agent = "agent"
    device = "device"


class DeviceKind(enum.StrEnum):
    phone = "phone"
    van = "van"


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
    # An OwnTracks phone's device name, the last part of its topic owntracks/<device_id>/<name>, learned
    # from its messages by ingest: the app reads commands (setWaypoints) only on that topic + /cmd.
    owntracks_name: Mapped[str | None] = mapped_column(String(64))
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


class User(Base):
    __tablename__ = "app_user"
    __table_args__ = (
        enum_check("role", Role),
        CheckConstraint("(role = 'buyer') = (buyer_id IS NOT NULL)", name="buyer_scope_iff_buyer_role"),
        # A subcontractor user is bound to its firm, unless disabled because the firm is gone (a reseed
        # replaces the firms: ``sim.store``).
        CheckConstraint("CASE WHEN role = 'subcontractor' THEN subcontractor_id IS NOT NULL OR NOT active "
                        "ELSE subcontractor_id IS NULL END", name="subcontractor_scope_iff_subcontractor_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyer.id"), index=True)
    # A subcontractor user works for exactly one firm: it declares that firm's outside work and (the
    # portal) sees only the cases assigned to it.
    subcontractor_id: Mapped[int | None] = mapped_column(ForeignKey("subcontractor.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()
