"""The capacity measures against hand-computed small worlds [000 §1.8, §2.94]: agent time (dwell plus
the travel that led to a stop, breaks excluded), the competing caseload in case-days, shares, the
deprioritisation index overall and per priority class, its bootstrap interval, and the flag."""
from __future__ import annotations

import pytest

from regions import capacity_report, declare
from regions.index import index_estimates
from tests.capacity_world import CapacityWorld


@pytest.fixture
def world(db):
    return CapacityWorld(db)


def _small(world: CapacityWorld):
    """One day in TLK: agent X visits A's case a1 (first fix 09:00, there 09:30-09:40: 1,800 s of travel
    and 600 s of dwell); agent Y visits B's b1 (09:00, 09:10-09:20: 600 + 600), then stops at no case
    address (10:00-10:05: 2,400 + 300 of other clients' work) and lunches (12:00-12:40, longer than any
    visit: a break). The plan served a1 and b1 (urgent), dropped A's a2 for capacity (due) and B's b2
    out of reach (not competing). The firm declares 1 outside case in TLK."""
    db = world.db
    a, b, firm = world.buyer(), world.buyer(), world.firm()
    x, y = world.agent(firm), world.agent(firm)
    a1, a2, b1, b2 = world.case(a, firm), world.case(a, firm), world.case(b, firm), world.case(b, firm)
    d = world.day(4)
    world.plan(d, served=[(a1, x, 95), (b1, y, 95)], dropped=[(a2, "capacity", 60), (b2, "out of reach: x", 60)])
    world.agent_day(x, d, 9.0, [(a1, 9.5, 9 + 40 / 60)])
    world.agent_day(y, d, 9.0, [(b1, 9 + 10 / 60, 9 + 20 / 60), (None, 10.0, 10 + 5 / 60), (None, 12.0, 12 + 40 / 60)])
    declare(db, subcontractor_id=firm.id, month=world.month, itl1_cd="TLK", outside_cases=1, outside_agents=2,
            actor="test")
    return a, b, firm, (x, y), (a1, a2, b1, b2)


def test_agent_time_shares_and_index_by_hand(world):
    a, b, firm, _, _ = _small(world)
    report = capacity_report(world.db, world.month)
    assert report.break_s == pytest.approx(600)  # the 95th percentile of the two 600 s visits

    # Time: A 2,400 s, B 1,200 s, other clients 2,700 s (the lunch is a break) = 6,300 s.
    # Caseload (case-days, all in one 10 km square, so equally weighted): A 2 (a1 served, a2 dropped
    # for capacity), B 1 (b1; b2 was out of reach), other clients 1 (declared) -> 1/2, 1/4, 1/4.
    ia = report.index("TLK", a.reference)
    ib = report.index("TLK", b.reference)
    assert ia.seconds == pytest.approx(2400) and ib.seconds == pytest.approx(1200)
    assert ia.case_days == 2 and ib.case_days == 1
    assert ia.estimate.share_of_time == pytest.approx(2400 / 6300)
    assert ia.estimate.share_of_caseload == pytest.approx(0.5)
    assert ia.estimate.index == pytest.approx((2400 / 6300) / 0.5)
    assert ib.estimate.index == pytest.approx((1200 / 6300) / 0.25)
    # The subcontractor's own line in the region carries the same figures.
    assert report.index("TLK", a.reference, subcontractor=firm.reference).estimate.index == pytest.approx(ia.estimate.index)

    # Per class: urgent holds a1 and b1 only (1 case-day each), 2,400 s against 1,200 s.
    ua = report.index("TLK", a.reference, priority_class="urgent")
    ub = report.index("TLK", b.reference, priority_class="urgent")
    assert ua.estimate.index == pytest.approx((2400 / 3600) / 0.5)
    assert ub.estimate.index == pytest.approx((1200 / 3600) / 0.5)
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
    assert line.agent_time_s == pytest.approx(2400)
    sub = next(s for s in report.subcontractors if s.subcontractor == firm.reference)
    assert (sub.platform_cases_open, sub.outside_cases, sub.total_caseload) == (4, 1, 5)
    assert (sub.platform_agents, sub.outside_agents) == (2, 2)
    assert sub.tracked_s == 2 * 8 * 3600
    assert sub.client_work_s == pytest.approx(6300) and sub.outside_work_s == pytest.approx(2700)
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
