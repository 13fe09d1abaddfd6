"""Point and postcode lookups against the loaded reference geography.

Every function takes a SQLAlchemy ``Session`` or ``Connection`` as ``db`` and runs plain SQL, so it
works inside the caller's unit of work. Coordinates are WGS84 lon/lat; every distance is metres in
British National Grid (EPSG:27700).

The ITL1 and LAD boundaries are ONS "super generalised" (about 200 m accuracy), so a point on the
coast may fall just outside every polygon. Point-in-polygon is therefore followed by a fallback to
the nearest boundary within :data:`COAST_TOLERANCE_M`; further out the point is outside the UK.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from geodata.errors import InvalidCoordinates, NoPostcodeNearby, OutsideUK, UnknownPostcode
from geodata.postcodes import normalise_postcode

COAST_TOLERANCE_M = 2000.0
"""How far outside the (generalised) boundaries a point may be and still be given the nearest
region/LAD: ten times the boundary error, yet far less than the narrowest sea crossing that matters
(the Solent is ~4 km wide; Northern Ireland is 20 km from Scotland)."""

NEAREST_POSTCODE_MAX_M = 5000.0
"""Default search limit for :func:`nearest_postcode`. Every built-up area in GB has a postcode
centroid within a few hundred metres; 5 km still answers for remote farms and moorland roads, while a
point at sea or abroad gets :class:`NoPostcodeNearby` rather than a misleading "nearest" postcode."""

_PT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
_PT_BNG = f"ST_Transform({_PT}, 27700)"


@dataclass(frozen=True, slots=True)
class PostcodePoint:
    """A unit postcode centroid (WGS84)."""

    postcode: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class NearestPostcode:
    """The postcode whose centroid is nearest a point, and how far away it is (metres, EPSG:27700)."""

    postcode: str
    distance_m: float


@dataclass(frozen=True, slots=True)
class Region:
    """An ITL1 region (TLC … TLN)."""

    code: str
    name: str
    country: str


@dataclass(frozen=True, slots=True)
class LocalAuthority:
    """A local authority district and the ITL1 region it lies in."""

    lad_cd: str
    name: str
    itl1_cd: str


@dataclass(frozen=True, slots=True)
class SensitivePremise:
    """A place never to visit [R-VISIT-SENSITIVE], with its distance from the query point."""

    id: int
    category: str
    name: str
    postcode: str | None
    lon: float
    lat: float
    distance_m: float


def check_lon_lat(lon: Any, lat: Any) -> tuple[float, float]:
    """Return ``(lon, lat)`` as floats, raising :class:`InvalidCoordinates` unless both are finite
    and in range."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidCoordinates(lon, lat) from None
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidCoordinates(lon, lat)
    return x, y


def search_degrees(metres: float, lat: float) -> float:
    """A box half-width in degrees certain to contain every point within ``metres`` of a point at
    latitude ``lat``, for index pre-filtering (a degree of longitude shrinks towards the pole)."""
    cos_lat = max(math.cos(math.radians(min(abs(lat) + 1.0, 89.0))), 0.01)
    return 1.5 * metres / (111_000.0 * cos_lat)


def postcode_point(db, postcode: str) -> PostcodePoint:
    """Return the centroid of a postcode.

    Parameters
    ----------
    db : sqlalchemy.orm.Session or sqlalchemy.engine.Connection
    postcode : str
        Any spacing and case (``"pl12aa"``).

    Raises
    ------
    InvalidPostcode
        If the text is not shaped like a UK postcode.
    UnknownPostcode
        If it is well formed but not in the loaded postcode table.
    """
    code = normalise_postcode(postcode)
    row = db.execute(text("SELECT postcode, ST_X(location), ST_Y(location) FROM postcode "
                          "WHERE postcode = :pc"), {"pc": code}).first()
    if row is None:
        raise UnknownPostcode(code)
    return PostcodePoint(row[0], float(row[1]), float(row[2]))


def nearest_postcode(db, lon: float, lat: float,
                     max_distance_m: float = NEAREST_POSTCODE_MAX_M) -> NearestPostcode:
    """Return the postcode whose centroid is nearest a point (reverse geocoding).

    Uses the KNN operator ``<->`` on the EPSG:27700 GiST index, so "nearest" is in metres. Of
    several postcodes at the same nearest centroid, the lowest (alphabetically) is returned.

    Parameters
    ----------
    db : sqlalchemy.orm.Session or sqlalchemy.engine.Connection
    lon, lat : float
        WGS84 degrees.
    max_distance_m : float, default :data:`NEAREST_POSTCODE_MAX_M`
        Farthest acceptable centroid.

    Raises
    ------
    NoPostcodeNearby
        If no postcode centroid lies within ``max_distance_m``.
    InvalidCoordinates
        If lon/lat are not finite WGS84 degrees.
    """
    x, y = check_lon_lat(lon, lat)
    # Many postcodes share one centroid (25 at PL1 2AA's), and KNN order among exact ties is
    # arbitrary; the lowest postcode among the nearest wins so the answer never changes between
    # loads. A second key on the KNN ORDER BY would cost the index, hence the two steps.
    row = db.execute(text(
        f"WITH nearest AS (SELECT ST_Distance(location_bng, {_PT_BNG}) AS d FROM postcode "
        f"                 ORDER BY location_bng <-> {_PT_BNG} LIMIT 1) "
        f"SELECT p.postcode, n.d FROM nearest n JOIN postcode p "
        f"  ON ST_DWithin(p.location_bng, {_PT_BNG}, n.d + 0.001) "
        f"ORDER BY ST_Distance(p.location_bng, {_PT_BNG}), p.postcode LIMIT 1"), {"lon": x, "lat": y}).first()
    if row is None or row[1] > max_distance_m:
        raise NoPostcodeNearby(x, y, max_distance_m)
    return NearestPostcode(row[0], float(row[1]))


def region_of(db, lon: float, lat: float, tolerance_m: float = COAST_TOLERANCE_M) -> Region:
    """Return the ITL1 region containing a point.

    A point in no region polygon (the boundaries are generalised to ~200 m, so the coast is
    approximate) gets the nearest region within ``tolerance_m``.

    Near the border of the 18 LADs with detailed boundaries this can differ from
    ``local_authority_of(...).itl1_cd``; use that (or :func:`geodata.locate_points`) where region and
    LAD must agree.

    Raises
    ------
    OutsideUK
        If the point is farther than ``tolerance_m`` from every region.
    InvalidCoordinates
        If lon/lat are not finite WGS84 degrees.
    """
    x, y = check_lon_lat(lon, lat)
    params = {"lon": x, "lat": y}
    row = db.execute(text(f"SELECT code, name, country FROM itl1_region WHERE ST_Intersects(geom, {_PT}) "
                          "ORDER BY code LIMIT 1"), params).first()
    if row is None:
        row = _nearest_boundary(db, "itl1_region", "code, name, country", "code", x, y, tolerance_m)
    if row is None:
        raise OutsideUK(x, y, "ITL1 region", tolerance_m)
    return Region(*row)


def _nearest_boundary(db, table: str, columns: str, key: str, x: float, y: float, tolerance_m: float):
    """The row of ``table`` whose generalised boundary is nearest the point within ``tolerance_m``
    (metres in EPSG:27700), ties to the lowest ``key``; None if there is none. The ``&&`` box lets the
    GiST index on the 4326 geometry discard distant polygons before the metric distance is computed."""
    return db.execute(text(
        f"SELECT {columns} FROM {table} "
        f"WHERE geom && ST_Expand({_PT}, :deg) "
        f"  AND ST_DWithin(ST_Transform(geom, 27700), {_PT_BNG}, :tol) "
        f"ORDER BY ST_Distance(ST_Transform(geom, 27700), {_PT_BNG}), {key} LIMIT 1"),
        {"lon": x, "lat": y, "deg": search_degrees(tolerance_m, y), "tol": tolerance_m}).first()


def local_authority_of(db, lon: float, lat: float,
                       tolerance_m: float = COAST_TOLERANCE_M) -> LocalAuthority:
    """Return the local authority district containing a point.

    The detailed boundary (``geom_detailed``, loaded around the scenario councils) wins when it
    contains the point; then the UK-wide generalised boundary; then the nearest generalised boundary
    within ``tolerance_m`` (coastal points). Ties go to the lowest LAD code.

    Raises
    ------
    OutsideUK
        If the point is farther than ``tolerance_m`` from every LAD.
    InvalidCoordinates
        If lon/lat are not finite WGS84 degrees.
    """
    x, y = check_lon_lat(lon, lat)
    params = {"lon": x, "lat": y}
    row = db.execute(text(
        "SELECT lad_cd, name, itl1_cd FROM ("
        f"  SELECT lad_cd, name, itl1_cd, 0 AS rank FROM local_authority WHERE ST_Intersects(geom_detailed, {_PT})"
        "   UNION ALL"
        f"  SELECT lad_cd, name, itl1_cd, 1 AS rank FROM local_authority WHERE ST_Intersects(geom, {_PT})"
        ") AS hit ORDER BY rank, lad_cd LIMIT 1"), params).first()
    if row is None:
        row = _nearest_boundary(db, "local_authority", "lad_cd, name, itl1_cd", "lad_cd", x, y, tolerance_m)
    if row is None:
        raise OutsideUK(x, y, "local authority district", tolerance_m)
    return LocalAuthority(*row)


def sensitive_premises_within(db, lon: float, lat: float, metres: float = 50) -> list[SensitivePremise]:
    """Return the sensitive premises (hospitals, GP practices) within ``metres`` of a point,
    nearest first.

    Used for R-VISIT-SENSITIVE: a visit location this close to one needs special handling.

    Raises
    ------
    InvalidCoordinates
        If lon/lat are not finite WGS84 degrees.
    ValueError
        If ``metres`` is negative or not finite.
    """
    x, y = check_lon_lat(lon, lat)
    if not (math.isfinite(metres) and metres >= 0):
        raise ValueError(f"metres must be a finite, non-negative distance, not {metres!r}")
    rows = db.execute(text(
        f"SELECT id, category, name, postcode, ST_X(location), ST_Y(location), "
        f"       ST_Distance(location_bng, {_PT_BNG}) AS d "
        f"FROM sensitive_premises WHERE ST_DWithin(location_bng, {_PT_BNG}, :m) ORDER BY d, id"),
        {"lon": x, "lat": y, "m": float(metres)}).all()
    return [SensitivePremise(r[0], r[1], r[2], r[3], float(r[4]), float(r[5]), float(r[6])) for r in rows]
