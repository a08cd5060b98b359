"""One consistent figure style for every plot of the package."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)  # figures are written to files; no display is needed
import matplotlib.pyplot as plt  # noqa: E402

__all__ = [
    "apply_style",
    "save_figure",
    "PALETTE",
    "new_axes",
    "new_figure",
    "group_colours",
    "FULL_WIDTH",
    "HALF_WIDTH",
]

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


# Figure widths, inches: one column and two columns of a typical journal page (85 and 178 mm).
HALF_WIDTH = 3.35
FULL_WIDTH = 7.0


def group_colours(labels) -> dict[str, str]:
    """One colour per group label, the same in every figure: "animal"/"real"-like labels take the animal
    colour, "agent"/"sim"-like the agent colour, others the remaining palette entries in order."""
    animal = {"real", "animal", "rat", "mouse", "fly", "recorded", "data"}
    agent = {"sim", "agent", "model", "simulated", "gru"}
    spare = iter([PALETTE["baseline"], PALETTE["reference"], PALETTE["other"], PALETTE["grey"]])
    out = {}
    for lab in labels:
        key = str(lab).lower()
        if key in animal and PALETTE["animal"] not in out.values():
            out[lab] = PALETTE["animal"]
        elif key in agent and PALETTE["agent"] not in out.values():
            out[lab] = PALETTE["agent"]
        else:
            out[lab] = next(spare, PALETTE["grey"])
    # Two unrecognised labels still get the agent / animal pair.
    if len(out) == 2 and PALETTE["agent"] not in out.values() and PALETTE["animal"] not in out.values():
        a, b = list(out)
        out = {a: PALETTE["agent"], b: PALETTE["animal"]}
    return out


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


def new_figure(
    nrows: int = 1, ncols: int = 1, *, width: float = FULL_WIDTH, height: float | None = None, **kw
):
    """``(fig, axes)``: a styled figure with a grid of axes (``squeeze=False``: ``axes[i, j]``)."""
    apply_style()
    height = height if height is not None else width / ncols * nrows * 0.8
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kw)


def save_figure(
    fig, path: str | Path, formats: tuple[str, ...] = ("pdf", "png"), *, close: bool = True
) -> list[Path]:
    """Write ``fig`` as vector PDF and PNG (``path`` without or with any suffix); returns the files.
    The figure is closed afterwards (figures are written, not shown), unless ``close=False``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        fig.savefig(target)
        written.append(target)
    if close:
        plt.close(fig)
    return written
