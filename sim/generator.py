"""Pure scenario generation: (scenario, seed, postcode pool) → one pandas DataFrame per table.

No I/O and no clock: every draw comes from a named numpy stream derived from the seed, and every date
from the scenario's fixed reference date, so the same inputs give identical rows, ids included.

Frames use the database column names, except that points are carried as ``lon``/``lat`` columns (the
store turns them into geometries) and cases name their buyer by ``buyer`` reference (the store maps
it to the upserted buyer id). Calendar dates are naive ``datetime64``; instants are tz-aware UTC.
"""
from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from datetime import date

import holidays
import numpy as np
import pandas as pd

from core.models import CaseStatus, DebtType, KeeperCheck, Stage
from core.security import hash_device_secret
from sim import names
from sim.pool import PostcodePool
from sim.spec import BUYERS, SUBCONTRACTORS, BuyerSpec, ScenarioSpec, get_spec

COMPLIANCE_FEE_PENCE = 75_00  # R-FEE-COMPLIANCE
SCOTLAND = "TLM"

# Share of debtors with 2 or 3 linked warrants ("total debt approach"); the rest have one.
LINKED_WARRANTS = {1: 0.90, 2: 0.07, 3: 0.03}
VEHICLE_DEBTORS = 0.14          # with linked warrants this puts a vehicle on ~15% of cases
SECOND_VEHICLE = 0.08
HOLD_DEBTORS = 0.025
VULNERABLE_DEBTORS = 0.015
MOVED_TO_ENFORCEMENT = 0.88     # of cases past their compliance period; the rest pay by arrangement
RETURNED_AFTER_90_DAYS = 0.15

BUSINESS_DEBTS = {DebtType.business_rates.value, DebtType.commercial_rent.value}

HOLD_REASONS = (
    "payment arrangement agreed", "debtor disputes liability", "buyer query: account under review",
    "breathing space (debt respite scheme)", "complaint under investigation",
)
VULNERABILITY_NOTES = (
    "mental health condition disclosed by family member", "recent bereavement", "serious illness reported",
    "elderly, lives alone", "pregnant, due within 8 weeks", "limited English, needs interpreter",
    "disability affecting mobility",
)


@dataclass(frozen=True)
class Scenario:
    """Every generated table. ``device_secrets`` (device_id → secret) exist only here: the stored
    hashes are for simulated devices, whose secrets the simulator re-derives from the same seed."""

    name: str
    seed: int
    as_of: date
    buyers: pd.DataFrame
    subcontractors: pd.DataFrame
    agents: pd.DataFrame
    vans: pd.DataFrame
    devices: pd.DataFrame
    debtors: pd.DataFrame
    addresses: pd.DataFrame
    cases: pd.DataFrame
    vehicles: pd.DataFrame
    case_vehicles: pd.DataFrame
    case_events: pd.DataFrame
    ledger_entries: pd.DataFrame
    device_secrets: dict[str, str] = field(repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Table name → frame, parents before children (the order to load them in)."""
        return {
            "buyer": self.buyers, "subcontractor": self.subcontractors, "agent": self.agents,
            "van": self.vans, "device": self.devices, "debtor": self.debtors, "address": self.addresses,
            "enforcement_case": self.cases, "vehicle": self.vehicles, "case_vehicle": self.case_vehicles,
            "case_event": self.case_events, "ledger_entry": self.ledger_entries,
        }

    def counts(self) -> dict[str, int]:
        return {table: len(frame) for table, frame in self.tables().items()}


class _Streams:
    """Independent random streams by name. Each is a ``SeedSequence`` child keyed by the name's CRC
    (what ``SeedSequence.spawn`` does with a counter), so adding a stream or a column drawn from a new
    stream never shifts the draws of the others."""

    def __init__(self, seed: int, scenario: str) -> None:
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        self._entropy = (seed, zlib.crc32(scenario.encode()))

    def __call__(self, name: str) -> np.random.Generator:
        seq = np.random.SeedSequence(self._entropy, spawn_key=(zlib.crc32(name.encode()),))
        return np.random.Generator(np.random.PCG64(seq))


def generate(name: str, seed: int, pool: PostcodePool) -> Scenario:
    """Generate scenario ``name`` with ``seed`` over the located postcodes of ``pool``."""
    spec = get_spec(name)
    rng = _Streams(seed, name)
    cal = _Calendars(spec.as_of, spec.history_days)

    debtors = _draw_debtors(spec, rng, pool)
    cases = _draw_cases(spec, rng, cal, debtors)
    debtors, cases = _number_by_receipt(debtors, cases)
    debtors = _debtor_details(spec, rng, debtors)
    addresses = _addresses(rng, pool, debtors)
    cases = _references(cases, addresses)
    subcontractors = pd.DataFrame({
        "id": np.arange(1, len(SUBCONTRACTORS) + 1),
        "reference": [s.reference for s in SUBCONTRACTORS],
        "name": [s.name for s in SUBCONTRACTORS],
    })
    agents = _agents(spec, rng, addresses, cases)
    vans = _vans(spec, rng, addresses, cases)
    vehicles, case_vehicles = _vehicles(rng, debtors, cases)
    # One draw for both, so a van never shares a plate with a debtor's vehicle.
    plates = names.vrms(rng("vrm"), len(vans) + len(vehicles))
    vans["vrm"], vehicles["vrm"] = plates[: len(vans)], plates[len(vans):]
    devices, secrets = _devices(rng, agents, vans)
    events = _events(spec, rng, debtors, cases)
    ledger = _ledger(cases, events)
    return Scenario(
        name=name, seed=seed, as_of=spec.as_of,
        buyers=pd.DataFrame([{"reference": b.reference, "name": b.name, "kind": b.kind, "lad_cd": b.lad_cd,
                               "policy_name": b.policy_name} for b in BUYERS]),
        subcontractors=subcontractors, agents=agents, vans=vans, devices=devices,
        debtors=debtors[["id", "name", "date_of_birth", "phone", "email"]],
        addresses=addresses,
        cases=cases[_CASE_COLUMNS],
        vehicles=vehicles, case_vehicles=case_vehicles, case_events=events, ledger_entries=ledger,
        device_secrets=secrets,
    )


_FIRM_OF_REGION = {region: i + 1 for i, firm in enumerate(SUBCONTRACTORS) for region in firm.itl1_cds}

_CASE_COLUMNS = [
    "id", "buyer", "buyer_reference", "supplier_reference", "subcontractor_reference", "debt_type",
    "original_balance_pence", "current_balance_pence", "stage", "status", "on_hold", "hold_reason",
    "vulnerable", "vulnerability_note", "received_on", "notice_issued_on", "enforcement_stage_on",
    "linked_group", "is_leading", "debtor_id", "address_id", "assigned_subcontractor_id",
]


class _Calendars:
    """Working-day calendars as numpy business-day calendars (dates are ``datetime64[D]``)."""

    def __init__(self, as_of: date, history_days: int) -> None:
        years = range(as_of.year - 2, as_of.year + 2)
        ew = np.array(sorted(holidays.UK(subdiv="ENG", years=years)), dtype="datetime64[D]")
        sc = np.array(sorted(holidays.UK(subdiv="SCT", years=years)), dtype="datetime64[D]")
        # Office days (Mon–Fri, England and Wales): receipt, notices, stage changes.
        self.office = np.busdaycalendar(weekmask="1111100", holidays=ew)
        # Days that count towards the compliance period: Sundays and the address's bank holidays
        # are excluded [R-CASE-COMPLIANCE].
        self.clear_ew = np.busdaycalendar(weekmask="1111110", holidays=ew)
        self.clear_sc = np.busdaycalendar(weekmask="1111110", holidays=sc)
        self.as_of = np.datetime64(as_of, "D")
        self.start = self.as_of - np.timedelta64(history_days, "D")


def _choice_by_weight(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _draw_debtors(spec: ScenarioSpec, rng: _Streams, pool: PostcodePool) -> pd.DataFrame:
    """One row per debtor: buyer, warrant count, debt type, flags and a candidate postcode row."""
    # Draw warrant counts until they cover the scenario's case count, then trim the last debtor, so
    # the case count is exact.
    ks = np.array(list(LINKED_WARRANTS))
    n_guess = int(spec.cases / (ks @ np.array(list(LINKED_WARRANTS.values()))) * 1.2) + 10
    warrants = ks[_choice_by_weight(rng("debtor.warrants"), list(LINKED_WARRANTS.values()), n_guess)]
    total = np.cumsum(warrants)
    n = int(np.searchsorted(total, spec.cases)) + 1
    warrants = warrants[:n].copy()
    warrants[-1] -= total[n - 1] - spec.cases

    buyer_refs = [b.reference for b in BUYERS]
    buyer_idx = _choice_by_weight(rng("debtor.buyer"), [spec.buyer_shares[r] for r in buyer_refs], n)
    debt_type = np.empty(n, dtype=object)
    postcode_row = np.empty(n, dtype=np.int64)
    r_debt, r_postcode = rng("debtor.debt_type"), rng("debtor.postcode")
    for i, buyer in enumerate(BUYERS):
        mine = np.flatnonzero(buyer_idx == i)
        kinds = _choice_by_weight(r_debt, [d.weight for d in buyer.debts], len(mine))
        debt_type[mine] = np.array([d.debt_type.value for d in buyer.debts], dtype=object)[kinds]
        candidates = _candidates(pool, buyer)
        postcode_row[mine] = candidates[r_postcode.integers(0, len(candidates), len(mine))]

    flags = rng("debtor.flags")
    return pd.DataFrame({
        "buyer_idx": buyer_idx, "warrants": warrants, "debt_type": debt_type, "postcode_row": postcode_row,
        "itl1_cd": pool.postcodes["itl1_cd"].to_numpy()[postcode_row],
        "on_hold": flags.random(n) < HOLD_DEBTORS,
        "hold_reason": np.array(HOLD_REASONS, dtype=object)[flags.integers(0, len(HOLD_REASONS), n)],
        "vulnerable": flags.random(n) < VULNERABLE_DEBTORS,
        "vulnerability_note": np.array(VULNERABILITY_NOTES, dtype=object)[
            flags.integers(0, len(VULNERABILITY_NOTES), n)],
    })


def _candidates(pool: PostcodePool, buyer: BuyerSpec) -> np.ndarray:
    """Row numbers in ``pool.postcodes`` a buyer's addresses are drawn from: a council's own LAD,
    or the national sample for a buyer placing cases anywhere."""
    pc = pool.postcodes
    mask = (pc["lad_cd"] == buyer.lad_cd) if buyer.lad_cd else pc["national_sample"]
    rows = np.flatnonzero(mask.to_numpy())
    if len(rows) == 0:
        raise ValueError(f"postcode pool has no candidates for buyer {buyer.reference!r}")
    return rows


def _draw_cases(spec: ScenarioSpec, rng: _Streams, cal: _Calendars, debtors: pd.DataFrame) -> pd.DataFrame:
    """One row per warrant, with balances, dates, stage and status (not yet numbered)."""
    debtor_idx = np.repeat(np.arange(len(debtors)), debtors["warrants"].to_numpy())
    n = len(debtor_idx)
    d = debtors.iloc[debtor_idx].reset_index(drop=True)

    # Balances: log-uniform within the debt type's range, so small debts are commoner.
    lows, highs = np.empty(n), np.empty(n)
    for buyer in BUYERS:
        for debt in buyer.debts:
            m = (d["debt_type"] == debt.debt_type.value).to_numpy()
            lows[m], highs[m] = debt.low_pence, debt.high_pence
    u = rng("case.balance").random(n)
    original = np.rint(np.exp(np.log(lows) + u * (np.log(highs) - np.log(lows)))).astype(np.int64)

    # Receipt on an office day strictly before the reference date (the snapshot is taken at its start).
    n_days = np.busday_count(cal.start, cal.as_of, busdaycal=cal.office)
    received = np.busday_offset(cal.start, rng("case.received").integers(0, n_days, n), roll="forward",
                                busdaycal=cal.office)

    # R-CASE-NOE: the notice within the buyer policy's deadline: N working days of receipt (2 by
    # default), or N hours (Plymouth: 48 [001 §1.43]), where a weekend in between means the same day.
    buyer_idx = d["buyer_idx"].to_numpy()
    policies = [b.policy for b in BUYERS]
    hours = np.array([p.notice_within_hours or 0 for p in policies])[buyer_idx]
    max_lag = np.array([p.notice_within_working_days if p.notice_within_working_days is not None
                        else max(p.notice_within_hours // 24 - 1, 0) if p.notice_within_hours else 2
                        for p in policies])[buyer_idx]
    lag = np.minimum(_choice_by_weight(rng("case.notice_lag"), [0.5, 0.35, 0.15], n), max_lag)
    notice = np.busday_offset(received, lag, busdaycal=cal.office)
    too_late = (hours > 0) & ((notice - received).astype(np.int64) * 24 > hours)
    notice = np.where(too_late, received, notice)
    noticed = notice < cal.as_of

    # R-CASE-COMPLIANCE: the enforcement stage starts after the buyer's clear days (Sundays and the
    # address nation's bank holidays not counted), i.e. at the earliest the day after the last one.
    clear_days = np.array([p.compliance_period_clear_days for p in policies])[buyer_idx]
    scottish = (d["itl1_cd"] == SCOTLAND).to_numpy()
    last_clear = np.where(
        scottish,
        np.busday_offset(notice, clear_days, roll="forward", busdaycal=cal.clear_sc),
        np.busday_offset(notice, clear_days, roll="forward", busdaycal=cal.clear_ew),
    )
    r_stage = rng("case.stage")
    delay = r_stage.integers(1, 6, n).astype("timedelta64[D]")
    enforcement_on = np.busday_offset(last_clear + delay, 0, roll="forward", busdaycal=cal.office)
    # R-CASE-VULN: a vulnerable customer's cases get no enforcement action, so they stay in compliance.
    vulnerable = d["vulnerable"].to_numpy()
    enforced = (noticed & ~vulnerable & (enforcement_on < cal.as_of)
                & (r_stage.random(n) < MOVED_TO_ENFORCEMENT))

    day = np.timedelta64(1, "D")
    # No case reaches the sale stage: that needs an attended visit (and its fee, R-FEE-INCURRED), and
    # the scenario has no visits yet.
    returned = (enforced & (enforcement_on <= cal.as_of - 90 * day)
                & (r_stage.random(n) < RETURNED_AFTER_90_DAYS))
    returned_on = _between(r_stage, enforcement_on + 60 * day, cal.as_of - 2 * day, cal)

    stage = np.where(enforced, Stage.enforcement.value, Stage.compliance.value)
    on_hold = d["on_hold"].to_numpy() & ~returned
    nat = np.datetime64("NaT")
    return pd.DataFrame({
        "debtor_idx": debtor_idx,
        "buyer_idx": buyer_idx,
        "debt_type": d["debt_type"].to_numpy(),
        "original_balance_pence": original,
        "current_balance_pence": original + np.where(noticed, COMPLIANCE_FEE_PENCE, 0),
        "stage": stage,
        "status": np.where(returned, CaseStatus.returned.value, CaseStatus.open.value),
        "on_hold": on_hold,
        "hold_reason": np.where(on_hold, d["hold_reason"].to_numpy(), None),
        "vulnerable": vulnerable,
        "vulnerability_note": np.where(vulnerable, d["vulnerability_note"].to_numpy(), None),
        "received_on": received,
        "notice_issued_on": np.where(noticed, notice, nat),
        "enforcement_stage_on": np.where(enforced, enforcement_on, nat),
        "returned_on": np.where(returned, returned_on, nat),
        "compliance_days": clear_days,
    })


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, cal: _Calendars) -> np.ndarray:
    """A uniform office day in [lo, hi] per element (clipped to ``lo`` where the range is empty)."""
    span = np.maximum((hi - lo).astype(np.int64), 0)
    picked = lo + np.floor(rng.random(len(lo)) * (span + 1)).astype("timedelta64[D]")
    return np.maximum(np.busday_offset(picked, 0, roll="backward", busdaycal=cal.office), lo)


def _number_by_receipt(debtors: pd.DataFrame, cases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give cases ids in order of receipt (so ids, supplier references and dates run together) and
    debtors ids in order of their first case; the earliest warrant of a debtor leads its group."""
    order = np.lexsort((cases["debtor_idx"].to_numpy(), cases["received_on"].to_numpy()))
    cases = cases.iloc[order].reset_index(drop=True)
    cases.insert(0, "id", np.arange(1, len(cases) + 1))

    first_case = cases.groupby("debtor_idx", sort=True)["id"].min()
    debtor_id = np.empty(len(debtors), dtype=np.int64)
    debtor_id[first_case.sort_values().index.to_numpy()] = np.arange(1, len(debtors) + 1)
    debtors = debtors.assign(id=debtor_id).sort_values("id").reset_index(drop=True)
    cases["debtor_id"] = debtor_id[cases["debtor_idx"].to_numpy()]
    cases["address_id"] = cases["debtor_id"]  # one address per debtor; linked warrants share it

    linked = debtors["warrants"].to_numpy()[cases["debtor_id"].to_numpy() - 1] > 1
    cases["is_leading"] = ~cases.duplicated("debtor_id").to_numpy() | ~linked
    # Groups are numbered in order of their leading warrant; unlinked warrants have no group.
    leaders = cases.loc[linked & cases["is_leading"].to_numpy(), "debtor_id"].to_numpy()
    group_of = pd.Series(np.arange(1, len(leaders) + 1), index=leaders)
    cases["linked_group"] = cases["debtor_id"].map(group_of).astype("Int64")
    return debtors, cases


def _debtor_details(spec: ScenarioSpec, rng: _Streams, debtors: pd.DataFrame) -> pd.DataFrame:
    """Names and contact details: people for personal debts, limited companies for business rates
    and commercial rent. Phone numbers are in Ofcom's ranges reserved for drama, e-mail addresses at
    example.com, so none can reach a real person."""
    n = len(debtors)
    business = debtors["debt_type"].isin(BUSINESS_DEBTS).to_numpy()
    first, last = names.person_names(rng("debtor.name"), n)
    firms = names.business_names(rng("debtor.business"), n)
    person = names.concat(first, " ", last)
    r = rng("debtor.contact")
    born = np.datetime64(spec.as_of, "D") - r.integers(18 * 365 + 5, 85 * 365, n).astype("timedelta64[D]")
    has_phone = r.random(n) < np.where(business, 0.8, 0.6)
    digits = pd.Series(r.integers(0, 1000, n)).map("{:03d}".format).to_numpy()
    has_email = r.random(n) < np.where(business, 0.5, 0.35)
    suffix = r.integers(1, 100, n)
    email = np.where(business, names.concat("accounts.", names.slug(firms), "@example.com"),
                     names.concat(names.slug(first), ".", names.slug(last), suffix, "@example.com"))
    return debtors.assign(
        name=np.where(business, firms, person),
        date_of_birth=np.where(business, np.datetime64("NaT"), born),
        phone=np.where(has_phone, names.concat(np.where(business, "01632960", "07700900"), digits), None),
        email=np.where(has_email, email, None),
    )


def _addresses(rng: _Streams, pool: PostcodePool, debtors: pd.DataFrame) -> pd.DataFrame:
    """One address per debtor, at the exact centroid of its postcode; town is the LAD's name."""
    pc = pool.postcodes.iloc[debtors["postcode_row"].to_numpy()].reset_index(drop=True)
    return pd.DataFrame({
        "id": debtors["id"].to_numpy(),
        "line1": names.street_lines(rng("address.line1"), len(debtors)),
        "line2": None,
        "town": pc["lad_cd"].map(pool.lad_names).to_numpy(),
        "postcode": pc["postcode"].to_numpy(),
        "uprn": pd.array([pd.NA] * len(debtors), dtype="Int64"),
        "lon": pc["lon"].to_numpy(),
        "lat": pc["lat"].to_numpy(),
        "itl1_cd": pc["itl1_cd"].to_numpy(),
        "lad_cd": pc["lad_cd"].to_numpy(),
    })


def _references(cases: pd.DataFrame, addresses: pd.DataFrame) -> pd.DataFrame:
    """Buyer, supplier and subcontractor references, and the subcontractor that covers the region."""
    firm = _firm_ids(addresses.set_index("id")["itl1_cd"].reindex(cases["address_id"]))
    buyer_prefix = np.array([b.case_prefix for b in BUYERS], dtype=object)[cases["buyer_idx"].to_numpy()]
    firm_prefix = np.array([s.case_prefix for s in SUBCONTRACTORS], dtype=object)[firm - 1]
    buyer_seq = cases.groupby("buyer_idx").cumcount().to_numpy() + 1
    firm_seq = pd.Series(firm).groupby(firm).cumcount().to_numpy() + 1
    return cases.assign(
        buyer=np.array([b.reference for b in BUYERS], dtype=object)[cases["buyer_idx"].to_numpy()],
        buyer_reference=buyer_prefix + pd.Series(buyer_seq).map("-{:07d}".format).to_numpy(),
        supplier_reference=pd.Series(cases["id"]).map("BW{:08d}".format).to_numpy(),
        subcontractor_reference=firm_prefix + pd.Series(firm_seq).map("-{:07d}".format).to_numpy(),
        assigned_subcontractor_id=firm,
    )


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


def _firm_ids(regions: pd.Series) -> np.ndarray:
    """The id of the subcontractor covering each region (subcontractor ids follow ``SUBCONTRACTORS``)."""
    return regions.map(_FIRM_OF_REGION).to_numpy(dtype=np.int64)


def _agents(spec: ScenarioSpec, rng: _Streams, addresses: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
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
        "subcontractor_id": _firm_ids(bases["itl1_cd"]),
        "certificated": rng("agent.certificated").random(n) < 0.95,
        "skills": skills,
        "lon": bases["lon"], "lat": bases["lat"],
        "home_postcode": bases["postcode"],
        "itl1_cd": bases["itl1_cd"],
        "active": True,
    })


def _vans(spec: ScenarioSpec, rng: _Streams, addresses: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """ANPR vans: owned by the subcontractor covering their base's region, never by an agent."""
    bases = _bases(rng("van.base"), spec.vans, addresses, cases)
    n = len(bases)
    width = max(3, len(str(n)))
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "reference": [f"V{i:0{width}d}" for i in range(1, n + 1)],
        "vrm": "",  # filled from the shared VRM stream, so vans and debtors' vehicles never collide
        "subcontractor_id": _firm_ids(bases["itl1_cd"]),
        "lon": bases["lon"], "lat": bases["lat"],
        "itl1_cd": bases["itl1_cd"],
        "active": True,
    })


def _vehicles(rng: _Streams, debtors: pd.DataFrame, cases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Vehicles of some debtors, linked to every warrant of their owner (plates are added by the
    caller)."""
    r = rng("vehicle")
    owners = debtors["id"].to_numpy()[r.random(len(debtors)) < VEHICLE_DEBTORS]
    owners = np.sort(np.concatenate([owners, owners[r.random(len(owners)) < SECOND_VEHICLE]]))
    n = len(owners)
    vehicles = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "vrm": "",
        "make": names.makes(rng("vehicle.make"), n),
        "colour": names.colours(rng("vehicle.colour"), n),
        "keeper_check_state": KeeperCheck.not_checked.value,
        "keeper_checked_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]"),
    })
    links = (pd.DataFrame({"vehicle_id": vehicles["id"], "debtor_id": owners})
             .merge(cases[["id", "debtor_id"]].rename(columns={"id": "case_id"}), on="debtor_id")
             [["case_id", "vehicle_id"]].sort_values(["case_id", "vehicle_id"]).reset_index(drop=True))
    return vehicles, links


def _devices(rng: _Streams, agents: pd.DataFrame, vans: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """One MQTT device per agent (phone) and per van. Secrets and salts come from the seeded stream:
    these credentials are for simulated devices only and must never be issued to real ones."""
    device_ids = [f"phone-{ref}" for ref in agents["reference"]] + [f"van-{ref}" for ref in vans["reference"]]
    r = rng("device.secret")
    secrets, hashes = {}, []
    for device_id in device_ids:
        secret = base64.urlsafe_b64encode(r.bytes(18)).decode()
        secrets[device_id] = secret
        hashes.append(hash_device_secret(secret, r.bytes(12)))
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


def _events(spec: ScenarioSpec, rng: _Streams, debtors: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The case history implied by each case's state, oldest first [R-CASE-AUDIT]. Times are office
    hours in Europe/London, stored in UTC; flags are set after the last stage change."""
    r = rng("event.time")
    actor = f"sim:{spec.name}"
    hour = 3600

    def at(dates: np.ndarray, start_h: float, end_h: float) -> pd.DatetimeIndex:
        seconds = (start_h * hour + r.integers(0, int((end_h - start_h) * hour), len(dates))).astype("timedelta64[s]")
        local = pd.DatetimeIndex(dates.astype("datetime64[s]") + seconds)
        return local.tz_localize("Europe/London").tz_convert("UTC")

    c = cases
    placed = pd.DataFrame({
        "case_id": c["id"].to_numpy(), "kind": "placed", "at": at(c["received_on"].to_numpy(), 8, 12),
        "data": names.concat('{"buyer": "', c["buyer"].to_numpy(), '", "buyer_reference": "',
                          c["buyer_reference"].to_numpy(), '", "supplier_reference": "',
                          c["supplier_reference"].to_numpy(), '", "debt_type": "', c["debt_type"].to_numpy(),
                          '", "original_balance_pence": ', c["original_balance_pence"].to_numpy(), "}"),
    })
    frames = [placed]
    noticed = c[c["notice_issued_on"].notna()]
    frames.append(pd.DataFrame({
        "case_id": noticed["id"].to_numpy(), "kind": "notice_issued", "at": at(noticed["notice_issued_on"].to_numpy(), 13, 18),
        "data": f'{{"fee": "compliance", "fee_pence": {COMPLIANCE_FEE_PENCE}, "rule": "R-FEE-COMPLIANCE"}}',
    }))
    enforced = c[c["enforcement_stage_on"].notna()]
    frames.append(pd.DataFrame({
        "case_id": enforced["id"].to_numpy(), "kind": "enforcement_stage",
        "at": at(enforced["enforcement_stage_on"].to_numpy(), 7, 7.5),
        "data": names.concat('{"from": "compliance", "to": "enforcement", "compliance_clear_days": ',
                          enforced["compliance_days"].to_numpy(), "}"),
    }))
    returned = c[c["returned_on"].notna()]
    frames.append(pd.DataFrame({
        "case_id": returned["id"].to_numpy(), "kind": "returned", "at": at(returned["returned_on"].to_numpy(), 10, 16),
        "data": '{"reason": "not collected: visit schedule completed", "rule": "R-CASE-RETURN"}',
    }))

    # Holds and vulnerability flags come after everything else that happened to the case.
    last = c[["received_on", "notice_issued_on", "enforcement_stage_on", "returned_on"]].max(axis=1)
    day = np.timedelta64(1, "D")
    as_of = np.datetime64(spec.as_of, "D")
    r_flag = rng("event.flag_date")
    for flag, kind, text_col, key in (("on_hold", "put_on_hold", "hold_reason", "reason"),
                                      ("vulnerable", "vulnerability_flagged", "vulnerability_note", "note")):
        sub = c[c[flag].to_numpy()]
        lo = last[sub.index].to_numpy().astype("datetime64[D]") + day
        span = np.maximum((as_of - day - lo).astype(np.int64), 0)
        dates = lo + np.floor(r_flag.random(len(sub)) * (span + 1)).astype("timedelta64[D]")
        encoded = sub[text_col].map(json.dumps).to_numpy()
        frames.append(pd.DataFrame({"case_id": sub["id"].to_numpy(), "kind": kind, "at": at(dates, 9, 17),
                                    "data": names.concat(f'{{"{key}": ', encoded, "}")}))

    events = pd.concat(frames, ignore_index=True).sort_values(["case_id", "at"], kind="stable", ignore_index=True)
    events.insert(0, "id", np.arange(1, len(events) + 1))
    events.insert(2, "actor", actor)
    return events[["id", "case_id", "actor", "at", "kind", "data"]]


def _ledger(cases: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The money behind each case's balance: the placed debt, and the compliance fee when the notice
    was issued [R-FEE-COMPLIANCE], at the times of those events. No other fee has been incurred: the
    scenario has no visits yet [R-FEE-INCURRED]. Each case's current balance is the sum of its rows."""
    placed = events[events["kind"] == "placed"]
    noticed = events[events["kind"] == "notice_issued"]
    original = pd.Series(cases["original_balance_pence"].to_numpy(), index=cases["id"].to_numpy())
    ledger = pd.concat([
        pd.DataFrame({"case_id": placed["case_id"].to_numpy(), "at": placed["at"].to_numpy(), "kind": "debt",
                      "fee_type": None, "amount_pence": original[placed["case_id"].to_numpy()].to_numpy(),
                      "data": "{}"}),
        pd.DataFrame({"case_id": noticed["case_id"].to_numpy(), "at": noticed["at"].to_numpy(), "kind": "fee",
                      "fee_type": "compliance", "amount_pence": COMPLIANCE_FEE_PENCE,
                      "data": '{"rule": "R-FEE-COMPLIANCE"}'}),
    ], ignore_index=True).sort_values(["case_id", "at"], kind="stable", ignore_index=True)
    ledger.insert(0, "id", np.arange(1, len(ledger) + 1))
    ledger.insert(3, "actor", events["actor"].iloc[0] if len(events) else "sim")
    return ledger
