"""The hotlist in Redis: one hash, field = normalised VRM, value = what a hit needs as JSON
(``{"vehicle_id": 7, "case_ids": [12, 40]}``), so a plate read costs one ``HGET``.

Keys (``namespace`` prefixes them all; tests use their own):

- ``anpr:hotlist``: the live hash readers look up;
- ``anpr:hotlist:build:<token>``: a full rebuild writes here, then renames it over the live hash in one
  script, so a reader sees the old list or the new one, never half of one;
- ``anpr:hotlist:building``: the rebuilds running, a sorted set of their tokens scored by when they
  expire (a crashed one drops out). An incremental change made meanwhile is applied to the live hash
  AND its vehicle ids go to ``anpr:hotlist:pending:<token>`` of every running rebuild; the swap hands
  them back to that rebuild, which re-derives them, because its snapshot of the database may predate
  the change. Two rebuilds may overlap: each re-derives what changed during its own run;
- ``anpr:hotlist:admitted_to``: the time up to which R-ANPR-24H clocks have been admitted
  (``hotlist.admit_due``).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import redis

from core import InvalidVRM, normalise_vrm

LIVE_KEY = "anpr:hotlist"
BUILD_PREFIX = "anpr:hotlist:build:"
BUILDING_KEY = "anpr:hotlist:building"
PENDING_PREFIX = "anpr:hotlist:pending:"
ADMITTED_KEY = "anpr:hotlist:admitted_to"
BUILD_TTL_S = 3600  # a crashed rebuild's marker and half-built hash expire on their own


@dataclass(frozen=True)
class HotlistEntry:
    """What a hit on one VRM needs: the vehicle and the warrants that put it on the list."""

    vehicle_id: int
    case_ids: tuple[int, ...]

    def dumps(self) -> str:
        return json.dumps({"vehicle_id": self.vehicle_id, "case_ids": list(self.case_ids)},
                          separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | bytes) -> HotlistEntry:
        d = json.loads(raw)
        return cls(int(d["vehicle_id"]), tuple(int(c) for c in d["case_ids"]))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# Incremental change, atomic with respect to a rebuild's swap: returns the old values of every VRM
# touched (for the audit), writes the new ones, and queues the vehicles for every running rebuild.
# KEYS: live, building. ARGV: pending prefix, n_set, n_del, then n_set (vrm, json) pairs, n_del vrms,
# then the vehicle ids to queue.
_APPLY = """
local prefix, n_set, n_del = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local set_from, del_from = 4, 4 + 2 * n_set
local vrms = {}
for i = 0, n_set - 1 do vrms[#vrms + 1] = ARGV[set_from + 2 * i] end
for i = 0, n_del - 1 do vrms[#vrms + 1] = ARGV[del_from + i] end
local old = {}
for i, vrm in ipairs(vrms) do old[i] = redis.call('HGET', KEYS[1], vrm) end
for i = 0, n_set - 1 do redis.call('HSET', KEYS[1], ARGV[set_from + 2 * i], ARGV[set_from + 2 * i + 1]) end
for i = 0, n_del - 1 do redis.call('HDEL', KEYS[1], ARGV[del_from + i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(redis.call('TIME')[1]))
for _, token in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  for i = del_from + n_del, #ARGV do redis.call('SADD', prefix .. token, ARGV[i]) end
  redis.call('EXPIRE', prefix .. token, @TTL@)
end
return old
""".replace("@TTL@", str(BUILD_TTL_S))

# The swap: the old live hash (for the audit), the new one renamed over it (or the live one dropped
# when the new list is empty), and the vehicles changed while this rebuild ran.
# KEYS: live, build, building, pending. ARGV: token.
_SWAP = """
local old = redis.call('HGETALL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('ZREM', KEYS[3], ARGV[1])
local pending = redis.call('SMEMBERS', KEYS[4])
redis.call('DEL', KEYS[4])
return {old, pending}
"""


def lookup(client: redis.Redis, plate: str, *, namespace: str = "") -> HotlistEntry | None:
    """The entry of a mark (normalised here: ``"ab12 cde"`` finds ``AB12CDE``), or None when it is not
    on the hotlist. A string that is no UK mark cannot be on it: every key is a stored, valid VRM."""
    try:
        vrm = normalise_vrm(plate)
    except InvalidVRM:
        return None
    raw = client.hget(namespace + LIVE_KEY, vrm)
    return None if raw is None else HotlistEntry.loads(raw)


def lookup_many(client: redis.Redis, vrms: list[str], *, namespace: str = "") -> list[HotlistEntry | None]:
    """The entries of normalised marks, aligned with ``vrms``, in one ``HMGET``: a batch of reads
    costs one round trip, however many readings each may be."""
    if not vrms:
        return []
    return [None if raw is None else HotlistEntry.loads(raw) for raw in client.hmget(namespace + LIVE_KEY, vrms)]


def read_all(client: redis.Redis, *, namespace: str = "") -> dict[str, HotlistEntry]:
    return {_text(k): HotlistEntry.loads(v) for k, v in client.hgetall(namespace + LIVE_KEY).items()}


def apply_changes(client: redis.Redis, put: Mapping[str, HotlistEntry], drop: Iterable[str],
                  vehicle_ids: Iterable[int], *, namespace: str = "") -> dict[str, HotlistEntry | None]:
    """Write ``put`` and delete ``drop`` from the live hash in one step; return the entries they
    replaced (None where there was none)."""
    drop = list(drop)
    args: list[str | int] = [namespace + PENDING_PREFIX, len(put), len(drop)]
    for vrm, entry in put.items():
        args += [vrm, entry.dumps()]
    args += drop
    args += [str(v) for v in vehicle_ids]
    keys = [namespace + LIVE_KEY, namespace + BUILDING_KEY]
    old = client.eval(_APPLY, len(keys), *keys, *args)
    vrms = [*put, *drop]
    return {vrm: None if raw is None else HotlistEntry.loads(raw) for vrm, raw in zip(vrms, old)}


def start_build(client: redis.Redis, token: str, *, namespace: str = "") -> None:
    """Mark a rebuild as running, before it reads the database (see the module docstring)."""
    expires = int(client.time()[0]) + BUILD_TTL_S
    client.zadd(namespace + BUILDING_KEY, {token: expires})


def write_build(client: redis.Redis, token: str, entries: Mapping[str, HotlistEntry], *,
                namespace: str = "", batch: int = 10_000) -> None:
    key = namespace + BUILD_PREFIX + token
    items = list(entries.items())
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(items), batch):
        pipe.hset(key, mapping={vrm: e.dumps() for vrm, e in items[start:start + batch]})
    pipe.expire(key, BUILD_TTL_S)
    pipe.execute()


def swap_build(client: redis.Redis, token: str, *, namespace: str = "") -> tuple[dict[str, HotlistEntry], list[int]]:
    """Put the built hash live; return the hash it replaced and the vehicles changed meanwhile."""
    keys = [namespace + LIVE_KEY, namespace + BUILD_PREFIX + token, namespace + BUILDING_KEY,
            namespace + PENDING_PREFIX + token]
    old_flat, pending = client.eval(_SWAP, len(keys), *keys, token)
    old = {_text(old_flat[i]): HotlistEntry.loads(old_flat[i + 1]) for i in range(0, len(old_flat), 2)}
    return old, sorted(int(_text(v)) for v in pending)
