"""Decoding plate reads (anpr_ingest.reads): the vendors' published payloads, read at run time from
the shared samples, decode to the reads they hold; the van form keeps the good reads of a message
and rejects the bad ones by field; and no reject reason ever carries a plate (R-ANPR-PRIVACY)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr_ingest import (
    Candidate,
    DecodedReads,
    ReadReject,
    decode_openalpr,
    decode_platerecognizer,
    decode_van_message,
)
from core import get_settings

SAMPLES = get_settings().shared_dir / "samples" / "anpr"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


# --- the vendors' samples ----------------------------------------------------------------------

def test_openalpr_alprd_results_sample() -> None:
    out = decode_openalpr(sample("openalpr_alprd_results.json"), NOW)
    assert out.rejects == [] and out.device_id is None
    first, second = out.reads
    assert (first.plate, first.confidence) == ("S11FRE", pytest.approx(0.77130661))
    # The documented frame time is in seconds, the second result carries its own.
    assert first.ts == datetime.fromtimestamp(1402161050, UTC)
    assert second.ts == datetime.fromtimestamp(1402158050, UTC)
    assert (first.lat, first.lon) == (None, None)
    assert first.image_ref == "f11e0acc-6aaf-4817-9299-9e6773043b8e"
    assert len(first.candidates) == 10
    assert first.candidates[2] == Candidate("S11RE", pytest.approx(0.75440361))
    assert (second.plate, [c.plate for c in second.candidates]) == ("EJLESSIE", ["EJLESSIE", "EDLESSIE"])


def test_openalpr_group_v1_sample() -> None:
    out = decode_openalpr(sample("openalpr_alpr_group_v1.json"), NOW)
    assert out.rejects == []
    (read,) = out.reads
    assert (read.plate, read.confidence, read.ts) == ("A13709", pytest.approx(0.92075203), ms(1448326208789))
    assert (read.lat, read.lon, read.heading_deg) == (None, None, None)
    assert read.image_ref == "dimitar-video-cam1414799424-1448326208789"
    assert [c.plate for c in read.candidates][:3] == ["A13709", "A137O9", "A137Q9"]
    assert read.candidates[-1] == Candidate("AI37O9", pytest.approx(0.71822922))


def test_rekor_group_v2_sample_with_bom_and_position() -> None:
    raw = sample("rekor_alpr_group_v2_fixture.json")
    assert raw.startswith(b"\xef\xbb\xbf")
    out = decode_openalpr(raw, NOW)
    assert out.rejects == []
    (read,) = out.reads
    assert (read.plate, read.confidence, read.ts) == ("TEST123", pytest.approx(0.935049997), ms(1609433731402))
    assert (read.lat, read.lon) == (pytest.approx(40.00997543334961), pytest.approx(-86.14463806152344))
    assert read.heading_deg == pytest.approx(257.44775390625)
    # The fixture's author edited best_plate.plate only; the group's reading survives as a candidate.
    assert read.candidates == (Candidate("A424761", pytest.approx(0.935049997)),)


def test_platerecognizer_snapshot_sample() -> None:
    out = decode_platerecognizer(sample("platerecognizer_snapshot_webhook.json"), NOW)
    assert out.rejects == [] and out.device_id is None
    ts = datetime(2019, 8, 31, 14, 22, 6, 983000, tzinfo=UTC)
    assert [(r.plate, r.confidence, r.ts, r.lat, r.lon) for r in out.reads] == [
        ("765410", pytest.approx(0.9131534678711563), ts, None, None),
        ("830265", pytest.approx(0.7700640306685624), ts, None, None),
    ]
    assert out.reads[0].image_ref == "14_22_test.jpeg"


def test_platerecognizer_stream_with_candidates() -> None:
    """The Stream form described in SOURCES.md: hook.event "recognition", candidates [{plate, score}]."""
    body = {"hook": {"target": "https://x", "id": "camera-1", "event": "recognition", "filename": "f.jpg"},
            "data": {"camera_id": "camera-1", "filename": "f.jpg", "timestamp": "2026-12-07T09:59:58.120000Z",
                     "timestamp_local": "2026-12-07 09:59:58.120000+00:00",
                     "results": [{"box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "plate": "ab12cde",
                                  "region": {"code": "gb", "score": 0.9}, "score": 0.904,
                                  "candidates": [{"score": 0.904, "plate": "ab12cde"},
                                                 {"score": 0.79, "plate": "ab12cdf"}],
                                  "dscore": 0.7, "vehicle": {"score": 0.8, "type": "Sedan", "box": {}},
                                  "direction": 210, "source_url": "rtsp://cam", "position_sec": 4.2}]}}
    out = decode_platerecognizer(json.dumps(body).encode(), NOW)
    assert out.rejects == []
    (read,) = out.reads
    assert (read.plate, read.confidence, read.ts) == ("ab12cde", 0.904,
                                                      datetime(2026, 12, 7, 9, 59, 58, 120000, tzinfo=UTC))
    assert read.candidates == (Candidate("ab12cde", 0.904), Candidate("ab12cdf", 0.79))


def test_other_vendor_messages_hold_no_reads() -> None:
    heartbeat = {"data_type": "heartbeat", "version": 2, "company_id": "x", "agent_uid": "y"}
    assert decode_openalpr(json.dumps(heartbeat).encode(), NOW) == DecodedReads(None, [], [])
    other = {"hook": {"event": "something.else"}, "data": {}}
    assert decode_platerecognizer(json.dumps(other).encode(), NOW).rejects[0].field == "hook.event"


# --- the van form ------------------------------------------------------------------------------

def van_read(**over: Any) -> dict[str, Any]:
    read = {"ts": "2026-12-07T09:59:00+00:00", "plate": "AB12 CDE", "confidence": 0.93, "lat": 51.5,
            "lon": -0.12, "heading_deg": 90.0, "speed_mps": 8.5, "image_ref": "van-3/2026-12-07/1.jpg",
            "candidates": [{"plate": "AB12CDE", "confidence": 0.93}, {"plate": "A812CDE", "confidence": 0.6}]}
    read.update(over)
    return {k: v for k, v in read.items() if v is not _ABSENT}


_ABSENT = object()


def van(*reads: dict[str, Any], device_id: Any = "van-3-anpr") -> bytes:
    return json.dumps({"device_id": device_id, "reads": list(reads)}).encode()


def test_van_message_decodes_every_field() -> None:
    out = decode_van_message(van(van_read()), NOW)
    assert out.device_id == "van-3-anpr" and out.rejects == []
    (read,) = out.reads
    assert read.ts == datetime(2026, 12, 7, 9, 59, tzinfo=UTC)
    assert (read.plate, read.confidence, read.lat, read.lon) == ("AB12 CDE", 0.93, 51.5, -0.12)
    assert (read.heading_deg, read.speed_mps, read.image_ref) == (90.0, 8.5, "van-3/2026-12-07/1.jpg")
    assert read.candidates == (Candidate("AB12CDE", 0.93), Candidate("A812CDE", 0.6))


def test_van_read_without_confidence_takes_the_documented_default() -> None:
    (read,) = decode_van_message(van(van_read(confidence=_ABSENT, candidates=_ABSENT)), NOW).reads
    assert read.confidence == 0.8 and read.candidates == ()


@pytest.mark.parametrize(("over", "field"), [
    ({"ts": _ABSENT}, "ts"),
    ({"ts": "2026-12-07T09:59:00"}, "ts"),                    # no offset
    ({"ts": 1796637540}, "ts"),                               # a number, not ISO text
    ({"ts": "yesterday"}, "ts"),
    ({"ts": (NOW + timedelta(hours=25)).isoformat()}, "ts"),  # more than 24 h ahead
    ({"plate": _ABSENT}, "plate"),
    ({"plate": ""}, "plate"),
    ({"plate": "   "}, "plate"),
    ({"plate": "A" * 17}, "plate"),
    ({"plate": "AB12\x00CDE"}, "plate"),
    ({"plate": 1234}, "plate"),
    ({"lat": _ABSENT}, "lat"),
    ({"lat": True}, "lat"),                                   # a bool is not a number
    ({"lat": "51.5"}, "lat"),
    ({"lat": 90.5}, "lat"),
    ({"lon": -180.5}, "lon"),
    ({"confidence": 1.5}, "confidence"),
    ({"confidence": -0.1}, "confidence"),
    ({"heading_deg": 361}, "heading_deg"),
    ({"speed_mps": -1}, "speed_mps"),
    ({"image_ref": "x" * 501}, "image_ref"),
    ({"image_ref": 7}, "image_ref"),
    ({"candidates": {"plate": "AB12CDE"}}, "candidates"),
    ({"candidates": ["AB12CDE"]}, "candidates[0]"),
    ({"candidates": [{"plate": "AB12CDE", "confidence": 2}]}, "candidates[0].confidence"),
    ({"candidates": [{"confidence": 0.5}]}, "candidates[0].plate"),
])
def test_a_bad_read_is_rejected_by_field_and_the_others_kept(over: dict[str, Any], field: str) -> None:
    out = decode_van_message(van(van_read(), van_read(**over), van_read(plate="XY99ZZZ")), NOW)
    assert [r.plate for r in out.reads] == ["AB12 CDE", "XY99ZZZ"]
    (reject,) = out.rejects
    assert reject.field == f"reads[1].{field}"


def test_a_read_that_is_not_an_object_is_rejected_alone() -> None:
    out = decode_van_message(van(van_read(), ["AB12CDE"]), NOW)
    assert len(out.reads) == 1 and out.rejects == [ReadReject("reads[1]", "must be a JSON object")]


@pytest.mark.parametrize(("payload", "field"), [
    (b"{not json", "payload"),
    (b"\xff\xfe{}", "payload"),
    (b'{"device_id": "v", "reads": [{"lat": NaN}]}', "payload"),
    (b"[1, 2]", "payload"),
    (van(van_read(), device_id=None), "device_id"),
    (van(van_read(), device_id=""), "device_id"),
    (van(van_read(), device_id=7), "device_id"),
    (json.dumps({"device_id": "v"}).encode(), "reads"),
    (json.dumps({"device_id": "v", "reads": {"0": {}}}).encode(), "reads"),
    (van(van_read(image_ref="x" * 500)) + b" " * (1 << 20), "payload"),   # over 1 MiB, valid JSON
])
def test_a_bad_message_is_one_whole_message_reject(payload: bytes, field: str) -> None:
    out = decode_van_message(payload, NOW)
    assert out.reads == [] and [r.field for r in out.rejects] == [field]


# --- R-ANPR-PRIVACY ---------------------------------------------------------------------------

plates = st.from_regex(r"[A-Z]{1,3}[0-9]{1,4}[A-Z]{0,3}", fullmatch=True)


def junk(plate: str) -> st.SearchStrategy[Any]:
    """Any JSON value a broken sender might put in a field, the plate itself among them."""
    scalar = st.one_of(st.just(plate), st.just(plate.lower()), st.just(f"{plate} {plate}"), st.none(),
                       st.booleans(), st.integers(-10**6, 10**16), st.floats(allow_nan=False),
                       st.text(max_size=20).map(lambda t: t + plate))
    return st.one_of(scalar, st.lists(scalar, max_size=3), st.dictionaries(st.just("plate"), scalar))


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    plate = draw(plates)
    fields = ["ts", "plate", "confidence", "lat", "lon", "heading_deg", "speed_mps", "image_ref", "candidates",
              "score", "epoch_time", "epoch_start", "best_plate", "gps_latitude", "timestamp", "results"]
    read = {k: draw(junk(plate)) for k in draw(st.lists(st.sampled_from(fields), max_size=8, unique=True))}
    read.setdefault("plate", plate)
    form = draw(st.sampled_from(["van", "pr", "alprd", "group"]))
    if form == "van":
        body: Any = {"device_id": draw(st.one_of(st.just("van-1"), junk(plate))), "reads": [read, van_read()]}
    elif form == "pr":
        body = {"hook": {"event": "recognition"}, "data": {"timestamp": draw(junk(plate)), "results": [read]}}
    elif form == "alprd":
        body = {"epoch_time": draw(junk(plate)), "results": [read], "uuid": draw(junk(plate))}
    else:
        body = {"data_type": "alpr_group", "epoch_start": draw(junk(plate)), "best_plate": read, **read}
    return plate, json.dumps(body).encode()


@settings(max_examples=400, deadline=None)
@given(messages())
def test_no_reject_reason_contains_the_plate_r_anpr_privacy(message: tuple[str, bytes]) -> None:
    """R-ANPR-PRIVACY: whatever a payload holds, a reject names its field and its reason never carries
    the plate (or any other text of the payload), in any of the forms."""
    plate, body = message
    for decode in (decode_van_message, decode_platerecognizer, decode_openalpr):
        for reject in decode(body, NOW).rejects:
            assert reject.field
            assert plate not in reject.reason and plate.lower() not in reject.reason
