"""Decoding GPS messages (pure: no I/O). A message on one of the subscribed topics becomes the fixes
to store and the rejects to dead-letter, each reject with its reason; the valid fixes of a message
are kept even when others in it are rejected.

Two forms:

- Bailiwick JSON on ``agents/{agent_id}/gps``: ``{"device_id": …, "fixes": [{"ts", "lat", "lon",
  "accuracy_m", "speed_mps", "heading_deg", "battery_pct"}, …]}``; ``ts`` is ISO 8601 with its offset
  and only ``ts``, ``lat`` and ``lon`` are required.
- OwnTracks on ``owntracks/{device_id}/{device}`` and ``…/event``, as the apps send them: ``location``
  and ``transition`` become fixes of the device named by the topic (``tst`` epoch seconds, ``acc``
  metres, ``vel`` km/h, ``cog`` degrees, ``batt`` percent; the apps send -1 for an unknown ``vel`` or
  ``cog``); every other ``_type`` (waypoints, lwt, card, status, encrypted, …) is not a fix and is
  ignored. A ``transition`` is also a geofence event (``GeofenceEvent``: ``event`` enter or leave of
  the region named ``desc``), kept when its fix is; one whose ``event`` or ``desc`` is missing or
  invalid is dead-lettered with the reason, its fix still kept. An accepted OwnTracks message also
  tells the phone's device name (``Decoded.owntracks_name``), the last level of its topic, which the
  app reads its commands under.
"""
from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

FUTURE_SLACK = timedelta(hours=24)
OWNTRACKS_FIX_TYPES = frozenset({"location", "transition"})
GEOFENCE_EVENTS = frozenset({"enter", "leave"})
# device.owntracks_name's length: a longer name is not learned (no command could be addressed to it).
MAX_OWNTRACKS_NAME = 64

# device id → the agent the device belongs to, or None for a device the registry does not know
AgentOf = Callable[[str], int | None]


class RejectKind(enum.StrEnum):
    malformed = "malformed"            # not JSON, not the form, a field of the wrong type
    unknown_device = "unknown device"
    topic_mismatch = "topic does not match the device"
    out_of_range = "coordinates out of range"
    future = "ts more than 24 h in the future"
    inaccurate = "accuracy worse than the bound"
    too_old = "ts older than the retention"


@dataclass(frozen=True)
class GpsFix:
    device_id: str
    agent_id: int
    ts: datetime  # aware, UTC
    lon: float
    lat: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    battery_pct: int | None = None


@dataclass(frozen=True)
class Reject:
    """What to dead-letter: the whole message's payload, or one fix of it re-serialised as JSON."""

    kind: RejectKind
    detail: str
    payload: bytes

    @property
    def reason(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class GeofenceEvent:
    """An OwnTracks app's ``transition``: the phone entered or left the region named ``region`` (the
    waypoint's ``desc``) at ``ts``, where it was at (``lon``, ``lat``)."""

    device_id: str
    agent_id: int
    ts: datetime  # aware, UTC
    event: str    # "enter" | "leave"
    region: str
    lon: float
    lat: float
    accuracy_m: float | None = None


@dataclass
class Decoded:
    fixes: list[GpsFix] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    transitions: list[GeofenceEvent] = field(default_factory=list)
    # (device id, device name) of an accepted OwnTracks message: its topic is owntracks/<device id>/<name>.
    owntracks_name: tuple[str, str] | None = None


@dataclass(frozen=True)
class Limits:
    """The checks that depend on configuration and the clock."""

    now: datetime
    max_accuracy_m: float = 500.0
    retention_days: int = 90


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info) -> Any:
        # pydantic's lax mode would read true as 1 and "50.1" as 50.1: a phone sending either is broken,
        # and its position is not to be trusted. (A JSON 55.0 for an integer field is still 55.)
        field = cls.model_fields[info.field_name]
        if field.annotation in _NUMERIC and isinstance(value, bool | str):
            raise ValueError("must be a JSON number")
        return value


_NUMERIC = (float, int, float | None, int | None)


class BailiwickFixIn(_Strict):
    ts: AwareDatetime
    lat: float
    lon: float
    accuracy_m: float | None = Field(default=None, ge=0)
    speed_mps: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)
    battery_pct: int | None = Field(default=None, ge=0, le=100)

    @field_validator("ts", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # pydantic would also read a number as epoch seconds; the form is ISO 8601 text only.
        if not isinstance(value, str):
            raise ValueError("must be ISO 8601 text with its UTC offset")
        return value


class BailiwickMessageIn(_Strict):
    device_id: str = Field(min_length=1, max_length=64)
    # Checked one by one (BailiwickFixIn) so that one bad fix does not cost the others.
    fixes: list[Any] = Field(min_length=1)


class OwnTracksFixIn(_Strict):
    tst: int = Field(strict=True)
    lat: float
    lon: float
    acc: float | None = Field(default=None, ge=0)
    vel: float | None = None
    cog: float | None = None
    batt: int | None = None
    topic: str | None = None


def _errors(exc: ValidationError, prefix: str = "") -> str:
    return "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                     for e in exc.errors(include_url=False))


def _parse_json(payload: bytes) -> tuple[Any, str | None]:
    try:
        # UTF-8 only (RFC 8259; a leading BOM is let pass): json.loads of bytes would also take
        # UTF-16/32 and let encoded surrogates through as text.
        return json.loads(payload.decode("utf-8-sig"), parse_constant=_no_constant), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not JSON: {exc}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _checked(fix: GpsFix, where: str, limits: Limits, payload: bytes, out: Decoded) -> None:
    """Append ``fix`` to the fixes, or its reject to the rejects."""
    if not (-90 <= fix.lat <= 90 and -180 <= fix.lon <= 180):
        out.rejects.append(Reject(RejectKind.out_of_range, f"{where}lat {fix.lat}, lon {fix.lon}", payload))
    elif fix.ts > limits.now + FUTURE_SLACK:
        out.rejects.append(Reject(RejectKind.future, f"{where}ts {fix.ts.isoformat()} (now "
                                  f"{limits.now.astimezone(UTC).isoformat()})", payload))
    elif fix.ts < limits.now - timedelta(days=limits.retention_days):
        out.rejects.append(Reject(RejectKind.too_old, f"{where}ts {fix.ts.isoformat()} is more than "
                                  f"{limits.retention_days} days ago", payload))
    elif fix.accuracy_m is not None and fix.accuracy_m > limits.max_accuracy_m:
        out.rejects.append(Reject(RejectKind.inaccurate, f"{where}accuracy {fix.accuracy_m:g} m > "
                                  f"{limits.max_accuracy_m:g} m", payload))
    else:
        out.fixes.append(fix)


def decode_bailiwick(topic: str, payload: bytes, agent_of: AgentOf, limits: Limits) -> Decoded:
    out = Decoded()
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "agents" or parts[2] != "gps":
        return Decoded(rejects=[Reject(RejectKind.topic_mismatch, f"{topic!r} is not agents/<agent id>/gps",
                                       payload)])
    if not parts[1].isdigit():
        return Decoded(rejects=[Reject(RejectKind.topic_mismatch, f"agent id {parts[1]!r} in the topic is "
                                       "not a number", payload)])
    data, problem = _parse_json(payload)
    if problem is not None:
        return Decoded(rejects=[Reject(RejectKind.malformed, problem, payload)])
    try:
        message = BailiwickMessageIn.model_validate(data)
    except ValidationError as exc:
        return Decoded(rejects=[Reject(RejectKind.malformed, _errors(exc), payload)])
    agent_id = agent_of(message.device_id)
    if agent_id is None:
        return Decoded(rejects=[Reject(RejectKind.unknown_device, f"device_id {message.device_id!r}", payload)])
    if agent_id != int(parts[1]):
        return Decoded(rejects=[Reject(RejectKind.topic_mismatch, f"device {message.device_id!r} belongs to "
                                       f"agent {agent_id}, not agent {parts[1]}", payload)])
    for i, raw in enumerate(message.fixes):
        where = f"fixes[{i}]."
        one = json.dumps(raw).encode()
        try:
            f = BailiwickFixIn.model_validate(raw)
        except ValidationError as exc:
            out.rejects.append(Reject(RejectKind.malformed, _errors(exc, where), one))
            continue
        fix = GpsFix(message.device_id, agent_id, f.ts.astimezone(UTC), f.lon, f.lat, f.accuracy_m,
                     f.speed_mps, f.heading_deg, f.battery_pct)
        _checked(fix, where, limits, one, out)
    return out


def decode_owntracks(topic: str, payload: bytes, agent_of: AgentOf, limits: Limits) -> Decoded:
    parts = topic.split("/")
    if not (len(parts) == 3 or (len(parts) == 4 and parts[3] == "event")) or parts[0] != "owntracks":
        return Decoded(rejects=[Reject(RejectKind.topic_mismatch, f"{topic!r} is not owntracks/<device id>/"
                                       "<device>[/event]", payload)])
    device_id = parts[1]
    data, problem = _parse_json(payload)
    if problem is not None:
        return Decoded(rejects=[Reject(RejectKind.malformed, problem, payload)])
    if not isinstance(data, dict) or not isinstance(data.get("_type"), str):
        return Decoded(rejects=[Reject(RejectKind.malformed, "not an OwnTracks message (no _type)", payload)])
    if data["_type"] not in OWNTRACKS_FIX_TYPES:
        return Decoded()
    try:
        m = OwnTracksFixIn.model_validate(data)
    except ValidationError as exc:
        return Decoded(rejects=[Reject(RejectKind.malformed, _errors(exc), payload)])
    agent_id = agent_of(device_id)
    if agent_id is None:
        return Decoded(rejects=[Reject(RejectKind.unknown_device, f"device id {device_id!r} in the topic",
                                       payload)])
    # The apps may name their base topic in the payload; a different user there is another device.
    base = "/".join(parts[:3])
    if m.topic is not None and m.topic.removesuffix("/event") != base:
        return Decoded(rejects=[Reject(RejectKind.topic_mismatch, f"payload topic {m.topic!r} is not {base!r}",
                                       payload)])
    try:
        ts = datetime.fromtimestamp(m.tst, UTC)
    except (OverflowError, OSError, ValueError):
        return Decoded(rejects=[Reject(RejectKind.malformed, f"tst {m.tst} is not a time", payload)])
    fix = GpsFix(device_id, agent_id, ts, m.lon, m.lat, m.acc,
                 m.vel / 3.6 if m.vel is not None and m.vel >= 0 else None,
                 m.cog if m.cog is not None and 0 <= m.cog <= 360 else None,
                 m.batt if m.batt is not None and 0 <= m.batt <= 100 else None)
    out = Decoded(owntracks_name=(device_id, parts[2]) if len(parts[2]) <= MAX_OWNTRACKS_NAME else None)
    _checked(fix, "", limits, payload, out)
    if data["_type"] == "transition" and out.fixes:
        _geofence_event(data, fix, payload, out)
    return out


def _geofence_event(data: dict[str, Any], fix: GpsFix, payload: bytes, out: Decoded) -> None:
    """The transition's event beside its fix (already accepted), or its reject."""
    event, desc = data.get("event"), data.get("desc")
    problems = []
    if not isinstance(event, str) or event not in GEOFENCE_EVENTS:  # a list is not hashable
        problems.append(f"event {event!r} is not 'enter' or 'leave'")
    # PostgreSQL text cannot hold NUL: refused here, or the whole message would fail to store.
    if not isinstance(desc, str) or not desc.strip() or "\x00" in desc:
        problems.append(f"desc {desc!r} is not a region name")
    if problems:
        out.rejects.append(Reject(RejectKind.malformed, "transition: " + "; ".join(problems), payload))
        return
    out.transitions.append(GeofenceEvent(fix.device_id, fix.agent_id, fix.ts, event, desc, fix.lon, fix.lat,
                                         fix.accuracy_m))


def decode(topic: str, payload: bytes, agent_of: AgentOf, limits: Limits) -> Decoded:
    """The fixes and rejects of one message, by its topic's form. Never raises on input."""
    if topic.startswith("owntracks/"):
        return decode_owntracks(topic, payload, agent_of, limits)
    return decode_bailiwick(topic, payload, agent_of, limits)
