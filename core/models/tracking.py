"""GPS tracking: every fix an agent's phone sent (``gps_ping``, written by ``tracking.store``) and the
messages that could not be stored as fixes (``gps_dead_letter``), kept with the reason."""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import WKBElement
from sqlalchemy import BigInteger, DateTime, Double, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, point_4326

# One child table per UTC day, ``gps_ping_YYYYMMDD``, holding [day 00:00 UTC, next day 00:00 UTC).
# Children are created ahead by ``tracking`` (never by the migrations) and dropped whole by the
# retention prune, so the schema comparison leaves them out (``core.migrate.include_object``).
GPS_PARTITION_PREFIX = "gps_ping_"


class GpsPing(Base):
    """One fix of one device. The key (device_id, ts) makes a re-delivered message a no-op.
    ``agent_id`` is the device's agent when the fix arrived; not a foreign key, like the other
    high-volume columns, because the device registry is checked when the message is decoded."""

    __tablename__ = "gps_ping"
    __table_args__ = (
        Index("ix_gps_ping_agent_ts", "agent_id", "ts"),
        {"postgresql_partition_by": "RANGE (ts)"},
    )

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accuracy_m: Mapped[float | None] = mapped_column(Double)
    speed_mps: Mapped[float | None] = mapped_column(Double)
    heading_deg: Mapped[float | None] = mapped_column(Double)
    battery_pct: Mapped[int | None] = mapped_column(SmallInteger)


class GpsDeadLetter(Base):
    """A message, or one fix of it, that was not stored: the topic and the payload byte for byte (a
    payload that is not UTF-8 is kept too), and why."""

    __tablename__ = "gps_dead_letter"
    __table_args__ = (Index("ix_gps_dead_letter_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
