from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from api.checks import invalid
from api.deps import DB
from api.errors import error, errors
from api.schemas.auth import Token
from api.tokens import issue_token
from core import authenticate

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token,
             responses={**error(401, "incorrect username or password"), **errors(400, 422)})
def token(db: DB, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: exchange a username and password for a bearer token."""
    for name in ("username", "password"):
        if "\x00" in getattr(form, name):
            raise invalid(("body", name), "must not contain a NUL character (U+0000)", "")
    user = authenticate(db, form.username, form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    return Token(access_token=issue_token(user))
