"""Occupancy: where an animal spent its time."""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

__all__ = ["compute_occupancy"]


def _positions(positions: ArrayLike | xr.DataArray) -> np.ndarray:
    arr = np.asarray(positions, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"compute_occupancy: positions must have shape (time, 2) in metres, got {arr.shape}")
    return arr


def compute_occupancy(
    positions: ArrayLike | xr.DataArray,
    *,
    extent: tuple[float, float, float, float],
    bin_size: float = 0.05,
    dt: float | None = None,
) -> xr.DataArray:
    """Time spent in each spatial bin.

    Args:
        positions: ``(time, 2)`` x, y in metres; rows with a NaN are not counted.
        extent: ``(x_min, x_max, y_min, y_max)`` of the arena, metres.
        bin_size: bin side, metres.
        dt: sampling interval, seconds. With it the result is in seconds, without it a fraction of samples.

    Returns:
        ``DataArray`` with dims ``(y, x)`` (bin centres in metres) of seconds or fractions.
    """
    xy = _positions(positions)
    x0, x1, y0, y1 = (float(v) for v in extent)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"compute_occupancy: extent must have x_max > x_min and y_max > y_min, got {extent}")
    if not bin_size > 0:
        raise ValueError(f"compute_occupancy: bin_size must be > 0 m, got {bin_size}")
    nx = max(1, int(round((x1 - x0) / bin_size)))
    ny = max(1, int(round((y1 - y0) / bin_size)))
    ok = np.all(np.isfinite(xy), axis=1)
    counts, xe, ye = np.histogram2d(xy[ok, 0], xy[ok, 1], bins=(nx, ny), range=((x0, x1), (y0, y1)))
    values = counts.T * dt if dt is not None else counts.T / max(ok.sum(), 1)
    return xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": (ye[:-1] + ye[1:]) / 2, "x": (xe[:-1] + xe[1:]) / 2},
        name="occupancy",
        attrs={"units": "s" if dt is not None else "fraction of samples", "bin_size": float(bin_size)},
    )
