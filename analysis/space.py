"""Position relative to the arena: distance to the nearest wall and thigmotaxis, in a box, a circle or any
polygon arena (its walls: the boundary's and holes' edges and the internal walls); and an arena proposed
from where the animals went (:func:`propose_arena`), for the user to check and pass back as ``arena=``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
import xarray as xr

from neuroethology.envs.arena import resolve_arena

from ._arena_geometry import signed_wall_distance
from ._recording import (
    Track,
    arena_of,
    arena_size,
    as_recording,
    check_arena,
    select_track,
    source_of,
    time_series,
)

__all__ = ["compute_wall_distance", "compute_thigmotaxis", "propose_arena", "wall_distance"]


def wall_distance(xy: np.ndarray, arena: Mapping[str, Any]) -> np.ndarray:
    """``(n,)`` distance from each point ``(n, 2)`` to the nearest wall, metres; negative off the floor.
    Box: spans ``[0, width] x [0, height]``; circle: centred at ``(radius, radius)``; any other arena (a
    polygon, or a box or circle with holes or walls): the nearest of its boundary's edges, its holes' edges
    and its internal walls, negative outside the boundary or inside a hole. ``arena``: as
    :func:`~neuroethology.analysis._recording.check_arena` returns it (or :func:`neuroethology.data.arena_of`).
    """
    return signed_wall_distance(xy, arena)


def _track_arena(track: Track, arena, caller: str) -> dict[str, Any]:
    return check_arena(
        arena if arena is not None else arena_of(track.recording), caller=caller, source=source_of(track)
    )


def compute_wall_distance(
    rec: xr.Dataset, *, arena: Mapping[str, Any] | None = None, individual=None, keypoint=None
) -> xr.DataArray:
    """Distance to the nearest wall ``(time,)``, metres (negative off the floor; NaN untracked): see
    :func:`wall_distance`. The arena comes from the recording's attrs unless given."""
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
        distance: metres. Default: a tenth of the arena's smaller side (box), diameter (circle) or
            smaller side of its bounding box (polygon), a package convention (10 cm in a 1-m box); use one
            value for every group compared, and give it in mazes whose arms are narrower than that.
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


PROPOSAL_METHODS = ("concave_hull", "convex_hull")


def propose_arena(
    rec: xr.Dataset,
    *,
    method: str = "concave_hull",
    ratio: float = 0.05,
    simplify: float = 0.0,
    keypoint=None,
) -> dict[str, Any]:
    """An arena proposed from where the animals went: the hull of every tracked position of every
    individual, as a canonical arena mapping (``{"boundary": [[x, y], ...], "holes": [], "walls": [],
    "regions": {}}``, metres). Nothing is stored: look at it over the track
    (:func:`~neuroethology.analysis.plots.trajectory.plot_arena_proposal`) and pass it back explicitly
    (``neuroethology.data.load(path, arena=proposal)``) if it is right.

    Args:
        method: ``"concave_hull"`` (shapely's, after Park & Oh 2012: follows a maze's arms) or
            ``"convex_hull"`` (an open field: fills every concavity).
        ratio: the concave hull's ``ratio`` in ``[0, 1]`` (shapely): 0 the most concave, 1 the convex hull.
            The default 0.05 recovered a plus maze's floor within 0.2 % of its area from a 20-minute walk
            (tests); sparse tracks need more. The hull lies inside the walls by the gap the animal kept
            from them, so its area is a little below the floor's.
        simplify: metres; vertices within this distance of the simplified outline are dropped (Douglas-
            Peucker). 0 (default) keeps the hull as found, every sample inside; a positive value leaves out
            samples near the walls (the figure says how many).
        keypoint: as in :func:`~neuroethology.analysis._recording.select_track` (default: the centroid).

    Raises:
        ValueError: an unknown method, a ratio outside ``[0, 1]``, fewer than 3 tracked positions not on one
            line (no area to propose).
    """
    caller = "propose_arena"
    if method not in PROPOSAL_METHODS:
        raise ValueError(f"{caller}: method must be one of {PROPOSAL_METHODS}, got {method!r}")
    if not (isinstance(ratio, int | float) and 0 <= ratio <= 1):
        raise ValueError(f"{caller}: ratio must be a number in [0, 1], got {ratio!r}")
    if not (isinstance(simplify, int | float) and simplify >= 0):
        raise ValueError(f"{caller}: simplify must be >= 0 m, got {simplify!r}")
    xy = tracked_positions(rec, keypoint=keypoint, caller=caller)
    points = shapely.MultiPoint(xy)
    hull = shapely.concave_hull(points, ratio=ratio) if method == "concave_hull" else points.convex_hull
    if simplify > 0:
        hull = shapely.simplify(hull, simplify, preserve_topology=True)
    if not isinstance(hull, shapely.Polygon) or hull.area <= 0:
        raise ValueError(
            f"{caller}: the {len(xy)} tracked positions of {source_of(rec)} span no area (fewer than 3, or all "
            "on one line); give the arena yourself (arena= a preset, a YAML file or a mapping in metres)"
        )
    return resolve_arena({"boundary": np.asarray(hull.exterior.coords)[:-1].tolist()})


def tracked_positions(rec: xr.Dataset, *, keypoint=None, caller: str) -> np.ndarray:
    """``(n, 2)`` every tracked position (m) of every individual of ``rec`` (each on its own clock)."""
    rec = as_recording(rec, caller=caller)
    tracks = [
        select_track(rec, individual=i, keypoint=keypoint, caller=caller)
        for i in range(rec.sizes["individual"])
    ]
    return np.concatenate([t.xy[t.run >= 0] for t in tracks])
