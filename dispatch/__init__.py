"""Daily round planning: which cases may be visited and when, the agents' routes that visit them, and
what becomes of a plan.

- The problem: ``model`` (``VisitTask``, ``Shift``, ``Plan``), ``eligibility`` (buyers' visit policies
  to tasks, agents to shifts, and why a case is left out), ``pins`` (dispatchers' pins), ``matrix``
  (travel times).
- Solving: ``planner.plan_day`` splits a day (``split``), runs its sub-problems (``schedule``), each a
  routing model (``routing_model``) solved by ``solver.solve`` through ``search`` and, with cores to
  spare, a ``portfolio`` of searches; then keeps buyers' shares fair (``fairness``) and repairs any
  route the independent ``validate`` rejects (``repair``, ``routes``). ``skills`` words the drops of
  visits nobody on shift may make.
- The plan's way out: ``service`` (plan from the database, validate, store, publish) and ``replan``
  (the rest of a day from where agents are), ``store`` (the database), ``publish`` (agents' phones
  over MQTT), ``geojson`` and ``plan_file`` (the file interface), ``solomon`` (the benchmark
  instances).
"""
