"""GPS ingest throughput and latency, all against one Mosquitto this script starts on a spare port (so
the shared broker on 1883, and other consumers of it, are neither loaded nor robbed of messages).

1. ``raw_rate``: a paho consumer that discards what it gets receives QoS 1 Bailiwick GPS messages (one
   fix each) while ``--publishers`` processes publish ``--messages`` of them flat out.
2. ``one_worker_rate`` then ``two_worker_rate``: the same publishing into ``bailiwick ingest gps
   --workers N`` (a subprocess, on this broker and the bench database); the rate is rows committed in
   ``gps_ping`` per second, polled from the database, from the first committed row to the last.
3. National load: 2,000 agents, one fix each per 2 s (1,000 messages/s) for ``--seconds``, into
   ``--national-workers`` workers. ``national_p99_ms``: each fix's ``ts`` is its publish time; its
   commit time is bounded from above by the start of the first database poll (every 100 ms, a fresh
   snapshot) that sees the row, so the figure overstates the latency by at most one poll interval plus
   the poll's own time.

``lost``: published (device_id, ts) not in ``gps_ping``, over every worker phase. ``duplicated``: the
primary key (device_id, ts) makes a second row impossible, so a message stored twice can only show as
a row nobody published or as a dead letter (every published message is valid): their sum.

Each worker phase starts from empty ``gps_ping`` / ``gps_dead_letter`` in the bench database.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from common import bench_url, ensure_database
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import make_url

from core import libpq_dsn

ROOT = Path(__file__).resolve().parent.parent
AGENTS = 2000
PREFIX = "bench-ingest"
MOSQUITTO_CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages {inflight}
log_dest stderr
log_type error
log_type warning
sys_interval 1
"""


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def start_broker(port: int, inflight: int, workdir: Path) -> subprocess.Popen:
    conf = workdir / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port, inflight=inflight))
    log = (workdir / "mosquitto.log").open("w")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        try:
            probe.connect("127.0.0.1", port)
            probe.disconnect()
            return broker
        except OSError:
            time.sleep(0.1)
    broker.kill()
    raise SystemExit(f"mosquitto did not listen on port {port}: {(workdir / 'mosquitto.log').read_text()}")


def seed(dsn: str) -> list[tuple[str, int]]:
    """The 2,000 agents, each with one active phone, set-based; returns (device_id, agent_id)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO subcontractor (reference, name) VALUES (%s, 'Ingest bench') "
                     "ON CONFLICT (reference) DO NOTHING", (PREFIX,))
        conn.execute(
            "INSERT INTO agent (reference, name, subcontractor_id, certificated, home_base, active) "
            "SELECT %s || '-agent-' || i, 'Bench agent ' || i, s.id, true, "
            "       ST_SetSRID(ST_MakePoint(-2.0 + (i %% 50) * 0.02, 52.0 + (i / 50) * 0.02), 4326), true "
            "FROM generate_series(0, %s - 1) i, subcontractor s WHERE s.reference = %s "
            "ON CONFLICT (reference) DO NOTHING", (PREFIX, AGENTS, PREFIX))
        # The credential is never checked here (anonymous broker); any $7$-looking text will do.
        conn.execute(
            "INSERT INTO device (device_id, kind, agent_id, credential_hash, active) "
            "SELECT %s || '-phone-' || substr(a.reference, length(%s) + 8), 'phone', a.id, '$7$bench', true "
            "FROM agent a WHERE a.reference LIKE %s || '-agent-%%' "
            "ON CONFLICT (device_id) DO NOTHING", (PREFIX, PREFIX, PREFIX))
        rows = conn.execute("SELECT d.device_id, d.agent_id FROM device d WHERE d.device_id LIKE %s "
                            "ORDER BY d.agent_id", (f"{PREFIX}-phone-%",)).fetchall()
    if len(rows) != AGENTS:
        raise SystemExit(f"seed: expected {AGENTS} bench phones, found {len(rows)}")
    return rows


def payload(device_id: str, ts: str) -> bytes:
    return (f'{{"device_id":"{device_id}","fixes":[{{"ts":"{ts}","lat":52.5,"lon":-1.9,'
            f'"accuracy_m":8.0,"speed_mps":0.0,"battery_pct":80}}]}}').encode()


def _publisher(port: int, devices: list[tuple[str, int]], count: int, interval_s: float | None,
               seconds: float, out: multiprocessing.Queue) -> None:
    """Publish QoS 1 fixes whose ts is the publish time: ``count`` flat out (round robin over
    ``devices``), or, with ``interval_s``, each device once per interval for ``seconds``, spread evenly.
    Puts the (device_id, ts) it published on ``out``."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent: list[tuple[str, str]] = []
    infos = []
    last: dict[str, datetime] = {}

    def one(device_id: str, agent_id: int) -> None:
        now = datetime.now(UTC)
        if device_id in last and now <= last[device_id]:
            # (device_id, ts) is the stored key: two fixes with one ts would count as one lost.
            raise RuntimeError(f"{device_id} published twice in one microsecond")
        last[device_id] = now
        ts = now.isoformat()
        infos.append(client.publish(f"agents/{agent_id}/gps", payload(device_id, ts), qos=1))
        sent.append((device_id, ts))

    if interval_s is None:
        for i in range(count):
            one(*devices[i % len(devices)])
    else:
        start = time.monotonic()
        step = interval_s / len(devices)
        n = 0
        while True:
            due = start + n * step
            if due - start >= seconds:
                break
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            one(*devices[n % len(devices)])
            n += 1
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    out.put(sent)


def publish(port: int, devices: list[tuple[str, int]], publishers: int, *, count: int = 0,
            interval_s: float | None = None, seconds: float = 0) -> list[tuple[str, str]]:
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()
    shares = [devices[i::publishers] for i in range(publishers)]
    procs = [ctx.Process(target=_publisher, args=(port, share, count // publishers, interval_s, seconds, out))
             for share in shares]
    for p in procs:
        p.start()
    sent = [row for _ in procs for row in out.get()]
    for p in procs:
        p.join()
    return sent


def raw_rate(port: int, devices, publishers: int, count: int) -> float:
    received = 0
    first = last = 0.0
    done = threading.Event()
    expected = count // publishers * publishers

    def on_message(_c, _u, _m) -> None:
        nonlocal received, first, last
        last = time.monotonic()
        if received == 0:
            first = last
        received += 1
        if received >= expected:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("agents/+/gps", qos=1)
    client.loop_start()
    time.sleep(0.5)
    ticker = progress_ticker(lambda: f"raw: received {received}")
    publish(port, devices, publishers, count=count)
    done.wait(60)
    ticker.set()
    client.disconnect()
    client.loop_stop()
    rate = (received - 1) / (last - first) if received > 1 else 0.0
    print(f"raw: {received}/{expected} received in {last - first:.1f} s = {rate:.0f}/s ({load()})", flush=True)
    return rate


def progress_ticker(line, every: float = 5.0) -> threading.Event:
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            print(f"  {line()} ({load()})", flush=True)

    threading.Thread(target=run, daemon=True).start()
    return stop


def connected_clients(port: int) -> int:
    """Clients connected to the broker (its ``$SYS`` count, refreshed every second), this probe excluded."""
    got: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, m: got.append(int(m.payload))
    client.connect("127.0.0.1", port)
    client.subscribe("$SYS/broker/clients/connected")
    client.loop_start()
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    if not got:
        raise SystemExit("the bench broker published no $SYS/broker/clients/connected")
    return got[-1] - 1


def start_workers(n: int, url: str, port: int, redis_url: str) -> subprocess.Popen:
    """``bailiwick ingest gps --workers n``, returned once its n clients are connected (a worker starts
    in seconds on a loaded machine, and a message published before it subscribes goes nowhere)."""
    env = dict(os.environ, BAILIWICK_DATABASE_URL=url, BAILIWICK_MQTT_URL=f"mqtt://127.0.0.1:{port}",
               BAILIWICK_REDIS_URL=redis_url)
    bailiwick = Path(sys.executable).parent / "bailiwick"
    time.sleep(2)  # the $SYS count lags a second: a previous phase's workers must be gone from it
    before = connected_clients(port)
    proc = subprocess.Popen([str(bailiwick), "ingest", "gps", "--workers", str(n)], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while connected_clients(port) < before + n:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_workers(proc)
            raise SystemExit(f"bailiwick ingest gps --workers {n} did not connect to the bench broker")
        time.sleep(0.5)
    time.sleep(1)  # its subscription follows the connection
    return proc


def stop_workers(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def empty(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE gps_ping, gps_dead_letter")


def count_rows(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM gps_ping").fetchone()[0]


def check(dsn: str, sent: list[tuple[str, str]]) -> tuple[int, int]:
    """(lost, duplicated) of ``sent`` against what is stored."""
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE published (device_id text, ts timestamptz)")
        with conn.cursor().copy("COPY published FROM STDIN") as copy:
            for row in sent:
                copy.write_row(row)
        lost = conn.execute("SELECT count(*) FROM published p WHERE NOT EXISTS "
                            "(SELECT 1 FROM gps_ping g WHERE g.device_id = p.device_id AND g.ts = p.ts)").fetchone()[0]
        extra = conn.execute("SELECT count(*) FROM gps_ping g WHERE NOT EXISTS "
                             "(SELECT 1 FROM published p WHERE g.device_id = p.device_id AND g.ts = p.ts)").fetchone()[0]
        letters = conn.execute("SELECT count(*) FROM gps_dead_letter").fetchone()[0]
    return lost, extra + letters


def wait_settled(conn: psycopg.Connection, target: int, samples: list[tuple[float, int]], idle_s: float = 15) -> None:
    """Poll the row count until it reaches ``target`` or stops growing for ``idle_s``."""
    last_change = time.monotonic()
    while True:
        n = count_rows(conn)
        now = time.monotonic()
        if not samples or n != samples[-1][1]:
            last_change = now
        samples.append((now, n))
        if n >= target or now - last_change > idle_s:
            return
        time.sleep(0.25)


def _drive(n: int, dsn: str, port: int, devices, publishers: int, count: int,
           samples: list[tuple[float, int]]) -> list[tuple[str, str]]:
    """Publish ``count`` fixes flat out, sampling the committed row count, until all are committed or
    the count stops growing."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        poll_stop = threading.Event()

        def poll() -> None:
            with psycopg.connect(dsn, autocommit=True) as own:
                while not poll_stop.is_set():
                    samples.append((time.monotonic(), count_rows(own)))
                    time.sleep(0.25)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        ticker = progress_ticker(lambda: f"{n} worker(s): {samples[-1][1] if samples else 0} rows")
        sent = publish(port, devices, publishers, count=count)
        poll_stop.set()
        poller.join()
        wait_settled(conn, len(sent), samples)
        ticker.set()
    return sent


def worker_rate(n: int, dsn: str, url: str, port: int, redis_url: str, devices, publishers: int,
                count: int) -> tuple[float, int, int]:
    empty(dsn)
    workers = start_workers(n, url, port, redis_url)
    samples: list[tuple[float, int]] = []
    try:
        sent = _drive(n, dsn, port, devices, publishers, count, samples)
    finally:
        stop_workers(workers)
    first = next(t for t, c in samples if c > 0)
    final = samples[-1][1]
    done = next(t for t, c in samples if c == final)
    rate = final / (done - first) if done > first else 0.0
    lost, duplicated = check(dsn, sent)
    print(f"{n} worker(s): {final}/{len(sent)} rows in {done - first:.1f} s = {rate:.0f}/s; lost {lost}, "
          f"duplicated {duplicated} ({load()})", flush=True)
    return rate, lost, duplicated


def national(n: int, dsn: str, url: str, port: int, redis_url: str, devices, publishers: int,
             seconds: float) -> tuple[float, int, int]:
    empty(dsn)
    workers = start_workers(n, url, port, redis_url)
    try:
        sent, seen, end = _national_run(dsn, port, devices, publishers, seconds)
    finally:
        stop_workers(workers)
    lost, duplicated = check(dsn, sent)
    latencies = []
    late = 0
    for device_id, ts in sent:
        t = datetime.fromisoformat(ts)
        at = seen.get((device_id, t))
        if at is None:
            late += 1
            at = end
        latencies.append((at - t.timestamp()) * 1000)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rate = len(sent) / seconds
    print(f"national: {len(sent)} fixes at {rate:.0f}/s into {n} worker(s): p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
          f"max {latencies[-1]:.0f} ms; not seen by the poll {late}; lost {lost}, duplicated {duplicated} "
          f"({load()})", flush=True)
    return p99, lost, duplicated


def _national_run(dsn: str, port: int, devices, publishers: int, seconds: float):
    """Publish at the national pace, polling the committed rows; returns what was published, when each
    row was first seen, and the end time (given to the rows the poll never saw)."""
    seen: dict[tuple[str, datetime], float] = {}  # row → wall time of the poll snapshot that first saw it
    poll_stop = threading.Event()

    def poll() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not poll_stop.is_set():
                at = time.time()
                # Only recent publish times: a row committed later than this window after its publish
                # is caught by the final check and counted at the end time (pessimistic).
                for device_id, ts in conn.execute("SELECT device_id, ts FROM gps_ping WHERE ts > %s",
                                                  (datetime.fromtimestamp(at - 20, UTC),)):
                    seen.setdefault((device_id, ts), at)
                time.sleep(max(0.0, 0.1 - (time.time() - at)))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    ticker = progress_ticker(lambda: f"national: {len(seen)} rows committed")
    sent = publish(port, devices, publishers, interval_s=2.0, seconds=seconds)
    deadline = time.time() + 30
    while len(seen) < len(sent) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.3)
    poll_stop.set()
    poller.join()
    ticker.set()
    return sent, seen, time.time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="national load duration (the issue: 120)")
    parser.add_argument("--messages", type=int, default=40000, help="messages per throughput phase")
    parser.add_argument("--publishers", type=int, default=4, help="publisher processes")
    parser.add_argument("--port", type=int, default=18883, help="port of this bench's own Mosquitto")
    parser.add_argument("--inflight", type=int, default=100,
                        help="Mosquitto max_inflight_messages (caps a manual-ack worker's unacked messages)")
    parser.add_argument("--national-workers", type=int, default=2)
    args = parser.parse_args()

    url = os.environ.get("BAILIWICK_BENCH_DATABASE_URL") or make_url(bench_url()).set(
        database="bailiwick_bench_ingest").render_as_string(hide_password=False)
    redis_url = os.environ.get("BAILIWICK_REDIS_URL", "redis://127.0.0.1:6379/10")
    ensure_database(url)
    dsn = libpq_dsn(url)
    devices = seed(dsn)
    print(f"seeded {len(devices)} agents with phones in {make_url(url).database}; {load()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    broker = start_broker(args.port, args.inflight, workdir)
    print(f"mosquitto on 127.0.0.1:{args.port}, max_inflight_messages {args.inflight}", flush=True)
    try:
        raw = raw_rate(args.port, devices, args.publishers, args.messages)
        one, lost1, dup1 = worker_rate(1, dsn, url, args.port, redis_url, devices, args.publishers, args.messages)
        two, lost2, dup2 = worker_rate(2, dsn, url, args.port, redis_url, devices, args.publishers, args.messages)
        p99, lost3, dup3 = national(args.national_workers, dsn, url, args.port, redis_url, devices,
                                    args.publishers, args.seconds)
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"targets: one worker {one / raw:.0%} of raw (>= 80%); two workers lost {lost2} duplicated {dup2} "
          f"(0, 0); national p99 {p99:.0f} ms (<= 1000) lost {lost3} (0)", flush=True)
    print(f"RESULT raw_rate={raw:.0f} one_worker_rate={one:.0f} two_worker_rate={two:.0f} "
          f"national_p99_ms={p99:.0f} lost={lost1 + lost2 + lost3} duplicated={dup1 + dup2 + dup3}", flush=True)


if __name__ == "__main__":
    main()
