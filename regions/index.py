"""The deprioritisation index and its confidence interval (pure, numpy) [000 §1.8, §2.94].

For one unit (a region, or a subcontractor in a region) and one class of work:

    index(buyer) = (buyer's seconds ÷ all clients' seconds) ÷ (buyer's caseload ÷ all clients' caseload)

1 is exactly proportional; below 1 the buyer gets less agent time than its caseload asks for. The
seconds are summed over agent-days; the interval is a percentile bootstrap over agent-days (each
resample draws as many agent-days as there are, with replacement), so that a month with few
agent-days in a region gives a wide interval rather than a false alarm. The caseload is the same in
every resample: it is what was placed and planned, not a sample.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class IndexEstimate:
    share_of_time: float     # the buyer's seconds ÷ every client's seconds
    share_of_caseload: float
    index: float
    low: float               # the bootstrap interval's bounds
    high: float
    agent_days: int          # the unit's agent-days the interval resampled


def index_estimates(seconds: np.ndarray, caseload: np.ndarray, *, samples: int = BOOTSTRAP_SAMPLES,
                    seed: int = 0, confidence: float = CONFIDENCE) -> list[IndexEstimate | None]:
    """One estimate per client (column): ``seconds`` is agent-days × clients (each client's seconds on
    each agent-day of the unit), ``caseload`` the clients' caseloads. A client with no caseload, or a
    unit with no seconds at all, has no estimate (None). Deterministic for a ``seed``."""
    seconds = np.asarray(seconds, dtype=float)
    caseload = np.asarray(caseload, dtype=float)
    n, k = seconds.shape
    total_case = caseload.sum()
    total = seconds.sum()
    if n == 0 or total <= 0 or total_case <= 0:
        return [None] * k
    case_share = caseload / total_case
    time_share = seconds.sum(axis=0) / total
    rng = np.random.default_rng(seed)
    # Resampled sums: each row of ``counts`` says how often each agent-day was drawn.
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=samples)
    sums = counts @ seconds
    totals = sums.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        # A client without caseload gets no estimate; 1 keeps its column finite until it is dropped.
        boot = np.where(totals > 0, sums / totals, np.nan) / np.where(case_share > 0, case_share, 1.0)
    tail = (1 - confidence) / 2 * 100
    low = np.nanpercentile(boot, tail, axis=0) if samples else np.full(k, np.nan)
    high = np.nanpercentile(boot, 100 - tail, axis=0) if samples else np.full(k, np.nan)
    out: list[IndexEstimate | None] = []
    for j in range(k):
        if caseload[j] <= 0:
            out.append(None)
            continue
        index = time_share[j] / case_share[j]
        out.append(IndexEstimate(float(time_share[j]), float(case_share[j]), float(index), float(low[j]),
                                 float(high[j]), n))
    return out


def flagged(estimate: IndexEstimate | None, threshold: float, others_seconds: float) -> bool:
    """Deprioritised: even the interval's upper bound is below ``threshold``, while the unit's agents
    spent time on other clients' work (``others_seconds`` > 0), so the time went elsewhere."""
    return estimate is not None and estimate.high < threshold and others_seconds > 0
