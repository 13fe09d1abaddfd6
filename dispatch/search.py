"""Searching a routing model (``dispatch.routing_model``): the search parameters, the first search,
and why a search that found no plan found none.

Search: iterated local search from scratch (``search_params``), guided local search from a warm start
(``dispatch.solver``'s fairness re-solves, then whatever time is left).
"""
from __future__ import annotations

from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_heuristic_parameters_pb2, routing_ils_pb2
from ortools.util import optional_boolean_pb2

from dispatch.routing_model import Inputs, Model

__all__ = ["ROUTING_FAIL_TIMEOUT", "ROUTING_INFEASIBLE", "first_search", "no_plan_status", "search_params"]

ROUTING_FAIL_TIMEOUT = routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT
ROUTING_INFEASIBLE = routing_enums_pb2.RoutingSearchStatus.ROUTING_INFEASIBLE

# Local-search operators left out of iterated local search: large-neighbourhood moves that ruin and
# recreate whole paths. Ruin-and-recreate already does that job between descents, and on a 100-visit
# Solomon day these operators made each descent ~8× slower (fewer than 30 iterations in 5 s).
_LNS_OPERATORS = ("global_cheapest_insertion_path_lns", "local_cheapest_insertion_path_lns",
                  "relocate_path_global_cheapest_insertion_insert_unperformed",
                  "global_cheapest_insertion_visit_types_lns", "local_cheapest_insertion_visit_types_lns",
                  "shortest_path_swap_active", "swap_active_chain", "shortest_path_two_opt")


def search_params(first_solution: str, time_limit_s: float, gls_lambda: float | None, log: bool,
                  iterated: bool) -> pywrapcp.DefaultRoutingSearchParameters:
    """Search parameters. ``iterated``: iterated local search for a solve from scratch — each iteration
    removes a few geographically close strings of visits (SISR ruin, Christiaens & Vanden Berghe 2020),
    reinserts them by cheapest insertion, descends to a local optimum and keeps the result by simulated
    annealing. Otherwise guided local search (used for warm starts, which ILS cannot take)."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    heuristics = routing_enums_pb2.LocalSearchMetaheuristic
    if iterated:
        params.local_search_metaheuristic = heuristics.GREEDY_DESCENT
        params.use_iterated_local_search = True
        for op in _LNS_OPERATORS:
            setattr(params.local_search_operators, f"use_{op}", optional_boolean_pb2.BOOL_FALSE)
        ils = params.iterated_local_search_parameters
        ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
        ils.improve_perturbed_solution = True
        rr = ils.ruin_recreate_parameters
        del rr.ruin_strategies[:]
        # The paper's suggested sizes; 5 or 20 visits on average did worse on the Solomon subset.
        rr.ruin_strategies.add().sisr.CopyFrom(routing_ils_pb2.SISRRuinStrategy(
            max_removed_sequence_size=10, avg_num_removed_visits=10, bypass_factor=0.01))
        rr.recreate_strategy.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
        # Reinsert in random order (as SISR does): a fixed order rebuilt the same routes from the same
        # ruin, and random order was ~0.15 points better on the Solomon subset in two runs. An urgent
        # visit left out by it makes the candidate far costlier, so annealing never accepts that.
        lci = rr.recreate_strategy.parameters.local_cheapest_insertion
        lci.insertion_sorting_properties.append(
            routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.SORTING_PROPERTY_RANDOM)
        # Temperatures from the model's own arc costs (0.1 and 0.001 × a sampled mean arc), so metres
        # on real days and scaled Solomon units anneal alike.
        sa = ils.reference_solution_acceptance_strategy.simulated_annealing
        sa.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
        sa.automatic_temperatures = True
        ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    else:
        params.local_search_metaheuristic = heuristics.GUIDED_LOCAL_SEARCH
        if gls_lambda is not None:
            params.guided_local_search_lambda_coefficient = gls_lambda
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    params.log_search = log
    return params

def first_search(model: Model, params: pywrapcp.DefaultRoutingSearchParameters,
                 iterated: bool) -> pywrapcp.Assignment | None:
    """A search of ``model`` from scratch: iterated local search, or (``iterated=False``) guided local
    search; None when it found no plan."""
    solution = (model.routing.SolveWithIteratedLocalSearch(params) if iterated
                else model.routing.SolveWithParameters(params))
    model.closed = True
    return solution


def no_plan_status(model: Model, inputs: Inputs) -> int:
    """Why a search of ``model`` (built from ``inputs``) found no plan: ``ROUTING_FAIL_TIMEOUT`` when
    a longer search may find one, ``ROUTING_INFEASIBLE`` when there is none to find.

    ``routing.status()`` says so after guided local search. Iterated local search leaves it at
    ``ROUTING_NOT_SOLVED`` whatever happened (OR-Tools 9.15), and a model whose search ran out of time
    reads no routes afterwards; so then a fresh model is asked for the empty plan. Every task may be
    dropped, so when even the empty plan breaks the model (an agent who cannot get to the end of the
    shift in time, with its breaks), no plan exists. A search that failed although the empty plan
    holds counts as out of time: a longer search may do better.
    """
    status = model.routing.status()
    if status in (ROUTING_FAIL_TIMEOUT, ROUTING_INFEASIBLE):
        return status
    if inputs.build(set()).read([[] for _ in inputs.shifts]) is None:
        return ROUTING_INFEASIBLE
    return ROUTING_FAIL_TIMEOUT
