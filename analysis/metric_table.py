"""The metric table of :func:`~neuroethology.analysis.compare_groups`: which metric, computed how, on
which recordings, with the settings both groups share.

:data:`METRICS` maps each name to a :class:`Metric`: its label and units, its kind (a distribution of many
samples per resampling unit, one scalar per unit, or the occupancy map), how it is computed from a
Recording and the :class:`CompareSettings`, and what a recording must carry for it (an arena, task
attrs or variables). The table's order is the report's order and the order in which metrics draw on the
comparison's random stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from neuroethology.data.trials import is_trials

from ._recording import arena_extent, arena_of, arena_size, select_track
from .choice import compute_trials
from .foraging import compute_patch_visits
from .kinematics import compute_acceleration, compute_angular_velocity, compute_speed
from .occupancy import compute_coverage, compute_spatial_entropy
from .paths import compute_msd_exponent, compute_sinuosity, compute_straightness, compute_turning_angles
from .plume import CASTING_SURGING, classify_casting_surging, compute_course_direction, compute_source_arrival
from .space import compute_thigmotaxis, compute_wall_distance
from .steps import compute_step_lengths
from .trials import stay_after_outcome
from .water_maze import compute_escape_latency, compute_gallagher_proximity, compute_platform_crossings

__all__ = [
    "CompareSettings",
    "Metric",
    "METRICS",
    "DEFAULT_METRICS",
    "TRIAL_METRICS",
    "default_settings",
    "trial_settings",
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

    arena: dict | None  # the reference arena: it sets the shared occupancy grid and length scale only
    extent: tuple[float, float, float, float]  # occupancy grid, m
    bin_size: float  # m, default L / 20
    step_length: (
        float  # m, rediscretisation step for turning angles, sinuosity and step lengths, default L / 50
    )
    max_turn: float  # rad, step-length turn threshold, default pi / 4
    straightness_window: float  # s, default 10 s
    min_speed: float  # m/s, below which the direction of motion is undefined, default L / 50 per second
    wall_distance: float | None  # m, thigmotaxis zone; default None: a tenth of each recording's own arena
    msd_lag_range: tuple[float, float]  # s: (T / 10, T), T the time to cross L / 5 at the median speed


def default_settings(ref_units: list[xr.Dataset], all_units: list[xr.Dataset], overrides: Mapping[str, Any]):
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
        wall_distance=None,
        msd_lag_range=(crossing / 10, crossing),
    )
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"compare_groups: unknown settings {sorted(unknown)}; known: {sorted(values)}")
    values.update(overrides)
    return CompareSettings(**values)


def trial_settings(overrides: Mapping[str, Any]) -> CompareSettings:
    """The settings of a comparison of trial datasets: none of the spatial ones applies (all ``None``)."""
    if overrides:
        raise ValueError(
            f"compare_groups: settings {sorted(overrides)} are spatial; trial datasets are compared per trial "
            "and take none"
        )
    return CompareSettings(**{f: None for f in CompareSettings.__dataclass_fields__})


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
    metric cannot be computed on a recording, or ``None``. ``per_trial``: one value per trial, computed
    alike on a Recording's trials and on a trial dataset (an animal's trial table), whose "times" are the
    trials' positions, so that blocks of a trial dataset are blocks of trials.
    """

    name: str
    label: str
    units: str
    kind: str
    compute: Callable[..., Any] = field(repr=False)
    requires: Callable[..., str | None] = field(repr=False, default=lambda rec, s: None)
    per_trial: bool = False


def _finite(da: xr.DataArray, time: np.ndarray | None = None) -> Samples:
    v = np.asarray(da.values, float).ravel()
    t = np.asarray(da["time"].values if time is None else time, float).ravel()
    ok = np.isfinite(v)
    return v[ok], t[ok]


def _needs_arena(rec, s):
    if arena_of(rec) is not None:
        return None
    return (
        "skipped: no arena (this recording has no arena geometry; give it one: --arena on the command line)"
    )


def _own_grid(rec) -> dict[str, Any]:
    """The occupancy grid of a recording's own arena (bins of a twentieth of its size): coverage and spatial
    entropy are fractions of that arena, whatever the other group's arena (every recording is measured in
    its own arena, never in another group's)."""
    arena = arena_of(rec)
    return {"bin_size": arena_size(arena) / 20, "extent": arena_extent(arena), "arena": arena}


def _same_arena(rec, s: CompareSettings) -> str | None:
    """Occupancy maps are compared bin by bin on one grid: every recording must share the reference arena."""
    if arena_of(rec) == s.arena:
        return None
    return (
        f"skipped: arenas differ ({arena_of(rec)} vs the reference's {s.arena}); occupancy maps are compared "
        "bin by bin on one grid"
    )


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


_NEEDS_PLATFORM = _needs_attrs("platform_x", "platform_y", "platform_radius")  # water maze
_NEEDS_SOURCE = _needs_attrs("source_x", "source_y", "success_radius")  # odour source
_NEEDS_WIND = _needs_vars("wind_direction")  # plume
_TRIAL_VARIABLES = ("trial", "choice", "reward")  # choice tasks


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


def _trials_of(unit) -> tuple[xr.Dataset, np.ndarray]:
    """A unit's trials and each trial's "time": its position in a trial dataset (blocks are blocks of
    trials), the time of its choice in a Recording (NaN for omissions)."""
    if is_trials(unit):
        return unit, np.arange(unit.sizes["trial"], dtype=float)
    trials = compute_trials(unit)
    return trials, trials["time"].values.astype(float)


def _trial_values(unit, name: str) -> Samples:
    """A trial variable over the trials with a choice and a finite value."""
    trials, t = _trials_of(unit)
    v = np.asarray(trials[name].values, float)
    ok = (trials["choice"].values >= 0) & np.isfinite(v) & np.isfinite(t)
    return v[ok], t[ok]


def _wsls(unit, which: str) -> Samples:
    """1 per pair of trials where the animal stayed after a win (``win_stay``) or shifted after a loss."""
    trials, t = _trials_of(unit)
    win, lose, stay = stay_after_outcome(trials)
    use = (win if which == "win_stay" else lose) & np.isfinite(t[1:])
    values = stay[use] if which == "win_stay" else ~stay[use]
    return values.astype(float), t[1:][use]


def _needs_trials(*names: str, recording_has: str | None = None):
    """A trial dataset must carry ``names``; a Recording its trial variables (and ``names`` among them,
    unless ``recording_has`` says why a Recording cannot have them)."""

    def check(unit, s):
        if is_trials(unit):
            missing = [n for n in names if n not in unit.variables]
            if missing:
                return f"the trial dataset has no {missing}"
            unknown = [n for n in names if not np.isfinite(np.asarray(unit[n].values, float)).any()]
            return f"skipped: no trial has a known {unknown[0]}" if unknown else None
        if recording_has is not None:
            return recording_has
        return _needs_vars(*_TRIAL_VARIABLES, *names)(unit, s)

    return check


def _plume_fraction(rec, s, code: int) -> Samples:
    lab = classify_casting_surging(
        rec, min_speed=s.min_speed, wind_direction=None if "wind_direction" in rec.data_vars else 0.0
    )
    moving = lab.values != CASTING_SURGING["stopped"]
    tracked = np.isfinite(compute_speed(rec).values)
    use = moving & tracked
    return (lab.values[use] == code).astype(float), lab["time"].values[use]


def _movement_distributions() -> list[Metric]:
    """Many samples per unit: per frame, per window or per step of the path."""
    return [
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
            lambda r, s: _finite(compute_wall_distance(r, arena=arena_of(r))),
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
    ]


def _movement_summaries() -> list[Metric]:
    """One value per unit or time block, and the occupancy map."""
    return [
        Metric(
            "thigmotaxis",
            "time near walls",
            "1",
            "scalar",
            lambda r, s: float(compute_thigmotaxis(r, distance=s.wall_distance, arena=arena_of(r))),
            _needs_arena,
        ),
        Metric(
            "coverage",
            "arena coverage",
            "1",
            "scalar",
            lambda r, s: float(compute_coverage(r, **_own_grid(r))),
            _needs_arena,
        ),
        Metric(
            "spatial_entropy",
            "spatial entropy (normalised)",
            "1",
            "scalar",
            lambda r, s: float(compute_spatial_entropy(r, **_own_grid(r))),
            _needs_arena,
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
        Metric("occupancy", "occupancy map", "fraction of time", "map", lambda r, s: None, _same_arena),
    ]


def _water_maze_metrics() -> list[Metric]:
    """Per trial, for recordings with a platform (attrs ``platform_x``, ...)."""
    return [
        Metric(
            "escape_latency",
            "escape latency (water maze)",
            "s",
            "distribution",
            lambda r, s: _episode_times(r, compute_escape_latency(r)),
            _NEEDS_PLATFORM,
        ),
        Metric(
            "gallagher_proximity",
            "mean proximity to the platform",
            "m",
            "distribution",
            lambda r, s: _episode_times(r, compute_gallagher_proximity(r)["mean_proximity"]),
            _NEEDS_PLATFORM,
        ),
        Metric(
            "platform_crossings",
            "platform crossings per trial",
            "1",
            "distribution",
            lambda r, s: _episode_times(r, compute_platform_crossings(r)),
            _NEEDS_PLATFORM,
        ),
    ]


def _plume_metrics() -> list[Metric]:
    """Odour-plume navigation: per trial with a source, per frame with the wind."""
    return [
        Metric(
            "plume_success",
            "source reached (plume)",
            "1",
            "distribution",
            lambda r, s: _episode_times(r, compute_source_arrival(r)["success"].astype(float)),
            _NEEDS_SOURCE,
        ),
        Metric(
            "time_to_source",
            "time to source (plume)",
            "s",
            "distribution",
            lambda r, s: _episode_times(r, compute_source_arrival(r)["time_to_source"]),
            _NEEDS_SOURCE,
        ),
        Metric(
            "course_direction",
            "course relative to upwind",
            "rad",
            "distribution",
            lambda r, s: _finite(compute_course_direction(r, min_speed=s.min_speed)),
            _NEEDS_WIND,
        ),
        Metric(
            "surging",
            "fraction of moving time surging",
            "1",
            "distribution",
            lambda r, s: _plume_fraction(r, s, CASTING_SURGING["surging"]),
            _NEEDS_WIND,
        ),
        Metric(
            "casting",
            "fraction of moving time casting",
            "1",
            "distribution",
            lambda r, s: _plume_fraction(r, s, CASTING_SURGING["casting"]),
            _NEEDS_WIND,
        ),
    ]


def _foraging_and_choice_metrics() -> list[Metric]:
    """Patch residence per visit; choice measures per trial."""
    return [
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
            _needs_trials("correct"),
            per_trial=True,
        ),
        Metric(
            "reaction_time",
            "reaction time",
            "s",
            "distribution",
            lambda r, s: _trial_values(r, "reaction_time"),
            _needs_trials(
                "reaction_time",
                recording_has="skipped: a Recording marks no stimulus onset, so it has no reaction times",
            ),
            per_trial=True,
        ),
        Metric(
            "win_stay",
            "win-stay probability",
            "1",
            "distribution",
            lambda r, s: _wsls(r, "win_stay"),
            _needs_trials(),
            per_trial=True,
        ),
        Metric(
            "lose_shift",
            "lose-shift probability",
            "1",
            "distribution",
            lambda r, s: _wsls(r, "lose_shift"),
            _needs_trials(),
            per_trial=True,
        ),
    ]


def _build_metrics() -> dict[str, Metric]:
    """The table in report order: movement, then the task metrics computed when both groups carry the
    task's attrs / variables."""
    stages = (
        _movement_distributions(),
        _movement_summaries(),
        _water_maze_metrics(),
        _plume_metrics(),
        _foraging_and_choice_metrics(),
    )
    return {m.name: m for stage in stages for m in stage}


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


METRICS: dict[str, Metric] = _build_metrics()
DEFAULT_METRICS = tuple(METRICS)
TRIAL_METRICS = tuple(name for name, m in METRICS.items() if m.per_trial)  # the default for trial datasets
