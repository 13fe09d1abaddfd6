"""Pure visit rules: when a case may be visited, and whether a visit at a moment is allowed.

No database access here: the planner, the lifecycle service and the evidence checker load the facts
(``core.case_facts``) and the buyer's policy (``core.visit_policy``) and pass them in. Rule ids and
source paragraphs are those of ``DOMAIN.md``.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.visit_policy import VisitPolicy


class Nation(enum.StrEnum):
    """The bank-holiday calendar an address follows (R-VISIT-HOLIDAY)."""

    england_wales = "england_wales"
    scotland = "scotland"
    northern_ireland = "northern_ireland"


def nation_of_itl1(itl1_cd: str | None) -> Nation:
    """ITL1 region → nation: TLM Scotland, TLN Northern Ireland, anything else England & Wales."""
    raise NotImplementedError


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about one case (see ``core.case_facts.load_case_facts``)."""

    case_id: int
    buyer_reference: str
    policy: VisitPolicy
    nation: str
    status: str
    stage: str
    on_hold: bool
    vulnerable: bool
    under_arrangement: bool
    sensitive: bool  # the address's sensitive flag, not yet cleared (R-VISIT-SENSITIVE)
    notice_issued_on: date | None
    enforcement_stage_on: date | None
    sale_stage_on: date | None


@dataclass(frozen=True)
class VisitFact:
    """One past visit of a case."""

    arrived_at: datetime  # aware
    outcome: str
    time_band: str | None


@dataclass(frozen=True)
class TimeWindow:
    """A span in which a visit is allowed; UTC-aware ends."""

    start: datetime
    end: datetime
    time_band: str | None


@dataclass(frozen=True)
class Decision:
    """The verdict of a rule check; ``rule_ids`` lists every failing rule, ``reasons`` explain them."""

    ok: bool
    rule_ids: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageDue:
    """The stage timetable's next deadline for a case (R-VISIT-SCHEDULE)."""

    due_by: date | None
    window_index: int | None
    overdue: bool
    opens_on: date | None = None


def time_band_of(policy: VisitPolicy, at: datetime) -> str | None:
    """The policy's named time band containing ``at`` (local time), if any."""
    raise NotImplementedError


def visit_windows(case: CaseFacts, policy: VisitPolicy, day: date) -> list[TimeWindow]:
    """The spans of local ``day`` in which ``case`` may be visited, in UTC."""
    raise NotImplementedError


def visit_allowed(case: CaseFacts, history: Sequence[VisitFact], at: datetime) -> Decision:
    """Whether a visit to ``case`` at ``at`` is allowed, listing every failing rule."""
    raise NotImplementedError


def compliance_period_end(notice_on: date, policy: VisitPolicy, nation: str) -> date:
    """The first date the enforcement stage may start after a notice issued on ``notice_on``."""
    raise NotImplementedError


def stage_due(case: CaseFacts, policy: VisitPolicy, history: Sequence[VisitFact], day: date) -> StageDue:
    """The next visit deadline of the case's stage timetable, as of ``day``."""
    raise NotImplementedError


def missing_time_bands(policy: VisitPolicy, history: Sequence[VisitFact]) -> set[str]:
    """Time bands the case still needs a visit in before it may be returned (R-VISIT-TIMES)."""
    raise NotImplementedError


def ready_to_return(policy: VisitPolicy, history: Sequence[VisitFact]) -> Decision:
    """Whether enough visits, at enough different times, have been made to return the case."""
    raise NotImplementedError
