"""The buyer's evidence map of one case (``GET /maps/cases/{id}``, and ``make demo`` writes one): the
case address (a marker with the address and postcode), and for each GPS stop matched to it (a
``visit_evidence`` row) the agent's trail over the visit and a numbered stop marker whose popup gives
the arrival, departure, dwell, and the address with its postcode; times in UK local time with their
offset. ANPR sightings of the case's vehicles are drawn where they were last read.

Nothing of other cases or agents is drawn: the stops are this case's evidence, and each trail is its
row's own excerpt cut at the phone's other stops (``tracking.buyer_trail``), so it shows the approach
and the departure but not the agent's previous or next door. The trail is the one kept on the evidence
row, so the map is the same after the day's fixes are pruned. Leaflet is inlined (``plan_map``)."""
from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

import folium

from anpr_ingest import SightingRecord
from core import LONDON
from dashboards.plan_map import self_contained_html
from tracking import CasePlace, EvidenceRecord, buyer_trail

__all__ = ["CASE_COLOUR", "SIGHTING_COLOUR", "STOP_COLOURS", "evidence_map", "evidence_map_html"]

CASE_COLOUR = "#d62728"
SIGHTING_COLOUR = "#e6a700"
# One colour per visit (a case is visited a few times, on different days): its trail and stop marker.
STOP_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#393b79")
STREET_ZOOM = 17


def when(at: datetime) -> str:
    """``09:00:34 GMT (+00:00), Mon 2 Mar 2026``: UK local time, its zone and offset."""
    local = at.astimezone(LONDON)
    return f"{local:%H:%M:%S} {local.tzname()} ({local.isoformat()[-6:]}), {local:%a} {local.day} {local:%b %Y}"


def dwell(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _address(line: str, postcode: str) -> str:
    return f"{html.escape(line)}<br>{html.escape(postcode)}"


def _stop_popup(n: int, r: EvidenceRecord, placed: bool) -> str:
    accuracy = "" if r.median_accuracy_m is None else f", median accuracy {r.median_accuracy_m:.0f} m"
    return (f"<b>Visit {n}</b> (agent {r.agent_id})<br>Arrived {when(r.arrival)}<br>Left {when(r.departure)}"
            f"<br>Dwell {dwell(r.dwell_s)}<br>{_address(r.address_line, r.postcode)}"
            f"<br>{r.distance_m:.0f} m from the address; {r.fix_count} GPS fixes{accuracy}"
            + ("" if placed else "<br><i>The stop's own position was not kept: shown at the address.</i>"))


def _icon(css_class: str, data: str, colour: str, label: str, size: int) -> folium.DivIcon:
    return folium.DivIcon(
        html=f'<div class="{css_class}" {data} style="background:{colour};color:#fff;border-radius:50%;'
             f'width:{size}px;height:{size}px;line-height:{size - 4}px;text-align:center;'
             f'font:bold 11px sans-serif;border:2px solid #fff;box-shadow:0 0 2px #000">{label}</div>',
        icon_size=(size, size), icon_anchor=(size // 2, size // 2))


def _pin(case_id: int) -> folium.DivIcon:
    # A pin whose tip is on the address, so a stop at the door (a circle centred on its point) leaves
    # it in sight.
    return folium.DivIcon(
        html=f'<div class="evidence-case" data-case="{case_id}" style="width:22px;height:22px;'
             f'background:{CASE_COLOUR};border:2px solid #fff;border-radius:50% 50% 50% 0;'
             'transform:rotate(-45deg);box-shadow:0 0 2px #000"></div>',
        icon_size=(26, 26), icon_anchor=(13, 30))


def _sighting_popup(r: SightingRecord) -> str:
    keeper = ("no keeper check yet: not actionable (R-ANPR-KEEPER)" if r.keeper_result is None
              else f"keeper check: {html.escape(r.keeper_result.replace('_', ' '))}")
    return (f"<b>ANPR sighting</b> of {html.escape(r.vrm)} by van {html.escape(r.van)}<br>"
            f"First read {when(r.first_seen_at)}<br>Last read {when(r.last_seen_at)}<br>"
            f"{r.reads} read{'s' if r.reads != 1 else ''}, best match score {r.best_score:.2f}<br>{keeper}")


def _legend(visits: int, sightings: int) -> folium.Element:
    swatch = ('<span style="display:inline-block;width:12px;height:12px;border-radius:50%;background:{};'
              'margin-right:6px;vertical-align:middle"></span>')
    return folium.Element(
        '<div class="evidence-legend" style="position:fixed;bottom:28px;right:12px;z-index:1000;'
        'background:#fff;padding:6px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif">'
        f'<div>{swatch.format(CASE_COLOUR)}Case address</div>'
        f'<div>{swatch.format(STOP_COLOURS[0])}GPS stop, numbered in time order, and the trail around it '
        f'({visits} visit{"s" if visits != 1 else ""})</div>'
        + (f'<div>{swatch.format(SIGHTING_COLOUR)}ANPR sighting of the case\'s vehicle, where it was last '
           f'read ({sightings})</div>' if sightings else '')
        + '<div style="margin-top:4px;color:#555">Times: UK local (Europe/London)</div></div>')


def evidence_map(place: CasePlace, evidence: Sequence[EvidenceRecord],
                 sightings: Sequence[SightingRecord] = ()) -> folium.Map:
    """The case's evidence as a folium map (module docstring); ``evidence`` in time order, read with
    their trails; ``sightings``: what ANPR recorded of the case's vehicles (those with a position are
    drawn where last read)."""
    home = (place.lat, place.lon)
    fmap = folium.Map(location=home, zoom_start=STREET_ZOOM, tiles="OpenStreetMap", control_scale=True)
    folium.Marker(home, icon=_pin(place.case_id),
                  tooltip=f"Case {place.case_id}",
                  popup=folium.Popup(f"<b>Case {place.case_id}</b><br>{_address(place.address_line, place.postcode)}",
                                     max_width=300)).add_to(fmap)
    bounds = [home]
    for n, r in enumerate(evidence, start=1):
        colour = STOP_COLOURS[(n - 1) % len(STOP_COLOURS)]
        trail = [(f.lat, f.lon) for f in buyer_trail(r)]
        if len(trail) > 1:
            folium.PolyLine(trail, color=colour, weight=3, opacity=0.8, class_name="evidence-trail",
                            tooltip=f"Visit {n}: trail").add_to(fmap)
            bounds += trail
        at = r.stop
        folium.Marker(at or home, icon=_icon("evidence-stop", f'data-evidence="{r.id}"', colour, str(n), 24),
                      tooltip=f"Visit {n}",
                      popup=folium.Popup(_stop_popup(n, r, at is not None), max_width=320)).add_to(fmap)
    for r in sightings:
        if r.lon is None:
            continue
        folium.Marker((r.lat, r.lon), icon=_icon("anpr-sighting", f'data-sighting="{r.id}"', SIGHTING_COLOUR, "A", 22),
                      tooltip=f"ANPR sighting {r.id}",
                      popup=folium.Popup(_sighting_popup(r), max_width=320)).add_to(fmap)
        bounds.append((r.lat, r.lon))
    fmap.get_root().html.add_child(_legend(len(evidence), sum(r.lon is not None for r in sightings)))
    if len(bounds) > 1:
        lats, lons = [b[0] for b in bounds], [b[1] for b in bounds]
        fmap.fit_bounds([(min(lats), min(lons)), (max(lats), max(lons))], padding=(30, 30), max_zoom=STREET_ZOOM)
    return fmap


def evidence_map_html(place: CasePlace, evidence: Sequence[EvidenceRecord],
                      sightings: Sequence[SightingRecord] = ()) -> str:
    """The map as one HTML page, Leaflet inlined."""
    return self_contained_html(evidence_map(place, evidence, sightings))
