"""The postcode pool: located candidate addresses the generator draws from, read from the reference
geography (``geodata``) in a stable order so that the same seed always sees the same pool."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

import geodata
from sim.spec import BUYERS, ScenarioSpec

# Margin around a council's boundary box when collecting its candidate postcodes, in metres: wide
# enough that no postcode the detailed boundary puts inside is missed; ``locate_points`` decides.
BOX_MARGIN_M = 2_000


class EmptyPool(RuntimeError):
    """The reference geography is missing or has no postcodes for a scenario buyer."""


@dataclass(frozen=True)
class PostcodePool:
    """Postcode centroids in postcode order, columns ``postcode``, ``lon``, ``lat``, ``itl1_cd``,
    ``lad_cd`` and ``national_sample`` (a candidate for buyers placing cases anywhere); every postcode
    of the council buyers' local authorities is included. ``lad_names`` maps lad_cd → name."""

    postcodes: pd.DataFrame
    lad_names: dict[str, str]


def load_pool(db: Connection, spec: ScenarioSpec) -> PostcodePool:
    """Read the pool for ``spec``: every postcode of each council buyer's LAD, plus a sample of about
    one in ``spec.national_pool_step`` GB postcodes for the national buyer, each located with
    ``geodata.locate_points`` so that region and LAD agree with the rest of the platform. Postcodes
    outside every LAD are left out.

    The sample is chosen by a hash of the postcode itself (``hashtextextended``, the stable hash
    PostgreSQL's hash partitioning relies on): it covers GB evenly, costs one parallel scan, and
    unlike "every n-th row" it does not shift wholesale when a postcode is added or retired."""
    councils = [b.lad_cd for b in BUYERS if b.lad_cd]
    # Two index-friendly halves (a parallel scan and a bounding-box search), merged in postcode order;
    # a postcode in both is one row, flagged as a national candidate.
    rows = db.execute(text(
        "SELECT DISTINCT ON (postcode) postcode, ST_X(location), ST_Y(location), national FROM ("
        "  SELECT postcode, location, true AS national FROM postcode "
        "  WHERE hashtextextended(postcode, 0) % :step = 0 "
        "  UNION ALL "
        "  SELECT p.postcode, p.location, false FROM local_authority la JOIN postcode p ON p.location_bng && "
        "         ST_Expand(ST_Transform(coalesce(la.geom_detailed, la.geom), 27700), :margin) "
        "  WHERE la.lad_cd = ANY(:lads)) candidates "
        "ORDER BY postcode, national DESC"),
        {"margin": BOX_MARGIN_M, "lads": councils, "step": spec.national_pool_step}).all()
    # Column-wise from plain tuples: building a frame from SQLAlchemy Row objects is ~10x slower.
    columns = list(zip(*rows)) if rows else [(), (), (), ()]
    frame = pd.DataFrame(dict(zip(["postcode", "lon", "lat", "national_sample"], columns)))
    located = geodata.locate_points(db, frame["lon"].to_numpy(), frame["lat"].to_numpy())
    frame[["itl1_cd", "lad_cd"]] = located[["itl1_cd", "lad_cd"]].to_numpy()
    keep = frame["lad_cd"].notna() & (frame["national_sample"] | frame["lad_cd"].isin(councils))
    frame = frame[keep.to_numpy()].reset_index(drop=True)

    missing = [lad for lad in councils if not (frame["lad_cd"] == lad).any()]
    if not frame["national_sample"].any() or missing:
        raise EmptyPool("no postcodes for the scenario buyers (missing: "
                        f"{', '.join(missing) or 'national sample'}); load the reference geography "
                        "first: bailiwick geodata load")
    lad_names = dict(db.execute(text("SELECT lad_cd, name FROM local_authority")).all())
    return PostcodePool(frame[["postcode", "lon", "lat", "itl1_cd", "lad_cd", "national_sample"]]
                        .astype({"national_sample": np.bool_}), lad_names)
