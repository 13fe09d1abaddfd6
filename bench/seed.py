"""Benchmark: seeding the ``national`` scenario (200,000 cases) against an ORM baseline.

Into a scratch database (``bailiwick_bench``, created with PostGIS, migrated and loaded with the
reference geography if needed; override with ``BAILIWICK_BENCH_DATABASE_URL``):

1. ``sim.seed_scenario("national")``: postcode pool, pure generation and the COPY store, timed apart;
   before it, the ``tiny`` scenario the tests seed (``tiny_seconds``; expected well under 20 s);
2. the baseline it replaces: SQLAlchemy ORM objects for the debtors, addresses and cases of the
   ``demo`` scenario, ``session.add_all`` + ``commit`` (object construction included), extrapolated
   linearly to the national case count. The baseline writes three tables; the COPY store writes all
   eleven (with 590,000 case events), so ``speedup = baseline / store`` understates the gain.

The baseline runs first, into data that the national seed then replaces. Do not run this at the same
time as ``bench/geodata_load.py``, which uses the same database.

Run: ``.venv/bin/python bench/seed.py``. The last line is ``RESULT key=value ...``.
"""
from __future__ import annotations

import time

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import make_url

import geodata
import sim
from common import bench_url, ensure_database
from core import get_engine, get_settings, session_scope
from core.models import Address, Buyer, Case, Debtor

SEED = 1
ORM_GROUP_OFFSET = 10_000_000  # keeps the baseline's linked groups apart from the seeded ones


def _nullable(value):
    return None if pd.isna(value) else value


def _date(value):
    return None if pd.isna(value) else value.date()


def orm_baseline(url: str) -> tuple[float, int]:
    """Seconds to store the demo scenario's debtors, addresses and cases through the ORM, and the
    number of cases. References get an ``ORM-`` prefix (and linked groups an offset) so they cannot
    collide with seeded cases. Needs the buyers and subcontractors of a seeded scenario."""
    with get_engine(url).connect() as db:
        scenario = sim.generate("demo", SEED, sim.load_pool(db, sim.SCENARIOS["demo"]))
    started = time.perf_counter()
    with session_scope(url) as session:
        buyer_ids = dict(session.execute(select(Buyer.reference, Buyer.id)).all())
        debtors = {r.id: Debtor(name=r.name, date_of_birth=_date(r.date_of_birth), phone=_nullable(r.phone),
                                email=_nullable(r.email))
                   for r in scenario.debtors.itertuples()}
        addresses = {r.id: Address(line1=r.line1, town=r.town, postcode=r.postcode, itl1_cd=r.itl1_cd,
                                   lad_cd=r.lad_cd, location=f"SRID=4326;POINT({r.lon!r} {r.lat!r})")
                     for r in scenario.addresses.itertuples()}
        cases = [
            Case(buyer_id=buyer_ids[r.buyer], buyer_reference=f"ORM-{r.buyer_reference}",
                 supplier_reference=f"ORM-{r.supplier_reference}", subcontractor_reference=r.subcontractor_reference,
                 debt_type=r.debt_type, original_balance_pence=r.original_balance_pence,
                 current_balance_pence=r.current_balance_pence, stage=r.stage, status=r.status,
                 on_hold=r.on_hold, hold_reason=_nullable(r.hold_reason), vulnerable=r.vulnerable,
                 vulnerability_note=_nullable(r.vulnerability_note), received_on=r.received_on.date(),
                 notice_issued_on=_date(r.notice_issued_on), enforcement_stage_on=_date(r.enforcement_stage_on),
                 linked_group=None if pd.isna(r.linked_group) else ORM_GROUP_OFFSET + r.linked_group, is_leading=r.is_leading,
                 debtor=debtors[r.debtor_id], address=addresses[r.address_id],
                 assigned_subcontractor_id=r.assigned_subcontractor_id)
            for r in scenario.cases.itertuples()
        ]
        session.add_all([*debtors.values(), *addresses.values(), *cases])
    return time.perf_counter() - started, len(cases)


def main() -> None:
    url = bench_url()
    ensure_database(url)
    geodata.load_all(get_settings().geodata_dir, url, progress=False)  # skips unchanged files
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")

    tiny = sim.seed_scenario("tiny", seed=SEED, progress=False, url=url)
    print(tiny.describe())
    orm_seconds, orm_cases = orm_baseline(url)
    national = sim.SCENARIOS["national"]
    extrapolated = orm_seconds * national.cases / orm_cases
    print(f"ORM baseline: {orm_cases:,} demo cases (+ debtors, addresses) in {orm_seconds:.2f} s "
          f"→ {extrapolated:.0f} s extrapolated to {national.cases:,} cases")

    report = sim.seed_scenario("national", seed=SEED, progress=False, url=url)
    print(report.describe())
    speedup = extrapolated / report.store_seconds
    print(f"COPY store {report.store_seconds:.1f} s (all tables) vs ORM {extrapolated:.0f} s (3 tables): "
          f"{speedup:.1f}x")
    counts = report.counts
    print(f"RESULT national_seconds={report.seconds:.1f} generate_seconds={report.generate_seconds:.1f} "
          f"store_seconds={report.store_seconds:.1f} cases={counts['enforcement_case']} "
          f"agents={counts['agent']} vans={counts['van']} "
          f"baseline_orm_seconds_extrapolated={extrapolated:.0f} speedup={speedup:.1f} "
          f"tiny_seconds={tiny.seconds:.1f}")


if __name__ == "__main__":
    main()
