"""Writing what the vans read, and only what may be kept [R-ANPR-PRIVACY]:

- a read that matched the hotlist becomes an ``anpr_hit`` with the read's metadata, and joins the
  ``anpr_sighting`` of its van and vehicle when that was last seen within ``SIGHTING_WINDOW``,
  otherwise starts a new one (the new ones are what alerts are raised for);
- every read, matched or not, adds one to its van's count for the hour (``anpr_read_count``); nothing
  else of an unmatched read is written;
- a rejected message or read becomes an ``anpr_dead_letter`` with its field and reason, never its
  payload. Its digest is keyed (HMAC with the platform's secret), so a table of digests cannot be
  checked against guessed marks.

One transaction per batch. A redelivered message adds no hit twice (unique on device, time and
mark) and no letter twice (``core.insert_letters``); its reads are counted again, which only
overstates the counts of an hour in which a worker crashed or lost its connection.
"""
from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from anpr_ingest.matching import Match
from anpr_ingest.reads import PlateRead
from core import insert_letters

# Reads of one vehicle by one van closer than this belong to one sighting.
SIGHTING_WINDOW = timedelta(minutes=5)
_LETTER_LOCK = 0x616E70725F646561  # "anpr_dea"

# One statement for a batch's van-hours (an executemany costs a round of protocol messages per row, and
# a batch of 500 reads touches hundreds of van-hours); rows in the order given (WITH ORDINALITY).
_COUNT = """INSERT INTO anpr_read_count (van_id, hour, reads, hits)
SELECT van, hour, n, hits FROM unnest(%s::int[], %s::timestamptz[], %s::bigint[], %s::bigint[])
    WITH ORDINALITY AS c(van, hour, n, hits, i) ORDER BY i
ON CONFLICT (van_id, hour) DO UPDATE
SET reads = anpr_read_count.reads + EXCLUDED.reads, hits = anpr_read_count.hits + EXCLUDED.hits"""

_SEEN = "SELECT 1 FROM anpr_hit WHERE device_id = %s AND ts = %s AND vrm = %s"

_JOIN = """SELECT id FROM anpr_sighting
WHERE van_id = %(van)s AND vehicle_id = %(vehicle)s
  AND last_seen_at >= %(ts)s - %(window)s AND first_seen_at <= %(ts)s + %(window)s
ORDER BY last_seen_at DESC LIMIT 1"""

_POINT = "CASE WHEN %(lon)s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) END"

_START = f"""INSERT INTO anpr_sighting (van_id, vehicle_id, vrm, case_ids, first_seen_at, last_seen_at, reads,
                           best_score, location)
VALUES (%(van)s, %(vehicle)s, %(vrm)s, %(cases)s, %(ts)s, %(ts)s, 1, %(score)s, {_POINT})
RETURNING id"""

# The newest read with a position gives the place; an older read arriving late does not move it.
_GROW = f"""UPDATE anpr_sighting SET
    reads = reads + 1,
    best_score = greatest(best_score, %(score)s),
    location = CASE WHEN %(ts)s >= last_seen_at AND %(lon)s::float8 IS NOT NULL THEN {_POINT}
                    ELSE location END,
    first_seen_at = least(first_seen_at, %(ts)s),
    last_seen_at = greatest(last_seen_at, %(ts)s)
WHERE id = %(id)s"""

_HIT = f"""INSERT INTO anpr_hit (sighting_id, van_id, device_id, ts, plate_read, vrm, vehicle_id, score, how,
                      confidence, location, heading_deg, speed_mps, image_ref, received_at)
VALUES (%(id)s, %(van)s, %(device)s, %(ts)s, %(plate)s, %(vrm)s, %(vehicle)s, %(score)s, %(how)s,
        %(confidence)s, {_POINT}, %(heading)s, %(speed)s, %(image)s, %(received_at)s)"""


@dataclass(frozen=True)
class VanRead:
    """One decoded read of a known van, and what it matched (None: nothing, and it is only counted)."""

    van_id: int
    device_id: str
    read: PlateRead
    received_at: datetime
    match: Match | None


@dataclass(frozen=True)
class Letter:
    """A rejected message or read. ``payload`` is only digested, never stored."""

    source: str              # the MQTT topic or the webhook route
    device_id: str | None
    field: str
    reason: str
    payload: bytes
    received_at: datetime
    redelivered: bool = False


@dataclass(frozen=True)
class Written:
    reads: int                       # reads counted
    hits: int                        # new rows in anpr_hit (a redelivered hit is not counted)
    dead_letters: int
    new_sightings: tuple[int, ...]   # sightings started by this batch, for the alerts


def letter_digest(key: bytes, source: str, payload: bytes, field: str) -> bytes:
    """A keyed digest of a rejected payload: the same for a redelivery of it, and not a hash anyone
    without the platform's secret can test a guessed mark against."""
    return hmac.new(key, b"\0".join((source.encode(), payload, field.encode())), hashlib.sha256).digest()


class AnprStore:
    def __init__(self, conn: psycopg.Connection, digest_key: bytes) -> None:
        self.conn = conn
        self.digest_key = digest_key

    def commit(self, reads: Sequence[VanRead], letters: Sequence[Letter]) -> Written:
        hits = sorted((r for r in reads if r.match is not None), key=lambda r: (r.van_id, r.read.ts))
        counts: Counter[tuple[int, datetime]] = Counter()
        matched: Counter[tuple[int, datetime]] = Counter()
        for r in reads:
            hour = r.read.ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            counts[r.van_id, hour] += 1
            matched[r.van_id, hour] += r.match is not None
        rows = [(letter.redelivered, {
            "source": letter.source, "device_id": letter.device_id, "field": letter.field,
            "reason": letter.reason, "payload_bytes": len(letter.payload), "received_at": letter.received_at,
            "digest": letter_digest(self.digest_key, letter.source, letter.payload, letter.field)})
            for letter in letters]
        with self.conn.transaction():
            if counts:
                # Sorted, so that two workers adding to the same van-hours lock them in one order.
                keys = sorted(counts)
                self.conn.execute(_COUNT, ([van for van, _ in keys], [hour for _, hour in keys],
                                           [counts[k] for k in keys], [matched[k] for k in keys]))
            new_hits, started = self._write_hits(hits)
            lettered = insert_letters(self.conn, "anpr_dead_letter", rows, _LETTER_LOCK)
        return Written(len(reads), new_hits, lettered, tuple(started))

    def _write_hits(self, hits: Sequence[VanRead]) -> tuple[int, list[int]]:
        written, started = 0, []
        with self.conn.cursor() as cur:
            for h in hits:
                m, read = h.match, h.read
                assert m is not None
                # One van's reads of one vehicle go through one sighting at a time, whichever worker
                # holds them.
                cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (h.van_id, m.entry.vehicle_id))
                if cur.execute(_SEEN, (h.device_id, read.ts, m.vrm)).fetchone():
                    continue
                row = {"van": h.van_id, "vehicle": m.entry.vehicle_id, "vrm": m.vrm, "ts": read.ts,
                       "window": SIGHTING_WINDOW, "score": m.score, "lon": read.lon, "lat": read.lat,
                       "cases": list(m.entry.case_ids), "device": h.device_id, "plate": read.plate,
                       "how": m.how, "confidence": read.confidence, "heading": read.heading_deg,
                       "speed": read.speed_mps, "image": read.image_ref, "received_at": h.received_at}
                joined = cur.execute(_JOIN, row).fetchone()
                if joined is None:
                    row["id"] = cur.execute(_START, row).fetchone()[0]
                    started.append(row["id"])
                else:
                    row["id"] = joined[0]
                    cur.execute(_GROW, row)
                cur.execute(_HIT, row)
                written += 1
        return written, started
