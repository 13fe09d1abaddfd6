"""``bailiwick ingest anpr`` as an operator runs it: a process that rebuilds the hotlist, starts its
workers, turns a listed vehicle's read into a hit, and stops cleanly on SIGTERM."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from core import PROJECT_ROOT, session_scope
from tests.anpr_world import add_vehicle, hot_case, message, read, rows
from tests.helpers import publisher

BAILIWICK = shutil.which("bailiwick", path=str(Path(sys.executable).parent)) or "bailiwick"


def test_ingest_anpr_rebuilds_the_hotlist_stores_a_hit_and_stops_on_sigterm(van) -> None:
    with session_scope() as db:
        vehicle = add_vehicle(db, hot_case(db))
        db.commit()
        vrm, vehicle_id = vehicle.vrm, vehicle.id
    proc = subprocess.Popen([BAILIWICK, "ingest", "anpr", "--workers", "1"], cwd=PROJECT_ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        deadline = time.monotonic() + 60
        with publisher() as mqtt:
            # Published until stored: the worker's subscription is not there yet at first, and a
            # message published before it reaches nobody.
            while not rows("SELECT 1 FROM anpr_hit WHERE vehicle_id = %s", vehicle_id):
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "no hit stored"
                mqtt.publish(f"vans/{van.van_id}/anpr", message(van, read(vrm, at)), qos=1).wait_for_publish(5)
                time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "hotlist:" in out and "vehicles" in out
    assert rows("SELECT reads FROM anpr_sighting WHERE vehicle_id = %s", vehicle_id) == [(1,)]


def test_ingest_anpr_refuses_a_worker_count_out_of_range() -> None:
    result = CliRunner().invoke(app, ["ingest", "anpr", "--workers", "0"])
    assert result.exit_code == 2 and "--workers" in result.output
