"""Position relative to the arena: distance to the nearest wall and thigmotaxis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ._recording import Track, arena_of, arena_size, check_arena, select_track, source_of, time_series

__all__ = ["compute_wall_distance", "compute_thigmotaxis", "wall_distance"]


def wall_distance(xy: np.ndarray, arena: Mapping[str, Any]) -> np.ndarray:
    """``(n,)`` distance from each point ``(n, 2)`` to the nearest wall, metres; negative outside the arena.
    Box: spans ``[0, width] x [0, height]``; circle: centred at ``(radius, radius)``."""
    xy = np.asarray(xy, float)
    if arena["shape"] == "circle":
        r = float(arena["radius"])
        return r - np.hypot(xy[:, 0] - r, xy[:, 1] - r)
    w, h = float(arena["width"]), float(arena["height"])
    return np.minimum(np.minimum(xy[:, 0], w - xy[:, 0]), np.minimum(xy[:, 1], h - xy[:, 1]))


def _track_arena(track: Track, arena, caller: str) -> dict[str, Any]:
    return check_arena(
        arena if arena is not None else arena_of(track.recording), caller=caller, source=source_of(track)
    )


def compute_wall_distance(
    rec: xr.Dataset, *, arena: Mapping[str, Any] | None = None, individual=None, keypoint=None
) -> xr.DataArray:
    """Distance to the nearest wall ``(time,)``, metres (negative outside the arena; NaN untracked). The
    arena comes from the recording's attrs unless given."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_wall_distance")
    arena = _track_arena(track, arena, "compute_wall_distance")
    return time_series(
        wall_distance(track.xy, arena), track, "wall_distance", "m", "distance to the nearest wall"
    )


def compute_thigmotaxis(
    rec: xr.Dataset,
    *,
    distance: float | None = None,
    arena: Mapping[str, Any] | None = None,
    individual=None,
    keypoint=None,
) -> xr.DataArray:
    """Thigmotaxis: the fraction of tracked time spent within ``distance`` of a wall.

    Args:
        distance: metres. Default: a tenth of the arena's smaller side (box) or diameter (circle), a
            package convention (10 cm in a 1-m box); use one value for every group compared.
        arena: overrides the recording's attrs.
    """
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_thigmotaxis")
    arena = _track_arena(track, arena, "compute_thigmotaxis")
    if distance is None:
        distance = 0.1 * arena_size(arena)
    if not (np.isfinite(distance) and distance > 0):
        raise ValueError(f"compute_thigmotaxis: distance must be > 0 m, got {distance}")
    d = wall_distance(track.xy, arena)
    ok = track.run >= 0
    weights = (
        track.sample_durations[ok] if track.as_recorded else None
    )  # time: the irregular fixes' intervals
    value = float(np.average(d[ok] <= distance, weights=weights)) if ok.any() else np.nan
    return xr.DataArray(
        value,
        coords=track.coords(),
        name="thigmotaxis",
        attrs={"units": "1", "long_name": "fraction of time near the walls", "distance": float(distance)},
    )
