"""GPS visit evidence for buyers and the office [R-VISIT-EVIDENCE]: ``GET /cases/{id}/evidence``,
``GET /evidence?from=&to=&region=`` and the buyer's evidence map ``GET /maps/cases/{id}``.

A buyer sees its own cases' evidence only (another buyer's case is a 404, as for every case route), and
every read it makes is audited; admins, dispatchers and regional managers see every buyer's. Agents
have no evidence routes: their own phone made it. The two data routes answer GeoJSON (one Point per
evidence row, at the stop: ``tracking.evidence_view``), or CSV of the same columns plus ``lat`` and
``lon`` when the client asks for ``text/csv`` in ``Accept``.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from anpr_ingest import read_case_sightings
from api.checks import check_region, invalid
from api.deps import DB, OfficeStaffOrBuyer, audit_buyer_view
from api.errors import SIGNED_IN, error, errors, not_found_404
from api.geojson import GEOJSON, GeoJSONResponse
from api.schemas.common import CaseId, DayOrMoment, RegionQuery
from api.schemas.evidence import EvidenceCollection
from core import LONDON, case_in_scope
from dashboards import evidence_map_html
from tracking import (
    EVIDENCE_COLUMNS,
    EvidenceRecord,
    day_bounds,
    evidence_csv,
    evidence_geojson,
    read_case_place,
    read_evidence,
)

router = APIRouter(tags=["evidence"], responses=errors(*SIGNED_IN))

CSV = "text/csv"
# A month of a buyer's visits is its usual report; a longer range is asked month by month. The office
# asking for every buyer's month at national scale (some 30,000 visits a day) is also held to a number
# of rows, so that one answer (built whole, GeoJSON or CSV) stays a size a server and a spreadsheet
# both handle: a region or a shorter range then splits it.
MAX_RANGE_DAYS = 31
MAX_ROWS = 50_000
NO_CASE = error(404, "no such case in the caller's buyer scope")
_CSV_EXAMPLE = (",".join(EVIDENCE_COLUMNS) + "\r\n"
                "1042,7,phone-a7,2026-03-02T09:00:34+00:00,2026-03-02T09:05:34+00:00,300,"
                "\"12 Royal Parade, Plymouth\",PL1 1EA,8.4,31,12.0,fixes,50.3712900,-4.1371200\r\n")
EVIDENCE_200 = {200: {"description": "a FeatureCollection, one Point per evidence row at the stop; CSV of "
                                     "the same columns plus lat and lon with Accept: text/csv",
                      "content": {GEOJSON: {}, CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}}}}


def wants_csv(accept: str | None) -> bool:
    """Whether ``Accept`` prefers CSV (q-values, RFC 9110 §12.5.1): CSV named with a higher weight than
    GeoJSON or JSON, and at least the weight of any wildcard; GeoJSON otherwise, and with no ``Accept``."""
    csv_q = json_q = any_q = 0.0
    for part in (accept or "").split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media in (CSV, "text/*"):
            csv_q = max(csv_q, q)
        elif media in (GEOJSON, "application/json"):
            json_q = max(json_q, q)
        elif media in ("application/*", "*/*"):
            any_q = max(any_q, q)
    return csv_q > 0 and csv_q > json_q and csv_q >= any_q


def _answer(request: Request, records: list[EvidenceRecord], filename: str) -> Response:
    headers = {"Vary": "Accept"}
    if wants_csv(request.headers.get("accept")):
        return Response(evidence_csv(records), media_type=f"{CSV}; charset=utf-8",
                        headers={**headers, "Content-Disposition": f'attachment; filename="{filename}.csv"'})
    return GeoJSONResponse(evidence_geojson(records), headers=headers)


def _format(request: Request) -> str:
    return "csv" if wants_csv(request.headers.get("accept")) else "geojson"


@router.get("/cases/{case_id}/evidence", response_class=GeoJSONResponse, response_model=EvidenceCollection,
            responses={**EVIDENCE_200, **NO_CASE})
def get_case_evidence(case_id: CaseId, request: Request, db: DB, principal: OfficeStaffOrBuyer) -> Response:
    """Every GPS stop matched to the case (of linked warrants, to the group's leading case), oldest
    first: the agent and phone, arrival, departure and dwell, the address and postcode, the distance
    from it, the fix count and median accuracy, and the source."""
    with not_found_404():
        case_in_scope(db, case_id, principal.buyer_scope)
    records = read_evidence(db, case_id=case_id, buyer_id=principal.buyer_scope)
    audit_buyer_view(db, principal, "case.evidence", f"case:{case_id}",
                     {"results": len(records), "format": _format(request)})
    return _answer(request, records, f"evidence-case-{case_id}")


def _instants(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """The range as instants [lo, hi): a day ``from`` starts at its UK midnight, a day ``to`` includes
    itself, an instant ``to`` is excluded."""
    lo = start if isinstance(start, datetime) else day_bounds(start)[0]
    hi = end if isinstance(end, datetime) else day_bounds(end)[1]
    if lo >= hi:  # an empty range is never what was meant: from 3 March to 2 March, say
        raise invalid(("query", "from"), f"must be before to: the range runs from {lo.isoformat()} "
                                         f"to {hi.isoformat()}", start)
    first, last = lo.astimezone(LONDON).date(), (hi - timedelta(microseconds=1)).astimezone(LONDON).date()
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise invalid(("query", "to"), f"the range covers {(last - first).days + 1} days (UK calendar); "
                                       f"at most {MAX_RANGE_DAYS}", end)
    return lo, hi


@router.get("/evidence", response_class=GeoJSONResponse, response_model=EvidenceCollection,
            responses=EVIDENCE_200)
def get_evidence(request: Request, db: DB, principal: OfficeStaffOrBuyer,
                 start: Annotated[DayOrMoment, Query(alias="from", description=(
                     "a UK day YYYY-MM-DD (from its midnight) or a date-time with its offset"))],
                 end: Annotated[DayOrMoment, Query(alias="to", description=(
                     "a UK day YYYY-MM-DD (included) or a date-time with its offset (excluded); "
                     f"at most {MAX_RANGE_DAYS} days after from, and {MAX_ROWS} rows"))],
                 region: RegionQuery = None) -> Response:
    """The GPS evidence of stops that arrived in the range, oldest first, at case addresses in ITL1
    ``region`` when given: a buyer's own cases, or every buyer's for the office."""
    lo, hi = _instants(start, end)
    check_region(db, region, ("query", "region"))
    records = read_evidence(db, buyer_id=principal.buyer_scope, start=lo, end=hi, region=region,
                            limit=MAX_ROWS + 1)
    if len(records) > MAX_ROWS:
        raise invalid(("query", "to"), f"the range holds more than {MAX_ROWS} evidence rows: give a shorter "
                                       "range or a region", end)
    audit_buyer_view(db, principal, "evidence.search", None,
                     {"from": lo.isoformat(), "to": hi.isoformat(), "region": region, "results": len(records),
                      "format": _format(request)})
    return _answer(request, records, f"evidence-{lo.astimezone(LONDON):%Y%m%d}-"
                                     f"{(hi - timedelta(microseconds=1)).astimezone(LONDON):%Y%m%d}")


@router.get("/maps/cases/{case_id}", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "the evidence map (Leaflet inlined)"},
                       **NO_CASE})
def get_evidence_map(case_id: CaseId, db: DB, principal: OfficeStaffOrBuyer) -> HTMLResponse:
    """The case's evidence on a map: the case address, and each GPS stop with the agent's trail around
    it (cut at the phone's other stops) and a popup with arrival, departure, dwell, address and
    postcode, in UK local time; and the ANPR sightings of the case's vehicles where last read."""
    with not_found_404():
        case_in_scope(db, case_id, principal.buyer_scope)
    place = read_case_place(db, case_id)
    records = read_evidence(db, case_id=case_id, buyer_id=principal.buyer_scope, with_trail=True)
    sightings = read_case_sightings(db, case_id)
    audit_buyer_view(db, principal, "case.evidence_map", f"case:{case_id}",
                     {"results": len(records), "sightings": len(sightings)})
    return HTMLResponse(evidence_map_html(place, records, sightings))
