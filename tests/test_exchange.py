"""The exchange of visits between buyers on planned routes (``dispatch.exchange``): a class where the
trim stands down (it would cancel most of the region's day) reaches its fair share by putting the
worst-served buyer's visits in the place of the better-served one's, serving as many visits [000 §1.8,
§2.94]. Planar matrices (metres, 25 km/h), no services needed."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core import PriorityClass
from dispatch.exchange import exchange
from dispatch.fairness import FAIR_SHARE, FAIR_TARGET, class_shares, fairness_by_class, trim
from dispatch.model import Dropped, Plan, PlannedVisit, Point, Route, VisitTask
from dispatch.routes import remeasured
from tests.test_fairness import DAYTIME, shift, task
from tests.test_planner import DAY, MATRIX, assert_sound, at

ROUTINE = 10  # every visit here is of one class


def town_day() -> tuple[Plan, list[VisitTask]]:
    """One agent from (0, 0), 07:00-12:00, visiting the town's eight cases along a road 1 km apart every
    20 minutes (157 s to spare between them); two more town cases and four of the rural buyer's, each
    300 m off the road beside a town case, unplanned for lack of room. Case 1 is a dispatcher's pin."""
    town = [task(i, "town", 1_000 * i, 0, priority=ROUTINE) for i in range(1, 11)]
    town[0] = replace(town[0], pinned_agent=1)
    rural = [task(100 + i, "rural", 1_000 * i, 300, priority=ROUTINE) for i in (1, 3, 5, 7)]
    s = shift(1, 0, 0, start=7, end=12)
    visits = [PlannedVisit(t.case_id, 1, n, at(7) + timedelta(minutes=20 * n), at(7) + timedelta(minutes=20 * n,
                                                                                               seconds=t.service_s),
                           DAYTIME[0], t.service_s, t.buyer, t.at) for n, t in enumerate(town[:8], start=1)]
    route = remeasured(Route(1, s, (), 0.0, 5 * 3600), visits, MATRIX)
    dropped = [Dropped(t.case_id, t.buyer, t.at, "capacity") for t in [*town[8:], *rural]]
    return Plan(DAY, [route], dropped), [*town, *rural]


def test_the_premise_the_trim_stands_down_for_a_buyer_served_nothing():
    plan, tasks = town_day()
    assert_sound(plan, tasks, [plan.routes[0].shift])
    assert fairness_by_class(plan, tasks) == 0.0
    assert trim(plan, tasks, MATRIX) is plan  # cutting the town to none would cancel the day (TRIM_KEEP)


def test_exchange_puts_the_worst_served_buyers_visits_in_place_of_the_others_serving_as_many():
    plan, tasks = town_day()

    swapped = exchange(plan, tasks, MATRIX)

    assert_sound(swapped, tasks, [plan.routes[0].shift])
    assert swapped.served == plan.served == 8
    shares = class_shares(swapped, tasks)[("R", PriorityClass.routine)]
    # Rural is raised until the class is fair (the pin counts for no one): 2 of 4 against the town's
    # 5 of 9, a ratio of 0.5 ÷ 7/13 = 0.93, where the trim alone would have cut the day.
    assert shares == {"town": (9, 5), "rural": (4, 2)}
    assert fairness_by_class(swapped, tasks) >= FAIR_TARGET
    given_up = [d for d in swapped.dropped if d.reason == FAIR_SHARE]
    assert len(given_up) == 2 and {d.buyer for d in given_up} == {"town"}
    served = {v.case_id for v in swapped.routes[0].visits}
    assert 1 in served  # a pin is never given up, though rural's case 101 lies beside it
    assert len([c for c in served if c >= 100]) == 2
    # The other visits keep their times.
    times = {v.case_id: v.eta for v in plan.routes[0].visits}
    assert all(v.eta == times[v.case_id] for v in swapped.routes[0].visits if v.case_id in times)


def off_road(km: float) -> tuple[Plan, list[VisitTask]]:
    """``town_day`` with rural's cases ``km`` off the road."""
    plan, tasks = town_day()
    far = [replace(t, at=Point(t.at.lon, km * 1_000)) if t.buyer == "rural" else t for t in tasks]
    return Plan(DAY, plan.routes, [replace(d, at=Point(d.at.lon, km * 1_000)) if d.buyer == "rural" else d
                                   for d in plan.dropped]), far


def test_a_distant_visit_takes_the_place_of_a_run_of_visits_when_no_single_one_makes_room():
    # 30 km off the road (72 minutes each way): only the last two town visits make room for one rural
    # visit, the agent then driving home from it; in the next round the town visit before them makes
    # room for a second rural visit 2 km from the first. One visit fewer, and the class is fair.
    plan, tasks = off_road(30)

    swapped = exchange(plan, tasks, MATRIX)

    assert_sound(swapped, tasks, [plan.routes[0].shift])
    assert swapped.served == plan.served - 1
    assert class_shares(swapped, tasks)[("R", PriorityClass.routine)] == {"town": (9, 4), "rural": (4, 2)}
    assert fairness_by_class(swapped, tasks) >= FAIR_TARGET
    route = swapped.routes[0].visits
    assert [v.case_id for v in route[:5]] == [1, 2, 3, 4, 5] and {v.buyer for v in route[5:]} == {"rural"}
    assert sorted(d.case_id for d in swapped.dropped if d.reason == FAIR_SHARE) == [6, 7, 8]


def test_exchange_leaves_a_fair_plan_alone_and_moves_nothing_that_does_not_fit():
    plan, tasks = town_day()
    fair = [t for t in tasks if t.buyer == "town"]
    only_town = Plan(DAY, plan.routes, [d for d in plan.dropped if d.buyer == "town"])
    assert exchange(only_town, fair, MATRIX) is only_town
    # 60 km off the road: no agent gets there and back within the shift, whatever it gives up.
    far_plan, far = off_road(60)
    assert exchange(far_plan, far, MATRIX) is far_plan


def test_exchange_needs_an_agent_who_may_make_the_visit():
    plan, tasks = town_day()
    skilled = [replace(t, required_skills=frozenset({"vehicle"})) if t.buyer == "rural" else t for t in tasks]
    assert exchange(plan, skilled, MATRIX) is plan  # R-SKILL: the agent has no vehicle skill


def test_a_buyer_with_a_single_visit_is_served_it_when_that_raises_the_class():
    # Rural's one visit against the town's nine: served, it is above the town's rate (1/1 against 6/9),
    # but the town's 6/9 of the class's 7/10 is a ratio of 0.95, where it was 0 for rural.
    plan, tasks = town_day()
    tasks = [t for t in tasks if t.buyer == "town" or t.case_id == 101]
    plan = Plan(DAY, plan.routes, [d for d in plan.dropped if d.buyer == "town" or d.case_id == 101])

    swapped = exchange(plan, tasks, MATRIX)

    assert class_shares(swapped, tasks)[("R", PriorityClass.routine)] == {"town": (9, 6), "rural": (1, 1)}
    assert fairness_by_class(swapped, tasks) >= FAIR_TARGET
    assert_sound(swapped, tasks, [plan.routes[0].shift])
