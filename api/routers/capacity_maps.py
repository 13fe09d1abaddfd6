"""The capacity map of a month (``GET /maps/capacity?month=&buyer=``): H3 hexagons of open cases,
evidenced visits, GPS presence and under-served hexagons over the ITL1 regions (``dashboards``'
``capacity_map_html`` on ``regions``' figures) [000 §1.8, §2.94].

The office (admins, dispatchers, regional managers) sees every buyer by name and may put one in focus
with ``buyer``. A buyer sees its own cases in focus and every other client summed as "other clients";
its ``buyer`` may only be its own reference (any other is a 404, whether or not that buyer exists),
and every map it reads is audited."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DB, OfficeStaffOrBuyer, Principal, audit_buyer_view
from api.errors import SIGNED_IN, error, errors
from api.schemas.common import Month, Text
from core.models import Buyer
from dashboards import capacity_map_html
from regions import capacity_view, hex_figures, region_outlines

router = APIRouter(tags=["regions"], responses=errors(*SIGNED_IN))


def _focus(db: Session, principal: Principal, reference: str | None) -> int | None:
    """The buyer in focus: a buyer's own (``reference`` must be its own, if given); for the office the
    buyer named, or none."""
    if principal.is_buyer:
        own = db.scalar(select(Buyer.reference).where(Buyer.id == principal.buyer_id))
        if reference is not None and reference != own:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"buyer {reference!r} not found")
        return principal.buyer_id
    if reference is None:
        return None
    buyer_id = db.scalar(select(Buyer.id).where(Buyer.reference == reference))
    if buyer_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"buyer {reference!r} not found")
    return buyer_id


@router.get("/maps/capacity", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "the capacity map (Leaflet inlined)"},
                       **error(404, "no such buyer, or (for a buyer) another buyer's reference")})
def get_capacity_map(db: DB, principal: OfficeStaffOrBuyer,
                     month: Annotated[Month, Query(description="the month, YYYY-MM (UK calendar)")],
                     buyer: Annotated[Text | None, Query(description=(
                         "a buyer's reference to put in focus (staff); a buyer may give only its own"))] = None
                     ) -> HTMLResponse:
    """The month's capacity on a map of H3 hexagons, coarser or finer with the zoom: open cases,
    evidenced visits, GPS presence in agent-hours, and the hexagons where the buyer's open cases get
    under half the visits its regional rate expects (at least 5 cases); the ITL1 regions outlined."""
    focus = _focus(db, principal, buyer)
    view = capacity_view(hex_figures(db, month), focus_buyer_id=focus, others_named=not principal.is_buyer)
    audit_buyer_view(db, principal, "capacity.map", f"buyer:{principal.buyer_id}",
                     {"month": f"{month:%Y-%m}", "hexes": len(view.hexes[min(view.hexes)]),
                      "under_served": sum(bool(h.under_served) for h in view.hexes[min(view.hexes)])})
    return HTMLResponse(capacity_map_html(view, region_outlines(db)))
