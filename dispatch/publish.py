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
which does not store them. The tracking issue also sends the day as OwnTracks waypoints; this topic
is the plan itself.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import paho.mqtt.client as mqtt

from core import connect_mqtt
from dispatch.geojson import iso_local
from dispatch.model import Plan, PlannedVisit, Point, Route, Shift
from dispatch.store import VisitAddress

__all__ = ["PLAN_QOS", "PublishError", "agent_day", "plan_topic", "publish_plan"]

PLAN_QOS = 1


class PublishError(ConnectionError):
    """The broker could not be reached, refused the connection, or did not acknowledge a message."""


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
    own = client is None
    if client is None:
        try:
            client = connect_mqtt(timeout=timeout_s)
        except ConnectionError as exc:
            raise PublishError(f"the MQTT broker did not accept the connection: {exc}") from exc
    refused: dict[int, Any] = {}
    chained = client.on_publish

    def on_publish(c, userdata, mid, reason_code, properties):
        if reason_code.is_failure:
            refused[mid] = reason_code
        if chained is not None:
            chained(c, userdata, mid, reason_code, properties)

    client.on_publish = on_publish
    try:
        sent = []
        for agent_id, day in days.items():
            info = client.publish(plan_topic(agent_id), json.dumps(day), qos=PLAN_QOS, retain=True)
            sent.append((agent_id, info))
        for agent_id, info in sent:
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise PublishError(f"{plan_topic(agent_id)}: not sent: {exc}") from exc
            if not info.is_published():
                raise PublishError(f"{plan_topic(agent_id)}: no PUBACK within {timeout_s:g}s")
            if info.mid in refused:
                raise PublishError(f"{plan_topic(agent_id)}: the broker refused it: {refused[info.mid]}")
    finally:
        client.on_publish = chained
        if own:
            client.disconnect()
            client.loop_stop()
    return len(days)
