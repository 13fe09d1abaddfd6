"""Exceptions raised by :mod:`geodata`.

Each one subclasses the built-in exception a caller would naturally catch (``ValueError`` for bad
input, ``LookupError`` for a well-formed question with no answer), so callers such as the API can map
them to HTTP 422 and 404 without importing this module.
"""
from __future__ import annotations

from pathlib import Path

GEODATA_DIR_ENV = "BAILIWICK_GEODATA_DIR"


class GeodataError(Exception):
    """Base class of every error raised by :mod:`geodata`."""


class GeodataFileMissing(GeodataError, FileNotFoundError):
    """A reference data directory or file is not where the caller says it is."""

    def __init__(self, path: Path, what: str = "file") -> None:
        self.path = Path(path)
        super().__init__(
            f"geodata {what} not found: {self.path} "
            f"(set {GEODATA_DIR_ENV} to the directory holding the reference files, "
            f"or pass geodata_dir=...)")


class InvalidPostcode(GeodataError, ValueError):
    """The text is not a UK postcode."""

    def __init__(self, text: object) -> None:
        self.text = text
        super().__init__(f"not a valid UK postcode: {text!r}")


class UnknownPostcode(GeodataError, LookupError):
    """A well-formed postcode that is not in the loaded postcode table."""

    def __init__(self, postcode: str) -> None:
        self.postcode = postcode
        super().__init__(f"unknown postcode: {postcode!r} (not in the loaded GB postcode list)")


class InvalidCoordinates(GeodataError, ValueError):
    """A longitude/latitude pair that is not a finite WGS84 position."""

    def __init__(self, lon: object, lat: object) -> None:
        self.lon, self.lat = lon, lat
        super().__init__(f"invalid WGS84 coordinates: lon={lon!r}, lat={lat!r} "
                         "(expected finite numbers, -180 <= lon <= 180, -90 <= lat <= 90)")


class NoPostcodeNearby(GeodataError, LookupError):
    """No postcode centroid lies within the search distance of the point."""

    def __init__(self, lon: float, lat: float, max_distance_m: float) -> None:
        self.lon, self.lat, self.max_distance_m = lon, lat, max_distance_m
        super().__init__(f"no postcode within {max_distance_m:g} m of lon={lon}, lat={lat}")


class OutsideUK(GeodataError, LookupError):
    """The point is in no ITL1 region / local authority, nor within the coastal tolerance of one."""

    def __init__(self, lon: float, lat: float, what: str, tolerance_m: float) -> None:
        self.lon, self.lat = lon, lat
        super().__init__(f"lon={lon}, lat={lat} is in no UK {what} "
                         f"(nor within {tolerance_m:g} m of one)")
