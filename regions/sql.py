"""The set-based SQL every capacity measure is built from, as common table expressions over one
period (``:t0``/``:t1`` its UTC bounds, ``:d0``/``:d1`` its London days, half open), so that a figure
and its explanation (``regions.provenance``) read the very same rows.

``CURRENT_PLAN`` — the competing visits of the period's plans [000 §1.8, §2.94]: every planned visit
and every visit dropped for a competing reason (``core.COMPETING_REASONS``, ``:competing``) of the
day's current plan, which is, region by region, the latest run of the day covering that region (a
whole-country run covers every region no later run has re-planned), as ``dispatch`` reads it. One row
per case and day: a case-day. Its class is the priority class the task had that day
(``core.priority_class_sql``).

``ATTRIBUTED`` — agent time from GPS: every stop of every agent-day (``visit_evidence`` rows matched to
a case, ``unmatched_stop`` rows matched to none) with the travel that led to it (its arrival minus the
latest departure of an earlier stop that day, or minus the day's first fix from ``tracked_day`` for
the first stop). A visit's seconds are its dwell plus that travel, split evenly between cases whose
evidence shares one stop (a door with several warrants). An unmatched stop is other clients' work
(the subcontractor's work off the platform, which GPS sees only as stops at no case address) unless
it lasts longer than ``:break_s``, the longest a visit in the period lasts bar a few (the 95th
percentile of evidenced dwell): then it is a break (lunch) and, with its travel, no client's time.
Visit time is in the region of the case's address; other clients' time in the agent's home region.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import COMPETING_REASONS, priority_class_sql
from core.models import PlanDropped
from regions.period import Period

_CLASS = str(priority_class_sql(PlanDropped.priority).compile(compile_kwargs={"literal_binds": True})).replace(
    "plan_dropped.priority", "p.priority")

CURRENT_PLAN = f"""
runs AS (
    SELECT id, day, region FROM plan_run WHERE day >= :d0 AND day < :d1
),
plan_rows AS (
    SELECT r.day, v.run_id, v.case_id, v.buyer_id, v.region, v.priority, true AS served, v.agent_id,
           NULL::text AS reason
    FROM plan_visit v JOIN runs r ON r.id = v.run_id
    UNION ALL
    SELECT r.day, d.run_id, d.case_id, d.buyer_id, d.region, d.priority, false, NULL, d.reason
    FROM plan_dropped d JOIN runs r ON r.id = d.run_id
    WHERE d.reason = ANY(:competing)
),
current_plan AS (
    SELECT p.day, p.run_id, p.case_id, p.buyer_id, p.region, p.served, p.agent_id, p.reason,
           c.assigned_subcontractor_id AS subcontractor_id, {_CLASS} AS class
    FROM plan_rows p JOIN enforcement_case c ON c.id = p.case_id
    WHERE p.region IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM runs later WHERE later.day = p.day AND later.id > p.run_id
        AND (later.region IS NULL OR later.region = p.region))
)"""

ATTRIBUTED = """
evidence AS (
    SELECT e.id, e.agent_id, e.case_id, e.arrival, e.departure,
           (e.arrival AT TIME ZONE 'Europe/London')::date AS day
    FROM visit_evidence e WHERE e.arrival >= :t0 AND e.arrival < :t1
),
stops AS (
    SELECT agent_id, day, arrival, max(departure) AS departure, array_agg(id) AS evidence_ids,
           count(*) AS cases
    FROM evidence GROUP BY agent_id, day, arrival
    UNION ALL
    SELECT u.agent_id, (u.arrival AT TIME ZONE 'Europe/London')::date, u.arrival, u.departure, NULL, 0
    FROM unmatched_stop u WHERE u.arrival >= :t0 AND u.arrival < :t1
),
timed AS (
    SELECT s.agent_id, s.day, s.arrival, s.departure, s.evidence_ids, s.cases,
           extract(epoch FROM s.departure - s.arrival)::float8 AS dwell_s,
           greatest(0, extract(epoch FROM s.arrival - coalesce(
               max(s.departure) OVER (PARTITION BY s.agent_id, s.day ORDER BY s.arrival, s.departure
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
               least(t.first_fix_at, s.arrival), s.arrival)))::float8 AS travel_s
    FROM stops s LEFT JOIN tracked_day t ON t.agent_id = s.agent_id AND t.day = s.day
),
attributed AS (
    SELECT t.agent_id, t.day, a.itl1_cd AS region, ag.subcontractor_id, c.buyer_id, e.case_id, e.id AS evidence_id,
           cp.class, t.dwell_s / t.cases AS dwell_s, t.travel_s / t.cases AS travel_s,
           (t.dwell_s + t.travel_s) / t.cases AS seconds, t.arrival, t.departure
    FROM timed t
    CROSS JOIN LATERAL unnest(t.evidence_ids) AS ids(evidence_id)
    JOIN visit_evidence e ON e.id = ids.evidence_id
    JOIN enforcement_case c ON c.id = e.case_id
    JOIN address a ON a.id = c.address_id
    JOIN agent ag ON ag.id = t.agent_id
    LEFT JOIN current_plan cp ON cp.case_id = e.case_id AND cp.day = t.day AND cp.served
    WHERE t.evidence_ids IS NOT NULL AND a.itl1_cd IS NOT NULL
    UNION ALL
    SELECT t.agent_id, t.day, ag.itl1_cd, ag.subcontractor_id, NULL, NULL, NULL, NULL, t.dwell_s, t.travel_s,
           t.dwell_s + t.travel_s, t.arrival, t.departure
    FROM timed t JOIN agent ag ON ag.id = t.agent_id
    WHERE t.evidence_ids IS NULL AND t.dwell_s <= :break_s AND ag.itl1_cd IS NOT NULL
)"""

# The longest a visit lasts bar a few: unmatched stops longer than this are breaks.
BREAK_S = """
SELECT coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY dwell_s), 1800)
FROM visit_evidence WHERE arrival >= :t0 AND arrival < :t1"""


def params(period: Period) -> dict:
    """The bind parameters of the CTEs for ``period``, and of ``month_sql.OPEN_DURING``."""
    return {"t0": period.utc_start, "t1": period.utc_end, "d0": period.first, "d1": period.end,
            "lo": period.utc_start, "next_first": period.end, "competing": sorted(COMPETING_REASONS)}


def materialise(db: Session, period: Period) -> float:
    """``current_plan`` and ``attributed`` of ``period`` as temporary tables of the caller's transaction
    (dropped at its end), so that every figure of a report reads them once; returns the break limit
    (seconds) that was applied."""
    p = params(period)
    break_s = float(db.execute(text(BREAK_S), p).scalar_one())
    for table in ("current_plan", "attributed"):
        db.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    db.execute(text(f"CREATE TEMP TABLE current_plan ON COMMIT DROP AS WITH {CURRENT_PLAN} SELECT * FROM current_plan"), p)
    db.execute(text(f"CREATE TEMP TABLE attributed ON COMMIT DROP AS WITH {ATTRIBUTED} SELECT * FROM attributed"),
               p | {"break_s": break_s})
    for table in ("current_plan", "attributed"):
        db.execute(text(f"ANALYZE {table}"))
    return break_s
