"""Benchmark: a full ANPR hotlist rebuild for the ``national`` scenario against a row-by-row baseline.

Into a scratch database (``bailiwick_bench``, or ``BAILIWICK_BENCH_DATABASE_URL``), created, migrated
and loaded with the reference geography if needed:

1. ``sim.seed_scenario("national")`` (200,000 cases, about 26,000 vehicles). The generator starts no
   R-ANPR-24H clock, so the bench starts it for every enforcement-stage warrant as its first visit
   would (``anpr_eligible_from`` = the stage's first day + 33 h), and marks a deterministic few
   vehicles hire or lease (1 in 50), found with a different keeper (1 in 40) and links with a change
   of ownership (1 in 60), so that every branch of the rule has rows to decide;
2. ``rebuild_hotlist`` into its own Redis keys (``bench:hotlist:``): the first rebuild, which audits
   every vehicle it adds (what a first start does), then a second one over the same state, timed apart;
3. the baseline: the same rebuild row by row, one vehicle at a time (one query per vehicle through the
   same rule, one ``HSET`` and one ORM audit row per vehicle added), on a sample of vehicles,
   extrapolated linearly to all of them. Its entries are checked against the full rebuild's.

The issue's target: a full rebuild under 10 s. Run: ``.venv/bin/python bench/hotlist.py``; do not run
it beside another bench (they share the scratch database). The last line is ``RESULT key=value ...``.
"""
from __future__ import annotations

import time

from common import bench_url, ensure_database
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

import geodata
import sim
from anpr_ingest import HotlistEntry, derive, read_all, rebuild_hotlist
from core import connect_redis, get_settings, session_scope
from core.models import AuditEvent, Vehicle

SEED = 1
SAMPLE = 1_000
NAMESPACE = "bench:hotlist:"
BASELINE_KEY = NAMESPACE + "baseline"

CASE_STATE = [
    """UPDATE enforcement_case SET anpr_eligible_from =
         (enforcement_stage_on + interval '33 hours') AT TIME ZONE 'Europe/London'
       WHERE stage = 'enforcement' AND enforcement_stage_on IS NOT NULL""",
    "UPDATE vehicle SET hire_or_lease = (id % 50 = 0)",
    "UPDATE vehicle SET keeper_check_state = 'different_keeper' WHERE id % 40 = 0",
    "UPDATE case_vehicle SET ownership_changed = ((case_id + vehicle_id) % 60 = 0)",
    "ANALYZE enforcement_case, vehicle, case_vehicle",
]


def clear(client, namespace: str = NAMESPACE) -> None:
    keys = list(client.scan_iter(match=namespace + "*"))
    if keys:
        client.delete(*keys)


def row_by_row(url: str, client, vehicle_ids: list[int]) -> tuple[float, dict[str, HotlistEntry]]:
    """Seconds to rebuild ``vehicle_ids`` one at a time, and the entries written."""
    client.delete(BASELINE_KEY)
    written: dict[str, HotlistEntry] = {}
    started = time.perf_counter()
    with session_scope(url) as db:
        for vehicle_id in vehicle_ids:
            (d,) = derive(db, vehicle_ids=[vehicle_id])
            if d.entry is not None:
                client.hset(BASELINE_KEY, d.vrm, d.entry.dumps())
                db.add(AuditEvent(actor="bench:baseline", action="anpr_hotlist_add", target=f"vehicle:{d.vehicle_id}",
                                  data={"vrm": d.vrm, "rule": "R-ANPR-24H", "case_ids": list(d.case_ids)}))
                written[d.vrm] = d.entry
    return time.perf_counter() - started, written


def prepare_national(url: str) -> list[int]:
    """``url`` created, migrated, with the reference geography, the ``national`` scenario seeded and
    its case state set (``CASE_STATE``); returns the vehicle ids."""
    ensure_database(url)
    geodata.load_all(get_settings().geodata_dir, url, progress=False)  # skips unchanged files
    print(f"database: {make_url(url).render_as_string(hide_password=True)}", flush=True)
    report = sim.seed_scenario("national", seed=SEED, progress=False, url=url)
    print(f"seeded national in {report.seconds:.1f} s", flush=True)
    with session_scope(url) as db:
        for statement in CASE_STATE:
            db.execute(text(statement))
        return list(db.scalars(select(Vehicle.id).order_by(Vehicle.id)))


def main() -> None:
    url = bench_url()
    vehicle_ids = prepare_national(url)

    client = connect_redis()
    clear(client)
    try:
        with session_scope(url) as db:
            first = rebuild_hotlist(db, client, "bench:hotlist", namespace=NAMESPACE)
        print(f"first rebuild: {first.vehicles:,} of {len(vehicle_ids):,} vehicles on the hotlist, "
              f"{first.added:,} additions audited, in {first.seconds:.2f} s")
        with session_scope(url) as db:
            second = rebuild_hotlist(db, client, "bench:hotlist", namespace=NAMESPACE)
        print(f"second rebuild (no change): {second.seconds:.2f} s, {second.added + second.removed} changes")
        hotlist = read_all(client, namespace=NAMESPACE)

        sample = vehicle_ids[:: max(1, len(vehicle_ids) // SAMPLE)][:SAMPLE]
        baseline_seconds, written = row_by_row(url, client, sample)
        with session_scope(url) as db:
            vrms = dict(db.execute(select(Vehicle.id, Vehicle.vrm).where(Vehicle.id.in_(sample))).all())
        expected = {vrm: hotlist[vrm] for vrm in vrms.values() if vrm in hotlist}
        assert written == expected, "the row-by-row baseline disagrees with the rebuild"
        extrapolated = baseline_seconds * len(vehicle_ids) / len(sample)
        print(f"row-by-row baseline: {len(sample):,} vehicles in {baseline_seconds:.2f} s "
              f"→ {extrapolated:.1f} s extrapolated to {len(vehicle_ids):,}")
    finally:
        clear(client)
    speedup = extrapolated / first.seconds
    print(f"RESULT rebuild_seconds={first.seconds:.2f} vehicles={first.vehicles} "
          f"baseline_seconds_extrapolated={extrapolated:.1f} speedup={speedup:.1f}")


if __name__ == "__main__":
    main()
