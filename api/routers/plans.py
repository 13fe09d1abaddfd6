"""Plans: create a day's plan (dispatchers), read it as GeoJSON, an agent's own day, the plan map."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["plans"])
