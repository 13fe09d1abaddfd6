"""One pipeline for every way a read arrives (the vans' MQTT messages, the vendors' webhooks), as
Traccar feeds its protocol decoders into one processing chain: decode, check who sent it, match each
read against the hotlist, then hand the result to ``AnprStore``.

The van a read belongs to comes from the authenticated device: over MQTT the device named in the
message, which must be a registered van device of the van in the topic (the broker's ACL only lets a
van publish on its own topic; this check keeps a message naming another device out); over HTTP the
device that signed in to the webhook.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import redis

from anpr_ingest.hotlist_entry import HotlistEntry
from anpr_ingest.hotlist_store import lookup_dropped_many, lookup_many
from anpr_ingest.matching import dropped_keys_of, match, readings
from anpr_ingest.reads import DecodedReads, PlateRead, decode_van_message
from anpr_ingest.store import Letter, VanRead

TOPIC = "vans/+/anpr"
_TOPIC = re.compile(r"^vans/([1-9][0-9]{0,9})/anpr$")


@dataclass(frozen=True)
class Incoming:
    """One message or webhook body as it arrived."""

    source: str           # the MQTT topic, or the webhook's route
    payload: bytes
    received_at: datetime
    redelivered: bool = False


@dataclass
class Taken:
    """What a batch decoded to: reads of known vans, not yet matched, and the letters."""

    reads: list[tuple[int, str, PlateRead, datetime]]  # van, device, read, received at
    letters: list[Letter]

    def letter(self, m: Incoming, device_id: str | None, field: str, reason: str) -> None:
        self.letters.append(Letter(m.source, device_id, field, reason, m.payload, m.received_at, m.redelivered))

    def add(self, m: Incoming, decoded: DecodedReads, device_id: str | None, van_id: int) -> None:
        for r in decoded.rejects:
            self.letter(m, device_id, r.field, r.reason)
        self.reads += [(van_id, device_id, read, m.received_at) for read in decoded.reads]


def take_van_messages(messages: Sequence[Incoming], van_of: Callable[[str], int | None], now: datetime) -> Taken:
    """Decode MQTT messages of ``vans/{van_id}/anpr``; ``van_of``: a registered, active van device's
    van (None for any other device)."""
    taken = Taken([], [])
    for m in messages:
        decoded = decode_van_message(m.payload, now)
        topic = _TOPIC.match(m.source)
        if decoded.device_id is None:  # the whole message was refused, and says why
            for r in decoded.rejects:
                taken.letter(m, None, r.field, r.reason)
            continue
        van_id = van_of(decoded.device_id)
        if van_id is None:
            taken.letter(m, decoded.device_id, "device_id", "unknown device: not a registered, active van device")
        elif topic is None or int(topic.group(1)) != van_id:
            taken.letter(m, decoded.device_id, "topic", f"the topic is not the device's van (vans/{van_id}/anpr)")
        else:
            taken.add(m, decoded, decoded.device_id, van_id)
    return taken


def match_reads(taken: Taken, client: redis.Redis, threshold: float, *, namespace: str = "") -> list[VanRead]:
    """Each read of ``taken`` with its best hotlist match above ``threshold`` (or None): the readings
    of the whole batch looked up in one round trip, and its dropped-character keys in one more."""
    reads = [read for _, _, read, _ in taken.reads]
    marks = sorted({mark for read in reads for mark, _ in readings(read)})
    found = dict(zip(marks, lookup_many(client, marks, namespace=namespace), strict=True))
    keys = sorted({key for read in reads for key in dropped_keys_of(read, threshold)})
    dropped = dict(zip(keys, lookup_dropped_many(client, keys, namespace=namespace), strict=True))

    def lookup(vrms: list[str]) -> list[HotlistEntry | None]:
        return [found.get(v) for v in vrms]

    def lookup_dropped(asked: list[str]) -> list[list[tuple[str, HotlistEntry]]]:
        return [dropped[k] for k in asked]  # a key not fetched would be a bug in dropped_keys_of: raise

    return [VanRead(van, device, read, received_at, match(read, lookup, lookup_dropped, threshold))
            for van, device, read, received_at in taken.reads]


def take_webhook(decode: Callable[[bytes, datetime], DecodedReads], m: Incoming, device_id: str, van_id: int,
                 now: datetime) -> Taken:
    """Decode one vendor webhook body (``decode``: ``decode_platerecognizer`` or ``decode_openalpr``)
    sent by ``device_id``, signed in as a device of ``van_id``."""
    taken = Taken([], [])
    taken.add(m, decode(m.payload, now), device_id, van_id)
    return taken
