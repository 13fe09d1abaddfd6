"""Maps returned as HTML (Leaflet, inlined so a page works offline): today the plan map of a day
(``plan_map_html``); visit evidence, live operations and regional capacity join it with the issues
that build those views. Other packages import from ``dashboards``, never from its modules."""
from dashboards.plan_map import plan_map_html

__all__ = ["plan_map_html"]
