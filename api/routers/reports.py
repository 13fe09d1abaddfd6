"""``GET /reports/capacity``: a buyer's monthly capacity report with its performance figures, as a
file [000 §1.8, §1.136]."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select

from api.checks import invalid
from api.deps import DB, OfficeStaffOrBuyer, audit_buyer_view
from api.errors import SIGNED_IN, errors
from core.models import Buyer
from regions import (
    FORMATS,
    MEDIA_TYPES,
    PeriodError,
    buyer_report,
    month_period,
    render,
)

router = APIRouter(prefix="/reports", tags=["regions"], responses=errors(*SIGNED_IN))


@router.get("/capacity", response_class=Response, responses={
    200: {"content": {MEDIA_TYPES["html"]: {}, MEDIA_TYPES["xlsx"]: {}},
          "description": "the report, as an HTML page or an XLSX workbook"}, **errors(404)})
def capacity_report_file(
    month: Annotated[str, Query(description="the month, YYYY-MM")], db: DB, principal: OfficeStaffOrBuyer,
    buyer: Annotated[str | None, Query(description="the buyer's reference; a buyer user's own by default")] = None,
    format: Annotated[str, Query(description="html or xlsx")] = "html",
) -> Response:
    """The buyer's capacity report for the month: the [000 §1.8] table per region and subcontractor, the
    deprioritisation index with its interval and flags, the weekly trend, the chart, and the
    self-serve performance figures [000 §1.136]. A buyer reads only its own (another's is a 404);
    staff name the buyer. Each buyer view is audited."""
    try:
        period = month_period(month)
    except PeriodError as exc:
        raise invalid(("query", "month"), exc.message, month) from None
    if format not in FORMATS:
        raise invalid(("query", "format"), f"must be one of {', '.join(FORMATS)}", format)
    if buyer is None and not principal.is_buyer:
        raise invalid(("query", "buyer"), "staff must name the buyer whose report to prepare", None)
    row = (db.execute(select(Buyer.id, Buyer.reference, Buyer.name).where(Buyer.reference == buyer)).one_or_none()
           if buyer is not None else db.execute(select(Buyer.id, Buyer.reference, Buyer.name)
                                                 .where(Buyer.id == principal.buyer_id)).one())
    if row is None or (principal.is_buyer and row.id != principal.buyer_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no buyer {buyer!r}")
    body = render(buyer_report(db, period, row.id, row.reference, row.name), format)
    audit_buyer_view(db, principal, "view", "report.capacity", {"month": period.label, "format": format})
    filename = f"capacity_{row.reference}_{period.label}.{format}"
    disposition = "inline" if format == "html" else "attachment"
    return Response(body, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'{disposition}; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})
