"""What subcontractors declare about their work outside the platform, month by month and region by
region, for the capacity report [000 §1.8]: their caseload and agents for other clients. Written by
``regions.outside_work`` (each change audited); read by the regional measures."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at_column


class CapacityDeclaration(Base):
    """One subcontractor's outside work in one ITL1 region in one month. One row per (firm, month,
    region): a new declaration for the same keys replaces the figures, and the audit trail keeps the
    old ones."""

    __tablename__ = "capacity_declaration"
    __table_args__ = (
        UniqueConstraint("subcontractor_id", "month", "itl1_cd", name="uq_capacity_declaration"),
        CheckConstraint("extract(day from month) = 1", name="capacity_declaration_month_first_day"),
        CheckConstraint("outside_cases >= 0 AND outside_agents >= 0", name="capacity_declaration_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subcontractor_id: Mapped[int] = mapped_column(ForeignKey("subcontractor.id"), index=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month declared
    itl1_cd: Mapped[str] = mapped_column(String(3))  # not a foreign key: geography is reloaded
    # Open cases of the firm's other clients in the region during the month, and agents working them.
    outside_cases: Mapped[int] = mapped_column(Integer)
    outside_agents: Mapped[int] = mapped_column(Integer)
    declared_by: Mapped[str] = mapped_column(String(100))
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = created_at_column()
