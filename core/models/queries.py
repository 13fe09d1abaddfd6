"""Customer queries between a buyer's caseworkers, the supplier and its subcontractors [000 §1.126–1.127]:
each buyer's query types and escalation categories, the queries on its cases, their two-way threads, the
history of every status and allocation change, and their attachments, whose content is kept on disk
under its SHA-256 (``stored_file`` holds what is known of each content). Written by ``queries``.

The thread, the history and the attachments are append-only like the audit trail [R-CASE-AUDIT]: a
database trigger refuses UPDATE and DELETE."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at_column, enum_check

# The longest query text or message: the contract asks for at least 800 characters [000 §1.127].
MAX_QUERY_TEXT = 10_000


class QueryStatus(enum.StrEnum):
    open = "open"
    awaiting_buyer = "awaiting_buyer"
    awaiting_supplier = "awaiting_supplier"
    escalated = "escalated"
    closed = "closed"


class QueryChangeKind(enum.StrEnum):
    raised = "raised"
    message = "message"  # a message moved the status to the other side
    status = "status"  # set by hand
    allocated = "allocated"


class _BuyerTerm:
    """A term of one buyer's own list, shown in ``position`` order. Never deleted, since queries name
    it: the buyer retires it (``active`` false)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    position: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()


class QueryType(_BuyerTerm, Base):
    """One of a buyer's own query types [000 §1.127: at least 20 as the buyer specifies]."""

    __tablename__ = "query_type"
    __table_args__ = (UniqueConstraint("buyer_id", "code", name="uq_query_type_buyer_code"),)


class EscalationCategory(_BuyerTerm, Base):
    """One of a buyer's escalation routes [000 §1.127: at least 5 as the buyer specifies]."""

    __tablename__ = "query_escalation_category"
    __table_args__ = (UniqueConstraint("buyer_id", "code", name="uq_query_escalation_category_buyer_code"),)


class CustomerQuery(Base):
    """A query a buyer's caseworker raised on one of its cases. ``buyer_id`` repeats the case's buyer
    (a case never changes buyer) so that scoping and the caseworker check need no join."""

    __tablename__ = "customer_query"
    __table_args__ = (
        enum_check("status", QueryStatus),
        CheckConstraint(f"char_length(text) BETWEEN 1 AND {MAX_QUERY_TEXT}", name="customer_query_text_length"),
        CheckConstraint("(status = 'escalated') = (escalation_category_id IS NOT NULL)",
                        name="customer_query_escalated_iff_category"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="customer_query_closed_iff_closed_at"),
        Index("ix_customer_query_buyer_raised", "buyer_id", "raised_at"),
        Index("ix_customer_query_buyer_status", "buyer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("query_type.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    allocated_to_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    escalation_category_id: Mapped[int | None] = mapped_column(ForeignKey("query_escalation_category.id"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QueryMessage(Base):
    """One message of a query's thread, from either side."""

    __tablename__ = "customer_query_message"
    __table_args__ = (
        CheckConstraint(f"char_length(body) BETWEEN 1 AND {MAX_QUERY_TEXT}", name="customer_query_message_length"),
        Index("ix_customer_query_message_query_at", "query_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("customer_query.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QueryChange(Base):
    """One change of a query's status or allocation (``QueryChangeKind``), with the state it left the
    query in."""

    __tablename__ = "customer_query_change"
    __table_args__ = (
        enum_check("status", QueryStatus),
        enum_check("kind", QueryChangeKind),
        Index("ix_customer_query_change_query_at", "query_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("customer_query.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    allocated_to_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    escalation_category_id: Mapped[int | None] = mapped_column(ForeignKey("query_escalation_category.id"))
    note: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StoredFile(Base):
    """A content kept in ``BAILIWICK_FILES_DIR`` under its SHA-256: stored once however often it is
    attached. The type is the one detected from the content, never the name's."""

    __tablename__ = "stored_file"
    __table_args__ = (
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="stored_file_sha256_hex"),
        CheckConstraint("size_bytes > 0", name="stored_file_not_empty"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()


class QueryAttachment(Base):
    """A file attached to a query: a document, a picture or a telephone recording. ``filename`` is the
    uploader's name for it, cleaned, with the extension of the detected type."""

    __tablename__ = "customer_query_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("customer_query.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_file.sha256"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
