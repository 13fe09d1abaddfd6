"""Customer queries [000 §1.126–1.127]: a buyer's caseworker raises a query on one of its cases; the
supplier's office staff and the subcontractor the case is assigned to answer; the thread goes both ways,
with attachments (telephone recordings too). The rules are ``queries``'s; this router only translates.

Scope before role, as for cases: a query outside the caller's scope (another buyer's; for a
subcontractor user, one on a case not assigned to its firm) is 404, never 403. Every change is audited,
every view by a buyer or subcontractor user too, and every download whoever makes it. Changes are
committed before the answer, so that the caller's next request sees them.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.checks import invalid
from api.deps import DB, OfficeStaffOrBuyer, Principal, buyer_in_scope, require_roles
from api.errors import SIGNED_IN, WITH_BODY, error, errors
from api.schemas.common import INT4_MAX, Id, Limit, Offset, Text
from api.schemas.queries import (
    AllocationIn,
    AttachmentOut,
    MessageIn,
    QueryDetailOut,
    QueryIn,
    QueryOut,
    QueryPage,
    StatusIn,
    TermOut,
    TermsIn,
    TermsOut,
)
from api.uploads import receive_file, upload_body
from core import NotFound, get_settings
from core.models import Buyer, QueryStatus, Role
from queries import (
    ESCALATION_CATEGORIES,
    MAX_BYTES,
    PARTIES,
    QUERY_TYPES,
    Caller,
    FileRefused,
    FileTooLarge,
    FileTypeRefused,
    IncomingFile,
    NotAllowed,
    QueryDetail,
    QueryError,
    QueryFilter,
    Term,
    Vocabulary,
    allocate,
    attach,
    buyer_terms,
    change_status,
    check_attachable,
    list_queries,
    open_attachment,
    post_message,
    raise_query,
    read_query,
    replace_terms,
)

router = APIRouter(prefix="/queries", tags=["queries"], responses=errors(*SIGNED_IN))

Party = Annotated[Principal, Depends(require_roles(*PARTIES))]
# Each buyer specifies its own lists [000 §1.127]; an admin may put any buyer's right.
TermsEditor = Annotated[Principal, Depends(require_roles(Role.buyer, Role.admin))]
QueryId = Annotated[int, Path(ge=1, le=INT4_MAX)]
AttachmentId = Annotated[int, Path(ge=1, le=INT4_MAX)]
BuyerQuery = Annotated[Text | None, Query(description="a buyer's reference: staff name one; a buyer may name only "
                                                      "itself")]
FIELD = "file"

NO_QUERY = error(404, "no such query in the caller's scope")
REFUSED = error(409, "the query's state refuses the change (rule_id R-QUERY-STATUS or R-QUERY-CLOSED)")
NOT_PARTY = error(403, "the signed-in role takes no part in queries, or may not make this change")
NO_BUYER = error(404, "no such buyer, or another buyer than the caller's own")


def _caller(principal: Principal) -> Caller:
    return Caller(principal.user_id, principal.username, principal.role, principal.buyer_id,
                  principal.subcontractor_id)


@contextmanager
def _answers() -> Iterator[None]:
    """The queries package's refusals as HTTP answers; a ``DomainError`` goes on to the app's 409."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except FileTooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except FileTypeRefused as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from None
    except (QueryError, FileRefused) as exc:
        raise invalid(("body", exc.field), exc.message, "") from None


def _detail(found: QueryDetail) -> QueryDetailOut:
    return QueryDetailOut(**asdict(found.query), text=found.text, messages=[asdict(m) for m in found.messages],
                          attachments=[asdict(a) for a in found.attachments],
                          history=[asdict(c) for c in found.history])


def _terms_buyer(db: Session, principal: Principal, reference: str | None) -> Buyer:
    buyer = buyer_in_scope(db, principal, reference)
    if buyer is None:
        raise invalid(("query", "buyer"), "staff name the buyer (its reference) whose list this is", None)
    return buyer


def _terms_out(buyer: Buyer, items: list[Term]) -> TermsOut:
    return TermsOut(buyer=buyer.reference, items=[TermOut(**asdict(t)) for t in items])


def _read_terms(db: Session, principal: Principal, reference: str | None, vocab: Vocabulary) -> TermsOut:
    buyer = _terms_buyer(db, principal, reference)
    return _terms_out(buyer, buyer_terms(db, _caller(principal), vocab, buyer.id, buyer.reference))


def _write_terms(db: Session, principal: Principal, reference: str | None, vocab: Vocabulary,
                 body: TermsIn) -> TermsOut:
    buyer = _terms_buyer(db, principal, reference)
    with _answers():
        items = replace_terms(db, vocab, buyer.id, [Term(**t.model_dump()) for t in body.items], _caller(principal),
                              buyer.reference)
    db.commit()
    return _terms_out(buyer, items)


@router.get("/types", response_model=TermsOut, responses={**NO_BUYER, **errors(422)})
def get_types(db: DB, principal: OfficeStaffOrBuyer, buyer: BuyerQuery = None) -> TermsOut:
    """The buyer's query types, in its order, retired ones too (``active`` false). A buyer that has
    configured none has the default set (22 types)."""
    return _read_terms(db, principal, buyer, QUERY_TYPES)


@router.put("/types", response_model=TermsOut, responses={**NO_BUYER, **errors(*WITH_BODY)})
def put_types(body: TermsIn, db: DB, principal: TermsEditor, buyer: BuyerQuery = None) -> TermsOut:
    """Replace the buyer's query types (up to 200) with ``items``, in that order; a type left out is
    retired (queries keep naming it) and comes back when listed again. Audited before and after."""
    return _write_terms(db, principal, buyer, QUERY_TYPES, body)


@router.get("/escalation-categories", response_model=TermsOut, responses={**NO_BUYER, **errors(422)})
def get_escalation_categories(db: DB, principal: OfficeStaffOrBuyer, buyer: BuyerQuery = None) -> TermsOut:
    """The buyer's escalation categories (its escalation routes), in its order; the default set (6)
    until the buyer sets its own."""
    return _read_terms(db, principal, buyer, ESCALATION_CATEGORIES)


@router.put("/escalation-categories", response_model=TermsOut, responses={**NO_BUYER, **errors(*WITH_BODY)})
def put_escalation_categories(body: TermsIn, db: DB, principal: TermsEditor, buyer: BuyerQuery = None) -> TermsOut:
    """Replace the buyer's escalation categories, as ``PUT /queries/types`` does its types."""
    return _write_terms(db, principal, buyer, ESCALATION_CATEGORIES, body)


@router.post("", response_model=QueryDetailOut, status_code=status.HTTP_201_CREATED,
             responses={**errors(*WITH_BODY), **NOT_PARTY, **error(404, "no such case in the caller's buyer scope")})
def post_query(body: QueryIn, db: DB, principal: Party) -> QueryDetailOut:
    """Raise a query on one of the buyer's cases (buyer caseworkers only): one of the buyer's query
    types, up to 10,000 characters of text, allocated to the caseworker raising it unless another
    caseworker of the same buyer is named. It starts ``open``."""
    with _answers():
        found = raise_query(db, _caller(principal), case_id=body.case_id, type_code=body.type, text=body.text,
                            allocated_to=body.allocated_to)
    db.commit()
    return _detail(found)


@router.get("", response_model=QueryPage, responses=NO_BUYER)
def get_queries(db: DB, principal: Party,
                status_: Annotated[QueryStatus | None, Query(alias="status")] = None,
                case_id: Annotated[Id | None, Query()] = None,
                allocated_to: Annotated[Text | None, Query(description="a caseworker's username")] = None,
                type_: Annotated[Text | None, Query(alias="type", description="a query type's code")] = None,
                buyer: BuyerQuery = None, limit: Limit = 50, offset: Offset = 0) -> QueryPage:
    """The queries the caller can see, newest first, filtered by status, case, allocated caseworker,
    query type and (staff) buyer; the filters combine with AND. A buyer's caseworker sees its buyer's,
    a subcontractor user those on cases assigned to its firm, the supplier's office staff all."""
    chosen = buyer_in_scope(db, principal, buyer)
    filters = QueryFilter(status_.value if status_ else None, case_id, allocated_to, type_,
                          chosen.id if chosen else None)
    total, items = list_queries(db, _caller(principal), filters, limit=limit, offset=offset)
    return QueryPage(total=total, limit=limit, offset=offset, items=[QueryOut(**asdict(q)) for q in items])


@router.get("/{query_id}", response_model=QueryDetailOut, responses=NO_QUERY)
def get_query(query_id: QueryId, db: DB, principal: Party) -> QueryDetailOut:
    """The query with its text, its thread, its attachments and the history of every status and
    allocation change, each with who and when."""
    with _answers():
        return _detail(read_query(db, _caller(principal), query_id))


@router.post("/{query_id}/messages", response_model=QueryDetailOut, status_code=status.HTTP_201_CREATED,
             responses={**errors(*WITH_BODY), **NO_QUERY, **REFUSED})
def post_query_message(query_id: QueryId, body: MessageIn, db: DB, principal: Party) -> QueryDetailOut:
    """Add a message to the thread, from either side. A buyer's message puts the query in
    ``awaiting_supplier``, the supplier's or subcontractor's in ``awaiting_buyer``; an escalated query
    stays escalated; a closed one takes no message (409, reopen it first)."""
    with _answers():
        found = post_message(db, _caller(principal), query_id, body.text)
    db.commit()
    return _detail(found)


@router.post("/{query_id}/status", response_model=QueryDetailOut,
             responses={**errors(*WITH_BODY), **NO_QUERY, **REFUSED, **NOT_PARTY})
def post_query_status(query_id: QueryId, body: StatusIn, db: DB, principal: Party) -> QueryDetailOut:
    """Set the status by hand, with an optional note. Only the buyer escalates, naming one of its
    escalation categories; a subcontractor user may set only ``awaiting_buyer`` or
    ``awaiting_supplier``; a closed query can only be reopened (``open``)."""
    with _answers():
        found = change_status(db, _caller(principal), query_id, body.status,
                              escalation_category=body.escalation_category, note=body.note)
    db.commit()
    return _detail(found)


@router.post("/{query_id}/allocation", response_model=QueryDetailOut,
             responses={**errors(*WITH_BODY), **NO_QUERY, **REFUSED, **NOT_PARTY})
def post_query_allocation(query_id: QueryId, body: AllocationIn, db: DB, principal: Party) -> QueryDetailOut:
    """Allocate the query to a caseworker of its buyer, the caller itself included (buyer caseworkers
    and admins); anyone else named is a 422 naming ``allocated_to``."""
    with _answers():
        found = allocate(db, _caller(principal), query_id, body.allocated_to)
    db.commit()
    return _detail(found)


@router.post("/{query_id}/attachments", response_model=AttachmentOut, status_code=status.HTTP_201_CREATED,
             openapi_extra={"requestBody": upload_body(FIELD, "the file: a document, picture or telephone "
                                                              "recording of at most 25 MiB")},
             responses={**errors(400), **NO_QUERY, **REFUSED,
                        **error(413, f"the file is larger than {MAX_BYTES:,} bytes (25 MiB); nothing was kept"),
                        **error(415, "not a form, or a file whose content is of a type a query does not take")})
async def post_query_attachment(query_id: QueryId, request: Request, db: DB, principal: Party) -> AttachmentOut:
    """Attach a file, sent as ``multipart/form-data`` in the field ``file``. Its type is detected from its
    content, never its name (PDF; PNG, JPEG, GIF, WebP, TIFF; MP3, WAV, M4A, Ogg, FLAC, AMR; DOCX, XLSX,
    ODT, ODS without macros; plain text and CSV). It is stored once per content, under its SHA-256,
    outside anything the server serves."""
    caller = _caller(principal)
    with _answers():
        await run_in_threadpool(check_attachable, db, caller, query_id)
    # Nothing is held open while the client sends the file, which may take long.
    await run_in_threadpool(db.commit)
    with _answers(), IncomingFile(get_settings().files_dir) as incoming:
        filename = await receive_file(request, FIELD, incoming.write, MAX_BYTES)
        content = await run_in_threadpool(incoming.finish)
        found = await run_in_threadpool(attach, db, caller, query_id, content, filename)
    await run_in_threadpool(db.commit)
    return AttachmentOut(**asdict(found))


@router.get("/{query_id}/attachments/{attachment_id}", response_class=FileResponse,
            responses={200: {"description": "the file, always as an attachment (Content-Disposition: attachment, "
                                            "X-Content-Type-Options: nosniff), with its detected type",
                             "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}},
                       **error(404, "no such query or attachment in the caller's scope")})
def get_query_attachment(query_id: QueryId, attachment_id: AttachmentId, db: DB, principal: Party) -> FileResponse:
    """Download an attachment. It is never shown inline, whatever it is; every download is audited."""
    with _answers():
        download = open_attachment(db, _caller(principal), query_id, attachment_id, get_settings().files_dir)
    # The audit row is stored before a byte is sent.
    db.commit()
    return FileResponse(download.path, media_type=download.content_type, filename=download.filename,
                        content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})
