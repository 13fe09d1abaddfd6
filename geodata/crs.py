"""Coordinate conversion between WGS84 (EPSG:4326, lon/lat) and British National Grid (EPSG:27700).

Metric work (distances, buffers) is done in British National Grid, never in degrees. The transformer
is the same PROJ pipeline PostGIS's ``ST_Transform`` picks for 4326 → 27700, so values computed here and
in SQL agree to the nanometre.
"""
from __future__ import annotations

from functools import lru_cache
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

WGS84 = 4326
BNG = 27700


@lru_cache(maxsize=None)
def transformer(src: int, dst: int) -> Transformer:
    # Building a Transformer costs milliseconds (database look-ups in proj.db); reuse it.
    return Transformer.from_crs(src, dst, always_xy=True)


def _convert(src: int, dst: int, x, y):
    scalar = np.ndim(x) == 0 and np.ndim(y) == 0
    xs = np.asarray(x, dtype="float64")
    ys = np.asarray(y, dtype="float64")
    if xs.shape != ys.shape:
        raise ValueError(f"coordinate arrays differ in shape: {xs.shape} and {ys.shape}")
    out_x, out_y = transformer(src, dst).transform(xs, ys)
    if scalar:
        return float(out_x), float(out_y)
    return np.asarray(out_x, dtype="float64"), np.asarray(out_y, dtype="float64")


@overload
def to_bng(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def to_bng(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def to_bng(lon, lat):
    """Convert WGS84 longitude/latitude to British National Grid easting/northing.

    Parameters
    ----------
    lon, lat : float or array-like
        Degrees, EPSG:4326. Scalars or arrays of the same shape.

    Returns
    -------
    tuple
        ``(easting, northing)`` in metres, EPSG:27700: floats for scalar input, numpy arrays otherwise.
    """
    return _convert(WGS84, BNG, lon, lat)


@overload
def to_wgs84(easting: float, northing: float) -> tuple[float, float]: ...
@overload
def to_wgs84(easting: ArrayLike, northing: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def to_wgs84(easting, northing):
    """Convert British National Grid easting/northing to WGS84 longitude/latitude.

    Parameters
    ----------
    easting, northing : float or array-like
        Metres, EPSG:27700. Scalars or arrays of the same shape.

    Returns
    -------
    tuple
        ``(lon, lat)`` in degrees, EPSG:4326: floats for scalar input, numpy arrays otherwise.
    """
    return _convert(BNG, WGS84, easting, northing)
