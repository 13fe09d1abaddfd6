"""Maps returned as HTML (Leaflet, inlined so a page works offline): the plan map of a day
(``plan_map_html``), the live operations map of agents' latest positions (``live_map_html``), a
buyer's evidence map of one case (``evidence_map_html``) and the month's capacity map of H3 hexagons
(``capacity_map_html``). Other packages import from ``dashboards``, never from its modules."""
from dashboards.capacity_map import capacity_map_html
from dashboards.evidence_map import evidence_map_html
from dashboards.live_map import live_map_html
from dashboards.plan_map import plan_map_html

__all__ = ["capacity_map_html", "evidence_map_html", "live_map_html", "plan_map_html"]
