"""ANPR plate reads: the MQTT consumer for vans, VRM normalisation, the hotlist derived from case state
(R-ANPR-24H, R-ANPR-DELETE), matching, hits, the keeper-check workflow (R-ANPR-KEEPER) and alerts.

So far the hotlist (``hotlist``: the rule, written once as SQL, the full rebuild and the incremental
refresh, all audited; ``hotlist_store``: its Redis hash, one ``HGET`` per plate). The API and the CLI
call ``refresh_cases`` after committing a change to a case, since core may not import this package.
"""

from anpr_ingest.hotlist import (
    ADD_RULE,
    REASON_RULES,
    Change,
    Derived,
    RebuildReport,
    admit_due,
    derive,
    rebuild_hotlist,
    refresh_cases,
    refresh_vehicles,
)
from anpr_ingest.hotlist_store import LIVE_KEY as HOTLIST_KEY
from anpr_ingest.hotlist_store import HotlistEntry, lookup, read_all

__all__ = [
    "ADD_RULE", "HOTLIST_KEY", "REASON_RULES", "Change", "Derived", "HotlistEntry", "RebuildReport", "admit_due",
    "derive", "lookup", "read_all", "rebuild_hotlist", "refresh_cases", "refresh_vehicles",
]
