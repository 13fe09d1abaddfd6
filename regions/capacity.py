"""The monthly capacity figures and the proof of non-deprioritisation, region by region [000 §1.8,
§2.94; DOMAIN.md "Capacity and non-deprioritisation"].

``capacity_report(db, month)`` computes, for the period, per ITL1 region, subcontractor and buyer:

- the [000 §1.8] table: cases placed and open, agents allocated (agents with planned or evidenced
  visits on the cases), each subcontractor's total caseload and agents across all its clients (the
  platform's cases plus its declared outside work, ``regions.declare``), and the buyer's share of the
  subcontractor's business;
- agent time from GPS (``regions.sql``: dwell at the buyer's visits plus the travel that led to them),
  against the agents' tracked working time (``tracked_day``);
- the deprioritisation index (``regions.index``): the buyer's share of the agents' client-work time ÷
  its share of the competing caseload, overall and per priority class (``core.PriorityClass``), per
  region and per subcontractor in a region, with a bootstrap interval over agent-days, flagged when
  the interval's upper bound is below the threshold while the agents there work for other clients;
- the same index week by week (the trend).

**The competing caseload** is counted in case-days: each day a case is in the current plan, planned or
dropped for room (``core.COMPETING_REASONS``), it competes for that day's agents; a subcontractor's
declared outside cases compete on every planned day of the region. Each case-day is weighted by the
agent time a visit takes where the case is (the mean seconds per evidenced visit in its 10 km
British National Grid square, else its region's): a buyer whose cases lie in a dense city needs less
travel per visit than one whose cases are spread over the country, and an index in plain case counts
would read that as deprioritisation. Per class, only the platform's case-days count (outside work has
no class), as the planner measures itself (``dispatch.fairness_by_class``).

Everything is set-based SQL over temporary tables of the period (``regions.sql.materialise``); Python
only assembles the aggregates and resamples agent-days.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import PriorityClass, get_settings
from regions.index import BOOTSTRAP_SAMPLES, IndexEstimate, flagged, index_estimates
from regions.month_sql import OPEN_DURING
from regions.period import Period, month_period
from regions.sql import materialise, params

OUTSIDE = "(other clients)"  # the subcontractors' work off the platform, in the index's columns
UNASSIGNED = "(unassigned)"   # cases not yet given to a subcontractor
# Per class and overall, in the order reports show them.
CLASSES: tuple[str | None, ...] = (None, *(c.value for c in PriorityClass))
CELL_M = 10_000  # the square (metres, BNG) within which a visit's agent time is taken as typical


@dataclass(frozen=True)
class TableLine:
    """[000 §1.8] for one buyer with one subcontractor in one region."""

    region: str
    subcontractor: str
    buyer: str
    cases_placed: int
    cases_open: int
    agents_allocated: int
    agent_time_s: float          # the agents' client-work seconds on the buyer's cases
    share_of_business: float | None  # the buyer's open cases ÷ the subcontractor's whole caseload there


@dataclass(frozen=True)
class SubcontractorLine:
    """One subcontractor in one region, across all its clients."""

    region: str
    subcontractor: str
    platform_cases_open: int
    outside_cases: int           # declared
    platform_agents: int         # agents allocated to the platform's cases
    outside_agents: int          # declared
    tracked_s: float             # tracked working time of its agents based in the region
    client_work_s: float         # seconds of visits and other clients' work (breaks excluded)
    outside_work_s: float        # of which other clients' work

    @property
    def total_caseload(self) -> int:
        return self.platform_cases_open + self.outside_cases

    @property
    def total_agents(self) -> int:
        return self.platform_agents + self.outside_agents


@dataclass(frozen=True)
class IndexLine:
    region: str
    subcontractor: str | None    # None: every subcontractor in the region together
    buyer: str
    priority_class: str | None   # None: overall
    estimate: IndexEstimate
    flagged: bool
    seconds: float               # the buyer's client-work seconds
    caseload: float              # its weighted competing case-days
    case_days: int               # unweighted


@dataclass(frozen=True)
class WeekLine:
    week_start: date
    region: str
    buyer: str
    index: float | None


@dataclass
class CapacityReport:
    period: Period
    threshold: float
    min_work_s: float  # unmatched stops from this long …
    break_s: float     # … to this long are other clients' work; the rest is idle
    door_s: float      # from this long, one takes the drive that led to it; a shorter one its detour
    regions: dict[str, str]                       # ITL1 code → name, all twelve
    buyers: dict[str, str]                        # reference → name
    table: list[TableLine] = field(default_factory=list)
    subcontractors: list[SubcontractorLine] = field(default_factory=list)
    indices: list[IndexLine] = field(default_factory=list)
    weekly: list[WeekLine] = field(default_factory=list)

    def flags(self) -> list[IndexLine]:
        return [i for i in self.indices if i.flagged]

    def index(self, region: str, buyer: str, *, subcontractor: str | None = None,
              priority_class: str | None = None) -> IndexLine | None:
        return next((i for i in self.indices if (i.region, i.buyer, i.subcontractor, i.priority_class)
                     == (region, buyer, subcontractor, priority_class)), None)

    def for_buyer(self, buyer: str) -> CapacityReport:
        """What ``buyer`` may see: its own lines only. Other clients appear only inside the totals
        its shares are computed against (the subcontractors' lines, which name no buyer)."""
        return replace(self, buyers={buyer: self.buyers[buyer]} if buyer in self.buyers else {},
                       table=[t for t in self.table if t.buyer == buyer],
                       indices=[i for i in self.indices if i.buyer == buyer],
                       weekly=[w for w in self.weekly if w.buyer == buyer])


def capacity_report(db: Session, month: str | date | Period, *, threshold: float | None = None,
                    samples: int = BOOTSTRAP_SAMPLES, weekly: bool = True) -> CapacityReport:
    """Every figure of the capacity report for ``month`` (``YYYY-MM``, a date in it, or a ``Period``),
    for every buyer (``CapacityReport.for_buyer`` cuts it down). Runs in the caller's transaction."""
    period = month if isinstance(month, Period) else month_period(month)
    settings = get_settings()
    threshold = settings.capacity_threshold if threshold is None else threshold
    materialise(db, period)
    names = _names(db)
    report = CapacityReport(period, threshold, settings.capacity_min_work_s, settings.capacity_break_s,
                            settings.capacity_door_s, names["region"], names["buyer_name"])
    time_rows = _time_rows(db)
    _region_weights(db)
    competing = _competing(db)
    declared = _declarations(db, period)
    outside_caseload = _outside_caseload(db, declared)
    report.table, report.subcontractors = _tables(db, period, names, time_rows, declared)
    report.indices = _indices(time_rows, competing, outside_caseload, names, threshold, samples)
    if weekly:
        report.weekly = _weekly(time_rows, competing, outside_caseload, names, period)
    return report


# --- reading ------------------------------------------------------------------------------------------


def _names(db: Session) -> dict[str, dict]:
    return {
        "region": dict(db.execute(text("SELECT code, name FROM itl1_region ORDER BY code")).all()),
        "buyer": dict(db.execute(text("SELECT id, reference FROM buyer")).all()),
        "buyer_name": dict(db.execute(text("SELECT reference, name FROM buyer ORDER BY reference")).all()),
        "sub": dict(db.execute(text("SELECT id, reference FROM subcontractor")).all()),
    }


def _time_rows(db: Session) -> pd.DataFrame:
    """Client-work seconds per agent-day, region, subcontractor, buyer (null: other clients) and class."""
    rows = db.execute(text("""
        SELECT agent_id, day, region, subcontractor_id, buyer_id, class, sum(seconds) AS seconds
        FROM attributed GROUP BY agent_id, day, region, subcontractor_id, buyer_id, class""")).all()
    return pd.DataFrame(rows, columns=["agent_id", "day", "region", "subcontractor_id", "buyer_id", "class",
                                       "seconds"])


def _region_weights(db: Session) -> None:
    """The mean client-work seconds of an evidenced visit per region, and over all regions (the row
    whose region is null), as the temporary table ``region_weight`` that the competing caseload and
    the declared outside cases are both weighted by."""
    db.execute(text("DROP TABLE IF EXISTS pg_temp.region_weight"))
    db.execute(text("CREATE TEMP TABLE region_weight ON COMMIT DROP AS SELECT region, avg(seconds) AS w "
                    "FROM attributed WHERE case_id IS NOT NULL GROUP BY ROLLUP (region)"))


def _competing(db: Session) -> pd.DataFrame:
    """Competing case-days per day, region, subcontractor, buyer and class, with their weight: the mean
    client-work seconds of an evidenced visit in the case's 10 km square, else its region, else overall
    (1 when nothing was evidenced, which leaves plain case-days)."""
    rows = db.execute(text(f"""
        WITH located AS (
            SELECT cp.day, cp.region, cp.subcontractor_id, cp.buyer_id, cp.class,
                   floor(ST_X(ST_Transform(a.location, 27700)) / {CELL_M})::int AS cx,
                   floor(ST_Y(ST_Transform(a.location, 27700)) / {CELL_M})::int AS cy
            FROM current_plan cp JOIN enforcement_case c ON c.id = cp.case_id JOIN address a ON a.id = c.address_id
        ),
        visits AS (
            SELECT t.seconds,
                   floor(ST_X(ST_Transform(a.location, 27700)) / {CELL_M})::int AS cx,
                   floor(ST_Y(ST_Transform(a.location, 27700)) / {CELL_M})::int AS cy
            FROM attributed t JOIN enforcement_case c ON c.id = t.case_id JOIN address a ON a.id = c.address_id
        ),
        cell_w AS (SELECT cx, cy, avg(seconds) AS w FROM visits GROUP BY cx, cy)
        SELECT l.day, l.region, l.subcontractor_id, l.buyer_id, l.class, count(*) AS case_days,
               sum(coalesce(cw.w, rw.w, aw.w, 1)) AS weighted
        FROM located l LEFT JOIN cell_w cw ON cw.cx = l.cx AND cw.cy = l.cy
        LEFT JOIN region_weight rw ON rw.region = l.region LEFT JOIN region_weight aw ON aw.region IS NULL
        GROUP BY l.day, l.region, l.subcontractor_id, l.buyer_id, l.class""")).all()
    return pd.DataFrame(rows, columns=["day", "region", "subcontractor_id", "buyer_id", "class", "case_days",
                                       "weighted"])


def _declarations(db: Session, period: Period) -> pd.DataFrame:
    rows = db.execute(text("""
        SELECT itl1_cd AS region, subcontractor_id, outside_cases, outside_agents
        FROM capacity_declaration WHERE month = :month"""), {"month": period.first}).all()
    return pd.DataFrame(rows, columns=["region", "subcontractor_id", "outside_cases", "outside_agents"])


def _outside_caseload(db: Session, declared: pd.DataFrame) -> pd.DataFrame:
    """The declared outside cases as competing case-days: each competes on every day the region was
    planned, weighted by the region's mean seconds per visit."""
    if declared.empty:
        return pd.DataFrame(columns=["day", "region", "subcontractor_id", "case_days", "weighted"])
    days = pd.DataFrame(db.execute(text("""
        SELECT DISTINCT cp.day, cp.region, coalesce(rw.w, aw.w, 1) AS w
        FROM current_plan cp LEFT JOIN region_weight rw ON rw.region = cp.region
        LEFT JOIN region_weight aw ON aw.region IS NULL""")).all(),
        columns=["day", "region", "w"])
    out = declared.merge(days, on="region")
    out["case_days"] = out["outside_cases"]
    out["weighted"] = out["outside_cases"] * out["w"].astype(float)
    return out[["day", "region", "subcontractor_id", "case_days", "weighted"]]


# --- the [000 §1.8] table ----------------------------------------------------------------------------


def _tables(db: Session, period: Period, names: dict, time_rows: pd.DataFrame, declared: pd.DataFrame,
            ) -> tuple[list[TableLine], list[SubcontractorLine]]:
    p = params(period)
    counts = db.execute(text(f"""
        WITH cases AS (
            SELECT c.id, c.buyer_id, coalesce(c.assigned_subcontractor_id, 0) AS sub, a.itl1_cd AS region,
                   c.received_on >= :d0 AND c.received_on < :d1 AS placed, {OPEN_DURING} AS open
            FROM enforcement_case c JOIN address a ON a.id = c.address_id
            WHERE a.itl1_cd IS NOT NULL AND c.received_on < :d1
        ),
        worked AS (
            SELECT case_id, agent_id FROM current_plan WHERE served
            UNION SELECT case_id, agent_id FROM attributed WHERE case_id IS NOT NULL
        )
        SELECT c.region, c.sub, c.buyer_id, count(DISTINCT c.id) FILTER (WHERE c.placed),
               count(DISTINCT c.id) FILTER (WHERE c.open), count(DISTINCT w.agent_id),
               GROUPING(c.buyer_id) AS all_buyers
        FROM cases c LEFT JOIN worked w ON w.case_id = c.id
        GROUP BY GROUPING SETS ((c.region, c.sub, c.buyer_id), (c.region, c.sub))"""), p).all()
    tracked = {(r, s): float(t) for r, s, t in db.execute(text("""
        SELECT a.itl1_cd, a.subcontractor_id, sum(t.tracked_s) FROM tracked_day t JOIN agent a ON a.id = t.agent_id
        WHERE t.day >= :d0 AND t.day < :d1 AND a.itl1_cd IS NOT NULL GROUP BY a.itl1_cd, a.subcontractor_id"""), p)}
    work = time_rows.groupby(["region", "subcontractor_id", time_rows["buyer_id"].isna()])["seconds"].sum()
    buyer_time = time_rows.dropna(subset=["buyer_id"]).groupby(["region", "subcontractor_id", "buyer_id"])["seconds"].sum()
    outside = {(r, s): (int(c), int(a)) for r, s, c, a in declared.itertuples(index=False)}

    subs: dict[tuple[str, int], dict] = {}
    lines = []
    for region, sub, buyer_id, placed, open_, agents, all_buyers in counts:
        if all_buyers:
            subs[(region, sub)] = {"open": open_, "agents": agents}
            continue
        lines.append((region, sub, buyer_id, placed, open_, agents))
    keys = set(subs) | set(outside) | {(r, s) for r, s, _ in work.index} | set(tracked)
    sub_lines = []
    for region, sub in sorted(keys, key=lambda k: (k[0], names["sub"].get(k[1], UNASSIGNED))):
        own = subs.get((region, sub), {"open": 0, "agents": 0})
        oc, oa = outside.get((region, sub), (0, 0))
        sub_lines.append(SubcontractorLine(
            region, names["sub"].get(sub, UNASSIGNED), own["open"], oc, own["agents"], oa,
            tracked.get((region, sub), 0.0),
            float(work.get((region, sub, False), 0.0) + work.get((region, sub, True), 0.0)),
            float(work.get((region, sub, True), 0.0))))
    totals = {(s.region, s.subcontractor): s.total_caseload for s in sub_lines}
    table = []
    for region, sub, buyer_id, placed, open_, agents in lines:
        sub_ref = names["sub"].get(sub, UNASSIGNED)
        total = totals.get((region, sub_ref), 0)
        table.append(TableLine(region, sub_ref, names["buyer"][buyer_id], placed, open_, agents,
                               float(buyer_time.get((region, sub, buyer_id), 0.0)),
                               open_ / total if total else None))
    table.sort(key=lambda t: (t.region, t.subcontractor, t.buyer))
    return table, sub_lines


# --- the index ---------------------------------------------------------------------------------------


def _unit_estimates(time_rows: pd.DataFrame, caseload: dict[str, tuple[float, int]], threshold: float,
                    samples: int, seed: int) -> list[tuple[str, IndexEstimate, bool, float, float, int]]:
    """Estimates for every client of one unit: ``time_rows`` (agent_id, day, client, seconds) and
    ``caseload`` client → (weighted, case-days)."""
    clients = sorted(caseload)
    if not clients:
        return []
    pivot = (time_rows.pivot_table(index=["agent_id", "day"], columns="client", values="seconds", aggfunc="sum")
             .reindex(columns=clients).fillna(0.0)) if not time_rows.empty else pd.DataFrame(columns=clients)
    seconds = pivot.to_numpy(dtype=float)
    estimates = index_estimates(seconds, np.array([caseload[c][0] for c in clients]), samples=samples, seed=seed)
    total = float(seconds.sum())
    out = []
    for j, (client, est) in enumerate(zip(clients, estimates)):
        if est is None or client == OUTSIDE:
            continue
        own = float(seconds[:, j].sum())
        out.append((client, est, flagged(est, threshold, total - own), own, caseload[client][0],
                    caseload[client][1]))
    return out


def _client_frames(time_rows: pd.DataFrame, competing: pd.DataFrame, outside: pd.DataFrame,
                   names: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = time_rows.copy()
    t["client"] = t["buyer_id"].map(names["buyer"]).fillna(OUTSIDE)
    c = competing.copy()
    c["client"] = c["buyer_id"].map(names["buyer"])
    if not outside.empty:
        o = outside.copy()
        o["client"], o["buyer_id"], o["class"] = OUTSIDE, None, None
        c = pd.concat([c, o[c.columns]], ignore_index=True)
    return t, c


def _indices(time_rows: pd.DataFrame, competing: pd.DataFrame, outside: pd.DataFrame, names: dict,
             threshold: float, samples: int) -> list[IndexLine]:
    t, c = _client_frames(time_rows, competing, outside, names)
    out: list[IndexLine] = []
    # Per region (every subcontractor together) and per subcontractor in a region.
    for by_sub in (False, True):
        keys = ["region", "subcontractor_id"] if by_sub else ["region"]
        t_groups = dict(iter(t.groupby(keys, dropna=False))) if not t.empty else {}
        for key, cases in c.groupby(keys, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            times = t_groups.get(key, t.iloc[0:0])
            sub = names["sub"].get(key[1], UNASSIGNED) if by_sub else None
            for cls in CLASSES:
                cs = cases if cls is None else cases[cases["class"] == cls]
                ts = times if cls is None else times[times["class"] == cls]
                load = {client: (float(g["weighted"].sum()), int(g["case_days"].sum()))
                        for client, g in cs.groupby("client")}
                seed = zlib.crc32(f"{key[0]}|{sub}|{cls}".encode())
                for client, est, flag, secs, weighted, days in _unit_estimates(
                        ts[["agent_id", "day", "client", "seconds"]], load, threshold, samples, seed):
                    out.append(IndexLine(key[0], sub, client, cls, est, flag, secs, weighted, days))
    out.sort(key=lambda i: (i.region, i.subcontractor or "", i.buyer, CLASSES.index(i.priority_class)))
    return out


def _weekly(time_rows: pd.DataFrame, competing: pd.DataFrame, outside: pd.DataFrame, names: dict,
            period: Period) -> list[WeekLine]:
    """The overall regional index week by week (point estimates: a week is too short for a useful
    interval, and the trend is what a week adds)."""
    t, c = _client_frames(time_rows, competing, outside, names)
    out = []
    for week in period.weeks():
        tw = t[(t["day"] >= week.first) & (t["day"] <= week.last)] if not t.empty else t
        cw = c[(c["day"] >= week.first) & (c["day"] <= week.last)]
        for region, cases in cw.groupby("region"):
            load = {client: (float(g["weighted"].sum()), int(g["case_days"].sum())) for client, g in cases.groupby("client")}
            times = tw[tw["region"] == region] if not tw.empty else tw
            ests = {client: est for client, est, *_ in _unit_estimates(
                times[["agent_id", "day", "client", "seconds"]] if not times.empty else
                pd.DataFrame(columns=["agent_id", "day", "client", "seconds"]), load, 1.0, 0, 0)}
            for client in sorted(load):
                if client != OUTSIDE:
                    est = ests.get(client)
                    out.append(WeekLine(week.first, region, client, est.index if est else None))
    return out


def regions_flagged(report: CapacityReport) -> set[tuple[str, str]]:
    """(region, buyer) pairs flagged at region level, overall (what the bench scores)."""
    return {(i.region, i.buyer) for i in report.flags() if i.subcontractor is None and i.priority_class is None}

