"""The capacity measures against hand-computed small worlds [000 §1.8, §2.94]: agent time (dwell plus
the travel that led to a stop, breaks excluded), the competing caseload in case-days, shares, the
deprioritisation index overall and per priority class, its bootstrap interval, and the flag."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import text

from regions import capacity_report, declare, month_period
from regions.index import index_estimates
from regions.sql import materialise
from tests.capacity_world import CapacityWorld
from tests.case_world import LAT, LON


@pytest.fixture
def world(db):
    return CapacityWorld(db)


def _small(world: CapacityWorld):
    """One day in TLK: agent X halts for a minute in traffic (09:10-09:11, shorter than a knock: idle) and
    visits A's case a1 (first fix 09:00, there 09:30-09:40: 1,800 s since the first fix less the 60 s
    halt is 1,740 s of travel, and 600 s of dwell); agent Y visits B's b1 (09:00, 09:10-09:20: 600 +
    600), then stops at no case address (10:00-10:05: 2,400 + 300 of other clients' work) and lunches
    (12:00-12:40, 20 minutes or more: a break). The plan served a1 and b1 (urgent), dropped A's a2 for
    capacity (due) and B's b2 out of reach (not competing). The firm declares 1 outside case in TLK."""
    db = world.db
    a, b, firm = world.buyer(), world.buyer(), world.firm()
    x, y = world.agent(firm), world.agent(firm)
    a1, a2, b1, b2 = world.case(a, firm), world.case(a, firm), world.case(b, firm), world.case(b, firm)
    d = world.day(4)
    world.plan(d, served=[(a1, x, 95), (b1, y, 95)], dropped=[(a2, "capacity", 60), (b2, "out of reach: x", 60)])
    world.agent_day(x, d, 9.0, [(None, 9 + 10 / 60, 9 + 11 / 60), (a1, 9.5, 9 + 40 / 60)])
    world.agent_day(y, d, 9.0, [(b1, 9 + 10 / 60, 9 + 20 / 60), (None, 10.0, 10 + 5 / 60), (None, 12.0, 12 + 40 / 60)])
    declare(db, subcontractor_id=firm.id, month=world.month, itl1_cd="TLK", outside_cases=1, outside_agents=2,
            actor="test")
    return a, b, firm, (x, y), (a1, a2, b1, b2)


def test_agent_time_shares_and_index_by_hand(world):
    a, b, firm, _, _ = _small(world)
    report = capacity_report(world.db, world.month)
    assert (report.min_work_s, report.break_s, report.door_s) == (120, 1200, 240)  # the defaults

    # Time: A 2,340 s, B 1,200 s, other clients 2,700 s (the halt and the lunch are idle) = 6,240 s.
    # Caseload (case-days, all in one 10 km square, so equally weighted): A 2 (a1 served, a2 dropped
    # for capacity), B 1 (b1; b2 was out of reach), other clients 1 (declared) -> 1/2, 1/4, 1/4.
    ia = report.index("TLK", a.reference)
    ib = report.index("TLK", b.reference)
    assert ia.seconds == pytest.approx(2340) and ib.seconds == pytest.approx(1200)
    assert ia.case_days == 2 and ib.case_days == 1
    assert ia.estimate.share_of_time == pytest.approx(2340 / 6240)
    assert ia.estimate.share_of_caseload == pytest.approx(0.5)
    assert ia.estimate.index == pytest.approx((2340 / 6240) / 0.5)
    assert ib.estimate.index == pytest.approx((1200 / 6240) / 0.25)
    # The subcontractor's own line in the region carries the same figures.
    assert report.index("TLK", a.reference, subcontractor=firm.reference).estimate.index == pytest.approx(ia.estimate.index)

    # Per class: urgent holds a1 and b1 only (1 case-day each), 2,340 s against 1,200 s.
    ua = report.index("TLK", a.reference, priority_class="urgent")
    ub = report.index("TLK", b.reference, priority_class="urgent")
    assert ua.estimate.index == pytest.approx((2340 / 3540) / 0.5)
    assert ub.estimate.index == pytest.approx((1200 / 3540) / 0.5)
    # Due holds only a2, which nobody visited: no agent time in the class, so no index.
    assert report.index("TLK", a.reference, priority_class="due") is None

    for line in (ia, ib, ua, ub):  # the interval brackets the estimate, and two agent-days say little
        assert line.estimate.low <= line.estimate.index <= line.estimate.high
        assert line.estimate.agent_days == 2
        assert not line.flagged


def test_the_table_of_000_1_8(world):
    a, _, firm, _, _ = _small(world)
    report = capacity_report(world.db, world.month)
    line = next(t for t in report.table if t.buyer == a.reference)
    assert (line.region, line.subcontractor) == ("TLK", firm.reference)
    assert line.cases_open == 2 and line.cases_placed == 0  # received before the month
    assert line.agents_allocated == 1  # x, planned and evidenced on a1
    assert line.agent_time_s == pytest.approx(2340)
    sub = next(s for s in report.subcontractors if s.subcontractor == firm.reference)
    assert (sub.platform_cases_open, sub.outside_cases, sub.total_caseload) == (4, 1, 5)
    assert (sub.platform_agents, sub.outside_agents) == (2, 2)
    assert sub.tracked_s == 2 * 8 * 3600
    assert sub.client_work_s == pytest.approx(6240) and sub.outside_work_s == pytest.approx(2700)
    assert line.share_of_business == pytest.approx(2 / 5)
    # A buyer's view keeps only its own lines.
    mine = report.for_buyer(a.reference)
    assert {t.buyer for t in mine.table} == {a.reference} and {i.buyer for i in mine.indices} == {a.reference}


def test_a_later_regional_run_replaces_the_whole_country_run(world):
    """The current plan of a day is, region by region, the latest run covering it."""
    a, b, firm = world.buyer(), world.buyer(), world.firm()
    x = world.agent(firm)
    a1, b1 = world.case(a, firm), world.case(b, firm)
    d = world.day(2)
    world.plan(d, served=[(a1, x, 95)], dropped=[(b1, "capacity", 95)])
    world.plan(d, served=[(b1, x, 95)], dropped=[], region="TLK")  # re-planned: only b1 competes now
    world.agent_day(x, d, 9.0, [(b1, 9.5, 9.75)])
    report = capacity_report(world.db, world.month)
    assert report.index("TLK", b.reference).case_days == 1
    assert report.index("TLK", a.reference) is None


def _many_days(world: CapacityWorld, days: int, b_visits_every: int):
    """``days`` days of two agents serving buyers A and B equally in the plan (one case-day each per
    agent), where B's planned visit is made only every ``b_visits_every``-th day; the agents work for
    other clients instead."""
    a, b, firm = world.buyer(), world.buyer(), world.firm()
    agents = [world.agent(firm), world.agent(firm)]
    cases = {(buyer.id, i): world.case(buyer, firm) for buyer in (a, b) for i in range(2)}
    for n in range(1, days + 1):
        d = world.day(n)
        world.plan(d, served=[(cases[(buyer.id, i)], agents[i], 95) for buyer in (a, b) for i in range(2)])
        for i, agent in enumerate(agents):
            visit_b = n % b_visits_every == 0
            world.agent_day(agent, d, 9.0, [(cases[(a.id, i)], 9.25, 9.5),
                                            (cases[(b.id, i)] if visit_b else None, 9.75, 10.0)])
    return a, b


def test_a_stop_at_no_case_address_takes_the_drive_only_when_it_is_a_destination(world):
    """The detour rule (``regions.sql``). Agent X: first fix 09:00, visit a1 09:10-09:20, a 3-minute stop
    at no case address 09:40-09:43, visit a2 0.1° east 10:00-10:10 (legs of 600, 1,200 and 1,020 s).
    Shorter than a door (240 s), the stop takes its detour: X's lies midway on the way (f = 0); agent
    Y's, on the same timetable, at the apex of the equilateral triangle on a1-a2, so passing by it
    doubles the distance (f = 1/2); agent Z goes from a1 to the stop and back to a1 (f = 1). Agent W
    stops midway for 5 minutes (09:40-09:45): a destination, it takes the drive that led to it."""
    a, firm = world.buyer(), world.firm()
    x, y, z, w = (world.agent(firm) for _ in range(4))
    a1, a2 = world.case(a, firm), world.case(a, firm, at=(LON + 0.1, LAT))
    d = world.day(3)
    midway = (LON + 0.05, LAT)
    half_m = 0.05 * math.cos(math.radians(LAT)) * 111320
    apex = (LON + 0.05, LAT + math.sqrt(3) * half_m / 110574)
    for agent, stop, back in ((x, midway, a2), (y, apex, a2), (z, midway, a1)):
        world.agent_day(agent, d, 9.0, [(a1, 9 + 10 / 60, 9 + 20 / 60), (None, 9 + 40 / 60, 9 + 43 / 60, stop),
                                        (back, 10.0, 10 + 10 / 60)])
    world.agent_day(w, d, 9.0, [(a1, 9 + 10 / 60, 9 + 20 / 60), (None, 9 + 40 / 60, 9 + 45 / 60, midway),
                                (a2, 10.0, 10 + 10 / 60)])
    materialise(world.db, month_period(world.month))
    rows = world.db.execute(text(
        "SELECT agent_id, dwell_s, travel_s FROM attributed WHERE agent_id = ANY(:ids) ORDER BY agent_id, arrival"),
        {"ids": [x.id, y.id, z.id, w.id]}).all()
    day = {ag: [(dwell, travel) for ag_, dwell, travel in rows if ag_ == ag] for ag in (x.id, y.id, z.id, w.id)}
    for ag in (x.id, y.id, z.id):  # every day holds 600 + 1,200 + 1,020 s of travel, whoever it goes to
        assert sum(t for _, t in day[ag]) == pytest.approx(2820), ag
        assert [round(dw) for dw, _ in day[ag]] == [600, 180, 600]
    assert [t for _, t in day[x.id]] == [pytest.approx(600), pytest.approx(0, abs=1), pytest.approx(2220, abs=1)]
    _, (_, tu), (_, t2) = day[y.id]
    assert tu == pytest.approx(0.5 * (1200 + 1020), rel=0.01) and t2 == pytest.approx(2220 - tu, abs=1)
    _, (_, tu), (_, t2) = day[z.id]
    assert (tu, t2) == (pytest.approx(2220), pytest.approx(0, abs=1e-6))
    assert day[w.id] == [(pytest.approx(600), pytest.approx(600)), (pytest.approx(300), pytest.approx(1200)),
                         (pytest.approx(600), pytest.approx(900))]


def test_a_deprioritised_buyer_is_flagged_when_the_interval_is_clear(world):
    """B's visits are made on one day in four: its share of time is far below its share of the
    caseload over 40 agent-days, and the time went to other clients' work."""
    a, b = _many_days(world, 20, 4)
    report = capacity_report(world.db, world.month)
    ib = report.index("TLK", b.reference)
    assert ib.estimate.high < 0.9 and ib.flagged
    assert ib.estimate.agent_days == 40
    assert not report.index("TLK", a.reference).flagged
    assert (("TLK", b.reference)) in {(i.region, i.buyer) for i in report.flags()}


def test_a_small_sample_raises_no_false_alarm(world):
    """The same shortfall over two days: the point estimate is as low, the interval is not clear."""
    _, b = _many_days(world, 2, 2)
    report = capacity_report(world.db, world.month)
    ib = report.index("TLK", b.reference)
    assert ib.estimate.index < 0.9
    assert ib.estimate.high >= 0.9 and not ib.flagged


def test_an_honest_month_flags_nobody(world):
    _, b = _many_days(world, 20, 1)
    report = capacity_report(world.db, world.month)
    assert report.flags() == []
    assert report.index("TLK", b.reference).estimate.index == pytest.approx(1.0)


def test_weekly_trend_follows_the_weeks(world):
    _, b = _many_days(world, 14, 1)
    report = capacity_report(world.db, world.month)
    weeks = sorted({w.week_start for w in report.weekly if w.buyer == b.reference})
    assert len(weeks) >= 2 and weeks[0] == world.month
    assert all(w.index == pytest.approx(1.0) for w in report.weekly if w.buyer == b.reference)


def test_bootstrap_interval_direction_by_hand():
    """Two agent-days, one all A and one all B: resamples give A a share of 1, 1/2 or 0."""
    est_a, _ = index_estimates([[100.0, 0.0], [0.0, 100.0]], [1.0, 1.0], samples=2000, seed=1)
    assert est_a.index == pytest.approx(1.0) and est_a.share_of_time == pytest.approx(0.5)
    assert est_a.low == pytest.approx(0.0) and est_a.high == pytest.approx(2.0)
    # No caseload, no estimate; no seconds at all, none either.
    assert index_estimates([[1.0, 0.0]], [1.0, 0.0])[1] is None
    assert index_estimates([[0.0, 0.0]], [1.0, 1.0]) == [None, None]
