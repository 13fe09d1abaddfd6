"""Splitting a day into sub-problems (dispatch.split): every task in exactly one sub-problem or dropped
with a reason, clusters bounded and compact, tasks kept in their region, fair offers when a region is
over capacity. Pure functions on planar coordinates (metres); no services needed."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.model import Point, Shift, TimeWindow, VisitTask
from dispatch.split import cluster_agents, planar, split_day

START, END = datetime(2026, 11, 23, 7, tzinfo=UTC), datetime(2026, 11, 23, 19, tzinfo=UTC)
WINDOW = TimeWindow(START, END, None)


def shift(agent_id: int, x: float, y: float, region: str | None = "A", **kw) -> Shift:
    return Shift(agent_id=agent_id, start=START, end=END, start_at=Point(x, y), end_at=Point(x, y),
                 region=region, **kw)


def task(case_id: int, x: float, y: float, region: str | None = "A", **kw) -> VisitTask:
    return VisitTask(**{"case_id": case_id, "buyer": "b1", "at": Point(x, y), "windows": (WINDOW,),
                        "service_s": 900, "priority": 100, "region": region, **kw})


def assert_partition(tasks: list[VisitTask], shifts: list[Shift], max_agents: int, **kw) -> None:
    split = split_day(tasks, shifts, max_agents=max_agents, project=planar, **kw)
    placed = Counter(t.case_id for p in split.parts for t in p.tasks)
    dropped = Counter(d.case_id for d in split.dropped)
    assert all(n == 1 for n in placed.values()) and all(n == 1 for n in dropped.values())
    assert not placed.keys() & dropped.keys()
    assert placed.keys() | dropped.keys() == {t.case_id for t in tasks}  # none lost, none invented
    assert all(d.reason.strip() for d in split.dropped)
    agents = Counter(s.agent_id for p in split.parts for s in p.shifts)
    assert all(n == 1 for n in agents.values())  # no agent in two sub-problems: no double assignment
    assert agents.keys() <= {s.agent_id for s in shifts}
    for part in split.parts:
        assert 1 <= len(part.shifts) <= max_agents
        ids = {s.agent_id for s in part.shifts}
        for t in part.tasks:
            if t.pinned_agent is not None:
                assert t.pinned_agent in ids
            else:
                assert any(t.required_skills <= s.skills and (s.certificated or not t.needs_certificated)
                           for s in part.shifts)


regions = st.sampled_from(["A", "B", "C", None])
skills = st.frozensets(st.sampled_from(["vehicle", "commercial"]), max_size=2)


@st.composite
def days(draw):
    n_shifts = draw(st.integers(0, 25))
    shifts = [shift(100 + i, draw(st.floats(0, 50_000)), draw(st.floats(0, 50_000)), draw(regions),
                    skills=draw(skills), certificated=draw(st.booleans()))
              for i in range(n_shifts)]
    tasks = []
    for i in range(draw(st.integers(0, 120))):
        pin = draw(st.one_of(st.none(), st.integers(100, 130)))
        tasks.append(task(i, draw(st.floats(0, 50_000)), draw(st.floats(0, 50_000)), draw(regions),
                          buyer=draw(st.sampled_from(["b1", "b2", "b3"])), priority=draw(st.sampled_from([10, 50, 100])),
                          required_skills=draw(skills), needs_certificated=draw(st.booleans()), pinned_agent=pin))
    return tasks, shifts


@settings(max_examples=60, deadline=None)
@given(days(), st.integers(1, 6), st.sampled_from([None, 0.1, 1.3]))
def test_every_task_is_in_exactly_one_sub_problem_or_dropped_with_a_reason(day, max_agents, offer_factor):
    tasks, shifts = day
    assert_partition(tasks, shifts, max_agents, offer_factor=offer_factor)


def test_clusters_are_bounded_balanced_and_compact():
    # Three towns 40 km apart along a road, 4 agents each (listed out of order): clusters of at most 4
    # are the towns.
    shifts = [shift(i, 40_000 * (i % 3) + 100 * i, 500 * (i % 2)) for i in range(12)]
    groups = cluster_agents(shifts, max_agents=4, project=planar)
    assert sorted({s.start_at.lon // 40_000 for s in g}.pop() for g in groups if len({s.start_at.lon // 40_000 for s in g}) == 1) == [0, 1, 2]
    assert sorted(s.agent_id for g in groups for s in g) == list(range(12))
    # 10 agents in clusters of at most 4: three clusters of 3, 3 and 4.
    assert sorted(len(g) for g in cluster_agents(shifts[:10], max_agents=4, project=planar)) == [3, 3, 4]


def test_tasks_stay_in_their_region_and_go_to_the_nearest_cluster():
    shifts = [shift(1, 0, 0, "A"), shift(2, 30_000, 0, "A"), shift(3, 1_000, 0, "B")]
    tasks = [task(1, 29_000, 0, "A"), task(2, 500, 0, "A"), task(3, 29_000, 0, "B")]
    split = split_day(tasks, shifts, max_agents=1, project=planar)
    where = {t.case_id: {s.agent_id for s in p.shifts} for p in split.parts for t in p.tasks}
    assert where == {1: {2}, 2: {1}, 3: {3}}  # task 3 is nearer agent 2, but agent 2 works region A


def test_region_without_agents_goes_to_the_nearest_able_agent_and_nobody_able_is_dropped():
    shifts = [shift(1, 0, 0, "A"), shift(2, 50_000, 0, "B", skills=frozenset({"commercial"}))]
    tasks = [task(1, 40_000, 0, "C"),  # no agent in C: nearest is agent 2
             task(2, 100, 0, "A", required_skills=frozenset({"commercial"})),  # nobody in A may: agent 2
             task(3, 100, 0, "A", required_skills=frozenset({"vehicle"}))]  # nobody at all
    split = split_day(tasks, shifts, max_agents=4, project=planar)
    where = {t.case_id: {s.agent_id for s in p.shifts} for p in split.parts for t in p.tasks}
    assert where == {1: {2}, 2: {2}}
    assert [(d.case_id, d.reason) for d in split.dropped] == [(3, "no agent with skill vehicle")]


def test_pins_follow_their_agent_and_a_pin_to_an_absent_agent_is_dropped():
    shifts = [shift(1, 0, 0), shift(2, 30_000, 0)]
    tasks = [task(1, 0, 0, pinned_agent=2), task(2, 0, 0, pinned_agent=9)]
    split = split_day(tasks, shifts, max_agents=1, project=planar)
    assert [(p.shifts[0].agent_id, [t.case_id for t in p.tasks]) for p in split.parts] == [(2, [1])]
    assert [(d.case_id, d.reason) for d in split.dropped] == [(2, "pinned agent 9 not on shift")]


def test_over_capacity_region_offers_by_priority_then_a_fair_share_per_buyer():
    # One agent's 12 hours hold about 43,200 / (900 + 700) = 27 visits; with offer_factor 1 that many are
    # offered.
    shifts = [shift(1, 0, 0)]
    urgent = [task(i, 100 * i, 0, buyer="b1" if i % 4 else "b2") for i in range(20)]  # 15 b1, 5 b2
    low = [task(100 + i, 10 * i, 0, priority=10, buyer="b1" if i % 2 else "b2") for i in range(100)]
    split = split_day(urgent + low, shifts, max_agents=4, offer_factor=1.0, project=planar)
    offered = [t for p in split.parts for t in p.tasks]
    assert len(offered) == 27
    assert {t.case_id for t in urgent} <= {t.case_id for t in offered}  # urgent first, whatever the distance
    rest = Counter(t.buyer for t in offered if t.priority == 10)
    assert sorted(rest.values()) == [3, 4]  # 7 places shared 50:50
    assert {d.reason for d in split.dropped} == {"capacity"} and len(split.dropped) == 93


def test_no_shifts_drops_everything():
    split = split_day([task(1, 0, 0)], [], project=planar)
    assert split.parts == () and [(d.case_id, d.reason) for d in split.dropped] == [(1, "no agent on shift")]
