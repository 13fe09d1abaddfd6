from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from api.deps import DB, Admin, CurrentPrincipal
from api.errors import WITH_BODY, error, errors
from api.schemas.users import UserCreate, UserOut
from core import UserError, create_user
from core.models import Role, User

router = APIRouter(prefix="/users", tags=["users"], responses=errors(*WITH_BODY))


def _out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, role=Role(user.role), buyer_id=user.buyer_id,
                   agent_id=user.agent_id, subcontractor_id=user.subcontractor_id, active=user.active)


@router.get("/me", response_model=UserOut)
def me(db: DB, principal: CurrentPrincipal) -> UserOut:
    return _out(db.get(User, principal.user_id))


@router.get("", response_model=list[UserOut])
def list_users(db: DB, _admin: Admin) -> list[UserOut]:
    return [_out(u) for u in db.scalars(select(User).order_by(User.id))]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED,
             responses=error(409, "the username already exists"))
def add_user(body: UserCreate, db: DB, admin: Admin) -> UserOut:
    try:
        user = create_user(db, username=body.username, password=body.password, role=body.role,
                           buyer_reference=body.buyer, agent_reference=body.agent,
                           subcontractor_reference=body.subcontractor, actor=admin.actor)
    except UserError as exc:
        code = status.HTTP_409_CONFLICT if "already exists" in exc.message else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, str(exc)) from None
    return _out(user)
