"""Dead letters that a redelivery does not write twice, for every ingest (GPS fixes, ANPR reads).

MQTT gives a message no identity that survives redelivery (a packet id belongs to one connection and
is reused), so a letter's identity is a digest of its content, computed by the ingest that writes it.
Identical letters are merged only when the message may be a redelivery (the broker's DUP flag, or a
commit retried after an error that may have come after the database committed); a device that sends
the same bad payload again tomorrow is dead-lettered again.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import psycopg
from psycopg import sql


def insert_letters(conn: psycopg.Connection, table: str, letters: Sequence[tuple[bool, Mapping[str, object]]],
                   lock: int) -> int:
    """Insert ``letters`` into ``table`` inside the caller's transaction; returns the rows added.

    Each letter is (may have been written before, its columns); every letter has the same columns, one
    of them ``digest``. A letter that may have been written before is written only when no letter with
    its digest is there, under the advisory lock ``lock`` so that two workers holding the same
    redelivered message do not both write it."""
    if not letters:
        return 0
    columns = list(letters[0][1])
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    values = sql.SQL(", ").join(sql.Placeholder(c) for c in columns)
    plain = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(sql.Identifier(table), names, values)
    once = sql.SQL("INSERT INTO {t} ({names}) SELECT {values} "
                   "WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE digest = {digest})").format(
        t=sql.Identifier(table), names=names, values=values, digest=sql.Placeholder("digest"))
    first = [letter for again, letter in letters if not again]
    again = [letter for again, letter in letters if again]
    added = 0
    with conn.cursor() as cur:
        if first:
            cur.executemany(plain, first)
            added += cur.rowcount
        if again:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            # One statement per letter, so that each sees the ones before it.
            for letter in again:
                added += cur.execute(once, letter).rowcount
    return added
