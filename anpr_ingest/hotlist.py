"""The ANPR hotlist, derived from case state and never edited by hand.

A vehicle is on the hotlist while at least one warrant naming it (``case_vehicle``) qualifies:

- the warrant is open, in the enforcement stage, and its R-ANPR-24H clock
  (``enforcement_case.anpr_eligible_from``) has passed;
- nothing in R-ANPR-DELETE applies: the vehicle is not a hire or lease car, its ownership did not
  change after this warrant's contravention (``case_vehicle.ownership_changed``), the keeper check did
  not name someone else (R-ANPR-KEEPER), and the warrant is not paid, returned, closed, withdrawn at
  the buyer's request (``return_requested_at``), on hold or under an arrangement. Paid means paid in
  full: status ``paid``, or a balance of 0 that ``mark_paid`` has not yet closed.

The rule is written once, as SQL (``_DERIVE``): each (vehicle, warrant) pair gets the first reason
that keeps it off, or none. ``REASON_RULES`` names the rule id behind each reason, for the audit. The
same select serves the full rebuild (every vehicle) and the incremental refresh (the vehicles of some
warrants, and of the warrants linked to them, since a visit starts the clock of a whole group).

Writes: ``rebuild_hotlist`` builds a new hash and swaps it in (``hotlist_store``);
``refresh_cases`` / ``refresh_vehicles`` re-derive a few vehicles after a change is committed;
``admit_due`` adds the vehicles whose 24-hour clock has run out since it last ran (time passing is
not a case event). Every addition, removal and change of a vehicle's warrants is one ``audit_event``
(``anpr_hotlist_add`` / ``anpr_hotlist_remove`` / ``anpr_hotlist_change``) naming the rule and reason.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from sqlalchemy import Integer, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from anpr_ingest.hotlist_store import (
    ADMITTED_KEY,
    HotlistEntry,
    apply_changes,
    start_build,
    swap_build,
    write_build,
)
from core.models import AuditEvent

# The reasons a (vehicle, warrant) pair is off the list, in the order the SQL tests them, with the
# rule behind each. Vehicle facts come first: they keep the vehicle off whatever its warrants say.
REASON_RULES: dict[str, str] = {
    "different_keeper": "R-ANPR-KEEPER",
    "hire_or_lease": "R-ANPR-DELETE",
    "ownership_changed": "R-ANPR-DELETE",
    "no_warrant": "R-ANPR-DELETE",
    "paid": "R-ANPR-DELETE",
    "returned": "R-ANPR-DELETE",
    "closed": "R-CASE-HOLD",
    "withdrawn": "R-ANPR-DELETE",
    "on_hold": "R-ANPR-DELETE",
    "arrangement": "R-ANPR-DELETE",
    "vulnerable": "R-CASE-VULN",
    # R-ANPR-24H counts from the first enforcement visit: outside the enforcement stage there is none.
    "not_enforcement_stage": "R-ANPR-24H",
    "before_24h": "R-ANPR-24H",
}
ADD_RULE = "R-ANPR-24H"  # a vehicle joins when a warrant's clock has run and nothing removes it

_REASON_SQL = """
CASE
  WHEN v.keeper_check_state = 'different_keeper' THEN 'different_keeper'
  WHEN v.hire_or_lease THEN 'hire_or_lease'
  WHEN c.id IS NULL THEN 'no_warrant'
  WHEN cv.ownership_changed THEN 'ownership_changed'
  WHEN c.status = 'paid' THEN 'paid'
  WHEN c.status = 'returned' THEN 'returned'
  WHEN c.status <> 'open' THEN 'closed'
  WHEN c.current_balance_pence <= 0 THEN 'paid'
  WHEN c.return_requested_at IS NOT NULL THEN 'withdrawn'
  WHEN c.on_hold THEN 'on_hold'
  WHEN c.under_arrangement THEN 'arrangement'
  WHEN c.vulnerable THEN 'vulnerable'
  WHEN c.stage <> 'enforcement' THEN 'not_enforcement_stage'
  WHEN c.anpr_eligible_from IS NULL OR c.anpr_eligible_from > :now THEN 'before_24h'
END"""

# One row per vehicle in scope: its VRM, the warrants that put it on the list, and why each other
# warrant does not. {scope} restricts the vehicles (TRUE for all of them).
_DERIVE = f"""
SELECT v.id AS vehicle_id, v.vrm,
       coalesce(array_agg(c.id ORDER BY c.id) FILTER (WHERE r.reason IS NULL), '{{}}') AS case_ids,
       coalesce(jsonb_object_agg(coalesce(c.id, 0), r.reason) FILTER (WHERE r.reason IS NOT NULL), '{{}}')
         AS reasons
FROM vehicle v
LEFT JOIN case_vehicle cv ON cv.vehicle_id = v.id
LEFT JOIN enforcement_case c ON c.id = cv.case_id
CROSS JOIN LATERAL (SELECT {_REASON_SQL} AS reason) r
WHERE {{scope}}
GROUP BY v.id, v.vrm
"""
_ALL = text(_DERIVE.replace("{scope}", "TRUE"))
_SOME = text(_DERIVE.replace("{scope}", "v.id = ANY(:vehicle_ids)")).bindparams(
    bindparam("vehicle_ids", type_=ARRAY(Integer)))

# The vehicles of the given warrants and of every warrant linked to them.
_VEHICLES_OF_CASES = text("""
SELECT DISTINCT cv.vehicle_id FROM case_vehicle cv
WHERE cv.case_id = ANY(:case_ids)
   OR cv.case_id IN (SELECT g.id FROM enforcement_case g
                     WHERE g.linked_group IN (SELECT c.linked_group FROM enforcement_case c
                                              WHERE c.id = ANY(:case_ids) AND c.linked_group IS NOT NULL))
""").bindparams(bindparam("case_ids", type_=ARRAY(Integer)))

_DUE = text("""
SELECT DISTINCT cv.vehicle_id FROM enforcement_case c JOIN case_vehicle cv ON cv.case_id = c.id
WHERE c.anpr_eligible_from > :since AND c.anpr_eligible_from <= :now
""")

# Refreshes of one vehicle run one after another (held to the commit), so a refresh that read older
# case state can never write over one that read newer.
_LOCK = text("SELECT pg_advisory_xact_lock(1095782994, v) FROM unnest(CAST(:ids AS int[])) v ORDER BY v")


@dataclass(frozen=True)
class Derived:
    """One vehicle as the rule sees it now: on the list when ``case_ids`` is not empty."""

    vehicle_id: int
    vrm: str
    case_ids: tuple[int, ...]
    reasons: dict[int, str] = field(default_factory=dict)  # warrant id (0: none) → reason it is off

    @property
    def entry(self) -> HotlistEntry | None:
        return HotlistEntry(self.vehicle_id, self.case_ids) if self.case_ids else None


@dataclass(frozen=True)
class Change:
    """One audited change of the hotlist."""

    action: str  # anpr_hotlist_add | anpr_hotlist_remove | anpr_hotlist_change
    vrm: str
    vehicle_id: int
    rule: str
    reason: str | None
    case_ids: tuple[int, ...]
    reasons: dict[int, str]


@dataclass
class RebuildReport:
    vehicles: int
    added: int
    removed: int
    changed: int
    seconds: float


def derive(db: Session, *, vehicle_ids: Sequence[int] | None = None, now: datetime | None = None) -> list[Derived]:
    """Apply the hotlist rule to every vehicle, or to ``vehicle_ids``."""
    now = now or datetime.now(UTC)
    if vehicle_ids is None:
        rows = db.execute(_ALL, {"now": now})
    else:
        rows = db.execute(_SOME, {"now": now, "vehicle_ids": list(vehicle_ids)})
    return [Derived(r.vehicle_id, r.vrm, tuple(r.case_ids), {int(k): v for k, v in r.reasons.items()})
            for r in rows]


def _why_off(d: Derived, cases: Iterable[int]) -> str:
    """The reason to name for a vehicle (or some of its warrants) leaving: the first in rule order
    among ``cases`` (the warrants that left), else among all of its warrants."""
    order = list(REASON_RULES)
    mine = [d.reasons[c] for c in cases if c in d.reasons] or list(d.reasons.values()) or ["no_warrant"]
    return min(mine, key=order.index)


def changes(old: Mapping[str, HotlistEntry | None], new: Iterable[Derived]) -> list[Change]:
    """What turning ``old`` (VRM → entry) into ``new`` adds, removes and changes. A VRM in ``old`` but
    absent from ``new`` belongs to a vehicle that no longer exists: removed, ``no_warrant``."""
    out: list[Change] = []
    seen: set[str] = set()
    for d in new:
        seen.add(d.vrm)
        before = old.get(d.vrm)
        if before is None and d.case_ids:
            out.append(Change("anpr_hotlist_add", d.vrm, d.vehicle_id, ADD_RULE, None, d.case_ids, d.reasons))
        elif before is not None and not d.case_ids:
            reason = _why_off(d, before.case_ids)
            out.append(Change("anpr_hotlist_remove", d.vrm, d.vehicle_id, REASON_RULES[reason], reason,
                              (), d.reasons))
        elif before is not None and before.case_ids != d.case_ids:
            left = set(before.case_ids) - set(d.case_ids)
            reason = _why_off(d, left) if left else None
            rule = REASON_RULES[reason] if reason else ADD_RULE
            out.append(Change("anpr_hotlist_change", d.vrm, d.vehicle_id, rule, reason, d.case_ids, d.reasons))
    for vrm, before in old.items():
        if before is not None and vrm not in seen:
            out.append(Change("anpr_hotlist_remove", vrm, before.vehicle_id, REASON_RULES["no_warrant"],
                              "no_warrant", (), {}))
    return out


def _audit(db: Session, found: Sequence[Change], actor: str) -> None:
    if not found:
        return
    db.execute(insert(AuditEvent), [
        {"actor": actor, "action": c.action, "target": f"vehicle:{c.vehicle_id}",
         "data": {"vrm": c.vrm, "rule": c.rule, "reason": c.reason, "case_ids": list(c.case_ids),
                  "reasons": {str(k): v for k, v in c.reasons.items()}}}
        for c in found])


def refresh_vehicles(db: Session, client: redis.Redis, vehicle_ids: Sequence[int], actor: str, *,
                     now: datetime | None = None, namespace: str = "") -> list[Change]:
    """Re-derive ``vehicle_ids`` from committed case state, put them on or take them off the live
    hotlist, audit each change and commit. Call it after the change that prompted it is committed."""
    ids = sorted(set(vehicle_ids))
    if not ids:
        return []
    db.execute(_LOCK, {"ids": ids})
    derived = derive(db, vehicle_ids=ids, now=now)
    put = {d.vrm: e for d in derived if (e := d.entry) is not None}
    drop = [d.vrm for d in derived if d.entry is None]
    old = apply_changes(client, put, drop, ids, namespace=namespace)
    found = changes(old, derived)
    _audit(db, found, actor)
    db.commit()
    return found


def refresh_cases(db: Session, client: redis.Redis, case_ids: Sequence[int], actor: str, *,
                  now: datetime | None = None, namespace: str = "") -> list[Change]:
    """``refresh_vehicles`` for the vehicles of ``case_ids`` and of the warrants linked to them."""
    if not case_ids:
        return []
    vehicle_ids = db.scalars(_VEHICLES_OF_CASES, {"case_ids": list(case_ids)}).all()
    return refresh_vehicles(db, client, vehicle_ids, actor, now=now, namespace=namespace)


def rebuild_hotlist(db: Session, client: redis.Redis, actor: str, *, now: datetime | None = None,
                    namespace: str = "", progress: Callable[[str], None] | None = None) -> RebuildReport:
    """Derive the whole hotlist from PostGIS into a new hash and swap it in atomically; audit the
    difference from the list it replaces; then re-derive the vehicles changed while it ran."""
    started = datetime.now(UTC)
    now = now or started
    say = progress or (lambda _msg: None)
    token = uuid.uuid4().hex
    start_build(client, token, namespace=namespace)
    say("deriving from case state")
    derived = derive(db, now=now)
    entries = {d.vrm: e for d in derived if (e := d.entry) is not None}
    say(f"writing {len(entries):,} vehicles")
    write_build(client, token, entries, namespace=namespace)
    old, pending = swap_build(client, token, namespace=namespace)
    client.set(namespace + ADMITTED_KEY, now.isoformat())
    found = changes(old, derived)
    say(f"auditing {len(found):,} changes")
    _audit(db, found, actor)
    db.commit()
    if pending:
        say(f"re-deriving {len(pending):,} vehicles changed during the rebuild")
        found += refresh_vehicles(db, client, pending, actor, now=now, namespace=namespace)
    count = {a: sum(c.action == a for c in found)
             for a in ("anpr_hotlist_add", "anpr_hotlist_remove", "anpr_hotlist_change")}
    return RebuildReport(len(entries), count["anpr_hotlist_add"], count["anpr_hotlist_remove"],
                         count["anpr_hotlist_change"], (datetime.now(UTC) - started).total_seconds())


def admit_due(db: Session, client: redis.Redis, actor: str, *, now: datetime | None = None,
              namespace: str = "") -> list[Change]:
    """Re-derive the vehicles whose R-ANPR-24H clock ran out since the last call (or rebuild); a
    long-running ANPR worker calls it every few seconds. Without a previous mark, a full rebuild."""
    now = now or datetime.now(UTC)
    mark = client.get(namespace + ADMITTED_KEY)
    if mark is None:
        rebuild_hotlist(db, client, actor, now=now, namespace=namespace)
        return []
    since = datetime.fromisoformat(mark.decode() if isinstance(mark, bytes) else mark)
    vehicle_ids = db.scalars(_DUE, {"since": since, "now": now}).all()
    found = refresh_vehicles(db, client, vehicle_ids, actor, now=now, namespace=namespace)
    client.set(namespace + ADMITTED_KEY, now.isoformat())
    return found
