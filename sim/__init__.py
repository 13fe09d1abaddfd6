"""Deterministic scenario generator: seeded buyers, subcontractors, agents, ANPR vans, debtors,
addresses at real postcode centroids, cases with linked warrants, vehicles and case histories.

    import sim
    report = sim.seed_scenario("demo", seed=1)    # replace the operational data; SeedReport
    print(report.describe())
    scenario = sim.generate("tiny", 1, pool)      # pure: the same inputs give identical rows

Named scenarios (``SCENARIOS``): ``tiny`` (tests), ``demo`` (~2,000 cases) and ``national``
(200,000 cases). Device credentials in a scenario are derived from the seed and are for simulated
devices only.

Simulated agent days over MQTT (``bailiwick sim agents``): ``read_agent_plans`` (the stored plans of a
day), ``generate_agent_day(s)`` (pure: trajectory, phone fixes, messages, ground truth),
``simulate_agents`` (read, generate, write the truth CSV, publish; ``until=time(12, 0)`` replays a
simulated morning).

A simulated month of work (``bailiwick sim month``): ``run_month`` plans every working day with the
planner the caller passes in (``MonthServices``), drives the stored plans, reports the visits with
outcomes through core, stores the fixes and the day's evidence, sends part of each firm's time to
its outside clients (``outside_work``) and optionally diverts one buyer's visits (``Diversion``);
``MonthReport`` holds what was done and each firm's ``Declaration``.

Simulated ANPR vans over MQTT (``bailiwick sim vans``): ``generate_van_day`` (pure: the patrol, the
camera's reads of passing traffic under ``plate_noise``'s OCR model, the messages, the truth) and
``simulate_vans`` (read the vans, generate, write the truth CSV, publish as each van's device).
"""
from sim.agent_day import (
    AgentDay,
    AgentPlan,
    Message,
    PayloadForm,
    PhoneMode,
    PhoneProfile,
    PlannedVisit,
    SimFix,
    StopKind,
    Trajectory,
    Transition,
    TrueStop,
)
from sim.agent_phone import REPORT_RULE
from sim.agent_plans import read_agent_plans
from sim.agent_publish import TRUTH_COLUMNS, publish_messages, write_truth
from sim.agents import (
    SimReport,
    all_messages,
    generate_agent_day,
    generate_agent_days,
    simulate_agents,
)
from sim.generator import Scenario, generate
from sim.month import (
    DayRecorded,
    Declaration,
    MonthAlreadyWorked,
    MonthReport,
    MonthServices,
    PhoneDay,
    run_month,
    working_days,
)
from sim.outside_work import Diversion
from sim.plate_noise import noisy_read, random_mark
from sim.pool import EmptyPool, PostcodePool, load_pool
from sim.seed import SeedReport, seed_scenario
from sim.spec import SCENARIOS, ScenarioSpec, UnknownScenario
from sim.vans import (
    VanDay,
    VanPlan,
    VanSimReport,
    generate_van_day,
    read_vans,
    simulate_vans,
)

__all__ = [
    "REPORT_RULE",
    "SCENARIOS",
    "TRUTH_COLUMNS",
    "AgentDay",
    "AgentPlan",
    "DayRecorded",
    "Declaration",
    "Diversion",
    "EmptyPool",
    "Message",
    "MonthAlreadyWorked",
    "MonthReport",
    "MonthServices",
    "PayloadForm",
    "PhoneDay",
    "PhoneMode",
    "PhoneProfile",
    "PlannedVisit",
    "PostcodePool",
    "Scenario",
    "ScenarioSpec",
    "SeedReport",
    "SimFix",
    "SimReport",
    "StopKind",
    "Trajectory",
    "Transition",
    "TrueStop",
    "UnknownScenario",
    "VanDay",
    "VanPlan",
    "VanSimReport",
    "all_messages",
    "generate",
    "generate_agent_day",
    "generate_agent_days",
    "generate_van_day",
    "load_pool",
    "noisy_read",
    "publish_messages",
    "random_mark",
    "read_agent_plans",
    "read_vans",
    "run_month",
    "seed_scenario",
    "simulate_agents",
    "simulate_vans",
    "working_days",
    "write_truth",
]
