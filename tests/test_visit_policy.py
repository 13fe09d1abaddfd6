"""Buyer visit policies (core.visit_policy): YAML schema, loading, versions in force, and the batched
case facts (core.case_facts), against the real database."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from geoalchemy2.elements import WKTElement
from sqlalchemy import select

from core.case_facts import load_case_facts, visit_history
from core.models import Address, AuditEvent, Buyer, Case, Debtor, Visit
from core.visit_policy import (
    POLICY_DIR, PolicyError, load_policies, parse_policy, policy_in_force, policy_versions, read_policy_file,
    save_policy_version,
)
from core.visit_rules import Nation
from tests.helpers import unique


def plymouth_document() -> dict:
    return yaml.safe_load((POLICY_DIR / "plymouth.yaml").read_text())


def policy_name() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def test_shipped_policies_parse() -> None:
    names = {path.stem: read_policy_file(path) for path in POLICY_DIR.glob("*.yaml")}
    assert set(names) == {"ccs_default", "plymouth", "newcastle", "croydon"}
    assert names["newcastle"].weekdays == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert names["croydon"].compliance_period_clear_days == 14
    assert names["plymouth"].min_visits_before_return == 5


@pytest.mark.parametrize(("edit", "path"), [
    (lambda d: d["hours"].__setitem__("saturday", [{"start": "06:00", "end": "25:00"}]), "hours.saturday[0].end"),
    (lambda d: d["hours"].__setitem__("saturday", [{"start": "09:00", "end": "08:00"}]), "hours.saturday[0]"),
    (lambda d: d.__setitem__("min_gap_after_no_contact_hours", "24"), "min_gap_after_no_contact_hours"),
    (lambda d: d.__setitem__("max_visits_per_day", 2), "max_visits_per_day"),
    (lambda d: d["blackouts"][0].__setitem__("end", "02-30"), "blackouts[0]"),
    (lambda d: d["stage_timetables"]["enforcement"]["windows"][1].__setitem__("after", "later"),
     "stage_timetables.enforcement.windows[1].after"),
    (lambda d: d["weekdays"].append("funday"), "weekdays[6]"),
])
def test_malformed_policy_names_the_bad_field(edit, path: str) -> None:
    document = plymouth_document()
    edit(document)
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, "plymouth.yaml")
    assert str(caught.value).startswith(f"plymouth.yaml: {path}:"), str(caught.value)


def test_malformed_file_names_the_file_and_field(tmp_path: Path) -> None:
    # Unquoted 21:00 is a YAML 1.1 base-60 integer (1260): strict validation refuses it.
    text = (POLICY_DIR / "plymouth.yaml").read_text().replace('end: "21:00"', "end: 21:00")
    (tmp_path / "plymouth.yaml").write_text(text)
    with pytest.raises(PolicyError, match=r"^plymouth\.yaml: hours\.default\[0\]\.end: "):
        read_policy_file(tmp_path / "plymouth.yaml")
    (tmp_path / "croydon.yaml").write_text((POLICY_DIR / "plymouth.yaml").read_text())
    with pytest.raises(PolicyError, match="does not match the file name"):
        read_policy_file(tmp_path / "croydon.yaml")


def test_load_is_idempotent(policies_loaded, db, tmp_path: Path) -> None:
    assert not any(report.created for report in load_policies(db, actor="test"))
    name = policy_name()
    document = {**plymouth_document(), "name": name}
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(document))
    first, again = load_policies(db, "test", tmp_path), load_policies(db, "test", tmp_path)
    assert [(r.name, r.version, r.created) for r in first] == [(name, 1, True)]
    assert [(r.name, r.version, r.created) for r in again] == [(name, 1, False)]
    # A changed document under the same effective_from is not a silent edit of version 1.
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({**document, "min_visits_before_return": 6}))
    with pytest.raises(PolicyError, match="effective_from"):
        load_policies(db, "test", tmp_path)


def test_version_in_force_by_date_and_audited(migrated, db) -> None:
    name = policy_name()
    document = {k: v for k, v in plymouth_document().items() if k not in ("name", "effective_from")}
    v1 = save_policy_version(db, name, document, date(2025, 1, 1), actor="user:admin")
    v2 = save_policy_version(db, name, {**document, "min_gap_after_no_contact_hours": 48}, date(2025, 6, 1),
                             actor="user:admin")
    assert (v1.version, v2.version, v2.source) == (1, 2, "api:user:admin")
    assert policy_in_force(db, name, date(2025, 5, 31)).min_gap_after_no_contact_hours == 24
    assert policy_in_force(db, name, date(2025, 6, 1)).min_gap_after_no_contact_hours == 48
    with pytest.raises(PolicyError, match="no version in force"):
        policy_in_force(db, name, date(2024, 12, 31))
    with pytest.raises(PolicyError, match="already starts"):
        save_policy_version(db, name, document, date(2025, 6, 1), actor="user:admin")
    with pytest.raises(PolicyError, match="name: 'plymouth' contradicts"):
        save_policy_version(db, policy_name(), plymouth_document(), date(2024, 1, 1), actor="user:admin")
    audits = db.scalars(select(AuditEvent).where(AuditEvent.target == f"policy:{name}")).all()
    assert [(a.action, a.data["version"]) for a in audits] == [("policy.version", 1), ("policy.version", 2)]
    assert [v.version for v in policy_versions(db, name)] == [1, 2]


def test_database_round_trip(policies_loaded, db) -> None:
    for path in POLICY_DIR.glob("*.yaml"):
        assert policy_in_force(db, path.stem, date.today()) == read_policy_file(path)


def test_case_facts_and_history_are_batched(policies_loaded, db) -> None:
    buyer = Buyer(reference=unique("policy-buyer"), name="Policy Test Council", kind="council",
                  policy_name="newcastle")
    debtor = Debtor(name=unique("debtor"))
    scottish = Address(line1="1 High Street", postcode="EH1 1AA", itl1_cd="TLM", sensitive=True,
                       location=WKTElement("POINT(-3.19 55.95)", srid=4326))
    cleared = Address(line1="2 High Street", postcode="NE1 1AA", itl1_cd="TLC", sensitive=True,
                      sensitive_cleared_at=datetime.now(UTC), location=WKTElement("POINT(-1.61 54.97)", srid=4326))
    db.add_all([buyer, debtor, scottish, cleared])
    db.flush()
    cases = [Case(buyer_id=buyer.id, buyer_reference=unique("ref"), supplier_reference=unique("S")[:32],
                  debt_type="council_tax", original_balance_pence=10_000, current_balance_pence=10_000,
                  stage="enforcement", received_on=date(2025, 1, 2), notice_issued_on=date(2025, 1, 3),
                  enforcement_stage_on=date(2025, 1, 30), debtor_id=debtor.id, address_id=address.id)
             for address in (scottish, cleared)]
    db.add_all(cases)
    db.flush()
    arrived = datetime(2025, 2, 3, 10, tzinfo=UTC)
    db.add(Visit(case_id=cases[0].id, arrived_at=arrived, outcome="no_contact", time_band="office",
                 recorded_by="test"))
    db.flush()
    ids = [c.id for c in cases]
    facts = load_case_facts(db, ids, date(2025, 2, 3))
    first, second = facts[ids[0]], facts[ids[1]]
    assert (first.nation, first.sensitive, first.policy.name) == (Nation.scotland, True, "newcastle")
    assert (second.nation, second.sensitive) == (Nation.england_wales, False)
    assert first.enforcement_stage_on == date(2025, 1, 30) and first.policy is second.policy
    history = visit_history(db, ids)
    assert [(v.arrived_at, v.outcome, v.time_band) for v in history[ids[0]]] == [(arrived, "no_contact", "office")]
    assert history[ids[1]] == []
    db.rollback()
