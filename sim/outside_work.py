"""Work the subcontractors do for clients outside the platform, and a firm that quietly diverts one
buyer's visits, in a simulated month (``sim.month``).

Every firm has other clients. In each region it works, a firm's outside share (``outside_share``,
10-30 %, drawn from the seed) is the part of its agents' casework time that goes to those clients.
The platform's plan fills an agent's shift, so outside work takes the place of planned visits: each
planned visit is, with the firm's share in the case's region, replaced by a door of another client
near it (a real postcode centroid that is no case of the firm's nor a door of the plan, so its stop
stays unmatched), visited the same way (the same dwell range, so the capacity measures count it as
client work, not a break). Replacing like for like keeps the day's length and makes the time share
the visit share.

A diversion (``Diversion``: a firm, a region, a buyer) makes that firm's agents skip
``DIVERTED_SKIP`` of the buyer's planned visits in the region as well, spending the time at other
clients' doors; the firm still declares only its honest share. Every draw is keyed by seed, day and
case, so it does not depend on the order agents or days are generated in.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from sqlalchemy import Float, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from sim.agent_day import AgentPlan, PlannedVisit
from sim.streams import Streams

OUTSIDE_SHARE = (0.10, 0.30)  # a firm's share of casework time on outside clients, per region
DIVERTED_SKIP = 0.7           # of the diverted buyer's planned visits, the share the firm skips
OUTSIDE_CLEAR_M = 200.0       # an outside door is this far from every case and planned door (75 m match radius)
OUTSIDE_REACH_M = 2_000.0     # and within this of the planned door it replaces
CANDIDATES = 40               # postcode centroids read around each replaced door


@dataclass(frozen=True)
class Diversion:
    """``subcontractor_id``'s agents skip most of ``buyer_id``'s planned visits in ``itl1_cd``."""

    subcontractor_id: int
    itl1_cd: str
    buyer_id: int


@dataclass(frozen=True)
class CaseOf:
    """What the month needs of a planned case: whose it is and the region of its address."""

    buyer_id: int
    itl1_cd: str | None


def outside_share(seed: int, firm_id: int, itl1_cd: str | None) -> float:
    """The firm's outside share in the region (module docstring)."""
    return float(Streams(seed, "month")(f"outside.{firm_id}.{itl1_cd}").uniform(*OUTSIDE_SHARE))


def replaced_visits(plan: AgentPlan, firm_id: int, cases: Mapping[int, CaseOf], day: date, seed: int,
                    diversion: Diversion | None) -> dict[int, str]:
    """The planned cases the agent does not visit on ``day``, each with why: ``"diverted"`` (the
    diversion's buyer, skipped) or ``"outside"`` (the firm's share of outside work)."""
    streams = Streams(seed, "month")
    out: dict[int, str] = {}
    for v in plan.visits:
        case = cases[v.case_id]
        draw = float(streams(f"replace.{day}.{v.case_id}").random())
        diverted = (diversion is not None and firm_id == diversion.subcontractor_id
                    and case.itl1_cd == diversion.itl1_cd and case.buyer_id == diversion.buyer_id)
        # One draw for both: a diverted visit is skipped at DIVERTED_SKIP, or else for outside work
        # at the firm's share (never less than an honest firm's rate).
        if diverted and draw < DIVERTED_SKIP:
            out[v.case_id] = "diverted"
        elif draw < outside_share(seed, firm_id, case.itl1_cd):
            out[v.case_id] = "outside"
    return out


_CANDIDATES = text("""
SELECT d.i, ST_X(p.location_bng), ST_Y(p.location_bng)
FROM unnest(:xs, :ys) WITH ORDINALITY AS d(x, y, i)
CROSS JOIN LATERAL (
    SELECT location_bng FROM postcode
    WHERE location_bng && ST_MakeEnvelope(d.x - :reach, d.y - :reach, d.x + :reach, d.y + :reach, 27700)
    ORDER BY postcode LIMIT :n) p
ORDER BY d.i
""").bindparams(bindparam("xs", type_=ARRAY(Float)), bindparam("ys", type_=ARRAY(Float)))


def candidate_places(db: Session, doors: Sequence[tuple[float, float]]) -> list[np.ndarray]:
    """For each door (BNG metres), up to ``CANDIDATES`` real postcode centroids within
    ``OUTSIDE_REACH_M`` of it, as an (n, 2) array: one query for a day's doors."""
    out = [[] for _ in doors]
    if doors:
        rows = db.execute(_CANDIDATES, {"xs": [float(x) for x, _ in doors], "ys": [float(y) for _, y in doors],
                                        "reach": OUTSIDE_REACH_M, "n": CANDIDATES})
        for i, x, y in rows:
            out[i - 1].append((x, y))
    return [np.array(c, dtype=float).reshape(-1, 2) for c in out]


def pick_place(door: tuple[float, float], candidates: np.ndarray, avoid: np.ndarray,
               rng: np.random.Generator) -> tuple[float, float]:
    """An outside client's door for the replaced ``door``: a candidate at least ``OUTSIDE_CLEAR_M``
    from every point of ``avoid``, drawn at random; in a street dense with cases, the clearest one;
    with no postcode near at all, a point ``OUTSIDE_REACH_M`` / 2 from the door in a random direction."""
    if len(candidates) == 0:
        angle = rng.uniform(0, 2 * np.pi)
        r = OUTSIDE_REACH_M / 2
        return door[0] + r * float(np.cos(angle)), door[1] + r * float(np.sin(angle))
    if len(avoid):
        clear = np.min(np.hypot(candidates[:, None, 0] - avoid[None, :, 0],
                                candidates[:, None, 1] - avoid[None, :, 1]), axis=1)
    else:
        clear = np.full(len(candidates), np.inf)
    ok = np.flatnonzero(clear >= OUTSIDE_CLEAR_M)
    i = int(rng.choice(ok)) if len(ok) else int(np.argmax(clear))
    return float(candidates[i, 0]), float(candidates[i, 1])


def working_plan(plan: AgentPlan, replaced: Mapping[int, str], places: Mapping[int, tuple[float, float]]
                 ) -> AgentPlan:
    """The day the agent really drives: its plan with each replaced visit's door swapped for the
    outside client's door chosen for it (``places``, by the replaced case), at the same time."""
    visits = tuple(v if v.case_id not in replaced else PlannedVisit(None, *places[v.case_id], v.eta)
                   for v in plan.visits)
    return replace(plan, visits=visits)
