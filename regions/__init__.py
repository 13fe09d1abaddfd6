"""Regional capacity and non-deprioritisation analytics: caseload and agent time per ITL1 region and
buyer, H3 aggregation and the monthly reports buyers are owed ([000 §1.8, §2.94]).

- ``summary``: cases per region and buyer, and active agents per region (``caseload_summary``);
- ``declarations``: subcontractors' declared work outside the platform (``declare``, ``declarations``).
"""
from regions.declarations import (
    DeclarationError,
    Declared,
    declarations,
    declare,
    month_start,
)
from regions.summary import CaseloadSummary, RegionLine, caseload_summary

__all__ = [
    "CaseloadSummary",
    "DeclarationError",
    "Declared",
    "RegionLine",
    "caseload_summary",
    "declarations",
    "declare",
    "month_start",
]
