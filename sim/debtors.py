"""Who owes: debtors (warrant count, buyer, debt type, flags, names and contact details), their
addresses at real postcode centroids, and their vehicles."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.models import DebtType, KeeperCheck
from sim import names
from sim.pool import PostcodePool
from sim.spec import BUYERS, BuyerSpec, ScenarioSpec
from sim.streams import Streams, choice_by_weight

# Share of debtors with 2 or 3 linked warrants ("total debt approach"); the rest have one.
LINKED_WARRANTS = {1: 0.90, 2: 0.07, 3: 0.03}
VEHICLE_DEBTORS = 0.14          # with linked warrants this puts a vehicle on ~15% of cases
SECOND_VEHICLE = 0.08
HOLD_DEBTORS = 0.025
VULNERABLE_DEBTORS = 0.015

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


def draw_debtors(spec: ScenarioSpec, rng: Streams, pool: PostcodePool) -> pd.DataFrame:
    """One row per debtor: buyer, warrant count, debt type, flags and a candidate postcode row."""
    # Draw warrant counts until they cover the scenario's case count, then trim the last debtor, so
    # the case count is exact.
    ks = np.array(list(LINKED_WARRANTS))
    n_guess = int(spec.cases / (ks @ np.array(list(LINKED_WARRANTS.values()))) * 1.2) + 10
    warrants = ks[choice_by_weight(rng("debtor.warrants"), list(LINKED_WARRANTS.values()), n_guess)]
    total = np.cumsum(warrants)
    n = int(np.searchsorted(total, spec.cases)) + 1
    warrants = warrants[:n].copy()
    warrants[-1] -= total[n - 1] - spec.cases

    buyer_refs = [b.reference for b in BUYERS]
    buyer_idx = choice_by_weight(rng("debtor.buyer"), [spec.buyer_shares[r] for r in buyer_refs], n)
    debt_type = np.empty(n, dtype=object)
    postcode_row = np.empty(n, dtype=np.int64)
    r_debt, r_postcode = rng("debtor.debt_type"), rng("debtor.postcode")
    for i, buyer in enumerate(BUYERS):
        mine = np.flatnonzero(buyer_idx == i)
        kinds = choice_by_weight(r_debt, [d.weight for d in buyer.debts], len(mine))
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


def debtor_details(spec: ScenarioSpec, rng: Streams, debtors: pd.DataFrame) -> pd.DataFrame:
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


def debtor_addresses(rng: Streams, pool: PostcodePool, debtors: pd.DataFrame) -> pd.DataFrame:
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


def debtor_vehicles(rng: Streams, debtors: pd.DataFrame, cases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
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
