"""Reference geography for Bailiwick: ITL1 regions, local authority districts, GB postcode centroids
and sensitive premises, with their loaders and the lookups built on them.

Load once per database (idempotent, unchanged files are skipped). geodata is the bottom layer and
reads no settings: the caller passes the reference directory and the SQLAlchemy database URL (core's
settings hold both)::

    import geodata
    for report in geodata.load_all(settings.geodata_dir, settings.database_url):
        print(report.describe())

Look up (``db`` is a SQLAlchemy ``Session`` or ``Connection``)::

    geodata.postcode_point(db, "pl1 2aa")            # PostcodePoint('PL1 2AA', lon, lat)
    geodata.nearest_postcode(db, -4.1427, 50.3713)   # NearestPostcode('PL1 …', distance_m)
    geodata.region_of(db, -4.1427, 50.3713)          # Region('TLK', 'South West', 'England')
    geodata.local_authority_of(db, -4.1427, 50.3713) # LocalAuthority('E06000026', 'Plymouth', 'TLK')
    geodata.locate_points(db, lons, lats)            # DataFrame[itl1_cd, lad_cd], bulk

Coordinates in and out are WGS84 longitude/latitude (EPSG:4326); distances are metres measured in
British National Grid (EPSG:27700).
"""
from geodata.batch import locate_points
from geodata.crs import to_bng, to_wgs84
from geodata.errors import (
    GeodataError,
    GeodataFileMissing,
    InvalidCoordinates,
    InvalidPostcode,
    NoPostcodeNearby,
    OutsideUK,
    UnknownPostcode,
)
from geodata.load import LoadReport, load_all
from geodata.lookup import (
    COAST_TOLERANCE_M,
    NEAREST_POSTCODE_MAX_M,
    LocalAuthority,
    NearestPostcode,
    PostcodePoint,
    Region,
    SensitivePremise,
    local_authority_of,
    nearest_postcode,
    postcode_point,
    region_of,
    sensitive_premises_within,
)
from geodata.postcodes import normalise_postcode
from geodata.sources import POSTCODES as POSTCODES_FILE
from geodata.sources import resolve_dir

__all__ = [
    "COAST_TOLERANCE_M",
    "NEAREST_POSTCODE_MAX_M",
    "POSTCODES_FILE",
    "GeodataError",
    "GeodataFileMissing",
    "InvalidCoordinates",
    "InvalidPostcode",
    "LoadReport",
    "LocalAuthority",
    "NearestPostcode",
    "NoPostcodeNearby",
    "OutsideUK",
    "PostcodePoint",
    "Region",
    "SensitivePremise",
    "UnknownPostcode",
    "load_all",
    "local_authority_of",
    "locate_points",
    "nearest_postcode",
    "normalise_postcode",
    "resolve_dir",
    "postcode_point",
    "region_of",
    "sensitive_premises_within",
    "to_bng",
    "to_wgs84",
]
