"""A small world of plans and GPS evidence for the capacity measures' tests (not fixtures): buyers,
one subcontractor's agents, cases in one ITL1 region, day plans, and agent-days of stops written as
tracking writes them (``visit_evidence``, ``unmatched_stop``, ``tracked_day``).

Each world lives in a month of its own, drawn at random from the past and used by no earlier world, so that a test's hand-computed
figures see only its own rows although the test database persists between runs."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import LONDON
from core.models import (
    Agent,
    Buyer,
    Case,
    PlanDropped,
    PlanRun,
    PlanVisit,
    Subcontractor,
    TrackedDay,
    UnmatchedStop,
    VisitEvidence,
)
from tests.case_world import LAT, LON, make_buyer, make_case
from tests.helpers import unique


def unused_month(db: Session) -> date:
    """A month of the past no earlier world used (no plan, no tracked day in it)."""
    while True:
        month = date(random.randint(2000, 2024), random.randint(1, 12), 1)
        end = (month + timedelta(days=32)).replace(day=1)
        if db.scalar(select(func.count()).select_from(PlanRun).where(PlanRun.day >= month, PlanRun.day < end)) == 0 \
                and db.scalar(select(func.count()).select_from(TrackedDay)
                              .where(TrackedDay.day >= month, TrackedDay.day < end)) == 0:
            return month


def _point(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon} {lat})", srid=4326)


class CapacityWorld:
    def __init__(self, db: Session, month: date | None = None):
        self.db = db
        self.month = month or unused_month(db)

    def day(self, n: int) -> date:
        """The month's ``n``-th day (1-based)."""
        return self.month + timedelta(days=n - 1)

    def at(self, day: date, hour: float) -> datetime:
        return (datetime.combine(day, datetime.min.time(), tzinfo=LONDON) + timedelta(hours=hour)).astimezone(UTC)

    def buyer(self) -> Buyer:
        return make_buyer(self.db)

    def firm(self) -> Subcontractor:
        firm = Subcontractor(reference=unique("firm"), name="Test Enforcement Ltd")
        self.db.add(firm)
        self.db.flush()
        return firm

    def agent(self, firm: Subcontractor, region: str = "TLK") -> Agent:
        agent = Agent(reference=unique("agent"), name="Test Agent", subcontractor_id=firm.id, itl1_cd=region,
                      home_base=_point(LON, LAT))
        self.db.add(agent)
        self.db.flush()
        return agent

    def case(self, buyer: Buyer, firm: Subcontractor, *, received: date | None = None,
             at: tuple[float, float] = (LON, LAT)) -> Case:
        case = make_case(self.db, buyer, at=at, received_on=received or self.month - timedelta(days=20),
                         assigned_subcontractor_id=firm.id)
        return case

    def plan(self, day: date, served: list[tuple[Case, Agent, int]],
             dropped: list[tuple[Case, str, int]] = (), region: str | None = None) -> int:
        """A stored run of ``day``: ``served`` (case, agent, priority) and ``dropped`` (case, reason,
        priority), every row in its case's region."""
        run = PlanRun(day=day, region=region, created_by="test", kind="plan", time_limit_s=1, stats={})
        self.db.add(run)
        self.db.flush()
        start = self.at(day, 9)
        for seq, (case, agent, priority) in enumerate(served, 1):
            self.db.add(PlanVisit(run_id=run.id, agent_id=agent.id, case_id=case.id, buyer_id=case.buyer_id,
                                  seq=seq, eta=start, etd=start, window_start=start, window_end=start,
                                  service_s=600, location=_point(LON, LAT), region=case.address.itl1_cd,
                                  priority=priority))
        for case, reason, priority in dropped:
            self.db.add(PlanDropped(run_id=run.id, case_id=case.id, buyer_id=case.buyer_id, reason=reason,
                                    location=_point(LON, LAT), region=case.address.itl1_cd, priority=priority))
        self.db.flush()
        return run.id

    def agent_day(self, agent: Agent, day: date, first_fix_h: float,
                  stops: list[tuple[Case | None, float, float] | tuple[None, float, float, tuple[float, float]]],
                  *, tracked_s: int = 8 * 3600) -> None:
        """The agent's day: its first fix at ``first_fix_h`` (London hours) and its stops (case or None
        for a stop at no case address, arrival and departure hours; a stop at no case address may give
        its (lon, lat), else it is 0.01° east of the default case address)."""
        device = f"phone-{agent.reference}"
        self.db.add(TrackedDay(agent_id=agent.id, day=day, first_fix_at=self.at(day, first_fix_h),
                               last_fix_at=self.at(day, first_fix_h) + timedelta(seconds=tracked_s),
                               tracked_s=tracked_s, fix_count=100))
        for case, arrive_h, depart_h, *where in stops:
            arrival, departure = self.at(day, arrive_h), self.at(day, depart_h)
            if case is None:
                self.db.add(UnmatchedStop(agent_id=agent.id, device_id=device, arrival=arrival, departure=departure,
                                          location=_point(*(where[0] if where else (LON + 0.01, LAT)))))
            else:
                self.db.add(VisitEvidence(case_id=case.id, agent_id=agent.id, device_id=device, arrival=arrival,
                                          departure=departure, dwell_s=int((departure - arrival).total_seconds()),
                                          address_line="1 Test Street", postcode="PL1 2AA", distance_m=5.0,
                                          fix_count=10, median_accuracy_m=5.0, source="fixes"))
        self.db.flush()
