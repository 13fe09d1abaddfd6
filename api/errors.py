"""Every error a client sees is JSON with a ``detail`` message; nothing internal leaks.

The handlers below give every error one of three shapes, and :func:`errors` describes them in the
OpenAPI spec, so that the spec names every status a route answers with the body it carries:
- ``{"detail"}`` (:class:`ErrorOut`): 401, 403, 404, 413, 415 and any other refusal;
- ``{"detail", "errors"?}`` (:class:`InvalidOut`): 422, with ``errors`` listing the bad fields when
  the request failed validation;
- ``{"detail", "rule_id"?}`` (:class:`ConflictOut`): 409; ``rule_id`` names the domain rule that
  refused the action (``core.errors.DomainError``).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import DomainError, NotFound, PolicyError

log = logging.getLogger("bailiwick.api")


class ErrorOut(BaseModel):
    detail: str


class FieldErrorOut(BaseModel):
    field: str = Field(description="the field's dotted path, e.g. address.postcode")
    message: str


class InvalidOut(ErrorOut):
    errors: list[FieldErrorOut] = Field(default_factory=list, description="each field that failed validation")


class ConflictOut(ErrorOut):
    rule_id: str | None = Field(default=None, description="the domain rule that refused the action, "
                                                          "e.g. R-CASE-COMPLIANCE")


_ERRORS: dict[int, tuple[type[BaseModel], str]] = {
    400: (ErrorOut, "the body could not be parsed (e.g. not JSON)"),
    401: (ErrorOut, "no valid bearer token"),
    403: (ErrorOut, "the signed-in role may not do this"),
    404: (ErrorOut, "not found, or outside the caller's buyer scope"),
    409: (ConflictOut, "a rule refused the action; rule_id names a domain rule"),
    413: (ErrorOut, "too large"),
    415: (ErrorOut, "a body or file of a type the route does not take; detail names the field"),
    422: (InvalidOut, "the request is invalid; detail and errors name the field"),
    503: (ErrorOut, "a service the route needs is not ready; try again (Retry-After)"),
}
SIGNED_IN = (401, 403, 422)  # every route behind a token: no token, a role not admitted, bad input
WITH_BODY = (*SIGNED_IN, 400)  # … and, for a route that reads a body, one that is not even JSON


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, with their bodies (module docstring)."""
    return {code: {"model": _ERRORS[code][0], "description": _ERRORS[code][1]} for code in codes}


def error(code: int, description: str) -> dict[int | str, dict[str, Any]]:
    """One error status, described as a route answers it."""
    return {code: {"model": _ERRORS[code][0], "description": description}}


@contextmanager
def not_found_404() -> Iterator[None]:
    """``NotFound`` (missing, or another buyer's) → 404. A ``DomainError`` goes on to the app's
    handler: 409 with the rule id leading the message."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


def _field(loc: tuple) -> str:
    # ("body", "address", "postcode") → "address.postcode": clients name fields, not request parts.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
                  for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": errors},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(DomainError)
    async def rule_refused(_request: Request, exc: DomainError) -> JSONResponse:
        # A domain rule refused the action: a conflict with the case's state, named by its rule id.
        return JSONResponse({"detail": str(exc), "rule_id": exc.rule_id}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(PolicyError)
    async def no_policy(_request: Request, exc: PolicyError) -> JSONResponse:
        # The buyer's policy has no version in force on the day asked about: nothing can be said of
        # that day, which is the request's fault, not the server's.
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)
