"""Buyer visit policies, versioned by the date they take effect."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at_column


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
