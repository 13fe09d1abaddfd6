"""``bailiwick replan``: re-plan the rest of a day from agents' live positions, keeping what is done,
under way or pinned by a dispatcher."""
from __future__ import annotations
