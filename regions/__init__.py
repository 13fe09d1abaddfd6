"""Regional capacity and non-deprioritisation analytics: caseload and agent time per ITL1 region and
buyer, H3 aggregation and the monthly reports buyers are owed ([000 §1.8, §2.94]).

Filled by the regions issue; nothing here yet.
"""
