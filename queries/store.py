"""The SQL of customer queries: which queries a caller can see, and reading them (the list with its
filters, one query with its thread, attachments and history). Writing is ``service``'s."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, false, func, select, true
from sqlalchemy.orm import Session, aliased

from core import NotFound
from core.models import (
    Buyer,
    Case,
    CustomerQuery,
    EscalationCategory,
    QueryAttachment,
    QueryChange,
    QueryMessage,
    QueryType,
    Role,
    StoredFile,
    User,
)
from queries.rules import SUPPLIER_ROLES, Caller

PREVIEW_CHARS = 200


@dataclass(frozen=True)
class QueryFilter:
    """The list's filters; each one given narrows it (AND)."""

    status: str | None = None
    case_id: int | None = None
    allocated_to: str | None = None  # a caseworker's username
    type: str | None = None  # a query type's code
    buyer_id: int | None = None


@dataclass(frozen=True)
class QuerySummary:
    id: int
    case_id: int
    buyer: str
    type: str
    type_label: str
    status: str
    allocated_to: str
    escalation_category: str | None
    escalation_category_label: str | None
    raised_by: str
    raised_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    preview: str


@dataclass(frozen=True)
class Message:
    id: int
    author: str
    role: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Attachment:
    id: int
    query_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    role: str
    at: datetime


@dataclass(frozen=True)
class Change:
    at: datetime
    kind: str
    status: str
    allocated_to: str
    escalation_category: str | None
    note: str | None
    by: str
    role: str


@dataclass(frozen=True)
class QueryDetail:
    query: QuerySummary
    text: str
    messages: list[Message]
    attachments: list[Attachment]
    history: list[Change]


def visible(caller: Caller) -> ColumnElement[bool]:
    """The queries ``caller`` may see: a buyer's caseworker its buyer's; a subcontractor user those on
    cases assigned to its firm; the supplier's office staff every one."""
    if caller.role == Role.buyer:
        return CustomerQuery.buyer_id == caller.buyer_id
    if caller.role == Role.subcontractor:
        return exists().where(Case.id == CustomerQuery.case_id,
                              Case.assigned_subcontractor_id == caller.subcontractor_id)
    return true() if caller.role in SUPPLIER_ROLES else false()


def query_row(db: Session, caller: Caller, query_id: int, *, lock: bool = True) -> CustomerQuery:
    """The query (locked for a change unless ``lock`` is false), or ``NotFound`` when it is missing or
    outside the caller's scope: the same answer, so that existence does not leak."""
    q = select(CustomerQuery).where(CustomerQuery.id == query_id, visible(caller))
    row = db.scalar(q.with_for_update(of=CustomerQuery) if lock else q)
    if row is None:
        raise NotFound(f"query {query_id} not found")
    return row


def _summaries() -> Select:
    allocated, raiser = aliased(User), aliased(User)
    return (select(CustomerQuery.id, CustomerQuery.case_id, Buyer.reference, QueryType.code, QueryType.label,
                   CustomerQuery.status, allocated.username, EscalationCategory.code, EscalationCategory.label,
                   raiser.username, CustomerQuery.raised_at, CustomerQuery.updated_at, CustomerQuery.closed_at,
                   func.left(CustomerQuery.text, PREVIEW_CHARS))
            .join(Buyer, Buyer.id == CustomerQuery.buyer_id)
            .join(QueryType, QueryType.id == CustomerQuery.type_id)
            .join(allocated, allocated.id == CustomerQuery.allocated_to_id)
            .join(raiser, raiser.id == CustomerQuery.raised_by_id)
            .outerjoin(EscalationCategory, EscalationCategory.id == CustomerQuery.escalation_category_id))


def summaries(db: Session, caller: Caller, filters: QueryFilter, *, limit: int,
              offset: int) -> tuple[int, list[QuerySummary]]:
    """The caller's queries matching ``filters``, newest first: the total and one page."""
    q = _summaries().where(visible(caller))
    if filters.status is not None:
        q = q.where(CustomerQuery.status == filters.status)
    if filters.case_id is not None:
        q = q.where(CustomerQuery.case_id == filters.case_id)
    if filters.allocated_to is not None:
        q = q.where(CustomerQuery.allocated_to_id == select(User.id).where(User.username == filters.allocated_to)
                    .scalar_subquery())
    if filters.type is not None:
        q = q.where(QueryType.code == filters.type)
    if filters.buyer_id is not None:
        q = q.where(CustomerQuery.buyer_id == filters.buyer_id)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.execute(q.order_by(CustomerQuery.raised_at.desc(), CustomerQuery.id.desc()).limit(limit).offset(offset))
    return total, [QuerySummary(*row) for row in rows]


def _attachments(db: Session, query_id: int, attachment_id: int | None = None) -> list[Attachment]:
    q = (select(QueryAttachment.id, QueryAttachment.query_id, QueryAttachment.filename, StoredFile.content_type,
                StoredFile.size_bytes, StoredFile.sha256, User.username, QueryAttachment.role, QueryAttachment.at)
         .join(StoredFile, StoredFile.sha256 == QueryAttachment.sha256)
         .join(User, User.id == QueryAttachment.uploaded_by_id)
         .where(QueryAttachment.query_id == query_id)
         .order_by(QueryAttachment.at, QueryAttachment.id))
    if attachment_id is not None:
        q = q.where(QueryAttachment.id == attachment_id)
    return [Attachment(*row) for row in db.execute(q)]


def detail(db: Session, caller: Caller, query_id: int) -> QueryDetail:
    """One query with its text, thread, attachments and history, oldest first; ``NotFound`` outside
    the caller's scope."""
    found = db.execute(_summaries().add_columns(CustomerQuery.text)
                       .where(CustomerQuery.id == query_id, visible(caller))).one_or_none()
    if found is None:
        raise NotFound(f"query {query_id} not found")
    *summary, text = found
    messages = [Message(*row) for row in db.execute(
        select(QueryMessage.id, User.username, QueryMessage.role, QueryMessage.body, QueryMessage.at)
        .join(User, User.id == QueryMessage.author_id)
        .where(QueryMessage.query_id == query_id).order_by(QueryMessage.at, QueryMessage.id))]
    by, allocated = aliased(User), aliased(User)
    history = [Change(*row) for row in db.execute(
        select(QueryChange.at, QueryChange.kind, QueryChange.status, allocated.username, EscalationCategory.code,
               QueryChange.note, by.username, QueryChange.role)
        .join(by, by.id == QueryChange.by_id)
        .join(allocated, allocated.id == QueryChange.allocated_to_id)
        .outerjoin(EscalationCategory, EscalationCategory.id == QueryChange.escalation_category_id)
        .where(QueryChange.query_id == query_id).order_by(QueryChange.at, QueryChange.id))]
    return QueryDetail(QuerySummary(*summary), text, messages, _attachments(db, query_id), history)


def attachment(db: Session, caller: Caller, query_id: int, attachment_id: int) -> Attachment:
    """One attachment of a query the caller can see, or ``NotFound`` (a missing query, another scope's,
    or an attachment of another query: one answer for all)."""
    if db.scalar(select(CustomerQuery.id).where(CustomerQuery.id == query_id, visible(caller))) is None:
        raise NotFound(f"query {query_id} not found")
    found = _attachments(db, query_id, attachment_id)
    if not found:
        raise NotFound(f"attachment {attachment_id} of query {query_id} not found")
    return found[0]
