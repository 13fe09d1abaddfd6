"""The hotlist's dropped-character index in Redis, against real PostGIS and Redis: after a rebuild, an
incremental change or both at once it equals the ``deletion_keys`` of the live hash's VRMs, and
``match_reads`` finds a read missing one character through it. Each test keeps its Redis keys under
its own namespace."""
from __future__ import annotations

import pytest

from anpr_ingest import (
    HOTLIST_DROPPED_KEY,
    HOTLIST_KEY,
    HotlistEntry,
    PlateRead,
    Taken,
    deletion_keys,
    match_reads,
    read_all,
    read_dropped,
    rebuild_hotlist,
    refresh_cases,
)
from core import session_scope
from core.models import CaseVehicle
from tests.anpr_world import NOW, add_vehicle, hot_case, namespace, random_vrm

ACTOR = "test:hotlist-dropped"


@pytest.fixture
def ns(redis_client):
    with namespace(redis_client) as prefix:
        yield prefix


def expected_index(redis_client, ns: str) -> dict[str, set[str]]:
    """The index recomputed from the live hash."""
    index: dict[str, set[str]] = {}
    for vrm in read_all(redis_client, namespace=ns):
        for key in deletion_keys(vrm):
            index.setdefault(key, set()).add(vrm)
    return index


def assert_consistent(redis_client, ns: str) -> None:
    assert read_dropped(redis_client, namespace=ns) == expected_index(redis_client, ns)


def twin_vrms() -> tuple[str, str, str]:
    """Two current-format marks differing in their last letter, and the deletion key they share."""
    first = random_vrm()
    second = first[:-1] + ("A" if first[-1] != "A" else "C")
    (shared,) = deletion_keys(first) & deletion_keys(second)
    return first, second, shared


def test_a_rebuild_swaps_in_the_index_of_its_hash_with_it(db, redis_client, ns):
    cases = [hot_case(db), hot_case(db)]
    *vrms, shared = twin_vrms()
    for case, vrm in zip(cases, vrms):
        add_vehicle(db, case, vrm)
    db.commit()
    # A stale index key the rebuild must not keep.
    redis_client.hset(ns + HOTLIST_DROPPED_KEY, "STALE", '["ZZ99ZZZ"]')
    rebuild_hotlist(db, redis_client, ACTOR, now=NOW, namespace=ns)

    assert_consistent(redis_client, ns)
    assert read_dropped(redis_client, namespace=ns)[shared] >= set(vrms)
    # The swap renames the build area's keys, whose expiry must not follow them live.
    assert redis_client.ttl(ns + HOTLIST_KEY) == -1 and redis_client.ttl(ns + HOTLIST_DROPPED_KEY) == -1
    assert list(redis_client.scan_iter(match=ns + HOTLIST_KEY + ":build:*")) == []


def test_incremental_add_change_and_remove_keep_the_index(db, redis_client, ns):
    first, second = hot_case(db), hot_case(db)
    vrm_a, vrm_b, shared = twin_vrms()
    add_vehicle(db, first, vrm_a)
    vehicle_b = add_vehicle(db, second, vrm_b)
    db.add(CaseVehicle(case_id=first.id, vehicle_id=vehicle_b.id))  # b is on both warrants
    db.commit()

    refresh_cases(db, redis_client, [first.id, second.id], ACTOR, namespace=ns)
    assert_consistent(redis_client, ns)
    assert read_dropped(redis_client, namespace=ns)[shared] == {vrm_a, vrm_b}

    second.on_hold = True  # b's entry changes (one warrant left), its keys do not
    db.commit()
    (change,) = refresh_cases(db, redis_client, [second.id], ACTOR, namespace=ns)
    assert change.action == "anpr_hotlist_change"
    assert_consistent(redis_client, ns)

    first.on_hold = True  # a and b leave: from the shared key first, then from all of them
    db.commit()
    assert {c.action for c in refresh_cases(db, redis_client, [first.id], ACTOR, namespace=ns)} == \
        {"anpr_hotlist_remove"}
    assert read_all(redis_client, namespace=ns) == {}
    assert read_dropped(redis_client, namespace=ns) == {}


def test_a_rebuild_overlapping_incremental_changes_leaves_hash_and_index_consistent(db, redis_client, ns):
    held_case = hot_case(db)
    held = add_vehicle(db, held_case)
    db.commit()
    refresh_cases(db, redis_client, [held_case.id], ACTOR, namespace=ns)
    added_vrm: list[str] = []

    def change_meanwhile(message: str) -> None:
        # After the rebuild read the database and before it swaps: one vehicle it listed leaves and one
        # it did not see joins, each written to the live hash and index at once.
        if message.startswith("writing"):
            with session_scope() as other:
                other.get(type(held_case), held_case.id).on_hold = True
                new_case = hot_case(other)
                added_vrm.append(add_vehicle(other, new_case).vrm)
                other.commit()
                refresh_cases(other, redis_client, [held_case.id, new_case.id], ACTOR, namespace=ns)
            assert_consistent(redis_client, ns)

    rebuild_hotlist(db, redis_client, ACTOR, namespace=ns, progress=change_meanwhile)
    live = read_all(redis_client, namespace=ns)
    assert held.vrm not in live and added_vrm[0] in live
    assert_consistent(redis_client, ns)


def _batch(*plates: str) -> Taken:
    reads = [PlateRead(ts=NOW, plate=p, confidence=0.95, lat=None, lon=None) for p in plates]
    return Taken([(1, "van-device", read, NOW) for read in reads], [])


def test_match_reads_finds_a_read_missing_one_character_in_one_lookup_per_batch(
        db, redis_client, ns, monkeypatch):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    db.commit()
    refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    short = vehicle.vrm[:-1]  # a current-format mark without its last letter is no mark itself
    commands: list[str] = []
    execute = redis_client.execute_command

    def counting(*args, **kwargs):
        commands.append(args[0])
        return execute(*args, **kwargs)

    monkeypatch.setattr(redis_client, "execute_command", counting)
    exact, dropped, other = match_reads(_batch(vehicle.vrm, short, vehicle.vrm[1:]), redis_client, 0.55,
                                        namespace=ns)
    assert (exact.match.vrm, exact.match.how) == (vehicle.vrm, "exact")
    assert (dropped.match.vrm, dropped.match.how, dropped.match.entry) == \
        (vehicle.vrm, "dropped", HotlistEntry(vehicle.id, (case.id,)))
    assert other.match is None  # a short read that is itself a mark is weaker evidence: under 0.55
    assert commands == ["HMGET", "EVAL"]  # the readings, then every deletion key of the batch

    case.on_hold = True
    db.commit()
    refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    (after,) = match_reads(_batch(short), redis_client, 0.55, namespace=ns)
    assert after.match is None
