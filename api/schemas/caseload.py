"""``GET /caseload``: cases and agents per ITL1 region."""
from __future__ import annotations

from pydantic import BaseModel


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
