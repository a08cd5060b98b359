"""Single-unit tuning to time-varying signals: head direction and running speed.

The measures that call a neuron a head-direction cell (Taube et al. 1990) or a speed cell (Kropff et al. 2015),
written once for recorded neurons and agents' units alike. As in :mod:`.tuning` (whose input checks they
share), every function takes the samples' own ``durations`` (seconds each sample stands for), so an irregularly
sampled recording is measured as recorded; a sample with duration 0 or NaN, or with a non-finite heading /
time, contributes nothing.

- :func:`compute_head_direction_tuning`: occupancy-normalised directional tuning, mean vector length and
  preferred direction.
- :func:`compute_speed_score`: Kropff et al. (2015), the rate smoothed in seconds, not samples.

Everything runs in ``jax.numpy`` (float32) under ``jax.jit``, ``vmap``-ed over units with static shapes; the
public functions check their inputs in NumPy first and return NumPy arrays / named tuples. The jittable cores
(``_hd_tuning``, ``_speed_tuning``) are what :mod:`.shuffles` recomputes for every shuffle.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from neuroethology.problems import ProblemsError

from .tuning import _TRUNCATE, _positive, _samples, _smoother

__all__ = [
    "HeadDirectionTuning",
    "SpeedScore",
    "compute_head_direction_tuning",
    "compute_speed_score",
]


class HeadDirectionTuning(NamedTuple):
    """Directional tuning of ``U`` units (NumPy arrays)."""

    curves: np.ndarray  # (U, n_bins) Hz, occupancy-normalised; NaN for directions never sampled
    bin_centres: np.ndarray  # (n_bins,) radians in [0, 2 pi)
    occupancy: np.ndarray  # (n_bins,) seconds
    mean_vector_length: np.ndarray  # (U,) in [0, 1]
    preferred_direction: np.ndarray  # (U,) radians in [0, 2 pi)


class SpeedScore(NamedTuple):
    """Speed tuning of ``U`` units: ``score`` (Pearson r), ``slope`` (Hz per m/s) and ``intercept`` (Hz), ``(U,)``;
    ``n_samples``: the samples within the speed range the fit used."""

    score: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    n_samples: int


# ---------------------------------------------------------------------------------------- head direction


class _Directions(NamedTuple):
    """A trajectory's direction bins, fixed once for every activity scored against it."""

    bins: jax.Array  # (T,) int32 direction bin of each sample; n_bins for samples that don't count
    scale: jax.Array  # (T,) 1 (counts) or the duration (rate); 0 for samples that don't count
    smoother: jax.Array  # (n_bins, n_bins) circular Gaussian
    centres: jax.Array  # (n_bins,) radians
    occupancy: np.ndarray  # (n_bins,) seconds
    occupancy_smoothed: jax.Array  # (n_bins,)


def _directions(caller, heading, durations, n_bins, sigma, kind) -> _Directions:
    problems: list[str] = []
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 4):
        problems.append(f"n_bins must be an integer >= 4, got {n_bins!r}")
    _positive(sigma, "sigma", problems, allow_zero=True)
    if problems:
        raise ProblemsError(caller, problems, what="got invalid input")
    n = np.shape(heading)[0] if np.ndim(heading) > 0 else 0
    _, dur, valid, sig = _samples(caller, np.zeros((n, 1)), durations, kind, {"heading": (heading, 0)})
    if dur.sum() <= 0:
        raise ValueError(f"{caller}: no sample counts (every duration is 0/NaN or every heading is NaN)")
    width = 2 * np.pi / n_bins
    bins = np.floor(np.mod(np.where(valid, sig["heading"], 0), 2 * np.pi) / width)
    bins = np.where(valid, np.clip(bins, 0, n_bins - 1), n_bins).astype(np.int32)
    occ = np.bincount(bins, weights=dur, minlength=n_bins + 1)[:n_bins]
    smoother = jnp.asarray(_smoother(n_bins, sigma / width, circular=True), jnp.float32)
    scale = jnp.asarray(np.where(valid, 1.0 if kind == "counts" else dur, 0.0), jnp.float32)
    centres = jnp.asarray((np.arange(n_bins) + 0.5) * width, jnp.float32)
    return _Directions(
        jnp.asarray(bins), scale, smoother, centres, occ, smoother @ jnp.asarray(occ, jnp.float32)
    )


def _hd_unit(num, occ_s, smoother, centres):
    curve = jnp.where(occ_s > 0, (smoother @ num) / jnp.where(occ_s > 0, occ_s, 1.0), jnp.nan)
    c = jnp.where(jnp.isfinite(curve), curve, 0.0)
    total = jnp.sum(c)
    vx, vy = jnp.sum(c * jnp.cos(centres)), jnp.sum(c * jnp.sin(centres))
    good = (total > 0) & ~jnp.any(c < 0)
    mvl = jnp.where(good, jnp.hypot(vx, vy) / jnp.where(total > 0, total, 1.0), jnp.nan)
    return curve, mvl, jnp.where(good, jnp.mod(jnp.arctan2(vy, vx), 2 * jnp.pi), jnp.nan)


@jax.jit
def _hd_tuning(activity, dirs: _Directions):
    """Jittable: ``(curves (U, n_bins), mvl (U,), preferred (U,))`` of ``activity (T, U)``."""
    n_bins = dirs.centres.shape[0]
    w = jnp.where(dirs.scale[:, None] > 0, activity * dirs.scale[:, None], 0.0)
    num = jax.ops.segment_sum(w, dirs.bins, num_segments=n_bins + 1)[:n_bins].T
    units = jax.vmap(_hd_unit, in_axes=(0, None, None, None))
    return units(num, dirs.occupancy_smoothed, dirs.smoother, dirs.centres)


def compute_head_direction_tuning(
    heading, activity, durations, *, n_bins: int = 60, sigma: float = math.radians(6.0), kind: str = "counts"
) -> HeadDirectionTuning:
    """Occupancy-normalised head-direction tuning, mean vector length and preferred direction.

    ``curve = smooth(N) / smooth(O)`` over ``n_bins`` direction bins (circular Gaussian, as the rate maps), and
    the mean resultant of the curve ``R = |sum_b r_b e^{i theta_b}| / sum_b r_b`` (Taube et al. 1990,
    J. Neurosci. 10:420 for the tuning curve; Sargolini et al. 2006 for the mean vector length).

    Args:
        heading: ``(T,)`` radians (any range; NaN where unknown).
        activity, durations, kind: as :func:`~.tuning.compute_rate_maps`.
        n_bins: direction bins (60 = 6 degrees each; a package choice in the 3-10 degree range the field uses).
        sigma: circular Gaussian standard deviation, radians (6 degrees = one bin; a package choice); 0: none.

    Returns:
        :class:`HeadDirectionTuning`. MVL and preferred direction are NaN for a silent unit or one with negative
        rates (a mean vector of negative rates has no meaning).
    """
    caller = "compute_head_direction_tuning"
    dirs = _directions(caller, heading, durations, n_bins, sigma, kind)
    a, *_ = _samples(caller, activity, durations, kind, {"heading": (heading, 0)})
    curves, mvl, pref = _hd_tuning(jnp.asarray(a, jnp.float32), dirs)
    out = (np.asarray(curves), np.asarray(dirs.centres), dirs.occupancy, np.asarray(mvl), np.asarray(pref))
    return HeadDirectionTuning(*out)


# ------------------------------------------------------------------------------------------------- speed


class _Speeds(NamedTuple):
    """A trajectory's speeds and clock, fixed once for every activity scored against them."""

    scale: jax.Array  # (T,) 1 (counts) or the duration (rate); 0 for samples that don't count
    durations: jax.Array  # (T,) seconds, 0 for samples that don't count
    speed_weighted: jax.Array  # (T, 2) (speed x duration, duration) where the speed is known, else 0
    time: jax.Array  # (T,) seconds from the first sample
    use: jax.Array  # (T,) bool, the samples within the speed range
    sigma: float  # seconds


def _speeds(caller, speed, durations, time, smoothing, min_speed, max_speed, kind) -> tuple[_Speeds, int]:
    """The speeds and clock, and ``reach``: the most samples within 4 sigma of any sample (a static shape)."""
    problems: list[str] = []
    _positive(smoothing, "smoothing", problems)
    _positive(min_speed, "min_speed", problems, allow_zero=True)
    _positive(max_speed, "max_speed", problems)
    if not problems and max_speed <= min_speed:
        problems.append(f"max_speed ({max_speed}) must exceed min_speed ({min_speed})")
    if problems:
        raise ProblemsError(caller, problems, what="got invalid input")
    n = np.shape(time)[0] if np.ndim(time) > 0 else 0
    _, dur, valid, sig = _samples(caller, np.zeros((n, 1)), durations, kind, {"time": (time, 0)})
    t, s = sig["time"], np.asarray(speed, dtype=float)  # a sample of unknown speed still counts for the rate
    if s.shape != t.shape:
        raise ValueError(f"{caller}: speed must have shape {t.shape} like time, got {s.shape}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise ValueError(f"{caller}: time must be finite seconds, non-decreasing")
    known = valid & np.isfinite(s)
    use = known & (s >= min_speed) & (s <= max_speed)
    reach = int(max(np.max(np.searchsorted(t, t + _TRUNCATE * smoothing, "right") - np.arange(n) - 1), 0))
    f32 = jnp.float32
    speed_w = np.column_stack([np.where(known, s * dur, 0.0), np.where(known, dur, 0.0)])
    scale = np.where(valid, 1.0 if kind == "counts" else dur, 0.0)
    arrays = [jnp.asarray(v, f32) for v in (scale, dur, speed_w, t - t[0])]
    return _Speeds(*arrays, jnp.asarray(use), float(smoothing)), reach


def _time_smooth(values, time, sigma, k):
    """``sum_j g(t_i - t_j) values_j`` over ``|i - j| <= k`` and ``|t_i - t_j| <= 4 sigma``; values ``(T, C)``."""
    n = values.shape[0]
    vpad = jnp.pad(values, ((k, k), (0, 0)))
    tpad = jnp.pad(time, (k, k), constant_values=jnp.nan)

    def body(i, acc):
        v = jax.lax.dynamic_slice_in_dim(vpad, i, n)
        dt = jax.lax.dynamic_slice_in_dim(tpad, i, n) - time
        g = jnp.where(jnp.abs(dt) <= _TRUNCATE * sigma, jnp.exp(-0.5 * (dt / sigma) ** 2), 0.0)
        return acc + jnp.where(jnp.isfinite(dt), g, 0.0)[:, None] * v

    return jax.lax.fori_loop(0, 2 * k + 1, body, jnp.zeros_like(values))


def _weighted_fit(rate, speed, w):
    sw = jnp.sum(w)
    ms, mr = jnp.sum(w * speed) / sw, jnp.sum(w * rate) / sw
    cov = jnp.sum(w * (speed - ms) * (rate - mr))
    vs, vr = jnp.sum(w * (speed - ms) ** 2), jnp.sum(w * (rate - mr) ** 2)
    slope = cov / jnp.where(vs > 0, vs, 1.0)
    score = jnp.where((vs > 0) & (vr > 0), cov / jnp.sqrt(jnp.where(vs * vr > 0, vs * vr, 1.0)), jnp.nan)
    return score, jnp.where(vs > 0, slope, jnp.nan), jnp.where(vs > 0, mr - slope * ms, jnp.nan)


@partial(jax.jit, static_argnums=2)
def _speed_tuning(activity, sp: _Speeds, reach: int):
    """Jittable: ``(score, slope, intercept)``, each ``(U,)``, of ``activity (T, U)``."""
    w = jnp.where(sp.scale[:, None] > 0, activity * sp.scale[:, None], 0.0)
    columns = jnp.concatenate([w, sp.durations[:, None], sp.speed_weighted], axis=1)
    smooth = _time_smooth(columns, sp.time, sp.sigma, reach)
    rate = smooth[:, :-3] / jnp.where(smooth[:, -3:-2] > 0, smooth[:, -3:-2], 1.0)
    speed = smooth[:, -2] / jnp.where(smooth[:, -1] > 0, smooth[:, -1], 1.0)
    fit = jax.vmap(_weighted_fit, in_axes=(1, None, None))(rate, speed, jnp.where(sp.use, sp.durations, 0.0))
    return tuple(jnp.where(jnp.sum(sp.use) >= 3, f, jnp.nan) for f in fit)


def compute_speed_score(
    speed,
    activity,
    durations,
    time,
    *,
    smoothing: float = 0.25,
    min_speed: float = 0.02,
    max_speed: float = 0.5,
    kind: str = "counts",
) -> SpeedScore:
    """Speed score (Kropff et al. 2015, Nature 523:419): the Pearson correlation of firing rate and running speed.

    The rate is ``smooth(spikes) / smooth(time)``, a Gaussian in seconds over the samples' own timestamps (so
    irregular sampling and gaps are honoured); the speed is smoothed the same way (a package choice, so the
    slope is not attenuated by smoothing one side only). The correlation, slope and intercept are weighted by
    the samples' durations, over samples with ``min_speed <= speed <= max_speed``.

    Args:
        speed: ``(T,)`` m/s (NaN where unknown).
        activity, durations, kind: as :func:`~.tuning.compute_rate_maps`.
        time: ``(T,)`` seconds, non-decreasing.
        smoothing: Gaussian standard deviation, seconds (0.25 s, after the 250-ms Gaussian of Kropff et al.
            2015).
        min_speed: m/s (2 cm/s, Kropff et al. 2015: rest is left out). max_speed: m/s (50 cm/s, a package
            choice that leaves out tracking jumps).

    Returns:
        :class:`SpeedScore`; NaN for a unit with constant rate or when fewer than 3 samples are in range.
    """
    caller = "compute_speed_score"
    sp, reach = _speeds(caller, speed, durations, time, smoothing, min_speed, max_speed, kind)
    a, *_ = _samples(caller, activity, durations, kind, {"time": (time, 0)})
    score, slope, intercept = _speed_tuning(jnp.asarray(a, jnp.float32), sp, reach)
    return SpeedScore(np.asarray(score), np.asarray(slope), np.asarray(intercept), int(np.sum(sp.use)))
