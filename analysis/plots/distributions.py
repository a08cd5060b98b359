"""Distribution overlays (two groups, e.g. agents vs animals) and the metric table of a comparison."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .style import PALETTE, group_colours, new_axes

__all__ = ["plot_distributions", "plot_metric_comparison", "plot_metric_table"]


def _clean(samples) -> np.ndarray:
    x = np.asarray(samples, float).ravel()
    return x[np.isfinite(x)]


def plot_distributions(
    samples: Sequence[np.ndarray],
    *,
    labels: Sequence[str],
    kind: str = "hist",
    bins: int = 50,
    xlabel: str | None = None,
    clip_quantile: float = 0.995,
    ax=None,
):
    """Overlay the distributions of several groups' samples.

    Args:
        samples: one 1-D array per group (NaNs ignored).
        labels: one name per group (colours from :func:`~.style.group_colours`).
        kind: ``"hist"`` (step histograms of densities on shared bins) or ``"ecdf"``.
        clip_quantile: histogram range up to this pooled quantile (and from 1 - it), so that a few
            outliers do not squash the plot; the ECDF always shows everything.

    Returns:
        ``(fig, ax)``.
    """
    if len(samples) != len(labels) or not samples:
        raise ValueError(
            f"plot_distributions: need one label per sample array, got {len(samples)} arrays and "
            f"{len(labels)} labels"
        )
    if kind not in ("hist", "ecdf"):
        raise ValueError(f"plot_distributions: kind must be 'hist' or 'ecdf', got {kind!r}")
    data = [_clean(s) for s in samples]
    if any(d.size == 0 for d in data):
        raise ValueError("plot_distributions: every group needs at least one finite sample")
    colours = group_colours(labels)
    fig, ax = new_axes(ax)
    if kind == "hist":
        pooled = np.concatenate(data)
        lo, hi = np.quantile(pooled, [1 - clip_quantile, clip_quantile])
        if not hi > lo:
            lo, hi = pooled.min() - 0.5, pooled.max() + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        for d, lab in zip(data, labels, strict=True):
            ax.hist(d, bins=edges, density=True, histtype="step", lw=1.2, color=colours[lab], label=lab)
            ax.hist(d, bins=edges, density=True, histtype="stepfilled", alpha=0.15, color=colours[lab])
        ax.set_ylabel("density")
    else:
        for d, lab in zip(data, labels, strict=True):
            x = np.sort(d)
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", lw=1.2, color=colours[lab], label=lab)
        ax.set_ylabel("cumulative fraction")
        ax.set_ylim(0, 1.02)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.legend()
    return fig, ax


def plot_metric_comparison(metric, *, labels: Sequence[str] | None = None, kind: str = "hist", ax=None):
    """One metric of a :class:`~neuroethology.analysis.ComparisonReport` (``report["speed"]``): the two
    groups' distributions overlaid, titled with the KS distance and the permutation p-value. Returns
    ``(fig, ax)``."""
    if getattr(metric, "kind", None) not in ("distribution", "scalar"):
        raise ValueError(
            "plot_metric_comparison: expected a distribution or scalar MetricComparison "
            "(plot occupancy maps with plot_occupancy)"
        )
    labels = list(labels) if labels is not None else [g.label for g in metric.groups]
    fig, ax = plot_distributions(
        list(metric.samples),
        labels=labels,
        kind=kind,
        xlabel=metric.label if metric.units == "1" else f"{metric.label} ({metric.units})",
        ax=ax,
        bins=50 if metric.kind == "distribution" else 15,
    )
    p = metric.permutation_pvalue
    ax.set_title(
        f"KS {metric.ks_statistic:.3f}, permutation p {p:.3f}"
        if p >= 0.001
        else f"KS {metric.ks_statistic:.3f}, permutation p {p:.1e}"
    )
    return fig, ax


def plot_metric_table(report, *, ax=None, max_rows: int | None = None):
    """The comparison as a table figure: each metric's group means with intervals, KS / W1 / JSD and the
    permutation p-value (p < 0.05 shaded). Returns ``(fig, ax)``."""
    metrics = list(report.metrics)[:max_rows]
    if not metrics:
        raise ValueError("plot_metric_table: the report has no compared metrics")
    a, b = report.labels

    def f(v):
        return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"

    def ci(v, c):
        return f(v) if not all(np.isfinite(c)) else f"{f(v)} [{f(c[0])}, {f(c[1])}]"

    rows = []
    for m in metrics:
        p = m.permutation_pvalue
        rows.append(
            [
                f"{m.label} ({m.units})",
                ci(m.groups[0].mean, m.groups[0].ci),
                ci(m.groups[1].mean, m.groups[1].ci),
                f(m.ks_statistic if m.kind != "map" else m.jensen_shannon),
                f(m.wasserstein),
                "-" if not np.isfinite(p) else (f"{p:.3f}" if p >= 0.001 else f"{p:.0e}"),
            ]
        )
    header = ["metric", f"{a} mean [CI]", f"{b} mean [CI]", "KS / JSD", "W1", "perm. p"]
    fig, ax = new_axes(ax, figsize=(7.0, 0.25 * (len(rows) + 2)))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=header, loc="center", cellLoc="left", colLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.auto_set_column_width(list(range(len(header))))
    for (r, c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_text_props(weight="bold")
        elif c == len(header) - 1:
            p = metrics[r - 1].permutation_pvalue
            if np.isfinite(p) and p < 0.05:
                cell.set_facecolor(PALETTE["reference"] + "66")
    ax.set_title(f"{a} vs {b} (resampling: {report.resampling.split(' (')[0]})")
    return fig, ax
