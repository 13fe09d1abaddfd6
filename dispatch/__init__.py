"""Daily round planning: eligibility under buyer visit policies, the travel-time matrix, the OR-Tools
routing model, plan validation, persistence and publication to agents.

Filled by the planning issue; nothing here yet.
"""
