"""The warrants: one case per warrant with balances, dates, stage and status under the buyers' rules,
numbered in order of receipt, with the buyer's, supplier's and subcontractor's references."""
from __future__ import annotations

from datetime import date

import holidays
import numpy as np
import pandas as pd

from core.models import CaseStatus, Stage
from sim.fleet import firm_ids
from sim.spec import BUYERS, SUBCONTRACTORS, ScenarioSpec
from sim.streams import Streams, choice_by_weight

COMPLIANCE_FEE_PENCE = 75_00  # R-FEE-COMPLIANCE
SCOTLAND = "TLM"
MOVED_TO_ENFORCEMENT = 0.88     # of cases past their compliance period; the rest pay by arrangement
RETURNED_AFTER_90_DAYS = 0.15

CASE_COLUMNS = [
    "id", "buyer", "buyer_reference", "supplier_reference", "subcontractor_reference", "debt_type",
    "original_balance_pence", "current_balance_pence", "stage", "status", "on_hold", "hold_reason",
    "vulnerable", "vulnerability_note", "received_on", "notice_issued_on", "enforcement_stage_on",
    "linked_group", "is_leading", "debtor_id", "address_id", "assigned_subcontractor_id",
]


class Calendars:
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


def draw_cases(spec: ScenarioSpec, rng: Streams, cal: Calendars, debtors: pd.DataFrame) -> pd.DataFrame:
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
    lag = np.minimum(choice_by_weight(rng("case.notice_lag"), [0.5, 0.35, 0.15], n), max_lag)
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


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, cal: Calendars) -> np.ndarray:
    """A uniform office day in [lo, hi] per element (clipped to ``lo`` where the range is empty)."""
    span = np.maximum((hi - lo).astype(np.int64), 0)
    picked = lo + np.floor(rng.random(len(lo)) * (span + 1)).astype("timedelta64[D]")
    return np.maximum(np.busday_offset(picked, 0, roll="backward", busdaycal=cal.office), lo)


def number_by_receipt(debtors: pd.DataFrame, cases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def case_references(cases: pd.DataFrame, addresses: pd.DataFrame) -> pd.DataFrame:
    """Buyer, supplier and subcontractor references, and the subcontractor that covers the region."""
    firm = firm_ids(addresses.set_index("id")["itl1_cd"].reindex(cases["address_id"]))
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
