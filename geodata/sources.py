"""Where the reference files live and how their content is fingerprinted.

The files are the shared, read-only reference set described in ``SOURCES.md`` of the geodata
directory. They are read in place and never copied into the repository. The caller names the directory
(core's settings hold it: ``BAILIWICK_GEODATA_DIR``, default ``../shared/geodata``): geodata is the
bottom layer and reads no configuration of its own.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from geodata.errors import GeodataFileMissing

ITL1_REGIONS = "uk_itl1_regions.geojson"
LAD_BOUNDARIES = "uk_lad_2025.geojson"
LAD_DETAILED = "lad_focus_areas_detailed.geojson"
POSTCODES = "postcodes_uk_full.csv.gz"
SENSITIVE_PREMISES = "sensitive_premises_nhs_PL_NE_CR.geojson"


def resolve_dir(geodata_dir: Path | str) -> Path:
    """Return the geodata directory as a ``Path``.

    Raises
    ------
    GeodataFileMissing
        If the directory does not exist.
    """
    path = Path(geodata_dir)
    if not path.is_dir():
        raise GeodataFileMissing(path, "directory")
    return path


def source_path(geodata_dir: Path, name: str) -> Path:
    """Return the path of one reference file, raising :class:`GeodataFileMissing` if it is absent."""
    path = geodata_dir / name
    if not path.is_file():
        raise GeodataFileMissing(path)
    return path


def sha256_of(*paths: Path) -> str:
    """Return the hex SHA-256 of one file, or of the concatenated digests of several.

    A dataset built from two files (LADs plus their detailed boundaries) is fingerprinted by both, so a
    change to either reloads it.
    """
    digests = []
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        digests.append(h.hexdigest())
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()
