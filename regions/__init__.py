"""Regional capacity and non-deprioritisation analytics: caseload and agent time per ITL1 region and
buyer, H3 aggregation and the monthly reports buyers are owed ([000 §1.8, §2.94]).

- ``summary``: cases per region and buyer, and active agents per region (``caseload_summary``);
- ``declarations``: subcontractors' declared work outside the platform (``declare``, ``declarations``);
- ``capacity``: the month's [000 §1.8] table, agent time from GPS and the deprioritisation index with
  its interval and flags, overall, per priority class and week by week (``capacity_report``), built on
  ``sql`` (the set-based CTEs), ``index`` (the index and its bootstrap, pure) and ``period``;
- ``explain``: the rows behind each figure (``explain``).
"""
from regions.capacity import (
    OUTSIDE,
    CapacityReport,
    IndexLine,
    SubcontractorLine,
    TableLine,
    WeekLine,
    capacity_report,
    regions_flagged,
)
from regions.declarations import (
    DeclarationError,
    Declared,
    declarations,
    declare,
    month_start,
)
from regions.explain import MEASURES, Explanation, explain
from regions.index import IndexEstimate, index_estimates
from regions.period import Period, PeriodError, month_period
from regions.summary import CaseloadSummary, RegionLine, caseload_summary

__all__ = [
    "MEASURES", "Explanation", "explain",
    "OUTSIDE", "CapacityReport", "IndexEstimate", "IndexLine", "Period", "PeriodError", "SubcontractorLine",
    "TableLine", "WeekLine", "capacity_report", "index_estimates", "month_period", "regions_flagged",
    "CaseloadSummary",
    "DeclarationError",
    "Declared",
    "RegionLine",
    "caseload_summary",
    "declarations",
    "declare",
    "month_start",
]
