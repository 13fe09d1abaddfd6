"""Each agent's planned day, sent to the agent's phone over MQTT.

Topic ``agents/{agent_id}/plan``; MQTT v5, QoS 1, **retained**, so a phone that connects later still
gets its current day, and every agent on shift gets a message, an empty day included, so that a
stale retained plan is always replaced. ``publish_plan`` waits for the broker's PUBACK of every
message. The payload is one JSON object (times ISO 8601 in Europe/London local time with their
offset, as in the plan GeoJSON; positions WGS 84)::

    {
      "day": "2026-11-23",
      "agent_id": 7,
      "run_id": 42,                      # the stored plan_run (null if the plan was not stored)
      "shift": {"start": "2026-11-23T07:00:00+00:00", "end": "2026-11-23T19:00:00+00:00",
                "start_at": {"lat": 50.37, "lon": -4.14}, "end_at": {"lat": 50.37, "lon": -4.14},
                "breaks": [{"earliest": "…", "latest": "…", "duration_s": 1800}]},
      "distance_m": 48210.0, "duration_s": 31500,
      "visits": [{"seq": 1, "case_id": 123, "eta": "2026-11-23T08:14:00+00:00",
                  "etd": "2026-11-23T08:29:00+00:00", "window_start": "…", "window_end": "…",
                  "time_band": "office", "service_s": 900, "lat": 50.38, "lon": -4.13,
                  "address": "1 Test Street", "postcode": "PL1 2AA"}]
    }

``address`` and ``postcode`` are present when the caller passes the addresses
(``dispatch.store.visit_addresses``); ``breaks`` is empty for a plan read back from the database,
which does not store them.

**Geofences** (``publish_waypoints``). An agent's phone running the OwnTracks app also gets the day's
visits as regions it watches, so that it reports entering and leaving each door's circle (tracking
uses those events for the visit evidence's times). The message is the app's ``setWaypoints`` command
on ``owntracks/{device_id}/{device}/cmd`` (``core.owntracks_cmd_topic``; ``{device}`` is the name the
phone publishes under, ``device.owntracks_name``, learned by ingest), to each active phone of the
agent that has one; MQTT v5, QoS 1, **retained**::

    {"_type": "cmd", "action": "setWaypoints",
     "waypoints": {"_type": "waypoints", "_creator": "bailiwick",
                   "waypoints": [{"_type": "waypoint", "desc": "123", "lat": 50.38, "lon": -4.13,
                                  "rad": 50, "tst": 123}]}}

One 50 m region per visit (``core.GEOFENCE_RADIUS_M``) at the visit's point (the case address),
named by its case id (``core.geofence_name``). An agent on shift with nothing planned gets an empty
list.

- Retained, like the plan: the app reads ``cmd`` only while connected, and a phone that was offline
  when the plan was stored (or whose broker session expired) still gets the day's regions when it
  connects; each new plan's command replaces the retained one, so a phone never gets a stale set.
  Re-reading it on every reconnect is harmless because importing it again changes nothing (below).
- ``tst`` is the case id, not a time. The apps *merge* a ``setWaypoints`` into the regions they have:
  Android replaces the waypoint with the same ``tst`` and adds the others, iOS keys them by ``desc``.
  A key stable per case means re-sending a case (a re-plan, a retained command read again) updates
  its region instead of adding a second one on Android.
- Merging also means an empty list, or a plan without a case, removes no region from the phone: a
  region of an earlier plan stays on the phone and its events are stored. They never make evidence
  of another case: an event counts only for the stop matched to the case it is named by, and only when
  it agrees with the fixes.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from core import (
    GEOFENCE_RADIUS_M,
    PublishError,
    connect_mqtt,
    geofence_name,
    owntracks_cmd_topic,
    publish_acked,
)
from dispatch.geojson import iso_local
from dispatch.model import Plan, PlannedVisit, Point, Route, Shift
from dispatch.store import OwnTracksPhone, VisitAddress

__all__ = ["PLAN_QOS", "WAYPOINTS_QOS", "PublishError", "agent_day", "plan_topic", "publish_plan",
           "publish_waypoints", "waypoints_command"]

PLAN_QOS = 1
WAYPOINTS_QOS = 1


def plan_topic(agent_id: int) -> str:
    return f"agents/{agent_id}/plan"


def _latlon(p: Point) -> dict[str, float]:
    return {"lat": p.lat, "lon": p.lon}


def _visit(v: PlannedVisit, address: VisitAddress | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": v.seq, "case_id": v.case_id, "eta": iso_local(v.eta), "etd": iso_local(v.etd),
        "window_start": iso_local(v.window.start), "window_end": iso_local(v.window.end),
        "time_band": v.time_band, "service_s": v.service_s, "lat": v.at.lat, "lon": v.at.lon}
    if address is not None:
        out |= {"address": address.line1, "postcode": address.postcode}
    return out


def agent_day(plan: Plan, shift: Shift, route: Route | None, *, run_id: int | None,
              addresses: Mapping[int, VisitAddress] | None = None) -> dict[str, Any]:
    """The payload of one agent's day (module docstring); ``route`` None is an empty day."""
    addresses = addresses or {}
    return {
        "day": plan.day.isoformat(), "agent_id": shift.agent_id, "run_id": run_id,
        "shift": {"start": iso_local(shift.start), "end": iso_local(shift.end),
                  "start_at": _latlon(shift.start_at), "end_at": _latlon(shift.end_at),
                  "breaks": [{"earliest": iso_local(b.earliest), "latest": iso_local(b.latest),
                              "duration_s": b.duration_s} for b in shift.breaks]},
        "distance_m": route.distance_m if route else 0.0, "duration_s": route.duration_s if route else 0,
        "visits": [_visit(v, addresses.get(v.case_id)) for v in (route.visits if route else ())]}


def publish_plan(plan: Plan, client: mqtt.Client | None = None, *, shifts: Iterable[Shift] = (),
                 addresses: Mapping[int, VisitAddress] | None = None, run_id: int | None = None,
                 timeout_s: float = 10.0) -> int:
    """Send every agent's day of ``plan`` on ``agents/{agent_id}/plan`` (module docstring) and wait for
    each PUBACK; return the number of days sent. Agents in ``shifts`` without a route get an empty
    day. ``run_id`` defaults to ``plan.stats["run_id"]``. ``client``: a connected client with its
    network loop running (left connected); by default one is connected to ``BAILIWICK_MQTT_URL`` for
    the call. Raises ``PublishError`` when a message is not acknowledged."""
    if run_id is None and "run_id" in plan.stats:
        run_id = int(plan.stats["run_id"])
    days = {r.agent_id: agent_day(plan, r.shift, r, run_id=run_id, addresses=addresses) for r in plan.routes}
    for shift in shifts:
        if shift.agent_id not in days:
            days[shift.agent_id] = agent_day(plan, shift, None, run_id=run_id)
    return _send([(plan_topic(agent_id), day, PLAN_QOS) for agent_id, day in days.items()], client, timeout_s)


def _waypoint(v: PlannedVisit) -> dict[str, Any]:
    return {"_type": "waypoint", "desc": geofence_name(v.case_id), "lat": v.at.lat, "lon": v.at.lon,
            "rad": GEOFENCE_RADIUS_M, "tst": v.case_id}


def waypoints_command(route: Route | None) -> dict[str, Any]:
    """The ``setWaypoints`` command of one agent's day (module docstring); ``route`` None is an empty day."""
    return {"_type": "cmd", "action": "setWaypoints",
            "waypoints": {"_type": "waypoints", "_creator": "bailiwick",
                          "waypoints": [_waypoint(v) for v in (route.visits if route else ())]}}


def publish_waypoints(plan: Plan, phones: Mapping[int, Sequence[OwnTracksPhone]], client: mqtt.Client | None = None,
                      *, shifts: Iterable[Shift] = (), timeout_s: float = 10.0) -> int:
    """Send each agent's visits of ``plan`` as geofences to the agent's OwnTracks ``phones`` (by agent id;
    ``dispatch.store.owntracks_phones``) and wait for each PUBACK; return the number of commands sent.
    Agents in ``shifts`` without a route get an empty list; agents without an OwnTracks phone get
    nothing. ``client`` and ``PublishError`` as ``publish_plan``; no connection is made when there is
    nothing to send."""
    routes: dict[int, Route | None] = {r.agent_id: r for r in plan.routes}
    for shift in shifts:
        routes.setdefault(shift.agent_id, None)
    messages = [(owntracks_cmd_topic(phone.device_id, phone.name), waypoints_command(route), WAYPOINTS_QOS)
                for agent_id, route in routes.items() for phone in phones.get(agent_id, ())]
    return _send(messages, client, timeout_s) if messages else 0


def _send(messages: Sequence[tuple[str, dict[str, Any], int]], client: mqtt.Client | None, timeout_s: float) -> int:
    """Publish each (topic, payload, QoS) retained and wait for every PUBACK; returns how many were sent.
    ``client`` as ``publish_plan``'s."""
    own = client is None
    if client is None:
        try:
            client = connect_mqtt(timeout=timeout_s)
        except ConnectionError as exc:
            raise PublishError(f"the MQTT broker did not accept the connection: {exc}") from exc
    try:
        problems = publish_acked(client, [(topic, json.dumps(payload), qos) for topic, payload, qos in messages],
                                 retain=True, timeout_s=timeout_s)
    finally:
        if own:
            client.disconnect()
            client.loop_stop()
    problem = next((p for p in problems if p is not None), None)
    if problem is not None:
        raise PublishError(problem)
    return len(messages)
