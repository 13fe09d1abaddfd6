"""Whether an agent may make a visit (skills, certificated), and the words for a visit dropped before
any search because no agent on shift may make it. ``dispatch.split`` and the routing model
(``dispatch.routing_model``) both decide this; one wording means a drop reads the same wherever it
happened."""
from __future__ import annotations

from collections.abc import Sequence

from dispatch.model import Shift, VisitTask

__all__ = ["may_do", "nobody_may", "pin_off_shift"]


def may_do(t: VisitTask, s: Shift) -> bool:
    """Whether ``s``'s agent has the skills (and certificate) ``t`` needs."""
    return t.required_skills <= s.skills and (s.certificated or not t.needs_certificated)


def nobody_may(t: VisitTask, shifts: Sequence[Shift]) -> str:
    """The reason ``t`` is dropped when no agent of ``shifts`` may make it: the skill nobody has, else
    the certificate, else the combination."""
    missing = sorted(t.required_skills - frozenset().union(*(s.skills for s in shifts)))
    if missing:
        return f"no agent with skill {', '.join(missing)}"
    if t.needs_certificated and not any(s.certificated for s in shifts):
        return "no certificated agent"
    return f"no agent with all of {', '.join(sorted(t.required_skills))}"


def pin_off_shift(t: VisitTask) -> str:
    """The reason ``t`` is dropped when the agent it is pinned to is not on shift."""
    return f"pinned agent {t.pinned_agent} not on shift"
