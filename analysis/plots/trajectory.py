"""Trajectories and occupancy maps on the arena (a box, a circle or any polygon with holes, walls and
regions), and an arena proposed from the data drawn over the track for the user to accept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.patches as mpatches
import numpy as np
import shapely
import xarray as xr

from .._arena_geometry import on_floor
from .._recording import arena_extent, arena_of, check_arena, select_track, source_of
from ..space import propose_arena, tracked_positions
from .regions import draw_regions
from .style import PALETTE, new_axes

__all__ = ["draw_arena", "plot_arena_proposal", "plot_trajectory", "plot_occupancy"]


def draw_arena(ax, arena: Any, *, regions: bool = True) -> None:
    """Draw the arena: a box's or circle's outline, or a polygon's boundary with its holes (filled grey) and
    internal walls (thick lines); its named regions lightly filled and labelled unless ``regions=False``.
    ``arena``: what :func:`neuroethology.data.arena_of` returns, or any form
    :func:`~neuroethology.analysis._recording.check_arena` takes (a preset name such as ``"plus_maze"``, a
    mapping in metres). The axes span the arena's bounding box with a 3 % margin."""
    arena = check_arena(arena, caller="draw_arena", source="arena=")
    style = {"fill": False, "edgecolor": "0.2", "linewidth": 1.2}
    shape = arena["shape"]
    if shape == "circle":
        r = float(arena["radius"])
        ax.add_patch(mpatches.Circle((r, r), r, **style))
    elif shape == "box":
        ax.add_patch(mpatches.Rectangle((0, 0), float(arena["width"]), float(arena["height"]), **style))
    else:
        ax.add_patch(mpatches.Polygon(np.asarray(arena["boundary"]), closed=True, **style))
        for hole in arena["holes"]:
            ax.add_patch(
                mpatches.Polygon(np.asarray(hole), closed=True, facecolor="0.85", edgecolor="0.2", lw=0.8)
            )
        for wall in arena["walls"]:
            (x0, y0), (x1, y1) = wall
            ax.plot([x0, x1], [y0, y1], color="0.1", lw=2.4, solid_capstyle="butt")
    if regions and arena.get("regions"):
        draw_regions(ax, arena["regions"], alpha=0.3)
    x0, x1, y0, y1 = arena_extent(arena)
    pad = 0.03 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect("equal")


def plot_trajectory(
    rec: xr.Dataset,
    *,
    individual=None,
    keypoint=None,
    arena: Mapping[str, Any] | None = None,
    start: float | None = None,
    stop: float | None = None,
    ax=None,
    color: str = PALETTE["agent"],
    label: str | None = None,
    linewidth: float = 0.5,
    regions: bool = True,
):
    """A Recording's path over its arena (the arena from the attrs unless given; :func:`draw_arena`, its
    regions drawn unless ``regions=False``). The line breaks at tracking gaps, segments and episodes (never
    a straight jump across one). ``start``/``stop``: seconds to show. Returns ``(fig, ax)``."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="plot_trajectory")
    keep = np.ones(track.time.shape, bool)
    if start is not None:
        keep &= track.time >= start
    if stop is not None:
        keep &= track.time <= stop
    xy, run = track.xy[keep], track.run[keep]
    # NaN rows between runs break the line.
    breaks = np.flatnonzero(np.diff(run) != 0) + 1
    xy = np.insert(xy, breaks, np.nan, axis=0)
    fig, ax = new_axes(ax)
    ax.plot(xy[:, 0], xy[:, 1], color=color, lw=linewidth, label=label, alpha=0.9, zorder=3)
    arena = arena if arena is not None else arena_of(track.recording)
    if arena is not None:
        draw_arena(ax, check_arena(arena, caller="plot_trajectory", source=source_of(track)), regions=regions)
    else:
        ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    return fig, ax


def plot_occupancy(
    occupancy: xr.DataArray,
    *,
    arena: Mapping[str, Any] | None = None,
    ax=None,
    cmap="viridis",
    vmax: float | None = None,
    colorbar: bool = True,
):
    """Heat map of a :func:`~neuroethology.analysis.compute_occupancy` result (bins outside the arena
    blank). ``vmax``: colour scale top, to put several maps on one scale. Returns ``(fig, ax)``."""
    if not isinstance(occupancy, xr.DataArray) or occupancy.dims != ("y", "x"):
        raise ValueError("plot_occupancy: expected the DataArray (y, x) returned by compute_occupancy")
    fig, ax = new_axes(ax)
    x, y = occupancy["x"].values, occupancy["y"].values
    half = float(occupancy.attrs.get("bin_size", np.diff(x).mean() if x.size > 1 else 1.0)) / 2
    values = np.asarray(occupancy.values, float)
    if "in_arena" in occupancy.coords:
        values = np.where(occupancy["in_arena"].values, values, np.nan)
    mesh = ax.imshow(
        values,
        origin="lower",
        extent=(x[0] - half, x[-1] + half, y[0] - half, y[-1] + half),
        cmap=cmap,
        interpolation="nearest",
        vmin=0,
        vmax=vmax,
    )
    if colorbar:
        cbar = fig.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04)
        cbar.set_label(f"occupancy ({occupancy.attrs.get('units', '')})")
    if arena is not None:
        draw_arena(ax, arena)
    else:
        ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    return fig, ax


def plot_arena_proposal(
    rec: xr.Dataset,
    proposal: Mapping[str, Any] | None = None,
    *,
    method: str = "concave_hull",
    ratio: float = 0.05,
    simplify: float = 0.0,
    keypoint=None,
    ax=None,
    color: str = PALETTE["agent"],
):
    """An arena proposed from the data (:func:`~neuroethology.analysis.space.propose_arena` with ``method``,
    ``ratio``, ``simplify``, unless ``proposal`` is given) drawn dashed over every tracked position, titled
    with its area and the fraction of the positions on its floor. Nothing is stored: pass the proposal
    back as ``arena=`` if it is right (to keep it, compute it first and pass it here). Returns
    ``(fig, ax)``."""
    if proposal is None:
        proposal = propose_arena(rec, method=method, ratio=ratio, simplify=simplify, keypoint=keypoint)
    arena = check_arena(proposal, caller="plot_arena_proposal", source="proposal=")
    xy = tracked_positions(rec, keypoint=keypoint, caller="plot_arena_proposal")
    fig, ax = new_axes(ax)
    ax.plot(xy[:, 0], xy[:, 1], ".", color=PALETTE["animal"], ms=0.6, alpha=0.5, zorder=1)
    boundary = np.asarray(arena["boundary"])
    ax.add_patch(
        mpatches.Polygon(boundary, closed=True, fill=False, edgecolor=color, lw=1.2, ls="--", zorder=2)
    )
    inside = float(on_floor(xy, arena).mean()) if len(xy) else float("nan")
    area = shapely.Polygon(boundary).area
    ax.set_title(
        f"proposed arena: {area:.3g} m$^2$, {100 * inside:.1f} % of {len(xy)} positions on it\n"
        "check it, then pass it as arena= to use it",
        fontsize=7,
    )
    x0, x1, y0, y1 = arena_extent(arena)
    pad = 0.05 * max(x1 - x0, y1 - y0)
    ax.set_xlim(min(x0, np.nanmin(xy[:, 0])) - pad, max(x1, np.nanmax(xy[:, 0])) + pad)
    ax.set_ylim(min(y0, np.nanmin(xy[:, 1])) - pad, max(y1, np.nanmax(xy[:, 1])) + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    return fig, ax
