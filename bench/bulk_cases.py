"""Benchmark: placing 100,000 cases in one streamed ``POST /cases/bulk``.

Into a scratch database (``bailiwick_bench``, created with PostGIS, migrated and loaded with the
reference geography if missing; override with ``BAILIWICK_BENCH_DATABASE_URL``), through the real
server: ``bailiwick serve`` (the virtualenv's command, one worker) in a process of its own on a spare
port, driven over HTTP with httpx, as a buyer's system would:

1. 100,000 valid CSV rows at real postcodes (every tenth row a second warrant of the previous row's
   debtor at the same address, so linking is exercised; three rows in ten name a vehicle), sent as
   one chunked request and timed end to end;
2. the same file again (idempotency: every row already present);
3. the baseline: one ``POST /cases`` per row for 1,000 rows, extrapolated to 100,000.

Run: ``.venv/bin/python bench/bulk_cases.py``. The last line is ``RESULT key=value ...``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from common import bench_url, ensure_database
from sqlalchemy import text

ROWS = 100_000
BASELINE_ROWS = 1_000
SEED = 20250303
HEADER = "buyer_reference,debt_type,original_balance_pence,debtor_name,address_line1,postcode,vrm,town\n"
LETTERS = np.array(list("ABCDEFGHJKLMNOPRSTUVWXY"))


def vrms(n: int, run: int) -> np.ndarray:
    """n distinct current-format marks (AB12CDE): the run picks the area letters, the index the rest."""
    i = np.arange(n)
    age = 51 + (i % 24)
    rest = i // 24
    k = len(LETTERS)
    area = LETTERS[run % k] + LETTERS[(run // k) % k]
    return np.char.add(np.char.add(np.char.add(area, age.astype(str)), LETTERS[rest % k]),
                       np.char.add(LETTERS[(rest // k) % k], LETTERS[(rest // k // k) % k]))


def csv_rows(postcodes: np.ndarray, run: int) -> list[str]:
    rng = np.random.default_rng(SEED)
    pc = postcodes[rng.integers(0, len(postcodes), ROWS)]
    person = np.arange(ROWS)
    person[9::10] -= 1                      # a second warrant of the previous row's debtor
    pc[9::10] = pc[8::10][: len(pc[9::10])]
    debt = rng.choice(["council_tax", "business_rates", "parking", "sundry"], ROWS)
    pence = rng.integers(5_000, 500_000, ROWS)
    plate = np.where(rng.random(ROWS) < 0.3, vrms(ROWS, run), "")
    return [f"B{run}-{i:06d},{debt[i]},{pence[i]},Debtor {person[i]},{person[i] % 300 + 1} Bench Road,{pc[i]},"
            f"{plate[i]},Benchtown\n" for i in range(ROWS)]


def stream(lines: list[str], chunk_rows: int = 2_000) -> Iterator[bytes]:
    yield HEADER.encode()
    for start in range(0, len(lines), chunk_rows):
        yield "".join(lines[start:start + chunk_rows]).encode()


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(url: str, startup_seconds: float = 60) -> Iterator[str]:
    """``bailiwick serve`` against the database at ``url``; yields its base URL once ``/health``
    answers, and stops it on the way out. Its log goes to a file, shown if it dies first."""
    port = spare_port()
    command = [str(Path(sys.executable).with_name("bailiwick")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, env={**os.environ, "BAILIWICK_DATABASE_URL": url},
                                stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup_seconds
            while True:
                try:
                    httpx.get(f"{base}/health", timeout=5).raise_for_status()
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"bailiwick serve did not come up:\n{log.read().decode()}") from None
                    time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    url = bench_url()
    ensure_database(url)
    os.environ["BAILIWICK_DATABASE_URL"] = url
    from core import get_settings, session_scope
    get_settings.cache_clear()

    import geodata
    from core import create_user
    from core.models import Buyer

    geodata.load_all(get_settings().geodata_dir, url, progress=False)
    run = uuid.uuid4().int % 500
    tag = uuid.uuid4().hex[:8]
    password = "bench password 123"
    with session_scope() as db:
        postcodes = np.array(db.execute(geodata_postcodes()).scalars().all())
        db.add_all([Buyer(reference=f"bench-{tag}", name="Bench Council", kind="council"),
                    Buyer(reference=f"bench-{tag}-single", name="Bench Council (single)", kind="council")])
        db.flush()
        create_user(db, username=f"bench-admin-{tag}", password=password, role="admin", actor="bench")

    lines = csv_rows(postcodes, run)
    with served(url) as base, httpx.Client(base_url=base, timeout=600) as client:
        token = client.post("/auth/token", data={"username": f"bench-admin-{tag}", "password": password})
        token.raise_for_status()
        auth = {"Authorization": f"Bearer {token.json()['access_token']}", "content-type": "text/csv"}

        def send() -> tuple[dict, float]:
            t0 = time.perf_counter()
            r = client.post("/cases/bulk", params={"buyer": f"bench-{tag}"}, content=stream(lines), headers=auth)
            r.raise_for_status()
            return r.json(), time.perf_counter() - t0

        receipt, seconds = send()
        print(f"bulk: {receipt['accepted']:,} of {receipt['received']:,} accepted in {seconds:.1f} s "
              f"({receipt['rejected']} rejected)")
        again, resend_seconds = send()
        print(f"re-send: {again['already_present']:,} already present in {resend_seconds:.1f} s")

        t0 = time.perf_counter()
        for i in range(BASELINE_ROWS):
            r = client.post("/cases", headers={"Authorization": auth["Authorization"]}, json={
                "buyer": f"bench-{tag}-single", "buyer_reference": f"S-{i:06d}", "debt_type": "council_tax",
                "original_balance_pence": 10_000, "debtor": {"name": f"Single {i}"},
                "address": {"line1": f"{i} Bench Road", "postcode": str(postcodes[i])}})
            r.raise_for_status()
        baseline = (time.perf_counter() - t0) * ROWS / BASELINE_ROWS
        print(f"baseline: {BASELINE_ROWS:,} single POST /cases, extrapolated to {ROWS:,}: {baseline:.0f} s")
    print(f"RESULT rows={receipt['received']} accepted={receipt['accepted']} seconds={seconds:.2f} "
          f"rows_per_second={receipt['accepted'] / seconds:.0f} resend_seconds={resend_seconds:.2f} "
          f"baseline_single_post_seconds_extrapolated={baseline:.0f} speedup={baseline / seconds:.1f}")


def geodata_postcodes():
    # A fixed sample, so the file is the same for a seed whatever the table's physical order.
    return text("SELECT postcode FROM postcode ORDER BY postcode LIMIT 200000")


if __name__ == "__main__":
    main()
