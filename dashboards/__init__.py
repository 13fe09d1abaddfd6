"""Maps returned as HTML (Leaflet, inlined so a page works offline): the plan map of a day
(``plan_map_html``), the live operations map of agents' latest positions (``live_map_html``) and a
buyer's evidence map of one case (``evidence_map_html``); regional capacity joins them with the issue
that builds that view. Other packages import from ``dashboards``, never from its modules."""
from dashboards.evidence_map import evidence_map_html
from dashboards.live_map import live_map_html
from dashboards.plan_map import plan_map_html

__all__ = ["evidence_map_html", "live_map_html", "plan_map_html"]
