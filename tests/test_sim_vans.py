"""``bailiwick sim vans`` over the real broker, database and Redis: the ``tiny`` scenario's vans, signed
in with their seeded secrets, publish reads that the ANPR pipeline takes without a dead letter, hotlist
vehicles of the scenario among them, with the truth of every read written."""
from __future__ import annotations

import csv
import time as clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

import sim
from anpr_ingest import read_all, rebuild_hotlist
from core import LONDON, session_scope
from tests.anpr_world import anpr_worker, namespace, rows
from tests.helpers import running

SEED = 1


@pytest.fixture
def hot_tiny(geodata_loaded: str, redis_client) -> Iterator[tuple[str, list[str]]]:
    """The tiny scenario seeded, its enforcement-stage warrants' R-ANPR-24H clocks run out (as
    ``bench/hotlist.py`` starts them), and its hotlist rebuilt into a namespace of this test's own."""
    sim.seed_scenario("tiny", seed=SEED, progress=False, url=geodata_loaded)
    with session_scope() as db:
        db.execute(text("UPDATE enforcement_case SET anpr_eligible_from = now() - interval '1 hour' "
                        "WHERE stage = 'enforcement' AND enforcement_stage_on IS NOT NULL"))
    with namespace(redis_client) as ns, session_scope() as db:
        rebuild_hotlist(db, redis_client, "test:sim-vans", namespace=ns)
        yield ns, sorted(read_all(redis_client, namespace=ns))


def test_simulated_vans_publish_reads_the_pipeline_accepts(hot_tiny, private_broker_url: str, tmp_path: Path) -> None:
    ns, listed = hot_tiny
    assert listed, "the tiny scenario put no vehicle on the hotlist"
    day = datetime.now(LONDON).date() - timedelta(days=1)  # a past day: no read is in the future
    truth = tmp_path / "vans.csv"
    since = datetime.combine(day, time(0), LONDON)

    def counted() -> int:
        return rows("SELECT coalesce(sum(reads), 0)::int FROM anpr_read_count WHERE hour >= %s", since)[0][0]

    started = datetime.now(UTC)
    # A broker of its own: on the shared one a loaded machine's worker lost reads (1,704 of 1,872 arrived).
    with running(anpr_worker(ns, mqtt_url=private_broker_url)):
        report = sim.simulate_vans(day, listed, scenario="tiny", scenario_seed=SEED, seed=3, speed=None,
                                   until=time(8, 45), truth=truth, mqtt_url=private_broker_url)
        deadline = clock.monotonic() + 120
        while counted() < report.reads and clock.monotonic() < deadline:
            clock.sleep(0.5)
    assert report.vans == sim.SCENARIOS["tiny"].vans
    assert report.reads > 500 and report.listed_reads > 0
    assert counted() == report.reads
    # Earlier tests left their letters: only this run's letters of the scenario's own devices count.
    assert rows("SELECT count(*) FROM anpr_dead_letter WHERE received_at >= %s "
                "AND device_id IN (SELECT device_id FROM device)", started)[0][0] == 0
    with truth.open() as f:
        read_rows = list(csv.DictReader(f))
    assert len(read_rows) == report.reads
    truly_listed = {r["true_vrm"] for r in read_rows if r["listed"] == "1"}
    assert truly_listed and truly_listed <= set(listed)
    assert not {r["true_vrm"] for r in read_rows if r["listed"] == "0"} & set(listed)
    assert any(r["plate"] != r["true_vrm"] for r in read_rows)  # OCR noise reached the messages
    hits = {vrm for (vrm,) in rows("SELECT vrm FROM anpr_hit WHERE ts >= %s AND device_id LIKE 'van-%%'", since)}
    assert hits and hits <= set(listed)
    assert len(hits & truly_listed) >= 0.9 * len(truly_listed)


def test_a_van_day_is_the_same_for_the_same_seed() -> None:
    van = sim.VanPlan(1, "van-x", (530_000.0, 180_000.0))
    a = sim.generate_van_day(van, date(2026, 12, 7), ["AB12CDE"], seed=5)
    b = sim.generate_van_day(van, date(2026, 12, 7), ["AB12CDE"], seed=5)
    assert [m.payload for m in a.messages] == [m.payload for m in b.messages]
    assert all(m.topic == "vans/1/anpr" and m.device_id == "van-x" for m in a.messages)
