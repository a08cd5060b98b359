"""What :func:`~neuroethology.analysis.compare_groups` returns: per metric, both groups' summaries, their
distances and tests (:class:`MetricComparison`), gathered in a :class:`ComparisonReport` that writes
itself as JSON (``to_dict``, ``to_json``) and as a Markdown table (``to_markdown``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["GroupSummary", "MetricComparison", "ComparisonReport"]


@dataclass
class GroupSummary:
    """One group's side of a metric: ``mean`` with its bootstrap interval ``ci`` (NaN with fewer than two
    resampling units), ``median``, ``n`` samples or values, ``n_units`` resampling units."""

    label: str
    n: int
    n_units: int
    mean: float
    ci: tuple[float, float]
    median: float


@dataclass
class MetricComparison:
    """Both groups' distributions of one metric, their distances and tests (see the module docstring).
    ``samples`` (pooled values of each group, or the two occupancy probability maps) is kept for figures
    and left out of :meth:`ComparisonReport.to_dict`."""

    name: str
    label: str
    units: str
    kind: str
    groups: tuple[GroupSummary, GroupSummary]
    difference: float  # mean of the first group - mean of the second
    difference_ci: tuple[float, float]
    ks_statistic: float | None
    ks_pvalue: float | None  # asymptotic, assumes independent samples
    wasserstein: float | None
    jensen_shannon: float | None  # maps only
    permutation_statistic: str
    permutation_value: float
    permutation_pvalue: float
    n_permutations: int
    samples: tuple[Any, Any] = field(default=(None, None), repr=False, compare=False)


@dataclass
class ComparisonReport:
    """Everything :func:`compare_groups` measured; ``to_dict()`` for JSON, ``to_markdown()`` for people."""

    labels: tuple[str, str]
    units: dict[str, list[dict[str, Any]]]
    resampling: str
    block_duration: float | None
    confidence: float
    n_bootstrap: int
    n_permutations: int
    seed: int
    settings: dict[str, Any]
    metrics: list[MetricComparison]
    skipped: dict[str, str]
    step_length_models: dict[str, Any]
    occupancy: dict[str, xr.DataArray] = field(default_factory=dict, repr=False, compare=False)
    notes: list[str] = field(default_factory=list)  # what was left out of the comparison, and why

    def __getitem__(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(
            f"no metric {name!r} in this report (compared: {[m.name for m in self.metrics]}; "
            f"skipped: {sorted(self.skipped)})"
        )

    @property
    def per_trial(self) -> bool:
        """Whether the groups were compared trial by trial (their units are subjects' trials)."""
        return any("n_trials" in u for us in self.units.values() for u in us)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes ``None``)."""
        metrics = []
        for m in self.metrics:
            d = asdict(m)
            d.pop("samples")
            d["groups"] = {g.label: {k: v for k, v in asdict(g).items() if k != "label"} for g in m.groups}
            metrics.append(d)
        out = {
            "labels": list(self.labels),
            "units": self.units,
            "resampling": self.resampling,
            "block_duration": self.block_duration,
            "confidence": self.confidence,
            "n_bootstrap": self.n_bootstrap,
            "n_permutations": self.n_permutations,
            "seed": self.seed,
            "settings": self.settings,
            "metrics": metrics,
            "skipped": self.skipped,
            "step_length_models": self.step_length_models,
            "notes": self.notes,
        }
        return _jsonable(out)

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_markdown(self) -> str:
        a, b = self.labels
        pct = f"{self.confidence * 100:g}%"
        lines = [
            f"# {a} vs {b}",
            "",
            *(_unit_line(lab, us) for lab, us in self.units.items()),
            f"- resampling unit for intervals and permutation tests: {self.resampling}",
            f"- {self.n_bootstrap} bootstrap resamples ({pct} percentile intervals), {self.n_permutations} "
            f"permutations, seed {self.seed}",
            "",
            f"| metric | units | {a} mean [{pct} CI] | {b} mean [{pct} CI] | difference [{pct} CI] | KS | "
            "W1 | JSD | permutation p |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for m in self.metrics:
            ga, gb = m.groups
            lines.append(
                f"| {m.label} | {m.units} | {_fmt_ci(ga.mean, ga.ci)} | {_fmt_ci(gb.mean, gb.ci)} | "
                f"{_fmt_ci(m.difference, m.difference_ci)} | {_fmt(m.ks_statistic)} | "
                f"{_fmt(m.wasserstein)} | "
                f"{_fmt(m.jensen_shannon)} | {_fmt_p(m.permutation_pvalue)} |"
            )
        lines += [
            "",
            "KS: two-sample Kolmogorov-Smirnov statistic of the pooled samples; W1: Wasserstein-1 distance "
            "(metric units); JSD: Jensen-Shannon divergence of the occupancy maps (base 2). Permutation p: "
            "resampling units shuffled between the groups (statistic: KS for distributions, |difference of "
            "means| for per-unit values, JSD for maps); it respects autocorrelation, unlike the asymptotic "
            "KS p-value in report.json.",
        ]
        if self.step_length_models:
            lines += [
                "",
                "## Step-length tails (Clauset, Shalizi & Newman 2009)",
                "",
                "| group | xmin (m) | alpha | n tail | vs exponential | vs lognormal |",
                "|---|---|---|---|---|---|",
            ]
            for lab, tc in self.step_length_models.items():
                if isinstance(tc, str):
                    lines.append(f"| {lab} | {tc} | | | | |")
                    continue
                pl = tc["power_law"]
                ve, vl = tc["vs_exponential"], tc["vs_lognormal"]
                lines.append(
                    f"| {lab} | {_fmt(pl['xmin'])} | {_fmt(pl['alpha'])} | {pl['n_tail']} | "
                    f"{ve['favoured']} (R={_fmt(ve['R'])}, p={_fmt_p(ve['p'])}) | "
                    f"{vl['favoured']} (R={_fmt(vl['R'])}, p={_fmt_p(vl['p'])}) |"
                )
        if self.skipped:
            lines += ["", "## Not compared", ""] + [f"- {k}: {v}" for k, v in self.skipped.items()]
        if self.notes:
            lines += ["", "## Left out", ""] + [f"- {n}" for n in self.notes]
        lines += ["", "## Settings", ""] + [f"- {k}: {_fmt_setting(v)}" for k, v in self.settings.items()]
        return "\n".join(lines) + "\n"


def _unit_line(label: str, units: list[dict[str, Any]]) -> str:
    """``- **rat**: 1 unit(s), 600.0 s tracked; body point ...``, or the trials of trial-by-trial units."""
    if units and "n_trials" in units[0]:
        n, omitted = sum(u["n_trials"] for u in units), sum(u["n_omissions"] for u in units)
        return f"- **{label}**: {len(units)} subject(s), {n} trials ({omitted} omissions)"
    tracked = sum(u["duration"] for u in units)
    return f"- **{label}**: {len(units)} unit(s), {tracked:.1f} s tracked; body point {_body_points(units)}"


def _body_points(units: list[dict[str, Any]]) -> str:
    """``centroid (kept 65% of samples)``, or each different body point with its units' kept share."""
    points: dict[str, list[float]] = {}
    for u in units:
        points.setdefault(str(u.get("body_point", "?")), []).append(float(u.get("fraction_kept", np.nan)))
    return "; ".join(
        f"{name} (kept {100 * min(kept):.0f}%{'-' + format(100 * max(kept), '.0f') + '%' if len(kept) > 1 and max(kept) - min(kept) > 0.005 else ''} of samples)"
        for name, kept in points.items()
    )


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.3g}"


def _fmt_p(p) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _fmt_ci(v, ci) -> str:
    if not all(math.isfinite(c) for c in ci):
        return _fmt(v)
    return f"{_fmt(v)} [{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _fmt_setting(v) -> str:
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_fmt(float(x)) for x in v) + ")"
    if isinstance(v, float):
        return _fmt(v)
    return str(v)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x
