"""A portfolio of searches (``solve(searches=…)``): the extra searches run in processes of their own,
their plans come back over pipes, the cheapest is kept and read back into the first search's model
exactly; a search that died or never answered is not waited for."""
from __future__ import annotations

import multiprocessing
import time

import pytest

from core import get_settings
from dispatch.portfolio import PORTFOLIO_MIN_S, cheapest, search
from dispatch.routing_model import model_inputs
from dispatch.search import search_params
from dispatch.solomon import plan_distance, read_instance, to_problem
from dispatch.solver import solve


@pytest.fixture(scope="module")
def r101():
    inst = read_instance(get_settings().shared_dir / "bench" / "solomon" / "instances" / "R101.txt")
    return inst, to_problem(inst)


def test_the_cheapest_answer_is_kept_and_read_back_exactly(r101):
    _, p = r101
    inputs, dropped = model_inputs(p.tasks, p.shifts, p.matrix, p.vehicle_capacity, 1)
    assert dropped == []
    answers = [search(inputs, first, time.monotonic() + 0.5, None, True)
               for first in ("SAVINGS", "PARALLEL_CHEAPEST_INSERTION")]
    assert all(a is not None for a in answers)
    pipes = [multiprocessing.Pipe() for _ in answers]
    for (_, sender), answer in zip(pipes, answers):
        sender.send(answer)
    model = inputs.build(set())
    kept = cheapest(model, None, [receiver for receiver, _ in pipes], time.monotonic())
    best = min(range(2), key=lambda k: answers[k][0])
    assert kept.answered == 2 and kept.search == best + 1
    assert kept.solution.ObjectiveValue() == answers[best][0]
    assert model.routes(kept.solution) == answers[best][1]


def test_a_search_that_died_or_stayed_silent_is_not_waited_for(r101):
    _, p = r101
    inputs, _ = model_inputs(p.tasks, p.shifts, p.matrix, p.vehicle_capacity, 1)
    answer = search(inputs, "SAVINGS", time.monotonic() + 0.3, None, True)
    assert answer is not None
    model = inputs.build(set())
    dead, dead_sender = multiprocessing.Pipe()
    dead_sender.close()
    silent, _silent_sender = multiprocessing.Pipe()
    t0 = time.monotonic()
    kept = cheapest(model, None, [dead, silent], time.monotonic())
    assert kept.solution is None and kept.answered == 0
    assert time.monotonic() - t0 < 2  # the silent one gets the grace after the deadline, no more
    # A plan of the first search's own stays unless an answer is cheaper.
    solution = model.routing.SolveWithIteratedLocalSearch(
        search_params("LOCAL_CHEAPEST_INSERTION", 0.5, None, False, True))
    mine, theirs = multiprocessing.Pipe()
    theirs.send(answer)
    kept = cheapest(model, solution, [mine, dead], time.monotonic())
    assert kept.answered == 2
    if solution.ObjectiveValue() <= answer[0]:
        assert kept.search == 0 and kept.solution is solution
    else:
        assert kept.search == 1 and kept.solution.ObjectiveValue() == answer[0]


def test_solve_hears_every_search_of_its_portfolio_within_its_time(r101):
    inst, p = r101
    plan = solve(p.tasks, p.shifts, matrix=p.matrix, time_limit_s=PORTFOLIO_MIN_S, day=p.day,
                 vehicle_capacity=p.vehicle_capacity, searches=3)
    assert plan.stats["searches_answered"] == 3
    assert plan.stats["search_kept"] in (0, 1, 2)
    assert plan.served == 100 and plan.dropped == []
    assert plan.stats["solve_seconds"] < PORTFOLIO_MIN_S + 0.5  # the limit covers the whole call
    assert plan_distance(inst, plan) == pytest.approx(plan.stats["distance_m"] / 1000, rel=1e-3)


def test_a_short_time_limit_keeps_one_search(r101):
    # Starting a process could take most of it (PORTFOLIO_MIN_S).
    _, p = r101
    plan = solve(p.tasks, p.shifts, matrix=p.matrix, time_limit_s=1, day=p.day,
                 vehicle_capacity=p.vehicle_capacity, searches=2)
    assert plan.stats["searches_answered"] == 1 and plan.stats["search_kept"] == 0
    assert plan.served == 100
