"""GPS tracking: every fix an agent's phone sent (``gps_ping``, written by ``tracking.store``) and the
messages that could not be stored as fixes (``gps_dead_letter``), kept with the reason; the OwnTracks apps'
geofence events (``gps_transition``); the stops matched
to case addresses (``visit_evidence``) and those that were not (``unmatched_stop``)."""
from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at_column, point_4326

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
    payload that is not UTF-8 is kept too), and why. ``digest`` (``tracking.store.letter_digest``: the
    topic, payload and kind of fault) is what a redelivered message is checked against, so that a
    message resent after a crash between commit and acknowledgement is not dead-lettered twice."""

    __tablename__ = "gps_dead_letter"
    __table_args__ = (Index("ix_gps_dead_letter_received_at", "received_at"),
                      Index("ix_gps_dead_letter_digest", "digest"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    digest: Mapped[bytes] = mapped_column(LargeBinary)


class GpsTransition(Base):
    """An OwnTracks app's ``transition`` event: the phone entered or left one of the 50 m regions it was
    sent as waypoints (``region``: the region's ``desc``, the case id for a planned visit). The fix of the
    same message is stored in gps_ping as well; this keeps what the event adds. Re-delivery is a no-op
    (unique on device, ts, event and region)."""

    __tablename__ = "gps_transition"
    __table_args__ = (
        UniqueConstraint("device_id", "ts", "event", "region", name="uq_gps_transition"),
        CheckConstraint("event IN ('enter', 'leave')", name="gps_transition_event"),
        Index("ix_gps_transition_agent_ts", "agent_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(5))
    region: Mapped[str] = mapped_column(Text)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    accuracy_m: Mapped[float | None] = mapped_column(Double)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VisitEvidence(Base):
    """A stop of an agent's phone matched to a case address: the GPS evidence of a visit
    [R-VISIT-EVIDENCE]. The address line and postcode are copied from the case at match time, so the
    evidence still says where the agent was if the case's address is corrected later. Unique on
    (device_id, arrival, case_id): re-running a day updates the row instead of adding one, and several
    cases at one address point may share a stop's span (``tracking.shared_door``)."""

    __tablename__ = "visit_evidence"
    __table_args__ = (
        UniqueConstraint("device_id", "arrival", "case_id", name="uq_visit_evidence_device_arrival_case"),
        CheckConstraint("source IN ('fixes', 'transition')", name="visit_evidence_source"),
        Index("ix_visit_evidence_case", "case_id"),
        Index("ix_visit_evidence_agent_arrival", "agent_id", "arrival"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    arrival: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    departure: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dwell_s: Mapped[int] = mapped_column(Integer)
    address_line: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str] = mapped_column(String(8))
    distance_m: Mapped[float] = mapped_column(Double)
    fix_count: Mapped[int] = mapped_column(Integer)
    median_accuracy_m: Mapped[float | None] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(10))
    # The phone's fixes around the stop, ``[[ts ISO 8601, lat, lon], …]`` in time order, copied when the
    # evidence is recorded: the buyer's evidence map still shows them after gps_ping's day is pruned.
    trail: Mapped[list | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()


class UnmatchedStop(Base):
    """A stop near none of the agent's case addresses, kept for the dispatcher to review, with the
    nearest postcode (null when no postcode centroid is near, e.g. offshore)."""

    __tablename__ = "unmatched_stop"
    __table_args__ = (
        UniqueConstraint("device_id", "arrival", name="uq_unmatched_stop_device_arrival"),
        Index("ix_unmatched_stop_agent_arrival", "agent_id", "arrival"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    arrival: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    departure: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    location: Mapped[WKBElement] = mapped_column(point_4326())
    nearest_postcode: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_at_column()


class TrackedDay(Base):
    """An agent's tracked working time on one London day, from its phones' fixes: the first and last
    fix, and ``tracked_s``, the time between consecutive fixes no more than ``tracking.TRACKED_GAP_S``
    apart (a longer silence is not known to be work). Written with the day's evidence
    (``tracking.record_day_evidence``) and kept after gps_ping's partitions are pruned: it is the
    denominator of the agents' time in the capacity report [000 §1.8]."""

    __tablename__ = "tracked_day"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    first_fix_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_fix_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tracked_s: Mapped[int] = mapped_column(Integer)
    fix_count: Mapped[int] = mapped_column(Integer)
