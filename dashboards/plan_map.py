"""The plan map dispatchers look at (``GET /maps/plans/{day}``, ``plan-file --map``): one colour and one
layer per agent with its route line and numbered stops, popups with case, buyer, ETA and window in
London local time, dropped visits apart in a grey layer with their reasons, a layer control, a legend
(agent colours, the dropped marker, the time zone), and the view fitted to everything shown.

Each route's line runs from the agent's start (its position, when re-planned) through its stops to its
end, or follows ``route_paths[agent_id]`` when given (a stored or road line). ``route_lines=False``
draws the stops without the agents' lines and home bases: the buyer's view, where a line would reveal
the agent's stops for other buyers and where the agent lives.

``plan_map_html(plan, self_contained=True)`` inlines Leaflet (vendored under ``vendor/leaflet``,
BSD-2-Clause) so the page draws its layers with no internet access (the embedded ``plan-file`` way);
only the background tiles then stay blank.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import folium

from core import LONDON
from dispatch import Plan, PlannedVisit, Point

__all__ = ["plan_map", "plan_map_html", "self_contained_html"]

# Distinct on a light base map; more agents than colours reuse them in order.
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
           "#bcbd22", "#393b79", "#637939", "#843c39")
DROPPED_COLOUR = "#7f7f7f"
LEAFLET_DIR = Path(__file__).parent / "vendor" / "leaflet"  # the Leaflet version folium loads: 1.9.3
# folium builds each popup's content with jQuery as ``$(`<div…>`)[0]``; offline, with jQuery's CDN out
# of reach, this stands in for exactly that use (a real jQuery, when it loads, is left alone).
_JQUERY_SHIM = ("window.$ = window.$ || function (markup) { const t = document.createElement('template');"
                " t.innerHTML = markup.trim(); return [t.content.firstChild]; };")


def _hm(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%H:%M")


def _visit_popup(v: PlannedVisit) -> str:
    return (f"<b>Case {v.case_id}</b><br>Buyer: {html.escape(v.buyer)}<br>Stop {v.seq}, agent {v.agent_id}"
            f"<br>ETA {_hm(v.eta)}, leaves {_hm(v.etd)}<br>Window {_hm(v.window.start)}–{_hm(v.window.end)}"
            + (f" ({html.escape(v.time_band)})" if v.time_band else ""))


def _stop_icon(seq: int, colour: str) -> folium.DivIcon:
    return folium.DivIcon(
        html=f'<div class="plan-stop" style="background:{colour};color:#fff;border-radius:50%;width:22px;'
             f'height:22px;line-height:22px;text-align:center;font:bold 12px sans-serif;'
             f'border:1px solid #fff">{seq}</div>',
        icon_size=(22, 22), icon_anchor=(11, 11))


def _latlon(p: Point) -> tuple[float, float]:
    return (p.lat, p.lon)  # Leaflet wants (lat, lon), GeoJSON the other way round


def _legend(agents: list[tuple[int, str]], dropped: bool) -> folium.Element:
    swatch = ('<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
              'background:{};margin-right:6px;vertical-align:middle"></span>')
    rows = [f"<div>{swatch.format(colour)}Agent {agent_id}</div>" for agent_id, colour in agents]
    if dropped:
        rows.append(f"<div>{swatch.format(DROPPED_COLOUR)}Dropped (not planned)</div>")
    return folium.Element(
        '<div class="plan-legend" style="position:fixed;bottom:24px;left:12px;z-index:1000;background:#fff;'
        'padding:6px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif;max-height:40%;'
        f'overflow:auto">{"".join(rows)}<div style="margin-top:4px;color:#555">Numbers: stop order. '
        'Times: UK local (Europe/London)</div></div>')


def plan_map(plan: Plan, route_lines: bool = True,
             route_paths: Mapping[int, Sequence[Point]] | None = None) -> folium.Map:
    """The plan as a folium map (module docstring)."""
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    bounds: list[tuple[float, float]] = []
    legend: list[tuple[int, str]] = []
    for i, route in enumerate(plan.routes):
        colour = COLOURS[i % len(COLOURS)]
        legend.append((route.agent_id, colour))
        layer = folium.FeatureGroup(name=f"Agent {route.agent_id} ({len(route.visits)} visits)")
        stops = [_latlon(v.at) for v in route.visits]
        if route_lines:
            shift = route.shift
            path = (route_paths or {}).get(route.agent_id)
            line = [_latlon(p) for p in path] if path is not None else \
                [_latlon(shift.current_at or shift.start_at), *stops, _latlon(shift.end_at)]
            folium.PolyLine(line, color=colour, weight=4, opacity=0.8,
                            tooltip=f"Agent {route.agent_id}: {route.distance_m / 1000:.1f} km, "
                                    f"{_hm(shift.start)}–{_hm(shift.end)}").add_to(layer)
            folium.CircleMarker(_latlon(shift.start_at), radius=7, color=colour, fill=True, fill_opacity=1,
                                tooltip=f"Agent {route.agent_id} base").add_to(layer)
            bounds += line
        for v in route.visits:
            folium.Marker(_latlon(v.at), icon=_stop_icon(v.seq, colour),
                          popup=folium.Popup(_visit_popup(v), max_width=300)).add_to(layer)
        layer.add_to(fmap)
        bounds += stops
    if plan.dropped:
        layer = folium.FeatureGroup(name=f"Dropped ({len(plan.dropped)})")
        for d in plan.dropped:
            folium.CircleMarker(
                _latlon(d.at), radius=6, color=DROPPED_COLOUR, fill=True, fill_color=DROPPED_COLOUR,
                fill_opacity=0.7,
                popup=folium.Popup(f"<b>Case {d.case_id}</b> not planned<br>Buyer: {html.escape(d.buyer)}"
                                   f"<br>Reason: {html.escape(d.reason)}", max_width=300)).add_to(layer)
            bounds.append(_latlon(d.at))
        layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(_legend(legend, bool(plan.dropped)))
    if bounds:
        lats, lons = [b[0] for b in bounds], [b[1] for b in bounds]
        fmap.fit_bounds([(min(lats), min(lons)), (max(lats), max(lons))], padding=(20, 20))
    return fmap


def plan_map_html(plan: Plan, self_contained: bool = False, route_lines: bool = True,
                  route_paths: Mapping[int, Sequence[Point]] | None = None) -> str:
    """The map as one HTML page; ``self_contained`` inlines Leaflet instead of loading it from its CDN."""
    fmap = plan_map(plan, route_lines, route_paths)
    return self_contained_html(fmap) if self_contained else fmap.get_root().render()


def self_contained_html(fmap: folium.Map) -> str:
    """``fmap`` as one HTML page with Leaflet inlined instead of loaded from its CDN."""
    page = fmap.get_root().render()
    js, css = dict(fmap.default_js)["leaflet"], dict(fmap.default_css)["leaflet_css"]
    tags = {f'<script src="{js}"></script>': f"<script>{(LEAFLET_DIR / 'leaflet.js').read_text()}</script>"
                                              f"<script>{_JQUERY_SHIM}</script>",
            f'<link rel="stylesheet" href="{css}"/>': f"<style>{(LEAFLET_DIR / 'leaflet.css').read_text()}</style>"}
    for tag, inline in tags.items():
        if tag not in page:  # a folium upgrade changed Leaflet's URL: re-vendor that version
            raise RuntimeError(f"folium no longer loads Leaflet as {tag}")
        page = page.replace(tag, inline)
    return page

