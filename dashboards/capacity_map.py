"""The capacity map of a month (``GET /maps/capacity``): H3 hexagons of open cases, evidenced visits,
GPS presence (agent-hours) and the under-served hexagons (``regions.capacity_view``), over the ITL1
regions' outlines. Each layer is drawn at the resolution that suits the zoom (``ZOOM_RESOLUTION``): a
small script swaps each layer's hexagons when the map zooms, so a whole-UK view shows a few hundred
coarse hexagons and a town shows its districts. Tooltips give the counts per buyer as the view allows
(a buyer's view names only itself; every other client is summed). Leaflet is inlined (``plan_map``).

Nothing is embedded but what the view holds: each hexagon's feature carries its cell, its value on
its layer, its fill and its tooltip text, no buyer ids."""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import folium
import h3
from branca.element import MacroElement
from jinja2 import Template

from dashboards.plan_map import self_contained_html
from regions import RESOLUTIONS, CapacityView, HexView, RegionOutline

__all__ = ["LAYERS", "ZOOM_RESOLUTION", "capacity_map", "capacity_map_html", "resolution_for_zoom"]

# (highest zoom, resolution): at zoom 7 or less res 5, up to 9 res 6, beyond res 7.
ZOOM_RESOLUTION = ((7, 5), (9, 6), (None, 7))
GB_CENTRE, GB_ZOOM = (54.5, -3.0), 6
REGION_COLOUR = "#444444"
UNDER_SERVED_COLOUR = "#d62728"
# Light to dark, one ramp per layer; a hexagon's step is its value's share of the layer's largest.
RAMPS = {"caseload": ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"),
         "visits": ("#e5f5e0", "#a1d99b", "#74c476", "#31a354", "#006d2c"),
         "presence": ("#efedf5", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f")}


def resolution_for_zoom(zoom: int) -> int:
    return next(res for top, res in ZOOM_RESOLUTION if top is None or zoom <= top)


def _counts(rows: Sequence[tuple[str, int]]) -> str:
    return "".join(f"<br>{html.escape(label)}: {n}" for label, n in rows)


def _focus(view: CapacityView) -> str:
    return html.escape(view.focus) if view.focus else "all buyers"


def _caseload(view: CapacityView, h: HexView) -> tuple[int, str]:
    return h.focus_cases, f"<b>Open cases ({_focus(view)}): {h.focus_cases}</b>{_counts(h.cases)}"


def _visits(view: CapacityView, h: HexView) -> tuple[int, str]:
    return h.focus_visits, f"<b>Evidenced visits ({_focus(view)}): {h.focus_visits}</b>{_counts(h.visits)}"


def _presence(_view: CapacityView, h: HexView) -> tuple[int, str]:
    return h.agent_hours, f"<b>GPS presence: {h.agent_hours} agent-hours</b><br>(agents of every client)"


def _under_served(_view: CapacityView, h: HexView) -> tuple[int, str]:
    lines = "".join(f"<br>{html.escape(u.buyer)}: {u.visits} visits to {u.cases} open cases, "
                    f"{u.expected:.1f} expected at its regional rate" for u in h.under_served)
    return len(h.under_served), f"<b>Under-served</b>{lines}"


# (key, layer name, shown when the page opens, value and tooltip of one hexagon)
LAYERS: tuple[tuple[str, str, bool, Callable[[CapacityView, HexView], tuple[int, str]]], ...] = (
    ("caseload", "Open cases", True, _caseload),
    ("visits", "Evidenced visits", False, _visits),
    ("presence", "GPS presence (agent-hours)", False, _presence),
    ("under_served", "Under-served", True, _under_served),
)


def _fill(key: str, value: int, largest: int) -> str:
    if key == "under_served":
        return UNDER_SERVED_COLOUR
    ramp = RAMPS[key]
    return ramp[min(len(ramp) - 1, (value * len(ramp) - 1) // largest)]


def _hexagon(cell: str) -> dict[str, Any]:
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _features(view: CapacityView, key: str, res: int,
              measure: Callable[[CapacityView, HexView], tuple[int, str]]) -> dict[str, Any]:
    valued = [(h, *measure(view, h)) for h in view.hexes[res]]
    valued = [(h, value, tip) for h, value, tip in valued if value > 0]
    largest = max((value for _, value, _ in valued), default=1)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": h.cell, "geometry": _hexagon(h.cell),
         "properties": {"cell": h.cell, "value": value, "fill": _fill(key, value, largest), "tip": tip}}
        for h, value, tip in valued]}


class _ResolutionSwitch(MacroElement):
    """Keeps in each layer group only the hexagons of the resolution that suits the zoom."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function () {
        var map = {{ this.map_name }};
        var groups = [{% for group, by_res in this.groups %}[{{ group }}, {
            {%- for res, layer in by_res %}{{ res }}: {{ layer }}{{ ", " if not loop.last }}{% endfor -%}
        }]{{ ", " if not loop.last }}{% endfor %}];
        function resolution(zoom) {
            {%- for top, res in this.zooms %}
            {% if top is none %}return {{ res }};{% else %}if (zoom <= {{ top }}) return {{ res }};{% endif %}
            {%- endfor %}
        }
        function show() {
            var wanted = resolution(map.getZoom());
            groups.forEach(function (entry) {
                Object.keys(entry[1]).forEach(function (res) {
                    var layer = entry[1][res], on = entry[0].hasLayer(layer);
                    if (Number(res) === wanted && !on) entry[0].addLayer(layer);
                    if (Number(res) !== wanted && on) entry[0].removeLayer(layer);
                });
            });
        }
        map.on("zoomend", show);
        show();
    })();
    {% endmacro %}""")

    def __init__(self, fmap: folium.Map, groups: list[tuple[str, list[tuple[int, str]]]]):
        super().__init__()
        self._name = "ResolutionSwitch"
        self.map_name = fmap.get_name()
        self.groups = groups
        self.zooms = ZOOM_RESOLUTION


def _legend(view: CapacityView) -> folium.Element:
    tops = [top for top, _ in ZOOM_RESOLUTION]
    zooms = ", ".join(f"zoom {f'≤ {top}' if top is not None else f'> {tops[i - 1]}'}: res {res}"
                      for i, (top, res) in enumerate(ZOOM_RESOLUTION))
    scope = ("Other clients summed" if not view.others_named else "Every buyer named")
    return folium.Element(
        '<div class="capacity-legend" style="position:fixed;bottom:28px;right:12px;z-index:1000;background:#fff;'
        'padding:6px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif;max-width:320px">'
        f'<div><b>Capacity, {view.month:%B %Y}</b>: {_focus(view)}</div>'
        f'<div>Hexagons (H3) darker for more; {zooms}</div>'
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{UNDER_SERVED_COLOUR};'
        'margin-right:6px;vertical-align:middle"></span>Under-served: at least 5 open cases with under half '
        'the visits the buyer\'s regional rate expects</div>'
        f'<div style="color:#555">{scope}. GPS presence: distinct agent-hours with a fix in the hexagon.</div>'
        '</div>')


def capacity_map(view: CapacityView, outlines: Sequence[RegionOutline]) -> folium.Map:
    """The view and the regions' outlines as a folium map (module docstring)."""
    fmap = folium.Map(location=GB_CENTRE, zoom_start=GB_ZOOM, tiles="OpenStreetMap", control_scale=True)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": o.itl1_cd, "geometry": o.geometry,
             "properties": {"itl1_cd": o.itl1_cd, "name": o.name}} for o in outlines]},
        name="ITL1 regions",
        style_function=lambda _f: {"color": REGION_COLOUR, "weight": 1.5, "fill": False,
                                   "className": "capacity-region"},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(fmap)
    switch: list[tuple[str, list[tuple[int, str]]]] = []
    for key, name, shown, measure in LAYERS:
        group = folium.FeatureGroup(name=name, show=shown).add_to(fmap)
        by_res = []
        for res in RESOLUTIONS:
            data = _features(view, key, res, measure)
            layer = folium.GeoJson(
                data,
                style_function=lambda f, key=key: {
                    "fillColor": f["properties"]["fill"], "fillOpacity": 0.6 if key != "under_served" else 0.35,
                    "color": UNDER_SERVED_COLOUR if key == "under_served" else "#666666",
                    "weight": 2 if key == "under_served" else 0.5, "className": f"capacity-hex capacity-{key}"},
                # folium refuses a tooltip field that no feature has: an empty layer gets none.
                tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if data["features"] else None,
            ).add_to(group)
            by_res.append((res, layer.get_name()))
        switch.append((group.get_name(), by_res))
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(_legend(view))
    cells = [h.cell for h in view.hexes[RESOLUTIONS[0]] if h.total_cases]
    if cells:
        corners = [p for cell in cells for p in h3.cell_to_boundary(cell)]
        lats, lons = [p[0] for p in corners], [p[1] for p in corners]
        fmap.fit_bounds([(min(lats), min(lons)), (max(lats), max(lons))], padding=(20, 20), max_zoom=11)
    # Last, so that it runs after the layers and the view are set.
    fmap.add_child(_ResolutionSwitch(fmap, switch))
    return fmap


def capacity_map_html(view: CapacityView, outlines: Sequence[RegionOutline]) -> str:
    """The map as one HTML page, Leaflet inlined."""
    return self_contained_html(capacity_map(view, outlines))
