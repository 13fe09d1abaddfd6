"""``bailiwick seed``: load the postcode pool, generate a scenario and store it, with timings."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from core import get_engine, raw_connection
from sim.generator import generate
from sim.pool import load_pool
from sim.spec import get_spec
from sim.store import store


@dataclass(frozen=True)
class SeedReport:
    """What one seeding did: rows per table and where the time went."""

    scenario: str
    seed: int
    counts: dict[str, int]
    pool_seconds: float
    generate_seconds: float
    store_seconds: float

    @property
    def seconds(self) -> float:
        return self.pool_seconds + self.generate_seconds + self.store_seconds

    def describe(self) -> str:
        lines = [f"scenario {self.scenario!r} (seed {self.seed}) seeded in {self.seconds:.1f} s "
                 f"(postcode pool {self.pool_seconds:.1f} s, generate {self.generate_seconds:.1f} s, "
                 f"store {self.store_seconds:.1f} s)"]
        width = max(map(len, self.counts))
        lines += [f"  {table:<{width}}  {rows:>9,}" for table, rows in self.counts.items()]
        return "\n".join(lines)


def seed_scenario(name: str, seed: int = 1, progress: bool = True, url: str | None = None) -> SeedReport:
    """Replace the operational data of the database at ``url`` (default: settings) with scenario
    ``name`` generated from ``seed``. Raises ``UnknownScenario`` before touching the database."""
    spec = get_spec(name)
    with _progress(progress) as bar:
        started = time.perf_counter()
        task = bar.add_task("postcode pool", total=None) if bar else None
        with get_engine(url).connect() as db:
            pool = load_pool(db, spec)
        pool_done = time.perf_counter()
        if bar:
            bar.update(task, total=1, completed=1)
            task = bar.add_task(f"generate {name}", total=None)
        scenario = generate(name, seed, pool)
        generated = time.perf_counter()
        counts = scenario.counts()
        if bar:
            bar.update(task, total=1, completed=1)
            task = bar.add_task("store (COPY)", total=sum(counts.values()))
        with raw_connection(url) as conn:
            store(scenario, conn, advance=(lambda rows: bar.advance(task, rows)) if bar else (lambda rows: None))
        stored = time.perf_counter()
    return SeedReport(name, seed, counts, pool_done - started, generated - pool_done, stored - generated)


@contextmanager
def _progress(enabled: bool) -> Iterator:
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description:<20}"),
                  BarColumn(bar_width=30), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        yield bar
