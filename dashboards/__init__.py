"""Maps returned as HTML (Leaflet, inlined so a page works offline): today the plan map of a day
(``plan_map_html``) and the live operations map of agents' latest positions (``live_map_html``); visit
evidence and regional capacity join them with the issues that build those views. Other packages import
from ``dashboards``, never from its modules."""
from dashboards.live_map import live_map_html
from dashboards.plan_map import plan_map_html

__all__ = ["live_map_html", "plan_map_html"]
