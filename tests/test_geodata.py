"""Reference geography: loading, postcode and point lookups, CRS helpers; against the real PostGIS
database (``bailiwick_test``), loaded once per database by the ``geodata_loaded`` fixture."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

import geodata
from core import get_settings

PLYMOUTH = (-4.1427, 50.3713)
NEWCASTLE = (-1.6131, 54.9733)
CROYDON = (-0.0982, 51.3762)
ATLANTIC = (-30.0, 50.0)
# ~1 km off Tynemouth: outside every (generalised) polygon, but within the 2 km coastal tolerance.
OFF_TYNEMOUTH = (-1.39, 55.02)
# ~3.4 km out to sea: beyond the coastal tolerance.
NORTH_SEA = (-1.35, 55.02)
DERRIFORD = (-4.114068, 50.416145)  # Derriford Hospital, Plymouth (NHS Choices coordinates)

pytestmark = pytest.mark.usefixtures("geodata_loaded")


# --- postcode syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("pl12aa", "PL1 2AA"),
    (" PL1  2AA ", "PL1 2AA"),
    ("PL1 2AA", "PL1 2AA"),
    ("ne110aa", "NE11 0AA"),
    ("cr0 1nx", "CR0 1NX"),
    ("w1a1aa", "W1A 1AA"),
    ("ec1a 1bb", "EC1A 1BB"),
    ("m1 1ae", "M1 1AE"),
    ("gir0aa", "GIR 0AA"),
    ("npt 0ad", "NPT 0AD"),
])
def test_normalise_postcode(raw, expected):
    assert geodata.normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", [
    "NOT A POSTCODE", "", "   ", "PL1", "PL1 2A", "PL1 AAA", "1PL 2AA", "PLYM1 2AA", "PL1 2AA X", "GIR 1AA",
    None, 12345,
])
def test_normalise_postcode_rejects_malformed(raw):
    with pytest.raises(geodata.InvalidPostcode) as info:
        geodata.normalise_postcode(raw)
    assert repr(raw) in str(info.value)
    assert isinstance(info.value, ValueError)


# --- CRS ----------------------------------------------------------------------------------------


def test_to_bng_known_value():
    # PL1 2AA's centroid; British National Grid reference SX 47694 54380.
    easting, northing = geodata.to_bng(-4.14303, 50.36956)
    assert isinstance(easting, float) and isinstance(northing, float)
    assert easting == pytest.approx(247_694.15, abs=0.5)
    assert northing == pytest.approx(54_380.43, abs=0.5)


def test_crs_round_trip_scalars_and_arrays():
    lons = np.array([-4.14303, -1.6131, -0.0982, -7.5, 1.75])
    lats = np.array([50.36956, 54.9733, 51.3762, 58.2, 52.6])
    e, n = geodata.to_bng(lons, lats)
    assert isinstance(e, np.ndarray) and e.shape == lons.shape
    lon2, lat2 = geodata.to_wgs84(e, n)
    np.testing.assert_allclose(lon2, lons, rtol=0, atol=1e-7)  # ~1 cm
    np.testing.assert_allclose(lat2, lats, rtol=0, atol=1e-7)
    lon1, lat1 = geodata.to_wgs84(*geodata.to_bng(-1.6131, 54.9733))
    assert (lon1, lat1) == pytest.approx((-1.6131, 54.9733), abs=1e-7)
    # Lists work too; mismatched shapes do not.
    assert geodata.to_bng([-4.14303], [50.36956])[0][0] == pytest.approx(247_694.15, abs=0.5)
    with pytest.raises(ValueError):
        geodata.to_bng([1.0, 2.0], [50.0])


def test_crs_agrees_with_postgis(db):
    e, n = db.execute(text("SELECT ST_X(p), ST_Y(p) FROM ST_Transform("
                           "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700) AS p"),
                      {"lon": NEWCASTLE[0], "lat": NEWCASTLE[1]}).one()
    assert geodata.to_bng(*NEWCASTLE) == pytest.approx((e, n), abs=0.01)


# --- postcode lookups ---------------------------------------------------------------------------


def test_postcode_point_and_round_trip(db):
    point = geodata.postcode_point(db, "pl12aa")
    assert point == geodata.PostcodePoint("PL1 2AA", pytest.approx(-4.14303), pytest.approx(50.36956))
    # 25 postcodes share this centroid (PL1 2AA, PL1 2EW, PL1 9SA …): ties go to the lowest, so
    # the answer does not depend on the physical order a load left the rows in.
    nearest = geodata.nearest_postcode(db, point.lon, point.lat)
    assert nearest.postcode == "PL1 2AA"
    assert nearest.distance_m < 0.01


def test_postcode_point_malformed(db):
    with pytest.raises(geodata.InvalidPostcode, match="NOT A POSTCODE"):
        geodata.postcode_point(db, "NOT A POSTCODE")


def test_postcode_point_unknown(db):
    with pytest.raises(geodata.UnknownPostcode, match="ZZ9 9ZZ") as info:
        geodata.postcode_point(db, "zz99zz")
    assert isinstance(info.value, LookupError)


def test_nearest_postcode_distance_is_metres_in_bng(db):
    lon, lat = PLYMOUTH
    nearest = geodata.nearest_postcode(db, lon, lat)
    point = geodata.postcode_point(db, nearest.postcode)
    e0, n0 = geodata.to_bng(lon, lat)
    e1, n1 = geodata.to_bng(point.lon, point.lat)
    assert nearest.distance_m == pytest.approx(math.hypot(e1 - e0, n1 - n0), abs=0.01)
    # Nothing is nearer: brute force over every postcode in the district.
    closest = db.execute(text(
        "SELECT min(ST_Distance(location_bng, ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700))) "
        "FROM postcode WHERE postcode LIKE 'PL1 %'"), {"lon": lon, "lat": lat}).scalar_one()
    assert nearest.distance_m <= closest + 1e-6


def test_nearest_postcode_limit(db):
    # The nearest centroid to a point ~3.4 km offshore is beyond 1 km but within the 5 km default.
    assert geodata.nearest_postcode(db, *NORTH_SEA).distance_m > 1000
    with pytest.raises(geodata.NoPostcodeNearby, match="1000 m"):
        geodata.nearest_postcode(db, *NORTH_SEA, max_distance_m=1000)


@pytest.mark.parametrize("lon, lat", [(float("nan"), 50.0), (-4.1, float("inf")), (200.0, 50.0), (-4.1, 91.0),
                                      ("west", 50.0)])
def test_lookups_reject_invalid_coordinates(db, lon, lat):
    for lookup in (geodata.nearest_postcode, geodata.region_of, geodata.local_authority_of,
                   geodata.sensitive_premises_within):
        with pytest.raises(geodata.InvalidCoordinates):
            lookup(db, lon, lat)


# --- regions and local authorities --------------------------------------------------------------


@pytest.mark.parametrize("point, region, lad_cd, lad_name, area", [
    (PLYMOUTH, ("TLK", "South West", "England"), "E06000026", "Plymouth", "PL"),
    (NEWCASTLE, ("TLC", "North East", "England"), "E08000021", "Newcastle upon Tyne", "NE"),
    (CROYDON, ("TLI", "London", "England"), "E09000008", "Croydon", "CR"),
])
def test_city_centres(db, point, region, lad_cd, lad_name, area):
    assert geodata.region_of(db, *point) == geodata.Region(*region)
    assert geodata.local_authority_of(db, *point) == geodata.LocalAuthority(lad_cd, lad_name, region[0])
    nearest = geodata.nearest_postcode(db, *point)
    assert nearest.postcode.startswith(area)
    assert nearest.distance_m < 300


def test_coastal_point_falls_back_to_nearest_within_tolerance(db):
    inside = db.execute(text("SELECT count(*) FROM local_authority WHERE ST_Intersects(geom, "
                             "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
                        {"lon": OFF_TYNEMOUTH[0], "lat": OFF_TYNEMOUTH[1]}).scalar_one()
    assert inside == 0, "the test point must lie outside every polygon to exercise the fallback"
    assert geodata.region_of(db, *OFF_TYNEMOUTH).code == "TLC"
    assert geodata.local_authority_of(db, *OFF_TYNEMOUTH).lad_cd == "E08000022"  # North Tyneside
    with pytest.raises(geodata.OutsideUK):
        geodata.local_authority_of(db, *OFF_TYNEMOUTH, tolerance_m=500)


@pytest.mark.parametrize("point", [ATLANTIC, NORTH_SEA])
def test_points_at_sea_are_outside_uk(db, point):
    with pytest.raises(geodata.OutsideUK, match="ITL1 region"):
        geodata.region_of(db, *point)
    with pytest.raises(geodata.OutsideUK, match="local authority"):
        geodata.local_authority_of(db, *point)


def test_atlantic_has_no_postcode_nearby(db):
    with pytest.raises(geodata.NoPostcodeNearby) as info:
        geodata.nearest_postcode(db, *ATLANTIC)
    assert isinstance(info.value, LookupError)


def test_detailed_boundary_wins(db):
    # A point inside Plymouth's detailed boundary but inside a neighbour's generalised one belongs to
    # Plymouth. Found from the data (where the two boundary sets disagree), not hand-picked.
    row = db.execute(text(
        "SELECT ST_X(p), ST_Y(p), n.lad_cd FROM local_authority ply "
        "JOIN local_authority n ON n.lad_cd <> ply.lad_cd AND ST_Intersects(n.geom, ply.geom_detailed) "
        "CROSS JOIN LATERAL (SELECT (ST_Dump(ST_GeneratePoints("
        "    ST_Intersection(ply.geom_detailed, n.geom), 20, 1))).geom AS p) AS s "
        "WHERE ply.lad_cd = 'E06000026' AND NOT EXISTS (SELECT 1 FROM local_authority o "
        "      WHERE o.lad_cd <> 'E06000026' AND ST_Intersects(o.geom_detailed, s.p)) "
        "ORDER BY n.lad_cd LIMIT 1")).one()
    lon, lat, neighbour = row
    assert neighbour != "E06000026"
    assert geodata.local_authority_of(db, lon, lat).lad_cd == "E06000026"
    assert geodata.locate_points(db, [lon], [lat]).lad_cd.tolist() == ["E06000026"]


# --- bulk location ------------------------------------------------------------------------------


def test_locate_points_matches_scalar_lookups(db):
    sample = db.execute(text(
        "SELECT ST_X(location), ST_Y(location) FROM postcode "
        "WHERE postcode IN ('PL1 2AA', 'NE1 4ST', 'CR0 1NX', 'PL1 2JQ', 'EH1 1YZ', 'CF10 1EP', 'TR21 0HE', "
        "                   'ZE1 0AA', 'HS1 2XA', 'LL65 1YD') ORDER BY postcode")).all()
    assert len(sample) >= 8
    points = [PLYMOUTH, ATLANTIC, NEWCASTLE, OFF_TYNEMOUTH, CROYDON, NORTH_SEA, *sample,
              (float("nan"), 51.0), (500.0, 51.0)]
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    frame = geodata.locate_points(db, np.array(lons), pd.Series(lats))
    assert list(frame.columns) == ["itl1_cd", "lad_cd"]
    assert list(frame.index) == list(range(len(points)))
    for (lon, lat), row in zip(points, frame.itertuples(index=False)):
        try:
            la = geodata.local_authority_of(db, lon, lat)
            expected = (la.itl1_cd, la.lad_cd)
        except (geodata.OutsideUK, geodata.InvalidCoordinates):
            expected = (None, None)
        assert (row.itl1_cd, row.lad_cd) == expected, (lon, lat)
    assert frame.iloc[0].tolist() == ["TLK", "E06000026"]
    assert frame.iloc[1].tolist() == [None, None]  # the Atlantic: None, not NaN
    assert frame.iloc[3].tolist() == ["TLC", "E08000022"]


def test_locate_points_region_agrees_with_lad(db):
    # Deterministic sample (~5,000 postcodes) whatever the physical order of the table.
    rows = db.execute(text("SELECT ST_X(location), ST_Y(location) FROM postcode "
                           "WHERE abs(hashtext(postcode)) % 500 = 0 ORDER BY postcode")).all()
    frame = geodata.locate_points(db, [r[0] for r in rows], [r[1] for r in rows])
    lads = dict(db.execute(text("SELECT lad_cd, itl1_cd FROM local_authority")).all())
    located = frame.dropna()
    assert len(located) >= 0.99 * len(frame)  # postcode centroids are on land, bar a coastal few
    assert (located.lad_cd.map(lads) == located.itl1_cd).all()
    # Region from the LAD matches the region polygons for the vast majority of points.
    check = located.head(300)
    for lon, lat, region in zip(np.array(rows)[check.index, 0], np.array(rows)[check.index, 1], check.itl1_cd):
        assert geodata.region_of(db, lon, lat).code == region


def test_locate_points_edge_cases(db):
    empty = geodata.locate_points(db, [], [])
    assert list(empty.columns) == ["itl1_cd", "lad_cd"] and len(empty) == 0
    with pytest.raises(ValueError, match="differ in length"):
        geodata.locate_points(db, [1.0, 2.0], [50.0])


# --- sensitive premises -------------------------------------------------------------------------


def test_sensitive_premises_within(db):
    found = geodata.sensitive_premises_within(db, *DERRIFORD)
    names = {p.name for p in found}
    assert "Derriford Hospital" in names
    derriford = next(p for p in found if p.name == "Derriford Hospital")
    assert derriford.category == "hospital" and derriford.postcode == "PL6 8DH"
    assert derriford.distance_m < 1
    # 300 m north: out of the default 50 m, inside 400 m, and the distance is metric.
    lon, lat = geodata.to_wgs84(*(np.array(geodata.to_bng(*DERRIFORD)) + [0.0, 300.0]))
    assert "Derriford Hospital" not in {p.name for p in geodata.sensitive_premises_within(db, lon, lat)}
    far = geodata.sensitive_premises_within(db, lon, lat, metres=400)
    hit = next(p for p in far if p.name == "Derriford Hospital")
    assert hit.distance_m == pytest.approx(300, abs=0.5)
    assert [p.distance_m for p in far] == sorted(p.distance_m for p in far)


# --- loading ------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_is_idempotent_and_complete(db, database_url):
    reports = geodata.load_all(get_settings().geodata_dir, database_url, progress=False)
    assert [r.dataset for r in reports] == ["itl1_region", "local_authority", "postcode", "sensitive_premises"]
    assert all(r.skipped for r in reports), [r.describe() for r in reports]
    assert {r.dataset: r.rows for r in reports} == {
        "itl1_region": 12, "local_authority": 361, "postcode": 2_630_686, "sensitive_premises": 239}
    assert "skipped" in reports[2].describe() and "2,630,686" in reports[2].describe()
    counts = db.execute(text(
        "SELECT (SELECT count(*) FROM itl1_region), (SELECT count(*) FROM local_authority), "
        "       (SELECT count(*) FROM local_authority WHERE geom_detailed IS NOT NULL), "
        "       (SELECT count(*) FROM postcode), (SELECT count(*) FROM sensitive_premises), "
        "       (SELECT count(*) FROM sensitive_premises WHERE category NOT IN ('hospital', 'gp_practice'))")).one()
    assert tuple(counts) == (12, 361, 18, 2_630_686, 239, 0)
    directory = get_settings().geodata_dir
    recorded = dict(db.execute(text("SELECT dataset, sha256 FROM geodata_load")).all())
    assert recorded["postcode"] == _sha256(directory / "postcodes_uk_full.csv.gz")
    assert recorded["itl1_region"] == _sha256(directory / "uk_itl1_regions.geojson")
    assert recorded["sensitive_premises"] == _sha256(directory / "sensitive_premises_nhs_PL_NE_CR.geojson")


def test_loaded_data_is_well_formed(db):
    bad = db.execute(text(
        "SELECT (SELECT count(*) FROM itl1_region WHERE NOT ST_IsValid(geom)), "
        "       (SELECT count(*) FROM local_authority WHERE NOT ST_IsValid(geom) OR NOT ST_IsValid(geom_detailed)), "
        "       (SELECT count(*) FROM postcode WHERE postcode !~ '^[A-Z0-9]{2,4} [0-9][A-Z]{2}$'), "
        "       (SELECT count(*) FROM postcode WHERE ST_SRID(location_bng) <> 27700 OR ST_SRID(location) <> 4326)"
    )).one()
    assert tuple(bad) == (0, 0, 0, 0)
    indexes = set(db.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'postcode'")).scalars())
    assert indexes == {"postcode_pkey", "ix_postcode_location_bng"}
    plan = "\n".join(db.execute(text(
        "EXPLAIN SELECT postcode FROM postcode ORDER BY location_bng <-> "
        "ST_SetSRID(ST_MakePoint(247694, 54380), 27700) LIMIT 1")).scalars())
    assert "ix_postcode_location_bng" in plan


def test_changed_file_is_reloaded(db, tmp_path, database_url):
    # A copy of the reference directory whose premises file has the same features but different bytes:
    # it must be reloaded (and recorded with its new fingerprint) while the unchanged files are skipped.
    source = get_settings().geodata_dir
    for path in source.iterdir():
        (tmp_path / path.name).symlink_to(path)
    premises = tmp_path / "sensitive_premises_nhs_PL_NE_CR.geojson"
    premises.unlink()
    premises.write_text(json.dumps(json.loads((source / premises.name).read_text()), indent=1))
    before = db.execute(text("SELECT id, name FROM sensitive_premises ORDER BY id")).all()
    db.rollback()
    try:
        reports = {r.dataset: r for r in geodata.load_all(tmp_path, database_url, progress=False)}
        assert not reports["sensitive_premises"].skipped and reports["sensitive_premises"].rows == 239
        assert all(reports[d].skipped for d in ("itl1_region", "local_authority", "postcode"))
        assert db.execute(text("SELECT sha256 FROM geodata_load WHERE dataset = 'sensitive_premises'")
                          ).scalar_one() == _sha256(premises)
        # Same content, same ids: ids restart with each load.
        assert db.execute(text("SELECT id, name FROM sensitive_premises ORDER BY id")).all() == before
        db.rollback()
    finally:
        restored = {r.dataset: r for r in geodata.load_all(source, database_url, progress=False)}
    assert not restored["sensitive_premises"].skipped


def test_a_malformed_feature_is_named_and_nothing_is_replaced(db, tmp_path, database_url):
    source = get_settings().geodata_dir
    for path in source.iterdir():
        (tmp_path / path.name).symlink_to(path)
    premises = tmp_path / "sensitive_premises_nhs_PL_NE_CR.geojson"
    premises.unlink()
    doc = json.loads((source / premises.name).read_text())
    del doc["features"][1]["properties"]["name"]
    premises.write_text(json.dumps(doc))
    before = db.execute(text("SELECT count(*), max(id) FROM sensitive_premises")).one()
    db.rollback()
    with pytest.raises(geodata.GeodataError, match=r"feature 1 lacks \['name'\]"):
        geodata.load_all(tmp_path, database_url, progress=False)
    assert db.execute(text("SELECT count(*), max(id) FROM sensitive_premises")).one() == before


def test_missing_directory_or_file_is_named(tmp_path, database_url):
    missing = tmp_path / "nowhere"
    with pytest.raises(geodata.GeodataFileMissing) as info:
        geodata.load_all(missing, database_url, progress=False)
    assert str(missing) in str(info.value) and "BAILIWICK_GEODATA_DIR" in str(info.value)
    (tmp_path / "uk_itl1_regions.geojson").symlink_to(get_settings().geodata_dir / "uk_itl1_regions.geojson")
    with pytest.raises(FileNotFoundError, match="uk_lad_2025.geojson") as info:
        geodata.load_all(tmp_path, database_url, progress=False)
    assert "BAILIWICK_GEODATA_DIR" in str(info.value)


def test_load_report_describe():
    loaded = geodata.LoadReport("postcode", 2_630_686, 12.34, source_file="postcodes_uk_full.csv.gz", rejected=3)
    assert loaded.describe() == ("postcode: loaded 2,630,686 rows from postcodes_uk_full.csv.gz in 12.3 s "
                                 "(3 source rows rejected)")
    skipped = geodata.LoadReport("itl1_region", 12, 0.01, skipped=True, source_file="uk_itl1_regions.geojson")
    assert skipped.describe() == "itl1_region: unchanged, skipped (12 rows from uk_itl1_regions.geojson)"


def test_public_surface():
    for name in geodata.__all__:
        assert hasattr(geodata, name), name
    assert {"load_all", "LoadReport", "normalise_postcode", "postcode_point", "nearest_postcode", "region_of",
            "local_authority_of", "locate_points", "to_bng", "to_wgs84", "sensitive_premises_within",
            "InvalidPostcode", "UnknownPostcode", "NoPostcodeNearby", "OutsideUK"} <= set(geodata.__all__)
