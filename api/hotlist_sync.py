"""Keeping the ANPR hotlist in step with the case changes the API makes.

Core may not import ``anpr_ingest``, so the routes that change a case's state (transitions, visits,
payments) call ``sync_hotlist`` themselves: it commits the change first, so the hotlist is derived
from committed state and a hold, a payment or a return is off every van's list before the response
leaves (R-ANPR-DELETE). A failure to reach Redis is a server error, not silence: the change stands,
and the caller learns the hotlist may be stale until the next refresh or rebuild.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import redis
from sqlalchemy.orm import Session

from anpr_ingest import refresh_cases
from core import connect_redis


@lru_cache
def hotlist_redis() -> redis.Redis:
    """One client (its own connection pool) for every request that reads or writes the hotlist."""
    return connect_redis()


def sync_hotlist(db: Session, case_ids: Iterable[int], actor: str) -> None:
    db.commit()
    refresh_cases(db, hotlist_redis(), sorted(set(case_ids)), actor)
