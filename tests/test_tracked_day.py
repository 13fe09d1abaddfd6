"""Tracked working time (issue 13, ``tracked_day``): each agent's time on a London day is the sum of the
gaps between its consecutive fixes of at most ``TRACKED_GAP_S``, with its first and last fix and fix
count; the day is read as its UTC bounds (a BST day starts at 23:00 UTC the day before); a re-run
changes nothing, and the day's evidence run writes it. Hand-built fixes through the ingest store."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import add_device, connect_redis, raw_connection, session_scope
from core.models import Agent, TrackedDay
from tests.case_world import make_agent
from tests.helpers import unique
from tests.tracks import ORIGIN_LAT, ORIGIN_LON
from tracking import (
    TRACKED_GAP_S,
    Decoded,
    GpsFix,
    GpsStore,
    Received,
    record_day_evidence,
    record_tracked_days,
)

DAY = date(2026, 7, 1)                          # BST: the London day is [30 June 23:00, 1 July 23:00) UTC
START = datetime(2026, 6, 30, 23, tzinfo=UTC)


def make_phone() -> tuple[int, str]:
    with session_scope() as db:
        agent = make_agent(db)
        device, _ = add_device(db, device_id=unique("phone"), actor="test", agent_reference=agent.reference,
                               secret="s" * 16)
        return agent.id, device.device_id


def store_fixes(agent_id: int, device_id: str, times: list[datetime]) -> None:
    """One fix at each of ``times`` (all at one point: tracked time does not look at where)."""
    fixes = [GpsFix(device_id, agent_id, ts, ORIGIN_LON, ORIGIN_LAT, 10.0, 0.0) for ts in times]
    with raw_connection() as conn:
        GpsStore(conn, connect_redis()).commit(
            [Received(f"agents/{agent_id}/gps", b"{}", datetime.now(UTC), Decoded(fixes))])


def tracked(agent_id: int) -> tuple | None:
    with session_scope() as db:
        row = db.scalar(select(TrackedDay).where(TrackedDay.agent_id == agent_id, TrackedDay.day == DAY))
        return None if row is None else (row.first_fix_at, row.last_fix_at, row.tracked_s, row.fix_count)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# The day's fixes: gaps of 60, 60, exactly TRACKED_GAP_S (counted), TRACKED_GAP_S + 1 (not), 30.
DAY_TIMES = [at(0), at(60), at(120), at(120 + TRACKED_GAP_S), at(120 + 2 * TRACKED_GAP_S + 1),
             at(150 + 2 * TRACKED_GAP_S + 1)]
DAY_TRACKED_S = 60 + 60 + TRACKED_GAP_S + 30


@pytest.fixture
def phone(geodata_loaded) -> tuple[int, str]:
    agent_id, device_id = make_phone()
    # Either side of the London day: the last second of the day before (BST), and the next day's start.
    store_fixes(agent_id, device_id, [at(-1), *DAY_TIMES, at(24 * 3600)])
    return agent_id, device_id


def test_tracked_time_sums_the_gaps_of_at_most_15_minutes_within_the_london_day(phone) -> None:
    agent_id, _ = phone
    assert TRACKED_GAP_S == 900
    with session_scope() as db:
        assert record_tracked_days(db, DAY, agent_id) == 1
    # The fix at 22:59:59 UTC on 30 June is the day before in London; the one at 23:00 on 1 July the next.
    assert tracked(agent_id) == (DAY_TIMES[0], DAY_TIMES[-1], DAY_TRACKED_S, len(DAY_TIMES))


def test_a_re_run_changes_nothing_and_late_fixes_update_the_day(phone) -> None:
    agent_id, device_id = phone
    for _ in range(2):
        with session_scope() as db:
            record_tracked_days(db, DAY, agent_id)
        assert tracked(agent_id) == (DAY_TIMES[0], DAY_TIMES[-1], DAY_TRACKED_S, len(DAY_TIMES))
    # A late upload fills the long silence: it is now two gaps, both counted.
    store_fixes(agent_id, device_id, [at(120 + TRACKED_GAP_S + 450)])
    with session_scope() as db:
        record_tracked_days(db, DAY, agent_id)
    assert tracked(agent_id) == (DAY_TIMES[0], DAY_TIMES[-1], DAY_TRACKED_S + TRACKED_GAP_S + 1,
                                 len(DAY_TIMES) + 1)


def test_an_agents_two_phones_count_their_overlap_once_and_other_agents_are_apart(phone) -> None:
    agent_id, _ = phone
    with session_scope() as db:
        spare = add_device(db, device_id=unique("phone"), actor="test",
                           agent_reference=db.get(Agent, agent_id).reference, secret="s" * 16)[0].device_id
    store_fixes(agent_id, spare, [at(30), at(90)])  # inside the first phone's 0-120 s: splits its gaps
    other, other_device = make_phone()
    store_fixes(other, other_device, [at(0), at(600)])
    with session_scope() as db:
        record_tracked_days(db, DAY, agent_id)
    assert tracked(agent_id) == (DAY_TIMES[0], DAY_TIMES[-1], DAY_TRACKED_S, len(DAY_TIMES) + 2)
    assert tracked(other) is None  # only the agent asked for
    with session_scope() as db:
        record_tracked_days(db, DAY)
    assert tracked(other) == (at(0), at(600), 600, 2)


def test_the_days_evidence_run_writes_the_tracked_time(phone) -> None:
    agent_id, _ = phone
    with session_scope() as db:
        result = record_day_evidence(db, DAY, agent_id)
    assert result.tracked_agents == 1
    assert tracked(agent_id) == (DAY_TIMES[0], DAY_TIMES[-1], DAY_TRACKED_S, len(DAY_TIMES))


def test_a_day_whose_fixes_were_pruned_keeps_its_tracked_time(geodata_loaded) -> None:
    agent_id, device_id = make_phone()
    store_fixes(agent_id, device_id, [at(0), at(60)])
    with session_scope() as db:
        record_tracked_days(db, DAY, agent_id)
    with raw_connection() as conn:
        conn.execute("DELETE FROM gps_ping WHERE device_id = %s", (device_id,))
        conn.commit()
    with session_scope() as db:
        assert record_tracked_days(db, DAY, agent_id) == 0
    assert tracked(agent_id) == (at(0), at(60), 60, 2)
