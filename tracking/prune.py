"""The GPS retention (``bailiwick tracking prune``): fixes are kept ``BAILIWICK_GPS_RETENTION_DAYS`` days.

What goes, in one transaction that also writes the audit row:

- every ``gps_ping_YYYYMMDD`` day partition whose whole UTC day ended before the cutoff (now less the
  retention), dropped whole: no row-by-row delete, no bloat. A day that straddles the cutoff stays
  until the next run, so no fix younger than the retention is ever dropped. The ingest refuses fixes
  older than its retention, so a dropped day is not written again; after a prune with a shorter
  ``--older-than``, a late fix of a dropped day makes the partition again (``tracking.store``);
- ``gps_transition`` rows (the phones' geofence events) taken before the cutoff;
- ``gps_dead_letter`` rows received before the cutoff;
- ``unmatched_stop`` rows that ended before the cutoff. They are dispatcher review material, useful
  for days, and once a day's fixes are gone they are nothing but where an agent stopped that was no
  case's address (a break, fuel): the tracking of an employee the retention exists to limit.

What stays: ``visit_evidence``, with its trail excerpt. It is the proof of a visit owed to the buyer
[R-VISIT-EVIDENCE], and it holds only the fixes around the stop, so the buyer's map still draws it.

The partitions are dropped last, after a short lock timeout is set: dropping a partition locks the
whole of gps_ping, so the ingest waits from the first drop to the commit, and a prune that cannot get
the lock at once fails rather than holding the ingest up behind it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from core import record_audit
from core.models import (
    GPS_PARTITION_PREFIX,
    GpsDeadLetter,
    GpsTransition,
    UnmatchedStop,
)

_PARTITION = re.compile(rf"{GPS_PARTITION_PREFIX}(\d{{8}})")
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Pruned:
    cutoff: datetime
    partitions: tuple[str, ...]  # dropped, oldest first
    transitions: int
    dead_letters: int
    unmatched_stops: int


def gps_partitions(db: Session) -> dict[str, date]:
    """gps_ping's day partitions by name, with their UTC day. A child not named by ``tracking`` (any
    other name) is left out, and so is never pruned."""
    names = db.scalars(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            "WHERE i.inhparent = 'gps_ping'::regclass"))
    out: dict[str, date] = {}
    for name in names:
        m = _PARTITION.fullmatch(name)
        if m:
            try:
                out[name] = datetime.strptime(m.group(1), "%Y%m%d").date()
            except ValueError:
                continue  # eight digits that are no date: not one of ours
    return out


def expired(partitions: Mapping[str, date], cutoff: datetime) -> list[str]:
    """The partitions whose day ended at or before ``cutoff``, oldest first (pure)."""
    return sorted((name for name, day in partitions.items()
                   if datetime.combine(day + timedelta(days=1), time(), UTC) <= cutoff),
                  key=partitions.__getitem__)


def prune_gps(db: Session, older_than_days: int, *, now: datetime, actor: str) -> Pruned:
    """Apply the retention of ``older_than_days`` days before ``now`` (module docstring) and audit it as
    ``gps.prune``. Does not commit; the caller's commit ends gps_ping's lock."""
    if older_than_days < 1:
        raise ValueError(f"older_than_days must be at least 1, got {older_than_days}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cutoff = now - timedelta(days=older_than_days)
    transitions = db.execute(delete(GpsTransition).where(GpsTransition.ts < cutoff)).rowcount
    dead_letters = db.execute(delete(GpsDeadLetter).where(GpsDeadLetter.received_at < cutoff)).rowcount
    unmatched = db.execute(delete(UnmatchedStop).where(UnmatchedStop.departure < cutoff)).rowcount
    dropped = expired(gps_partitions(db), cutoff)
    if dropped:
        db.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        for name in dropped:  # matched _PARTITION: letters, digits and _ only
            db.execute(text(f'DROP TABLE "{name}"'))
    result = Pruned(cutoff, tuple(dropped), transitions, dead_letters, unmatched)
    record_audit(db, actor=actor, action="gps.prune", target="gps_ping",
                 data={"older_than_days": older_than_days, "cutoff": cutoff.isoformat(),
                       "partitions": list(dropped), "transitions": transitions, "dead_letters": dead_letters,
                       "unmatched_stops": unmatched})
    return result
