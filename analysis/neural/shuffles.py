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
- :func:`make_map_shuffle_test`: the fast path for spike counts: several map scores' tests from one set of
  shuffled maps, each built from the unit's spiking samples only (shifting the path's bins against the spikes),
  in one jitted call compiled once per shape.

The shift moves the activity samples, not the clock: with ``kind="counts"`` and irregular durations a count
lands on a sample of another duration. For irregularly sampled spikes, shuffle rates (counts / durations,
scored with ``kind="rate"``), which a shift leaves meaningful.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .tuning import (
    RateMapFn,
    _border_all,
    _coherence_all,
    _information_all,
    _maps_from_numerators,
    _sparsity_all,
    _wall_geometry,
)
from .tuning_time import _directions, _hd_tuning, _speed_tuning, _speeds

__all__ = [
    "MAP_MEASURES",
    "ShuffleNull",
    "draw_shifts",
    "shift_activity",
    "shuffle_null",
    "make_map_score_fn",
    "make_map_shuffle_test",
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


def shuffle_batch(n_shuffles: int, floats_per_shuffle: int, budget: int) -> int | None:
    """Shuffles scored at once by ``jax.lax.map``'s ``batch_size``: ``None`` (one at a time, unbatched) on
    CPU, where vmapping the scores over shuffles made classify_units' loop 1.6x slower (and a batch of one ~3x
    slower) than scoring one shuffle after another; elsewhere as many as keep ``floats_per_shuffle`` each
    within ``budget`` floats."""
    if jax.default_backend() == "cpu":
        return None
    return int(max(1, min(n_shuffles, budget // max(1, floats_per_shuffle))))


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
        batch_size: shuffles evaluated at once (default: one at a time on CPU, else as many as fit 2**26
            floats of shifted activity; see :func:`shuffle_batch`).

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
    batch = batch_size or shuffle_batch(n_shuffles, n * u, _BATCH_FLOATS)
    try:
        runner = _dense_runner(score_fn, batch)
    except TypeError:  # an unhashable callable: compiled for this call only
        runner = _dense_runner.__wrapped__(score_fn, batch)
    null = np.asarray(runner(a, jnp.asarray(shifts)), dtype=float).T
    return _verdict(observed, null, shifts, percentile)


@functools.lru_cache(maxsize=16)
def _dense_runner(score_fn, batch: int | None):
    """The jitted shuffle loop of one ``score_fn`` (kept for the next call with the same function: no re-jit)."""

    @jax.jit
    def run(acts, sh):
        return jax.lax.map(lambda s: score_fn(shift_activity(acts, s)), sh, batch_size=batch)

    return run


def _verdict(observed: np.ndarray, null: np.ndarray, shifts: np.ndarray, percentile: float) -> ShuffleNull:
    with np.errstate(invalid="ignore"):
        threshold = (
            np.nanpercentile(null, percentile, axis=1)
            if np.isfinite(null).any()
            else np.full(len(observed), np.nan)
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
    score = _map_measure(rate_map_fn, measure, threshold, min_field_area, "make_map_score_fn")
    return lambda a: score(rate_map_fn.apply(a))


def _map_measure(rate_map_fn: RateMapFn, measure, threshold: float, min_field_area: float, caller: str):
    """A jittable ``maps (U, ny, nx) -> (U,)`` of one of :data:`MAP_MEASURES` or a ``(maps, occupancy)`` callable."""
    grid = rate_map_fn.grid
    occ = jnp.asarray(grid.occupancy, jnp.float32)
    if callable(measure):
        return lambda m: measure(m, occ)
    if measure not in MAP_MEASURES:
        raise ValueError(f"{caller}: measure must be one of {MAP_MEASURES} or a callable, got {measure!r}")
    if measure == "coherence" and grid.sigma != 0:
        raise ValueError(
            f"{caller}: coherence is defined on unsmoothed maps; make the rate maps with sigma=0"
        )
    if measure == "border_score":
        visited = (grid.occupancy >= grid.min_occupancy) & (grid.occupancy > 0)
        walls, dist = _wall_geometry(visited, grid.extent, caller)
        walls, dist = jnp.asarray(walls), jnp.asarray(dist, jnp.float32)
        min_bins = max(1, int(np.ceil(min_field_area / grid.bin_size**2 - 1e-9)))
        return lambda m: _border_all(m, walls, dist, threshold, min_bins)[0]
    if measure == "coherence":
        return _coherence_all
    if measure == "sparsity":
        return lambda m: _sparsity_all(m, occ)
    which = 0 if measure == "bits_per_spike" else 1
    return lambda m: _information_all(m, occ)[which]


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


# ---------------------------------------------------------------------------- sparse shuffles of rate maps


def _sparse_trains(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All units' nonzero samples as flat ``(N,)`` unit, sample index and value (unit by unit, in time order; one
    zero entry where every value is 0). NaN counts as nonzero: it spreads into the maps as in the dense path.
    Found in the ``(T, U)`` array's own memory order and sorted by unit (a stable radix sort of 16-bit unit ids):
    ~8x faster than a transposed copy of the whole ``(T, U)`` array for 512 units over an hour at 50 Hz."""
    a = np.ascontiguousarray(activity)
    n_units = a.shape[1]
    flat = np.flatnonzero(a != 0)
    if flat.size == 0:
        return np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros(1, np.float32)
    sample, unit = np.divmod(flat, n_units)
    order = np.argsort(unit.astype(np.uint16) if n_units <= 2**16 else unit, kind="stable")
    return (
        unit[order].astype(np.int32),
        sample[order].astype(np.int32),
        a.ravel()[flat[order]].astype(np.float32),
    )


def _shifted_numerators(unit, idx, val, shifts, bins, scale, n_units: int, n_bins: int):
    """``(n_units, n_bins)`` numerators of one shuffle from the units' nonzero samples: sample ``k`` of unit ``u``
    lands on the path at ``(k + shifts[u]) mod T``, adding ``val * scale`` there to that sample's bin; one flat
    scatter over all units' samples (no padding to the busiest unit). ``scale=None`` where it is 1 on every
    sample with a bin (spike counts; the samples without one, bin ``n_bins``, are dropped anyway): the gather and
    product of ``scale`` are skipped (~1.6x faster)."""
    n = bins.shape[0]
    pos = idx + shifts[unit]
    pos = jnp.where(pos >= n, pos - n, pos)
    b = jnp.where(val != 0, bins[pos], n_bins) + unit * (n_bins + 1)  # bin n_bins of each unit: dropped
    weight = val if scale is None else val * scale[pos]
    num = jax.ops.segment_sum(weight, b, num_segments=n_units * (n_bins + 1))
    return num.reshape(n_units, n_bins + 1)[:, :n_bins]


def make_map_shuffle_test(
    rate_map_fn: RateMapFn,
    measures: Mapping[str, str | Callable[[jax.Array, jax.Array], jax.Array]],
    *,
    threshold: float = 0.3,
    min_field_area: float = 0.02,
    batch_size: int | None = None,
) -> Callable[..., dict[str, ShuffleNull]]:
    """Several map scores' shuffle tests from one set of shuffled maps, fast for sparse spike counts.

    A circular shift of a unit's activity against the path equals a shift of the path against the activity, so
    a shuffled numerator map is the sum, over the unit's nonzero samples ``k``, of ``activity[k]`` (times the
    ``scale`` of :class:`~.tuning.MapBinning`) added to the bin of path sample ``(k + shift) mod T``: work in
    the number of spiking samples (1-5% of samples at 50 Hz), not in ``T``, in one scatter over all units' samples. The occupancy does not move; the
    smoothing and the division are those of :func:`~.tuning.make_rate_map_fn`. For spike counts (integers,
    exact in float32 below 2**24 per bin) the maps equal :func:`shift_activity` then ``rate_map_fn.apply``
    exactly; for rates they agree to float32 rounding (the sums' order differs), at no gain in speed unless the
    rates are mostly 0.

    The returned ``test(activity (T, U), *, key, n_shuffles=100, min_shift=20.0, percentile=99.0)`` draws the
    shifts as :func:`shuffle_null` does (the same key gives the same shifts), makes every shuffle's maps once and
    scores them with every measure in one jitted call, compiled once per shape (kept across calls), and returns
    ``{name: ShuffleNull}`` (``observed`` is the unshifted activity through the same code).

    Args:
        rate_map_fn: from :func:`~.tuning.make_rate_map_fn` (the path, the map settings and their binning).
        measures: ``{name: measure}``, each one of :data:`MAP_MEASURES` or a jittable ``(maps (U, ny, nx),
            occupancy (ny, nx)) -> (U,)`` (e.g. :func:`~.grid.make_grid_score_fn`), as :func:`make_map_score_fn`.
        threshold, min_field_area: the border score's, as :func:`make_map_score_fn`.
        batch_size: shuffles scored at once (default: one at a time on CPU, else as many as keep ~2**24 floats
            of per-shuffle arrays; see :func:`shuffle_batch`).
    """
    caller = "make_map_shuffle_test"
    binning = rate_map_fn.binning
    if binning is None:
        raise ValueError(f"{caller}: rate_map_fn must come from make_rate_map_fn (it carries the binning)")
    if not measures:
        raise ValueError(f"{caller}: measures must name at least one measure")
    scores = {
        name: _map_measure(rate_map_fn, m, threshold, min_field_area, caller) for name, m in measures.items()
    }
    grid = rate_map_fn.grid
    n_bins = grid.occupancy.size
    # spike counts: scale 1 on every sample with a bin (those without one are dropped), so it needs no product
    binary = bool(np.all(binning.scale[binning.bins < n_bins] == 1))
    consts = (
        jnp.asarray(binning.bins),
        None if binary else jnp.asarray(binning.scale, jnp.float32),
        jnp.asarray(grid.occupancy, jnp.float32),
        *(jnp.asarray(m, jnp.float32) for m in binning.smoothers),
        jnp.float32(grid.min_occupancy),
    )

    @functools.partial(jax.jit, static_argnames="batch")
    def run(unit, idx, val, shifts, bins, scale, occ, sy, sx, min_occ, batch):
        def one(s):
            num = _shifted_numerators(unit, idx, val, s, bins, scale, s.shape[0], n_bins)
            maps = _maps_from_numerators(num.reshape(-1, *occ.shape), occ, sy, sx, min_occ)
            return {name: fn(maps) for name, fn in scores.items()}

        return jax.lax.map(one, shifts, batch_size=batch)

    def test(
        activity, *, key: jax.Array, n_shuffles: int = 100, min_shift: float = 20.0, percentile: float = 99.0
    ):
        a = np.asarray(activity, np.float32)
        if a.ndim != 2 or a.shape[0] != binning.bins.shape[0] or a.shape[1] < 1:
            raise ValueError(
                f"{caller}: activity must be ({binning.bins.shape[0]}, U) like the path, got {a.shape}"
            )
        if not 0 < percentile < 100:
            raise ValueError(f"{caller}: percentile must be in (0, 100), got {percentile!r}")
        u = a.shape[1]
        shifts = draw_shifts(key, binning.durations, n_units=u, n_shuffles=n_shuffles, min_shift=min_shift)
        trains = [jnp.asarray(v) for v in _sparse_trains(a)]
        per_shuffle = max(trains[0].size, 8 * u * n_bins)
        batch = batch_size or shuffle_batch(n_shuffles + 1, per_shuffle, 2**24)
        every = np.vstack([np.zeros((1, u), np.int32), shifts])  # shift 0: the observed scores
        out = run(*trains, jnp.asarray(every), *consts, batch=batch)
        result = {}
        for name in scores:
            got = np.asarray(out[name], dtype=float)
            if got.shape != (n_shuffles + 1, u):
                raise ValueError(f"{caller}: measure {name!r} must return ({u},) scores, one per unit")
            result[name] = _verdict(got[0], got[1:].T, shifts, percentile)
        return result

    return test
