"""Regional capacity and non-deprioritisation analytics: caseload and agent time per ITL1 region and
buyer, H3 aggregation and the monthly reports buyers are owed ([000 §1.8, §2.94]). For now, the
caseload summary; the regions issue adds the rest."""
from regions.summary import CaseloadSummary, RegionLine, caseload_summary

__all__ = ["CaseloadSummary", "RegionLine", "caseload_summary"]
