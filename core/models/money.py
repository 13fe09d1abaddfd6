"""The case ledger: every movement of a balance, in signed integer pence."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, enum_check


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
