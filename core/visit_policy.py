"""Buyer visit policies: the YAML files in ``core/policies/``, their schema, and their versions in the
database (``visit_policy``).

Each buyer follows one named policy (``Buyer.policy_name``). A policy is versioned: a version is never
edited, a change is a new version with its own ``effective_from``, and the version in force on a day is
the one with the latest ``effective_from`` not after it. Documents are validated strictly, and an
error names the dotted path of the bad field, e.g. ``plymouth.yaml: hours.saturday[0].end: …``.
The rules that read a policy are in ``core.visit_rules``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.models import VisitPolicyVersion

POLICY_DIR = Path(__file__).with_name("policies")

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)  # index = date.weekday()
StageName = Literal["compliance", "enforcement", "sale"]
HHMM = Annotated[str, StringConstraints(pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# "MM-DD" recurs every year (and may wrap the year end); "YYYY-MM-DD" is one absolute date.
DayRef = Annotated[str, StringConstraints(pattern=r"^(?:\d{4}-)?\d{2}-\d{2}$")]


class PolicyError(ValueError):
    """A policy document that does not validate, or a policy that does not exist; the message names
    the source and the dotted path of each bad field."""


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class TimeRange(_Strict):
    """A local-time span ``start``–``end`` ("HH:MM", end exclusive) within one day."""

    start: HHMM
    end: HHMM

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        return time.fromisoformat(self.end)

    def contains(self, t: time) -> bool:
        return self.start_time <= t < self.end_time


def _no_overlap(ranges: list[TimeRange], what: str) -> None:
    ordered = sorted(ranges, key=lambda r: r.start)
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise ValueError(f"{what}: {a.start}–{a.end} overlaps {b.start}–{b.end}")


class Hours(_Strict):
    """Allowed local visiting hours: ``default`` for every allowed weekday, unless the weekday has its
    own list."""

    default: list[TimeRange] = []
    monday: list[TimeRange] | None = None
    tuesday: list[TimeRange] | None = None
    wednesday: list[TimeRange] | None = None
    thursday: list[TimeRange] | None = None
    friday: list[TimeRange] | None = None
    saturday: list[TimeRange] | None = None
    sunday: list[TimeRange] | None = None

    @model_validator(mode="after")
    def _disjoint(self) -> Hours:
        for key in ("default", *WEEKDAYS):
            _no_overlap(getattr(self, key) or [], key)
        return self

    def for_weekday(self, weekday: Weekday) -> list[TimeRange]:
        own = getattr(self, weekday)
        return sorted(own if own is not None else self.default, key=lambda r: r.start)


class Blackout(_Strict):
    """A closed period, inclusive: month-days every year ("12-23".."01-02" wraps the year end) or
    absolute dates ("2025-05-05".."2025-05-09")."""

    start: DayRef
    end: DayRef
    reason: str

    @model_validator(mode="after")
    def _consistent(self) -> Blackout:
        if len(self.start) != len(self.end):
            raise ValueError("start and end must both be MM-DD or both be YYYY-MM-DD")
        try:
            first, last = (self._as_date(v) for v in (self.start, self.end))
        except ValueError as exc:
            raise ValueError(f"not a calendar date: {exc}") from None
        if self.absolute and last < first:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def absolute(self) -> bool:
        return len(self.start) == 10

    @staticmethod
    def _as_date(ref: str) -> date:
        # A leap year, so that "02-29" is a valid recurring day.
        return date.fromisoformat(ref if len(ref) == 10 else f"2000-{ref}")

    def covers(self, day: date) -> bool:
        if self.absolute:
            return date.fromisoformat(self.start) <= day <= date.fromisoformat(self.end)
        md = day.strftime("%m-%d")
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end  # wraps the year end


class TimetableWindow(_Strict):
    """One visit due between day ``from_day`` and day ``to_day`` (inclusive), counted from the
    timetable's anchor, or from the visit that met the previous window."""

    from_day: int = Field(ge=0)
    to_day: int = Field(ge=0)
    after: Literal["anchor", "previous_visit"] = "anchor"

    @model_validator(mode="after")
    def _ordered(self) -> TimetableWindow:
        if self.to_day < self.from_day:
            raise ValueError(f"to_day {self.to_day} is before from_day {self.from_day}")
        return self


class StageTimetable(_Strict):
    """The visits a stage requires (R-VISIT-SCHEDULE). Days are numbered from the anchor date (the
    stage start, or the notice date), which is day ``anchor_day`` — Newcastle numbers the notice
    "Day 1" [002 App.1]."""

    counted_from: Literal["stage_start", "notice_issued"] = "stage_start"
    anchor_day: int = Field(default=0, ge=0, le=1)
    windows: list[TimetableWindow] = Field(min_length=1)
    return_on_day: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _first_anchored(self) -> StageTimetable:
        if self.windows[0].after != "anchor":
            raise ValueError("the first window must count from the anchor")
        return self


class VisitPolicy(_Strict):
    """One version of a buyer's visit policy. Field comments name the rule each setting feeds."""

    name: Name
    effective_from: date
    title: str
    sources: list[str] = []
    weekdays: list[Weekday] = Field(min_length=1)  # R-VISIT-HOURS
    hours: Hours  # R-VISIT-HOURS, local time Europe/London
    bank_holidays_closed: bool = True  # R-VISIT-HOLIDAY, the address's nation
    blackouts: list[Blackout] = []  # R-VISIT-HOLIDAY
    min_gap_after_no_contact_hours: int = Field(default=24, ge=0)  # R-VISIT-GAP
    max_visits_per_property_per_day: int | None = Field(default=None, ge=1)  # R-VISIT-GAP
    min_visits_before_return: int = Field(default=3, ge=0)  # R-VISIT-TIMES
    min_distinct_time_bands: int = Field(default=3, ge=0)  # R-VISIT-TIMES
    time_bands: dict[Name, TimeRange]  # R-VISIT-TIMES
    office_hours: TimeRange | None = None
    require_out_of_office_hours_visit: bool = False  # R-VISIT-TIMES
    stage_timetables: dict[StageName, StageTimetable] = {}  # R-VISIT-SCHEDULE
    compliance_period_clear_days: int = Field(default=7, ge=0)  # R-CASE-COMPLIANCE
    notice_within_working_days: int | None = Field(default=None, ge=0)  # R-CASE-NOE
    notice_within_hours: int | None = Field(default=None, ge=0)  # R-CASE-NOE

    @model_validator(mode="after")
    def _coherent(self) -> VisitPolicy:
        if len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("weekdays: repeated day")
        for day in self.weekdays:
            if not self.hours.for_weekday(day):
                raise ValueError(f"hours: {day} is an allowed weekday but has no hours")
        _no_overlap(list(self.time_bands.values()), "time_bands")
        if self.min_distinct_time_bands > len(self.time_bands):
            raise ValueError(f"min_distinct_time_bands {self.min_distinct_time_bands} exceeds the "
                             f"{len(self.time_bands)} time_bands")
        if self.require_out_of_office_hours_visit and self.office_hours is None:
            raise ValueError("require_out_of_office_hours_visit needs office_hours")
        if self.notice_within_working_days is not None and self.notice_within_hours is not None:
            raise ValueError("give notice_within_working_days or notice_within_hours, not both")
        return self

    def document(self) -> dict[str, Any]:
        """The JSON form stored in ``visit_policy.document``."""
        return self.model_dump(mode="json")


def _dotted(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(document)"


def _json_default(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in a policy")


def parse_policy(document: dict[str, Any], source: str) -> VisitPolicy:
    """Validate a policy document (as read from YAML or JSON); raise ``PolicyError`` naming
    ``source`` and the dotted path of every bad field."""
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: (document): expected a mapping, got {type(document).__name__}")
    try:
        text = json.dumps(document, default=_json_default)
    except TypeError as exc:
        raise PolicyError(f"{source}: (document): {exc}") from None
    try:
        # JSON mode: strict types, yet dates may be ISO strings, as they are in the stored JSONB.
        return VisitPolicy.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{_dotted(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise PolicyError(f"{source}: {problems}") from None


def read_policy_file(path: Path) -> VisitPolicy:
    """Parse one YAML policy file; its file name must be the policy name."""
    source = path.name
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    policy = parse_policy(document, source)
    if policy.name != path.stem:
        raise PolicyError(f"{source}: name: {policy.name!r} does not match the file name")
    return policy


@dataclass(frozen=True)
class LoadReport:
    """What ``load_policies`` did with one file."""

    name: str
    version: int
    effective_from: date
    source: str
    created: bool

    def describe(self) -> str:
        return (f"{self.name} v{self.version} from {self.effective_from} ({self.source}): "
                f"{'loaded' if self.created else 'unchanged'}")


def _latest_version(db: Session, name: str) -> int:
    return db.scalar(select(func.coalesce(func.max(VisitPolicyVersion.version), 0))
                     .where(VisitPolicyVersion.name == name))


def _insert(db: Session, policy: VisitPolicy, source: str, actor: str) -> VisitPolicyVersion:
    row = VisitPolicyVersion(name=policy.name, version=_latest_version(db, policy.name) + 1,
                             effective_from=policy.effective_from, document=policy.document(),
                             source=source[:200], created_by=actor)
    db.add(row)
    db.flush()
    # R-CASE-AUDIT: every policy change is on the audit trail.
    record_audit(db, actor=actor, action="policy.version", target=f"policy:{policy.name}",
                 data={"version": row.version, "effective_from": policy.effective_from.isoformat(),
                       "source": row.source})
    return row


def load_policies(db: Session, actor: str, directory: Path | None = None) -> list[LoadReport]:
    """Load every ``*.yaml`` policy file into the database. Idempotent: a file whose version
    (name, effective_from) is already stored with the same document adds nothing; a stored version
    with a different document is an error, because versions are never edited — give the change a
    new ``effective_from``. All files are validated before any is written."""
    files = sorted((directory or POLICY_DIR).glob("*.yaml"))
    policies = [(read_policy_file(path), path.name) for path in files]
    reports = []
    for policy, source in policies:
        existing = db.scalar(select(VisitPolicyVersion).where(
            VisitPolicyVersion.name == policy.name, VisitPolicyVersion.effective_from == policy.effective_from))
        if existing is not None:
            if existing.document != policy.document():
                raise PolicyError(f"{source}: effective_from: version {existing.version} from "
                                  f"{policy.effective_from} is already stored with a different document; "
                                  "a change needs a new effective_from")
            reports.append(LoadReport(policy.name, existing.version, policy.effective_from, source, False))
            continue
        row = _insert(db, policy, source, actor)
        reports.append(LoadReport(policy.name, row.version, policy.effective_from, source, True))
    return reports


def save_policy_version(db: Session, name: str, document: dict[str, Any], effective_from: date,
                        actor: str) -> VisitPolicyVersion:
    """Validate and store a new version of policy ``name`` (an admin edit); audited as
    ``policy.version``. ``name`` and ``effective_from`` are taken from the arguments; the document
    may repeat them but not contradict them."""
    source = f"api:{actor}"
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: (document): expected a mapping")
    for key, value in (("name", name), ("effective_from", effective_from.isoformat())):
        given = document.get(key)
        if given is not None and str(given) != value:
            raise PolicyError(f"{source}: {key}: {given!r} contradicts {value!r}")
    policy = parse_policy({**document, "name": name, "effective_from": effective_from.isoformat()}, source)
    taken = db.scalar(select(VisitPolicyVersion.version).where(
        VisitPolicyVersion.name == name, VisitPolicyVersion.effective_from == effective_from))
    if taken is not None:
        raise PolicyError(f"{source}: effective_from: version {taken} already starts on {effective_from}")
    return _insert(db, policy, source, actor)


def policy_versions(db: Session, name: str) -> list[VisitPolicyVersion]:
    """Every stored version of policy ``name``, oldest first."""
    return list(db.scalars(select(VisitPolicyVersion).where(VisitPolicyVersion.name == name)
                           .order_by(VisitPolicyVersion.version)))


def current_versions(db: Session, on: date) -> list[VisitPolicyVersion]:
    """The version of each policy in force on ``on`` (policies not yet in force are left out)."""
    rows = db.scalars(select(VisitPolicyVersion).where(VisitPolicyVersion.effective_from <= on)
                      .ext(distinct_on(VisitPolicyVersion.name))
                      .order_by(VisitPolicyVersion.name, VisitPolicyVersion.effective_from.desc()))
    return list(rows)


def policy_in_force(db: Session, name: str, on: date) -> VisitPolicy:
    """The version of policy ``name`` with the latest ``effective_from`` not after ``on``."""
    row = db.scalar(select(VisitPolicyVersion)
                    .where(VisitPolicyVersion.name == name, VisitPolicyVersion.effective_from <= on)
                    .order_by(VisitPolicyVersion.effective_from.desc()).limit(1))
    if row is None:
        raise PolicyError(f"policy {name!r}: no version in force on {on}")
    return parse_policy(row.document, f"visit_policy {name} v{row.version}")
