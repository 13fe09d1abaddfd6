"""Deterministic scenario generator: seeded buyers, subcontractors, agents, ANPR vans, debtors,
addresses at real postcode centroids, cases with linked warrants, vehicles and case histories.

    import sim
    report = sim.seed_scenario("demo", seed=1)    # replace the operational data; SeedReport
    print(report.describe())
    scenario = sim.generate("tiny", 1, pool)      # pure: the same inputs give identical rows

Named scenarios (``SCENARIOS``): ``tiny`` (tests), ``demo`` (~2,000 cases) and ``national``
(200,000 cases). Device credentials in a scenario are derived from the seed and are for simulated
devices only.
"""
from sim.generator import Scenario, generate
from sim.pool import EmptyPool, PostcodePool, load_pool
from sim.seed import SeedReport, seed_scenario
from sim.spec import SCENARIOS, ScenarioSpec, UnknownScenario

__all__ = [
    "SCENARIOS", "EmptyPool", "PostcodePool", "Scenario", "ScenarioSpec", "SeedReport", "UnknownScenario",
    "generate", "load_pool", "seed_scenario",
]
