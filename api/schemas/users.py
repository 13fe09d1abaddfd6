"""Users: who may sign in, with which role and scope."""
from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import Text
from core.models import Role


class UserCreate(BaseModel):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=8, max_length=200)
    role: Role
    buyer: Text | None = Field(default=None, description="buyer reference; required for role buyer")
    agent: Text | None = Field(default=None, description="agent reference, for role agent")
    subcontractor: Text | None = Field(default=None,
                                       description="subcontractor reference; required for role subcontractor")


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    buyer_id: int | None
    agent_id: int | None
    subcontractor_id: int | None
    active: bool
