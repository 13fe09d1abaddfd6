"""Daily round planning: which cases may be visited and when, the agents' routes that visit them, and
what becomes of a plan.

- The problem: ``model`` (``VisitTask``, ``Shift``, ``Plan``), ``eligibility`` (buyers' visit policies
  to tasks, agents to shifts, and why a case is left out), ``pins`` (dispatchers' pins), ``matrix``
  (travel times).
- Solving: ``planner.plan_day`` splits a day (``split``), runs its sub-problems (``schedule``), each a
  routing model (``routing_model``) solved by ``solver.solve`` through ``search`` and, with cores to
  spare, a ``portfolio`` of searches; then keeps buyers' shares fair (``fairness``) and repairs any
  route the independent ``validator`` rejects (``repair``, ``routes``). ``skills`` words the drops of
  visits nobody on shift may make.
- The plan's way out: ``service`` (plan from the database, validate, store, publish) and ``replan``
  (the rest of a day from where agents are), ``store`` (the database), ``publish`` (agents' phones
  over MQTT), ``geojson`` and ``plan_file`` (the file interface), ``solomon`` (the benchmark
  instances).

What other packages may use is named here; they import it from ``dispatch``, never from its modules.
``OptionalVisitSource`` is the seam through which ANPR sightings will offer optional visits.
"""

from dispatch.eligibility import (
    EligibilityResult,
    OptionalVisit,
    OptionalVisitSource,
    WhyAnswer,
    load_eligibility,
    shifts_for_day,
    why,
)
from dispatch.fairness import class_fairness, fairness_by_class
from dispatch.geojson import plan_from_geojson, plan_to_geojson
from dispatch.matrix import (
    BngMatrixProvider,
    MatrixProvider,
    PlanarMatrixProvider,
    TravelMatrix,
)
from dispatch.model import (
    Break,
    Dropped,
    Plan,
    PlannedVisit,
    Point,
    Route,
    Shift,
    VisitTask,
)
from dispatch.pins import Pin, PinRefused, check_pin, day_pins, remove_pin, save_pin
from dispatch.plan_file import PlanFileError, check_pins, read_agents, read_cases
from dispatch.planner import fairness_by_region, plan_day, served_shares
from dispatch.replan import replan_day
from dispatch.service import PlanOutcome, Progress, plan_and_store
from dispatch.solomon import SolomonInstance, plan_distance, read_instance, to_problem
from dispatch.solver import solve
from dispatch.store import load_current_plan, load_route_paths, run_stats, save_plan
from dispatch.validator import Violation, validate

__all__ = [
    "BngMatrixProvider", "Break", "Dropped", "EligibilityResult", "MatrixProvider", "OptionalVisit",
    "OptionalVisitSource", "Pin", "PinRefused", "Plan", "PlanFileError", "PlanOutcome", "PlannedVisit",
    "PlanarMatrixProvider", "Point", "Progress", "Route", "Shift", "SolomonInstance", "TravelMatrix", "Violation",
    "VisitTask", "WhyAnswer", "check_pin", "check_pins", "class_fairness", "day_pins", "fairness_by_class",
    "fairness_by_region", "load_current_plan", "load_eligibility", "load_route_paths", "plan_and_store", "plan_day",
    "plan_distance", "plan_from_geojson", "plan_to_geojson", "read_agents", "read_cases", "read_instance",
    "remove_pin", "replan_day", "run_stats", "save_pin", "save_plan", "served_shares", "shifts_for_day", "solve", "to_problem",
    "validate", "why",
]
