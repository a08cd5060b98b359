"""Arena geometry for the measures, in NumPy float64 through shapely's vectorised GEOS functions: which
points are on the floor, the signed distance to the nearest wall, the floor's bounding box and which cells
of a grid hold floor. One place for all of it, so occupancy, thigmotaxis and the figures agree.

An arena is what :func:`neuroethology.data.arena_of` returns (or :func:`._recording.check_arena`, which adds
``"shape": "polygon"`` to anything that is not a box or circle): a bare box (``[0, W] x [0, H]``) or circle
(centred at ``(R, R)``), measured with the analytic formulas as before, or a canonical mapping
(``boundary``, ``holes``, ``walls``, ``regions``; :mod:`neuroethology.envs.arena`). A box or circle with
regions only keeps its analytic walls; one with holes or walls, and every other polygon, is measured with
segments: the walls are the boundary's edges, the holes' edges and the internal walls. The floor is the
area inside the boundary and outside the holes, edges included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import shapely

__all__ = ["bounds", "floor_bins", "floor_polygon", "kind", "on_floor", "signed_wall_distance", "wall_lines"]


def kind(arena: Mapping[str, Any]) -> Literal["box", "circle", "polygon"]:
    """Which formulas measure ``arena``: ``"box"`` or ``"circle"`` (analytic) or ``"polygon"`` (segments)."""
    shape = arena.get("shape")
    if shape in ("box", "circle") and not (arena.get("holes") or arena.get("walls")):
        return shape
    return "polygon"


def bounds(arena: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` (m) of the floor's bounding box."""
    if arena.get("shape") == "circle" and "boundary" not in arena:
        d = 2 * float(arena["radius"])
        return 0.0, d, 0.0, d
    if arena.get("shape") == "box" and "boundary" not in arena:
        return 0.0, float(arena["width"]), 0.0, float(arena["height"])
    pts = np.asarray(arena["boundary"], dtype=np.float64)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return float(x0), float(x1), float(y0), float(y1)


def floor_polygon(arena: Mapping[str, Any]) -> shapely.Polygon:
    """The floor of a polygon arena: its boundary less its holes."""
    return shapely.Polygon(arena["boundary"], holes=list(arena.get("holes") or []))


def wall_lines(arena: Mapping[str, Any]) -> shapely.MultiLineString:
    """Every wall of a polygon arena as line strings: the boundary and each hole (closed), and each wall."""
    rings = [arena["boundary"], *(arena.get("holes") or [])]
    lines = [np.vstack([r, r[:1]]) for r in map(np.asarray, rings)]
    return shapely.MultiLineString(
        lines + [np.asarray(w, dtype=np.float64) for w in arena.get("walls") or []]
    )


def on_floor(xy: np.ndarray, arena: Mapping[str, Any]) -> np.ndarray:
    """``(n,)`` whether each point ``(n, 2)`` lies on the floor (edges included); False for NaN rows."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    ok = np.isfinite(xy).all(axis=1)
    out = np.zeros(len(xy), bool)
    which = kind(arena)
    if which == "polygon":
        out[ok] = shapely.intersects_xy(floor_polygon(arena), xy[ok, 0], xy[ok, 1])
    else:
        out[ok] = signed_wall_distance(xy[ok], arena) >= 0
    return out


def signed_wall_distance(xy: np.ndarray, arena: Mapping[str, Any]) -> np.ndarray:
    """``(n,)`` distance (m) from each point ``(n, 2)`` to the nearest wall: positive on the floor, negative
    off it (outside the boundary or in a hole), NaN for NaN rows."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    which = kind(arena)
    if which == "circle":
        r = float(arena["radius"])
        return r - np.hypot(xy[:, 0] - r, xy[:, 1] - r)
    if which == "box":
        w, h = float(arena["width"]), float(arena["height"])
        return np.minimum(np.minimum(xy[:, 0], w - xy[:, 0]), np.minimum(xy[:, 1], h - xy[:, 1]))
    out = np.full(len(xy), np.nan)
    ok = np.isfinite(xy).all(axis=1)
    if ok.any():
        d = shapely.distance(shapely.points(xy[ok]), wall_lines(arena))
        inside = shapely.intersects_xy(floor_polygon(arena), xy[ok, 0], xy[ok, 1])
        out[ok] = np.where(inside, d, -d)
    return out


def floor_bins(arena: Mapping[str, Any], x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """``(ny, nx)`` whether each cell of the grid holds a part of the floor of positive area (so every
    position on the floor falls in a floor cell, even where an arm is narrower than a cell or off the
    grid's lines). Polygon arenas only."""
    x0, y0 = np.meshgrid(x_edges[:-1], y_edges[:-1])
    x1, y1 = np.meshgrid(x_edges[1:], y_edges[1:])
    cells = shapely.box(x0.ravel(), y0.ravel(), x1.ravel(), y1.ravel())
    area = shapely.area(shapely.intersection(cells, floor_polygon(arena)))
    cell_area = (x1 - x0).ravel() * (y1 - y0).ravel()
    return (area > 1e-9 * cell_area).reshape(x0.shape)
