"""The CSV inputs of ``bailiwick plan-file`` (the embedded way to try the planner, with no database):
cases become ``VisitTask``s and agents ``Shift``s for one day. Times in the files are Europe/London
wall-clock times on that day (``HH:MM``), turned into UTC with the offset in force then (GMT/BST).

cases.csv — one row per visit to plan:
  case_id (int, unique), buyer, lat, lon (WGS 84), windows (when the visit may start, hard:
  ``09:00-12:00`` or several ``09:00-12:00;14:00-17:00``, each optionally named by its time band
  ``office=08:30-17:00``), service_min (minutes on site, > 0); optional: priority (0–100, default 50),
  skills (``;``-separated), needs_certificated (true/false, default true), region, preferred (soft
  windows, same form as windows), due_by (YYYY-MM-DD), expires_at (HH:MM: an optional visit that
  lapses), pinned_agent (agent_id), pinned_at (HH:MM).
agents.csv — one row per agent on shift:
  agent_id (int, unique), lat, lon (home base: start and end of the day), shift_start, shift_end
  (HH:MM); optional: skills (``;``-separated), certificated (true/false, default true), region,
  break_earliest, break_latest (HH:MM), break_min (all three or none).

Every malformed row is reported, with its row number as a spreadsheet shows it (the header is row 1).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from core import LONDON, TimeWindow
from dispatch.model import Break, Point, Shift, VisitTask

__all__ = ["PlanFileError", "check_pins", "read_agents", "read_cases"]

CASE_COLUMNS = {"case_id", "buyer", "lat", "lon", "windows", "service_min"}
CASE_OPTIONAL = {"priority", "skills", "needs_certificated", "region", "preferred", "due_by", "expires_at",
                 "pinned_agent", "pinned_at"}
AGENT_COLUMNS = {"agent_id", "lat", "lon", "shift_start", "shift_end"}
AGENT_OPTIONAL = {"skills", "certificated", "region", "break_earliest", "break_latest", "break_min"}

T = TypeVar("T")


class PlanFileError(ValueError):
    """A planner input file is malformed; ``errors`` lists every problem as ``file row N: …``."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class _RowError(ValueError):
    pass


def _local(day: date, text: str, column: str) -> datetime:
    try:
        t = time.fromisoformat(text.strip())
    except ValueError:
        raise _RowError(f"{column}: {text!r} is not a time HH:MM") from None
    return datetime.combine(day, t, tzinfo=LONDON).astimezone(UTC)


def _windows(day: date, text: str, column: str) -> tuple[TimeWindow, ...]:
    windows = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        band, _, span = part.rpartition("=")
        start, sep, end = span.partition("-")
        if not sep:
            raise _RowError(f"{column}: {part!r} is not a span HH:MM-HH:MM")
        window = TimeWindow(_local(day, start, column), _local(day, end, column), band.strip() or None)
        if window.end <= window.start:
            raise _RowError(f"{column}: {part!r} ends before it starts")
        windows.append(window)
    return tuple(sorted(windows, key=lambda w: w.start))


def _number(text: str, column: str, kind: Callable[[str], T], low: float, high: float) -> T:
    try:
        value = kind(text.strip())
    except ValueError:
        raise _RowError(f"{column}: {text!r} is not a number") from None
    if not low <= value <= high:  # type: ignore[operator]
        raise _RowError(f"{column}: {text.strip()} is out of range {low}..{high}")
    return value


def _bool(text: str, column: str, default: bool) -> bool:
    value = text.strip().lower()
    if not value:
        return default
    if value not in {"true", "false", "yes", "no", "1", "0"}:
        raise _RowError(f"{column}: {text!r} is not true or false")
    return value in {"true", "yes", "1"}


def _skills(text: str) -> frozenset[str]:
    return frozenset(s.strip() for s in text.split(";") if s.strip())


def _point(row: dict[str, str]) -> Point:
    return Point(lon=_number(row["lon"], "lon", float, -180, 180), lat=_number(row["lat"], "lat", float, -90, 90))


def _rows(source: Path | io.TextIOBase, name: str, required: set[str], optional: set[str],
          parse: Callable[[dict[str, str]], T], key: Callable[[T], Any]) -> list[T]:
    """Parse every row of one CSV file, collecting every error before raising them together."""
    handle = open(source, newline="", encoding="utf-8-sig") if isinstance(source, Path) else source
    with handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        errors = [f"{name}: missing column {c}" for c in sorted(required - columns)]
        errors += [f"{name}: unknown column {c}" for c in sorted(columns - required - optional)]
        if errors:
            raise PlanFileError(errors)
        parsed: list[T] = []
        seen: dict[Any, int] = {}
        for row_number, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                errors.append(f"{name} row {row_number}: expected {len(columns)} fields")
                continue
            row = {k: v or "" for k, v in row.items()}
            try:
                missing = [c for c in sorted(required) if not row[c].strip()]
                if missing:
                    raise _RowError(f"empty {', '.join(missing)}")
                item = parse(row)
            except _RowError as e:
                errors.append(f"{name} row {row_number}: {e}")
                continue
            if key(item) in seen:
                errors.append(f"{name} row {row_number}: duplicate id {key(item)} (first on row {seen[key(item)]})")
                continue
            seen[key(item)] = row_number
            parsed.append(item)
    if errors:
        raise PlanFileError(errors)
    return parsed


def read_cases(source: Path | io.TextIOBase, day: date) -> list[VisitTask]:
    """The visits of ``cases.csv`` (module docstring) on ``day``."""

    def parse(row: dict[str, str]) -> VisitTask:
        windows = _windows(day, row["windows"], "windows")
        if not windows:
            raise _RowError("windows: no window given")
        expires_at = _local(day, row["expires_at"], "expires_at") if row.get("expires_at", "").strip() else None
        return VisitTask(
            case_id=_number(row["case_id"], "case_id", int, 1, 2**63 - 1), buyer=row["buyer"].strip(),
            at=_point(row), windows=windows,
            service_s=_number(row["service_min"], "service_min", int, 1, 24 * 60) * 60,
            priority=_number(row.get("priority", "") or "50", "priority", int, 0, 100),
            region=row.get("region", "").strip() or None,
            preferred=_windows(day, row.get("preferred", ""), "preferred"),
            due_by=_date(row.get("due_by", ""), "due_by"),
            required_skills=_skills(row.get("skills", "")),
            needs_certificated=_bool(row.get("needs_certificated", ""), "needs_certificated", True),
            optional=expires_at is not None, expires_at=expires_at,
            pinned_agent=_number(row["pinned_agent"], "pinned_agent", int, 1, 2**63 - 1)
            if row.get("pinned_agent", "").strip() else None,
            pinned_at=_local(day, row["pinned_at"], "pinned_at") if row.get("pinned_at", "").strip() else None)

    return _rows(source, "cases.csv", CASE_COLUMNS, CASE_OPTIONAL, parse, lambda t: t.case_id)


def _date(text: str, column: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _RowError(f"{column}: {text!r} is not a date YYYY-MM-DD") from None


def read_agents(source: Path | io.TextIOBase, day: date) -> list[Shift]:
    """The shifts of ``agents.csv`` (module docstring) on ``day``."""

    def parse(row: dict[str, str]) -> Shift:
        start, end = _local(day, row["shift_start"], "shift_start"), _local(day, row["shift_end"], "shift_end")
        if end <= start:
            raise _RowError("shift_end is not after shift_start")
        break_cols = [row.get(c, "").strip() for c in ("break_earliest", "break_latest", "break_min")]
        breaks: tuple[Break, ...] = ()
        if any(break_cols):
            if not all(break_cols):
                raise _RowError("break_earliest, break_latest and break_min go together")
            brk = Break(_local(day, break_cols[0], "break_earliest"), _local(day, break_cols[1], "break_latest"),
                        _number(break_cols[2], "break_min", int, 1, 24 * 60) * 60)
            if brk.latest - brk.earliest < timedelta(seconds=brk.duration_s):
                raise _RowError("the break does not fit between break_earliest and break_latest")
            breaks = (brk,)
        home = _point(row)
        return Shift(agent_id=_number(row["agent_id"], "agent_id", int, 1, 2**63 - 1), start=start, end=end,
                     start_at=home, end_at=home, skills=_skills(row.get("skills", "")),
                     certificated=_bool(row.get("certificated", ""), "certificated", True),
                     region=row.get("region", "").strip() or None, breaks=breaks)

    return _rows(source, "agents.csv", AGENT_COLUMNS, AGENT_OPTIONAL, parse, lambda s: s.agent_id)


def check_pins(tasks: Iterable[VisitTask], shifts: Iterable[Shift]) -> list[str]:
    """Pins naming an agent that is not in agents.csv (the two files are read apart)."""
    agents = {s.agent_id for s in shifts}
    return [f"cases.csv: case {t.case_id} is pinned to agent {t.pinned_agent}, who is not in agents.csv"
            for t in tasks if t.pinned_agent is not None and t.pinned_agent not in agents]
