"""Which agent or van an active device belongs to, for the ingest workers: a message names its device,
the rows it becomes name the device's owner (a phone's ``agent_id``, a van's ``van_id``)."""
from __future__ import annotations

import time

import psycopg
from psycopg import sql

from core.models import DeviceKind

# The one owner column each kind of device has (the ``device_owner_matches_kind`` constraint).
_OWNER = {DeviceKind.phone: "agent_id", DeviceKind.van: "van_id"}


class DeviceRegistry:
    """Device id → owner id of the active devices of one ``kind``, read from ``device``; read again when
    an unknown device is asked for (at most every ``miss_reload_s``) and every ``max_age_s``, so a
    device registered while the worker runs is known within seconds."""

    def __init__(self, conn: psycopg.Connection, kind: DeviceKind, max_age_s: float = 60,
                 miss_reload_s: float = 2) -> None:
        self.conn = conn
        self.kind = kind
        self.max_age_s = max_age_s
        self.miss_reload_s = miss_reload_s
        owner = sql.Identifier(_OWNER[kind])
        self._query = sql.SQL("SELECT device_id, {owner} FROM device "
                              "WHERE kind = %s AND active AND {owner} IS NOT NULL").format(owner=owner)
        self._owners: dict[str, int] = {}
        self._loaded = float("-inf")

    def _load(self) -> None:
        with self.conn.transaction():
            rows = self.conn.execute(self._query, (str(self.kind),)).fetchall()
        self._owners = dict(rows)
        self._loaded = time.monotonic()

    def owner_of(self, device_id: str) -> int | None:
        age = time.monotonic() - self._loaded
        if age > self.max_age_s or (device_id not in self._owners and age > self.miss_reload_s):
            self._load()
        return self._owners.get(device_id)
