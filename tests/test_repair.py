"""dispatch.repair: a route the independent validator rejects loses visits until it passes; a valid plan
is returned as it is. Planar matrices (metres, 25 km/h)."""
from __future__ import annotations

from datetime import timedelta

from dispatch.model import Break, Plan, PlannedVisit, Point, Route, Shift, TimeWindow, VisitTask
from dispatch.repair import repair
from dispatch.solver import solve
from dispatch.validator import validate
from tests.test_planner import DAY, MATRIX, assert_sound, at

DAYTIME = TimeWindow(at(7), at(20), None)


def packed_route() -> tuple[list[VisitTask], Shift, Route]:
    """Eight 15-minute visits 70 m apart, one every 1,000 s from 11:00: no room for the 30-minute break
    due between 11:30 and 13:00. The first visit is pinned."""
    shift = Shift(1, at(7), at(19), Point(0, 0), Point(0, 0), breaks=(Break(at(11, 30), at(13), 1800),))
    tasks, visits = [], []
    eta = at(11)
    for n in range(8):
        t = VisitTask(n + 1, "a", Point(70 * n, 0), (DAYTIME,), 900, 100,
                      pinned_agent=1 if n == 0 else None)
        tasks.append(t)
        visits.append(PlannedVisit(t.case_id, 1, n + 1, eta, eta + timedelta(seconds=900), DAYTIME, 900, "a", t.at))
        eta += timedelta(seconds=1000)
    return tasks, shift, Route(1, shift, tuple(visits), 1000.0, 8 * 1000)


def test_a_route_the_validator_rejects_loses_visits_until_it_passes():
    tasks, shift, route = packed_route()
    plan = Plan(DAY, [route], [])
    assert [v.kind for v in validate(plan, tasks, [shift], travel=MATRIX)] == ["break"]  # the premise

    fixed, taken_off = repair(plan, tasks, MATRIX)

    assert validate(fixed, tasks, [shift], travel=MATRIX) == []
    assert taken_off == len(fixed.dropped) == 2  # two neighbouring visits make room for the break
    assert all(d.reason == "capacity" for d in fixed.dropped)
    assert 1 in [v.case_id for v in fixed.routes[0].visits]  # the pinned visit stays
    gone = sorted(d.case_id for d in fixed.dropped)
    assert gone[1] == gone[0] + 1  # neighbours, inside the break's span
    assert all(at(11, 30) - timedelta(seconds=900) < route.visits[c - 1].eta < at(13) for c in gone)
    assert_sound(fixed, tasks, [shift])


def test_a_valid_plan_is_returned_as_it_is():
    tasks, shift, _ = packed_route()
    plan = solve(tasks, [shift], matrix=MATRIX, time_limit_s=1, day=DAY)
    assert validate(plan, tasks, [shift], travel=MATRIX) == []
    assert repair(plan, tasks, MATRIX) == (plan, 0)
