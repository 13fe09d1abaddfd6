"""The visits a simulated day's agents made, as the reports their phones would send (pure): one
``core.VisitReport`` per door of a planned case the agent stood at, with the true arrival and
departure, the door's position and an outcome drawn for it.

Outcomes: most knocks find nobody in; some end in a refusal, a gone-away, an arrangement or a
payment (``OUTCOME_WEIGHTS``). A payment on the doorstep is the balance the case owed before the visit
(the enforcement fee the visit itself incurs stays owed), with a receipt reference of the day and case.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

import geodata
from core import VisitReport
from sim.agent_day import AgentDay, StopKind
from sim.streams import Streams

OUTCOME_WEIGHTS = {"no_contact": 0.72, "refused": 0.07, "gone_away": 0.06, "arrangement": 0.08, "paid": 0.07}


def visit_reports(days: Sequence[AgentDay], balances: Mapping[int, int], day: date, seed: int
                  ) -> list[VisitReport]:
    """The reports of the planned visits made in ``days`` (one simulated day of many agents), in order
    of arrival. ``balances``: each visited case's balance in pence before the day."""
    etas = {v.case_id: v.eta for d in days for v in d.plan.visits}
    stops = sorted(((d.plan.agent_id, s, etas[s.case_id]) for d in days for s in d.truth
                    if s.kind is StopKind.visit), key=lambda t: (t[1].arrival, t[0]))
    if not stops:
        return []
    lons, lats = geodata.to_wgs84(np.array([s.x for _, s, _ in stops]), np.array([s.y for _, s, _ in stops]))
    streams = Streams(seed, "month")
    names, weights = list(OUTCOME_WEIGHTS), list(OUTCOME_WEIGHTS.values())
    out = []
    for (agent, stop, eta), lon, lat in zip(stops, lons, lats):
        outcome = names[int(streams(f"outcome.{day}.{stop.case_id}").choice(len(names), p=weights))]
        owed = balances.get(stop.case_id, 0)
        if outcome == "paid" and owed <= 0:
            outcome = "no_contact"
        paid = outcome == "paid"
        out.append(VisitReport(stop.case_id, outcome, stop.arrival, agent, planned_at=eta,
                               departed_at=stop.departure, lat=round(float(lat), 7), lon=round(float(lon), 7),
                               amount_pence=owed if paid else None,
                               payment_reference=f"SIM-{day:%Y%m%d}-{stop.case_id}" if paid else None))
    return out
