"""Regional capacity and non-deprioritisation analytics: caseload and agent time per ITL1 region and
buyer, H3 aggregation and the monthly reports buyers are owed ([000 §1.8, §2.94, §1.136]).

- ``summary``: cases per region and buyer, and active agents per region (``caseload_summary``);
- ``outside_work``: subcontractors' declared work outside the platform (``declare``, ``declarations``);
- ``capacity``: the month's [000 §1.8] table, agent time from GPS and the deprioritisation index with
  its interval and flags, overall, per priority class and week by week (``capacity_report``), built on
  ``sql`` (the set-based CTEs), ``index`` (the index and its bootstrap, pure) and ``period``;
- ``provenance``: the rows behind each figure (``explain``);
- ``hexes``: a month's open cases, evidenced visits and GPS agent-hours per H3 hexagon at the capacity
  map's resolutions (``hex_figures``; ``month_sql``: which cases a month counts);
- ``hex_view``: what one viewer may see of them (a buyer sees other clients only summed) and the
  under-served hexagons (``capacity_view``);
- ``outlines``: the ITL1 regions' boundaries, simplified for a map (``region_outlines``);
- ``performance``: a buyer's month per subcontractor and region: visits per case, contact rate,
  collected, returns by reason (``performance_report``).
- ``report``: one buyer's monthly report as HTML or XLSX with its chart (``buyer_report``, ``render``).
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
from regions.hex_view import (
    MIN_CASES,
    OTHER_CLIENTS,
    UNDER_SERVED_SHARE,
    CapacityView,
    HexView,
    UnderServed,
    capacity_view,
    expected_visits,
    regional_rates,
)
from regions.hexes import FINEST, RESOLUTIONS, HexFigures, HexTally, hex_figures
from regions.index import IndexEstimate, index_estimates
from regions.outlines import RegionOutline, region_outlines
from regions.outside_work import (
    DeclarationError,
    Declared,
    declarations,
    declare,
    month_start,
)
from regions.performance import (
    NO_REASON,
    Measures,
    PerformanceLine,
    PerformanceReport,
    performance_report,
)
from regions.period import Period, PeriodError, month_period
from regions.provenance import MEASURES, Explanation, explain
from regions.report import FORMATS, MEDIA_TYPES, BuyerReport, buyer_report, render
from regions.summary import CaseloadSummary, RegionLine, caseload_summary

__all__ = [
    "FINEST",
    "FORMATS",
    "MEASURES",
    "MEDIA_TYPES",
    "MIN_CASES",
    "NO_REASON",
    "OTHER_CLIENTS",
    "OUTSIDE",
    "RESOLUTIONS",
    "UNDER_SERVED_SHARE",
    "BuyerReport",
    "CapacityReport",
    "CapacityView",
    "CaseloadSummary",
    "DeclarationError",
    "Declared",
    "Explanation",
    "HexFigures",
    "HexTally",
    "HexView",
    "IndexEstimate",
    "IndexLine",
    "Measures",
    "PerformanceLine",
    "PerformanceReport",
    "Period",
    "PeriodError",
    "RegionLine",
    "RegionOutline",
    "SubcontractorLine",
    "TableLine",
    "UnderServed",
    "WeekLine",
    "buyer_report",
    "capacity_report",
    "capacity_view",
    "caseload_summary",
    "declarations",
    "declare",
    "expected_visits",
    "explain",
    "hex_figures",
    "index_estimates",
    "month_period",
    "month_start",
    "performance_report",
    "region_outlines",
    "regional_rates",
    "regions_flagged",
    "render",
]
