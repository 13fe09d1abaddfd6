"""Errors the domain raises, shared by every engine (fees, ledger, case lifecycle). A ``DomainError``
names the rule (``R-…`` in DOMAIN.md) that refused the action; the API turns it into 409 with the
message, so the client sees which rule it hit."""
from __future__ import annotations


class DomainError(Exception):
    """An action the domain rules refuse (not a malformed request: that is a 422)."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"{rule_id}: {message}")
        self.rule_id = rule_id
        self.message = message


class NotFound(LookupError):
    """The thing asked for does not exist (or is outside the caller's scope: the API answers 404
    either way so existence does not leak)."""


class FieldError(ValueError):
    """An input that cannot be taken as given; ``field`` names it, so that the CLI and the API (a 422)
    can say which one. Each kind of input has its own subclass (``UserError``, ``DeviceError`` …)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
