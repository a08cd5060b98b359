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

Resampling units are the individuals (one per individual of each recording: sessions and animals) when
each group has at least ``min_units`` of them; otherwise, e.g. one rat against one simulation, every
recording is cut into consecutive time blocks of one duration (default: a tenth of the shorter group's
total, so that each group has at least ten), and the report says so. Blocks should be long against the
behaviour's autocorrelation time.

Length: the metric table (which metric, on which variable, with which distance) and the group
comparison with its bootstrap and permutation statistics; the metric table is to be split into its own
module (issue 16: ``_build_metrics`` and ``compare_groups`` are over 100 lines).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from ._recording import arena_extent, arena_of, arena_size, as_recording, select_track, split_individuals
from .choice import compute_trials
from .foraging import compute_patch_visits
from .kinematics import compute_acceleration, compute_angular_velocity, compute_speed
from .occupancy import compute_coverage, compute_occupancy, compute_spatial_entropy
from .paths import compute_msd_exponent, compute_sinuosity, compute_straightness, compute_turning_angles
from .plume import CASTING_SURGING, classify_casting_surging, compute_course_direction, compute_source_arrival
from .space import compute_thigmotaxis, compute_wall_distance
from .steps import compare_tail_models, compute_step_lengths
from .water_maze import compute_escape_latency, compute_gallagher_proximity, compute_platform_crossings

__all__ = [
    "compare_groups",
    "ComparisonReport",
    "MetricComparison",
    "GroupSummary",
    "CompareSettings",
    "METRICS",
]


# ---------------------------------------------------------------------------------------------------------
# Settings shared by both groups
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareSettings:
    """Parameters every metric uses for both groups (derived from the reference group when not given).

    Length scale ``L``: the reference arena's smaller side (box) or diameter (circle), else the extent of
    the data. The defaults are package conventions, scaled by ``L`` so that they suit a mouse box and a
    rat box alike; the report records the values used.
    """

    arena: dict | None  # the reference arena (wall distance / thigmotaxis fall back to it)
    extent: tuple[float, float, float, float]  # occupancy grid, m
    bin_size: float  # m, default L / 20
    step_length: (
        float  # m, rediscretisation step for turning angles, sinuosity and step lengths, default L / 50
    )
    max_turn: float  # rad, step-length turn threshold, default pi / 4
    straightness_window: float  # s, default 10 s
    min_speed: float  # m/s, below which the direction of motion is undefined, default L / 50 per second
    wall_distance: float  # m, thigmotaxis zone, default L / 10
    msd_lag_range: tuple[float, float]  # s: (T / 10, T), T the time to cross L / 5 at the median speed


def _default_settings(ref_units: list[xr.Dataset], all_units: list[xr.Dataset], overrides: Mapping[str, Any]):
    arena = next((a for a in map(arena_of, ref_units) if a is not None), None)
    if arena is None:
        arena = next((a for a in map(arena_of, all_units) if a is not None), None)
    if arena is not None:
        extent = arena_extent(arena)
        scale = arena_size(arena)
    else:
        lo = np.full(2, np.inf)
        hi = np.full(2, -np.inf)
        for u in all_units:
            xy = select_track(u, caller="compare_groups").xy
            if np.isfinite(xy).any():
                lo = np.minimum(lo, np.nanmin(xy, axis=0))
                hi = np.maximum(hi, np.nanmax(xy, axis=0))
        if not np.all(np.isfinite([lo, hi])) or np.any(hi <= lo):
            raise ValueError("compare_groups: no tracked positions in the recordings")
        extent = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
        scale = float(min(hi - lo))
    speeds = np.concatenate([compute_speed(u).values for u in ref_units])
    speeds = speeds[np.isfinite(speeds)]
    min_speed = overrides.get("min_speed", scale / 50)
    moving = speeds[speeds > min_speed]
    median = float(np.median(moving)) if moving.size else float(np.median(speeds)) if speeds.size else np.nan
    crossing = (scale / 5) / median if median > 0 else 1.0
    values = dict(
        arena=arena,
        extent=tuple(float(v) for v in extent),
        bin_size=scale / 20,
        step_length=scale / 50,
        max_turn=np.pi / 4,
        straightness_window=10.0,
        min_speed=scale / 50,
        wall_distance=scale / 10,
        msd_lag_range=(crossing / 10, crossing),
    )
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"compare_groups: unknown settings {sorted(unknown)}; known: {sorted(values)}")
    values.update(overrides)
    return CompareSettings(**values)


# ---------------------------------------------------------------------------------------------------------
# Metric registry
# ---------------------------------------------------------------------------------------------------------

Samples = tuple[np.ndarray, np.ndarray]  # values, times (s)


@dataclass(frozen=True)
class Metric:
    """One comparable metric.

    ``kind``: ``"distribution"`` (``compute(rec, settings) -> (values, times)``: many samples per unit,
    e.g. speed per frame or latency per trial), ``"scalar"`` (``compute(rec, settings) -> float``: one
    value per unit or time block) or ``"map"`` (occupancy). ``requires(rec, settings)`` returns why the
    metric cannot be computed on a recording, or ``None``.
    """

    name: str
    label: str
    units: str
    kind: str
    compute: Callable[..., Any] = field(repr=False)
    requires: Callable[..., str | None] = field(repr=False, default=lambda rec, s: None)


def _finite(da: xr.DataArray, time: np.ndarray | None = None) -> Samples:
    v = np.asarray(da.values, float).ravel()
    t = np.asarray(da["time"].values if time is None else time, float).ravel()
    ok = np.isfinite(v)
    return v[ok], t[ok]


def _arena_for(rec, s: CompareSettings):
    return arena_of(rec) or s.arena


def _needs_arena(rec, s):
    return None if _arena_for(rec, s) is not None else "no arena geometry (attrs arena_shape, ...)"


def _needs_attrs(*names):
    def check(rec, s):
        missing = [n for n in names if n not in rec.attrs]
        return f"attrs {missing} missing" if missing else None

    return check


def _needs_vars(*names):
    def check(rec, s):
        missing = [n for n in names if n not in rec.data_vars]
        return f"variables {missing} missing" if missing else None

    return check


def _both(*checks):
    def check(rec, s):
        for c in checks:
            reason = c(rec, s)
            if reason:
                return reason
        return None

    return check


def _per_episode(ds_or_da, name=None) -> Samples:
    da = ds_or_da[name] if name else ds_or_da
    return _finite(da.astype(float), time=np.asarray(da["episode"].values, float))


def _episode_times(rec, per_episode: xr.DataArray) -> Samples:
    """Per-episode values with the start time of each episode (for time blocks)."""
    track = select_track(rec, caller="compare_groups")
    ep = (
        np.asarray(rec["episode"].values).ravel()
        if "episode" in rec.data_vars
        else np.zeros(track.time.size, int)
    )
    starts = {int(e): track.time[np.argmax(ep == e)] for e in np.unique(ep[ep >= 0])}
    v = np.asarray(per_episode.values, float)
    t = np.array([starts[int(e)] for e in per_episode["episode"].values], float)
    ok = np.isfinite(v)
    return v[ok], t[ok]


def _wsls(rec, which: str) -> Samples:
    trials = compute_trials(rec)
    c, won, t = trials["choice"].values, trials["rewarded"].values, trials["time"].values
    pair = (np.diff(trials["trial"].values) == 1) & (c[:-1] >= 0) & (c[1:] >= 0)
    stay = (c[1:] == c[:-1]).astype(float)
    if which == "win_stay":
        use = pair & won[:-1]
        return stay[use], t[1:][use]
    use = pair & ~won[:-1]
    return 1.0 - stay[use], t[1:][use]


def _plume_fraction(rec, s, code: int) -> Samples:
    lab = classify_casting_surging(
        rec, min_speed=s.min_speed, wind_direction=None if "wind_direction" in rec.data_vars else 0.0
    )
    moving = lab.values != CASTING_SURGING["stopped"]
    tracked = np.isfinite(compute_speed(rec).values)
    use = moving & tracked
    return (lab.values[use] == code).astype(float), lab["time"].values[use]


def _build_metrics() -> dict[str, Metric]:
    m = [
        Metric("speed", "speed", "m/s", "distribution", lambda r, s: _finite(compute_speed(r))),
        Metric(
            "acceleration", "acceleration magnitude", "m/s^2", "distribution", lambda r, s: _acceleration(r)
        ),
        Metric(
            "angular_velocity",
            "angular velocity (moving)",
            "rad/s",
            "distribution",
            lambda r, s: _finite(compute_angular_velocity(r, min_speed=s.min_speed)),
        ),
        Metric(
            "turning_angle",
            "turning angle",
            "rad",
            "distribution",
            lambda r, s: _finite(compute_turning_angles(r, step_length=s.step_length)),
        ),
        Metric(
            "wall_distance",
            "distance to the nearest wall",
            "m",
            "distribution",
            lambda r, s: _finite(compute_wall_distance(r, arena=_arena_for(r, s))),
            _needs_arena,
        ),
        Metric(
            "straightness", "straightness (per window)", "1", "distribution", lambda r, s: _straightness(r, s)
        ),
        Metric(
            "step_length",
            "step length (between turns)",
            "m",
            "distribution",
            lambda r, s: _finite(compute_step_lengths(r, resolution=s.step_length, max_turn=s.max_turn)),
        ),
        Metric(
            "thigmotaxis",
            "time near walls",
            "1",
            "scalar",
            lambda r, s: float(compute_thigmotaxis(r, distance=s.wall_distance, arena=_arena_for(r, s))),
            _needs_arena,
        ),
        Metric(
            "coverage",
            "arena coverage",
            "1",
            "scalar",
            lambda r, s: float(
                compute_coverage(r, bin_size=s.bin_size, extent=s.extent, arena=_arena_for(r, s))
            ),
        ),
        Metric(
            "spatial_entropy",
            "spatial entropy (normalised)",
            "1",
            "scalar",
            lambda r, s: float(
                compute_spatial_entropy(r, bin_size=s.bin_size, extent=s.extent, arena=_arena_for(r, s))
            ),
        ),
        Metric(
            "msd_exponent",
            "MSD exponent",
            "1",
            "scalar",
            lambda r, s: compute_msd_exponent(r, lag_range=s.msd_lag_range, n_lags=12).exponent,
        ),
        Metric(
            "sinuosity",
            "sinuosity (Benhamou 2004)",
            "m^-1/2",
            "scalar",
            lambda r, s: float(compute_sinuosity(r, step_length=s.step_length)),
        ),
        Metric("occupancy", "occupancy map", "fraction of time", "map", lambda r, s: None),
        # Task metrics: computed when both groups carry the task's attrs / variables.
        Metric(
            "escape_latency",
            "escape latency (water maze)",
            "s",
            "distribution",
            lambda r, s: _episode_times(r, compute_escape_latency(r)),
            _needs_attrs("platform_x", "platform_y", "platform_radius"),
        ),
        Metric(
            "gallagher_proximity",
            "mean proximity to the platform",
            "m",
            "distribution",
            lambda r, s: _episode_times(r, compute_gallagher_proximity(r)["mean_proximity"]),
            _needs_attrs("platform_x", "platform_y", "platform_radius"),
        ),
        Metric(
            "platform_crossings",
            "platform crossings per trial",
            "1",
            "distribution",
            lambda r, s: _episode_times(r, compute_platform_crossings(r)),
            _needs_attrs("platform_x", "platform_y", "platform_radius"),
        ),
        Metric(
            "plume_success",
            "source reached (plume)",
            "1",
            "distribution",
            lambda r, s: _episode_times(r, compute_source_arrival(r)["success"].astype(float)),
            _needs_attrs("source_x", "source_y", "success_radius"),
        ),
        Metric(
            "time_to_source",
            "time to source (plume)",
            "s",
            "distribution",
            lambda r, s: _episode_times(r, compute_source_arrival(r)["time_to_source"]),
            _needs_attrs("source_x", "source_y", "success_radius"),
        ),
        Metric(
            "course_direction",
            "course relative to upwind",
            "rad",
            "distribution",
            lambda r, s: _finite(compute_course_direction(r, min_speed=s.min_speed)),
            _needs_vars("wind_direction"),
        ),
        Metric(
            "surging",
            "fraction of moving time surging",
            "1",
            "distribution",
            lambda r, s: _plume_fraction(r, s, CASTING_SURGING["surging"]),
            _needs_vars("wind_direction"),
        ),
        Metric(
            "casting",
            "fraction of moving time casting",
            "1",
            "distribution",
            lambda r, s: _plume_fraction(r, s, CASTING_SURGING["casting"]),
            _needs_vars("wind_direction"),
        ),
        Metric(
            "residence_time",
            "patch residence time",
            "s",
            "distribution",
            lambda r, s: _visits(r),
            _needs_vars("patch"),
        ),
        Metric(
            "accuracy",
            "choice accuracy",
            "1",
            "distribution",
            lambda r, s: _trial_values(r, "correct"),
            _needs_vars("trial", "choice", "reward", "correct"),
        ),
        Metric(
            "win_stay",
            "win-stay probability",
            "1",
            "distribution",
            lambda r, s: _wsls(r, "win_stay"),
            _needs_vars("trial", "choice", "reward"),
        ),
        Metric(
            "lose_shift",
            "lose-shift probability",
            "1",
            "distribution",
            lambda r, s: _wsls(r, "lose_shift"),
            _needs_vars("trial", "choice", "reward"),
        ),
    ]
    return {x.name: x for x in m}


def _acceleration(rec) -> Samples:
    acc = compute_acceleration(rec)
    magnitude = np.linalg.norm(acc.values, axis=1)
    ok = np.isfinite(magnitude)
    return magnitude[ok], acc["time"].values[ok]


def _straightness(rec, s: CompareSettings) -> Samples:
    st = compute_straightness(rec, window=s.straightness_window)
    return _finite(st, time=st["start"].values)


def _visits(rec) -> Samples:
    v = compute_patch_visits(rec)
    keep = ~v["censored"].values
    return v["residence"].values[keep], v["start"].values[keep]


def _trial_values(rec, name: str) -> Samples:
    trials = compute_trials(rec)
    ok = (trials["choice"].values >= 0) & np.isfinite(trials[name].values)
    return trials[name].values[ok].astype(float), trials["time"].values[ok]


METRICS: dict[str, Metric] = _build_metrics()
DEFAULT_METRICS = tuple(METRICS)


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------


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

    def __getitem__(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(
            f"no metric {name!r} in this report (compared: {[m.name for m in self.metrics]}; "
            f"skipped: {sorted(self.skipped)})"
        )

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
            *(
                f"- **{lab}**: {len(us)} unit(s), {sum(u['duration'] for u in us):.1f} s tracked"
                for lab, us in self.units.items()
            ),
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
        lines += ["", "## Settings", ""] + [f"- {k}: {_fmt_setting(v)}" for k, v in self.settings.items()]
        return "\n".join(lines) + "\n"


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


# ---------------------------------------------------------------------------------------------------------
# Resampling machinery: every statistic is a function of per-unit additive vectors, so a permutation or a
# bootstrap resample is a matrix product.
# ---------------------------------------------------------------------------------------------------------


def _ks_binned(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """KS distance between the binned distributions summed in the rows of ``A`` and ``B`` ``(k, bins)``."""
    Fa = np.cumsum(A, axis=1) / np.maximum(A.sum(axis=1, keepdims=True), 1e-300)
    Fb = np.cumsum(B, axis=1) / np.maximum(B.sum(axis=1, keepdims=True), 1e-300)
    return np.max(np.abs(Fa - Fb), axis=1)


def _mean_diff(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``|mean a - mean b|`` from rows ``(sum, count)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(A[:, 0] / A[:, 1] - B[:, 0] / B[:, 1])


def _jsd(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2) between the rows of ``A`` and ``B`` after normalising them."""
    P = A / np.maximum(A.sum(axis=1, keepdims=True), 1e-300)
    Q = B / np.maximum(B.sum(axis=1, keepdims=True), 1e-300)
    M = (P + Q) / 2

    def kl(X):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(X > 0, X * np.log2(X / np.where(M > 0, M, 1.0)), 0.0).sum(axis=1)

    return 0.5 * kl(P) + 0.5 * kl(Q)


def _permutation(stat, A: np.ndarray, B: np.ndarray, n_perm: int, rng) -> tuple[float, float, int]:
    """Observed statistic, permutation p-value ``(1 + #{perm >= obs}) / (1 + n)`` (exact enumeration of all
    relabellings when they are fewer than ``n_perm``), and the number of relabellings used."""
    X = np.vstack([A, B])
    n, na = X.shape[0], A.shape[0]
    obs = float(stat(A.sum(0, keepdims=True), B.sum(0, keepdims=True))[0])
    total = X.sum(0)
    n_comb = math.comb(n, na)
    if n_comb <= n_perm:
        masks = np.zeros((n_comb, n))
        for i, idx in enumerate(itertools.combinations(range(n), na)):
            masks[i, list(idx)] = 1.0
        Sa = masks @ X
        values = stat(Sa, total - Sa)
        # The observed labelling is one of the enumerated ones.
        return obs, float(np.mean(values >= obs - 1e-12)), n_comb
    exceed = 0
    done = 0
    while done < n_perm:
        k = min(1000, n_perm - done)
        order = np.argsort(rng.random((k, n)), axis=1)
        masks = np.zeros((k, n))
        np.put_along_axis(masks, order[:, :na], 1.0, axis=1)
        Sa = masks @ X
        exceed += int(np.sum(stat(Sa, total - Sa) >= obs - 1e-12))
        done += k
    return obs, (1 + exceed) / (1 + n_perm), n_perm


def _bootstrap_means(V: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """Bootstrap distribution of ``sum(V[:, 0]) / sum(V[:, 1])`` resampling rows with replacement."""
    n = V.shape[0]
    idx = rng.integers(0, n, size=(n_boot, n))
    W = np.zeros((n_boot, n))
    np.add.at(W, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    S = W @ V
    with np.errstate(invalid="ignore", divide="ignore"):
        return S[:, 0] / S[:, 1]


# ---------------------------------------------------------------------------------------------------------
# compare_groups
# ---------------------------------------------------------------------------------------------------------


def _as_units(group: Any, label: str) -> list[xr.Dataset]:
    recs = [group] if isinstance(group, xr.Dataset) else list(group) if isinstance(group, Sequence) else None
    if not recs:
        raise ValueError(
            f"compare_groups: group {label!r} must be a Recording or a non-empty sequence of them, "
            f"got {type(group).__name__}"
        )
    units = []
    problems = []
    for i, r in enumerate(recs):
        try:
            units += split_individuals(as_recording(r, caller=f"compare_groups ({label} #{i})"))
        except ValueError as e:
            problems.append(str(e))
    if problems:
        raise ValueError("\n".join(problems))
    return units


def _unit_info(u: xr.Dataset) -> dict[str, Any]:
    track = select_track(u, caller="compare_groups")
    tracked = track.run >= 0
    return {
        "source": str(u.attrs.get("source_file", "")) or "<in-memory>",
        "individual": track.individual,
        "duration": float(track.time[-1] - track.time[0] + 1.0 / track.fps),
        "n_samples": int(tracked.sum()),
    }


def _blocks(times: np.ndarray, t0: float, block: float | None, n_blocks: int) -> np.ndarray:
    if block is None:
        return np.zeros(times.shape, int)
    return np.clip(np.floor((times - t0) / block + 1e-9).astype(int), 0, n_blocks - 1)


def _ci(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return (np.nan, np.nan)
    a = (1 - confidence) / 2
    return float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))


def compare_groups(  # noqa: C901 (one branch per field or format; to be split, issue 16)
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
            The second group (``real``) is the reference from which shared settings are derived.
        metrics: names from :data:`METRICS` (default: all); those a group cannot support (no arena, no
            task variables) are listed in ``report.skipped`` with the reason.
        labels: the groups' names in the report and figures.
        resample_by: ``"unit"`` (individuals / sessions), ``"block"`` (time blocks) or ``"auto"`` (units
            when each group has at least ``min_units``, else blocks).
        block_duration: seconds; default a tenth of the shorter group's total tracked duration.
        n_bootstrap, n_permutations, confidence, seed: resampling settings.
        settings: overrides of :class:`CompareSettings` fields (e.g. ``{"bin_size": 0.04}``).
        progress: called with a short message before each metric.
    """
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
    names = list(DEFAULT_METRICS if metrics is None else metrics)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"compare_groups: unknown metrics {unknown}; known: {list(METRICS)}")
    groups = [_as_units(sim, labels[0]), _as_units(real, labels[1])]
    s = _default_settings(groups[1], groups[0] + groups[1], dict(settings or {}))
    info = [[_unit_info(u) for u in g] for g in groups]
    rng = np.random.default_rng(seed)

    # Resampling units.
    n_units = [len(g) for g in groups]
    by_unit = resample_by == "unit" or (resample_by == "auto" and min(n_units) >= min_units)
    if by_unit:
        block = None
        resampling = "individual / session (each individual of each recording)"
    else:
        totals = [sum(i["duration"] for i in g) for g in info]
        block = float(block_duration) if block_duration is not None else min(totals) / 10
        if not block > 0:
            raise ValueError(f"compare_groups: block_duration must be > 0 s, got {block_duration}")
        resampling = f"time blocks of {block:.4g} s (too few individuals per group for unit resampling)"
    layout = []  # per group: list of (unit index, t0, n_blocks)
    for g, gi in zip(groups, info, strict=True):
        rows = []
        for k, (u, i) in enumerate(zip(g, gi, strict=True)):
            nb = 1 if block is None else max(1, int(math.floor(i["duration"] / block + 1e-9)))
            rows.append((k, float(u["time"].values[0]), nb))
        layout.append(rows)

    report_metrics: list[MetricComparison] = []
    skipped: dict[str, str] = {}
    occupancy_maps: dict[str, xr.DataArray] = {}
    for name in names:
        metric = METRICS[name]
        reason = None
        for lab, g, gi in zip(labels, groups, info, strict=True):
            for u, i in zip(g, gi, strict=True):
                r = metric.requires(u, s)
                if r:
                    reason = f"{lab} {i['source']}:{i['individual']}: {r}"
                    break
            if reason:
                break
        if reason:
            skipped[name] = reason
            continue
        if progress:
            progress(name)
        if metric.kind == "distribution":
            result = _compare_distribution(
                metric, groups, layout, block, s, labels, n_bootstrap, n_permutations, confidence, rng
            )
        elif metric.kind == "scalar":
            result = _compare_scalar(
                metric, groups, layout, block, s, labels, n_bootstrap, n_permutations, confidence, rng
            )
        else:
            result, maps = _compare_occupancy(metric, groups, layout, block, s, labels, n_permutations, rng)
            occupancy_maps.update(maps)
        if isinstance(result, str):
            skipped[name] = result
        else:
            report_metrics.append(result)

    tails: dict[str, Any] = {}
    if "step_length" in [m.name for m in report_metrics]:
        for lab, sample in zip(
            labels, report_metrics[[m.name for m in report_metrics].index("step_length")].samples, strict=True
        ):
            try:
                tails[lab] = compare_tail_models(sample[sample > 0]).to_dict()
            except ValueError as e:
                tails[lab] = f"not fitted: {e}"
    settings_out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()}
    return ComparisonReport(
        labels=tuple(labels),
        units=dict(zip(labels, info, strict=True)),
        resampling=resampling,
        block_duration=block,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        seed=seed,
        settings=settings_out,
        metrics=report_metrics,
        skipped=skipped,
        step_length_models=tails,
        occupancy=occupancy_maps,
    )


def _collect_samples(metric, groups, layout, block, s):
    """Per group: list over resampling units of value arrays (in unit/block order)."""
    out = []
    for g, rows in zip(groups, layout, strict=True):
        parts = []
        for k, t0, nb in rows:
            values, times = metric.compute(g[k], s)
            values, times = np.asarray(values, float), np.asarray(times, float)
            b = _blocks(times, t0, block, nb)
            parts += [values[b == j] for j in range(nb)]
        out.append(parts)
    return out


def _summaries(labels, V, n_boot, confidence, rng, pooled):
    summaries, boots = [], []
    for lab, v, x in zip(labels, V, pooled, strict=True):
        boot = _bootstrap_means(v, n_boot, rng) if v.shape[0] >= 2 else np.full(1, np.nan)
        boots.append(boot)
        summaries.append(
            GroupSummary(
                label=lab,
                n=int(x.size),
                n_units=int(v.shape[0]),
                mean=float(x.mean()) if x.size else np.nan,
                ci=_ci(boot, confidence) if v.shape[0] >= 2 else (np.nan, np.nan),
                median=float(np.median(x)) if x.size else np.nan,
            )
        )
    diff_boot = boots[0] - boots[1] if boots[0].size == boots[1].size else np.full(1, np.nan)
    return tuple(summaries), diff_boot


def _compare_distribution(metric, groups, layout, block, s, labels, n_boot, n_perm, confidence, rng):
    parts = _collect_samples(metric, groups, layout, block, s)
    parts = [[p for p in g if p.size] for g in parts]
    pooled = [np.concatenate(g) if g else np.zeros(0) for g in parts]
    empty = [lab for lab, x in zip(labels, pooled, strict=True) if x.size == 0]
    if empty:
        return f"no finite values in {empty}"
    # Common bins: quantiles of the pooled data (at most 256 bins) for the permutation KS.
    both = np.concatenate(pooled)
    edges = np.unique(np.quantile(both, np.linspace(0, 1, 257)))
    H = [
        np.stack(
            [
                np.bincount(np.searchsorted(edges[1:-1], p, side="right"), minlength=max(edges.size - 1, 1))
                for p in g
            ]
        ).astype(float)
        for g in parts
    ]
    V = [np.stack([[p.sum(), p.size] for p in g]).astype(float) for g in parts]
    summaries, diff_boot = _summaries(labels, V, n_boot, confidence, rng, pooled)
    ks = stats.ks_2samp(pooled[0], pooled[1], method="asymp")
    obs, p, n_used = _permutation(_ks_binned, H[0], H[1], n_perm, rng)
    return MetricComparison(
        name=metric.name,
        label=metric.label,
        units=metric.units,
        kind=metric.kind,
        groups=summaries,
        difference=summaries[0].mean - summaries[1].mean,
        difference_ci=_ci(diff_boot, confidence),
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        wasserstein=float(stats.wasserstein_distance(pooled[0], pooled[1])),
        jensen_shannon=None,
        permutation_statistic="KS (binned)",
        permutation_value=obs,
        permutation_pvalue=p,
        n_permutations=n_used,
        samples=(pooled[0], pooled[1]),
    )


def _compare_scalar(metric, groups, layout, block, s, labels, n_boot, n_perm, confidence, rng):
    values = []
    for g, rows in zip(groups, layout, strict=True):
        vals = []
        for k, t0, nb in rows:
            u = g[k]
            if block is None:
                pieces = [u]
            else:
                t = u["time"].values
                b = _blocks(t, t0, block, nb)
                pieces = [u.isel(time=np.flatnonzero(b == j)) for j in range(nb)]
            for piece in pieces:
                try:
                    vals.append(float(metric.compute(piece, s)))
                except ValueError:
                    vals.append(np.nan)  # e.g. too short a block for the metric: that block has no value
        v = np.asarray(vals, float)
        values.append(v[np.isfinite(v)])
    empty = [lab for lab, v in zip(labels, values, strict=True) if v.size == 0]
    if empty:
        return f"no finite values in {empty}"
    V = [np.column_stack([v, np.ones_like(v)]) for v in values]
    summaries, diff_boot = _summaries(labels, V, n_boot, confidence, rng, values)
    obs, p, n_used = _permutation(_mean_diff, V[0], V[1], n_perm, rng)
    ks = stats.ks_2samp(values[0], values[1])
    return MetricComparison(
        name=metric.name,
        label=metric.label,
        units=metric.units,
        kind=metric.kind,
        groups=summaries,
        difference=summaries[0].mean - summaries[1].mean,
        difference_ci=_ci(diff_boot, confidence),
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        wasserstein=float(stats.wasserstein_distance(values[0], values[1])),
        jensen_shannon=None,
        permutation_statistic="|difference of means|",
        permutation_value=obs,
        permutation_pvalue=p,
        n_permutations=n_used,
        samples=(values[0], values[1]),
    )


def _compare_occupancy(metric, groups, layout, block, s, labels, n_perm, rng):
    x0, x1, y0, y1 = s.extent
    nx = max(1, int(round((x1 - x0) / s.bin_size)))
    ny = max(1, int(round((y1 - y0) / s.bin_size)))
    maps, group_maps, n_samples = [], {}, []
    for lab, g, rows in zip(labels, groups, layout, strict=True):
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
            n_samples[-1] += int(cell.size)
            b = _blocks(track.time[ok], t0, block, nb)
            for j in range(nb):
                per.append(np.bincount(cell[b == j], minlength=nx * ny) / track.fps)
            occ = compute_occupancy(g[k], bin_size=s.bin_size, extent=s.extent, arena=_arena_for(g[k], s))
            total = occ if total is None else total + occ.values
        maps.append(np.stack(per))
        prob = total / max(float(total.sum()), 1e-300)
        prob.attrs.update(total.attrs, units="fraction of tracked time")
        group_maps[lab] = prob
    obs, p, n_used = _permutation(_jsd, maps[0], maps[1], n_perm, rng)
    summaries = tuple(
        GroupSummary(lab, n, m.shape[0], np.nan, (np.nan, np.nan), np.nan)
        for lab, n, m in zip(labels, n_samples, maps, strict=True)
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
        samples=(group_maps[labels[0]].values, group_maps[labels[1]].values),
    ), group_maps
