"""Two groups of Recordings (e.g. agents and animals) held against each other, metric by metric.

For every metric that both groups support, :func:`compare_groups` puts the two distributions side by side
and reports

* distances on the pooled samples: the two-sample Kolmogorov-Smirnov statistic (with scipy's asymptotic
  p-value, which assumes independent samples and is far too small for autocorrelated time series) and
  the Wasserstein-1 distance; the Jensen-Shannon divergence (base 2, in [0, 1]) between occupancy maps;
* each group's mean with a percentile-bootstrap confidence interval, and the difference of the means with
  its interval, resampling the *resampling units*;
* a permutation test that shuffles the resampling units between the groups (statistic: the KS distance
  for distributions, the absolute difference of means for per-unit scalars, the JS divergence for
  maps). Shuffling whole units keeps each unit's autocorrelation intact, so this p-value stays valid for
  time series where the KS p-value does not.

Trial by trial: when either group holds a trial dataset (an animal's trial table read by
:func:`~neuroethology.data.load_trials`), every unit of both groups is compared as trials: Recordings of
choice tasks (a T-maze agent's sessions) become trial datasets with
:func:`~neuroethology.analysis.compute_trials`, each subject is a unit, the metrics are the per-trial ones
(accuracy, reaction time, win-stay, lose-shift) and time blocks are blocks of consecutive trials.

Resampling units are the individuals (one per individual of each recording: sessions and animals) when
each group has at least ``min_units`` of them; otherwise, e.g. one rat against one simulation, every
recording is cut into consecutive time blocks of one duration (default: a tenth of the shorter group's
total, so that each group has at least ten), and the report says so. Blocks should be long against the
behaviour's autocorrelation time.

The metric table and the settings both groups share are in :mod:`.metric_table`, the permutation and
bootstrap machinery in :mod:`.resampling`, the report and its JSON and Markdown in
:mod:`.comparison_report`; this module cuts the groups into resampling units and compares them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, NamedTuple

import numpy as np
import xarray as xr
from scipy import stats

from neuroethology.data.trials import as_trials, is_trials

from ..problems import ProblemsError
from ._recording import arena_of, as_recording, select_track, split_individuals
from .choice import compute_trials
from .comparison_report import ComparisonReport, GroupSummary, MetricComparison
from .metric_table import (
    DEFAULT_METRICS,
    METRICS,
    TRIAL_METRICS,
    CompareSettings,
    Metric,
    default_settings,
    trial_settings,
)
from .occupancy import compute_occupancy
from .resampling import (
    bootstrap_means,
    jensen_shannon,
    ks_binned,
    mean_difference,
    percentile_ci,
    permutation_test,
)
from .steps import compare_tail_models

__all__ = [
    "compare_groups",
    "ComparisonReport",
    "MetricComparison",
    "GroupSummary",
    "CompareSettings",
    "METRICS",
]


class _Plan(NamedTuple):
    """How every metric is compared: both groups' units, how they are cut into resampling units, and the
    statistics' settings. ``layout``: per group, per unit, ``(unit index, start time s, number of
    blocks)``; ``block``: the block duration (s), or ``None`` when each unit is one resampling unit."""

    labels: tuple[str, str]
    groups: list[list[xr.Dataset]]
    info: list[list[dict[str, Any]]]
    layout: list[list[tuple[int, float, int]]]
    block: float | None
    settings: CompareSettings
    n_bootstrap: int
    n_permutations: int
    confidence: float
    rng: np.random.Generator


def compare_groups(
    sim: xr.Dataset | Sequence[xr.Dataset],
    real: xr.Dataset | Sequence[xr.Dataset],
    *,
    metrics: Sequence[str] | None = None,
    labels: tuple[str, str] = ("sim", "real"),
    resample_by: str = "auto",
    block_duration: float | None = None,
    min_units: int = 5,
    n_bootstrap: int = 2000,
    n_permutations: int = 999,
    confidence: float = 0.95,
    seed: int = 0,
    settings: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ComparisonReport:
    """Compare two groups of Recordings metric by metric (see the module docstring for the statistics).

    Args:
        sim, real: a Recording or a sequence of them; every individual of every recording is one unit.
            The second group (``real``) is the reference from which shared settings are derived. Either
            may hold trial datasets (every subject one unit): then both groups are compared trial by trial.
        metrics: names from :data:`METRICS` (default: all; trial by trial, the per-trial ones); those a
            group cannot support (no arena, no task variables) are listed in ``report.skipped`` with the
            reason.
        labels: the groups' names in the report and figures.
        resample_by: ``"unit"`` (individuals / sessions), ``"block"`` (time blocks) or ``"auto"`` (units
            when each group has at least ``min_units``, else blocks).
        block_duration: seconds; default a tenth of the shorter group's total tracked duration.
        n_bootstrap, n_permutations, confidence, seed: resampling settings.
        settings: overrides of :class:`CompareSettings` fields (e.g. ``{"bin_size": 0.04}``).
        progress: called with a short message before each metric.
    """
    _check_arguments(labels, resample_by, confidence, n_bootstrap, n_permutations)
    per_trial = any(is_trials(r) for g, lab in zip((sim, real), labels, strict=True) for r in _items(g, lab))
    names = _metric_names(metrics, per_trial)
    notes: list[str] = []
    groups, info = [], []
    for group, label in zip((sim, real), labels, strict=True):
        units = _as_units(group, label, per_trial)
        kept = _drop_untracked(units, [_unit_info(u) for u in units], label, notes)
        groups.append([u for u, _ in kept])
        info.append([i for _, i in kept])
    if per_trial:
        s = trial_settings(dict(settings or {}))
    else:
        s = default_settings(groups[1], groups[0] + groups[1], dict(settings or {}))
    rng = np.random.default_rng(seed)
    block, resampling = _resampling_units(info, resample_by, min_units, block_duration, per_trial)
    plan = _Plan(
        labels=labels,
        groups=groups,
        info=info,
        layout=_layout(groups, info, block),
        block=block,
        settings=s,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        confidence=confidence,
        rng=rng,
    )
    report_metrics, skipped, occupancy_maps = _compare_metrics(names, plan, progress)
    return ComparisonReport(
        labels=tuple(labels),
        units=dict(zip(labels, info, strict=True)),
        resampling=resampling,
        block_duration=block,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        seed=seed,
        settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()},
        metrics=report_metrics,
        skipped=skipped,
        step_length_models=_step_length_tails(report_metrics, labels),
        occupancy=occupancy_maps,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------------------
# Stages of compare_groups
# ---------------------------------------------------------------------------------------------------------


def _check_arguments(labels, resample_by: str, confidence: float, n_bootstrap: int, n_permutations: int):
    if len(labels) != 2 or labels[0] == labels[1]:
        raise ValueError(f"compare_groups: labels must be two different names, got {labels!r}")
    if resample_by not in ("auto", "unit", "block"):
        raise ValueError(
            f"compare_groups: resample_by must be 'auto', 'unit' or 'block', got {resample_by!r}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"compare_groups: confidence must be in (0, 1), got {confidence}")
    if n_bootstrap < 1 or n_permutations < 1:
        raise ValueError("compare_groups: n_bootstrap and n_permutations must be >= 1")


def _metric_names(metrics: Sequence[str] | None, per_trial: bool) -> list[str]:
    names = list((TRIAL_METRICS if per_trial else DEFAULT_METRICS) if metrics is None else metrics)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"compare_groups: unknown metrics {unknown}; known: {list(METRICS)}")
    return names


def _items(group: Any, label: str) -> list[Any]:
    items = [group] if isinstance(group, xr.Dataset) else list(group) if isinstance(group, Sequence) else None
    if not items:
        raise ValueError(
            f"compare_groups: group {label!r} must be a Recording (or trial dataset) or a non-empty sequence "
            f"of them, got {type(group).__name__}"
        )
    return items


def _as_units(group: Any, label: str, per_trial: bool) -> list[xr.Dataset]:
    """Every individual of every Recording, or, trial by trial, every subject's trials."""
    units = []
    problems = []
    for i, r in enumerate(_items(group, label)):
        caller = f"compare_groups ({label} #{i})"
        try:
            if not per_trial:
                units += split_individuals(as_recording(r, caller=caller))
            elif is_trials(r):
                trials = as_trials(r, caller=caller)
                subjects = trials["subject"].values
                units += [trials.isel(trial=subjects == s) for s in dict.fromkeys(subjects.tolist())]
            else:
                units += [compute_trials(u) for u in split_individuals(as_recording(r, caller=caller))]
        except ValueError as e:
            problems.append(str(e))
    if problems:
        raise ProblemsError(f"compare_groups ({label})", problems, what="cannot be compared")
    return units


def _drop_untracked(
    units: list[xr.Dataset], info: list[dict[str, Any]], label: str, notes: list[str]
) -> list[tuple[xr.Dataset, dict[str, Any]]]:
    """The units (with their :func:`_unit_info`) that have at least one tracked sample; the others (empty
    identity fragments of a tracker) are dropped with a note."""
    kept, empty = [], []
    for u, i in zip(units, info, strict=True):
        if i["n_samples"] > 0:
            kept.append((u, i))
        else:
            empty.append(u)
    if empty:
        names = ", ".join(str(u["individual"].values[0]) for u in empty[:10])
        notes.append(
            f"{label}: {len(empty)} individual(s) never tracked (empty identity fragments) were left out: "
            f"{names}{', ...' if len(empty) > 10 else ''}"
        )
    if not kept:
        raise ValueError(f"compare_groups: group {label!r} has no tracked individual")
    return kept


def _unit_info(u: xr.Dataset) -> dict[str, Any]:
    """A unit as the report lists it: its tracked time (the time its tracked samples stand for, per animal;
    not the recording's span) and the body point measured, with the share of samples it kept; a subject's
    trials: their number (``span``, what blocks cut, counts trials)."""
    if is_trials(u):
        n = int(u.sizes["trial"])
        return {
            "source": str(u.attrs.get("source_file", "")) or "<in-memory>",
            "individual": str(u["subject"].values[0]) if n else "",
            "n_trials": n,
            "n_omissions": int((u["choice"].values < 0).sum()),
            "span": float(n),
            "n_samples": n,
        }
    track = select_track(u, caller="compare_groups")
    tracked = track.run >= 0
    return {
        "source": str(u.attrs.get("source_file", "")) or "<in-memory>",
        "individual": track.individual,
        "duration": float(track.sample_durations[tracked].sum()),
        "span": float(track.time[-1] - track.time[0] + 1.0 / track.fps),  # clock time: what blocks cut
        "n_samples": int(tracked.sum()),
        "body_point": track.keypoint,
        "fraction_kept": float(tracked.mean()) if tracked.size else 0.0,
    }


def _blocks(times: np.ndarray, t0: float, block: float | None, n_blocks: int) -> np.ndarray:
    if block is None:
        return np.zeros(times.shape, int)
    return np.clip(np.floor((times - t0) / block + 1e-9).astype(int), 0, n_blocks - 1)


def _resampling_units(
    info: list[list[dict[str, Any]]],
    resample_by: str,
    min_units: int,
    block_duration: float | None,
    per_trial: bool,
) -> tuple[float | None, str]:
    """The block duration (``None``: every unit is one resampling unit) and the report's description."""
    n_units = [len(g) for g in info]
    if resample_by == "unit" or (resample_by == "auto" and min(n_units) >= min_units):
        return None, "individual / session (each individual of each recording)"
    totals = [sum(i["span"] for i in g) for g in info]
    block = float(block_duration) if block_duration is not None else min(totals) / 10
    if not block > 0:
        raise ValueError(f"compare_groups: block_duration must be > 0 s, got {block_duration}")
    if per_trial:
        return (
            block,
            f"blocks of {block:.4g} consecutive trials (too few subjects per group for unit resampling)",
        )
    return block, f"time blocks of {block:.4g} s (too few individuals per group for unit resampling)"


def _layout(groups, info, block: float | None) -> list[list[tuple[int, float, int]]]:
    """Per group, per unit: ``(unit index, start time s, number of blocks)``."""
    layout = []
    for g, gi in zip(groups, info, strict=True):
        rows = []
        for k, (u, i) in enumerate(zip(g, gi, strict=True)):
            nb = 1 if block is None else max(1, int(math.floor(i["span"] / block + 1e-9)))
            rows.append((k, 0.0 if is_trials(u) else float(u["time"].values[0]), nb))
        layout.append(rows)
    return layout


def _compare_metrics(names: list[str], plan: _Plan, progress: Callable[[str], None] | None):
    """Each metric both groups support, in order (they draw on one random stream): the comparisons, the
    skipped metrics with their reason, and each group's occupancy map."""
    report_metrics: list[MetricComparison] = []
    skipped: dict[str, str] = {}
    occupancy_maps: dict[str, xr.DataArray] = {}
    for name in names:
        metric = METRICS[name]
        reason = _unsupported(metric, plan)
        if reason:
            skipped[name] = reason
            continue
        if progress:
            progress(name)
        if metric.kind == "distribution":
            result = _compare_distribution(metric, plan)
        elif metric.kind == "scalar":
            result = _compare_scalar(metric, plan)
        else:
            result, maps = _compare_occupancy(metric, plan)
            occupancy_maps.update(maps)
        if isinstance(result, str):
            skipped[name] = result
        else:
            report_metrics.append(result)
    return report_metrics, skipped, occupancy_maps


def _unsupported(metric: Metric, plan: _Plan) -> str | None:
    """Why the first unit that cannot support the metric cannot, or ``None``."""
    for lab, g, gi in zip(plan.labels, plan.groups, plan.info, strict=True):
        for u, i in zip(g, gi, strict=True):
            if is_trials(u) and not metric.per_trial:
                return "skipped: compared trial by trial (a trial dataset has no track)"
            reason = metric.requires(u, plan.settings)
            if reason:
                return f"{lab} {i['source']}:{i['individual']}: {reason}"
    return None


def _step_length_tails(report_metrics: list[MetricComparison], labels) -> dict[str, Any]:
    """Each group's step-length tail models (Clauset et al. 2009), when step lengths were compared."""
    names = [m.name for m in report_metrics]
    if "step_length" not in names:
        return {}
    tails: dict[str, Any] = {}
    for lab, sample in zip(labels, report_metrics[names.index("step_length")].samples, strict=True):
        try:
            tails[lab] = compare_tail_models(sample[sample > 0]).to_dict()
        except ValueError as e:
            tails[lab] = f"not fitted: {e}"
    return tails


# ---------------------------------------------------------------------------------------------------------
# One metric, by kind
# ---------------------------------------------------------------------------------------------------------


def _collect_samples(metric: Metric, plan: _Plan) -> list[list[np.ndarray]]:
    """Per group: list over resampling units of value arrays (in unit/block order)."""
    out = []
    for g, rows in zip(plan.groups, plan.layout, strict=True):
        parts = []
        for k, t0, nb in rows:
            values, times = metric.compute(g[k], plan.settings)
            values, times = np.asarray(values, float), np.asarray(times, float)
            b = _blocks(times, t0, plan.block, nb)
            parts += [values[b == j] for j in range(nb)]
        out.append(parts)
    return out


def _summaries(plan: _Plan, V, pooled):
    """Each group's summary (bootstrap over the rows ``(sum, count)`` of ``V``) and the bootstrap
    distribution of the difference of the means."""
    summaries, boots = [], []
    for lab, v, x in zip(plan.labels, V, pooled, strict=True):
        boot = bootstrap_means(v, plan.n_bootstrap, plan.rng) if v.shape[0] >= 2 else np.full(1, np.nan)
        boots.append(boot)
        summaries.append(
            GroupSummary(
                label=lab,
                n=int(x.size),
                n_units=int(v.shape[0]),
                mean=float(x.mean()) if x.size else np.nan,
                ci=percentile_ci(boot, plan.confidence) if v.shape[0] >= 2 else (np.nan, np.nan),
                median=float(np.median(x)) if x.size else np.nan,
            )
        )
    diff_boot = boots[0] - boots[1] if boots[0].size == boots[1].size else np.full(1, np.nan)
    return tuple(summaries), diff_boot


def _sample_comparison(metric: Metric, plan: _Plan, samples, V, test, permutation_statistic: str, ks_method):
    """The comparison of two groups' samples (distributions or per-unit values): summaries and the
    difference of means with bootstrap intervals over the rows ``(sum, count)`` of ``V``, KS and
    Wasserstein-1 distances of the pooled samples, and the permutation test of ``test`` on ``(A, B)``."""
    a, b = samples
    summaries, diff_boot = _summaries(plan, V, samples)
    obs, p, n_used = permutation_test(*test, plan.n_permutations, plan.rng)
    ks = stats.ks_2samp(a, b, method=ks_method)
    return MetricComparison(
        name=metric.name,
        label=metric.label,
        units=metric.units,
        kind=metric.kind,
        groups=summaries,
        difference=summaries[0].mean - summaries[1].mean,
        difference_ci=percentile_ci(diff_boot, plan.confidence),
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        wasserstein=float(stats.wasserstein_distance(a, b)),
        jensen_shannon=None,
        permutation_statistic=permutation_statistic,
        permutation_value=obs,
        permutation_pvalue=p,
        n_permutations=n_used,
        samples=(a, b),
    )


def _compare_distribution(metric: Metric, plan: _Plan) -> MetricComparison | str:
    """Many samples per resampling unit; the permutation test shuffles units' binned histograms."""
    parts = _collect_samples(metric, plan)
    parts = [[p for p in g if p.size] for g in parts]
    pooled = [np.concatenate(g) if g else np.zeros(0) for g in parts]
    empty = [lab for lab, x in zip(plan.labels, pooled, strict=True) if x.size == 0]
    if empty:
        return f"no finite values in {empty}"
    H = _common_histograms(parts, np.concatenate(pooled))
    V = [np.stack([[p.sum(), p.size] for p in g]).astype(float) for g in parts]
    return _sample_comparison(metric, plan, pooled, V, (ks_binned, H[0], H[1]), "KS (binned)", "asymp")


def _common_histograms(parts: list[list[np.ndarray]], both: np.ndarray) -> list[np.ndarray]:
    """Per group, each resampling unit's histogram on bins common to both groups, for the permutation KS:
    one bin per value when the pooled data take at most 256 values (per-trial 0/1 outcomes, counts: a
    quantile grid would merge them into one bin and hide every difference), else bins at 256 quantiles."""
    values = np.unique(both)
    if values.size <= 256:
        index, n_bins = (lambda p: np.searchsorted(values, p)), values.size
    else:
        edges = np.unique(np.quantile(both, np.linspace(0, 1, 257)))
        index, n_bins = (lambda p: np.searchsorted(edges[1:-1], p, side="right")), max(edges.size - 1, 1)
    return [np.stack([np.bincount(index(p), minlength=n_bins) for p in g]).astype(float) for g in parts]


def _compare_scalar(metric: Metric, plan: _Plan) -> MetricComparison | str:
    """One value per resampling unit (a unit, or a time block of one)."""
    values = []
    for g, rows in zip(plan.groups, plan.layout, strict=True):
        vals = []
        for k, t0, nb in rows:
            u = g[k]
            if plan.block is None:
                pieces = [u]
            else:
                t = u["time"].values
                b = _blocks(t, t0, plan.block, nb)
                pieces = [u.isel(time=np.flatnonzero(b == j)) for j in range(nb)]
            for piece in pieces:
                try:
                    vals.append(float(metric.compute(piece, plan.settings)))
                except ValueError:
                    vals.append(np.nan)  # e.g. too short a block for the metric: that block has no value
        v = np.asarray(vals, float)
        values.append(v[np.isfinite(v)])
    empty = [lab for lab, v in zip(plan.labels, values, strict=True) if v.size == 0]
    if empty:
        return f"no finite values in {empty}"
    V = [np.column_stack([v, np.ones_like(v)]) for v in values]
    return _sample_comparison(
        metric, plan, values, V, (mean_difference, V[0], V[1]), "|difference of means|", "auto"
    )


def _compare_occupancy(metric: Metric, plan: _Plan) -> tuple[MetricComparison, dict[str, xr.DataArray]]:
    """Occupancy maps per resampling unit, their Jensen-Shannon divergence and its permutation test; and
    each group's occupancy probability map."""
    s = plan.settings
    x0, x1, y0, y1 = s.extent
    nx = max(1, int(round((x1 - x0) / s.bin_size)))
    ny = max(1, int(round((y1 - y0) / s.bin_size)))
    maps, group_maps, n_samples = [], {}, []
    for lab, g, rows in zip(plan.labels, plan.groups, plan.layout, strict=True):
        per = []
        total = None
        n_samples.append(0)
        for k, t0, nb in rows:
            track = select_track(g[k], caller="compare_groups")
            ok = (
                (track.run >= 0)
                & (track.xy[:, 0] >= x0)
                & (track.xy[:, 0] <= x1)
                & (track.xy[:, 1] >= y0)
                & (track.xy[:, 1] <= y1)
            )
            ix = np.clip(((track.xy[ok, 0] - x0) / (x1 - x0) * nx).astype(int), 0, nx - 1)
            iy = np.clip(((track.xy[ok, 1] - y0) / (y1 - y0) * ny).astype(int), 0, ny - 1)
            cell = iy * nx + ix
            seconds = track.sample_durations[ok]
            n_samples[-1] += int(cell.size)
            b = _blocks(track.time[ok], t0, plan.block, nb)
            for j in range(nb):
                per.append(np.bincount(cell[b == j], weights=seconds[b == j], minlength=nx * ny))
            occ = compute_occupancy(g[k], bin_size=s.bin_size, extent=s.extent, arena=arena_of(g[k]))
            total = occ if total is None else total + occ.values
        maps.append(np.stack(per))
        prob = total / max(float(total.sum()), 1e-300)
        prob.attrs.update(total.attrs, units="fraction of tracked time")
        group_maps[lab] = prob
    obs, p, n_used = permutation_test(jensen_shannon, maps[0], maps[1], plan.n_permutations, plan.rng)
    summaries = tuple(
        GroupSummary(lab, n, m.shape[0], np.nan, (np.nan, np.nan), np.nan)
        for lab, n, m in zip(plan.labels, n_samples, maps, strict=True)
    )
    return MetricComparison(
        name=metric.name,
        label=metric.label,
        units=metric.units,
        kind="map",
        groups=summaries,
        difference=np.nan,
        difference_ci=(np.nan, np.nan),
        ks_statistic=None,
        ks_pvalue=None,
        wasserstein=None,
        jensen_shannon=obs,
        permutation_statistic="Jensen-Shannon divergence",
        permutation_value=obs,
        permutation_pvalue=p,
        n_permutations=n_used,
        samples=(group_maps[plan.labels[0]].values, group_maps[plan.labels[1]].values),
    ), group_maps
