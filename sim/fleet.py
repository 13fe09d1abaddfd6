"""The subcontractors' field force: which firm covers each region, agents with their skills and home
bases, ANPR vans, and one MQTT device per agent and per van."""
from __future__ import annotations

import base64
from collections.abc import Iterator

import numpy as np
import pandas as pd

from core import hash_device_secret
from sim import names
from sim.spec import SUBCONTRACTORS, ScenarioSpec
from sim.streams import Streams

_FIRM_OF_REGION = {region: i + 1 for i, firm in enumerate(SUBCONTRACTORS) for region in firm.itl1_cds}


def _allocate(total: int, weights: pd.Series) -> pd.Series:
    """Split ``total`` over the index of ``weights`` in proportion (largest remainder), giving each
    entry at least one when there are enough to go round."""
    floor = 1 if total >= len(weights) else 0
    share = weights / weights.sum() * (total - floor * len(weights))
    alloc = np.floor(share).astype(int)
    rest = total - floor * len(weights) - alloc.sum()
    alloc.iloc[np.argsort(-(share - alloc).to_numpy(), kind="stable")[:rest]] += 1
    return alloc + floor


def _bases(rng: np.random.Generator, count: int, addresses: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """``count`` bases at case postcodes: regions get bases in proportion to their cases, and within
    a region a base is the address of a random case, so bases follow case density at every scale."""
    case_region = addresses.set_index("id")["itl1_cd"].reindex(cases["address_id"]).to_numpy()
    per_region = _allocate(count, pd.Series(case_region).value_counts().sort_index())
    picks = []
    for region, k in per_region.items():
        in_region = cases["address_id"].to_numpy()[case_region == region]
        picks.append(rng.choice(in_region, size=k, replace=k > len(in_region)))
    chosen = addresses.set_index("id").loc[np.concatenate(picks)]
    return chosen[["postcode", "lon", "lat", "itl1_cd"]].reset_index(drop=True)


def firm_ids(regions: pd.Series) -> np.ndarray:
    """The id of the subcontractor covering each region (subcontractor ids follow ``SUBCONTRACTORS``)."""
    return regions.map(_FIRM_OF_REGION).to_numpy(dtype=np.int64)


def draw_agents(spec: ScenarioSpec, rng: Streams, addresses: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    bases = _bases(rng("agent.base"), spec.agents, addresses, cases)
    n = len(bases)
    first, last = names.person_names(rng("agent.name"), n)
    r = rng("agent.skills")
    vehicle, rates, commercial, welsh = (r.random(n) < p for p in (0.45, 0.20, 0.10, 0.60))
    welsh &= (bases["itl1_cd"] == "TLL").to_numpy()
    skills = [
        [s for s, has in (("vehicle", v), ("business_rates", b), ("commercial", c), ("welsh_language", w)) if has]
        for v, b, c, w in zip(vehicle, rates, commercial, welsh)
    ]
    width = max(4, len(str(n)))
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "reference": [f"A{i:0{width}d}" for i in range(1, n + 1)],
        "name": names.concat(first, " ", last),
        "subcontractor_id": firm_ids(bases["itl1_cd"]),
        "certificated": rng("agent.certificated").random(n) < 0.95,
        "skills": skills,
        "lon": bases["lon"], "lat": bases["lat"],
        "home_postcode": bases["postcode"],
        "itl1_cd": bases["itl1_cd"],
        "active": True,
    })


def draw_vans(spec: ScenarioSpec, rng: Streams, addresses: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """ANPR vans: owned by the subcontractor covering their base's region, never by an agent."""
    bases = _bases(rng("van.base"), spec.vans, addresses, cases)
    n = len(bases)
    width = max(3, len(str(n)))
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "reference": [f"V{i:0{width}d}" for i in range(1, n + 1)],
        "vrm": "",  # filled from the shared VRM stream, so vans and debtors' vehicles never collide
        "subcontractor_id": firm_ids(bases["itl1_cd"]),
        "lon": bases["lon"], "lat": bases["lat"],
        "itl1_cd": bases["itl1_cd"],
        "active": True,
    })


def _credentials(rng: Streams, device_ids: list[str]) -> Iterator[tuple[str, str, bytes]]:
    """(device_id, secret, salt) of each device, in the order the scenario's devices were drawn."""
    r = rng("device.secret")
    for device_id in device_ids:
        yield device_id, base64.urlsafe_b64encode(r.bytes(18)).decode(), r.bytes(12)


def seeded_secrets(scenario: str, seed: int, device_ids: list[str]) -> dict[str, str]:
    """The secrets of a seeded scenario's devices, re-derived from the seed (the database holds only
    their hashes): ``device_ids`` are all the scenario's devices in the order stored (phones, then
    vans), since each secret is drawn after the ones before it."""
    return {device_id: secret for device_id, secret, _ in _credentials(Streams(seed, scenario), device_ids)}


def draw_devices(rng: Streams, agents: pd.DataFrame, vans: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """One MQTT device per agent (phone) and per van. Secrets and salts come from the seeded stream:
    these credentials are for simulated devices only and must never be issued to real ones."""
    device_ids = [f"phone-{ref}" for ref in agents["reference"]] + [f"van-{ref}" for ref in vans["reference"]]
    secrets, hashes = {}, []
    for device_id, secret, salt in _credentials(rng, device_ids):
        secrets[device_id] = secret
        hashes.append(hash_device_secret(secret, salt))
    n_agents = len(agents)
    return pd.DataFrame({
        "id": np.arange(1, len(device_ids) + 1),
        "device_id": device_ids,
        "kind": ["phone"] * n_agents + ["van"] * len(vans),
        "agent_id": pd.array(list(agents["id"]) + [pd.NA] * len(vans), dtype="Int64"),
        "van_id": pd.array([pd.NA] * n_agents + list(vans["id"]), dtype="Int64"),
        "credential_hash": hashes,
        "active": True,
    }), secrets
