"""Visit evidence as buyers receive it (pure): a GeoJSON FeatureCollection or CSV of evidence rows, and
the part of a row's trail that may be shown to the case's buyer.

Each Feature's geometry is the **stop**: where the phone dwelt, the median of the trail's fixes
between arrival and departure (``EvidenceRecord.stop``). That is the evidence; the case address is in
the properties (``address_line``, ``postcode``) and ``distance_m`` says how far the stop was from it.
A row with no fix of its dwell in its trail (recorded before trails were kept) has a null geometry
(RFC 7946 §3.2) and empty ``lat`` / ``lon`` in CSV. Times are ISO 8601 in UK local time with their offset, to the
second.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core import LONDON
from tracking.evidence_read import EvidenceRecord, TrailFix
from tracking.fixes import Fix
from tracking.stops import detect_stops

EVIDENCE_PROPERTIES = ("case_id", "agent_id", "device_id", "arrival", "departure", "dwell_s", "address_line",
                       "postcode", "distance_m", "fix_count", "median_accuracy_m", "source")
EVIDENCE_COLUMNS = (*EVIDENCE_PROPERTIES, "lat", "lon")


def local_iso(at: datetime) -> str:
    return at.astimezone(LONDON).isoformat(timespec="seconds")


def buyer_trail(record: EvidenceRecord) -> tuple[TrailFix, ...]:
    """The trail without what lies beyond the phone's other stops in it: 15 minutes either side of a
    visit can reach the agent's previous or next door, another case and perhaps another buyer's,
    which this case's buyer must not see (as the plan map shows buyers no route lines). Other stops
    are found in the trail itself, so the cut is the same after the day's fixes are pruned. The record
    must have been read ``with_trail``."""
    if record.trail is None:
        raise ValueError(f"evidence {record.id} was read without its trail")
    if not record.trail:
        return ()
    start, end = record.trail[0].ts, record.trail[-1].ts
    for stop in detect_stops(Fix(f.ts, f.lat, f.lon) for f in record.trail):
        if stop.departure < record.arrival:
            start = max(start, stop.departure)
        elif stop.arrival > record.departure:
            end = min(end, stop.arrival)
    return tuple(f for f in record.trail if start <= f.ts <= end)


def _properties(r: EvidenceRecord) -> dict[str, Any]:
    return {"case_id": r.case_id, "agent_id": r.agent_id, "device_id": r.device_id,
            "arrival": local_iso(r.arrival), "departure": local_iso(r.departure), "dwell_s": r.dwell_s,
            "address_line": r.address_line, "postcode": r.postcode, "distance_m": round(r.distance_m, 1),
            "fix_count": r.fix_count, "median_accuracy_m": r.median_accuracy_m, "source": r.source}


def evidence_geojson(records: Sequence[EvidenceRecord]) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection, one Feature per evidence row (id: the row's id)."""
    features = []
    for r in records:
        at = r.stop
        geometry = None if at is None else {"type": "Point", "coordinates": [round(at[1], 7), round(at[0], 7)]}
        features.append({"type": "Feature", "id": r.id, "geometry": geometry, "properties": _properties(r)})
    return {"type": "FeatureCollection", "features": features}


def evidence_csv(records: Sequence[EvidenceRecord]) -> str:
    """The same rows as CSV, columns ``EVIDENCE_COLUMNS`` (the properties, then the stop's lat, lon)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(EVIDENCE_COLUMNS)
    for r in records:
        props, at = _properties(r), r.stop
        w.writerow([*("" if props[k] is None else props[k] for k in EVIDENCE_PROPERTIES),
                    *(("", "") if at is None else (f"{at[0]:.7f}", f"{at[1]:.7f}"))])
    return out.getvalue()
