"""A plan as GeoJSON (RFC 7946), the interface other tools read plans through (``plan-file --out``,
``GET /plans/{day}``; issue 4 "Interface").

The document is a ``FeatureCollection`` with, in this order:
- one ``LineString`` per route: ``kind: "route"``, ``agent_id``, ``distance_m``, ``duration_s``,
  ``shift_start``, ``shift_end``; the line runs from the start point through every stop to the end
  point, or follows ``route_paths[agent_id]`` (e.g. road geometry) when given;
- one ``Point`` per planned visit: ``kind: "visit"``, ``agent_id``, ``case_id``, ``buyer``, ``seq``,
  ``eta``, ``etd``, ``window_start``, ``window_end``, ``time_band``, ``service_s``;
- one ``Point`` per eligible visit left out: ``kind: "dropped"``, ``case_id``, ``buyer``, ``reason``.

Positions are ``[longitude, latitude]`` in WGS 84 and there is no ``crs`` member (RFC 7946 §3.1.1,
§4). Every time is ISO 8601 in Europe/London local time with its offset (``+00:00`` in winter,
``+01:00`` in summer), because dispatchers and agents read the times as wall-clock times; the offset
keeps each an exact instant, so a reader needs no time-zone table to compare them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from core import LONDON, TimeWindow
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, Shift

__all__ = ["iso_local", "plan_from_geojson", "plan_to_geojson"]


def iso_local(at: datetime) -> str:
    """``at`` as ISO 8601 London local time with its offset, to the second."""
    if at.tzinfo is None:
        raise ValueError("plan times must be timezone-aware")
    return at.astimezone(LONDON).isoformat(timespec="seconds")


def _position(p: Point) -> list[float]:
    return [p.lon, p.lat]


def _feature(geometry_type: str, coordinates: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": geometry_type, "coordinates": coordinates},
            "properties": properties}


def _route_line(route: Route, path: Sequence[Point] | None) -> list[list[float]]:
    points = list(path) if path is not None else \
        [route.shift.current_at or route.shift.start_at, *(v.at for v in route.visits), route.shift.end_at]
    if len(points) < 2:
        raise ValueError(f"route of agent {route.agent_id}: a LineString needs two or more positions")
    return [_position(p) for p in points]


def plan_to_geojson(plan: Plan, route_paths: Mapping[int, Sequence[Point]] | None = None) -> dict[str, Any]:
    """``plan`` as a GeoJSON FeatureCollection (module docstring)."""
    features = []
    for route in plan.routes:
        features.append(_feature("LineString", _route_line(route, (route_paths or {}).get(route.agent_id)), {
            "kind": "route", "agent_id": route.agent_id, "distance_m": route.distance_m,
            "duration_s": route.duration_s, "shift_start": iso_local(route.shift.start),
            "shift_end": iso_local(route.shift.end)}))
    for route in plan.routes:
        for v in route.visits:
            features.append(_feature("Point", _position(v.at), {
                "kind": "visit", "agent_id": v.agent_id, "case_id": v.case_id, "buyer": v.buyer, "seq": v.seq,
                "eta": iso_local(v.eta), "etd": iso_local(v.etd), "window_start": iso_local(v.window.start),
                "window_end": iso_local(v.window.end), "time_band": v.time_band, "service_s": v.service_s}))
    for d in plan.dropped:
        features.append(_feature("Point", _position(d.at), {
            "kind": "dropped", "case_id": d.case_id, "buyer": d.buyer, "reason": d.reason}))
    return {"type": "FeatureCollection", "features": features}


def _point(coordinates: Sequence[float]) -> Point:
    return Point(lon=coordinates[0], lat=coordinates[1])


def plan_from_geojson(document: Mapping[str, Any], day: date) -> Plan:
    """A ``Plan`` back from ``plan_to_geojson``'s document, as far as the interface carries it: each
    route's shift keeps its times and its start and end points (the line's ends) but not the agent's
    skills, certificate, region or breaks, and ``stats`` is empty."""
    routes: dict[int, dict[str, Any]] = {}
    visits: dict[int, list[PlannedVisit]] = {}
    dropped = []
    for feature in document["features"]:
        props, coords = feature["properties"], feature["geometry"]["coordinates"]
        if props["kind"] == "route":
            routes[props["agent_id"]] = props | {"line": coords}
        elif props["kind"] == "visit":
            window = TimeWindow(datetime.fromisoformat(props["window_start"]),
                                datetime.fromisoformat(props["window_end"]), props["time_band"])
            visits.setdefault(props["agent_id"], []).append(PlannedVisit(
                case_id=props["case_id"], agent_id=props["agent_id"], seq=props["seq"],
                eta=datetime.fromisoformat(props["eta"]), etd=datetime.fromisoformat(props["etd"]), window=window,
                service_s=props["service_s"], buyer=props["buyer"], at=_point(coords), time_band=props["time_band"]))
        elif props["kind"] == "dropped":
            dropped.append(Dropped(props["case_id"], props["buyer"], _point(coords), props["reason"]))
        else:
            raise ValueError(f"unknown feature kind {props['kind']!r}")
    plan_routes = []
    for agent_id, r in routes.items():
        shift = Shift(agent_id=agent_id, start=datetime.fromisoformat(r["shift_start"]),
                      end=datetime.fromisoformat(r["shift_end"]), start_at=_point(r["line"][0]),
                      end_at=_point(r["line"][-1]))
        plan_routes.append(Route(agent_id, shift, tuple(sorted(visits.pop(agent_id, []), key=lambda v: v.seq)),
                                 distance_m=r["distance_m"], duration_s=r["duration_s"]))
    if visits:
        raise ValueError(f"visits of agents without a route: {sorted(visits)}")
    return Plan(day=day, routes=plan_routes, dropped=dropped)
