"""Case placement: ``POST /cases`` (one case, JSON) and ``POST /cases/bulk`` (CSV or JSON lines, up to
:data:`MAX_BULK_ROWS` data rows, streamed). Validation and storage are :mod:`core.placement`.

Who places for whom: a buyer user for its own buyer only (naming another buyer answers 404, the same
as an unknown buyer, so other buyers' existence does not leak); admin and dispatcher for any buyer,
named by ``buyer`` (a JSON field for ``POST /cases``, ``?buyer=`` for bulk).

``POST /cases`` answers 201 with the new case, or 200 with the stored case when that buyer reference
was placed before (idempotent re-send; the stored case is not changed).

``POST /cases/bulk`` reads the body as it arrives (a worker thread validates and stores batches while
the event loop keeps reading), so memory is bounded by the batch size, not the file. The whole upload
is one transaction: the receipt describes exactly what was committed. More than
:data:`MAX_BULK_ROWS` data rows answer 413 and store nothing (the limit is noticed on the first row
beyond it; the rest of the body is not read). The format is taken from the content type
(``text/csv``; ``application/x-ndjson`` / ``application/jsonl``) or, failing that, sniffed: a body
starting with ``{`` is JSON lines.
"""
from __future__ import annotations

import asyncio
import codecs
import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import DB, DispatchStaffOrBuyer, Principal
from api.errors import WITH_BODY, error, errors
from api.schemas.cases import CaseOut, PlacementBody, PlacementReceipt
from api.schemas.common import Text
from core import (
    BadUpload,
    TooManyRows,
    csv_field,
    json_field,
    load_cases,
    place_batch,
    place_stream,
    read_csv,
    read_jsonl,
    record_audit,
    session_scope,
)
from core.models import Buyer

router = APIRouter(tags=["case_intake"], responses={**errors(*WITH_BODY), **error(404, "no such buyer")})

MAX_BULK_ROWS = 100_000
_JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines")
_QUEUED_CHUNKS = 16  # body chunks read ahead of the worker (~64 KB each): the memory bound of the pipe


def _buyer(db: Session, principal: Principal, reference: str | None) -> tuple[int, str]:
    """The (id, reference) of the buyer this principal places for."""
    if principal.is_buyer:
        own = db.scalar(select(Buyer.reference).where(Buyer.id == principal.buyer_id))
        if reference is not None and reference != own:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"buyer {reference!r} not found")
        return principal.buyer_id, own
    if reference is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "buyer is required: staff name the buyer (reference) they place cases for")
    buyer_id = db.scalar(select(Buyer.id).where(Buyer.reference == reference))
    if buyer_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"buyer {reference!r} not found")
    return buyer_id, reference


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": CaseOut, "description": "already placed: the stored case, unchanged"}})
def place_case(body: PlacementBody, db: DB, principal: DispatchStaffOrBuyer, response: Response):
    buyer_id, _ = _buyer(db, principal, body.buyer)
    result = place_batch(db, buyer_id, [(1, body)], actor=principal.actor, source="api")
    if result.errors:
        errors = [{"field": e.field, "message": e.reason} for e in result.errors]
        return JSONResponse({"detail": "invalid request: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                             "errors": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    if result.already_present:
        response.status_code = status.HTTP_200_OK
    case = load_cases(db, [result.case_ids[1]])[0]
    # Committed before answering, so a client's next request (a re-send, a GET) sees the case.
    db.commit()
    return case


def _lines(chunks: queue.Queue[bytes | None]) -> Iterator[str]:
    """Text lines (ends kept, as csv wants) from the queued body chunks. Bad UTF-8 becomes U+FFFD and
    spoils only its own row; a byte-order mark is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    while (chunk := chunks.get()) is not None:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _offer(chunks: queue.Queue[bytes | None], item: bytes | None, stopped: threading.Event) -> bool:
    """Hand a chunk to the worker; False once the worker has stopped (it will read no more)."""
    while not stopped.is_set():
        try:
            chunks.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _is_jsonl(content_type: str, first_line: str | None) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    if kind in _JSONL_TYPES:
        return True
    if kind == "text/csv":
        return False
    return first_line is not None and first_line.lstrip().startswith("{")


@router.post("/cases/bulk", response_model=PlacementReceipt, openapi_extra={"requestBody": {"content": {
    "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}},
    responses=error(413, f"more than {MAX_BULK_ROWS:,} data rows; nothing was stored"))
async def place_bulk(request: Request, principal: DispatchStaffOrBuyer, buyer: Text | None = None) -> PlacementReceipt:
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_CHUNKS)
    stopped = threading.Event()
    content_type = request.headers.get("content-type", "")
    actor = principal.actor

    def work() -> PlacementReceipt:
        try:
            with session_scope() as db:
                buyer_id, buyer_reference = _buyer(db, principal, buyer)
                lines = _lines(chunks)
                first = next(lines, None)
                lines = itertools.chain([first] if first is not None else [], lines)
                jsonl = _is_jsonl(content_type, first)
                records = read_jsonl(lines) if jsonl else read_csv(lines)
                receipt = place_stream(db, buyer_id, buyer_reference, records, actor=actor,
                                       source="bulk", namer=json_field if jsonl else csv_field,
                                       limit=MAX_BULK_ROWS)
                summary = {k: v for k, v in asdict(receipt).items() if k != "errors"}
                record_audit(db, actor=actor, role=principal.role.value, buyer_id=buyer_id,
                             action="cases.bulk_placed", target=f"buyer:{buyer_reference}",
                             data={**summary, "format": "jsonl" if jsonl else "csv"})
                return PlacementReceipt(**summary, errors=[asdict(e) for e in receipt.errors])
        finally:
            stopped.set()

    worker = asyncio.ensure_future(run_in_threadpool(work))
    async for chunk in request.stream():
        if chunk and not await run_in_threadpool(_offer, chunks, chunk, stopped):
            break
    await run_in_threadpool(_offer, chunks, None, stopped)
    try:
        return await worker
    except TooManyRows as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except BadUpload as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
