"""Decoding plate reads (pure: no I/O). Every camera source becomes one typed form, :class:`PlateRead`,
plus the rejects to dead-letter; a bad read is rejected on its own and the valid reads beside it kept.

Three sources:

- the Bailiwick form vans publish on ``vans/{van_id}/anpr``: ``{"device_id": …, "reads": [{"ts",
  "plate", "confidence", "lat", "lon", "heading_deg", "speed_mps", "image_ref", "candidates":
  [{"plate", "confidence"}]}]}``; ``ts`` (ISO 8601 with its offset), ``plate``, ``lat`` and ``lon``
  are required, the rest optional and range-checked;
- the Plate Recognizer webhook body, Snapshot (``hook.event`` ``image.done``) and Stream
  (``recognition``; Stream posts the same JSON in a multipart field named ``json``, which the route
  extracts): scores are 0..1 already, and there is no position;
- OpenALPR: the open-source ``alprd`` per-frame results and the commercial agent's ``alpr_group``
  (v1; v2 adds ``gps_latitude``/``gps_longitude`` and ``travel_direction``); confidences are 0..100.

Rejects name the JSON path of the field at fault and give a reason written here, never the value:
a reason lands in logs and the dead-letter table, and a plate that matched nothing must leave no
trace (R-ANPR-PRIVACY). That is why the shapes are checked by hand rather than by pydantic, whose
messages may quote the input.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_PAYLOAD = 1 << 20       # bytes; larger bodies are refused before parsing
MAX_PLATE = 16              # characters, as read (a UK mark is at most 7, but vendors add spaces)
MAX_IMAGE_REF = 500
FUTURE_SLACK = timedelta(hours=24)
# A van read without a confidence: trusted enough for an exact or corrected hit, but not as the
# strong evidence a dropped-character match needs on its own (see ``matching``).
DEFAULT_CONFIDENCE = 0.8
# Faster than any van on a road (540 km/h): a speed above it is a fault, not a reading.
MAX_SPEED_MPS = 150.0
# OpenALPR's epoch fields are milliseconds, but its own alprd documentation shows seconds; no time
# since 1973 is below this in milliseconds, nor any time before 5138 above it in seconds.
_EPOCH_MS_FROM = 1e11


@dataclass(frozen=True)
class Candidate:
    plate: str          # as the camera read it (not normalised)
    confidence: float   # 0..1


@dataclass(frozen=True)
class PlateRead:
    ts: datetime                 # timezone-aware
    plate: str                   # as read
    confidence: float            # 0..1
    lat: float | None            # WGS 84; None when the vendor gives no position
    lon: float | None
    heading_deg: float | None = None
    speed_mps: float | None = None
    image_ref: str | None = None
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class ReadReject:
    field: str    # the JSON path of the offending field, e.g. "reads[3].ts"
    reason: str   # written here, never quoting the payload (R-ANPR-PRIVACY)


@dataclass(frozen=True)
class DecodedReads:
    device_id: str | None
    reads: list[PlateRead]
    rejects: list[ReadReject]


class _Bad(Exception):
    """One field at fault; caught per read, or per message for the message's own fields."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.reject = ReadReject(field, reason)


def _parse(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise _Bad("payload", f"larger than {MAX_PAYLOAD} bytes")
    try:
        # UTF-8 only, a leading BOM let pass (Rekor's agent sends one); NaN and Infinity are not JSON.
        return json.loads(payload.decode("utf-8-sig"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Bad("payload", "not UTF-8 JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError("not a number")


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(path, "must be a JSON object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(path, "must be a JSON array")
    return value


def _number(value: Any, path: str, lo: float, hi: float) -> float:
    # A bool is an int to Python, and a JSON true where a number belongs is a broken sender.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(path, "must be a JSON number")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise _Bad(path, f"must be between {lo:g} and {hi:g}")
    return float(value)


def _optional_number(obj: dict[str, Any], key: str, path: str, lo: float, hi: float) -> float | None:
    value = obj.get(key)
    return None if value is None else _number(value, f"{path}{key}", lo, hi)


def _plate(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(path, "must be a non-empty string")
    if len(value) > MAX_PLATE:
        raise _Bad(path, f"longer than {MAX_PLATE} characters")
    # A matched read is stored, and PostgreSQL text cannot hold NUL; no camera reads control characters.
    if not value.isprintable():
        raise _Bad(path, "contains control characters")
    return value


def _not_future(ts: datetime, path: str, now: datetime) -> datetime:
    if ts > now + FUTURE_SLACK:
        raise _Bad(path, "more than 24 h in the future")
    return ts


def _iso_ts(value: Any, path: str, now: datetime, *, naive_is_utc: bool = False) -> datetime:
    if not isinstance(value, str):
        raise _Bad(path, "must be ISO 8601 text")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(path, "must be ISO 8601 text") from None
    if ts.tzinfo is None:
        if not naive_is_utc:
            raise _Bad(path, "must carry its UTC offset")
        ts = ts.replace(tzinfo=UTC)
    return _not_future(ts, path, now)


def _epoch(value: Any, path: str, now: datetime) -> datetime:
    n = _number(value, path, 0, 1e15)
    try:
        ts = datetime.fromtimestamp(n / 1000 if n >= _EPOCH_MS_FROM else n, UTC)
    except (OverflowError, OSError, ValueError):
        raise _Bad(path, "not a time") from None
    return _not_future(ts, path, now)


def _candidates(value: Any, path: str, plate_key: str, conf_key: str, scale: float) -> tuple[Candidate, ...]:
    if value is None:
        return ()
    out = []
    for i, raw in enumerate(_list(value, path)):
        where = f"{path}[{i}]"
        c = _object(raw, where)
        out.append(Candidate(_plate(c.get(plate_key), f"{where}.{plate_key}"),
                             _number(c.get(conf_key), f"{where}.{conf_key}", 0, scale) / scale))
    return tuple(out)


def _image_ref(value: Any) -> str | None:
    """A vendor's image name when usable; a vendor read is not lost over its image's name."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_IMAGE_REF else None


def _position(obj: dict[str, Any], lat_key: str, lon_key: str, path: str) -> tuple[float | None, float | None]:
    lat, lon = obj.get(lat_key), obj.get(lon_key)
    if lat is None or lon is None:
        return None, None
    lat = _number(lat, f"{path}{lat_key}", -90, 90)
    lon = _number(lon, f"{path}{lon_key}", -180, 180)
    # Exactly (0, 0) is in the Gulf of Guinea: it is a receiver's "no fix", not where a van was.
    return (None, None) if lat == 0 and lon == 0 else (lat, lon)


def _decode_each(items: list[Any], path: str, one: Any) -> tuple[list[PlateRead], list[ReadReject]]:
    reads, rejects = [], []
    for i, raw in enumerate(items):
        try:
            reads.append(one(_object(raw, f"{path}[{i}]"), f"{path}[{i}]."))
        except _Bad as bad:
            rejects.append(bad.reject)
    return reads, rejects


# --- Bailiwick vans ---------------------------------------------------------------------------

def _van_read(r: dict[str, Any], path: str, now: datetime) -> PlateRead:
    ts = _iso_ts(r.get("ts"), f"{path}ts", now)
    plate = _plate(r.get("plate"), f"{path}plate")
    lat = _number(r.get("lat"), f"{path}lat", -90, 90)
    lon = _number(r.get("lon"), f"{path}lon", -180, 180)
    confidence = _optional_number(r, "confidence", path, 0, 1)
    image_ref = r.get("image_ref")
    if image_ref is not None and (not isinstance(image_ref, str) or len(image_ref) > MAX_IMAGE_REF):
        raise _Bad(f"{path}image_ref", f"must be a string of at most {MAX_IMAGE_REF} characters")
    return PlateRead(
        ts=ts, plate=plate, confidence=DEFAULT_CONFIDENCE if confidence is None else confidence,
        lat=lat, lon=lon,
        heading_deg=_optional_number(r, "heading_deg", path, 0, 360),
        speed_mps=_optional_number(r, "speed_mps", path, 0, MAX_SPEED_MPS),
        image_ref=image_ref,
        candidates=_candidates(r.get("candidates"), f"{path}candidates", "plate", "confidence", 1),
    )


def decode_van_message(payload: bytes, now: datetime) -> DecodedReads:
    """The reads of one van message and the rejects. Never raises on input."""
    try:
        msg = _object(_parse(payload), "payload")
        device_id = msg.get("device_id")
        if not isinstance(device_id, str) or not 0 < len(device_id) <= 64 or not device_id.isprintable():
            raise _Bad("device_id", "must be a string of 1 to 64 printable characters")
        items = _list(msg.get("reads"), "reads")
    except _Bad as bad:
        return DecodedReads(None, [], [bad.reject])
    reads, rejects = _decode_each(items, "reads", lambda r, p: _van_read(r, p, now))
    return DecodedReads(device_id, reads, rejects)


# --- Plate Recognizer -------------------------------------------------------------------------

PLATERECOGNIZER_EVENTS = frozenset({"image.done", "recognition"})


def decode_platerecognizer(body: bytes, now: datetime) -> DecodedReads:
    """The reads of one Plate Recognizer webhook (Snapshot or Stream). ``timestamp`` is UTC by its
    documentation, so one without an offset is read as UTC. Never raises on input."""
    try:
        msg = _object(_parse(body), "payload")
        if _object(msg.get("hook"), "hook").get("event") not in PLATERECOGNIZER_EVENTS:
            raise _Bad("hook.event", "not a plate-read event (image.done or recognition)")
        data = _object(msg.get("data"), "data")
        ts = _iso_ts(data.get("timestamp"), "data.timestamp", now, naive_is_utc=True)
        items = _list(data.get("results"), "data.results")
    except _Bad as bad:
        return DecodedReads(None, [], [bad.reject])
    image_ref = _image_ref(data.get("filename"))

    def one(r: dict[str, Any], path: str) -> PlateRead:
        return PlateRead(ts=ts, plate=_plate(r.get("plate"), f"{path}plate"),
                         confidence=_number(r.get("score"), f"{path}score", 0, 1), lat=None, lon=None,
                         image_ref=image_ref,
                         candidates=_candidates(r.get("candidates"), f"{path}candidates", "plate", "score", 1))

    reads, rejects = _decode_each(items, "data.results", one)
    return DecodedReads(None, reads, rejects)


# --- OpenALPR ---------------------------------------------------------------------------------

def _alprd(msg: dict[str, Any], now: datetime) -> DecodedReads:
    frame_time = msg.get("epoch_time")
    items = _list(msg.get("results"), "results")
    image_ref = _image_ref(msg.get("uuid"))

    def one(r: dict[str, Any], path: str) -> PlateRead:
        # A result may carry its own time (the documented example does); else the frame's.
        own = r.get("epoch_time")
        ts = _epoch(own, f"{path}epoch_time", now) if own is not None else _epoch(frame_time, "epoch_time", now)
        return PlateRead(ts=ts, plate=_plate(r.get("plate"), f"{path}plate"),
                         confidence=_number(r.get("confidence"), f"{path}confidence", 0, 100) / 100,
                         lat=None, lon=None, image_ref=image_ref,
                         candidates=_candidates(r.get("candidates"), f"{path}candidates", "plate", "confidence", 100))

    reads, rejects = _decode_each(items, "results", one)
    return DecodedReads(None, reads, rejects)


def _alpr_group(msg: dict[str, Any], now: datetime) -> DecodedReads:
    """One read per group. The plate is ``best_plate.plate``, with its confidence and candidates;
    ``best_plate_number`` normally repeats it, and where it does not, the candidates still hold it."""
    try:
        best = _object(msg.get("best_plate"), "best_plate")
        lat, lon = _position(msg, "gps_latitude", "gps_longitude", "")
        heading = msg.get("travel_direction")
        read = PlateRead(
            ts=_epoch(msg.get("epoch_start"), "epoch_start", now),
            plate=_plate(best.get("plate"), "best_plate.plate"),
            confidence=_number(best.get("confidence"), "best_plate.confidence", 0, 100) / 100,
            lat=lat, lon=lon,
            # The agent sends a negative direction when it could not tell one: unknown, not an error.
            heading_deg=float(heading) if isinstance(heading, int | float) and not isinstance(heading, bool)
            and 0 <= heading <= 360 else None,
            image_ref=_image_ref(msg.get("best_uuid")),
            candidates=_candidates(best.get("candidates"), "best_plate.candidates", "plate", "confidence", 100),
        )
    except _Bad as bad:
        return DecodedReads(None, [], [bad.reject])
    return DecodedReads(None, [read], [])


def decode_openalpr(body: bytes, now: datetime) -> DecodedReads:
    """The reads of one OpenALPR message: ``alpr_group`` (v1, v2) or per-frame results (``alprd``, or
    the agent's ``alpr_results``). Other agent messages (heartbeats, vehicle records) hold no new
    plate read and give nothing. Never raises on input."""
    try:
        msg = _object(_parse(body), "payload")
        kind = msg.get("data_type")
        if kind == "alpr_group":
            return _alpr_group(msg, now)
        if kind in (None, "alpr_results"):
            return _alprd(msg, now)
    except _Bad as bad:
        return DecodedReads(None, [], [bad.reject])
    return DecodedReads(None, [], [])
