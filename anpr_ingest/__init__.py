"""ANPR plate reads: the MQTT consumer for vans, VRM normalisation, the hotlist derived from case state
(R-ANPR-24H, R-ANPR-DELETE), matching, hits, the keeper-check workflow (R-ANPR-KEEPER) and alerts.

So far: the hotlist (``hotlist``: the rule, written once as SQL, the full rebuild and the incremental
refresh, all audited; ``hotlist_store``: its Redis hash, one ``HGET`` per plate); decoding plate reads
from vans, Plate Recognizer and OpenALPR into one form (``reads``); and matching them against the
hotlist, tolerant of OCR's look-alike and dropped characters (``matching``). The API and the CLI
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
from anpr_ingest.matching import Match, deletion_keys, match, readings
from anpr_ingest.reads import (
    Candidate,
    DecodedReads,
    PlateRead,
    ReadReject,
    decode_openalpr,
    decode_platerecognizer,
    decode_van_message,
)

__all__ = [
    "ADD_RULE", "HOTLIST_KEY", "REASON_RULES", "Candidate", "Change", "DecodedReads", "Derived", "HotlistEntry",
    "Match", "PlateRead", "ReadReject", "RebuildReport", "admit_due", "decode_openalpr", "decode_platerecognizer",
    "decode_van_message", "deletion_keys", "derive", "lookup", "match", "read_all", "readings", "rebuild_hotlist",
    "refresh_cases", "refresh_vehicles",
]
