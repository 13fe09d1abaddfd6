"""The buyer's self-serve performance figures for a month [000 §1.136]: how its EA subcontractors work
its cases and what they collect, in total, per subcontractor, per ITL1 region and per both.

Per group of the buyer's cases (by the firm the case is assigned to, and the region of its address):
- open cases: open at some time during the month (``month_sql.OPEN_DURING``);
- visits: ``visit`` rows arriving in the month, with those whose outcome is anything but
  ``no_contact`` (contact) and those whose GPS times agree with the reported ones (``gps_verified``);
  visits per case is visits ÷ open cases, the contact rate contact ÷ visits;
- collected: the month's ``payment`` entries on the ledger (positive pence), and refunds apart;
- returns: the cases returned in the month, by ``return_reason``.

A case is its assigned firm's throughout, visits and payments included, whoever made the visit: the
firm holding a case answers for it. Cases with no firm assigned form their own line (``None``). All
sums are in SQL, one pass per measure family over the buyer's cases (GROUPING SETS)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from regions.month_sql import OPEN_DURING, month_params

__all__ = ["NO_REASON", "Measures", "PerformanceLine", "PerformanceReport", "performance_report"]

NO_REASON = "no reason given"

# GROUPING(sub, region): which of the two a row adds up over.
_BOTH, _BY_SUB, _BY_REGION, _TOTAL = 0, 1, 2, 3
_SETS = "GROUPING SETS ((), (c.assigned_subcontractor_id), (a.itl1_cd), (c.assigned_subcontractor_id, a.itl1_cd))"

_MEASURES = f"""
WITH mine AS (SELECT id FROM enforcement_case WHERE buyer_id = :buyer),
v AS (
    SELECT case_id, count(*) AS visits, count(*) FILTER (WHERE outcome <> 'no_contact') AS contact,
           count(*) FILTER (WHERE gps_verified) AS verified
    FROM visit WHERE case_id IN (SELECT id FROM mine) AND arrived_at >= :lo AND arrived_at < :hi
    GROUP BY case_id),
m AS (
    SELECT case_id, -coalesce(sum(amount_pence) FILTER (WHERE kind = 'payment'), 0) AS collected,
           coalesce(sum(amount_pence) FILTER (WHERE kind = 'refund'), 0) AS refunded
    FROM ledger_entry
    WHERE case_id IN (SELECT id FROM mine) AND kind IN ('payment', 'refund') AND at >= :lo AND at < :hi
    GROUP BY case_id)
SELECT c.assigned_subcontractor_id, a.itl1_cd, GROUPING(c.assigned_subcontractor_id, a.itl1_cd),
       count(*) FILTER (WHERE {OPEN_DURING}),
       coalesce(sum(v.visits), 0)::bigint, coalesce(sum(v.contact), 0)::bigint,
       coalesce(sum(v.verified), 0)::bigint, coalesce(sum(m.collected), 0)::bigint,
       coalesce(sum(m.refunded), 0)::bigint
FROM enforcement_case c JOIN address a ON a.id = c.address_id
LEFT JOIN v ON v.case_id = c.id LEFT JOIN m ON m.case_id = c.id
WHERE c.buyer_id = :buyer
GROUP BY {_SETS}"""

_REASON = "coalesce(nullif(trim(c.return_reason), ''), :no_reason)"
_RETURNS = f"""
SELECT c.assigned_subcontractor_id, a.itl1_cd, GROUPING(c.assigned_subcontractor_id, a.itl1_cd), {_REASON},
       count(*)
FROM enforcement_case c JOIN address a ON a.id = c.address_id
WHERE c.buyer_id = :buyer AND c.returned_at >= :lo AND c.returned_at < :hi
GROUP BY {_REASON}, {_SETS}"""


@dataclass(frozen=True)
class Measures:
    open_cases: int = 0
    visits: int = 0
    contact_visits: int = 0
    gps_verified_visits: int = 0
    collected_pence: int = 0
    refunded_pence: int = 0
    returns: dict[str, int] = field(default_factory=dict)  # reason → cases returned in the month

    @property
    def visits_per_case(self) -> float | None:
        return self.visits / self.open_cases if self.open_cases else None

    @property
    def contact_rate(self) -> float | None:
        return self.contact_visits / self.visits if self.visits else None

    @property
    def returned(self) -> int:
        return sum(self.returns.values())


@dataclass(frozen=True)
class PerformanceLine:
    subcontractor: str | None  # the firm's reference; None: cases with no firm assigned (or every firm)
    subcontractor_name: str | None
    itl1_cd: str | None  # None: addresses in no region (or every region)
    region_name: str | None
    measures: Measures


@dataclass(frozen=True)
class PerformanceReport:
    buyer: str  # reference
    month: date  # its first day
    total: Measures
    by_subcontractor: tuple[PerformanceLine, ...]  # itl1_cd None: every region
    by_region: tuple[PerformanceLine, ...]  # subcontractor None: every firm
    by_subcontractor_region: tuple[PerformanceLine, ...]


def performance_report(db: Session, buyer_id: int, month: date) -> PerformanceReport:
    """The buyer's figures for ``month`` (any day of it): module docstring. Lines are ordered by firm
    reference then region code, the unassigned and unplaced last."""
    params = {**month_params(month), "buyer": buyer_id, "no_reason": NO_REASON}
    reference = db.execute(text("SELECT reference FROM buyer WHERE id = :buyer"), params).scalar()
    if reference is None:
        raise ValueError(f"no buyer with id {buyer_id}")
    returns: dict[tuple[int, int | None, str | None], dict[str, int]] = {}
    for sub, region, grouped, reason, n in db.execute(text(_RETURNS), params):
        returns.setdefault((grouped, sub, region), {})[reason] = n
    measures: dict[tuple[int, int | None, str | None], Measures] = {}
    for sub, region, grouped, *figures in db.execute(text(_MEASURES), params):
        measures[grouped, sub, region] = Measures(*figures, returns=returns.get((grouped, sub, region), {}))
    firms = {i: (ref, name) for i, ref, name in db.execute(text(
        "SELECT id, reference, name FROM subcontractor WHERE id = ANY(:ids)"),
        {"ids": sorted({sub for _, sub, _ in measures if sub is not None})})}
    regions = dict(db.execute(text("SELECT code, name FROM itl1_region")).all())

    def lines(grouped: int) -> tuple[PerformanceLine, ...]:
        # A group of cases with nothing in the month (all closed before it, say) is not a line.
        keyed = [(firms.get(sub, (None, None)), region, m) for (g, sub, region), m in measures.items()
                 if g == grouped and m != Measures()]
        keyed.sort(key=lambda k: (k[0][0] is None, k[0][0] or "", k[1] is None, k[1] or ""))
        return tuple(PerformanceLine(ref, name, region, regions.get(region), m) for (ref, name), region, m in keyed)

    return PerformanceReport(reference, month.replace(day=1), measures.get((_TOTAL, None, None), Measures()),
                             lines(_BY_SUB), lines(_BY_REGION), lines(_BOTH))
