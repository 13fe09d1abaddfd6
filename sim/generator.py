"""Pure scenario generation: (scenario, seed, postcode pool) → one pandas DataFrame per table.

No I/O and no clock: every draw comes from a named numpy stream derived from the seed
(``sim.streams``), and every date from the scenario's fixed reference date, so the same inputs give
identical rows, ids included. The rows are drawn by ``sim.debtors`` (debtors, addresses, vehicles),
``sim.cases`` (warrants), ``sim.fleet`` (agents, vans, devices) and ``sim.history`` (case events,
ledger); this module puts them together in order.

Frames use the database column names, except that points are carried as ``lon``/``lat`` columns (the
store turns them into geometries) and cases name their buyer by ``buyer`` reference (the store maps
it to the upserted buyer id). Calendar dates are naive ``datetime64``; instants are tz-aware UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from sim import names
from sim.cases import CASE_COLUMNS, Calendars, case_references, draw_cases, number_by_receipt
from sim.debtors import debtor_addresses, debtor_details, debtor_vehicles, draw_debtors
from sim.fleet import draw_agents, draw_devices, draw_vans
from sim.history import case_events, ledger_entries
from sim.pool import PostcodePool
from sim.spec import BUYERS, SUBCONTRACTORS, get_spec
from sim.streams import Streams


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


def generate(name: str, seed: int, pool: PostcodePool) -> Scenario:
    """Generate scenario ``name`` with ``seed`` over the located postcodes of ``pool``."""
    spec = get_spec(name)
    rng = Streams(seed, name)
    cal = Calendars(spec.as_of, spec.history_days)

    debtors = draw_debtors(spec, rng, pool)
    cases = draw_cases(spec, rng, cal, debtors)
    debtors, cases = number_by_receipt(debtors, cases)
    debtors = debtor_details(spec, rng, debtors)
    addresses = debtor_addresses(rng, pool, debtors)
    cases = case_references(cases, addresses)
    subcontractors = pd.DataFrame({
        "id": np.arange(1, len(SUBCONTRACTORS) + 1),
        "reference": [s.reference for s in SUBCONTRACTORS],
        "name": [s.name for s in SUBCONTRACTORS],
    })
    agents = draw_agents(spec, rng, addresses, cases)
    vans = draw_vans(spec, rng, addresses, cases)
    vehicles, case_vehicles = debtor_vehicles(rng, debtors, cases)
    # One draw for both, so a van never shares a plate with a debtor's vehicle.
    plates = names.vrms(rng("vrm"), len(vans) + len(vehicles))
    vans["vrm"], vehicles["vrm"] = plates[: len(vans)], plates[len(vans):]
    devices, secrets = draw_devices(rng, agents, vans)
    events = case_events(spec, rng, debtors, cases)
    ledger = ledger_entries(cases, events)
    return Scenario(
        name=name, seed=seed, as_of=spec.as_of,
        buyers=pd.DataFrame([{"reference": b.reference, "name": b.name, "kind": b.kind, "lad_cd": b.lad_cd,
                               "policy_name": b.policy_name} for b in BUYERS]),
        subcontractors=subcontractors, agents=agents, vans=vans, devices=devices,
        debtors=debtors[["id", "name", "date_of_birth", "phone", "email"]],
        addresses=addresses,
        cases=cases[CASE_COLUMNS],
        vehicles=vehicles, case_vehicles=case_vehicles, case_events=events, ledger_entries=ledger,
        device_secrets=secrets,
    )
