"""The ANPR vendors' webhooks: ``POST /anpr/webhooks/platerecognizer`` and ``POST /anpr/webhooks/openalpr``
take the bodies the vendors send, as they send them, into the same pipeline as the vans' MQTT reads
(``anpr_ingest``: decode, match against the hotlist, ``AnprStore`` in one transaction).

- Who: a van device, by HTTP Basic (its ``device_id`` and secret; a vendor's webhook target carries
  them as ``https://device:secret@host/anpr/webhooks/…``). The reads are that device's van's: no
  body names a van (they carry camera ids, which are not trusted for anything).
- What: at most :data:`MAX_BODY` bytes, refused with 413 before more is read. Plate Recognizer:
  Snapshot's JSON, or Stream's ``multipart/form-data`` with the JSON in the field ``json`` (the
  ``upload`` image part is skipped as it is parsed, never kept). OpenALPR: JSON.
- After the commit, each sighting the body started is alerted to the nearest available agent, as the
  MQTT worker's are (``api.alerting``).
- Answer: 200 ``{"reads", "hits", "rejected"}`` once the body was understood, even when some or all of
  its reads were refused: they are dead-lettered with their field and reason, and a vendor re-sending
  them would only be refused again. A body that is not a JSON object at all (or a form without its
  ``json`` field) is dead-lettered too, then answered 422 naming ``body`` (or ``json``).

Never a plate in an answer or a log line: the decoder's reasons quote no value (R-ANPR-PRIVACY).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from anpr_ingest import (
    AnprStore,
    DecodedReads,
    HotlistUnavailable,
    Incoming,
    Taken,
    decode_openalpr,
    decode_platerecognizer,
    digest_key,
    match_reads,
    require_hotlist,
    take_webhook,
)
from api.alerting import alert_new_sightings
from api.checks import invalid
from api.deps import CurrentVanDevice, Hotlist, LiveHotlist, VanDevice
from api.errors import error
from api.schemas.anpr import WebhookReceipt
from core import get_settings, raw_connection

MAX_BODY = 1 << 20  # bytes, as anpr_ingest's own limit on a payload
PREFIX = "/anpr/webhooks"
# The decoder's path of a whole body it refused, and the multipart field holding Stream's JSON.
WHOLE_BODY = "payload"
JSON_FIELD = "json"

router = APIRouter(prefix=PREFIX, tags=["anpr"], responses={
    **error(401, "no HTTP Basic credentials of an active van device (one message whatever was wrong)"),
    **error(413, f"the body is larger than {MAX_BODY} bytes; nothing was read past the limit"),
    **error(422, "the body is not a JSON object (field body), or a form without its json field (field json); "
                 "it was dead-lettered"),
    **error(503, "Redis holds no hotlist yet (being rebuilt after a restart): send the webhook again"),
})


def _json_body(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": example}}}


_PR_EXAMPLE = {"hook": {"target": "https://van-7:secret@bailiwick.example/anpr/webhooks/platerecognizer",
                        "id": "camera-1", "event": "recognition"},
               "data": {"camera_id": "camera-1", "timestamp": "2026-03-02T09:00:34.123Z", "filename": "cam1.jpg",
                        "results": [{"plate": "ab12cde", "score": 0.91,
                                     "candidates": [{"plate": "ab12cde", "score": 0.91}]}]}}
_PR_BODY = _json_body("Snapshot's webhook JSON (hook.event image.done), or Stream's (recognition)", _PR_EXAMPLE)
_PR_BODY["content"]["multipart/form-data"] = {"schema": {
    "type": "object", "required": [JSON_FIELD],
    "properties": {JSON_FIELD: {"type": "string", "description": "the same JSON, as Stream sends it"},
                   "upload": {"type": "string", "format": "binary",
                              "description": "the frame, when Stream is set to send it: ignored, never stored"}}}}
_OPENALPR_BODY = _json_body(
    "an OpenALPR message: the agent's alpr_group (v1 or v2) or per-frame results (alprd, alpr_results)",
    {"data_type": "alpr_group", "version": 2, "epoch_start": 1772442034123, "camera_id": 1414799424,
     "gps_latitude": 50.3755, "gps_longitude": -4.1427, "travel_direction": 90.0,
     "best_plate": {"plate": "AB12CDE", "confidence": 92.1,
                    "candidates": [{"plate": "AB12CDE", "confidence": 92.1}]}})


def _too_large() -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the body is larger than {MAX_BODY} bytes")


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to pass :data:`MAX_BODY`: by its declared
    length before any of it is read, else once the bytes read pass it (a chunked or lying sender)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large()
    return bytes(body)


def _form_field(body: bytes, content_type: str, name: str) -> bytes | None:
    """The field ``name`` of a ``multipart/form-data`` body, or None when it has none (or is not a
    form). Parsed in memory; the other parts' data (Stream's image) is skipped as it passes."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        return None
    field, value = bytearray(), bytearray()
    part: dict[str, Any] = {}
    found: list[bytes] = []

    def on_part_begin() -> None:
        part.update(data=bytearray(), ours=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def on_header_end() -> None:
        if bytes(field).lower() == b"content-disposition":
            part["ours"] = parse_options_header(bytes(value))[1].get(b"name") == name.encode()
        field.clear()
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part["ours"]:
            part["data"] += data[start:end]

    def on_part_end() -> None:
        if part["ours"]:
            found.append(bytes(part["data"]))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError:
        return None
    return found[0] if found else None


def _commit(taken: Taken, hotlist: Hotlist) -> int:
    """Match and store ``taken`` in one transaction, then alert the sightings it started; the new hits.
    ``HotlistUnavailable`` while Redis has no hotlist (a restart, until the ingest's admission rebuilds
    it): matched then, every hit would be missed."""
    require_hotlist(hotlist.client, namespace=hotlist.namespace)
    reads = match_reads(taken, hotlist.client, get_settings().anpr_match_threshold, namespace=hotlist.namespace)
    with raw_connection() as conn:
        written = AnprStore(conn, digest_key()).commit(reads, taken.letters)
        alert_new_sightings(conn, written.new_sightings, hotlist.client, hotlist.namespace)
    return written.hits


async def _take(decode: Callable[[bytes, datetime], DecodedReads], route: str, body: bytes | None, raw: bytes,
                device: VanDevice, hotlist: Hotlist) -> WebhookReceipt:
    """Decode ``body`` (None: the form had no ``json`` field, and ``raw`` is dead-lettered instead),
    commit, and answer: 422 when the whole body was refused, after its dead letter is stored."""
    now = datetime.now(UTC)
    # A vendor re-sends a body it got no 2xx for: marked as possibly seen, its letters are not
    # written twice (its hits never are: one per device, time and mark).
    if body is None:
        incoming = Incoming(route, raw, now, redelivered=True)
        taken = Taken([], [])
        taken.letter(incoming, device.device_id, JSON_FIELD,
                     f"a multipart body must carry the reads in a form field named {JSON_FIELD}")
    else:
        taken = take_webhook(decode, Incoming(route, body, now, redelivered=True), device.device_id,
                             device.van_id, now)
    try:
        hits = await run_in_threadpool(_commit, taken, hotlist)
    except HotlistUnavailable:
        # The vendor sends the body again after a non-2xx answer, so nothing is lost.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the hotlist is being rebuilt: send the "
                            "webhook again shortly", headers={"Retry-After": "5"}) from None
    refused = next((letter for letter in taken.letters if letter.field in (WHOLE_BODY, JSON_FIELD)), None)
    if refused is not None:
        raise invalid(("body",) if refused.field == WHOLE_BODY else ("body", JSON_FIELD), refused.reason, "")
    return WebhookReceipt(reads=len(taken.reads), hits=hits, rejected=len(taken.letters))


@router.post("/platerecognizer", response_model=WebhookReceipt, openapi_extra={"requestBody": _PR_BODY})
async def platerecognizer_webhook(request: Request, device: CurrentVanDevice, hotlist: LiveHotlist) -> WebhookReceipt:
    """A Plate Recognizer webhook: Snapshot's JSON, or Stream's multipart form with the JSON in ``json``.
    Reads carry no position (the van's GPS track has it); the time is the frame's."""
    raw = await _read_body(request)
    content_type = request.headers.get("content-type", "")
    is_form = content_type.split(";")[0].strip().lower() == "multipart/form-data"
    body = _form_field(raw, content_type, JSON_FIELD) if is_form else raw
    return await _take(decode_platerecognizer, PREFIX + "/platerecognizer", body, raw, device, hotlist)


@router.post("/openalpr", response_model=WebhookReceipt, openapi_extra={"requestBody": _OPENALPR_BODY})
async def openalpr_webhook(request: Request, device: CurrentVanDevice, hotlist: LiveHotlist) -> WebhookReceipt:
    """An OpenALPR (Rekor) agent's or ``alprd``'s JSON; other agent messages (heartbeats) take no read."""
    raw = await _read_body(request)
    return await _take(decode_openalpr, PREFIX + "/openalpr", raw, raw, device, hotlist)
