"""One consistent figure style for every plot of the package."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)  # figures are written to files; no display is needed
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["apply_style", "save_figure", "PALETTE", "new_axes"]

# Paul Tol's colour-blind-safe "bright" scheme.
PALETTE = {
    "animal": "#4477AA",
    "agent": "#EE6677",
    "baseline": "#228833",
    "reference": "#CCBB44",
    "other": "#66CCEE",
    "grey": "#BBBBBB",
}

STYLE = {
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.0,
    "pdf.fonttype": 42,  # editable text in Illustrator/Inkscape
    "ps.fonttype": 42,
    "image.cmap": "viridis",
}


def apply_style() -> None:
    """Set the package's matplotlib style (idempotent)."""
    plt.rcParams.update(STYLE)


def new_axes(ax=None, figsize=(3.0, 3.0)):
    """``(fig, ax)``: the given axes and its figure, or a new styled figure."""
    if ax is not None:
        return ax.figure, ax
    apply_style()
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def save_figure(fig, path: str | Path, formats: tuple[str, ...] = ("pdf", "png")) -> list[Path]:
    """Write ``fig`` as vector PDF and PNG (``path`` without or with any suffix); returns the files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        fig.savefig(target)
        written.append(target)
    return written
