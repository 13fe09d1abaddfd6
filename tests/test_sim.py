"""The scenario generator against the real test database: counts, determinism, geography, the case
mix and what a reseed keeps. Seeds ``tiny`` (a few seconds) and ``demo`` once, demo last."""
from __future__ import annotations

import re

import holidays
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

import geodata
import sim
from core.db import get_engine
from core.security import verify_device_secret
from core.visit_policy import POLICY_DIR, read_policy_file
from core.visit_rules import compliance_period_end, nation_of_itl1
from tests.helpers import unique

TINY = sim.SCENARIOS["tiny"]
DEMO = sim.SCENARIOS["demo"]
COUNCIL_LADS = {"plymouth": "E06000026", "newcastle": "E08000021", "croydon": "E09000008"}
# Every table a seed replaces, with the columns that identify a row's order.
TABLES = {
    "subcontractor": "id", "agent": "id", "van": "id", "device": "id", "debtor": "id", "address": "id",
    "enforcement_case": "id", "vehicle": "id", "case_vehicle": "case_id, vehicle_id", "case_event": "id",
}

_seeded: dict[str, tuple[str, int] | None] = {"state": None}


def rows(url: str, sql: str, **params) -> list:
    """Run one query on its own short connection, so no test holds locks across a reseed."""
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def scalar(url: str, sql: str, **params):
    return rows(url, sql, **params)[0][0]


def seed(url: str, name: str, seed_: int) -> sim.SeedReport:
    report = sim.seed_scenario(name, seed=seed_, progress=False, url=url)
    _seeded["state"] = (name, seed_)
    return report


def ensure(url: str, name: str, seed_: int = 1) -> None:
    if _seeded["state"] != (name, seed_):
        seed(url, name, seed_)


def table_hashes(url: str) -> dict[str, str]:
    """md5 of every replaced table's rows in id order, without the insertion timestamps; the scenario
    buyers are included (their ids must be stable too)."""
    hashes = {
        table: scalar(url, f"SELECT md5(coalesce(string_agg((to_jsonb(t) - 'created_at' - 'updated_at')::text, "
                           f"E'\\n' ORDER BY {order}), '')) FROM {table} t")
        for table, order in TABLES.items()
    }
    hashes["buyer"] = scalar(url, "SELECT md5(string_agg((to_jsonb(b) - 'created_at')::text, E'\\n' ORDER BY id)) "
                                  "FROM buyer b WHERE reference IN ('plymouth', 'newcastle', 'croydon', 'national')")
    return hashes


@pytest.fixture(scope="module")
def tiny_report(geodata_loaded: str) -> sim.SeedReport:
    return seed(geodata_loaded, "tiny", 1)


@pytest.fixture
def tiny_db(geodata_loaded: str, tiny_report: sim.SeedReport) -> str:
    ensure(geodata_loaded, "tiny")
    return geodata_loaded


def test_tiny_seeds_the_expected_counts(tiny_report: sim.SeedReport, tiny_db: str) -> None:
    counts = tiny_report.counts
    assert counts["enforcement_case"] == TINY.cases
    assert counts["agent"] == TINY.agents and counts["van"] == TINY.vans
    assert counts["device"] == TINY.agents + TINY.vans
    assert counts["subcontractor"] >= 2
    assert counts["debtor"] == counts["address"] < TINY.cases  # linked warrants share a debtor
    for table in TABLES:
        assert scalar(tiny_db, f"SELECT count(*) FROM {table}") == counts[table], table
    assert "enforcement_case" in tiny_report.describe()


def test_unknown_scenario_is_refused_before_any_write(geodata_loaded: str) -> None:
    with pytest.raises(sim.UnknownScenario, match="tiny, demo, national"):
        sim.seed_scenario("huge", url=geodata_loaded, progress=False)


def test_the_four_buyers_exist_with_their_local_authorities(tiny_db: str) -> None:
    buyers = {r.reference: r for r in rows(tiny_db, "SELECT reference, kind, lad_cd FROM buyer")}
    for reference, lad in COUNCIL_LADS.items():
        assert (buyers[reference].kind, buyers[reference].lad_cd) == ("council", lad)
    assert (buyers["national"].kind, buyers["national"].lad_cd) == ("national", None)
    used = {r[0] for r in rows(tiny_db, "SELECT DISTINCT b.reference FROM enforcement_case c "
                                        "JOIN buyer b ON b.id = c.buyer_id")}
    assert used == {"plymouth", "newcastle", "croydon", "national"}


def test_addresses_are_located_postcode_centroids(tiny_db: str) -> None:
    found = pd.DataFrame(rows(tiny_db, """
        SELECT a.line1, a.town, a.itl1_cd, a.lad_cd, ST_X(a.location) AS lon, ST_Y(a.location) AS lat,
               la.name AS lad_name, ST_Equals(a.location, p.location) AS at_centroid
        FROM address a JOIN postcode p USING (postcode) JOIN local_authority la USING (lad_cd)"""))
    assert len(found) == scalar(tiny_db, "SELECT count(*) FROM address")
    assert found["at_centroid"].all()
    assert (found["town"] == found["lad_name"]).all()
    assert found["line1"].str.fullmatch(r"\d+ [A-Z][a-z]+ [A-Z][a-z]+").all()
    with get_engine(tiny_db).connect() as conn:
        located = geodata.locate_points(conn, found["lon"], found["lat"])
    assert (located["lad_cd"].to_numpy() == found["lad_cd"].to_numpy()).all()
    assert (located["itl1_cd"].to_numpy() == found["itl1_cd"].to_numpy()).all()


def test_council_cases_lie_in_their_own_local_authority(tiny_db: str) -> None:
    outside = rows(tiny_db, """
        SELECT b.reference, a.lad_cd FROM enforcement_case c JOIN buyer b ON b.id = c.buyer_id
        JOIN address a ON a.id = c.address_id WHERE b.kind = 'council' AND a.lad_cd IS DISTINCT FROM b.lad_cd""")
    assert outside == []


def test_same_seed_gives_identical_rows_and_another_seed_different_ones(tiny_db: str) -> None:
    first = table_hashes(tiny_db)
    seed(tiny_db, "tiny", 2)
    other = table_hashes(tiny_db)
    seed(tiny_db, "tiny", 1)
    again = table_hashes(tiny_db)
    assert again == first
    changed = {t for t in first if first[t] != other[t]}
    # Fixed reference rows (the firms, the buyers) are the same under every seed; the rest differs.
    assert changed == set(TABLES) - {"subcontractor"}


def test_generate_is_pure(tiny_db: str) -> None:
    with get_engine(tiny_db).connect() as conn:
        pool = sim.load_pool(conn, TINY)
    a, b = sim.generate("tiny", 7, pool), sim.generate("tiny", 7, pool)
    for table, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[table], obj=table)
    assert a.device_secrets == b.device_secrets
    assert not sim.generate("tiny", 8, pool).cases.equals(a.cases)


def test_linked_warrants_share_debtor_address_and_buyer_with_one_leader(tiny_db: str) -> None:
    groups = rows(tiny_db, """
        SELECT linked_group, count(*) AS n, count(*) FILTER (WHERE is_leading) AS leaders,
               count(DISTINCT debtor_id) AS debtors, count(DISTINCT address_id) AS addresses,
               count(DISTINCT buyer_id) AS buyers,
               bool_and(is_leading = (received_on = min_received)) AS earliest_leads
        FROM (SELECT *, min(received_on) OVER (PARTITION BY linked_group) AS min_received
              FROM enforcement_case WHERE linked_group IS NOT NULL) c
        GROUP BY linked_group""")
    assert groups, "the scenario has linked warrants"
    for g in groups:
        assert 2 <= g.n <= 3 and g.leaders == 1, g
        assert (g.debtors, g.addresses, g.buyers) == (1, 1, 1), g
    assert scalar(tiny_db, "SELECT count(*) FROM enforcement_case WHERE linked_group IS NULL AND NOT is_leading") == 0
    # A debtor's warrants are all in its group: no debtor has a linked and an unlinked warrant.
    assert scalar(tiny_db, "SELECT count(*) FROM (SELECT debtor_id FROM enforcement_case GROUP BY debtor_id "
                           "HAVING count(DISTINCT coalesce(linked_group, -id)) > 1) d") == 0


def test_balances_are_plausible_and_carry_the_compliance_fee_iff_noticed(tiny_db: str) -> None:
    ranges = {r.debt_type: (r.lo, r.hi) for r in rows(tiny_db, """
        SELECT debt_type, min(original_balance_pence) AS lo, max(original_balance_pence) AS hi
        FROM enforcement_case GROUP BY debt_type""")}
    assert 300_00 <= ranges["council_tax"][0] and ranges["council_tax"][1] <= 3_000_00
    assert 100_00 <= ranges["parking"][0] and ranges["parking"][1] <= 500_00
    assert ranges["business_rates"][1] > 3_000_00
    assert scalar(tiny_db, """
        SELECT count(*) FROM enforcement_case WHERE current_balance_pence
               <> original_balance_pence + CASE WHEN notice_issued_on IS NOT NULL THEN 7500 ELSE 0 END""") == 0
    assert scalar(tiny_db, "SELECT count(*) FROM enforcement_case WHERE notice_issued_on IS NULL") < TINY.cases


def test_every_balance_is_the_sum_of_its_ledger(tiny_db: str) -> None:
    """The ledger explains each balance: the placed debt plus a compliance fee iff noticed."""
    assert scalar(tiny_db, """
        SELECT count(*) FROM enforcement_case c
        LEFT JOIN (SELECT case_id, sum(amount_pence) AS total, count(*) FILTER (WHERE kind = 'debt') AS debts,
                          count(*) FILTER (WHERE fee_type = 'compliance') AS fees
                   FROM ledger_entry GROUP BY case_id) l ON l.case_id = c.id
        WHERE l.total IS DISTINCT FROM c.current_balance_pence OR l.debts <> 1
           OR l.fees <> (c.notice_issued_on IS NOT NULL)::int""") == 0
    assert scalar(tiny_db, "SELECT count(*) FROM ledger_entry WHERE kind = 'fee' AND fee_type <> 'compliance'") == 0


def test_buyers_follow_their_visit_policies(tiny_db: str) -> None:
    assert dict(rows(tiny_db, "SELECT reference, policy_name FROM buyer WHERE reference IN "
                              "('plymouth', 'newcastle', 'croydon', 'national')")) == {
        "plymouth": "plymouth", "newcastle": "newcastle", "croydon": "croydon", "national": "ccs_default"}


def test_dates_follow_the_notice_and_compliance_rules(tiny_db: str) -> None:
    bad = rows(tiny_db, """
        SELECT c.id FROM enforcement_case c JOIN buyer b ON b.id = c.buyer_id
        WHERE c.received_on >= DATE '2026-11-23'
           OR c.notice_issued_on < c.received_on
           OR (b.reference = 'plymouth' AND c.notice_issued_on > c.received_on + 2)  -- 48 hours
           OR (c.stage <> 'compliance') <> (c.enforcement_stage_on IS NOT NULL)
           OR (c.on_hold <> (c.hold_reason IS NOT NULL)) OR (c.vulnerable <> (c.vulnerability_note IS NOT NULL))
           OR (c.on_hold AND c.status <> 'open')""")
    assert bad == []
    # R-CASE-NOE: the notice within 2 working days of receipt (England and Wales bank holidays).
    dates = pd.DataFrame(rows(tiny_db, "SELECT received_on, notice_issued_on FROM enforcement_case "
                                       "WHERE notice_issued_on IS NOT NULL"))
    bank_holidays = list(holidays.UK(subdiv="ENG", years=range(2025, 2027)))
    lag = np.busday_count(dates["received_on"].to_numpy("datetime64[D]"),
                          dates["notice_issued_on"].to_numpy("datetime64[D]"), holidays=bank_holidays)
    assert lag.max() <= 2 and lag.min() >= 0


def test_enforcement_starts_only_after_each_policys_compliance_period(tiny_db: str) -> None:
    """R-CASE-COMPLIANCE, checked with the lifecycle's own guard and each buyer's shipped policy (14
    clear days for Croydon and the CCS default, 7 for Plymouth and Newcastle)."""
    enforced = rows(tiny_db, """
        SELECT b.policy_name, a.itl1_cd, c.notice_issued_on, c.enforcement_stage_on
        FROM enforcement_case c JOIN buyer b ON b.id = c.buyer_id JOIN address a ON a.id = c.address_id
        WHERE c.enforcement_stage_on IS NOT NULL""")
    assert {r.policy_name for r in enforced} == {"plymouth", "newcastle", "croydon", "ccs_default"}
    late = [r for r in enforced if r.enforcement_stage_on < compliance_period_end(
        r.notice_issued_on, read_policy_file(POLICY_DIR / f"{r.policy_name}.yaml"), nation_of_itl1(r.itl1_cd))]
    assert late == []


def test_every_case_has_a_history_consistent_with_its_dates(tiny_db: str) -> None:
    assert scalar(tiny_db, """
        SELECT count(*) FROM enforcement_case c WHERE
          (SELECT count(*) FROM case_event e WHERE e.case_id = c.id AND e.kind = 'placed'
              AND e.actor = 'sim:tiny' AND e.data->>'supplier_reference' = c.supplier_reference
              AND (e.at AT TIME ZONE 'Europe/London')::date = c.received_on) <> 1
          OR (SELECT count(*) FROM case_event e WHERE e.case_id = c.id AND e.kind = 'notice_issued'
              AND (e.at AT TIME ZONE 'Europe/London')::date = c.notice_issued_on)
             <> (c.notice_issued_on IS NOT NULL)::int
          OR (SELECT count(*) FROM case_event e WHERE e.case_id = c.id AND e.kind = 'enforcement_stage'
              AND (e.at AT TIME ZONE 'Europe/London')::date = c.enforcement_stage_on)
             <> (c.enforcement_stage_on IS NOT NULL)::int""") == 0
    # The placed event is each case's first.
    assert scalar(tiny_db, """
        SELECT count(*) FROM case_event e JOIN case_event p ON p.case_id = e.case_id AND p.kind = 'placed'
        WHERE e.kind <> 'placed' AND e.at <= p.at""") == 0


def test_vehicles_have_unique_current_format_plates(tiny_db: str) -> None:
    vehicles = rows(tiny_db, "SELECT vrm, keeper_check_state FROM vehicle")
    plates = [v.vrm for v in vehicles] + [r[0] for r in rows(tiny_db, "SELECT vrm FROM van")]
    assert len(plates) == len(set(plates))
    assert all(re.fullmatch(r"[A-HJ-PR-Y]{2}(0[2-9]|1[0-9]|2[0-6]|5[1-9]|6[0-9]|7[0-6])[A-HJ-PR-Z]{3}", p) for p in plates)
    assert {v.keeper_check_state for v in vehicles} == {"not_checked"}
    # Each vehicle belongs to one debtor and is on that debtor's warrants.
    assert scalar(tiny_db, """
        SELECT count(*) FROM vehicle v WHERE (SELECT count(DISTINCT c.debtor_id) FROM case_vehicle cv
              JOIN enforcement_case c ON c.id = cv.case_id WHERE cv.vehicle_id = v.id) <> 1""") == 0


def test_vans_belong_to_subcontractors_and_every_agent_and_van_has_one_device(tiny_db: str) -> None:
    van_columns = {r[0] for r in rows(tiny_db, "SELECT column_name FROM information_schema.columns "
                                               "WHERE table_name = 'van'")}
    assert not any("agent" in c for c in van_columns)
    assert scalar(tiny_db, "SELECT count(*) FROM device WHERE kind = 'van' AND agent_id IS NOT NULL") == 0
    assert scalar(tiny_db, "SELECT count(*) FROM van WHERE subcontractor_id IS NULL OR base IS NULL") == 0
    assert scalar(tiny_db, "SELECT count(*) FROM agent a WHERE (SELECT count(*) FROM device d "
                           "WHERE d.agent_id = a.id AND d.kind = 'phone' AND d.device_id = 'phone-' || a.reference) <> 1") == 0
    assert scalar(tiny_db, "SELECT count(*) FROM van v WHERE (SELECT count(*) FROM device d "
                           "WHERE d.van_id = v.id AND d.kind = 'van' AND d.device_id = 'van-' || v.reference) <> 1") == 0


def test_device_credentials_are_the_seeded_secrets(tiny_db: str) -> None:
    with get_engine(tiny_db).connect() as conn:
        scenario = sim.generate("tiny", 1, sim.load_pool(conn, TINY))
    stored = dict(rows(tiny_db, "SELECT device_id, credential_hash FROM device"))
    assert stored.keys() == scenario.device_secrets.keys()
    for device_id in ("phone-A0001", "van-V001"):
        assert verify_device_secret(scenario.device_secrets[device_id], stored[device_id])
        assert not verify_device_secret(scenario.device_secrets[device_id] + "x", stored[device_id])


def test_agents_have_located_home_bases_and_subcontractors(tiny_db: str) -> None:
    assert scalar(tiny_db, """
        SELECT count(*) FROM agent a JOIN postcode p ON p.postcode = a.home_postcode
        JOIN subcontractor s ON s.id = a.subcontractor_id
        WHERE ST_Equals(a.home_base, p.location) AND a.itl1_cd IS NOT NULL""") == TINY.agents


def test_a_reseed_keeps_users_buyers_and_the_audit_trail(tiny_db: str) -> None:
    username, buyer_user = unique("sim-agent"), unique("sim-buyer")
    with get_engine(tiny_db).begin() as conn:
        agent_id = conn.execute(text("SELECT min(id) FROM agent")).scalar_one()
        plymouth = conn.execute(text("SELECT id FROM buyer WHERE reference = 'plymouth'")).scalar_one()
        conn.execute(text("INSERT INTO app_user (username, password_hash, role, agent_id, active) "
                          "VALUES (:u, 'x', 'agent', :a, true)"), {"u": username, "a": agent_id})
        conn.execute(text("INSERT INTO app_user (username, password_hash, role, buyer_id, active) "
                          "VALUES (:u, 'x', 'buyer', :b, true)"), {"u": buyer_user, "b": plymouth})
        conn.execute(text("INSERT INTO buyer (reference, name, kind) VALUES (:r, 'Other buyer', 'other')"),
                     {"r": username})
    audit = scalar(tiny_db, "SELECT count(*) FROM audit_event")
    try:
        seed(tiny_db, "tiny", 1)
        _check_reseed_kept(tiny_db, username, buyer_user, plymouth, audit)
    finally:
        with get_engine(tiny_db).begin() as conn:
            conn.execute(text("DELETE FROM app_user WHERE username IN (:a, :b)"), {"a": username, "b": buyer_user})
            conn.execute(text("DELETE FROM buyer WHERE reference = :r"), {"r": username})
        _seeded["state"] = None  # the extra subcontractor below differs from a fresh seed


def test_a_reseed_clears_the_replaced_phones_tracks(tiny_db: str) -> None:
    """The new scenario's phones reuse the device ids: the old tracks must not mix with theirs."""
    from datetime import UTC, datetime

    from core import connect_redis
    from core.db import raw_connection
    from tracking import Decoded, GeofenceEvent, GpsFix, GpsStore, Received

    [(device_id, agent_id)] = rows(tiny_db, "SELECT device_id, agent_id FROM device WHERE kind = 'phone' "
                                            "ORDER BY id LIMIT 1")
    now = datetime.now(UTC).replace(microsecond=0)
    with raw_connection(tiny_db) as conn:
        GpsStore(conn, connect_redis(), namespace=f"test:{unique('reseed')}:").commit([Received(
            f"owntracks/{device_id}/phone/event", b"{}", now,
            Decoded([GpsFix(device_id, agent_id, now, -4.14, 50.37)],
                    transitions=[GeofenceEvent(device_id, agent_id, now, "enter", "1", -4.14, 50.37, 10.0)]))])
    assert scalar(tiny_db, "SELECT count(*) FROM gps_ping WHERE device_id = :d", d=device_id) == 1
    seed(tiny_db, "tiny", 1)
    assert scalar(tiny_db, "SELECT count(*) FROM gps_ping WHERE device_id = :d", d=device_id) == 0
    assert scalar(tiny_db, "SELECT count(*) FROM gps_transition WHERE device_id = :d", d=device_id) == 0


def _check_reseed_kept(tiny_db: str, username: str, buyer_user: str, plymouth: int, audit: int) -> None:
    users = dict(rows(tiny_db, "SELECT username, agent_id FROM app_user WHERE username IN (:a, :b)",
                      a=username, b=buyer_user))
    assert users == {username: None, buyer_user: None}
    assert scalar(tiny_db, "SELECT b.reference FROM app_user u JOIN buyer b ON b.id = u.buyer_id "
                           "WHERE u.username = :u", u=buyer_user) == "plymouth"
    assert scalar(tiny_db, "SELECT id FROM buyer WHERE reference = 'plymouth'") == plymouth
    assert scalar(tiny_db, "SELECT count(*) FROM buyer WHERE reference = :r", r=username) == 1
    assert scalar(tiny_db, "SELECT count(*) FROM audit_event") >= audit
    # Sequences continue after the generated ids, so ordinary inserts still work.
    with get_engine(tiny_db).begin() as conn:
        new_id = conn.execute(text("INSERT INTO subcontractor (reference, name) VALUES (:r, 'x') RETURNING id"),
                              {"r": username}).scalar_one()
    assert new_id == scalar(tiny_db, "SELECT count(*) FROM subcontractor")


# --- demo, seeded once, last ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(geodata_loaded: str) -> str:
    ensure(geodata_loaded, "demo")
    return geodata_loaded


def test_demo_spreads_national_cases_and_agents_over_regions(demo_db: str) -> None:
    assert scalar(demo_db, "SELECT count(*) FROM enforcement_case") == DEMO.cases
    assert scalar(demo_db, "SELECT count(*) FROM agent") == DEMO.agents
    assert scalar(demo_db, "SELECT count(*) FROM van") == DEMO.vans
    national_regions = scalar(demo_db, """
        SELECT count(DISTINCT a.itl1_cd) FROM enforcement_case c JOIN buyer b ON b.id = c.buyer_id
        JOIN address a ON a.id = c.address_id WHERE b.reference = 'national'""")
    assert national_regions >= 10  # of GB's 11 (Northern Ireland postcodes are not in the data)
    assert scalar(demo_db, "SELECT count(DISTINCT itl1_cd) FROM agent") >= 10
    assert scalar(demo_db, "SELECT count(DISTINCT subcontractor_id) FROM agent") >= 2
    # Each case goes to the subcontractor of its region, and each agent works for the firm of theirs.
    assert scalar(demo_db, """
        SELECT count(DISTINCT c.assigned_subcontractor_id) FROM enforcement_case c
        JOIN address a ON a.id = c.address_id GROUP BY a.itl1_cd ORDER BY 1 DESC LIMIT 1""") == 1


def test_demo_case_mix_is_plausible(demo_db: str) -> None:
    mix = rows(demo_db, """
        SELECT avg((linked_group IS NOT NULL)::int) AS linked_cases,
               avg(on_hold::int) AS on_hold, avg(vulnerable::int) AS vulnerable,
               avg((status = 'open')::int) AS open, count(*) FILTER (WHERE stage = 'sale') AS sale,
               count(*) FILTER (WHERE stage = 'compliance' AND notice_issued_on IS NOT NULL) AS compliance,
               avg((EXISTS (SELECT 1 FROM case_vehicle cv WHERE cv.case_id = c.id))::int) AS with_vehicle
        FROM enforcement_case c""")[0]
    debtors_linked = scalar(demo_db, "SELECT avg((n > 1)::int) FROM (SELECT count(*) AS n FROM enforcement_case "
                                     "GROUP BY debtor_id) d")
    assert 0.07 <= debtors_linked <= 0.13
    assert 0.01 <= mix.on_hold <= 0.045 and 0.004 <= mix.vulnerable <= 0.03
    # No sale stage without an attended visit (R-FEE-INCURRED), and the scenario has no visits yet.
    assert mix.open >= 0.85 and mix.sale == 0 and mix.compliance >= 50
    # R-CASE-VULN: no enforcement action against a vulnerable customer.
    assert scalar(demo_db, "SELECT count(*) FROM enforcement_case WHERE vulnerable AND stage <> 'compliance'") == 0
    assert 0.10 <= mix.with_vehicle <= 0.22
    shares = dict(rows(demo_db, "SELECT b.reference, count(*)::float / :n FROM enforcement_case c "
                                "JOIN buyer b ON b.id = c.buyer_id GROUP BY 1", n=DEMO.cases))
    for reference, share in DEMO.buyer_shares.items():
        assert abs(shares[reference] - share) < 0.05, (reference, shares[reference])
    council_tax = scalar(demo_db, "SELECT avg((debt_type = 'council_tax')::int) FROM enforcement_case c "
                                  "JOIN buyer b ON b.id = c.buyer_id WHERE b.kind = 'council'")
    assert council_tax >= 0.7


def test_a_reseed_rebinds_subcontractor_users_by_firm_reference(tiny_db: str) -> None:
    """Firms are replaced with new ids: a user of a scenario firm follows its reference; a user of a firm
    the scenario does not have is disabled and unbound, never left pointing at nothing."""
    from core import create_user, session_scope
    from core.models import Subcontractor, User
    from tests.helpers import PASSWORD, unique

    with session_scope(tiny_db) as db:
        gone = Subcontractor(reference=unique("firm"), name="Gone Ltd")
        db.add(gone)
        db.flush()
        kept = create_user(db, username=unique("sub"), password=PASSWORD, role="subcontractor", actor="test",
                           subcontractor_reference="westward").username
        lost = create_user(db, username=unique("sub"), password=PASSWORD, role="subcontractor", actor="test",
                           subcontractor_reference=gone.reference).username
    seed(tiny_db, "tiny", 2)
    with session_scope(tiny_db) as db:
        k = db.query(User).filter_by(username=kept).one()
        assert k.active and db.get(Subcontractor, k.subcontractor_id).reference == "westward"
        lost_user = db.query(User).filter_by(username=lost).one()
        assert not lost_user.active and lost_user.subcontractor_id is None
