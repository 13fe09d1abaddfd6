"""Each agent's tracked working time on a London day (``tracked_day``), computed from gps_ping in one
set-based statement: the agent's fixes of the day in time order (``LAG`` over the agent's fixes within
the day's UTC bounds, ``tracking.days.day_bounds``), the time between each fix and the one before it
counted when the two are at most ``TRACKED_GAP_S`` apart, plus the first and last fix and the fix count.

Why a gap rule, and why 15 minutes
----------------------------------
Between two fixes the agent is known to be working only when the phone kept reporting: a phone
switched off over lunch, or an evening at home with the app left on but the phone not moving and its
timer stopped, must not count as time on cases. Every mode the phones run reports at least every
5 minutes while the app is tracking (Android every ~10 s; iOS after 100 m or 5 minutes; "significant
change" after ~500 m or 5 minutes), and a signal gap only delays the upload, not the fix's timestamp.
A silence of up to ``TRACKED_GAP_S`` = 900 s (three missed 5-minute reports) is still taken as the
phone's ordinary rhythm; a longer one is not known to be work and is left out whole.

The fixes are the agent's (``gps_ping.agent_id``, the agent the fix was stored under) over all the
agent's phones, so two phones carried at once count their overlap once.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from tracking.london_day import day_bounds

# The longest silence between two consecutive fixes of an agent still counted as tracked time
# (module docstring: three missed 5-minute reports).
TRACKED_GAP_S = 900

# One statement: the window over the day's fixes, aggregated per agent and upserted. A day with no
# fixes writes nothing and leaves an earlier row alone, so a day re-run after gps_ping's partitions
# were pruned keeps the tracked time it was given while the fixes were there.
_UPSERT = text("""
INSERT INTO tracked_day (agent_id, day, first_fix_at, last_fix_at, tracked_s, fix_count)
SELECT agent_id, :day, min(ts), max(ts),
       coalesce(round(sum(gap_s) FILTER (WHERE gap_s <= :max_gap_s)), 0)::int, count(*)
FROM (
    SELECT p.agent_id, p.ts,
           extract(epoch FROM p.ts - lag(p.ts) OVER (PARTITION BY p.agent_id ORDER BY p.ts)) AS gap_s
    FROM gps_ping p JOIN device d ON d.device_id = p.device_id
    WHERE d.kind = 'phone' AND p.ts >= :start AND p.ts < :end
      AND (CAST(:agent_id AS integer) IS NULL OR p.agent_id = :agent_id)
) fixes
GROUP BY agent_id
ON CONFLICT (agent_id, day) DO UPDATE SET
    first_fix_at = excluded.first_fix_at, last_fix_at = excluded.last_fix_at,
    tracked_s = excluded.tracked_s, fix_count = excluded.fix_count
""")


def record_tracked_days(db: Session, day: date, agent_id: int | None = None, *,
                        max_gap_s: int = TRACKED_GAP_S) -> int:
    """Upsert ``tracked_day`` for ``day`` (a London day) of every agent with phone fixes that day, or
    of ``agent_id`` only: first and last fix, fix count, and ``tracked_s``, the sum of the gaps between
    the agent's consecutive fixes that are at most ``max_gap_s`` long (module docstring). Idempotent;
    returns the number of agents written. Does not commit."""
    start, end = day_bounds(day)
    result = db.execute(_UPSERT, {"day": day, "start": start, "end": end, "agent_id": agent_id,
                                  "max_gap_s": max_gap_s})
    return result.rowcount
