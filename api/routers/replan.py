"""Re-planning mid-day and dispatcher pins."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["plans"])
