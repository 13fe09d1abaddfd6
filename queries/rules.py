"""The pure rules of customer queries [000 §1.126–1.127]: who takes part and on which side of a thread,
the statuses a query moves between and who may move it, and what a query's text must be. Nothing here
reads the database."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from core import DomainError, FieldError
from core.models import MAX_QUERY_TEXT, QueryStatus, Role

# The rules a refused change names (409 with the rule id, as the case rules do).
R_QUERY_STATUS = "R-QUERY-STATUS"
R_QUERY_CLOSED = "R-QUERY-CLOSED"

# The supplier's side of a thread: its office staff and its subcontractors' users (each on the cases
# assigned to its own firm only).
SUPPLIER_ROLES = frozenset({Role.admin, Role.dispatcher, Role.regional_manager, Role.subcontractor})
PARTIES = SUPPLIER_ROLES | {Role.buyer}
# A query is allocated to one of the buyer's caseworkers: a caseworker allocates it, and an admin may
# put an allocation right for any buyer.
ALLOCATORS = frozenset({Role.buyer, Role.admin})
# A subcontractor answers; closing, reopening and escalating are the supplier office's or the buyer's.
SUBCONTRACTOR_STATUSES = frozenset({QueryStatus.awaiting_buyer, QueryStatus.awaiting_supplier})


class Side(enum.StrEnum):
    buyer = "buyer"
    supplier = "supplier"


class QueryError(FieldError):
    """An input a query cannot take as given; ``field`` names it (a 422)."""


class NotAllowed(PermissionError):
    """The caller's role may not do this to a query it can see (a 403)."""


@dataclass(frozen=True)
class Caller:
    """Who acts on a query, with the scope its role binds it to."""

    user_id: int
    username: str
    role: Role
    buyer_id: int | None = None
    subcontractor_id: int | None = None

    @property
    def actor(self) -> str:
        return f"user:{self.username}"

    @property
    def side(self) -> Side:
        return Side.buyer if self.role == Role.buyer else Side.supplier


def check_party(caller: Caller) -> None:
    if caller.role not in PARTIES:
        raise NotAllowed(f"role {caller.role.value} takes no part in customer queries")


def check_text(field: str, text: str) -> str:
    """A query's text or a message: 1 to ``MAX_QUERY_TEXT`` characters, not only spaces, no NUL
    (PostgreSQL text cannot hold one)."""
    if not text.strip():
        raise QueryError(field, "must not be empty")
    if len(text) > MAX_QUERY_TEXT:
        raise QueryError(field, f"is {len(text):,} characters long; at most {MAX_QUERY_TEXT:,}")
    if "\x00" in text:
        raise QueryError(field, "must not contain a NUL character (U+0000)")
    return text


def check_not_closed(status: QueryStatus, action: str) -> None:
    if status == QueryStatus.closed:
        raise DomainError(R_QUERY_CLOSED, f"the query is closed: reopen it before {action}")


def status_after_message(status: QueryStatus, side: Side) -> QueryStatus:
    """A message puts the query in the other side's hands. An escalated query stays escalated until
    someone moves it by hand: the escalation is a management decision that an answer does not undo."""
    check_not_closed(status, "adding a message")
    if status == QueryStatus.escalated:
        return status
    return QueryStatus.awaiting_supplier if side == Side.buyer else QueryStatus.awaiting_buyer


def check_may_set(caller: Caller, target: QueryStatus) -> None:
    """Whether ``caller``'s role may set ``target`` by hand. Escalating follows one of the buyer's own
    escalation routes, so only the buyer escalates; a subcontractor hands a query between buyer and
    supplier but neither closes, reopens nor escalates it."""
    if target == QueryStatus.escalated and caller.role != Role.buyer:
        raise NotAllowed("only the buyer's caseworkers escalate a query, along one of the buyer's escalation routes")
    if caller.role == Role.subcontractor and target not in SUBCONTRACTOR_STATUSES:
        raise NotAllowed(f"a subcontractor may set only {', '.join(sorted(SUBCONTRACTOR_STATUSES))}")


def check_transition(current: QueryStatus, target: QueryStatus, *, new_category: bool = False) -> None:
    """Whether a query may go from ``current`` to ``target`` by hand: a closed query only reopens, and
    setting the status it has changes nothing, but escalating again along another route
    (``new_category``)."""
    if current == QueryStatus.closed and target != QueryStatus.open:
        raise DomainError(R_QUERY_CLOSED, f"the query is closed: it can only be reopened (open), not {target.value}")
    if target == current and not (target == QueryStatus.escalated and new_category):
        raise DomainError(R_QUERY_STATUS, f"the query is already {current.value}")
