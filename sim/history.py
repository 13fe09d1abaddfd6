"""What has already happened to each case: its event history and the ledger rows behind its balance."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sim import names
from sim.cases import COMPLIANCE_FEE_PENCE
from sim.spec import ScenarioSpec
from sim.streams import Streams


def case_events(spec: ScenarioSpec, rng: Streams, debtors: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
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


def ledger_entries(cases: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
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
