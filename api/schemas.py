"""Request and response bodies of the API."""
from __future__ import annotations

from pydantic import BaseModel, Field

from core.models import Role


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class ServiceHealth(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: str  # "ok" | "degraded"
    services: dict[str, ServiceHealth]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    buyer: str | None = Field(default=None, description="buyer reference; required for role buyer")
    agent: str | None = Field(default=None, description="agent reference, for role agent")


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    buyer_id: int | None
    agent_id: int | None
    active: bool


class RegionCaseload(BaseModel):
    itl1_cd: str
    name: str
    cases: int
    cases_by_buyer: dict[str, int]
    agents: int


class CaseloadOut(BaseModel):
    buyers: list[str]
    cases: int
    agents: int
    regions: list[RegionCaseload]


class PostcodeOut(BaseModel):
    postcode: str
    lon: float
    lat: float


class LocationOut(BaseModel):
    lon: float
    lat: float
    itl1_cd: str
    region: str
    lad_cd: str
    local_authority: str
    nearest_postcode: str
    nearest_postcode_distance_m: float
