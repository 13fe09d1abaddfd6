"""ANPR: what the vans' cameras saw of hotlist vehicles, and nothing of any other vehicle
[R-ANPR-PRIVACY].

- ``anpr_hit``: one read that matched the hotlist, with the read's metadata;
- ``anpr_sighting``: the reads of one vehicle by one van within a few minutes, collapsed into one
  sighting (the unit a dispatcher, an alert and a keeper check deal with);
- ``anpr_read_count``: reads and hits per van and hour, the only trace of the reads that matched
  nothing;
- ``anpr_dead_letter``: a message or read that could not be taken, with the field and the reason but
  never the payload: a van's payload holds the marks of passing cars, which may not be kept.
"""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at_column, point_4326


class AnprSighting(Base):
    """One vehicle seen by one van: its first and last read, how many reads, the best match score and
    where it was last seen (null when the camera gave no position). ``case_ids`` are the warrants that
    had the vehicle on the hotlist at the first read."""

    __tablename__ = "anpr_sighting"
    __table_args__ = (
        CheckConstraint("keeper_result IN ('confirmed', 'new_address', 'different_keeper')",
                        name="anpr_sighting_keeper_result"),
        Index("ix_anpr_sighting_van_vehicle_last", "van_id", "vehicle_id", "last_seen_at"),
        Index("ix_anpr_sighting_first_seen", "first_seen_at"),
        Index("ix_anpr_sighting_case_ids", "case_ids", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    van_id: Mapped[int] = mapped_column(ForeignKey("van.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    vrm: Mapped[str] = mapped_column(String(8))
    case_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reads: Mapped[int] = mapped_column(Integer)
    best_score: Mapped[float] = mapped_column(Double)
    location: Mapped[WKBElement | None] = mapped_column(point_4326())
    # R-ANPR-KEEPER: not actionable until a keeper check is recorded; ``confirmed`` makes it so.
    keeper_result: Mapped[str | None] = mapped_column(String(20))
    keeper_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    keeper_checked_by: Mapped[str | None] = mapped_column(Text)
    actionable: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The agent alerted to the sighting, and when (null: no agent was available).
    alerted_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


class AnprHit(Base):
    """One read that matched a hotlist vehicle. Unique on (device, time, matched mark), so a message
    the broker delivers again adds nothing."""

    __tablename__ = "anpr_hit"
    __table_args__ = (
        UniqueConstraint("device_id", "ts", "vrm", name="uq_anpr_hit_device_ts_vrm"),
        Index("ix_anpr_hit_sighting", "sighting_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sighting_id: Mapped[int] = mapped_column(ForeignKey("anpr_sighting.id"))
    van_id: Mapped[int] = mapped_column(ForeignKey("van.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    plate_read: Mapped[str] = mapped_column(String(16))
    vrm: Mapped[str] = mapped_column(String(8))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    score: Mapped[float] = mapped_column(Double)
    how: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Double)
    location: Mapped[WKBElement | None] = mapped_column(point_4326())
    heading_deg: Mapped[float | None] = mapped_column(Double)
    speed_mps: Mapped[float | None] = mapped_column(Double)
    image_ref: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AnprReadCount(Base):
    """Reads and hits of one van in one hour (UTC, truncated)."""

    __tablename__ = "anpr_read_count"

    van_id: Mapped[int] = mapped_column(ForeignKey("van.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    reads: Mapped[int] = mapped_column(BigInteger)
    hits: Mapped[int] = mapped_column(BigInteger)


class AnprDeadLetter(Base):
    """A van message, webhook body or read that was not taken: where it came from, the field at fault
    and why, and the payload's size. ``digest`` is a keyed hash (HMAC) of the topic, payload and field,
    so that a redelivered message is not dead-lettered twice, without a hash that could be matched
    against guessed marks."""

    __tablename__ = "anpr_dead_letter"
    __table_args__ = (Index("ix_anpr_dead_letter_received_at", "received_at"),
                      Index("ix_anpr_dead_letter_digest", "digest"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(Text)       # the MQTT topic or the webhook's route
    device_id: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    payload_bytes: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    digest: Mapped[bytes] = mapped_column(LargeBinary)
