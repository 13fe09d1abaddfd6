"""The hotlist in Redis: one hash, field = normalised VRM, value = what a hit needs as JSON
(``{"vehicle_id": 7, "case_ids": [12, 40]}``), so a plate read costs one ``HGET``; and beside it the
index of dropped-character keys, so a read one character short costs one more round trip per batch.

Keys (``namespace`` prefixes them all; tests use their own):

- ``anpr:hotlist``: the live hash readers look up;
- ``anpr:hotlist:dropped``: the live hash's dropped-character index, field = a deletion key
  (``matching.deletion_keys``, exactly), value = the JSON list of the live VRMs having it. It holds
  VRMs, not entries, so a change of a vehicle's warrants leaves it alone; every write of the live hash
  (the swap, ``_APPLY``) writes it in the same script, so a reader never sees one without the other;
- ``anpr:hotlist:build:<token>`` and ``anpr:hotlist:build:<token>:dropped``: a full rebuild writes
  the hash and its index here, then renames both over the live ones in one script, so a reader sees
  the old list or the new one, never half of one;
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

import redis

from anpr_ingest.hotlist_entry import HotlistEntry
from anpr_ingest.matching import deletion_keys
from core import InvalidVRM, normalise_vrm

LIVE_KEY = "anpr:hotlist"
DROPPED_KEY = "anpr:hotlist:dropped"
BUILD_PREFIX = "anpr:hotlist:build:"
BUILD_DROPPED_SUFFIX = ":dropped"
BUILDING_KEY = "anpr:hotlist:building"
PENDING_PREFIX = "anpr:hotlist:pending:"
ADMITTED_KEY = "anpr:hotlist:admitted_to"
BUILD_TTL_S = 3600  # a crashed rebuild's marker and half-built hashes expire on their own


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _keys_json(vrm: str) -> str:
    """The VRM's deletion keys as ``_APPLY`` takes them: computed here, so the script never folds."""
    return json.dumps(sorted(deletion_keys(vrm)))


# Incremental change, atomic with respect to a rebuild's swap and to readers of the index: returns
# the old values of every VRM touched (for the audit), writes the new ones, moves a VRM that joins or
# leaves the live hash into or out of its deletion keys' lists (a key whose list empties is deleted:
# cjson would write an empty list as {}), and queues the vehicles for every running rebuild.
# KEYS: live, building, index. ARGV: pending prefix, n_set, n_del, then n_set (vrm, json, keys json)
# triples, n_del (vrm, keys json) pairs, then the vehicle ids to queue.
_APPLY = """
local prefix, n_set, n_del = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local set_from, del_from = 4, 4 + 3 * n_set
local ids_from = del_from + 2 * n_del
local function index(keys_json, vrm, add)
  for _, key in ipairs(cjson.decode(keys_json)) do
    local raw = redis.call('HGET', KEYS[3], key)
    local vrms = {}
    if raw then
      for _, v in ipairs(cjson.decode(raw)) do
        if v ~= vrm then vrms[#vrms + 1] = v end
      end
    end
    if add then vrms[#vrms + 1] = vrm end
    if #vrms > 0 then redis.call('HSET', KEYS[3], key, cjson.encode(vrms))
    else redis.call('HDEL', KEYS[3], key) end
  end
end
local old = {}
for i = 0, n_set - 1 do
  local at = set_from + 3 * i
  local before = redis.call('HGET', KEYS[1], ARGV[at])
  old[#old + 1] = before
  redis.call('HSET', KEYS[1], ARGV[at], ARGV[at + 1])
  if not before then index(ARGV[at + 2], ARGV[at], true) end
end
for i = 0, n_del - 1 do
  local at = del_from + 2 * i
  local before = redis.call('HGET', KEYS[1], ARGV[at])
  old[#old + 1] = before
  redis.call('HDEL', KEYS[1], ARGV[at])
  if before then index(ARGV[at + 1], ARGV[at], false) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(redis.call('TIME')[1]))
for _, token in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  for i = ids_from, #ARGV do redis.call('SADD', prefix .. token, ARGV[i]) end
  redis.call('EXPIRE', prefix .. token, @TTL@)
end
return old
""".replace("@TTL@", str(BUILD_TTL_S))

# The swap: the old live hash (for the audit), the new one and its index renamed over the live ones
# (or a live one dropped when its new counterpart is empty: a list of short marks only has no index),
# and the vehicles changed while this rebuild ran. RENAME keeps the build's expiry: PERSIST clears it.
# KEYS: live, build, building, pending, index, build index. ARGV: token.
_SWAP = """
local old = redis.call('HGETALL', KEYS[1])
for _, pair in ipairs({{KEYS[2], KEYS[1]}, {KEYS[6], KEYS[5]}}) do
  if redis.call('EXISTS', pair[1]) == 1 then
    redis.call('RENAME', pair[1], pair[2])
    redis.call('PERSIST', pair[2])
  else
    redis.call('DEL', pair[2])
  end
end
redis.call('ZREM', KEYS[3], ARGV[1])
local pending = redis.call('SMEMBERS', KEYS[4])
redis.call('DEL', KEYS[4])
return {old, pending}
"""

# The (VRM, entry) pairs of each deletion key, read together so that they agree. Each key's list is a
# few VRMs, so its HMGET never unpacks a long list. KEYS: live, index. ARGV: the deletion keys.
_DROPPED = """
local out = {}
for i, key in ipairs(ARGV) do
  local found = {}
  local raw = redis.call('HGET', KEYS[2], key)
  if raw then
    local vrms = cjson.decode(raw)
    for j, entry in ipairs(redis.call('HMGET', KEYS[1], unpack(vrms))) do
      found[#found + 1] = vrms[j]
      found[#found + 1] = entry
    end
  end
  out[i] = found
end
return out
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


def lookup_dropped_many(client: redis.Redis, keys: list[str], *,
                        namespace: str = "") -> list[list[tuple[str, HotlistEntry]]]:
    """For each deletion key (as ``matching`` makes them), the live (VRM, entry) pairs having it,
    aligned with ``keys``: one round trip, index and entries read in one script so they agree."""
    if not keys:
        return []
    store_keys = [namespace + LIVE_KEY, namespace + DROPPED_KEY]
    found = client.eval(_DROPPED, len(store_keys), *store_keys, *keys)
    return [[(_text(flat[i]), HotlistEntry.loads(flat[i + 1])) for i in range(0, len(flat), 2)] for flat in found]


def read_dropped(client: redis.Redis, *, namespace: str = "") -> dict[str, set[str]]:
    """The whole dropped-character index, deletion key → VRMs (for checks and tests)."""
    return {_text(k): set(json.loads(v)) for k, v in client.hgetall(namespace + DROPPED_KEY).items()}


def read_all(client: redis.Redis, *, namespace: str = "") -> dict[str, HotlistEntry]:
    return {_text(k): HotlistEntry.loads(v) for k, v in client.hgetall(namespace + LIVE_KEY).items()}


def apply_changes(client: redis.Redis, put: Mapping[str, HotlistEntry], drop: Iterable[str],
                  vehicle_ids: Iterable[int], *, namespace: str = "") -> dict[str, HotlistEntry | None]:
    """Write ``put`` and delete ``drop`` from the live hash and its index in one step; return the
    entries they replaced (None where there was none)."""
    drop = list(drop)
    args: list[str | int] = [namespace + PENDING_PREFIX, len(put), len(drop)]
    for vrm, entry in put.items():
        args += [vrm, entry.dumps(), _keys_json(vrm)]
    for vrm in drop:
        args += [vrm, _keys_json(vrm)]
    args += [str(v) for v in vehicle_ids]
    keys = [namespace + LIVE_KEY, namespace + BUILDING_KEY, namespace + DROPPED_KEY]
    old = client.eval(_APPLY, len(keys), *keys, *args)
    vrms = [*put, *drop]
    return {vrm: None if raw is None else HotlistEntry.loads(raw) for vrm, raw in zip(vrms, old)}


def start_build(client: redis.Redis, token: str, *, namespace: str = "") -> None:
    """Mark a rebuild as running, before it reads the database (see the module docstring)."""
    expires = int(client.time()[0]) + BUILD_TTL_S
    client.zadd(namespace + BUILDING_KEY, {token: expires})


def write_build(client: redis.Redis, token: str, entries: Mapping[str, HotlistEntry], *,
                namespace: str = "", batch: int = 10_000) -> None:
    """Write the hash and its dropped-character index into the build area of ``token``."""
    key = namespace + BUILD_PREFIX + token
    index: dict[str, list[str]] = {}
    for vrm in entries:
        for deletion_key in deletion_keys(vrm):
            index.setdefault(deletion_key, []).append(vrm)
    pipe = client.pipeline(transaction=False)
    for target, values in ((key, {vrm: e.dumps() for vrm, e in entries.items()}),
                           (key + BUILD_DROPPED_SUFFIX, {k: json.dumps(sorted(v)) for k, v in index.items()})):
        items = list(values.items())
        for start in range(0, len(items), batch):
            pipe.hset(target, mapping=dict(items[start:start + batch]))
        pipe.expire(target, BUILD_TTL_S)
    pipe.execute()


def swap_build(client: redis.Redis, token: str, *, namespace: str = "") -> tuple[dict[str, HotlistEntry], list[int]]:
    """Put the built hash and index live; return the hash it replaced and the vehicles changed meanwhile."""
    build = namespace + BUILD_PREFIX + token
    keys = [namespace + LIVE_KEY, build, namespace + BUILDING_KEY, namespace + PENDING_PREFIX + token,
            namespace + DROPPED_KEY, build + BUILD_DROPPED_SUFFIX]
    old_flat, pending = client.eval(_SWAP, len(keys), *keys, token)
    old = {_text(old_flat[i]): HotlistEntry.loads(old_flat[i + 1]) for i in range(0, len(old_flat), 2)}
    return old, sorted(int(_text(v)) for v in pending)
