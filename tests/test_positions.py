"""Live positions on the real Redis: the GEO set and the fix-time hash round-trip, a later fix replaces
an earlier one and an older one never does, and an agent with half a fix (position or time only) has none. Each test writes under
its own key namespace and deletes it afterwards."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.positions import AT_KEY, GEO_KEY, Fix, connect, read_positions, write_positions
from dispatch.model import Point
from tests.helpers import unique

PLYMOUTH = Point(-4.1427, 50.3755)
NEWCASTLE = Point(-1.6178, 54.9783)
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def redis_ns() -> Iterator[tuple[object, str]]:
    client = connect()
    namespace = f"test:{unique('pos')}:"
    yield client, namespace
    client.delete(namespace + GEO_KEY, namespace + AT_KEY)


def close(fix: Fix, where: Point) -> bool:
    # Redis keeps positions as 52-bit geohashes: within a metre, about 1e-5 degrees.
    return abs(fix.lon - where.lon) < 1e-5 and abs(fix.lat - where.lat) < 1e-5


def test_fixes_round_trip_in_one_geo_set_and_one_hash(redis_ns) -> None:
    client, ns = redis_ns
    write_positions(client, {7: (PLYMOUTH, NOON), 8: (NEWCASTLE, NOON - timedelta(minutes=5))}, namespace=ns)
    got = read_positions(client, [7, 8, 9], namespace=ns)
    assert set(got) == {7, 8}  # 9 never reported
    assert close(got[7], PLYMOUTH) and got[7].at == NOON
    assert close(got[8], NEWCASTLE) and got[8].at == NOON - timedelta(minutes=5)
    # The documented keys: members and fields are agent ids, times ISO 8601 in UTC.
    assert client.zcard(ns + GEO_KEY) == 2
    assert client.hget(ns + AT_KEY, "7") == b"2026-11-23T12:00:00+00:00"
    # A real GEO set: Redis measures the great circle between the two city centres (about 539 km).
    assert client.geodist(ns + GEO_KEY, "7", "8", unit="km") == pytest.approx(539.4, abs=1)


def test_a_later_fix_replaces_the_earlier_and_times_are_kept_in_utc(redis_ns) -> None:
    client, ns = redis_ns
    write_positions(client, {7: (PLYMOUTH, NOON)}, namespace=ns)
    bst = timezone(timedelta(hours=1))
    write_positions(client, {7: (NEWCASTLE, datetime(2026, 11, 23, 13, 30, tzinfo=bst))}, namespace=ns)
    fix = read_positions(client, [7], namespace=ns)[7]
    assert close(fix, NEWCASTLE)
    assert fix.at == datetime(2026, 11, 23, 12, 30, tzinfo=UTC) and fix.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("late", [NOON - timedelta(hours=3), NOON, NOON - timedelta(microseconds=1)])
def test_an_older_or_equal_fix_never_moves_the_agent_back(redis_ns, late) -> None:
    client, ns = redis_ns
    assert write_positions(client, {7: (PLYMOUTH, NOON)}, namespace=ns) == 1
    assert write_positions(client, {7: (NEWCASTLE, late), 8: (NEWCASTLE, late)}, namespace=ns) == 1  # only 8
    fix = read_positions(client, [7], namespace=ns)[7]
    assert close(fix, PLYMOUTH) and fix.at == NOON
    # Sub-second times order correctly against whole seconds.
    assert write_positions(client, {7: (NEWCASTLE, NOON + timedelta(microseconds=1))}, namespace=ns) == 1
    assert write_positions(client, {7: (PLYMOUTH, NOON + timedelta(seconds=1))}, namespace=ns) == 1
    assert write_positions(client, {7: (NEWCASTLE, NOON + timedelta(microseconds=999_999))}, namespace=ns) == 0
    assert close(read_positions(client, [7], namespace=ns)[7], PLYMOUTH)


def test_half_a_fix_is_no_fix(redis_ns) -> None:
    client, ns = redis_ns
    client.geoadd(ns + GEO_KEY, [PLYMOUTH.lon, PLYMOUTH.lat, "7"])
    client.hset(ns + AT_KEY, "8", NOON.isoformat())
    assert read_positions(client, [7, 8], namespace=ns) == {}


def test_naive_times_are_refused_and_nothing_is_written(redis_ns) -> None:
    client, ns = redis_ns
    with pytest.raises(ValueError, match="agent 7"):
        write_positions(client, {7: (PLYMOUTH, datetime(2026, 11, 23, 12))}, namespace=ns)
    assert read_positions(client, [7], namespace=ns) == {}
    assert read_positions(client, [], namespace=ns) == {}
    write_positions(client, {}, namespace=ns)
