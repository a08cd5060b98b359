"""Significance of per-unit scores by circular time-shift shuffles.

A unit's score (spatial information, grid score, border score, ...) is called significant when it exceeds a
high percentile of the scores the same unit gets once its activity is shifted in time against the behaviour
(Solstad et al. 2008, Science 322:1865 and Kropff et al. 2015, Nature 523:419 use the 99th percentile of such
shuffles). Each shuffle moves a unit's whole activity train by one offset of at least ``min_shift`` seconds,
wrapping the end round to the start, so the unit keeps its own firing statistics (rate, bursts, slow drifts)
and only its relation to the behaviour is broken.

- :func:`draw_shifts`: offsets, uniform in clock time (so irregular sampling is honoured), one per shuffle and
  unit, drawn with a ``jax`` key.
- :func:`shift_activity`: one shuffle's activity ``(T, U)``.
- :func:`shuffle_null`: any jittable ``score_fn(activity (T, U)) -> (U,)`` recomputed for every shuffle
  (``vmap``-ed in batches that bound memory), the per-unit threshold and the verdict.
- :func:`make_map_score_fn`: such a ``score_fn`` from a :func:`~.tuning.make_rate_map_fn` and a measure of rate
  maps (one of :data:`MAP_MEASURES`, or any jittable ``(maps, occupancy) -> (U,)``, e.g. a grid score);
  :func:`make_head_direction_score_fn` (mean vector length) and :func:`make_speed_score_fn` (speed score) for
  the two measures that are not of maps.

The shift moves the activity samples, not the clock: with ``kind="counts"`` and irregular durations a count
lands on a sample of another duration. For irregularly sampled spikes, shuffle rates (counts / durations,
scored with ``kind="rate"``), which a shift leaves meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .tuning import RateMapFn, _border_all, _coherence_all, _information_all, _sparsity_all, _wall_geometry
from .tuning_time import _directions, _hd_tuning, _speed_tuning, _speeds

__all__ = [
    "MAP_MEASURES",
    "ShuffleNull",
    "draw_shifts",
    "shift_activity",
    "shuffle_null",
    "make_map_score_fn",
    "make_head_direction_score_fn",
    "make_speed_score_fn",
]

MAP_MEASURES = ("bits_per_spike", "bits_per_second", "sparsity", "coherence", "border_score")
_BATCH_FLOATS = 2**26  # floats of shuffled activity held at once (256 MB in float32)


class ShuffleNull(NamedTuple):
    """The shuffle test of ``U`` units with ``n`` shuffles (NumPy arrays).

    Attributes:
        observed: ``(U,)`` the unshuffled scores.
        null: ``(U, n)`` the shuffled scores.
        threshold: ``(U,)`` the ``percentile`` of each unit's null (NaN shuffles left out).
        significant: ``(U,)`` bool, ``observed > threshold`` (False where either is NaN).
        shifts: ``(n, U)`` sample offsets used (activity sample ``t`` moved to ``t + shift``, wrapping).
        percentile: the percentile of the threshold.
    """

    observed: np.ndarray
    null: np.ndarray
    threshold: np.ndarray
    significant: np.ndarray
    shifts: np.ndarray
    percentile: float


def _clock(durations) -> tuple[np.ndarray, float]:
    d = np.asarray(durations, dtype=float)
    if d.ndim != 1 or d.size < 2 or np.any(np.isinf(d)) or np.any(d < 0):
        raise ValueError(f"durations must be (T,) finite seconds >= 0 with T >= 2, got shape {d.shape}")
    d = np.where(np.isfinite(d), d, 0.0)  # a sample that stands for no time moves the clock by nothing
    start = np.concatenate([[0.0], np.cumsum(d)[:-1]])
    return start, float(d.sum())


def draw_shifts(
    key: jax.Array, durations, *, n_units: int, n_shuffles: int = 100, min_shift: float = 20.0
) -> np.ndarray:
    """Circular shifts, ``(n_shuffles, n_units)`` sample offsets.

    Each offset is the first sample starting at or after a time drawn uniformly in
    ``[min_shift, total - min_shift]`` seconds (``total`` = sum of durations), so both the shift and its
    wrap-around complement last at least ``min_shift`` seconds on the recording's own clock.

    Args:
        key: a ``jax.random`` key.
        durations: ``(T,)`` seconds each sample stands for (NaN counts as 0).
        n_units, n_shuffles: the shape of the result (100 shuffles by default).
        min_shift: seconds (20 s, the usual minimum, e.g. Solstad et al. 2008).

    Raises:
        ValueError: the recording is shorter than ``2 * min_shift``, or no sample starts within the allowed range.
    """
    start, total = _clock(durations)
    if not (np.isfinite(min_shift) and min_shift > 0):
        raise ValueError(f"draw_shifts: min_shift must be > 0 s, got {min_shift!r}")
    lo, hi = np.searchsorted(start, min_shift, "left"), np.searchsorted(start, total - min_shift, "right") - 1
    if total < 2 * min_shift or lo > hi:
        raise ValueError(
            f"draw_shifts: the recording lasts {total:.4g} s; shifts of at least min_shift = {min_shift} s each "
            "way need more than twice that (and a sample starting in between); lower min_shift"
        )
    if not (int(n_units) >= 1 and int(n_shuffles) >= 1):
        raise ValueError(f"draw_shifts: n_units and n_shuffles must be >= 1, got {n_units}, {n_shuffles}")
    s = jax.random.uniform(key, (int(n_shuffles), int(n_units)), minval=min_shift, maxval=total - min_shift)
    k = np.searchsorted(start, np.asarray(s, dtype=float), "left")
    return np.clip(k, lo, hi).astype(np.int32)


def shift_activity(activity: jax.Array, shifts: jax.Array) -> jax.Array:
    """``out[t, u] = activity[(t - shifts[u]) mod T, u]``: each unit's train moved by its own offset, wrapping.

    Args:
        activity: ``(T, U)``. shifts: ``(U,)`` integer sample offsets.
    """
    n = activity.shape[0]
    idx = jnp.mod(jnp.arange(n)[:, None] - shifts[None, :], n)
    return jnp.take_along_axis(activity, idx, axis=0)


def shuffle_null(
    score_fn: Callable[[jax.Array], jax.Array],
    activity,
    durations,
    *,
    key: jax.Array,
    n_shuffles: int = 100,
    min_shift: float = 20.0,
    percentile: float = 99.0,
    batch_size: int | None = None,
) -> ShuffleNull:
    """Per-unit shuffle null of any score: ``score_fn`` on the activity, and on ``n_shuffles`` circular shifts.

    Args:
        score_fn: a jittable function ``activity (T, U) -> scores (U,)`` (``jax.numpy`` only: it is traced and
            ``vmap``-ed over shuffles); the behaviour it scores against is closed over and never moves.
        activity: ``(T, U)`` counts or rates, as ``score_fn`` expects them.
        durations: ``(T,)`` seconds each sample stands for (the shifts' clock).
        key: ``jax.random`` key for the shifts.
        n_shuffles: 100 (the usual count). min_shift: seconds (20 s). percentile: 99 (the usual threshold).
        batch_size: shuffles evaluated at once (default: as many as fit 2**26 floats of shifted activity).

    Returns:
        :class:`ShuffleNull`.
    """
    a = jnp.asarray(activity, jnp.float32)
    if a.ndim != 2:
        raise ValueError(f"shuffle_null: activity must be (T, U), got shape {a.shape}")
    n, u = a.shape
    if np.asarray(durations).shape != (n,):
        raise ValueError(f"shuffle_null: durations must have shape ({n},), got {np.asarray(durations).shape}")
    if not 0 < percentile < 100:
        raise ValueError(f"shuffle_null: percentile must be in (0, 100), got {percentile!r}")
    observed = np.asarray(score_fn(a), dtype=float)
    if observed.shape != (u,):
        raise ValueError(
            f"shuffle_null: score_fn must return ({u},) scores, one per unit; got {observed.shape}"
        )
    shifts = draw_shifts(key, durations, n_units=u, n_shuffles=n_shuffles, min_shift=min_shift)
    batch = batch_size or int(max(1, min(n_shuffles, _BATCH_FLOATS // (n * u))))

    @jax.jit
    def run(acts, sh):
        return jax.lax.map(lambda s: score_fn(shift_activity(acts, s)), sh, batch_size=batch)

    null = np.asarray(run(a, jnp.asarray(shifts)), dtype=float).T
    with np.errstate(invalid="ignore"):
        threshold = (
            np.nanpercentile(null, percentile, axis=1) if np.isfinite(null).any() else np.full(u, np.nan)
        )
    significant = np.isfinite(observed) & np.isfinite(threshold) & (observed > np.nan_to_num(threshold))
    return ShuffleNull(observed, null, threshold, significant, shifts, float(percentile))


def make_map_score_fn(
    rate_map_fn: RateMapFn,
    measure: str | Callable[[jax.Array, jax.Array], jax.Array],
    *,
    threshold: float = 0.3,
    min_field_area: float = 0.02,
) -> Callable[[jax.Array], jax.Array]:
    """A jittable ``activity (T, U) -> (U,)`` score of rate maps, for :func:`shuffle_null`.

    Args:
        rate_map_fn: from :func:`~.tuning.make_rate_map_fn` (the trajectory and the map settings).
        measure: one of :data:`MAP_MEASURES` (``coherence`` needs ``sigma=0`` maps; ``border_score`` uses the
            map's extent as the box's walls, with ``threshold`` and ``min_field_area`` as
            :func:`~.tuning.compute_border_score`), or a jittable ``(maps (U, ny, nx), occupancy (ny, nx)) ->
            (U,)`` such as a grid score.
    """
    grid = rate_map_fn.grid
    occ = jnp.asarray(grid.occupancy, jnp.float32)
    if callable(measure):
        return lambda a: measure(rate_map_fn.apply(a), occ)
    if measure not in MAP_MEASURES:
        raise ValueError(
            f"make_map_score_fn: measure must be one of {MAP_MEASURES} or a callable, got {measure!r}"
        )
    if measure == "coherence" and grid.sigma != 0:
        raise ValueError(
            "make_map_score_fn: coherence is defined on unsmoothed maps; make the rate maps with sigma=0"
        )
    if measure == "border_score":
        visited = (grid.occupancy >= grid.min_occupancy) & (grid.occupancy > 0)
        walls, dist = _wall_geometry(visited, grid.extent, "make_map_score_fn")
        walls, dist = jnp.asarray(walls), jnp.asarray(dist, jnp.float32)
        min_bins = max(1, int(np.ceil(min_field_area / grid.bin_size**2 - 1e-9)))
        return lambda a: _border_all(rate_map_fn.apply(a), walls, dist, threshold, min_bins)[0]
    if measure == "coherence":
        return lambda a: _coherence_all(rate_map_fn.apply(a))
    if measure == "sparsity":
        return lambda a: _sparsity_all(rate_map_fn.apply(a), occ)
    which = 0 if measure == "bits_per_spike" else 1
    return lambda a: _information_all(rate_map_fn.apply(a), occ)[which]


def make_head_direction_score_fn(
    heading, durations, *, n_bins: int = 60, sigma: float = math.radians(6.0), kind: str = "counts"
) -> Callable[[jax.Array], jax.Array]:
    """A jittable ``activity (T, U) -> (U,)`` mean vector length, exactly that of
    :func:`~.tuning_time.compute_head_direction_tuning` with the same arguments, for :func:`shuffle_null`."""
    dirs = _directions("make_head_direction_score_fn", heading, durations, n_bins, sigma, kind)
    return lambda a: _hd_tuning(jnp.asarray(a, jnp.float32), dirs)[1]


def make_speed_score_fn(
    speed,
    durations,
    time,
    *,
    smoothing: float = 0.25,
    min_speed: float = 0.02,
    max_speed: float = 0.5,
    kind: str = "counts",
) -> Callable[[jax.Array], jax.Array]:
    """A jittable ``activity (T, U) -> (U,)`` speed score, exactly that of :func:`~.tuning_time.compute_speed_score`
    with the same arguments, for :func:`shuffle_null`."""
    sp, reach = _speeds("make_speed_score_fn", speed, durations, time, smoothing, min_speed, max_speed, kind)
    return lambda a: _speed_tuning(jnp.asarray(a, jnp.float32), sp, reach)[0]
