"""The figure set of a comparison: what ``neuroethology compare`` writes next to report.json."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .._recording import arena_of, split_individuals
from .distributions import plot_metric_comparison, plot_metric_table
from .style import group_colours, new_figure, save_figure
from .trajectory import plot_occupancy, plot_trajectory

__all__ = ["save_comparison_figures"]


def save_comparison_figures(
    report, groups: Sequence[Sequence[xr.Dataset]], out: str | Path, *, trajectory_seconds: float = 120.0
) -> list[Path]:
    """Write the figures of a :class:`~neuroethology.analysis.ComparisonReport` to ``out`` (PDF and PNG):

    * ``trajectories``: the first ``trajectory_seconds`` of each group's first recording on its arena (not
      when compared trial by trial);
    * ``occupancy``: both groups' occupancy maps on one colour scale (when compared);
    * ``distributions``: every distribution and per-unit metric, both groups overlaid (histograms);
    * ``ecdfs``: the same as empirical cumulative distributions;
    * ``metric_table``: the table of means, intervals, distances and p-values.

    ``groups``: the Recordings of each group, in the report's label order. Returns the files written.
    """
    out = Path(out)
    labels = list(report.labels)
    colours = group_colours(labels)
    written: list[Path] = []

    if not report.per_trial:  # trial by trial there are no paths to draw
        fig, axes = new_figure(1, 2, height=3.2)
        for ax, lab, recs in zip(axes[0], labels, groups, strict=True):
            first = split_individuals(recs[0])[0]
            t0 = float(first["time"].values[0])
            plot_trajectory(first, ax=ax, color=colours[lab], stop=t0 + trajectory_seconds)
            ax.set_title(f"{lab}: first {trajectory_seconds:g} s")
        written += save_figure(fig, out / "trajectories")

    if "occupancy" in report.names and report.occupancy:
        fig, axes = new_figure(1, 2, height=3.0)
        vmax = max(float(np.nanmax(m.values)) for m in report.occupancy.values())
        for ax, lab in zip(axes[0], labels, strict=True):
            occ = report.occupancy[lab]
            arena = arena_of(split_individuals(groups[labels.index(lab)][0])[0])
            plot_occupancy(occ, arena=arena, ax=ax, vmax=vmax)
            ax.set_title(lab)
        fig.suptitle(f"occupancy; Jensen-Shannon divergence {report['occupancy'].jensen_shannon:.3f}")
        written += save_figure(fig, out / "occupancy")

    shown = [m for m in report.metrics if m.kind in ("distribution", "scalar")]
    for kind, name in (("hist", "distributions"), ("ecdf", "ecdfs")):
        if not shown:
            break
        ncols = min(4, len(shown))
        nrows = math.ceil(len(shown) / ncols)
        fig, axes = new_figure(nrows, ncols, height=2.0 * nrows + 0.3, layout="constrained")
        for ax, m in zip(axes.ravel(), shown, strict=False):
            plot_metric_comparison(m, kind=kind, ax=ax)
            ax.title.set_fontsize(6.5)
            ax.xaxis.label.set_fontsize(7)
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()
        for ax in axes.ravel()[len(shown) :]:
            ax.axis("off")
        handles, names = axes.ravel()[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside upper center", ncol=len(names), frameon=False)
        written += save_figure(fig, out / name)

    if report.metrics:
        fig, _ = plot_metric_table(report)
        written += save_figure(fig, out / "metric_table")
    return written
