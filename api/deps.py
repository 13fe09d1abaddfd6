"""Dependencies every router uses: a database session per request, the signed-in principal with its
buyer scope, and the named sets of roles that routes admit (each set named once, here); and, for the
ANPR webhooks, the van device that signed in with HTTP Basic and the hotlist its reads are matched
against."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials, OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.hotlist_sync import hotlist_redis
from api.tokens import TokenError, read_token
from core import hash_device_secret, record_audit, session_scope, verify_device_secret
from core.models import Buyer, Device, DeviceKind, Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_db() -> Iterator[Session]:
    with session_scope() as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    buyer_id: int | None
    agent_id: int | None
    subcontractor_id: int | None = None

    @property
    def is_buyer(self) -> bool:
        return self.role == Role.buyer

    @property
    def actor(self) -> str:
        """How this principal is named in case events and the audit trail."""
        return f"user:{self.username}"

    @property
    def buyer_scope(self) -> int | None:
        """The one buyer whose data this principal may see, or None for staff who see every buyer."""
        return self.buyer_id if self.is_buyer else None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def get_principal(db: DB, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if not token:
        raise _unauthorized("not authenticated: send a bearer token from POST /auth/token")
    try:
        claims = read_token(token)
    except TokenError as exc:
        raise _unauthorized(str(exc)) from None
    # The user row, not the token, is the authority: a disabled user or a changed role takes effect
    # at once instead of when the token expires.
    user = db.get(User, claims["uid"])
    if user is None or not user.active or user.username != claims["sub"]:
        raise _unauthorized("user unknown or disabled")
    return Principal(user.id, user.username, Role(user.role), user.buyer_id, user.agent_id, user.subcontractor_id)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def audit_buyer_view(db: Session, principal: Principal, action: str, target: str | None,
                     data: dict[str, Any] | None = None) -> None:
    """The buyer portal's "every view audited" [000 §1.126]; staff reads are not buyer views."""
    if principal.is_buyer:
        record_audit(db, actor=principal.actor, role=principal.role.value, buyer_id=principal.buyer_id,
                     action=action, target=target, data=data)


def buyer_in_scope(db: Session, principal: Principal, reference: str | None) -> Buyer | None:
    """The buyer a route's ``buyer`` parameter names, as the principal may see it: a buyer user gets its
    own (``reference`` may only be its own: any other is the same 404 as a buyer that does not exist);
    staff get the buyer named, or None for every buyer."""
    if principal.is_buyer:
        own = db.get(Buyer, principal.buyer_id)
        if reference is not None and reference != own.reference:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"buyer {reference!r} not found")
        return own
    if reference is None:
        return None
    buyer = db.scalar(select(Buyer).where(Buyer.reference == reference))
    if buyer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"buyer {reference!r} not found")
    return buyer


def require_roles(*roles: Role):
    """A dependency admitting only ``roles`` (403 for any other signed-in principal)."""
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {principal.role.value} may not do this; needs one of "
                                + ", ".join(sorted(r.value for r in allowed)))
        return principal

    return check


# Every signed-in person; devices (MQTT identities) are not people and use no human routes.
# Subcontractor users are not here: they see only what names their firm (its declarations, and the
# cases assigned to it), so every route admitting them says so on its own.
PEOPLE = frozenset({Role.admin, Role.dispatcher, Role.regional_manager, Role.buyer, Role.agent})
# The supplier's staff who run cases and plans: every case transition, clearing a sensitive flag,
# planning, pins, refunds.
DISPATCH_STAFF = frozenset({Role.admin, Role.dispatcher})
# The supplier's office staff: they read every plan, every agent's day and every pin.
OFFICE_STAFF = DISPATCH_STAFF | {Role.regional_manager}
# Those who record visits: agents (their own) and dispatch staff (for any agent, e.g. by phone).
VISIT_RECORDERS = DISPATCH_STAFF | {Role.agent}
# A buyer acts on its own cases' money and placements beside dispatch staff …
DISPATCH_STAFF_AND_BUYERS = DISPATCH_STAFF | {Role.buyer}
# … and reads its own part of plans, caseload and why-answers beside office staff.
OFFICE_STAFF_AND_BUYERS = OFFICE_STAFF | {Role.buyer}

People = Annotated[Principal, Depends(require_roles(*PEOPLE))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
DispatchStaff = Annotated[Principal, Depends(require_roles(*DISPATCH_STAFF))]
OfficeStaff = Annotated[Principal, Depends(require_roles(*OFFICE_STAFF))]
DispatchStaffOrBuyer = Annotated[Principal, Depends(require_roles(*DISPATCH_STAFF_AND_BUYERS))]
OfficeStaffOrBuyer = Annotated[Principal, Depends(require_roles(*OFFICE_STAFF_AND_BUYERS))]


# --- Devices (the ANPR webhooks) ------------------------------------------------------------------

NOT_A_VAN = "not authenticated: send HTTP Basic credentials of an active van device (device_id and secret)"


def _not_a_van() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_A_VAN, headers={"WWW-Authenticate": "Basic"})


class _VanBasic(HTTPBasic):
    """HTTP Basic whose refusal of a malformed header is the same 401 as every other failure."""

    def make_not_authenticated_error(self) -> HTTPException:
        return _not_a_van()


van_basic = _VanBasic(auto_error=False, scheme_name="VanDevice", description="a van device: its device_id as the user name and its "
                                                    "secret as the password (`bailiwick device add`)")
# Compared against when no such device exists, so that an unknown device costs the same PBKDF2 as a
# wrong secret and the answer's timing does not tell which it was.
_NO_DEVICE_HASH = hash_device_secret(secrets.token_urlsafe(24))


@dataclass(frozen=True)
class VanDevice:
    """A van device that signed in: every read it posts is its van's, and no body can say otherwise."""

    device_id: str
    van_id: int


def get_van_device(credentials: Annotated[HTTPBasicCredentials | None, Depends(van_basic)]) -> VanDevice:
    """The active ``kind='van'`` device of these credentials, or 401 with one message whatever failed
    (no credentials, an unknown, inactive or phone device, a wrong secret). Nothing is cached: a
    device deactivated or re-keyed is refused from its next request, and PBKDF2 at Mosquitto's 101
    iterations costs well under a millisecond."""
    row = None
    # A device id is at most 64 printable characters; anything else (a NUL, which PostgreSQL text
    # cannot hold) is refused before the query, like any other unknown device.
    if credentials is not None and 0 < len(credentials.username) <= 64 and credentials.username.isprintable():
        # Its own short session, not the request's: the connection is back in the pool before the
        # route reads the body, however slowly the camera sends it.
        with session_scope() as db:
            row = db.execute(select(Device.van_id, Device.credential_hash).where(
                Device.device_id == credentials.username, Device.kind == DeviceKind.van.value,
                Device.active, Device.van_id.is_not(None))).one_or_none()
    secret = credentials.password if credentials is not None else ""
    verified = verify_device_secret(secret, row.credential_hash if row else _NO_DEVICE_HASH)
    if credentials is None or row is None or not verified:
        raise _not_a_van()
    return VanDevice(credentials.username, row.van_id)


CurrentVanDevice = Annotated[VanDevice, Depends(get_van_device)]


@dataclass(frozen=True)
class Hotlist:
    """The Redis hash reads are matched against (and the live positions their alerts search); tests
    override ``get_hotlist`` with their own ``namespace``, so that they neither depend on nor disturb
    the live keys."""

    client: redis.Redis
    namespace: str = ""


def get_hotlist() -> Hotlist:
    return Hotlist(hotlist_redis())


LiveHotlist = Annotated[Hotlist, Depends(get_hotlist)]
