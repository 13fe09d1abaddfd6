"""The agent's phone over a simulated day (pure): when it reports (its mode), what it reports (GPS
noise, outliers), when the reports leave it (signal gaps buffer them into one later upload) and the
MQTT messages that carry them (the Bailiwick form or OwnTracks)."""
from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np

import geodata
from sim.agent_day import (
    AgentPlan,
    Message,
    PayloadForm,
    PhoneMode,
    PhoneProfile,
    SimFix,
    Trajectory,
)

MODE_WEIGHTS = {PhoneMode.android: 0.5, PhoneMode.ios: 0.3, PhoneMode.significant: 0.2}
# What makes a phone report, by mode: (metres moved since the last report, seconds since it).
REPORT_RULE = {PhoneMode.ios: (100.0, 300), PhoneMode.significant: (500.0, 300)}
ANDROID_STEPS_S = (9, 10, 11)
SIGMA_M = (5.0, 30.0)
OUTLIER_P = 0.01
OUTLIER_M = (100.0, 400.0)
GAP_S = (120.0, 600.0)
OWNTRACKS_DEVICE = {PhoneMode.android: "pixel", PhoneMode.ios: "iphone", PhoneMode.significant: "iphone"}


def choose_profile(rng: np.random.Generator) -> PhoneProfile:
    modes = list(MODE_WEIGHTS)
    mode = modes[int(rng.choice(len(modes), p=list(MODE_WEIGHTS.values())))]
    form = PayloadForm.bailiwick if rng.random() < 0.5 else PayloadForm.owntracks
    return PhoneProfile(mode, form, float(rng.uniform(5.0, 15.0)))


def report_seconds(traj: Trajectory, mode: PhoneMode, rng: np.random.Generator) -> np.ndarray:
    """The whole seconds (after t0) at which the phone reports."""
    end = math.floor(traj.end_s)
    if mode is PhoneMode.android:
        steps = rng.choice(ANDROID_STEPS_S, size=end // min(ANDROID_STEPS_S) + 1)
        times = np.cumsum(np.concatenate([[0], steps]))
        return times[times <= end]
    min_move, max_wait = REPORT_RULE[mode]
    xs, ys = traj.at(np.arange(end + 1, dtype=float))
    out = [0]
    lx, ly = xs[0], ys[0]
    for i in range(1, end + 1):
        if i - out[-1] >= max_wait or math.hypot(xs[i] - lx, ys[i] - ly) >= min_move:
            out.append(i)
            lx, ly = xs[i], ys[i]
    return np.array(out)


def _gaps(end_s: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    gaps: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(1, 4))):
        length = rng.uniform(*GAP_S)
        start = rng.uniform(0.1 * end_s, max(0.1 * end_s, 0.9 * end_s - length))
        if all(start > b + 60 or start + length < a - 60 for a, b in gaps):
            gaps.append((start, start + length))
    return sorted(gaps)


def phone_fixes(traj: Trajectory, profile: PhoneProfile, rng: np.random.Generator
                ) -> tuple[list[SimFix], list[tuple[datetime, datetime]]]:
    """The fixes the phone reports, with when each is sent, and the signal gaps."""
    secs = report_seconds(traj, profile.mode, rng).astype(float)
    n = len(secs)
    tx, ty = traj.at(secs)
    ax, ay = traj.at(secs - 0.5)
    bx, by = traj.at(secs + 0.5)
    speed = np.hypot(bx - ax, by - ay)  # Doppler speed: the true speed, far better than the position
    heading = np.degrees(np.arctan2(bx - ax, by - ay)) % 360
    sigma = np.clip(profile.noise_m * np.exp(rng.normal(0.0, 0.35, n)), *SIGMA_M)
    x = tx + rng.normal(0.0, 1.0, n) * sigma
    y = ty + rng.normal(0.0, 1.0, n) * sigma
    outlier = rng.random(n) < OUTLIER_P
    outlier[0] = outlier[-1] = False
    outlier[1:] &= ~outlier[:-1]  # single outliers: the one after an outlier is a normal fix
    k = int(outlier.sum())
    r, a = rng.uniform(*OUTLIER_M, k), rng.uniform(0, 2 * math.pi, k)
    # Multipath throws the fix itself, not the noise: an outlier is 100-400 m from the true position.
    x[outlier] = tx[outlier] + r * np.cos(a)
    y[outlier] = ty[outlier] + r * np.sin(a)
    lon, lat = geodata.to_wgs84(x, y)
    reported_speed = np.round(np.abs(speed + rng.normal(0.0, 0.3, n)), 1)
    battery = np.clip(rng.uniform(60, 100) - secs / 3600 * 6, 5, 100).astype(int)
    gaps = _gaps(traj.end_s, rng)
    sent = secs + rng.uniform(0.3, 2.0, n)
    for g0, g1 in gaps:
        inside = (secs >= g0) & (secs < g1)
        sent[inside] = g1 + rng.uniform(2.0, 20.0)  # one upload when the signal is back
    when = traj.t0.astimezone(UTC)
    fixes = [SimFix(ts=when + timedelta(seconds=int(s)), lat=round(float(la), 7), lon=round(float(lo), 7),
                    accuracy_m=round(float(sg) * 1.5, 1), speed_mps=float(v), heading_deg=round(float(h), 1),
                    battery_pct=int(bt), sent_at=when + timedelta(seconds=float(st)), outlier=bool(o))
             for s, la, lo, sg, v, h, bt, st, o in zip(secs, lat, lon, sigma, reported_speed, heading, battery,
                                                       sent, outlier)]
    return fixes, [(when + timedelta(seconds=g0), when + timedelta(seconds=g1)) for g0, g1 in gaps]


def _bailiwick_fix(f: SimFix) -> dict:
    return {"ts": f.ts.isoformat(), "lat": f.lat, "lon": f.lon, "accuracy_m": f.accuracy_m,
            "speed_mps": f.speed_mps, "heading_deg": f.heading_deg, "battery_pct": f.battery_pct}


def _owntracks_fix(f: SimFix, tid: str) -> dict:
    return {"_type": "location", "tst": int(f.ts.timestamp()), "lat": f.lat, "lon": f.lon,
            "acc": round(f.accuracy_m), "vel": round(f.speed_mps * 3.6), "cog": round(f.heading_deg) % 360,
            "batt": f.battery_pct, "tid": tid}


def messages(plan: AgentPlan, profile: PhoneProfile, fixes: list[SimFix]) -> list[Message]:
    """The MQTT messages that carry ``fixes``, in the order sent. Fixes sent together (a signal gap's
    buffer) travel as one Bailiwick message, or as OwnTracks messages published in one burst."""
    batches: dict[datetime, list[SimFix]] = {}
    for f in fixes:
        batches.setdefault(f.sent_at, []).append(f)
    out: list[Message] = []
    for at in sorted(batches):
        batch = batches[at]
        if profile.form is PayloadForm.bailiwick:
            body = {"device_id": plan.device_id, "fixes": [_bailiwick_fix(f) for f in batch]}
            out.append(Message(at, f"agents/{plan.agent_id}/gps", json.dumps(body).encode(), len(batch)))
        else:
            topic = f"owntracks/{plan.device_id}/{OWNTRACKS_DEVICE[profile.mode]}"
            tid = plan.reference[-2:]
            out.extend(Message(at, topic, json.dumps(_owntracks_fix(f, tid)).encode(), 1) for f in batch)
    return out
