"""Stored day plans (written and read by ``dispatch.store``) and dispatchers' pins."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at_column, enum_check, point_4326


class PlanKind(enum.StrEnum):
    plan = "plan"      # a whole day planned (``bailiwick plan``, ``POST /plans``)
    replan = "replan"  # the rest of a day re-planned around what is done, under way or pinned


class PlanRun(Base):
    """One stored plan of a day, for one region (ITL1 code) or, with ``region`` null, the whole
    country. The day's current plan is, region by region, the latest run covering that region
    (``dispatch.store.load_current_plan``); older runs stay as the record of what was planned."""

    __tablename__ = "plan_run"
    __table_args__ = (enum_check("kind", PlanKind), Index("ix_plan_run_day_region", "day", "region"))

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(3))  # not a foreign key: geography is reloaded
    created_at: Mapped[datetime] = created_at_column()
    created_by: Mapped[str] = mapped_column(String(100))  # the actor: "user:12", "cli", …
    kind: Mapped[str] = mapped_column(String(10), default=PlanKind.plan)
    time_limit_s: Mapped[float]
    # served, dropped, dropped_by_reason, distance_m, solve_seconds, fairness_ratio, agents, …
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class PlanRoute(Base):
    """One agent's day in a run: the shift it was planned for, its travel and its line on the map
    (start point, every visit in order, end point). ``region`` is the slice of the run it belongs to
    (the agent's region, or the run's for a regional run)."""

    __tablename__ = "plan_route"
    __table_args__ = (
        UniqueConstraint("run_id", "agent_id", name="uq_plan_route_run_agent"),
        Index("ix_plan_route_run_region", "run_id", "region"),
        Index("ix_plan_route_agent", "agent_id"),
        Index("ix_plan_route_start_point", "start_point", postgresql_using="gist"),
        Index("ix_plan_route_end_point", "end_point", postgresql_using="gist"),
        Index("ix_plan_route_path", "path", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_run.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    region: Mapped[str | None] = mapped_column(String(3))
    shift_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    shift_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start_point: Mapped[WKBElement] = mapped_column(point_4326())
    end_point: Mapped[WKBElement] = mapped_column(point_4326())
    distance_m: Mapped[float]
    duration_s: Mapped[int] = mapped_column(Integer)
    path: Mapped[WKBElement] = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))


class PlanVisit(Base):
    """One planned visit: which agent, in what order, when (ETA/ETD), in which hard window.
    ``region`` is the case address's ITL1 code."""

    __tablename__ = "plan_visit"
    __table_args__ = (
        UniqueConstraint("run_id", "case_id", name="uq_plan_visit_run_case"),
        UniqueConstraint("run_id", "agent_id", "seq", name="uq_plan_visit_run_agent_seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("etd >= eta", name="etd_after_eta"),
        Index("ix_plan_visit_case", "case_id"),
        Index("ix_plan_visit_run_buyer", "run_id", "buyer_id"),
        Index("ix_plan_visit_agent_eta", "agent_id", "eta"),
        Index("ix_plan_visit_location", "location", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_run.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    seq: Mapped[int] = mapped_column(Integer)
    eta: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    etd: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The band the visit counts for (R-VISIT-TIMES) and the band of the hard window it falls in:
    # policy bands overlap, so the two can differ.
    time_band: Mapped[str | None] = mapped_column(String(20))
    window_band: Mapped[str | None] = mapped_column(String(20))
    service_s: Mapped[int] = mapped_column(Integer)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    region: Mapped[str | None] = mapped_column(String(3))
    # The task's priority when planned (0-100, ``core.priority_class`` gives its class); null in runs
    # stored before it was kept.
    priority: Mapped[int | None] = mapped_column(SmallInteger)


class PlanDropped(Base):
    """An eligible visit a run left out, and why (a rule id or a plain reason such as "capacity")."""

    __tablename__ = "plan_dropped"
    __table_args__ = (
        UniqueConstraint("run_id", "case_id", name="uq_plan_dropped_run_case"),
        Index("ix_plan_dropped_run_region", "run_id", "region"),
        Index("ix_plan_dropped_run_buyer", "run_id", "buyer_id"),
        Index("ix_plan_dropped_case", "case_id"),
        Index("ix_plan_dropped_location", "location", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_run.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id"))
    reason: Mapped[str] = mapped_column(Text)
    location: Mapped[WKBElement] = mapped_column(point_4326())
    region: Mapped[str | None] = mapped_column(String(3))
    priority: Mapped[int | None] = mapped_column(SmallInteger)  # as PlanVisit.priority


class PlanPin(Base):
    """A dispatcher's pin: on ``day`` the case is visited by ``agent_id`` (at ``at``, or at any time
    when null). At most one pin per case and day."""

    __tablename__ = "plan_pin"
    __table_args__ = (
        UniqueConstraint("day", "case_id", name="uq_plan_pin_day_case"),
        Index("ix_plan_pin_agent_day", "agent_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
