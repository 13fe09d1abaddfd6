"""``bailiwick sim agents`` end to end: the seeded ``tiny`` scenario, one region's day planned and
stored, the simulated phones published by the CLI to a real Mosquitto (started here on a spare port, so
no other consumer of the shared broker takes or stores these fixes), the real ingest worker storing
them, and ``tracking.record_day_evidence`` finding the visits of the ground truth [R-VISIT-EVIDENCE]."""
from __future__ import annotations

import csv
import itertools
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

import sim
from cli import app
from core import broker_address, connect_mqtt, get_settings, session_scope
from core.models import GpsPing, PlanRoute, PlanRun, VisitEvidence
from dispatch import plan_and_store
from tests.helpers import unique
from tests.ingest_world import running_worker
from tracking import IngestWorker, day_bounds, record_day_evidence

DAY = sim.SCENARIOS["tiny"].as_of
REGION = "TLK"
runner = CliRunner()


@pytest.fixture(scope="module")
def planned(geodata_loaded, policies_loaded) -> list[int]:
    """The tiny scenario with REGION's day planned; the agents with a route."""
    sim.seed_scenario("tiny", seed=1, progress=False)
    with session_scope() as db:
        outcome = plan_and_store(db, DAY, region=REGION, time_limit_s=5.0, actor="test", publish=False)
        assert not outcome.violations and not outcome.unsolved
        run = db.scalar(select(func.max(PlanRun.id)).where(PlanRun.day == DAY))
        agents = sorted(db.scalars(select(PlanRoute.agent_id).where(PlanRoute.run_id == run)))
        start, end = day_bounds(DAY)
        db.execute(delete(GpsPing).where(GpsPing.ts >= start, GpsPing.ts < end))
    assert agents
    return agents


@pytest.fixture
def worker(private_broker_url: str) -> Iterator[IngestWorker]:
    # The scenario's day is fixed: reach it however long ago it is.
    reach = (datetime.now(UTC).date() - DAY).days + 2
    with running_worker(namespace=f"test:{unique('sim')}:", mqtt_url=private_broker_url,
                        retention_days=max(reach, 90)) as w:
        yield w


def _stored(agents: list[int]) -> int:
    start, end = day_bounds(DAY)
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(GpsPing).where(
            GpsPing.agent_id.in_(agents), GpsPing.ts >= start, GpsPing.ts < end))


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_sim_agents_publishes_the_planned_day_and_the_evidence_finds_its_visits(planned, private_broker_url, worker,
                                                                                tmp_path, monkeypatch) -> None:
    truth_csv = tmp_path / "truth.csv"
    monkeypatch.setenv("BAILIWICK_MQTT_URL", private_broker_url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["sim", "agents", "--scenario", "tiny", "--day", DAY.isoformat(), "--replay",
                                     "--truth", str(truth_csv)])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    fixes = int(re.search(r"\((\d+) fixes\)", result.output).group(1))
    deadline = time.monotonic() + 60
    while _stored(planned) < fixes:
        assert time.monotonic() < deadline, f"{_stored(planned)} of {fixes} fixes stored"
        time.sleep(0.2)
    assert worker.written.dead_letters == 0

    rows = list(csv.DictReader(truth_csv.open()))
    assert list(rows[0]) == sim.TRUTH_COLUMNS
    assert {int(r["agent_id"]) for r in rows} == set(planned)
    visits = [r for r in rows if r["kind"] == "visit"]
    decoys = [r for r in rows if r["kind"] in ("fuel", "lunch")]
    assert visits and decoys

    start, end = day_bounds(DAY)
    with session_scope() as db:
        for agent in planned:
            record_day_evidence(db, DAY, agent)
        evidence = db.execute(select(VisitEvidence.agent_id, VisitEvidence.case_id, VisitEvidence.arrival,
                                     VisitEvidence.departure)
                              .where(VisitEvidence.agent_id.in_(planned), VisitEvidence.arrival >= start,
                                     VisitEvidence.arrival < end)).all()
    # Cases at one postcode share its centroid, and consecutive visits there are one dwell to GPS (one
    # stop is evidence for one case): only the visits with no such neighbour are expected to be found.
    shared = {id(r) for a, b in itertools.pairwise(visits)
              if (a["agent_id"], a["lat"], a["lon"]) == (b["agent_id"], b["lat"], b["lon"]) for r in (a, b)}
    alone = [v for v in visits if id(v) not in shared]
    # An agent early for a window waits in the car parked 10-40 m from the door; the stop GPS sees may end
    # as the agent gets out, a walk of under a minute before the knock.
    walk = timedelta(minutes=1)
    found = [v for v in alone if any(
        e.agent_id == int(v["agent_id"]) and e.case_id == int(v["case_id"])
        and e.arrival < _t(v["departure"]) and e.departure > _t(v["arrival"]) - walk for e in evidence)]
    modes = sorted((v["mode"], v["dwell_s"]) for v in alone if v not in found)
    assert len(found) >= 0.9 * len(alone), f"{len(found)} of {len(alone)} true visits have evidence; missed {modes}"
    for d in decoys:  # a fuel or lunch stop is never evidence of a visit
        assert not any(e.agent_id == int(d["agent_id"]) and e.arrival < _t(d["departure"])
                       and e.departure > _t(d["arrival"]) for e in evidence), d
    within = []
    for v in found:  # the 10-second phones: at the door within 30 s (the target: 95% of visits)
        if v["mode"] != "android":
            continue
        e = next(e for e in evidence if e.agent_id == int(v["agent_id"]) and e.case_id == int(v["case_id"])
                 and e.arrival < _t(v["departure"]) and e.departure > _t(v["arrival"]))
        within.append(abs((e.arrival - _t(v["arrival"])).total_seconds()) <= 30
                      and abs((e.departure - _t(v["departure"])).total_seconds()) <= 30)
    assert within and sum(within) >= 0.8 * len(within), within


def test_sim_agents_refuses_bad_input_naming_the_flag() -> None:
    for args, flag in [(["--scenario", "huge"], "--scenario"), (["--day", "23/11/2026"], "--day"),
                       (["--until", "noonish"], "--until"), (["--speed", "0"], "--speed")]:
        result = runner.invoke(app, ["sim", "agents", *args])
        assert result.exit_code == 2 and flag in result.output, result.output


def test_messages_are_published_at_speed_times_real_time_in_order(private_broker_url: str) -> None:
    """Three messages 30 s apart at --speed 100 arrive 0.3 s apart, in order, with QoS 1."""
    topic = f"test/{unique('sim')}"
    got: list[tuple[float, bytes]] = []
    listener = connect_mqtt(broker_address(private_broker_url))
    listener.on_message = lambda _c, _u, m: got.append((time.monotonic(), m.payload))
    listener.subscribe(topic, qos=1)
    time.sleep(0.3)
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    messages = [sim.Message(at + timedelta(seconds=30 * i), topic, str(i).encode(), 1) for i in range(3)]
    try:
        assert sim.publish_messages(messages, speed=100.0, mqtt_url=private_broker_url) == 3
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        listener.disconnect()
        listener.loop_stop()
    assert [p for _, p in got] == [b"0", b"1", b"2"]
    assert 0.5 <= got[2][0] - got[0][0] <= 1.5
