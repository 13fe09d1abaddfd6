"""A day the solver cannot plan in a short time limit, for the refusal tests of ``POST /plans``, the
re-plan route, ``bailiwick plan`` and ``bailiwick replan`` (not a fixture: each module plans the
morning its own way).

A region of ``MAX_AGENTS`` agents (one sub-problem) is planned in the morning with four cases; then
200 more arrive, each visited once before in the early band, so every visit now prefers the office or
evening band (R-VISIT-TIMES: three distinct bands). ``split_day`` offers the solver 134 of them, and
its first solution with a soft time band on each takes 3–6 s (measured on the 2-core development
machine: nothing with a 5 s limit, a plan with 10 s). A 1 s limit, the API's least, leaves it about
0.6 s; the command line's 0.01 s leaves it a millisecond. The case is real: a day with history is the
solver's slow case. A small day cannot stand in for it: its first solution may take less than a
millisecond on a fast machine.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from typer.testing import CliRunner

from cli import app
from core import session_scope
from core.models import Agent, Buyer, Case, Visit
from dispatch.eligibility import shifts_for_day
from dispatch.split import MAX_AGENTS
from tests.case_world import ENFORCED, make_agent, make_buyer, make_case

CROWDED_DAY = date(2026, 12, 3)  # a Thursday, not a bank holiday
CROWDED = "TLN"  # Northern Ireland: the simulated scenarios place no case or agent there (GB postcodes)
BELFAST = (-5.9301, 54.5973)
EARLY_VISIT = datetime(2026, 11, 30, 7, tzinfo=UTC)  # 07:00 in London and Belfast: the early band


@dataclass(frozen=True)
class Crowded:
    agents: list[int]
    morning: list[int]  # the cases of the morning's plan
    run_id: int  # the morning's plan


def _around_belfast(i: int) -> tuple[float, float]:
    # A deterministic spread within about 5 km of the centre.
    return (BELFAST[0] + 0.08 * math.cos(i * 2.4) * (i % 7 + 1) / 7,
            BELFAST[1] + 0.05 * math.sin(i * 1.7) * (i % 5 + 1) / 5)


def _case(db, buyer, i: int) -> int:
    return make_case(db, buyer, postcode="BT1 1AA", at=_around_belfast(i), itl1_cd=CROWDED, **ENFORCED).id


@contextmanager
def crowded_day(plan_morning: Callable[[], int]) -> Iterator[Crowded]:
    """The crowded day: ``plan_morning()`` plans ``CROWDED`` on ``CROWDED_DAY`` while it has its four
    morning cases and returns the stored run's id. Afterwards the cases are closed and the agents
    made inactive (the test database persists)."""
    with session_scope() as db:
        existing = len(shifts_for_day(db, CROWDED_DAY, region=CROWDED))
        assert existing == 0, f"{existing} agents already in {CROWDED}: the day would not be one sub-problem"
        agents = [make_agent(db, at=BELFAST, region=CROWDED).id for _ in range(MAX_AGENTS)]
        buyer = make_buyer(db)
        buyer_id = buyer.id
        morning = [_case(db, buyer, i) for i in range(4)]
    later: list[int] = []
    try:
        run_id = plan_morning()
        with session_scope() as db:
            buyer = db.get(Buyer, buyer_id)
            later = [_case(db, buyer, i) for i in range(4, 204)]
            db.add_all([Visit(case_id=c, agent_id=agents[0], arrived_at=EARLY_VISIT,
                              departed_at=EARLY_VISIT + timedelta(minutes=10), outcome="no_contact",
                              time_band="early", recorded_by="test") for c in later])
        yield Crowded(agents=agents, morning=morning, run_id=run_id)
    finally:
        with session_scope() as db:
            db.execute(update(Case).where(Case.id.in_(morning + later)).values(status="closed"))
            db.execute(update(Agent).where(Agent.id.in_(agents)).values(active=False))


def plan_by_cli(*flags: str) -> int:
    """``bailiwick plan`` for the crowded region and day (with ``flags``, at 3 s); the stored run's id."""
    result = CliRunner().invoke(app, ["plan", "--day", CROWDED_DAY.isoformat(), "--region", CROWDED,
                                      "--time-limit", "3", *flags])
    assert result.exit_code == 0, result.output
    return int(re.search(r"stored as run (\d+)", result.output)[1])
