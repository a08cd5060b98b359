"""Figures of the brain side: rate-map sheets, autocorrelograms, polar tuning, cell-type counts, population
geometry and the fixed points of a recurrent core. Computation never plots; these take computed arrays."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .style import new_axes, new_figure

__all__ = [
    "plot_map_sheet",
    "plot_polar_sheet",
    "plot_type_counts",
    "plot_population",
    "plot_fixed_points",
]

TYPE_COLOURS = {
    "place": "#1b9e77",
    "grid": "#d95f02",
    "border": "#7570b3",
    "head_direction": "#e7298a",
    "speed": "#66a61e",
    "none": "#999999",
}


def _sheet(n: int, ncols: int, panel: float, polar: bool = False):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    kw = {"subplot_kw": {"projection": "polar"}} if polar else {}
    return new_figure(nrows, ncols, width=panel * ncols, height=panel * nrows * 1.12, **kw)


def plot_map_sheet(
    maps: np.ndarray,
    titles: Sequence[str],
    *,
    extent: Sequence[float],
    ncols: int = 8,
    cmap: str = "jet",
    symmetric: bool = False,
    label: str = "Hz",
):
    """A sheet of 2-D maps (rate maps ``(U, ny, nx)`` in Hz, or autocorrelograms with ``symmetric=True``:
    colour scale -1..1), one panel per unit with its title; NaN bins (unvisited) white. Returns
    ``(fig, axes)``."""
    maps = np.asarray(maps, float)
    fig, axes = _sheet(len(maps), ncols, 1.1)
    for ax, m, title in zip(axes.ravel(), maps, titles, strict=False):
        finite = m[np.isfinite(m)]
        # Rates start at 0 Hz; model units and dF/F may be negative: the scale then starts at their minimum.
        vmin = -1.0 if symmetric else (min(0.0, float(finite.min())) if finite.size else 0.0)
        vmax = 1.0 if symmetric else (float(finite.max()) if finite.size else 1.0)
        vmax = max(vmax, vmin + 1e-12)
        ax.imshow(
            np.ma.masked_invalid(m),
            origin="lower",
            extent=tuple(extent),
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_title(title if symmetric else f"{title}\n{vmax:.3g} {label}", fontsize=5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal")
    for ax in axes.ravel()[len(maps) :]:
        ax.axis("off")
    return fig, axes


def plot_polar_sheet(curves: np.ndarray, centres: np.ndarray, titles: Sequence[str], *, ncols: int = 8):
    """Head-direction tuning curves ``(U, n_bins)`` (Hz) at ``centres`` (rad) as polar plots."""
    curves = np.asarray(curves, float)
    fig, axes = _sheet(len(curves), ncols, 1.1, polar=True)
    theta = np.r_[centres, centres[:1]]
    for ax, c, title in zip(axes.ravel(), curves, titles, strict=False):
        ax.plot(theta, np.r_[c, c[:1]], lw=0.8, color="k")
        ax.set_title(title, fontsize=5)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(curves) :]:
        ax.axis("off")
    return fig, axes


def plot_type_counts(types: Sequence[str], *, ax=None, title: str = ""):
    """Bar chart of the number of units of each cell type (place, grid, border, head direction, speed,
    none)."""
    fig, ax = new_axes(ax, figsize=(3.2, 2.2))
    names = list(TYPE_COLOURS)
    counts = [int(np.sum(np.asarray(types) == t)) for t in names]
    ax.bar(range(len(names)), counts, color=[TYPE_COLOURS[t] for t in names])
    ax.set_xticks(range(len(names)), [t.replace("_", "\n") for t in names], fontsize=6)
    ax.set_ylabel("units")
    for i, c in enumerate(counts):
        ax.text(i, c, str(c), ha="center", va="bottom", fontsize=6)
    if title:
        ax.set_title(title)
    return fig, ax


def plot_population(explained_ratio: np.ndarray, participation_ratio: float, *, ax=None, title: str = ""):
    """Cumulative explained variance of the population's principal components, with the participation
    ratio (Gao et al. 2017) marked."""
    fig, ax = new_axes(ax, figsize=(3.0, 2.2))
    r = np.cumsum(np.asarray(explained_ratio, float))
    ax.plot(np.arange(1, r.size + 1), r, marker="o", ms=2, lw=1, color="k")
    ax.axvline(participation_ratio, color="#d95f02", lw=1, ls="--", label=f"PR = {participation_ratio:.2f}")
    ax.set_xlabel("principal components")
    ax.set_ylabel("cumulative variance explained")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=6)
    if title:
        ax.set_title(title)
    return fig, ax


def plot_fixed_points(
    trajectory: np.ndarray,
    points: np.ndarray,
    kinds: Sequence[str],
    is_fixed: Sequence[bool] | None = None,
    *,
    ax=None,
    title: str = "",
):
    """Visited states and fixed (filled) / slow (open) points projected on the first two principal components
    (:func:`neuroethology.analysis.neural.project_trajectories`), coloured by the kind of their
    linearisation."""
    fig, ax = new_axes(ax, figsize=(3.2, 3.0))
    trajectory = np.asarray(trajectory, float)
    ax.plot(trajectory[:, 0], trajectory[:, 1], lw=0.3, color="0.6", alpha=0.7, label="visited states")
    colours = {"stable": "k", "saddle": "#d95f02", "unstable": "#e7298a", "marginal": "#1b9e77"}
    points = np.asarray(points, float).reshape(-1, trajectory.shape[1])
    kinds = np.asarray(kinds)
    fixed = np.ones(len(kinds), bool) if is_fixed is None else np.asarray(is_fixed, bool)
    for kind in dict.fromkeys(kinds.tolist()):
        for exact, word in ((True, "fixed"), (False, "slow")):
            sel = (kinds == kind) & (fixed == exact)
            if sel.any():
                c = colours.get(kind, "b")
                ax.scatter(
                    points[sel, 0], points[sel, 1], s=14, color=c if exact else "none", edgecolors=c,
                    label=f"{kind} {word} ({sel.sum()})",
                )  # fmt: skip
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(frameon=False, fontsize=5)
    if title:
        ax.set_title(title)
    return fig, ax
