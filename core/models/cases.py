"""Cases and what happens to them: the case itself, its vehicles, its append-only event trail and
the visits made to its address."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

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
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, created_at_column, enum_check, point_4326
from core.models.parties import Address, Buyer, Debtor


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


class KeeperCheck(enum.StrEnum):
    not_checked = "not_checked"
    requested = "requested"
    confirmed = "confirmed"          # registered keeper is the customer at this address
    new_address = "new_address"      # the customer, at another address [R-ANPR-KEEPER]
    different_keeper = "different_keeper"


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
    # R-ANPR-DELETE: the registered keeper is a hire or lease company, never the debtor.
    hire_or_lease: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    cases: Mapped[list[Case]] = relationship(secondary="case_vehicle", back_populates="vehicles")


class CaseVehicle(Base):
    __tablename__ = "case_vehicle"

    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id", ondelete="CASCADE"), primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), primary_key=True, index=True)
    # R-ANPR-DELETE: the vehicle changed owner after this warrant's contravention, so this warrant
    # cannot reach it (another warrant of the same keeper still may).
    ownership_changed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


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
    # The GPS times of the agent's stop at the address (tracking's visit_evidence), beside the reported
    # ones; gps_verified only when both agree within 5 minutes [R-VISIT-EVIDENCE].
    gps_arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gps_departed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gps_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
