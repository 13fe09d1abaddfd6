"""Writing decoded GPS messages: fixes into ``gps_ping``, OwnTracks geofence events into
``gps_transition``, rejects into ``gps_dead_letter`` and the OwnTracks phones' device names into
``device.owntracks_name``, in one transaction per batch, then each agent's newest fix to the live
positions (``core.write_positions``).

Fixes go by COPY into a temporary staging table, then ``INSERT … SELECT … ON CONFLICT (device_id, ts)
DO NOTHING`` (COPY itself cannot skip conflicts), so a re-delivered message stores nothing twice. The
day partitions a batch needs are made first, each in its own short transaction. Geofence events are
few (two per visit at most): a plain insert, ``ON CONFLICT DO NOTHING`` on (device, ts, event, region).
A device name costs one ``UPDATE`` for the whole batch, and only when a message names a phone
differently from what this store last wrote or confirmed, so the steady stream of a known phone costs
nothing.

Dead letters are idempotent too (``letter_digest``, ``core.insert_letters``): a message that may have
been written before (see ``Received.redelivered``) adds no letter that is already there.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import redis
from psycopg import sql

from core import insert_letters, write_positions
from core.models import GPS_PARTITION_PREFIX
from tracking.decode import Decoded, GeofenceEvent, GpsFix

# Serialises partition creation across workers: CREATE TABLE IF NOT EXISTS is not safe against a
# concurrent creator of the same table.
_PARTITION_LOCK = 0x6770735F70617274  # "gps_part"

# Serialises the check-then-insert of redelivered dead letters across workers.
_LETTER_LOCK = 0x6770735F64656164  # "gps_dead"

_STAGE = """CREATE TEMP TABLE IF NOT EXISTS gps_ping_stage (
    device_id text, agent_id integer, ts timestamptz, lon double precision, lat double precision,
    received_at timestamptz, accuracy_m double precision, speed_mps double precision,
    heading_deg double precision, battery_pct smallint) ON COMMIT DELETE ROWS"""

_MOVE = """INSERT INTO gps_ping (device_id, ts, agent_id, location, received_at, accuracy_m, speed_mps,
                              heading_deg, battery_pct)
SELECT device_id, ts, agent_id, ST_SetSRID(ST_MakePoint(lon, lat), 4326), received_at, accuracy_m,
       speed_mps, heading_deg, battery_pct
FROM gps_ping_stage
ON CONFLICT (device_id, ts) DO NOTHING"""


def letter_digest(topic: str, payload: bytes, kind: str) -> bytes:
    """What makes two dead letters the same: the topic, the rejected bytes and the kind of fault.

    MQTT gives a message no identity that survives redelivery (a packet id belongs to one connection
    and is reused; the apps put no id in their payloads), so the content is the identity. The receive
    time is not part of it (a redelivery arrives later), nor is the reason's wording (a "future" reason
    quotes the clock). Identical bytes are only merged when they may be a redelivery, so a phone that
    sends the same bad payload again tomorrow is dead-lettered again. Topics hold no NUL (MQTT forbids
    it) and kinds none either, so the joined form is unambiguous."""
    return hashlib.sha256(b"\0".join((topic.encode(), payload, kind.encode()))).digest()


_TRANSITION = """INSERT INTO gps_transition (device_id, agent_id, ts, event, region, location, accuracy_m,
                            received_at)
VALUES (%s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s)
ON CONFLICT ON CONSTRAINT uq_gps_transition DO NOTHING"""

# Only where it differs, so that re-confirming a name writes no row version. The rows are locked in id
# order first: two workers naming the same phones (every phone's first messages, after a deployment)
# then wait for each other instead of deadlocking.
_NAMES = """WITH named AS (
    SELECT device.id, v.name FROM device JOIN unnest(%s::text[], %s::text[]) AS v(device_id, name)
        ON device.device_id = v.device_id
    WHERE device.owntracks_name IS DISTINCT FROM v.name
    ORDER BY device.id FOR UPDATE OF device)
UPDATE device SET owntracks_name = named.name FROM named WHERE device.id = named.id"""


def partition_name(day: date) -> str:
    return f"{GPS_PARTITION_PREFIX}{day:%Y%m%d}"


def ensure_gps_partitions(conn: psycopg.Connection, from_day: date, days_ahead: int = 0) -> list[date]:
    """Make the partitions of ``from_day`` and the ``days_ahead`` days after it (UTC days) where they
    do not exist; commits. Returns the days covered."""
    days = [from_day + timedelta(days=i) for i in range(days_ahead + 1)]
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
        for day in days:
            start = datetime.combine(day, time(), UTC)
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF gps_ping "
                                 "FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(partition_name(day)), sql.Literal(start),
                sql.Literal(start + timedelta(days=1))))
    return days


@dataclass(frozen=True)
class Received:
    """One MQTT message as it arrived, and what it decoded to."""

    topic: str
    payload: bytes
    received_at: datetime
    decoded: Decoded
    # May have been committed before: the broker's DUP flag (it resent the message after a lost
    # connection, perhaps after we committed but before our acknowledgement arrived), or a commit
    # retried after an error that may have come after the database committed. Only then are its dead
    # letters checked against those already written; a first delivery is written as it is.
    redelivered: bool = False


@dataclass(frozen=True)
class Written:
    fixes: int          # new rows in gps_ping (a re-delivered fix is not counted)
    dead_letters: int   # new rows in gps_dead_letter (nor is a re-delivered message's letter)
    agents_moved: int   # live positions that moved forward
    transitions: int = 0  # new rows in gps_transition (likewise)


class GpsStore:
    """One database connection (and a Redis client) writing batches; remembers which day partitions
    it has already made sure of."""

    def __init__(self, conn: psycopg.Connection, live: redis.Redis, *, namespace: str = "") -> None:
        self.conn = conn
        self.live = live
        self.namespace = namespace
        self._days: set[date] = set()
        self._names: dict[str, str] = {}  # device id → the OwnTracks name last written or confirmed

    def ensure_days(self, days: Iterable[date]) -> None:
        for day in sorted(set(days) - self._days):
            self._days.update(ensure_gps_partitions(self.conn, day))

    def write(self, batch: Sequence[Received]) -> Written:
        """``commit`` then ``move_live``."""
        written, newest = self.commit(batch)
        return Written(written.fixes, written.dead_letters, self.move_live(newest), written.transitions)

    def commit(self, batch: Sequence[Received]) -> tuple[Written, dict[int, tuple[GpsFix, datetime]]]:
        """Fixes and dead letters of ``batch`` in one transaction; returns what was written and each
        agent's newest fix in the batch, for ``move_live``."""
        try:
            return self._commit(batch)
        except psycopg.errors.CheckViolation:
            # No partition for a row: one this store remembered was dropped since (the retention
            # prune). Forget them all and make sure of them again.
            self._days.clear()
            return self._commit(batch)

    def _commit(self, batch: Sequence[Received]) -> tuple[Written, dict[int, tuple[GpsFix, datetime]]]:
        rows = [(f, m.received_at) for m in batch for f in m.decoded.fixes]
        self.ensure_days(f.ts.astimezone(UTC).date() for f, _ in rows)
        letters = [(m.redelivered, {"topic": m.topic, "payload": r.payload, "reason": r.reason,
                                    "received_at": m.received_at,
                                    "digest": letter_digest(m.topic, r.payload, r.kind)})
                   for m in batch for r in m.decoded.rejects]
        events = [(e, m.received_at) for m in batch for e in m.decoded.transitions]
        names = {m.decoded.owntracks_name[0]: m.decoded.owntracks_name[1] for m in batch
                 if m.decoded.owntracks_name is not None}  # the batch's last message wins
        names = {device: name for device, name in names.items() if self._names.get(device) != name}
        with self.conn.transaction():
            inserted = 0
            if rows:
                self.conn.execute(_STAGE)
                with self.conn.cursor() as cur:
                    with cur.copy("COPY gps_ping_stage FROM STDIN") as copy:
                        for f, received_at in rows:
                            copy.write_row((f.device_id, f.agent_id, f.ts, f.lon, f.lat, received_at,
                                            f.accuracy_m, f.speed_mps, f.heading_deg, f.battery_pct))
                    inserted = cur.execute(_MOVE).rowcount
            lettered = insert_letters(self.conn, "gps_dead_letter", letters, _LETTER_LOCK)
            transitions = self._write_transitions(events)
            if names:
                self.conn.execute(_NAMES, (list(names), list(names.values())))
        self._names.update(names)
        return Written(inserted, lettered, 0, transitions), newest_per_agent(f for f, _ in rows)

    def _write_transitions(self, events: list[tuple[GeofenceEvent, datetime]]) -> int:
        if not events:
            return 0
        with self.conn.cursor() as cur:
            cur.executemany(_TRANSITION, [(e.device_id, e.agent_id, e.ts, e.event, e.region, e.lon, e.lat,
                                           e.accuracy_m, received_at) for e, received_at in events])
            return cur.rowcount

    def move_live(self, newest: dict[int, tuple[GpsFix, datetime]]) -> int:
        """Each agent's fix to the live positions, where newer than the stored one."""
        return write_positions(self.live, newest, namespace=self.namespace)


def newest_per_agent(fixes: Iterable[GpsFix]) -> dict[int, tuple[GpsFix, datetime]]:
    newest: dict[int, GpsFix] = {}
    for f in fixes:
        if f.agent_id not in newest or f.ts > newest[f.agent_id].ts:
            newest[f.agent_id] = f
    return {agent: (f, f.ts) for agent, f in newest.items()}
