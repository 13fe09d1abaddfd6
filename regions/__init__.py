"""Regional capacity and non-deprioritisation analytics: caseload and agent time per ITL1 region and
buyer, H3 aggregation and the monthly reports buyers are owed ([000 §1.8, §2.94, §1.136]).

- ``summary``: cases per region and buyer, and active agents per region (``caseload_summary``);
- ``declarations``: subcontractors' declared work outside the platform (``declare``, ``declarations``);
- ``months``: a reporting month, ``YYYY-MM``, and its bounds in UK time (``parse_month``, ``month_bounds``);
- ``hexes``: a month's open cases, evidenced visits and GPS agent-hours per H3 hexagon at the capacity
  map's resolutions (``hex_figures``);
- ``hex_view``: what one viewer may see of them (a buyer sees other clients only summed) and the
  under-served hexagons (``capacity_view``);
- ``outlines``: the ITL1 regions' boundaries, simplified for a map (``region_outlines``);
- ``performance``: a buyer's month per subcontractor and region: visits per case, contact rate,
  collected, returns by reason (``performance_report``).
"""
from regions.declarations import (
    DeclarationError,
    Declared,
    declarations,
    declare,
    month_start,
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
from regions.months import month_bounds, parse_month
from regions.outlines import RegionOutline, region_outlines
from regions.performance import (
    NO_REASON,
    Measures,
    PerformanceLine,
    PerformanceReport,
    performance_report,
)
from regions.summary import CaseloadSummary, RegionLine, caseload_summary

__all__ = [
    "FINEST",
    "MIN_CASES",
    "NO_REASON",
    "OTHER_CLIENTS",
    "RESOLUTIONS",
    "UNDER_SERVED_SHARE",
    "CapacityView",
    "CaseloadSummary",
    "DeclarationError",
    "Declared",
    "HexFigures",
    "HexTally",
    "HexView",
    "Measures",
    "PerformanceLine",
    "PerformanceReport",
    "RegionLine",
    "RegionOutline",
    "UnderServed",
    "capacity_view",
    "caseload_summary",
    "declarations",
    "declare",
    "expected_visits",
    "hex_figures",
    "month_bounds",
    "month_start",
    "parse_month",
    "performance_report",
    "region_outlines",
    "regional_rates",
]
