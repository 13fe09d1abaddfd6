"""People who sign in: creation (with its audit row) and authentication. Shared by the CLI and the
API so that both enforce the same rules."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.errors import FieldError
from core.models import Agent, Buyer, Role, Subcontractor, User
from core.security import hash_password, verify_password

MIN_PASSWORD_LENGTH = 8


class UserError(FieldError):
    """A user cannot be created as asked; ``field`` names the offending input."""


def create_user(db: Session, *, username: str, password: str, role: str, actor: str,
                buyer_reference: str | None = None, agent_reference: str | None = None,
                subcontractor_reference: str | None = None) -> User:
    """Create a user. A ``buyer`` user is bound to exactly one buyer and a ``subcontractor`` user to
    exactly one subcontractor; no other role has either scope (a dispatcher scoped to one buyer would
    be a different role, not a flag)."""
    username = username.strip()
    if not username:
        raise UserError("username", "must not be empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    try:
        role = Role(role).value
    except ValueError:
        raise UserError("role", f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError("username", f"{username!r} already exists")

    buyer_id = _scope(db, role, Role.buyer, Buyer, buyer_reference)
    subcontractor_id = _scope(db, role, Role.subcontractor, Subcontractor, subcontractor_reference)

    agent_id = None
    if agent_reference:
        agent_id = db.scalar(select(Agent.id).where(Agent.reference == agent_reference))
        if agent_id is None:
            raise UserError("agent", f"no agent with reference {agent_reference!r}")

    user = User(username=username, password_hash=hash_password(password), role=role,
                buyer_id=buyer_id, subcontractor_id=subcontractor_id, agent_id=agent_id, active=True)
    db.add(user)
    db.flush()
    record_audit(db, actor=actor, action="user.create", target=f"user:{user.id}",
                 data={"username": username, "role": role, "buyer_id": buyer_id,
                       "subcontractor_id": subcontractor_id, "agent_id": agent_id})
    return user


def _scope(db: Session, role: str, scoped: Role, model: type[Buyer | Subcontractor],
           reference: str | None) -> int | None:
    """The id of the buyer or firm a ``scoped`` user is bound to (required for that role, refused for
    any other)."""
    field = scoped.value
    if role != scoped:
        if reference:
            raise UserError(field, f"only {field} users are bound to a {field}, not {role} users")
        return None
    if not reference:
        raise UserError(field, f"a {field} user needs the {field} reference it works for")
    found = db.scalar(select(model.id).where(model.reference == reference))
    if found is None:
        raise UserError(field, f"no {field} with reference {reference!r}")
    return found


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Unknown names cost a hash too, so response
    time does not reveal which usernames exist."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(password, _dummy_hash())
        return None
    if not user.active or not verify_password(password, user.password_hash):
        return None
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")
