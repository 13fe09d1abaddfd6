"""A portfolio of searches: several first searches of one model at once, each extra one in a process of
its own, so that one sub-problem uses a machine's cores (``dispatch.solver.solve``'s ``searches``).

Each extra search starts from another first solution (``PORTFOLIO_FIRST_SOLUTIONS``), so that they
descend into different local optima; all stop on one deadline and send back their plan's cost and
routes over a pipe; the cheapest plan is read back into the first search's model (``cheapest``).
``worker_context`` is also how ``dispatch.planner`` starts its pool of solver processes.
"""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

from ortools.constraint_solver import pywrapcp

from dispatch.routing_model import Inputs, Model
from dispatch.search import first_search, search_params

__all__ = ["PORTFOLIO_FIRST_SOLUTIONS", "PORTFOLIO_MIN_S", "PORTFOLIO_READ_S", "Kept", "cheapest", "processes",
           "search", "worker_context"]

# The first solutions of a portfolio's extra searches, in turn (the first search keeps the caller's).
PORTFOLIO_FIRST_SOLUTIONS = ("SAVINGS", "PARALLEL_CHEAPEST_INSERTION")
# How long past the shared deadline the first search waits for the others' plans: they stop on the
# same clock, and only have their routes to send back.
_PORTFOLIO_GRACE_S = 0.5
# The least time limit for which ``solve`` runs a portfolio. The first portfolio process a process
# starts costs ~1.4 s (measured on the 2-core machine: its forkserver imports OR-Tools; later ones
# 0.01 s), taken from the first search's time; with less than this, that costs more than a second
# search gives.
PORTFOLIO_MIN_S = 5.0
# Kept from a portfolio's search time for receiving the cheapest plan and reading it back (measured:
# without it, 3 of 56 Solomon instances ended 0.01-0.02 s past a 10 s limit).
PORTFOLIO_READ_S = 0.1


def worker_context(preload: str = "dispatch.solver") -> multiprocessing.context.BaseContext:
    """``forkserver`` with ``preload`` (a module) imported: workers fork from a clean server process
    that has already imported OR-Tools, so they start in milliseconds once the server is up (it stays
    up for the life of this process, with the first call's ``preload``), and nothing of the caller
    (threads, database connections) is forked."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([preload])
    return context


def search(inputs: Inputs, first_solution: str, deadline: float, gls_lambda: float | None,
           iterated: bool) -> tuple[int, list[list[int]]] | None:
    """One search of a portfolio, in its own process: the first search's model and search from
    ``first_solution`` until ``deadline`` (``time.monotonic``, one clock for every process). Its plan's
    cost and routes (task positions), or None if it found none."""
    model = inputs.build(set())
    solution = first_search(model, search_params(first_solution, deadline - time.monotonic(), gls_lambda, False,
                                                 iterated), iterated)
    return None if solution is None else (solution.ObjectiveValue(), model.routes(solution))


def _search_process(conn: Connection) -> None:
    """A portfolio search's process: its work comes in on ``conn`` once the process is up (so the
    caller starts the clock after paying for the start), its answer goes back the same way."""
    conn.send(search(*conn.recv()))


@contextmanager
def processes(n: int) -> Iterator[list[Connection]]:
    """``n`` started processes for a portfolio's extra searches, as pipes to send each its work and
    read its answer. Pipes, not an executor: OR-Tools holds the GIL while the first search runs, so an
    executor's feeder threads could not hand the others their work until it ended. On leaving, a search
    still running is stopped."""
    context = worker_context()
    started: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for _ in range(n):
            ours, theirs = context.Pipe()
            process = context.Process(target=_search_process, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            started.append((process, ours))
        yield [conn for _, conn in started]
    finally:
        for process, conn in started:
            if process.is_alive():
                process.terminate()
            process.join()
            conn.close()


@dataclass
class Kept:
    """The cheapest plan of a portfolio so far: which search found it (0: this process's) and how many
    searches found a plan at all."""

    solution: pywrapcp.Assignment | None
    search: int = 0
    answered: int = 0


def cheapest(model: Model, solution: pywrapcp.Assignment | None, others: list[Connection],
             deadline: float) -> Kept:
    """The cheapest of ``solution`` and the portfolio's plans (read into ``model``). A search that has
    not answered shortly after the deadline, or whose process died, is not waited for."""
    kept = Kept(solution, 0, int(solution is not None))
    for k, conn in enumerate(others, start=1):
        try:
            found = conn.recv() if conn.poll(max(0.0, deadline - time.monotonic()) + _PORTFOLIO_GRACE_S) else None
        except EOFError:
            continue
        if found is None:
            continue
        kept.answered += 1
        if kept.solution is None or found[0] < kept.solution.ObjectiveValue():
            restored = model.read(found[1])
            if restored is not None:
                kept.solution, kept.search = restored, k
    return kept

