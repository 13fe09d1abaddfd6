"""Simulated ANPR vans over MQTT (``bailiwick sim vans``): each van of the scenario patrols from its
base along road-like routes (``sim.agent_motion``'s movement) through its shift, its camera reading the
plates of passing traffic, and its device publishes each read as the Bailiwick van form on
``vans/{van_id}/anpr`` (QoS 1, signed in with the device's seeded secret), with the ground truth
(the true mark, whether it is listed, the read as sent) written beside them as CSV.

Traffic is mostly random valid marks of every DVLA shape, weighted to the current one, and a share
(``LISTED_SHARE``) of hotlist vehicles; every read goes through ``sim.plate_noise``'s OCR model.
The hotlist is given by the caller (``cli`` reads it from Redis: the simulator may not import
``anpr_ingest``). The same seed, vans and hotlist give the same messages, byte for byte.
"""
from __future__ import annotations

import csv
import heapq
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

import geodata
from core import LONDON, session_scope
from core.models import Device, Van
from sim.agent_day import Message
from sim.agent_motion import RouteBuilder
from sim.agent_publish import publish_messages
from sim.fleet import seeded_secrets
from sim.plate_noise import noisy_read, random_mark
from sim.streams import Streams

SHIFT = (time(8, 0), time(18, 0))   # London; each van sets off up to START_JITTER_S after the start
START_JITTER_S = 1800.0
PATROL_M = (800.0, 5000.0)          # how far from base each leg's end is
WATCH_S = (120.0, 900.0)            # parked at a leg's end, watching the road
READS_PER_S = 0.5                   # plates read per second, moving or parked (traffic passes both)
LISTED_SHARE = 0.01                 # reads of hotlist vehicles, when the hotlist is not empty
SEND_DELAY_S = (0.2, 1.5)           # camera to broker
TRUTH_COLUMNS = ["van_id", "device_id", "ts", "true_vrm", "listed", "plate", "confidence", "candidates",
                 "lat", "lon"]


@dataclass(frozen=True, slots=True)
class VanPlan:
    van_id: int
    device_id: str
    base: tuple[float, float]  # BNG metres


@dataclass(frozen=True, slots=True)
class TrueRead:
    """One plate read: what passed (``true_vrm``, ``listed``) and what the camera sent."""

    van_id: int
    device_id: str
    ts: datetime
    sent_at: datetime
    true_vrm: str
    listed: bool
    plate: str
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    lat: float
    lon: float


@dataclass(frozen=True)
class VanDay:
    van: VanPlan
    reads: list[TrueRead]
    messages: list[Message]


def _patrol(van: VanPlan, day: date, rng: np.random.Generator):
    """The van's trajectory over its shift: legs out from base to watch points and back at the end."""
    t0 = datetime.combine(day, SHIFT[0], LONDON) + timedelta(seconds=float(rng.uniform(0, START_JITTER_S)))
    shift_s = (datetime.combine(day, SHIFT[1], LONDON) - t0).total_seconds()
    b = RouteBuilder(t0.replace(microsecond=0), *van.base, rng)
    while b.now < shift_s:
        r, angle = rng.uniform(*PATROL_M), rng.uniform(0, 2 * math.pi)
        b.drive(van.base[0] + r * math.cos(angle), van.base[1] + r * math.sin(angle))
        b.hold(rng.uniform(*WATCH_S))
    b.drive(*van.base)
    return b.traj


def generate_van_day(van: VanPlan, day: date, listed: Sequence[str], seed: int = 1) -> VanDay:
    """One van's reads of ``day`` and the messages that carry them (pure). ``listed``: the hotlist's
    marks, sorted (their order picks which vehicle passes)."""
    streams = Streams(seed, "vans")
    traj = _patrol(van, day, streams(f"motion.{van.van_id}"))
    timing = streams(f"camera.{van.van_id}")
    gaps = timing.exponential(1 / READS_PER_S, size=int(traj.end_s * READS_PER_S * 1.2) + 16)
    secs = np.cumsum(gaps)
    secs = secs[secs < traj.end_s]
    ax, ay = traj.at(secs - 0.5)
    bx, by = traj.at(secs + 0.5)
    lon, lat = geodata.to_wgs84((ax + bx) / 2, (ay + by) / 2)
    speed = np.hypot(bx - ax, by - ay)
    heading = np.degrees(np.arctan2(bx - ax, by - ay)) % 360
    sent = secs + timing.uniform(*SEND_DELAY_S, size=len(secs))
    # One random.Random for the plates: the noise model draws a read at a time (see sim.plate_noise).
    plates = random.Random(int(streams(f"plates.{van.van_id}").integers(2**63)))
    hot = set(listed)
    t0 = traj.t0.astimezone(UTC)
    reads, messages = [], []
    for s, la, lo, v, h, at in zip(secs, lat, lon, speed, heading, sent):
        is_listed = bool(listed) and plates.random() < LISTED_SHARE
        mark = plates.choice(listed) if is_listed else random_mark(plates)
        while not is_listed and mark in hot:
            mark = random_mark(plates)
        plate, confidence, candidates = noisy_read(plates, mark)
        ts = t0 + timedelta(seconds=round(float(s), 3))
        sent_at = t0 + timedelta(seconds=float(at))
        read = TrueRead(van.van_id, van.device_id, ts, sent_at, mark, is_listed, plate, round(confidence, 3),
                        tuple((p, round(c, 3)) for p, c in candidates), round(float(la), 7), round(float(lo), 7))
        reads.append(read)
        body = {"device_id": van.device_id, "reads": [{
            "ts": ts.isoformat(), "plate": plate, "confidence": read.confidence, "lat": read.lat, "lon": read.lon,
            "heading_deg": round(float(h), 1), "speed_mps": round(float(v), 1),
            "image_ref": f"{van.device_id}/{ts.strftime('%Y%m%dT%H%M%S%f')}.jpg",
            "candidates": [{"plate": p, "confidence": c} for p, c in read.candidates]}]}
        messages.append(Message(sent_at, f"vans/{van.van_id}/anpr",
                                json.dumps(body).encode(), 1, van.device_id))
    messages.sort(key=lambda m: m.at)  # a later read may reach the broker first
    return VanDay(van, reads, messages)


def read_vans(scenario: str, scenario_seed: int, database_url: str | None = None
              ) -> tuple[list[VanPlan], dict[str, str]]:
    """The active vans with an active device, by van id (a van with two devices: the first), and
    their devices' secrets re-derived from the scenario's seed (``bailiwick seed --seed``)."""
    with session_scope(database_url) as db:
        rows = db.execute(select(Van.id, Device.device_id, func.ST_X(Van.base), func.ST_Y(Van.base))
                          .join(Device, (Device.van_id == Van.id) & (Device.kind == "van") & Device.active)
                          .where(Van.active, Van.base.is_not(None)).order_by(Van.id, Device.device_id)).all()
        seeded = list(db.scalars(select(Device.device_id).where(Device.device_id.like("phone-%")
                                                                 | Device.device_id.like("van-%"))
                                 .order_by(Device.id)))
    vans: dict[int, VanPlan] = {}
    for van_id, device_id, lon, lat in rows:
        if van_id not in vans:
            vans[van_id] = VanPlan(van_id, device_id, geodata.to_bng(lon, lat))
    return list(vans.values()), seeded_secrets(scenario, scenario_seed, seeded)


def write_truth(days: Sequence[VanDay], path: Path) -> int:
    """Every read of ``days`` as CSV (``TRUTH_COLUMNS``; candidates as ``plate:confidence`` joined by
    ``|``), in time order; returns the number of reads written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    reads = heapq.merge(*(d.reads for d in days), key=lambda r: r.ts)
    n = 0
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(TRUTH_COLUMNS)
        for r in reads:
            w.writerow([r.van_id, r.device_id, r.ts.isoformat(), r.true_vrm, int(r.listed), r.plate, r.confidence,
                        "|".join(f"{p}:{c}" for p, c in r.candidates), r.lat, r.lon])
            n += 1
    return n


@dataclass(frozen=True)
class VanSimReport:
    day: date
    vans: int
    reads: int
    listed_reads: int
    truth_path: Path

    def describe(self) -> str:
        return (f"{self.day}: {self.vans} vans published {self.reads} plate reads ({self.listed_reads} of hotlist "
                f"vehicles); the truth in {self.truth_path}")


def simulate_vans(day: date, listed: Sequence[str], *, scenario: str, scenario_seed: int = 1, seed: int = 1,
                  speed: float | None = None, until: time | None = None, truth: Path,
                  mqtt_url: str | None = None, database_url: str | None = None,
                  progress: Callable[[int], Callable[[int], None]] | None = None) -> VanSimReport:
    """Simulate the scenario's vans on ``day`` (London) and publish their reads, each van's device
    signed in with its seeded secret: ``speed`` times real time, or as fast as the broker takes them
    when None; ``until`` (London time) ends the day there. ``listed``: the hotlist's marks."""
    vans, secrets = read_vans(scenario, scenario_seed, database_url)
    marks = sorted(listed)
    days = [generate_van_day(v, day, marks, seed) for v in vans]
    if until is not None:
        cutoff = datetime.combine(day, until, LONDON)
        # By when each read is sent, so that the truth holds exactly the reads published.
        days = [VanDay(d.van, [r for r in d.reads if r.sent_at < cutoff], [m for m in d.messages if m.at < cutoff])
                for d in days]
    queue = list(heapq.merge(*(d.messages for d in days), key=lambda m: m.at))
    write_truth(days, truth)
    advance = progress(len(queue)) if progress is not None else (lambda n: None)
    publish_messages(queue, speed=speed, mqtt_url=mqtt_url, advance=advance, secrets=secrets)
    return VanSimReport(day, len(days), sum(len(d.reads) for d in days),
                        sum(r.listed for d in days for r in d.reads), truth)
