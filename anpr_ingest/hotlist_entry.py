"""What a hit on a hotlist mark needs. Its own module because the store (which keys its
dropped-character index with ``matching.deletion_keys``) and the matcher (which returns entries)
both need it, and neither may import the other first."""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class HotlistEntry:
    """What a hit on one VRM needs: the vehicle and the warrants that put it on the list."""

    vehicle_id: int
    case_ids: tuple[int, ...]

    def dumps(self) -> str:
        return json.dumps({"vehicle_id": self.vehicle_id, "case_ids": list(self.case_ids)},
                          separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | bytes) -> HotlistEntry:
        d = json.loads(raw)
        return cls(int(d["vehicle_id"]), tuple(int(c) for c in d["case_ids"]))
