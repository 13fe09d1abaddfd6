"""Priority classes: the few bands of a visit's priority (0-100, ``dispatch.priority_for`` from the
stage timetable, R-VISIT-SCHEDULE) within which buyers' shares are compared. The planner keeps every
buyer's share of the served visits of a class at or above 0.9 of its share of that class's competing
visits, and the regional measures of agent time use the same classes and the same idea of a
competing visit [000 §1.8, §2.94]; both read them from here so that they cannot drift apart."""
from __future__ import annotations

import enum

from sqlalchemy import ColumnElement, case, literal


# Why a dropped visit was capacity given to other visits (so it competed, and counts in its buyer's
# share): no room, the solver's time ran out, or it was trimmed to keep buyers' shares proportional.
# Any other reason (no window, no skill, out of reach, a pin that cannot be kept) is not competition.
CAPACITY = "capacity"
NO_PLAN_FOUND = "no plan found within the time limit"
FAIR_SHARE = "fair share"
COMPETING_REASONS = frozenset({CAPACITY, NO_PLAN_FOUND, FAIR_SHARE})


class PriorityClass(enum.StrEnum):
    urgent = "urgent"    # overdue, due today or within 2 days (priority >= 90)
    due = "due"          # due within 14 days (50-89)
    routine = "routine"  # later, no deadline, or the next window not open yet (< 50)


# Lowest priority of each class, highest class first.
CLASS_FLOORS: tuple[tuple[PriorityClass, int], ...] = (
    (PriorityClass.urgent, 90), (PriorityClass.due, 50), (PriorityClass.routine, 0))


def priority_class(priority: int) -> PriorityClass:
    for cls, floor in CLASS_FLOORS:
        if priority >= floor:
            return cls
    return PriorityClass.routine


def priority_class_sql(priority: ColumnElement[int]) -> ColumnElement[str]:
    """``priority_class`` as a SQL expression; a null priority (a run stored before priorities were
    kept) is ``routine``."""
    return case(*((priority >= floor, literal(cls.value)) for cls, floor in CLASS_FLOORS[:-1]),
                else_=literal(PriorityClass.routine.value))
