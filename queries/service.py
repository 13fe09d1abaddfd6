"""Customer queries as callers use them: raise, answer, move, allocate, attach and read, each within the
caller's scope (``NotFound`` outside it, whatever the reason), each change written with its history row
and audit row in the caller's transaction [000 §1.126: auditable, all updates], and each view by a buyer
or subcontractor user audited. The API routes and the portal pages call these, so that both keep the
same rules."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core import NotFound, case_in_scope, record_audit
from core.models import (
    CustomerQuery,
    QueryAttachment,
    QueryChange,
    QueryChangeKind,
    QueryMessage,
    QueryStatus,
    Role,
    StoredFile,
    User,
)
from queries.files import StoredContent, content_path, download_name
from queries.rules import (
    ALLOCATORS,
    Caller,
    NotAllowed,
    QueryError,
    check_may_set,
    check_not_closed,
    check_party,
    check_text,
    check_transition,
    status_after_message,
)
from queries.store import (
    Attachment,
    QueryDetail,
    QueryFilter,
    QuerySummary,
    attachment,
    detail,
    query_row,
    summaries,
)
from queries.vocabulary import (
    ESCALATION_CATEGORIES,
    QUERY_TYPES,
    Term,
    Vocabulary,
    term_id,
    terms,
)

log = logging.getLogger("bailiwick.queries")
# The outside parties whose every view is audited: the buyer portal's users [000 §1.126].
AUDITED_VIEWERS = frozenset({Role.buyer, Role.subcontractor})


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    content_type: str
    size_bytes: int


def _audit(db: Session, caller: Caller, action: str, target: str | None, data: dict[str, Any] | None = None) -> None:
    record_audit(db, actor=caller.actor, role=caller.role.value, buyer_id=caller.buyer_id, action=action,
                 target=target, data=data)


def _audit_view(db: Session, caller: Caller, action: str, target: str | None,
                data: dict[str, Any] | None = None) -> None:
    if caller.role in AUDITED_VIEWERS:
        _audit(db, caller, action, target, data)


def _record_change(db: Session, query: CustomerQuery, kind: QueryChangeKind, caller: Caller,
                   note: str | None = None) -> None:
    """The history row of a change: the state the query is left in, who, and when."""
    db.add(QueryChange(query_id=query.id, kind=kind.value, status=query.status, allocated_to_id=query.allocated_to_id,
                       escalation_category_id=query.escalation_category_id, note=note, by_id=caller.user_id,
                       role=caller.role.value))


def _caseworker(db: Session, buyer_id: int, username: str) -> int:
    found = db.scalar(select(User.id).where(User.username == username, User.role == Role.buyer.value,
                                            User.buyer_id == buyer_id, User.active))
    if found is None:
        raise QueryError("allocated_to", f"{username!r} is not an active caseworker of the query's buyer")
    return found


def raise_query(db: Session, caller: Caller, *, case_id: int, type_code: str, text: str,
                allocated_to: str | None = None) -> QueryDetail:
    """A buyer's caseworker raises a query on one of its buyer's cases, allocated to itself unless it
    names another caseworker of its buyer."""
    check_party(caller)
    if caller.role != Role.buyer:
        raise NotAllowed("a query is raised by one of the buyer's caseworkers")
    case_in_scope(db, case_id, caller.buyer_id)
    type_id = term_id(db, QUERY_TYPES, caller.buyer_id, type_code)
    check_text("text", text)
    allocated_id = caller.user_id if allocated_to is None else _caseworker(db, caller.buyer_id, allocated_to)
    query = CustomerQuery(buyer_id=caller.buyer_id, case_id=case_id, type_id=type_id, text=text,
                          status=QueryStatus.open.value, allocated_to_id=allocated_id, raised_by_id=caller.user_id)
    db.add(query)
    db.flush()
    _record_change(db, query, QueryChangeKind.raised, caller)
    _audit(db, caller, "query.raise", f"query:{query.id}",
           {"case_id": case_id, "type": type_code, "allocated_to_id": allocated_id, "chars": len(text)})
    return detail(db, caller, query.id)


def post_message(db: Session, caller: Caller, query_id: int, text: str) -> QueryDetail:
    """A message on the thread, from either side; it puts the query in the other side's hands."""
    check_party(caller)
    query = query_row(db, caller, query_id)
    check_text("text", text)
    status = status_after_message(QueryStatus(query.status), caller.side)
    message = QueryMessage(query_id=query.id, author_id=caller.user_id, role=caller.role.value, body=text)
    db.add(message)
    db.flush()
    if status != query.status:
        query.status = status.value
        _record_change(db, query, QueryChangeKind.message, caller)
    query.updated_at = func.now()
    _audit(db, caller, "query.message", f"query:{query.id}", {"message_id": message.id, "chars": len(text),
                                                               "status": query.status})
    return detail(db, caller, query_id)


def change_status(db: Session, caller: Caller, query_id: int, status: QueryStatus, *,
                  escalation_category: str | None = None, note: str | None = None) -> QueryDetail:
    """Set a query's status by hand (``rules.check_may_set``, ``rules.check_transition``). Escalating
    names one of the buyer's escalation categories, and only escalating does."""
    check_party(caller)
    query = query_row(db, caller, query_id)
    check_may_set(caller, status)
    if note is not None:
        check_text("note", note)
    category_id = None
    if status == QueryStatus.escalated:
        if escalation_category is None:
            raise QueryError("escalation_category", "escalating names one of the buyer's escalation categories")
        category_id = term_id(db, ESCALATION_CATEGORIES, query.buyer_id, escalation_category)
    elif escalation_category is not None:
        raise QueryError("escalation_category", "only escalating names an escalation category")
    before = QueryStatus(query.status)
    check_transition(before, status, new_category=category_id != query.escalation_category_id)
    query.status, query.escalation_category_id = status.value, category_id
    query.closed_at = func.now() if status == QueryStatus.closed else None
    query.updated_at = func.now()
    _record_change(db, query, QueryChangeKind.status, caller, note)
    _audit(db, caller, "query.status", f"query:{query.id}",
           {"from": before.value, "to": status.value, "escalation_category": escalation_category, "note": note})
    return detail(db, caller, query_id)


def allocate(db: Session, caller: Caller, query_id: int, username: str) -> QueryDetail:
    """Allocate a query to one of its buyer's caseworkers, the caller itself included."""
    check_party(caller)
    query = query_row(db, caller, query_id)
    if caller.role not in ALLOCATORS:
        raise NotAllowed("a query is allocated by the buyer's caseworkers (or an admin)")
    check_not_closed(QueryStatus(query.status), "allocating it")
    before = query.allocated_to_id
    query.allocated_to_id = _caseworker(db, query.buyer_id, username)
    query.updated_at = func.now()
    _record_change(db, query, QueryChangeKind.allocated, caller)
    _audit(db, caller, "query.allocate", f"query:{query.id}", {"from_id": before, "to_id": query.allocated_to_id})
    return detail(db, caller, query_id)


def _attachable(db: Session, caller: Caller, query_id: int, *, lock: bool) -> CustomerQuery:
    check_party(caller)
    query = query_row(db, caller, query_id, lock=lock)
    check_not_closed(QueryStatus(query.status), "attaching a file")
    return query


def check_attachable(db: Session, caller: Caller, query_id: int) -> None:
    """Whether the caller may attach a file to the query, asked before a byte of the file is read (and
    without a lock, which the upload would hold for as long as the client takes to send it)."""
    _attachable(db, caller, query_id, lock=False)


def attach(db: Session, caller: Caller, query_id: int, content: StoredContent, filename: str | None) -> Attachment:
    """Record a received file (``files.IncomingFile``, already in the store) as an attachment of the
    query: its content's row once, however many times it is attached."""
    query = _attachable(db, caller, query_id, lock=True)
    db.execute(insert(StoredFile).values(sha256=content.sha256, size_bytes=content.size_bytes,
                                         content_type=content.content_type)
               .on_conflict_do_nothing(index_elements=["sha256"]))
    row = QueryAttachment(query_id=query_id, sha256=content.sha256,
                          filename=download_name(filename, content.content_type), uploaded_by_id=caller.user_id,
                          role=caller.role.value)
    db.add(row)
    db.flush()
    query.updated_at = func.now()
    _audit(db, caller, "query.attach", f"query:{query_id}",
           {"attachment_id": row.id, "sha256": content.sha256, "content_type": content.content_type,
            "size_bytes": content.size_bytes, "filename": row.filename})
    return attachment(db, caller, query_id, row.id)


def read_query(db: Session, caller: Caller, query_id: int) -> QueryDetail:
    check_party(caller)
    found = detail(db, caller, query_id)
    _audit_view(db, caller, "query.view", f"query:{query_id}")
    return found


def list_queries(db: Session, caller: Caller, filters: QueryFilter, *, limit: int,
                 offset: int) -> tuple[int, list[QuerySummary]]:
    check_party(caller)
    total, items = summaries(db, caller, filters, limit=limit, offset=offset)
    _audit_view(db, caller, "query.list", None,
                {k: v for k, v in asdict(filters).items() if v is not None} | {"results": len(items)})
    return total, items


def open_attachment(db: Session, caller: Caller, query_id: int, attachment_id: int, files_dir: Path) -> Download:
    """An attachment's content to send, audited whoever downloads it. Its bytes missing from the store
    (a store restored without them) is ``NotFound`` too, and logged."""
    check_party(caller)
    found = attachment(db, caller, query_id, attachment_id)
    path = content_path(files_dir, found.sha256)
    if not path.is_file():
        log.error("attachment %s of query %s: content %s missing from %s", attachment_id, query_id, found.sha256,
                  files_dir)
        raise NotFound(f"attachment {attachment_id} of query {query_id}: its content is missing from the file store")
    _audit(db, caller, "query.attachment_download", f"query_attachment:{attachment_id}",
           {"query_id": query_id, "sha256": found.sha256, "filename": found.filename})
    return Download(path, found.filename, found.content_type, found.size_bytes)


def buyer_terms(db: Session, caller: Caller, vocab: Vocabulary, buyer_id: int, buyer_reference: str) -> list[Term]:
    """A buyer's query types or escalation categories, as the caller reads them."""
    found = terms(db, vocab, buyer_id)
    _audit_view(db, caller, f"query.{vocab.plural}_view", f"buyer:{buyer_reference}")
    return found
