"""ANPR: plate reads from vans, the hotlist derived from the law, privacy by design, and what a hit
leads to. The modules, in the order a read meets them:

- ``reads``: the van message form and the vendors' webhook bodies (Plate Recognizer, OpenALPR)
  decoded into one ``PlateRead``, with rejects that name the field and never quote a plate;
- ``pipeline``: one way in for MQTT and webhooks: the device and van checked, every read of a batch
  matched in one round trip;
- ``matching``: tolerant matching (look-alike characters by position, vendor candidates, a dropped
  character) with a score and a threshold;
- ``hotlist`` / ``hotlist_store`` / ``hotlist_entry``: the rule (R-ANPR-24H, R-ANPR-DELETE) written
  once as SQL, the atomic rebuild and the incremental refresh, all audited, and the Redis hash (plus
  its dropped-character index) a read is looked up in; ``admission``: admitting the clocks that ran
  out, rebuilding a hotlist Redis lost, and holding ingest until then;
- ``store``: hits and sightings kept, every other read only counted, dead letters without payloads
  (R-ANPR-PRIVACY); ``consumer``: the MQTT worker (core's ``BatchWorker``);
- ``alerts``: each new sighting to the nearest available agent (Redis GEOSEARCH over the live
  positions); ``keeper``: the keeper check through a pluggable provider (R-ANPR-KEEPER); ``offers``:
  confirmed sightings offered to the planner as visits at the place seen (R-ANPR-NOCHASE), through
  dispatch's ``OptionalVisitSource`` protocol; ``sightings_read``: what a buyer may see of its case.

The API and the CLI call ``refresh_cases`` after committing a change to a case, since core may not
import this package.
"""

from anpr_ingest.admission import (
    ADMIT_EVERY_S,
    HotlistUnavailable,
    admit_once,
    require_hotlist,
)
from anpr_ingest.alerts import (
    ALERT_QOS,
    NOT_ACTIONABLE,
    AgentCandidate,
    Alert,
    SightingAlert,
    alert_topic,
    alerts_geojson,
    choose_agent,
    raise_alerts,
    read_alerts,
)
from anpr_ingest.consumer import GROUP as ANPR_GROUP
from anpr_ingest.consumer import AnprIngestConfig, AnprIngestWorker, Totals, digest_key
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
from anpr_ingest.hotlist_store import ADMITTED_KEY as HOTLIST_ADMITTED_KEY
from anpr_ingest.hotlist_store import DROPPED_KEY as HOTLIST_DROPPED_KEY
from anpr_ingest.hotlist_store import LIVE_KEY as HOTLIST_KEY
from anpr_ingest.hotlist_store import (
    HotlistEntry,
    lookup,
    lookup_dropped_many,
    lookup_many,
    read_all,
    read_dropped,
)
from anpr_ingest.keeper import (
    PAYMENT_OPTION_EVENT,
    KeeperCheckProvider,
    KeeperOutcome,
    LocalKeeperCheck,
    record_keeper_check,
)
from anpr_ingest.matching import Match, deletion_keys, match, readings
from anpr_ingest.offers import SightingOffer, SightingOffers
from anpr_ingest.pipeline import TOPIC as ANPR_TOPIC
from anpr_ingest.pipeline import (
    Incoming,
    Taken,
    match_reads,
    take_van_messages,
    take_webhook,
)
from anpr_ingest.reads import (
    Candidate,
    DecodedReads,
    PlateRead,
    ReadReject,
    decode_openalpr,
    decode_platerecognizer,
    decode_van_message,
)
from anpr_ingest.sightings_read import (
    SightingRecord,
    read_case_sightings,
    sightings_geojson,
)
from anpr_ingest.store import SIGHTING_WINDOW, AnprStore, Letter, VanRead, Written

__all__ = [
    "ADD_RULE",
    "ADMIT_EVERY_S",
    "ALERT_QOS",
    "ANPR_GROUP",
    "ANPR_TOPIC",
    "HOTLIST_ADMITTED_KEY",
    "HOTLIST_DROPPED_KEY",
    "HOTLIST_KEY",
    "NOT_ACTIONABLE",
    "PAYMENT_OPTION_EVENT",
    "REASON_RULES",
    "SIGHTING_WINDOW",
    "AgentCandidate",
    "Alert",
    "AnprIngestConfig",
    "AnprIngestWorker",
    "AnprStore",
    "Candidate",
    "Change",
    "DecodedReads",
    "Derived",
    "HotlistEntry",
    "HotlistUnavailable",
    "Incoming",
    "KeeperCheckProvider",
    "KeeperOutcome",
    "Letter",
    "LocalKeeperCheck",
    "Match",
    "PlateRead",
    "ReadReject",
    "RebuildReport",
    "SightingAlert",
    "SightingOffer",
    "SightingOffers",
    "SightingRecord",
    "Taken",
    "Totals",
    "VanRead",
    "Written",
    "admit_due",
    "admit_once",
    "alert_topic",
    "alerts_geojson",
    "choose_agent",
    "decode_openalpr",
    "decode_platerecognizer",
    "decode_van_message",
    "deletion_keys",
    "derive",
    "digest_key",
    "lookup",
    "lookup_dropped_many",
    "lookup_many",
    "match",
    "match_reads",
    "raise_alerts",
    "read_alerts",
    "read_all",
    "read_case_sightings",
    "read_dropped",
    "readings",
    "rebuild_hotlist",
    "record_keeper_check",
    "refresh_cases",
    "refresh_vehicles",
    "require_hotlist",
    "sightings_geojson",
    "take_van_messages",
    "take_webhook",
]
