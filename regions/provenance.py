"""Where a capacity figure comes from: the rows behind one measure of one buyer in one region and
month, read from the same temporary tables the report is computed from (``regions.sql``), so that a
buyer or a regional manager can check every figure back to the visits, stops and plans it counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from regions.capacity import capacity_report
from regions.month_sql import OPEN_DURING
from regions.period import Period
from regions.sql import materialise, params

MEASURES = ("cases_placed", "cases_open", "agents_allocated", "agent_time", "competing_caseload", "index")
MAX_ROWS = 5000


@dataclass(frozen=True)
class Explanation:
    measure: str
    region: str
    buyer: str
    value: float | None
    formula: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


_CASES = """
SELECT c.id AS case_id, c.supplier_reference, c.received_on, c.status, s.reference AS subcontractor
FROM enforcement_case c JOIN address a ON a.id = c.address_id LEFT JOIN subcontractor s ON s.id = c.assigned_subcontractor_id
WHERE a.itl1_cd = :region AND c.buyer_id = :buyer_id AND {cond} ORDER BY c.id LIMIT :limit"""

_QUERIES = {
    "cases_placed": (_CASES.format(cond="c.received_on >= :d0 AND c.received_on < :d1"),
                     "cases of the buyer in the region received in the month"),
    "cases_open": (_CASES.format(cond=OPEN_DURING),
                   "cases of the buyer in the region open at any time in the month"),
    "agents_allocated": ("""
        SELECT w.agent_id, ag.reference AS agent, s.reference AS subcontractor, bool_or(w.planned) AS planned,
               bool_or(NOT w.planned) AS evidenced, count(DISTINCT w.case_id) AS cases
        FROM (SELECT agent_id, case_id, true AS planned FROM current_plan
              WHERE served AND region = :region AND buyer_id = :buyer_id
              UNION ALL SELECT agent_id, case_id, false FROM attributed WHERE region = :region AND buyer_id = :buyer_id) w
        JOIN agent ag ON ag.id = w.agent_id JOIN subcontractor s ON s.id = ag.subcontractor_id
        GROUP BY w.agent_id, ag.reference, s.reference ORDER BY w.agent_id LIMIT :limit""",
                         "agents with a planned (current plan) or evidenced visit on the buyer's cases in the region"),
    "agent_time": ("""
        SELECT t.evidence_id, t.case_id, t.agent_id, t.day, t.arrival, t.departure, t.class,
               round(t.dwell_s::numeric, 1)::float8 AS dwell_s, round(t.travel_s::numeric, 1)::float8 AS travel_s,
               round(t.seconds::numeric, 1)::float8 AS seconds
        FROM attributed t WHERE t.region = :region AND t.buyer_id = :buyer_id
        ORDER BY t.day, t.agent_id, t.arrival LIMIT :limit""",
                   ("seconds = dwell at the visit + travel since the agent's previous visit that day (or its first "
                    "fix), less the detours to stops at no case address in between, split between cases sharing "
                    "one stop")),
    "competing_caseload": ("""
        SELECT cp.day, cp.run_id, cp.case_id, cp.class, cp.served, cp.reason, cp.agent_id
        FROM current_plan cp WHERE cp.region = :region AND cp.buyer_id = :buyer_id
        ORDER BY cp.day, cp.case_id LIMIT :limit""",
                           ("case-days of the buyer's cases in the region's current plans: planned, or dropped "
                            "for capacity, the time limit or fair share")),
}


def explain(db: Session, period: Period, region: str, buyer_id: int, buyer: str, measure: str) -> Explanation:
    """The rows behind ``measure`` (one of ``MEASURES``) for the buyer in the region; for ``index``,
    its components (each traceable through the other measures)."""
    if measure == "index":
        report = capacity_report(db, period, weekly=False)
        line = report.index(region, buyer)
        if line is None:
            return Explanation(measure, region, buyer, None, "no competing caseload or no agent time in the region")
        e = line.estimate
        rows = [{"component": "buyer_seconds", "value": round(line.seconds, 1), "see": "agent_time"},
                {"component": "share_of_time", "value": round(e.share_of_time, 6)},
                {"component": "buyer_case_days", "value": line.case_days, "see": "competing_caseload"},
                {"component": "buyer_weighted_caseload", "value": round(line.caseload, 1)},
                {"component": "share_of_caseload", "value": round(e.share_of_caseload, 6)},
                {"component": "interval_low", "value": round(e.low, 4)},
                {"component": "interval_high", "value": round(e.high, 4)},
                {"component": "agent_days", "value": e.agent_days},
                {"component": "flagged", "value": line.flagged},
                {"component": "threshold", "value": report.threshold}]
        return Explanation(measure, region, buyer, e.index, "share_of_time / share_of_caseload", rows)
    materialise(db, period)
    sql, formula = _QUERIES[measure]
    result = db.execute(text(sql), params(period) | {"region": region, "buyer_id": buyer_id, "limit": MAX_ROWS + 1})
    rows = [dict(r._mapping) for r in result]
    truncated = len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]
    if measure == "agent_time":
        value = float(db.execute(text("SELECT coalesce(sum(seconds), 0) FROM attributed WHERE region = :r "
                                      "AND buyer_id = :b"), {"r": region, "b": buyer_id}).scalar_one())
    elif measure == "competing_caseload":
        value = float(db.execute(text("SELECT count(*) FROM current_plan WHERE region = :r AND buyer_id = :b"),
                                 {"r": region, "b": buyer_id}).scalar_one())
    else:
        value = float(len(rows)) if not truncated else None
    return Explanation(measure, region, buyer, value, formula, rows, truncated)
