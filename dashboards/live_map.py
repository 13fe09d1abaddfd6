"""The live operations map dispatchers watch (``GET /maps/live``): each agent's latest position as a
marker coloured by freshness (fresh, stale past ``BAILIWICK_GPS_STALE_S``, very old past
``VERY_OLD_FACTOR`` times that), a popup with the agent, the fix's time in UK local time, its age,
speed and battery, a legend, and the view fitted to the agents. Beside them, the recent ANPR sightings
that have a place: a square marker each, with the mark, when it was last seen and the agent alerted
(or none). Leaflet is inlined (``plan_map``), so the page draws offline; only the background tiles
then stay blank."""
from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

import folium

from anpr_ingest import SightingAlert
from core import LONDON
from dashboards.plan_map import self_contained_html
from tracking import LiveAgent

__all__ = ["FRESHNESS_COLOURS", "freshness", "live_map", "live_map_html"]

# A position this many stale thresholds old (an hour at the default 300 s) is from another part of the
# day: the agent's phone is off or out of signal for long, not just between reports.
VERY_OLD_FACTOR = 12
FRESHNESS_COLOURS = {"fresh": "#2ca02c", "stale": "#ff7f0e", "very old": "#7f7f7f"}
SIGHTING_COLOUR = "#d62728"
# With no agent on the map, the view opens on Great Britain rather than on (0, 0).
GB_CENTRE, GB_ZOOM = (54.0, -2.5), 6


def freshness(agent: LiveAgent, stale_s: float) -> str:
    if not agent.stale:
        return "fresh"
    return "very old" if agent.age_s > VERY_OLD_FACTOR * stale_s else "stale"


def _age(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _local(at: datetime) -> str:
    local = at.astimezone(LONDON)
    return f"{local:%H:%M:%S} {html.escape(local.tzname() or '')} ({local:%d %b})"


def _popup(a: LiveAgent, state: str) -> str:
    speed = "unknown" if a.speed_mps is None else f"{a.speed_mps * 3.6:.0f} km/h"
    battery = "unknown" if a.battery_pct is None else f"{a.battery_pct}%"
    return (f"<b>Agent {a.agent_id}</b><br>At {_local(a.at)}<br>Age {_age(a.age_s)} ({state})<br>Speed {speed}"
            f"<br>Battery {battery}")


def _sighting_popup(s: SightingAlert) -> str:
    alerted = ("no agent alerted" if s.alerted_agent_id is None or s.alerted_at is None
               else f"agent {s.alerted_agent_id} alerted at {_local(s.alerted_at)}")
    return (f"<b>ANPR {html.escape(s.vrm)}</b><br>Seen {_local(s.last_seen_at)}<br>{alerted}"
            + ("<br>Actionable: keeper confirmed" if s.actionable else "<br>Not actionable until a keeper check"))


def _legend(stale_s: float) -> folium.Element:
    limits = {"fresh": f"up to {_age(stale_s)}", "stale": f"up to {_age(VERY_OLD_FACTOR * stale_s)}",
              "very old": "older"}
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;border-radius:50%;background:{colour};'
        f'margin-right:6px;vertical-align:middle"></span>{state.capitalize()} ({limits[state]})</div>'
        for state, colour in FRESHNESS_COLOURS.items())
    rows += (f'<div><span style="display:inline-block;width:12px;height:12px;background:{SIGHTING_COLOUR};'
             'margin-right:6px;vertical-align:middle"></span>ANPR sighting</div>')
    return folium.Element(
        '<div class="live-legend" style="position:fixed;bottom:28px;right:12px;z-index:1000;background:#fff;'
        f'padding:6px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif">{rows}'
        '<div style="margin-top:4px;color:#555">Times: UK local (Europe/London)</div></div>')


def live_map(agents: Sequence[LiveAgent], stale_s: float, sightings: Sequence[SightingAlert] = ()) -> folium.Map:
    """The agents' latest positions and the ``sightings`` as a folium map (module docstring)."""
    fmap = folium.Map(location=GB_CENTRE, zoom_start=GB_ZOOM, tiles="OpenStreetMap", control_scale=True)
    for a in agents:
        state = freshness(a, stale_s)
        colour = FRESHNESS_COLOURS[state]
        icon = folium.DivIcon(
            html=f'<div class="live-agent" data-agent="{a.agent_id}" data-freshness="{state}" '
                 f'style="background:{colour};color:#fff;border-radius:50%;width:26px;height:26px;'
                 f'line-height:22px;text-align:center;font:bold 11px sans-serif;border:2px solid #fff;'
                 f'box-shadow:0 0 2px #000">{a.agent_id}</div>',
            icon_size=(26, 26), icon_anchor=(13, 13))
        folium.Marker((a.lat, a.lon), icon=icon, tooltip=f"Agent {a.agent_id}",
                      popup=folium.Popup(_popup(a, state), max_width=300)).add_to(fmap)
    placed = [s for s in sightings if s.lon is not None and s.lat is not None]
    for s in placed:
        icon = folium.DivIcon(
            html=f'<div class="anpr-sighting" data-sighting="{s.sighting_id}" style="background:{SIGHTING_COLOUR};'
                 'width:14px;height:14px;border:2px solid #fff;box-shadow:0 0 2px #000"></div>',
            icon_size=(14, 14), icon_anchor=(7, 7))
        folium.Marker((s.lat, s.lon), icon=icon, tooltip=f"ANPR {html.escape(s.vrm)}",
                      popup=folium.Popup(_sighting_popup(s), max_width=300)).add_to(fmap)
    fmap.get_root().html.add_child(_legend(stale_s))
    points = [(a.lat, a.lon) for a in agents] + [(s.lat, s.lon) for s in placed]
    if points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        fmap.fit_bounds([(min(lats), min(lons)), (max(lats), max(lons))], padding=(30, 30), max_zoom=15)
    return fmap


def live_map_html(agents: Sequence[LiveAgent], stale_s: float, sightings: Sequence[SightingAlert] = ()) -> str:
    """The map as one HTML page, Leaflet inlined."""
    return self_contained_html(live_map(agents, stale_s, sightings))
