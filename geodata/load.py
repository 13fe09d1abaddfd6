"""Loading the reference datasets into PostGIS, idempotently.

Each dataset is replaced whole, in its own transaction, and recorded in ``geodata_load`` with the
SHA-256 of its source file(s). A dataset whose recorded fingerprint matches its file (and whose table
still holds the recorded row count) is skipped, so calling :func:`load_all` on every start is cheap.
A transaction-scoped advisory lock serialises concurrent loaders (several test sessions starting at
once): the second waits, then finds the work done and skips.

The GeoJSON datasets are read with geopandas and sent to PostGIS as WKB: on the reference machine,
under load, reloading regions, LADs and premises took 0.63–0.95 s against 0.99–1.37 s for parsing
the GeoJSON with ``json`` and sending it as text (PostGIS parses WKB faster), with identical rows. The
postcode centroids are a plain CSV streamed with ``COPY`` (``geodata.postcode_load``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import shapely
from psycopg import Cursor, sql
from sqlalchemy.engine import make_url

from geodata import sources
from geodata.errors import GeodataError, InvalidPostcode
from geodata.postcode_load import load_postcodes
from geodata.postcodes import normalise_postcode

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

# pg_advisory_xact_lock key shared by every geodata loader ("geodata" as ASCII).
LOCK_KEY = 0x67656F64617461
PREMISES_CATEGORIES = ("hospital", "gp_practice")


@dataclass(frozen=True, slots=True)
class LoadReport:
    """The outcome of loading one dataset.

    Attributes
    ----------
    dataset : str
        Dataset name, also the key in ``geodata_load`` (``itl1_region``, ``local_authority``,
        ``postcode``, ``sensitive_premises``).
    rows : int
        Rows in the table after the call (for a skipped dataset, the recorded count).
    seconds : float
        Wall time spent on the dataset in this call.
    skipped : bool
        True when the source was unchanged and nothing was written.
    source_file : str
        The source file name(s).
    rejected : int
        Source rows left out (malformed postcode, no coordinates, unexpected category).
    """

    dataset: str
    rows: int
    seconds: float
    skipped: bool = False
    source_file: str = ""
    rejected: int = 0

    def describe(self) -> str:
        """One human-readable line, as printed by ``bailiwick geodata load``."""
        if self.skipped:
            return f"{self.dataset}: unchanged, skipped ({self.rows:,} rows from {self.source_file})"
        text = f"{self.dataset}: loaded {self.rows:,} rows from {self.source_file} in {self.seconds:.1f} s"
        if self.rejected:
            text += f" ({self.rejected:,} source rows rejected)"
        return text


class Steps:
    """A thin wrapper over :class:`rich.progress.Progress`: one line per step, ticked off when done,
    so loaders report progress without caring whether anyone is watching."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._totals: dict[Any, float | None] = {}

    def start(self, description: str, total: float | None = None) -> Any:
        """Add a step; a ``total`` gives it a bar, otherwise it pulses until finished."""
        task = self._progress.add_task(description, total=total, done="")
        self._totals[task] = total
        return task

    def advance_to(self, task: Any, completed: float) -> None:
        self._progress.update(task, completed=completed)

    def finish(self, task: Any, note: str = "") -> None:
        total = self._totals.get(task) or 1
        self._progress.update(task, total=total, completed=total, done=note)


@contextmanager
def _steps(enabled: bool) -> Iterator[Steps | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description:<30}"),
                  BarColumn(bar_width=30), TextColumn("{task.fields[done]}"), TimeElapsedColumn()) as progress:
        yield Steps(progress)


# --- the small GeoJSON datasets --------------------------------------------------------------------


def _frame(path: Path, required: tuple[str, ...], geometry_types: tuple[str, ...]) -> GeoDataFrame:
    # Imported only when a file has changed: geopandas takes ~0.5 s to import, which the skip path
    # (every start of every process) must not pay.
    import geopandas

    try:
        frame = geopandas.read_file(path)
    except (OSError, ValueError, RuntimeError) as exc:
        raise GeodataError(f"{path}: not a readable GeoJSON file ({exc})") from exc
    props = frame.reindex(columns=list(required))
    missing = props.isna() | (props == "")
    wrong = ~frame.geom_type.isin(geometry_types)
    bad = missing.any(axis=1) | wrong
    if bad.any():
        i = int(bad.to_numpy().argmax())
        lacks = [k for k in required if missing.iloc[i][k]]
        raise GeodataError(f"{path}: feature {i} lacks {lacks or 'a ' + '/'.join(geometry_types)} "
                           f"geometry (got {frame.geom_type.iloc[i]})")
    return frame


def _column(frame: GeoDataFrame, name: str) -> list[Any]:
    """An optional property as Python values, None where absent (never NaN)."""
    if name not in frame:
        return [None] * len(frame)
    return [None if value is None or value != value else value for value in frame[name]]


# Repair only what is invalid: the published files are valid, and ST_MakeValid on a valid polygon is
# wasted work. Geometry travels as WKB, which PostGIS parses faster than GeoJSON text.
_MULTIPOLYGON = ("(SELECT CASE WHEN ST_IsValid(g) THEN ST_Multi(g) "
                 "ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) END "
                 "FROM ST_GeomFromWKB(%s, 4326) AS g)")


def _load_regions(cur: Cursor, paths: list[Path], steps: Steps | None) -> tuple[int, int]:
    frame = _frame(paths[0], ("itl1_cd", "rgn_cd", "name", "country"), ("Polygon", "MultiPolygon"))
    cur.execute("DELETE FROM itl1_region")
    cur.executemany(
        f"INSERT INTO itl1_region (code, rgn_cd, name, country, geom) VALUES (%s, %s, %s, %s, {_MULTIPOLYGON})",
        list(zip(frame["itl1_cd"], frame["rgn_cd"], frame["name"], frame["country"],
                 shapely.to_wkb(frame.geometry.values), strict=True)))
    return len(frame), 0


def _load_local_authorities(cur: Cursor, paths: list[Path], steps: Steps | None) -> tuple[int, int]:
    frame = _frame(paths[0], ("lad_cd", "lad_nm", "itl1_cd"), ("Polygon", "MultiPolygon"))
    detailed = _frame(paths[1], ("lad_cd",), ("Polygon", "MultiPolygon"))
    unknown = sorted(set(detailed["lad_cd"]) - set(frame["lad_cd"]))
    if unknown:
        raise GeodataError(f"{paths[1]}: detailed boundaries for LADs not in {paths[0].name}: {unknown}")
    cur.execute("DELETE FROM local_authority")
    cur.executemany(
        f"INSERT INTO local_authority (lad_cd, name, itl1_cd, geom) VALUES (%s, %s, %s, {_MULTIPOLYGON})",
        list(zip(frame["lad_cd"], frame["lad_nm"], frame["itl1_cd"], shapely.to_wkb(frame.geometry.values),
                 strict=True)))
    cur.executemany(f"UPDATE local_authority SET geom_detailed = {_MULTIPOLYGON} WHERE lad_cd = %s",
                    list(zip(shapely.to_wkb(detailed.geometry.values), detailed["lad_cd"], strict=True)))
    return len(frame), 0


def _load_premises(cur: Cursor, paths: list[Path], steps: Steps | None) -> tuple[int, int]:
    frame = _frame(paths[0], ("category", "name"), ("Point",))
    kept = frame[frame["category"].isin(PREMISES_CATEGORIES)]
    postcodes = []
    for text in _column(kept, "postcode"):
        try:
            postcodes.append(normalise_postcode(text or ""))
        except InvalidPostcode:
            postcodes.append(None)
    rows = list(zip(kept["category"], kept["name"], _column(kept, "org_code"), _column(kept, "address"), postcodes,
                    kept.geometry.x, kept.geometry.y, strict=True))
    cur.execute("DELETE FROM sensitive_premises")
    # Restart the ids so that an unchanged file always yields the same ids.
    cur.execute("SELECT setval(pg_get_serial_sequence('sensitive_premises', 'id'), 1, false)")
    cur.executemany(
        "INSERT INTO sensitive_premises (category, name, source_ref, address, postcode, location, location_bng) "
        "SELECT %s, %s, %s, %s, %s, g, ST_Transform(g, 27700) FROM ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g",
        rows)
    return len(rows), len(frame) - len(rows)


def _load_postcodes(cur: Cursor, paths: list[Path], steps: Steps | None) -> tuple[int, int]:
    return load_postcodes(cur, paths[0], steps)


@dataclass(frozen=True)
class Dataset:
    name: str
    table: str
    files: tuple[str, ...]
    loader: Callable[[Cursor, list[Path], Steps | None], tuple[int, int]]


DATASETS: tuple[Dataset, ...] = (
    Dataset("itl1_region", "itl1_region", (sources.ITL1_REGIONS,), _load_regions),
    Dataset("local_authority", "local_authority", (sources.LAD_BOUNDARIES, sources.LAD_DETAILED),
            _load_local_authorities),
    Dataset("postcode", "postcode", (sources.POSTCODES,), _load_postcodes),
    Dataset("sensitive_premises", "sensitive_premises", (sources.SENSITIVE_PREMISES,), _load_premises),
)


def _load_one(conn, dataset: Dataset, paths: list[Path], force: bool, steps: Steps | None) -> LoadReport:
    started = time.perf_counter()
    label = " + ".join(p.name for p in paths)
    digest = sources.sha256_of(*paths)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        cur.execute("SELECT sha256, rows FROM geodata_load WHERE dataset = %s", (dataset.name,))
        recorded = cur.fetchone()
        if recorded is not None and recorded[0] == digest and not force:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(dataset.table)))
            # A table emptied behind the loader's back is reloaded despite the matching fingerprint.
            if cur.fetchone()[0] == recorded[1]:
                if steps is not None:
                    steps.finish(steps.start(dataset.name), "unchanged, skipped")
                return LoadReport(dataset.name, recorded[1], time.perf_counter() - started,
                                  skipped=True, source_file=label)
        task = steps.start(dataset.name) if steps and dataset.name != "postcode" else None
        rows, rejected = dataset.loader(cur, paths, steps)
        seconds = time.perf_counter() - started
        cur.execute(
            "INSERT INTO geodata_load (dataset, source_file, sha256, rows, seconds, loaded_at) "
            "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (dataset) DO UPDATE SET "
            "source_file = excluded.source_file, sha256 = excluded.sha256, rows = excluded.rows, "
            "seconds = excluded.seconds, loaded_at = excluded.loaded_at",
            (dataset.name, label, digest, rows, seconds))
        if task is not None:
            steps.finish(task, f"{rows:,} rows")
    return LoadReport(dataset.name, rows, time.perf_counter() - started, source_file=label, rejected=rejected)


def _connect(url: str) -> psycopg.Connection:
    # ``COPY`` needs a plain psycopg connection, which SQLAlchemy does not expose; its URL becomes a
    # libpq connection string.
    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


def load_all(geodata_dir: Path | str, url: str, *, force: bool = False,
             progress: bool = True) -> list[LoadReport]:
    """Load every reference dataset into PostGIS, skipping those whose files are unchanged.

    Parameters
    ----------
    geodata_dir : Path or str
        Directory of the reference files (core's settings: ``get_settings().geodata_dir``).
    url : str
        SQLAlchemy database URL (core's settings: ``get_settings().database_url``).
    force : bool, default False
        Reload even datasets whose files match the recorded SHA-256.
    progress : bool, default True
        Show a rich progress display (the postcode load takes several seconds).

    Returns
    -------
    list of LoadReport
        One per dataset, in load order: ITL1 regions, local authorities, postcodes, sensitive premises.

    Raises
    ------
    GeodataFileMissing
        If the directory or any file is missing (checked before anything is written).
    """
    directory = sources.resolve_dir(geodata_dir)
    plan = [(d, [sources.source_path(directory, f) for f in d.files]) for d in DATASETS]
    reports = []
    with _steps(progress) as steps, _connect(url) as conn:
        # Each dataset's ``conn.transaction()`` is then its own, complete transaction.
        conn.autocommit = True
        for dataset, paths in plan:
            reports.append(_load_one(conn, dataset, paths, force, steps))
    return reports
