"""The set-based SQL every capacity measure is built from, as common table expressions over one
period (``:t0``/``:t1`` its UTC bounds, ``:d0``/``:d1`` its London days, half open), so that a figure
and its explanation (``regions.provenance``) read the very same rows.

``CURRENT_PLAN`` — the competing visits of the period's plans [000 §1.8, §2.94]: every planned visit
and every visit dropped for a competing reason (``core.COMPETING_REASONS``, ``:competing``) of the
day's current plan, which is, region by region, the latest run of the day covering that region (a
whole-country run covers every region no later run has re-planned), as ``dispatch`` reads it. One row
per case and day: a case-day. Its class is the priority class the task had that day
(``core.priority_class_sql``).

``ATTRIBUTED`` — agent time from GPS, over every agent-day's stops: ``visit_evidence`` rows (matched to a
case) and ``unmatched_stop`` rows (matched to none). The work stops are the visits, and the unmatched
stops that last as long as a knock at a door does (at least ``:min_work_s``, less than ``:break_s``):
the subcontractor's work for its other clients, which GPS sees only as stops at no case address. The
other unmatched stops are idle: a halt in traffic, or a break (lunch). Idle stops are nobody's time.

A work stop's seconds are its dwell plus travel. The drive between two work stops (from the previous
one's departure, or the day's first fix, ``tracked_day``, less the idle stops in between) is a leg.

- A visit takes the whole leg that led to it, and so does an unmatched stop of at least ``:door_s``:
  a destination (another client's door; a fuel stop too, which GPS cannot tell apart).
- A shorter unmatched stop takes only its detour. A two-minute stop at no case address may be another
  client's door, but it may as well be a queue at lights on the way. So it is charged the share of its
  legs in and out that it added to the trip from the stop before it to the stop after it,
  ``f = (|PU| + |UN| - |PN|) / (|PU| + |UN|)`` in straight-line distances (the agent's home base
  stands in at either end of the day): off the route (``f`` near 1) it takes its legs, on the way
  (``f`` near 0) nothing. The rest of its legs is the through drive, and goes to the next visit (or,
  with no visit after it, to the day's last work stop).

Without the detour rule, queues on long rural drives took half the drive as other clients' work, and
flagged buyers whose cases lie far apart (``bench/capacity.py``: the national buyer in Yorkshire, at
0.74). A visit's seconds are split evenly between the cases whose evidence shares one stop (a door
with several warrants). Visit time is in the region of the case's address; other clients' time in the
agent's home region.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import COMPETING_REASONS, get_settings, priority_class_sql
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


def _metres(lon1: str, lat1: str, lon2: str, lat2: str) -> str:
    """The distance in metres between two lon/lat points, flat-earth: only the ratios of a few
    kilometres' legs are read, and arithmetic keeps a national month's million stops cheap."""
    return (f"sqrt((({lon2} - {lon1}) * cos(radians(({lat1} + {lat2}) / 2)) * 111320) ^ 2"
            f" + (({lat2} - {lat1}) * 110574) ^ 2)")


ATTRIBUTED = f"""
evidence AS (
    SELECT e.id, e.agent_id, e.case_id, c.buyer_id, a.itl1_cd, e.arrival, e.departure,
           ST_X(a.location) AS lon, ST_Y(a.location) AS lat, (e.arrival AT TIME ZONE 'Europe/London')::date AS day
    FROM visit_evidence e JOIN enforcement_case c ON c.id = e.case_id JOIN address a ON a.id = c.address_id
    WHERE e.arrival >= :t0 AND e.arrival < :t1
),
stops AS (
    SELECT agent_id, day, arrival, max(departure) AS departure, array_agg(id) AS evidence_ids,
           count(*) AS cases, 'visit' AS kind, avg(lon) AS lon, avg(lat) AS lat
    FROM evidence GROUP BY agent_id, day, arrival
    UNION ALL
    SELECT u.agent_id, (u.arrival AT TIME ZONE 'Europe/London')::date, u.arrival, u.departure, NULL, 0,
           CASE WHEN u.departure - u.arrival >= make_interval(secs => :min_work_s)
                 AND u.departure - u.arrival < make_interval(secs => :break_s) THEN 'work' ELSE 'idle' END,
           ST_X(u.location), ST_Y(u.location)
    FROM unmatched_stop u WHERE u.arrival >= :t0 AND u.arrival < :t1
),
idled AS (
    SELECT s.*, extract(epoch FROM s.departure - s.arrival)::float8 AS dwell_s,
           coalesce(sum(CASE WHEN s.kind = 'idle' THEN extract(epoch FROM s.departure - s.arrival) END)
               OVER (PARTITION BY s.agent_id, s.day ORDER BY s.arrival, s.departure
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::float8 AS idle_before
    FROM stops s
),
legs AS (
    SELECT i.agent_id, ag.subcontractor_id, ag.itl1_cd AS home_region, i.day, i.arrival, i.departure,
           i.evidence_ids, i.cases, i.dwell_s, i.kind, row_number() OVER w AS rn,
           greatest(0, extract(epoch FROM i.arrival - coalesce(
               lag(i.departure) OVER w, least(t.first_fix_at, i.arrival), i.arrival))
               - (i.idle_before - coalesce(lag(i.idle_before) OVER w, 0)))::float8 AS leg_s,
           i.lon, i.lat,
           coalesce(lag(i.lon) OVER w, ST_X(ag.home_base)) AS p_lon, coalesce(lag(i.lat) OVER w, ST_Y(ag.home_base)) AS p_lat,
           coalesce(lead(i.lon) OVER w, ST_X(ag.home_base)) AS n_lon, coalesce(lead(i.lat) OVER w, ST_Y(ag.home_base)) AS n_lat
    FROM idled i LEFT JOIN tracked_day t ON t.agent_id = i.agent_id AND t.day = i.day
    JOIN agent ag ON ag.id = i.agent_id
    WHERE i.kind <> 'idle'
    WINDOW w AS (PARTITION BY i.agent_id, i.day ORDER BY i.arrival, i.departure)
),
detoured AS (
    -- g_in, g_out: the shares of its legs in and out that a stop takes (the rest drives through).
    SELECT l.*,
           CASE WHEN l.kind <> 'work' THEN 0 WHEN l.dwell_s >= :door_s THEN 1 ELSE d.f END AS g_in,
           CASE WHEN l.kind = 'work' AND l.dwell_s < :door_s THEN d.f ELSE 0 END AS g_out
    FROM legs l
    CROSS JOIN LATERAL (SELECT {_metres("l.p_lon", "l.p_lat", "l.lon", "l.lat")} AS pu,
                               {_metres("l.lon", "l.lat", "l.n_lon", "l.n_lat")} AS un,
                               {_metres("l.p_lon", "l.p_lat", "l.n_lon", "l.n_lat")} AS pn) m
    CROSS JOIN LATERAL (SELECT coalesce((m.pu + m.un - m.pn) / nullif(m.pu + m.un, 0), 0) AS f) d
),
split AS (
    SELECT d.*,
           -- The leg into this stop: its start (an unmatched stop) and its end each take their detour
           -- share, scaled down when together they would take more than the whole leg.
           d.leg_s * (coalesce(lag(d.g_out) OVER w, 0) + d.g_in) / greatest(1, coalesce(lag(d.g_out) OVER w, 0) + d.g_in) AS taken,
           d.leg_s * d.g_in / greatest(1, coalesce(lag(d.g_out) OVER w, 0) + d.g_in) AS own_in,
           coalesce(lead(d.leg_s) OVER w * d.g_out / greatest(1, d.g_out + lead(d.g_in) OVER w), 0) AS own_out,
           -- The stops since the last visit (this one included) share its running count of visits
           -- before them: their through drive goes to the visit of that group, or to the day's last stop.
           count(*) FILTER (WHERE d.kind = 'visit') OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS grp,
           d.kind = 'visit' OR d.rn = count(*) OVER (PARTITION BY d.agent_id, d.day) AS receives
    FROM detoured d
    WINDOW w AS (PARTITION BY d.agent_id, d.day ORDER BY d.rn)
),
timed AS (
    SELECT s.agent_id, s.subcontractor_id, s.home_region, s.day, s.arrival, s.departure, s.evidence_ids, s.cases,
           s.dwell_s,
           s.own_in + s.own_out + CASE WHEN s.receives THEN sum(s.leg_s - s.taken) OVER g ELSE 0 END AS travel_s
    FROM split s
    WINDOW g AS (PARTITION BY s.agent_id, s.day, s.grp)
),
attributed AS (
    SELECT t.agent_id, t.day, e.itl1_cd AS region, t.subcontractor_id, e.buyer_id, e.case_id, e.id AS evidence_id,
           cp.class, t.dwell_s / t.cases AS dwell_s, t.travel_s / t.cases AS travel_s,
           (t.dwell_s + t.travel_s) / t.cases AS seconds, t.arrival, t.departure
    FROM timed t
    CROSS JOIN LATERAL unnest(t.evidence_ids) AS ids(evidence_id)
    JOIN evidence e ON e.id = ids.evidence_id
    LEFT JOIN current_plan cp ON cp.case_id = e.case_id AND cp.day = t.day AND cp.served
    WHERE t.evidence_ids IS NOT NULL AND e.itl1_cd IS NOT NULL
    UNION ALL
    SELECT t.agent_id, t.day, t.home_region, t.subcontractor_id, NULL, NULL, NULL, NULL, t.dwell_s, t.travel_s,
           t.dwell_s + t.travel_s, t.arrival, t.departure
    FROM timed t
    WHERE t.evidence_ids IS NULL AND t.home_region IS NOT NULL
)"""


def params(period: Period) -> dict:
    """The bind parameters of the CTEs for ``period``, and of ``month_sql.OPEN_DURING``."""
    return {"t0": period.utc_start, "t1": period.utc_end, "d0": period.first, "d1": period.end,
            "lo": period.utc_start, "next_first": period.end, "competing": sorted(COMPETING_REASONS)}


def materialise(db: Session, period: Period) -> None:
    """``current_plan`` and ``attributed`` of ``period`` as temporary tables of the caller's transaction
    (dropped at its end), so that every figure of a report reads them once."""
    p = params(period)
    settings = get_settings()
    for table in ("current_plan", "attributed"):
        db.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    db.execute(text(f"CREATE TEMP TABLE current_plan ON COMMIT DROP AS WITH {CURRENT_PLAN} SELECT * FROM current_plan"), p)
    db.execute(text(f"CREATE TEMP TABLE attributed ON COMMIT DROP AS WITH {ATTRIBUTED} SELECT * FROM attributed"),
               p | {"min_work_s": settings.capacity_min_work_s, "break_s": settings.capacity_break_s,
                    "door_s": settings.capacity_door_s})
    for table in ("current_plan", "attributed"):
        db.execute(text(f"ANALYZE {table}"))
