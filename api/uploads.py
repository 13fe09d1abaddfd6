"""Receiving one file from a ``multipart/form-data`` body as it arrives, for routes that take uploads.

Starlette's own form parsing reads the whole body before the route runs, however large, so a size limit
could only be checked afterwards. Here the body is parsed as it streams in (``python_multipart``, as
Starlette does): the named part's bytes are handed on chunk by chunk, and the body is refused with 413 as
soon as it is known to pass the limit, by its declared length before any of it is read, else once the
bytes read pass it. The other parts of the form are skipped as they pass.
"""
from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request, status
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from api.checks import invalid

# A form's boundaries and part headers around the file: a body may pass the file's limit by this much.
FORM_OVERHEAD = 64 * 1024


def too_large(field: str, limit: int) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                         f"{field}: the upload is larger than {limit:,} bytes ({limit / 2**20:g} MiB), "
                         "the most one file may be")


def upload_body(field: str, description: str) -> dict:
    """The OpenAPI ``requestBody`` of a route taking one file in the form field ``field``."""
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": [field],
        "properties": {field: {"type": "string", "format": "binary", "description": description}}}}}}


class _FilePart:
    """The parser's callbacks: they keep the bytes of the part named ``field`` until handed on."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.found = 0
        self.filename: str | None = None
        self.pending: list[bytes] = []
        self._ours = False
        self._header = bytearray()
        self._value = bytearray()

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_part_data": self._data}

    def take(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        return data

    def _begin(self) -> None:
        self._ours = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header).lower() == b"content-disposition":
            options = parse_options_header(bytes(self._value))[1]
            if options.get(b"name") == self.field.encode():
                self.found += 1
                if self.found > 1:
                    raise invalid(("body", self.field), "send one file per request", "")
                self._ours = True
                self.filename = options.get(b"filename", b"").decode("utf-8", errors="replace") or None
        self._header.clear()
        self._value.clear()

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._ours:
            self.pending.append(bytes(data[start:end]))


async def receive_file(request: Request, field: str, write: Callable[[bytes], None], limit: int) -> str | None:
    """Stream the form's ``field`` part into ``write`` (called in a worker thread, so it may write to
    disk, and may raise to refuse the file); the part's file name, if it gave one. 415 for a body that
    is not a form, 413 past ``limit`` (plus the form's own overhead), 422 naming ``field`` when the form
    has no such part, or two."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"body: send multipart/form-data with the file in the form field {field!r}")
    most = limit + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        raise too_large(field, limit)
    part = _FilePart(field)
    parser = MultipartParser(boundary, part.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > most:
                raise too_large(field, limit)
            parser.write(chunk)
            if part.pending:
                await run_in_threadpool(write, part.take())
        parser.finalize()
    except MultipartParseError as exc:
        raise invalid(("body",), f"not a well-formed multipart/form-data body: {exc}", "") from None
    if part.pending:
        await run_in_threadpool(write, part.take())
    if not part.found:
        raise invalid(("body", field), f"the form has no part named {field!r}", "")
    return part.filename
