"""The ANPR hotlist derived from case state (R-ANPR-24H, R-ANPR-DELETE, R-ANPR-KEEPER), against real
PostGIS and Redis. Each test keeps its Redis keys under its own namespace, except the CLI and API
tests, which use the live key (the API and the CLI have no namespace) and only look at their own VRMs.
"""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from anpr_ingest import (
    HOTLIST_KEY,
    HotlistEntry,
    admit_due,
    lookup,
    read_all,
    rebuild_hotlist,
    refresh_cases,
)
from cli import app as cli_app
from core.models import CaseVehicle
from tests.anpr_world import NOW, add_vehicle, audits, hot_case, namespace
from tests.case_world import (
    bearer,
    make_cases,
    make_user,
)

ACTOR = "test:hotlist"


@pytest.fixture
def ns(redis_client):
    with namespace(redis_client) as prefix:
        yield prefix


def test_a_qualifying_vehicle_is_added_and_audited_with_R_ANPR_24H(db, redis_client, ns):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    db.commit()
    found = refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    assert [c.action for c in found] == ["anpr_hotlist_add"]
    assert lookup(redis_client, vehicle.vrm, namespace=ns) == HotlistEntry(vehicle.id, (case.id,))
    spaced = f"{vehicle.vrm[:4]} {vehicle.vrm[4:]}".lower()  # as a read may give it
    assert lookup(redis_client, spaced, namespace=ns) == HotlistEntry(vehicle.id, (case.id,))
    assert lookup(redis_client, "NOT A MARK", namespace=ns) is None
    (row,) = audits(db, vehicle)
    assert (row.action, row.actor, row.data["rule"], row.data["case_ids"]) == \
        ("anpr_hotlist_add", ACTOR, "R-ANPR-24H", [case.id])
    # Nothing changed: a second refresh neither writes nor audits.
    assert refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns) == []
    assert len(audits(db, vehicle)) == 1


DELETE_REASONS = [
    # (reason, rule, what to change: on the case, the vehicle or the link)
    ("on_hold", "R-ANPR-DELETE", ("case", {"on_hold": True, "hold_reason": "dispute"})),
    ("paid", "R-ANPR-DELETE", ("case", {"status": "paid"})),
    ("paid", "R-ANPR-DELETE", ("case", {"current_balance_pence": 0})),
    ("returned", "R-ANPR-DELETE", ("case", {"status": "returned"})),
    ("arrangement", "R-ANPR-DELETE", ("case", {"under_arrangement": True})),
    ("withdrawn", "R-ANPR-DELETE", ("case", {"return_requested_at": NOW})),
    ("hire_or_lease", "R-ANPR-DELETE", ("vehicle", {"hire_or_lease": True})),
    ("ownership_changed", "R-ANPR-DELETE", ("link", {"ownership_changed": True})),
    ("different_keeper", "R-ANPR-KEEPER", ("vehicle", {"keeper_check_state": "different_keeper"})),
    ("closed", "R-CASE-HOLD", ("case", {"status": "closed"})),
    ("vulnerable", "R-CASE-VULN", ("case", {"vulnerable": True})),
]


@pytest.mark.parametrize("reason,rule,change", DELETE_REASONS,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(DELETE_REASONS)])
def test_R_ANPR_DELETE_each_reason_takes_the_vehicle_off_and_is_audited(db, redis_client, ns, reason, rule, change):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    db.commit()
    refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    assert lookup(redis_client, vehicle.vrm, namespace=ns) is not None

    where, values = change
    target = {"case": case, "vehicle": vehicle,
              "link": db.get(CaseVehicle, (case.id, vehicle.id))}[where]
    for name, value in values.items():
        setattr(target, name, value)
    db.commit()
    (removed,) = refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    assert lookup(redis_client, vehicle.vrm, namespace=ns) is None
    assert (removed.action, removed.rule, removed.reason) == ("anpr_hotlist_remove", rule, reason)
    row = audits(db, vehicle)[-1]
    assert (row.action, row.data["rule"], row.data["reason"]) == ("anpr_hotlist_remove", rule, reason)
    assert row.data["reasons"] == {str(case.id): reason}


def test_R_ANPR_24H_a_vehicle_waits_for_its_clock_then_admit_due_adds_it(db, redis_client, ns):
    unvisited = hot_case(db, anpr_eligible_from=None)
    waiting = hot_case(db, anpr_eligible_from=NOW + timedelta(hours=2))
    v_unvisited, v_waiting = add_vehicle(db, unvisited), add_vehicle(db, waiting)
    db.commit()
    rebuild_hotlist(db, redis_client, ACTOR, now=NOW, namespace=ns)
    assert lookup(redis_client, v_unvisited.vrm, namespace=ns) is None
    assert lookup(redis_client, v_waiting.vrm, namespace=ns) is None

    # The test database keeps other tests' vehicles: look only at these two.
    mine = {v_unvisited.id, v_waiting.id}
    early = admit_due(db, redis_client, ACTOR, now=NOW + timedelta(hours=1), namespace=ns)
    assert [c for c in early if c.vehicle_id in mine] == []
    found = admit_due(db, redis_client, ACTOR, now=NOW + timedelta(hours=3), namespace=ns)
    assert [(c.vehicle_id, c.action, c.rule) for c in found if c.vehicle_id in mine] == \
        [(v_waiting.id, "anpr_hotlist_add", "R-ANPR-24H")]
    assert lookup(redis_client, v_waiting.vrm, namespace=ns) == HotlistEntry(v_waiting.id, (waiting.id,))
    assert lookup(redis_client, v_unvisited.vrm, namespace=ns) is None


@pytest.mark.parametrize("stage", ["compliance", "sale"])
def test_only_a_warrant_in_the_enforcement_stage_puts_a_vehicle_on(db, redis_client, ns, stage):
    case = hot_case(db, stage=stage)
    vehicle = add_vehicle(db, case)
    db.commit()
    assert refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns) == []
    assert lookup(redis_client, vehicle.vrm, namespace=ns) is None
    case.stage = "enforcement"
    db.commit()
    refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)
    assert lookup(redis_client, vehicle.vrm, namespace=ns) == HotlistEntry(vehicle.id, (case.id,))


def test_a_vehicle_on_two_warrants_stays_while_one_still_qualifies(db, redis_client, ns):
    first, second = hot_case(db), hot_case(db)
    vehicle = add_vehicle(db, first)
    db.add(CaseVehicle(case_id=second.id, vehicle_id=vehicle.id))
    db.commit()
    refresh_cases(db, redis_client, [first.id], ACTOR, namespace=ns)
    assert lookup(redis_client, vehicle.vrm, namespace=ns).case_ids == tuple(sorted((first.id, second.id)))

    first.on_hold = True
    db.commit()
    (change,) = refresh_cases(db, redis_client, [first.id], ACTOR, namespace=ns)
    assert (change.action, change.reason) == ("anpr_hotlist_change", "on_hold")
    assert lookup(redis_client, vehicle.vrm, namespace=ns) == HotlistEntry(vehicle.id, (second.id,))

    second.status = "paid"
    db.commit()
    (change,) = refresh_cases(db, redis_client, [second.id], ACTOR, namespace=ns)
    assert (change.action, change.rule, change.reason) == ("anpr_hotlist_remove", "R-ANPR-DELETE", "paid")
    assert lookup(redis_client, vehicle.vrm, namespace=ns) is None


def test_refreshing_one_linked_warrant_rederives_the_vehicles_of_its_whole_group(db, redis_client, ns):
    # A visit to one warrant starts the R-ANPR-24H clock of every warrant at the address.
    lead, other = make_cases(db, [100_00, 200_00], anpr_eligible_from=NOW - timedelta(hours=1))
    vehicle = add_vehicle(db, other)
    db.commit()
    refresh_cases(db, redis_client, [lead.id], ACTOR, namespace=ns)  # the vehicle hangs off the other warrant
    assert lookup(redis_client, vehicle.vrm, namespace=ns) == HotlistEntry(vehicle.id, (other.id,))


def test_rebuild_equals_incremental_and_drops_what_no_longer_exists(db, redis_client, ns):
    incremental_ns, rebuilt_ns = ns + "inc:", ns + "full:"
    states = [{}, {"on_hold": True}, {"stage": "compliance"}, {"anpr_eligible_from": NOW + timedelta(days=1)},
              {"under_arrangement": True}, {}, {"status": "returned"}]
    cases = [hot_case(db, **s) for s in states]
    vehicles = [add_vehicle(db, c) for c in cases]
    db.add(CaseVehicle(case_id=cases[1].id, vehicle_id=vehicles[0].id))  # a second warrant, on hold
    db.commit()
    mine = {v.vrm for v in vehicles}

    refresh_cases(db, redis_client, [c.id for c in cases], ACTOR, now=NOW, namespace=incremental_ns)
    # A stale entry for a mark no vehicle has any more: the rebuild drops it.
    redis_client.hset(rebuilt_ns + HOTLIST_KEY, "ZZ99ZZZ", HotlistEntry(-1, (-1,)).dumps())
    report = rebuild_hotlist(db, redis_client, ACTOR, now=NOW, namespace=rebuilt_ns)

    incremental = read_all(redis_client, namespace=incremental_ns)
    rebuilt = read_all(redis_client, namespace=rebuilt_ns)
    assert {k: v for k, v in rebuilt.items() if k in mine} == incremental
    assert set(incremental) == {vehicles[0].vrm, vehicles[5].vrm}
    assert "ZZ99ZZZ" not in rebuilt and report.removed >= 1 and report.vehicles == len(rebuilt)


def test_a_change_made_during_a_rebuild_is_not_undone_by_its_swap(db, redis_client, ns):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    db.commit()
    refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)

    def hold_meanwhile(message: str) -> None:
        # After the rebuild read the database (the vehicle still qualified) and before it swaps.
        if message.startswith("writing"):
            from core import session_scope

            with session_scope() as other:
                other.get(type(case), case.id).on_hold = True
                other.commit()
                refresh_cases(other, redis_client, [case.id], ACTOR, namespace=ns)
            assert lookup(redis_client, vehicle.vrm, namespace=ns) is None

    rebuild_hotlist(db, redis_client, ACTOR, namespace=ns, progress=hold_meanwhile)
    assert lookup(redis_client, vehicle.vrm, namespace=ns) is None


def test_overlapping_rebuilds_each_rederive_what_changed_during_their_own_run(db, redis_client, ns):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    db.commit()
    refresh_cases(db, redis_client, [case.id], ACTOR, namespace=ns)

    def inner_rebuild_then_hold(message: str) -> None:
        # The outer rebuild has read the vehicle as qualifying; another rebuild runs to its end, then
        # the case is held, all before the outer one swaps.
        if message.startswith("writing"):
            from core import session_scope

            with session_scope() as other:
                rebuild_hotlist(other, redis_client, ACTOR, namespace=ns)
                other.get(type(case), case.id).on_hold = True
                other.commit()
                refresh_cases(other, redis_client, [case.id], ACTOR, namespace=ns)

    rebuild_hotlist(db, redis_client, ACTOR, namespace=ns, progress=inner_rebuild_then_hold)
    assert lookup(redis_client, vehicle.vrm, namespace=ns) is None


def test_cli_rebuild_fills_the_live_hotlist(db, redis_client):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    db.commit()
    result = CliRunner().invoke(cli_app, ["anpr", "hotlist", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "hotlist:" in result.output and "vehicles" in result.output
    assert lookup(redis_client, vehicle.vrm) == HotlistEntry(vehicle.id, (case.id,))
    assert audits(db, vehicle)[-1].actor == "cli:anpr hotlist rebuild"


def _removal_seconds(client, redis_client, vrm: str, request) -> float:
    """Seconds from sending ``request`` until the VRM is gone from the live hotlist; the change is
    committed inside the request, so this bounds the time from commit to removal."""
    started = time.perf_counter()
    response = request()
    assert response.status_code in (200, 201), response.text
    while lookup(redis_client, vrm) is not None:
        assert time.perf_counter() - started < 5, "the vehicle stayed on the hotlist"
        time.sleep(0.005)
    return time.perf_counter() - started


@pytest.mark.parametrize("change", ["hold", "payment", "request_return"])
def test_R_ANPR_DELETE_a_hold_payment_or_return_through_the_api_is_off_within_1s(
        db, client, redis_client, policies_loaded, change):
    case = hot_case(db)
    vehicle = add_vehicle(db, case)
    username = make_user(db, "dispatcher")
    db.commit()
    headers = bearer(client, username)
    refresh_cases(db, redis_client, [case.id], ACTOR)
    assert lookup(redis_client, vehicle.vrm) is not None

    requests = {
        "hold": lambda: client.post(f"/cases/{case.id}/transitions", headers=headers,
                                    json={"transition": "hold", "reason": "customer disputes the debt"}),
        "payment": lambda: client.post(f"/cases/{case.id}/payments", headers=headers,
                                       json={"amount_pence": case.current_balance_pence,
                                             "reference": uuid.uuid4().hex}),
        "request_return": lambda: client.post(f"/cases/{case.id}/transitions", headers=headers,
                                              json={"transition": "request_return", "reason": "buyer recalls"}),
    }
    seconds = _removal_seconds(client, redis_client, vehicle.vrm, requests[change])
    assert seconds < 1.0, f"{change}: {seconds:.2f} s from the request to the removal"
    row = audits(db, vehicle)[-1]
    assert (row.action, row.data["rule"]) == ("anpr_hotlist_remove", "R-ANPR-DELETE")
    assert row.actor.startswith("user:dispatcher")


def test_R_ANPR_24H_a_visit_recorded_through_the_api_starts_the_clock_and_a_past_clock_adds_at_once(
        db, client, redis_client, policies_loaded):
    case = hot_case(db, anpr_eligible_from=None)
    vehicle = add_vehicle(db, case)
    username = make_user(db, "dispatcher")
    db.commit()
    headers = bearer(client, username)
    # A weekday morning at least two days back: the visit's clock (arrival + 24 h) has already run.
    day = (NOW - timedelta(days=3)).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    arrived = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
    r = client.post("/visits", headers=headers, json={
        "case_id": case.id, "outcome": "no_contact", "arrived_at": arrived.isoformat(), "lat": 50.3755,
        "lon": -4.1427, "acknowledge_breach": True})
    assert r.status_code == 201, r.text
    assert "anpr_clock" in r.json()["effects"]
    assert lookup(redis_client, vehicle.vrm) == HotlistEntry(vehicle.id, (case.id,))
    row = audits(db, vehicle)[-1]
    assert (row.action, row.data["rule"]) == ("anpr_hotlist_add", "R-ANPR-24H")
