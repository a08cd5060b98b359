"""Regions of an arena: the trajectory over the filled, labelled regions next to the time spent in each
(:func:`~neuroethology.analysis.regions.compute_region_occupancy`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.patches as mpatches
import numpy as np
import xarray as xr

from .._recording import Track, arena_of, select_track, source_of
from ..regions import OUTSIDE, as_regions, compute_region_occupancy
from .style import HALF_WIDTH, PALETTE, new_axes, new_figure

__all__ = ["draw_regions", "plot_region_occupancy"]

# Paul Tol's colour-blind-safe "light" scheme, for filled regions under a dark path.
REGION_COLOURS = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00")


def _colours(names: list[str]) -> dict[str, str]:
    out = {n: REGION_COLOURS[i % len(REGION_COLOURS)] for i, n in enumerate(names)}
    out[OUTSIDE] = PALETTE["grey"]
    return out


def _ring_patch(coords, **style) -> mpatches.Polygon:
    return mpatches.Polygon(np.asarray(coords, float)[:, :2], closed=True, **style)


def draw_regions(ax, regions: Any, *, alpha: float = 0.5, labels: bool = True) -> dict[str, str]:
    """Fill each region (holes left blank) and write its name at a point inside it. ``regions``: any form
    :func:`~neuroethology.analysis.regions.as_regions` accepts; an arena mapping's ``boundary`` and
    ``holes`` are outlined too. Returns ``{name: colour}`` (``"outside"`` included) for legends and bars."""
    polygons = as_regions(regions, caller="draw_regions")
    colours = _colours(list(polygons))
    if isinstance(regions, Mapping) and "boundary" in regions:
        outline = {"fill": False, "edgecolor": "0.2", "linewidth": 1.0}
        ax.add_patch(_ring_patch(regions["boundary"], **outline))
        for hole in regions.get("holes") or []:
            ax.add_patch(_ring_patch(hole, facecolor="0.85", edgecolor="0.2", linewidth=0.8))
    for name, poi in polygons.items():
        shape = poi.region
        ax.add_patch(
            _ring_patch(shape.exterior.coords, facecolor=colours[name], edgecolor="none", alpha=alpha)
        )
        for ring in shape.interiors:
            ax.add_patch(_ring_patch(ring.coords, facecolor="white", edgecolor="none"))
        if labels:
            p, (x0, y0, x1, y1) = shape.representative_point(), shape.bounds
            tall = (y1 - y0) > 1.5 * (x1 - x0)  # a label along a narrow vertical arm
            ax.text(p.x, p.y, name, ha="center", va="center", fontsize=6, color="0.1", rotation=90 * tall)
    ax.autoscale_view()
    ax.set_aspect("equal")
    return colours


def plot_region_occupancy(
    rec: xr.Dataset,
    regions: Any = None,
    *,
    individual: str | int | None = None,
    keypoint: str | int | None = None,
    occupancy: xr.Dataset | None = None,
    axes=None,
    color: str = PALETTE["animal"],
    linewidth: float = 0.5,
):
    """One individual's path over the filled, labelled regions (left) and its time in each region,
    ``"outside"`` included, as horizontal bars (right).

    Args:
        rec: a Recording; ``regions``, ``individual`` and ``keypoint`` as in
            :func:`~neuroethology.analysis.regions.compute_region_occupancy` (``individual`` may be
            ``None`` only for a single-individual recording).
        occupancy: its result, when already computed (else computed here).
        axes: two axes ``(map, bars)`` to draw on; default: a new half-width figure.

    Returns:
        ``(fig, (ax_map, ax_bars))``.
    """
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="plot_region_occupancy")
    if regions is None:
        regions = _stored_regions(track)
    if occupancy is None:
        occupancy = compute_region_occupancy(rec, regions, individual=track.individual, keypoint=keypoint)
    if track.individual not in [str(v) for v in occupancy["individual"].values]:
        raise ValueError(f"plot_region_occupancy: occupancy has no individual {track.individual!r}")
    one = occupancy.sel(individual=track.individual)
    names = [str(v) for v in one["region"].values]
    drawn = [*as_regions(regions, caller="plot_region_occupancy"), OUTSIDE]
    if names != drawn:
        raise ValueError(
            f"plot_region_occupancy: occupancy has regions {names}, the regions given are {drawn}"
        )
    if axes is None:
        fig, grid = new_figure(1, 2, width=2 * HALF_WIDTH, height=HALF_WIDTH * 0.9)
        ax_map, ax_bars = grid[0]
    else:
        ax_map, ax_bars = axes
        fig, _ = new_axes(ax_map)
    colours = draw_regions(ax_map, regions)
    breaks = np.flatnonzero(np.diff(track.run) != 0) + 1  # NaN rows: the line breaks at gaps
    xy = np.insert(track.xy, breaks, np.nan, axis=0)
    ax_map.plot(xy[:, 0], xy[:, 1], color=color, lw=linewidth, alpha=0.9)
    ax_map.set_xlabel("x (m)")
    ax_map.set_ylabel("y (m)")
    seconds = one["time_in_region"].values
    ax_bars.barh(np.arange(len(names)), seconds, color=[colours[n] for n in names], edgecolor="0.3", lw=0.4)
    ax_bars.set_yticks(np.arange(len(names)), names)
    ax_bars.invert_yaxis()
    ax_bars.set_xlabel("time in region (s)")
    for i, f in enumerate(one["fraction_of_time"].values):
        if np.isfinite(f):
            ax_bars.text(seconds[i], i, f" {100 * f:.0f}%", va="center", fontsize=6)
    return fig, (ax_map, ax_bars)


def _stored_regions(track: Track) -> Mapping[str, Any]:
    """The recording's own arena (its regions are what ``regions=None`` analyses)."""
    arena = arena_of(track.recording)
    if not isinstance(arena, Mapping) or not arena.get("regions"):
        raise ValueError(
            f"plot_region_occupancy: {source_of(track)} stores no arena regions; pass regions={{name: "
            "[[x, y], ...]}} in metres"
        )
    return arena
