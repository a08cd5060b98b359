"""Occupancy: where an animal spent its time; coverage and spatial entropy of the map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ._arena_geometry import floor_bins, on_floor
from ._arena_geometry import kind as arena_kind
from ._recording import arena_extent, arena_of, check_arena, select_track, source_of

__all__ = ["compute_occupancy", "compute_coverage", "compute_spatial_entropy"]


def _grid(extent, bin_size: float, caller: str) -> tuple[tuple[float, float, float, float], int, int]:
    x0, x1, y0, y1 = (float(v) for v in extent)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"{caller}: extent must have x_max > x_min and y_max > y_min, got {tuple(extent)}")
    if not (np.isfinite(bin_size) and bin_size > 0):
        raise ValueError(f"{caller}: bin_size must be > 0 m, got {bin_size}")
    nx = max(1, int(round((x1 - x0) / bin_size)))
    ny = max(1, int(round((y1 - y0) / bin_size)))
    return (x0, x1, y0, y1), nx, ny


def compute_occupancy(
    rec: xr.Dataset,
    *,
    bin_size: float = 0.05,
    extent: tuple[float, float, float, float] | None = None,
    arena: Mapping[str, Any] | None = None,
    normalize: bool = False,
    individual=None,
    keypoint=None,
) -> xr.DataArray:
    """Time spent in each square spatial bin.

    Args:
        rec: a Recording.
        bin_size: bin side, metres (default 5 cm, a package convention sized for rats in a 1-m box:
            20 x 20 bins; use one value for every group you compare).
        extent: ``(x_min, x_max, y_min, y_max)``, metres; default: the arena's bounding box (from
            ``arena`` or the recording's attrs).
        arena: the arena (a mapping, a preset name such as ``"plus_maze"``: any form
            :func:`~neuroethology.analysis._recording.check_arena` takes), overriding the recording's.
        normalize: return the fraction of tracked time instead of seconds.

    Returns:
        ``DataArray (y, x)`` (bin centres, m) of seconds (each tracked sample counts 1/fps) or fractions,
        with the boolean coord ``in_arena (y, x)``: the bins an animal can visit (a box's or circle's: bin
        centre inside; a polygon's: any floor of positive area in the bin, holes excluded; all True when
        the arena is unknown); coverage and entropy count those bins only. Samples outside ``extent`` or
        untracked are not counted; samples off the floor (tracking noise, a nose over a maze's edge) are
        counted in their bins where inside ``extent``, and ``attrs["off_floor_seconds"]`` (arena known) is
        the tracked time off the floor.
    """
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_occupancy")
    arena = arena if arena is not None else arena_of(track.recording)
    if arena is not None:
        arena = check_arena(arena, caller="compute_occupancy", source=source_of(track))
    if extent is None:
        if arena is None:
            raise ValueError(
                f"compute_occupancy: {source_of(track)} has no arena geometry; pass extent=(x_min, x_max, "
                "y_min, y_max) in metres or arena=..."
            )
        extent = arena_extent(arena)
    (x0, x1, y0, y1), nx, ny = _grid(extent, bin_size, "compute_occupancy")
    ok = track.run >= 0
    seconds, xe, ye = np.histogram2d(
        track.xy[ok, 0],
        track.xy[ok, 1],
        bins=(nx, ny),
        range=((x0, x1), (y0, y1)),
        weights=track.sample_durations[ok],  # a frame each, or the interval to the next fix as recorded
    )
    xc, yc = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
    seconds = seconds.T
    total = seconds.sum()
    values = seconds / total if normalize and total > 0 else seconds
    inside = np.ones((ny, nx), bool) if arena is None else _floor_bins(arena, xe, ye)
    attrs = {}
    if arena is not None:  # positions off the floor are counted in their bins, never dropped: say how many
        off = ok & ~on_floor(track.xy, arena)
        attrs["off_floor_seconds"] = float(track.sample_durations[off].sum())
    return xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": yc, "x": xc, "in_arena": (("y", "x"), inside), **track.coords()},
        name="occupancy",
        attrs={
            "units": "fraction of tracked time" if normalize else "s",
            "bin_size": float(bin_size),
            "extent": [x0, x1, y0, y1],
            "tracked_seconds": float(total),
            **attrs,
        },
    )


def _floor_bins(arena: Mapping[str, Any], xe: np.ndarray, ye: np.ndarray) -> np.ndarray:
    """``(ny, nx)`` the bins an animal can visit: centre inside a box or circle (as before); in a polygon,
    every bin holding floor (inside the boundary, outside the holes) of positive area."""
    xc, yc = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
    shape = arena_kind(arena)
    if shape == "circle":
        r = arena["radius"]
        return (xc[None, :] - r) ** 2 + (yc[:, None] - r) ** 2 <= r * r
    if shape == "box":
        return (
            (xc[None, :] <= arena["width"])
            & (yc[:, None] <= arena["height"])
            & (xc[None, :] >= 0)
            & (yc[:, None] >= 0)
        )
    return floor_bins(arena, xe, ye)


def _occupancy_map(data: xr.Dataset | xr.DataArray, caller: str, **kwargs) -> xr.DataArray:
    if isinstance(data, xr.DataArray):
        if data.dims != ("y", "x"):
            raise ValueError(
                f"{caller}: expected a Recording or the (y, x) map of compute_occupancy, got dims {data.dims}"
            )
        return data
    return compute_occupancy(data, **kwargs)


def _arena_probabilities(occ: xr.DataArray) -> tuple[np.ndarray, int]:
    inside = occ["in_arena"].values if "in_arena" in occ.coords else np.ones(occ.shape, bool)
    v = np.where(inside, np.asarray(occ.values, float), 0.0)
    total = v.sum()
    return (v / total if total > 0 else v), int(inside.sum())


def compute_coverage(
    data: xr.Dataset | xr.DataArray, *, min_time: float = 0.0, **occupancy_kwargs
) -> xr.DataArray:
    """Fraction of the arena's bins visited: bins (centre inside the arena) whose occupancy exceeds
    ``min_time`` (in the map's units, seconds by default), over all arena bins.

    ``data``: a Recording (then ``occupancy_kwargs`` go to :func:`compute_occupancy`) or its map."""
    occ = _occupancy_map(data, "compute_coverage", **occupancy_kwargs)
    inside = occ["in_arena"].values if "in_arena" in occ.coords else np.ones(occ.shape, bool)
    visited = (np.asarray(occ.values) > min_time) & inside
    value = float(visited.sum() / inside.sum()) if inside.sum() else np.nan
    return xr.DataArray(
        value,
        name="coverage",
        attrs={
            "units": "1",
            "long_name": "fraction of arena bins visited",
            "bin_size": occ.attrs.get("bin_size", np.nan),
        },
    )


def compute_spatial_entropy(
    data: xr.Dataset | xr.DataArray, *, normalize: bool = True, **occupancy_kwargs
) -> xr.DataArray:
    """Shannon entropy of the occupancy distribution over the arena's bins, ``-sum p log2 p`` (bits);
    with ``normalize`` divided by ``log2`` of the number of arena bins (1: uniform use of the arena,
    0: one bin). ``data``: a Recording or its :func:`compute_occupancy` map."""
    occ = _occupancy_map(data, "compute_spatial_entropy", **occupancy_kwargs)
    p, n_bins = _arena_probabilities(occ)
    nz = p[p > 0]
    h = float(-(nz * np.log2(nz)).sum()) if nz.size else np.nan
    if normalize:
        h = h / np.log2(n_bins) if n_bins > 1 else np.nan
    return xr.DataArray(
        h,
        name="spatial_entropy",
        attrs={"units": "1" if normalize else "bit", "bin_size": occ.attrs.get("bin_size", np.nan)},
    )
