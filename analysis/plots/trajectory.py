"""Trajectories and occupancy maps on the arena."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.patches as mpatches
import numpy as np
import xarray as xr

from .._recording import arena_of, check_arena, select_track, source_of
from .style import PALETTE, new_axes

__all__ = ["draw_arena", "plot_trajectory", "plot_occupancy"]


def draw_arena(ax, arena: Mapping[str, Any]) -> None:
    """Draw the arena outline. ``arena``: ``{"shape": "box", "width": W, "height": H}`` or
    ``{"shape": "circle", "radius": R}`` (centre at ``(R, R)``), metres."""
    shape = arena.get("shape", "box")
    style = {"fill": False, "edgecolor": "0.2", "linewidth": 1.2}
    if shape == "circle":
        r = float(arena["radius"])
        ax.add_patch(mpatches.Circle((r, r), r, **style))
        lim = (0, 2 * r), (0, 2 * r)
    elif shape == "box":
        w, h = float(arena["width"]), float(arena["height"])
        ax.add_patch(mpatches.Rectangle((0, 0), w, h, **style))
        lim = (0, w), (0, h)
    else:
        raise ValueError(f"draw_arena: arena shape must be 'box' or 'circle', got {shape!r}")
    pad = 0.03 * max(lim[0][1], lim[1][1])
    ax.set_xlim(lim[0][0] - pad, lim[0][1] + pad)
    ax.set_ylim(lim[1][0] - pad, lim[1][1] + pad)
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
):
    """A Recording's path over its arena outline (the arena from the attrs unless given). The line breaks
    at tracking gaps, segments and episodes (never a straight jump across one). ``start``/``stop``:
    seconds to show. Returns ``(fig, ax)``."""
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
    ax.plot(xy[:, 0], xy[:, 1], color=color, lw=linewidth, label=label, alpha=0.9)
    arena = arena if arena is not None else arena_of(track.recording)
    if arena is not None:
        draw_arena(ax, check_arena(arena, caller="plot_trajectory", source=source_of(track)))
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
