"""JWT bearer tokens (HS256, key from ``BAILIWICK_JWT_SECRET``)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from core import get_settings
from core.models import User

ALGORITHM = "HS256"


class TokenError(Exception):
    pass


def issue_token(user: User, expires_in: timedelta | None = None) -> str:
    settings = get_settings()
    now = datetime.now(UTC)
    claims = {
        "sub": user.username,
        "uid": user.id,
        "role": user.role,
        "buyer_id": user.buyer_id,
        "iat": now,
        "exp": now + (expires_in or timedelta(minutes=settings.jwt_expire_minutes)),
    }
    return jwt.encode(claims, settings.signing_key(), algorithm=ALGORITHM)


def read_token(token: str) -> dict:
    try:
        return jwt.decode(token, get_settings().signing_key(), algorithms=[ALGORITHM],
                          options={"require": ["sub", "uid", "exp"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidTokenError:
        raise TokenError("invalid token") from None
