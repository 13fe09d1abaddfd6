"""Keeping the live hotlist whole while ingest runs: time passing is no case event, so the vehicles
whose R-ANPR-24H clock has run out are admitted every few seconds (``hotlist.admit_due``), and a
Redis that lost the list (a restart without persistence) gets it rebuilt on the next round, since its
admission mark went with it. Until then the workers hold their batches (``HotlistUnavailable``)
rather than match reads against an empty list and miss hits.
"""
from __future__ import annotations

import logging

import redis
import sqlalchemy.exc

from anpr_ingest.hotlist import admit_due
from anpr_ingest.hotlist_store import ADMITTED_KEY
from core import session_scope

log = logging.getLogger(__name__)

# How often ``bailiwick ingest anpr`` admits.
ADMIT_EVERY_S = 5.0


class HotlistUnavailable(redis.RedisError):
    """Redis holds no hotlist (never built, or lost in a restart): a Redis failure like any other to
    the ingest worker, which holds the batch and tries again."""


def require_hotlist(client: redis.Redis, *, namespace: str = "") -> None:
    """Raise ``HotlistUnavailable`` unless a rebuild has filled the live hotlist (it leaves the mark)."""
    if not client.exists(namespace + ADMITTED_KEY):
        raise HotlistUnavailable("no hotlist in Redis yet: waiting for the rebuild")


def admit_once(client: redis.Redis, actor: str, *, namespace: str = "") -> bool:
    """One round of admission (or a rebuild when the mark is gone); False when the database or Redis
    is away, which the next round retries."""
    try:
        with session_scope() as db:
            admit_due(db, client, actor, namespace=namespace)
        return True
    except (redis.RedisError, sqlalchemy.exc.OperationalError) as exc:
        log.warning("hotlist admission: %s; retrying", exc)
        return False
