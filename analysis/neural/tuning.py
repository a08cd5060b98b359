"""Single-unit spatial tuning: rate maps, spatial information, sparsity, coherence and the border score.

The measures the field uses to call a neuron a place or border cell, written once for recorded neurons and
agents' units alike. Every function takes the samples' own ``durations`` (seconds each sample stands for), so
an irregularly sampled recording is measured as recorded: occupancy is a sum of durations, never a count of
samples. A sample with duration 0 or NaN, or with non-finite position / heading, contributes nothing.

- :func:`compute_rate_maps`: occupancy-normalised rate maps ``(U, ny, nx)`` (row = y bin, column = x bin), the
  numerator and the occupancy smoothed separately by a Gaussian (zero outside the extent: no data there), NaN
  where the unsmoothed occupancy is under ``min_occupancy``. :func:`make_rate_map_fn` gives the same maps as a
  jittable function of the activity, for shuffles (:mod:`.shuffles`).
- :func:`compute_spatial_information` (Skaggs et al. 1993), :func:`compute_sparsity` (Skaggs et al. 1996),
  :func:`compute_spatial_coherence` (Muller & Kubie 1989), :func:`compute_border_score` (Solstad et al. 2008).

The measures against time-varying signals (head direction, speed) live in :mod:`.tuning_time`, which shares
this module's input checks.

Everything runs in ``jax.numpy`` (float32) under ``jax.jit``, ``vmap``-ed over units with static shapes; the
public functions check their inputs in NumPy first and return NumPy arrays / named tuples.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from neuroethology.problems import ProblemsError

__all__ = [
    "RateMaps",
    "RateMapFn",
    "MapBinning",
    "SpatialInformation",
    "make_rate_map_fn",
    "compute_rate_maps",
    "compute_spatial_information",
    "compute_sparsity",
    "compute_spatial_coherence",
    "compute_border_score",
]

KINDS = ("counts", "rate")
_TRUNCATE = 4.0  # Gaussian kernels cut at 4 sigma, as scipy.ndimage.gaussian_filter does


class RateMaps(NamedTuple):
    """Rate maps of ``U`` units on one grid (NumPy arrays)."""

    maps: np.ndarray  # (U, ny, nx) Hz; row = y bin (from y_min up), column = x bin; NaN = unvisited
    occupancy: np.ndarray  # (ny, nx) seconds in each bin (unsmoothed sum of durations)
    x_edges: np.ndarray  # (nx + 1,) metres
    y_edges: np.ndarray  # (ny + 1,) metres
    bin_size: float  # metres (square bins)
    extent: tuple[float, float, float, float]  # (x_min, x_max, y_min, y_max) metres
    sigma: float  # metres, the Gaussian smoothing the maps carry (0: unsmoothed)
    min_occupancy: float  # seconds; bins with less unsmoothed occupancy are NaN
    outside_seconds: float  # tracked time outside the extent, left out (at most max_outside of the total)


class MapBinning(NamedTuple):
    """The trajectory's binning behind a :class:`RateMapFn` (NumPy arrays), for maps built from numerators
    computed another way (the sparse spike-count shuffles of :mod:`.shuffles`)."""

    bins: (
        np.ndarray
    )  # (T,) int32 flat bin (iy * nx + ix) of each sample; ny * nx where the sample does not count
    scale: (
        np.ndarray
    )  # (T,) float32 weight of the activity: 1 (counts) or the duration (rate); 0: not counted
    smoothers: tuple[np.ndarray, np.ndarray]  # (ny, ny) and (nx, nx) float32 Gaussian smoothing matrices
    durations: np.ndarray  # (T,) the durations as given (the shuffles' clock)
    kind: str  # "counts" or "rate"


class RateMapFn(NamedTuple):
    """:func:`make_rate_map_fn`'s result: ``apply(activity (T, U)) -> (U, ny, nx)`` maps, a jittable, vmappable
    ``jax.Array`` function of the activity alone (the trajectory is fixed), ``grid``, the
    :class:`RateMaps` it fills (with empty ``maps``), and ``binning``, the :class:`MapBinning` it uses."""

    apply: Callable[[jax.Array], jax.Array]
    grid: RateMaps
    binning: MapBinning | None = None


class SpatialInformation(NamedTuple):
    """Skaggs information of ``U`` units: ``bits_per_spike`` and ``bits_per_second`` ``(U,)``."""

    bits_per_spike: np.ndarray
    bits_per_second: np.ndarray


# --------------------------------------------------------------------------------------------------- checks


def _positive(value, name: str, problems: list[str], *, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value)) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        problems.append(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def _samples(caller: str, activity, durations, kind: str, signals: Mapping[str, tuple[Any, int]]):
    """Check ``activity (T, U)``, ``durations (T,)`` and each named signal (array, columns; 0 = 1-D) together;
    return float arrays and the mask of samples that count (finite duration > 0 and finite signals)."""
    problems: list[str] = []
    a = np.asarray(activity, dtype=float)
    d = np.asarray(durations, dtype=float)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{caller}: activity must be a (T, U) array with T, U >= 1, got shape {a.shape}")
    n = a.shape[0]
    if kind not in KINDS:
        problems.append(f"kind must be one of {KINDS}, got {kind!r}")
    if d.shape != (n,):
        problems.append(f"durations must have shape ({n},) like activity's samples, got {d.shape}")
    elif np.any(np.isinf(d)) or np.any(d < 0):
        problems.append("durations must be finite seconds >= 0 (NaN or 0 marks a sample that does not count)")
    out = {}
    for name, (values, cols) in signals.items():
        v = np.asarray(values, dtype=float)
        want = (n,) if cols == 0 else (n, cols)
        if v.shape != want:
            problems.append(f"{name} must have shape {want}, got {v.shape}")
        out[name] = v
    if problems:
        raise ProblemsError(caller, problems, what="got invalid input")
    valid = np.isfinite(d) & (d > 0)
    for v in out.values():
        valid &= np.isfinite(v) if v.ndim == 1 else np.isfinite(v).all(axis=1)
    bad = ~np.isfinite(a[valid]).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{caller}: activity is not finite at {int(bad.sum())} samples that count; give those samples "
            "duration 0 (or NaN) to leave them out, or fill them"
        )
    if kind == "counts" and np.any(a[valid] < 0):
        raise ValueError(f"{caller}: kind='counts' needs spike counts >= 0; negative values found")
    return a, np.where(valid, d, 0.0), valid, out


def _smoother(n: int, sigma_bins: float, *, circular: bool = False) -> np.ndarray:
    """``(n, n)`` matrix ``S`` with ``S @ v`` = Gaussian filter of ``v`` (``scipy.ndimage.gaussian_filter1d``
    with ``mode='constant'``, ``truncate=4``; ``mode='wrap'`` when ``circular``)."""
    if sigma_bins == 0:
        return np.eye(n)
    radius = int(_TRUNCATE * sigma_bins + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_bins) ** 2)
    kernel /= kernel.sum()
    s = np.zeros((n, n))
    i = np.arange(n)
    for off, w in zip(offsets, kernel, strict=True):
        j = i + off
        if circular:
            np.add.at(s, (i, j % n), w)
        else:
            ok = (j >= 0) & (j < n)
            s[i[ok], j[ok]] += w
    return s


# ------------------------------------------------------------------------------------------------ rate maps


def _extent(extent, caller: str) -> tuple[float, float, float, float]:
    try:
        x0, x1, y0, y1 = (float(v) for v in extent)
    except (TypeError, ValueError):
        raise ValueError(
            f"{caller}: extent must be (x_min, x_max, y_min, y_max) in metres, got {extent!r}"
        ) from None
    if not all(map(math.isfinite, (x0, x1, y0, y1))) or not (x1 > x0 and y1 > y0):
        raise ValueError(f"{caller}: extent must have x_max > x_min and y_max > y_min, got {tuple(extent)}")
    return x0, x1, y0, y1


def _grid(extent, bin_size, caller: str):
    x0, x1, y0, y1 = _extent(extent, caller)
    nx, ny = round((x1 - x0) / bin_size), round((y1 - y0) / bin_size)
    for side, nb in ((x1 - x0, nx), (y1 - y0, ny)):
        if nb < 2 or abs(nb * bin_size - side) > 1e-6 * side:
            raise ValueError(
                f"{caller}: the extent's side {side:g} m is not a whole number (>= 2) of bins of {bin_size:g} m; "
                f"choose a bin_size that divides it (e.g. {side / max(nb, 2):g} m) or widen the extent"
            )
    return (x0, x1, y0, y1), nx, ny


@jax.jit
def _rate_maps_core(activity, bins, scale, occupancy, sy, sx, min_occupancy):
    """``(U, ny, nx)`` maps; ``scale`` (T,) = 1 (counts) or the duration (rate), 0 for samples that don't count."""
    ny, nx = occupancy.shape
    w = jnp.where(scale[:, None] > 0, activity * scale[:, None], 0.0)
    num = jax.ops.segment_sum(w, bins, num_segments=ny * nx + 1)[: ny * nx]  # last segment: left out
    return _maps_from_numerators(num.T.reshape(-1, ny, nx), occupancy, sy, sx, min_occupancy)


def _maps_from_numerators(num, occupancy, sy, sx, min_occupancy):
    """``(U, ny, nx)`` maps from unsmoothed numerators ``(U, ny, nx)``: ``smooth(N) / smooth(O)``, NaN where the
    unsmoothed occupancy is under ``min_occupancy`` (jittable)."""
    occ_s = sy @ occupancy @ sx.T
    visited = (occupancy >= min_occupancy) & (occupancy > 0)

    def one(n):
        return jnp.where(visited, (sy @ n @ sx.T) / jnp.where(visited, occ_s, 1.0), jnp.nan)

    return jax.vmap(one)(num)


def make_rate_map_fn(
    xy,
    durations,
    *,
    extent: tuple[float, float, float, float],
    bin_size: float = 0.025,
    sigma: float = 0.0375,
    min_occupancy: float = 0.1,
    kind: str = "counts",
    max_outside: float = 1e-3,
) -> RateMapFn:
    """The rate maps of :func:`compute_rate_maps` as a jittable function of the activity (same arguments, less
    ``activity``); the trajectory's binning is done once. Use it where maps are recomputed many times
    (shuffles)."""
    caller = "make_rate_map_fn"
    problems: list[str] = []
    _positive(bin_size, "bin_size", problems)
    _positive(sigma, "sigma", problems, allow_zero=True)
    _positive(min_occupancy, "min_occupancy", problems, allow_zero=True)
    _positive(max_outside, "max_outside", problems, allow_zero=True)
    if problems:
        raise ProblemsError(caller, problems, what="got invalid input")
    n = np.shape(xy)[0] if np.ndim(xy) > 0 else 0
    _, dur, valid, sig = _samples(caller, np.zeros((n, 1)), durations, kind, {"xy": (xy, 2)})
    (x0, x1, y0, y1), nx, ny = _grid(extent, bin_size, caller)
    x, y = sig["xy"][:, 0], sig["xy"][:, 1]
    inside = valid & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    outside = float(dur[valid & ~inside].sum())
    total = float(dur.sum())
    if total <= 0:
        raise ValueError(f"{caller}: no sample counts (every duration 0/NaN or every position untracked)")
    if outside > max_outside * total:
        raise ValueError(
            f"{caller}: {outside:.3g} s ({100 * outside / total:.2g}% of tracked time) lie outside the extent "
            f"{(x0, x1, y0, y1)} m, more than max_outside = {100 * max_outside:g}%; widen the extent"
        )
    if outside > 0:
        warnings.warn(
            f"{caller}: left out {int((valid & ~inside).sum())} samples ({outside:.3g} s) outside the extent "
            f"{(x0, x1, y0, y1)} m (within max_outside); RateMaps.outside_seconds records them",
            stacklevel=2,
        )
    ix = np.clip(np.floor((x[inside] - x0) / bin_size).astype(int), 0, nx - 1)
    iy = np.clip(np.floor((y[inside] - y0) / bin_size).astype(int), 0, ny - 1)
    bins = np.full(n, ny * nx, dtype=np.int32)
    bins[inside] = iy * nx + ix
    occ = np.bincount(bins, weights=np.where(inside, dur, 0.0), minlength=ny * nx + 1)[: ny * nx]
    occ = occ.reshape(ny, nx)
    scale = np.where(inside, 1.0 if kind == "counts" else dur, 0.0)
    sy, sx = _smoother(ny, sigma / bin_size), _smoother(nx, sigma / bin_size)
    consts = [jnp.asarray(v, jnp.float32) for v in (scale, occ, sy, sx)]
    jbins, jmin = jnp.asarray(bins), jnp.float32(min_occupancy)

    def apply(activity):
        a = jnp.asarray(activity, jnp.float32)
        if a.ndim != 2 or a.shape[0] != n:  # shapes are static, so this holds under jit and vmap too
            raise ValueError(f"{caller}: activity must be ({n}, U) like the trajectory, got shape {a.shape}")
        return _rate_maps_core(a, jbins, consts[0], consts[1], consts[2], consts[3], jmin)

    edges = (np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1))
    extent = (x0, x1, y0, y1)
    grid = RateMaps(np.zeros((0, ny, nx)), occ, *edges, bin_size, extent, sigma, min_occupancy, outside)
    smoothers = (np.asarray(consts[2]), np.asarray(consts[3]))
    binning = MapBinning(bins, np.asarray(consts[0]), smoothers, np.asarray(durations, dtype=float), kind)
    return RateMapFn(apply, grid, binning)


def compute_rate_maps(
    xy,
    activity,
    durations,
    *,
    extent: tuple[float, float, float, float],
    bin_size: float = 0.025,
    sigma: float = 0.0375,
    min_occupancy: float = 0.1,
    kind: str = "counts",
    max_outside: float = 1e-3,
) -> RateMaps:
    """Occupancy-normalised rate maps: ``smooth(N) / smooth(O)`` per bin.

    ``O`` is the time spent in each bin (sum of durations) and ``N`` the spikes fired there (sum of counts, or
    of rate x duration), both smoothed by the same Gaussian (zero outside the extent), the usual smoothed map
    (e.g. Sargolini et al. 2006, Science 312:758).

    Args:
        xy: ``(T, 2)`` positions, metres; NaN where untracked.
        activity: ``(T, U)`` spike counts per sample (``kind="counts"``) or rates in Hz / any continuous signal
            (``kind="rate"``).
        durations: ``(T,)`` seconds each sample stands for (0 or NaN: the sample does not count).
        extent: ``(x_min, x_max, y_min, y_max)`` metres; each side a whole number of bins.
        bin_size: square bin side, metres (2.5 cm, a common bin for a 1 x 1 m box).
        sigma: Gaussian standard deviation, metres (3.75 cm = 1.5 bins; a package choice within the 1-2 bins
            the field uses). 0: no smoothing.
        min_occupancy: bins with less unsmoothed occupancy, seconds, are NaN (0.1 s; a package choice: five
            frames at 50 Hz).
        kind: ``"counts"`` or ``"rate"``.
        max_outside: the largest fraction of tracked time allowed outside ``extent`` (0.1%: tracking jitter at
            the walls); those samples are left out with a warning and counted in ``outside_seconds``. More raises.

    Returns:
        :class:`RateMaps`: maps ``(U, ny, nx)`` Hz, occupancy ``(ny, nx)`` s, edges, bin_size, extent, sigma.

    Raises:
        ValueError: shapes, negative durations or counts, non-finite activity at counted samples, an extent that
            is not a whole number of bins, or too much time outside it.
    """
    a, *_ = _samples("compute_rate_maps", activity, durations, kind, {"xy": (xy, 2)})
    fn = make_rate_map_fn(
        xy,
        durations,
        extent=extent,
        bin_size=bin_size,
        sigma=sigma,
        min_occupancy=min_occupancy,
        kind=kind,
        max_outside=max_outside,
    )
    return fn.grid._replace(maps=np.asarray(fn.apply(a)))


# ------------------------------------------------------------------------------------------ map measures


def _check_maps(maps, occupancy, caller: str, *, rates: bool = True) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(maps, dtype=float)
    if m.ndim != 3 or min(m.shape) < 1:
        raise ValueError(f"{caller}: maps must be a (U, ny, nx) array, got shape {m.shape}")
    o = np.asarray(occupancy, dtype=float) if occupancy is not None else np.ones(m.shape[1:])
    if o.shape != m.shape[1:] or not np.all(np.isfinite(o)) or np.any(o < 0):
        raise ValueError(f"{caller}: occupancy must be {m.shape[1:]} finite seconds >= 0, got {o.shape}")
    if rates and np.any(m[np.isfinite(m)] < 0):
        raise ValueError(f"{caller}: the measure needs rates >= 0 (spikes, not dF/F); found negative ones")
    return m.astype(np.float32), o.astype(np.float32)


def _probabilities(rate_map, occupancy):
    ok = jnp.isfinite(rate_map) & (occupancy > 0)
    p = jnp.where(ok, occupancy, 0.0)
    return p / jnp.maximum(jnp.sum(p), 1e-30), jnp.where(ok, rate_map, 0.0)


def _information(rate_map, occupancy):
    p, lam = _probabilities(rate_map, occupancy)
    mean = jnp.sum(p * lam)
    ratio = lam / jnp.where(mean > 0, mean, 1.0)
    bits = jnp.sum(jnp.where(ratio > 0, p * ratio * jnp.log2(jnp.where(ratio > 0, ratio, 1.0)), 0.0))
    bits = jnp.where((mean > 0) & ~jnp.any(lam < 0), bits, jnp.nan)
    return bits, bits * mean


def _sparsity(rate_map, occupancy):
    p, lam = _probabilities(rate_map, occupancy)
    second = jnp.sum(p * lam**2)
    return jnp.where(second > 0, jnp.sum(p * lam) ** 2 / jnp.where(second > 0, second, 1.0), jnp.nan)


def _coherence(raw_map):
    ok = jnp.isfinite(raw_map)
    v, m = jnp.where(ok, raw_map, 0.0), ok.astype(jnp.float32)
    ny, nx = raw_map.shape
    pv, pm = jnp.pad(v, 1), jnp.pad(m, 1)
    box_v = sum(pv[i : i + ny, j : j + nx] for i in range(3) for j in range(3)) - v
    box_m = sum(pm[i : i + ny, j : j + nx] for i in range(3) for j in range(3)) - m
    use = ok & (box_m > 0)
    nb = box_v / jnp.where(use, box_m, 1.0)
    n = jnp.maximum(jnp.sum(use), 1)
    a, b = (jnp.where(use, x - jnp.sum(jnp.where(use, x, 0)) / n, 0) for x in (v, nb))
    var = jnp.sum(a**2) * jnp.sum(b**2)
    r = jnp.clip(jnp.sum(a * b) / jnp.sqrt(jnp.where(var > 0, var, 1.0)), -1.0, 1.0)
    return jnp.where((var > 0) & (jnp.sum(use) > 2), jnp.arctanh(r), jnp.nan)


_information_all = jax.jit(jax.vmap(_information, in_axes=(0, None)))
_sparsity_all = jax.jit(jax.vmap(_sparsity, in_axes=(0, None)))
_coherence_all = jax.jit(jax.vmap(_coherence))


def compute_spatial_information(maps, occupancy) -> SpatialInformation:
    """Skaggs spatial information (Skaggs et al. 1993, Adv. Neural Inf. Process. Syst. 5:1030).

    ``I = sum_i p_i (l_i / l) log2(l_i / l)`` bits per spike and ``I l`` bits per second, with ``p_i`` the
    fraction of time in bin ``i`` (over visited bins), ``l_i`` its rate and ``l = sum_i p_i l_i``.

    Args:
        maps: ``(U, ny, nx)`` rate maps, Hz (NaN = unvisited; e.g. :attr:`RateMaps.maps`), rates >= 0.
        occupancy: ``(ny, nx)`` seconds (:attr:`RateMaps.occupancy`).

    Returns:
        :class:`SpatialInformation` of ``(U,)`` arrays; NaN for a unit that never fires.
    """
    m, o = _check_maps(maps, occupancy, "compute_spatial_information")
    bits, rate = _information_all(jnp.asarray(m), jnp.asarray(o))
    return SpatialInformation(np.asarray(bits), np.asarray(rate))


def compute_sparsity(maps, occupancy) -> np.ndarray:
    """Sparsity ``(sum_i p_i l_i)^2 / sum_i p_i l_i^2`` (Skaggs et al. 1996, Hippocampus 6:149), ``(U,)`` in
    ``(0, 1]``: 1 for a uniform map, the fraction of the arena a unit fires in for an on/off one; NaN for a
    silent unit. Arguments as :func:`compute_spatial_information`."""
    m, o = _check_maps(maps, occupancy, "compute_sparsity")
    return np.asarray(_sparsity_all(jnp.asarray(m), jnp.asarray(o)))


def compute_spatial_coherence(maps) -> np.ndarray:
    """Spatial coherence (Muller & Kubie 1989, J. Neurosci. 9:4101): the Fisher z (``arctanh``) of the
    correlation, over visited bins, between a bin's rate and the mean rate of its visited 8 neighbours.

    Args:
        maps: ``(U, ny, nx)`` UNSMOOTHED rate maps (``compute_rate_maps(..., sigma=0)``), or a :class:`RateMaps`
            (refused unless its ``sigma`` is 0: smoothing alone makes neighbours agree).

    Returns:
        ``(U,)`` z; NaN for a constant map or fewer than three usable bins.
    """
    if isinstance(maps, RateMaps):
        if maps.sigma != 0:
            raise ValueError(
                f"compute_spatial_coherence: coherence is defined on the unsmoothed map; these maps carry sigma = "
                f"{maps.sigma} m; compute them with sigma=0"
            )
        maps = maps.maps
    m, _ = _check_maps(maps, None, "compute_spatial_coherence", rates=False)
    return np.asarray(_coherence_all(jnp.asarray(m)))


# ------------------------------------------------------------------------------------------- border score


def _label(above):
    """Connected components (8-neighbour, as MATLAB's ``bwlabel`` by default, with which Solstad et al. 2008's
    "neighbouring pixels" were grouped) of a boolean map: each bin gets the largest flat index in its component,
    -1 outside (label propagation until nothing changes). 8-connectivity matters for a border field: a strip
    one or two bins wide along a wall is joined across a diagonal step that 4-connectivity would cut."""
    ny, nx = above.shape
    lab0 = jnp.where(above, jnp.arange(ny * nx).reshape(ny, nx), -1)

    def step(lab):
        p = jnp.pad(lab, 1, constant_values=-1)
        nb = functools.reduce(
            jnp.maximum, [p[1 + i : 1 + i + ny, 1 + j : 1 + j + nx] for i in (-1, 0, 1) for j in (-1, 0, 1)]
        )
        return jnp.where(above, nb, -1)

    def cond(state):
        return state[1]

    def body(state):
        new = step(state[0])
        return new, jnp.any(new != state[0])

    return jax.lax.while_loop(cond, body, (lab0, jnp.bool_(True)))[0]


def _border(rate_map, walls, dist, threshold, min_bins):
    """One unit's (b, CM, DM); ``walls`` (4, ny, nx) edge masks (visited bins only), ``dist`` (ny, nx) distance
    to the nearest wall over half the shortest side."""
    ny, nx = rate_map.shape
    visited = jnp.isfinite(rate_map)
    r = jnp.where(visited, rate_map, 0.0)
    peak = jnp.max(r)
    above = visited & (r >= threshold * peak) & (peak > 0)
    lab = _label(above).ravel()
    seg = jnp.where(lab >= 0, lab, ny * nx)
    size = jax.ops.segment_sum(jnp.ones(ny * nx), seg, num_segments=ny * nx + 1)
    field = (lab >= 0) & (size[seg] >= min_bins)
    per_wall = jax.vmap(
        lambda w: jax.ops.segment_sum((w.ravel() & field).astype(jnp.float32), seg, ny * nx + 1)
    )
    cover = per_wall(walls)[:, : ny * nx] / jnp.maximum(jnp.sum(walls, axis=(1, 2)), 1)[:, None]
    cm = jnp.max(cover)
    wr = jnp.where(field, r.ravel(), 0.0)
    dm = jnp.sum(wr * dist.ravel()) / jnp.where(jnp.sum(wr) > 0, jnp.sum(wr), 1.0)
    b = (cm - dm) / jnp.where(cm + dm > 0, cm + dm, 1.0)
    ok = jnp.any(field)
    return jnp.where(ok, b, jnp.nan), jnp.where(ok, cm, jnp.nan), jnp.where(ok, dm, jnp.nan)


_border_all = jax.jit(jax.vmap(_border, in_axes=(0, None, None, None, None)), static_argnums=4)


def _check_box(arena, caller: str) -> None:
    if arena is None:
        return
    shape = arena if isinstance(arena, str) else arena.get("shape") if isinstance(arena, Mapping) else None
    if shape is None and isinstance(arena, Mapping) and "boundary" in arena:
        pts = np.asarray(arena["boundary"], float)
        rect = pts.ndim == 2 and len({tuple(p) for p in pts}) == 4 and len(set(pts[:, 0])) == 2
        rect = rect and len(set(pts[:, 1])) == 2 and not arena.get("holes") and not arena.get("walls")
        shape = "box" if rect else "polygon"
    if shape == "box" and isinstance(arena, Mapping) and (arena.get("holes") or arena.get("walls")):
        shape = "box with internal walls or holes"  # the score would miss the fields along them
    if shape != "box":
        raise ValueError(
            f"{caller}: the border score (Solstad et al. 2008) is defined for the four walls of a rectangular box; "
            f"got an arena of shape {shape!r}"
        )


WALL_DEPTH = (
    0.1  # a wall's bins: the visited bin nearest it, within this fraction of the side (a body radius)
)


def _first_visited(visited: np.ndarray, depth: int) -> np.ndarray:
    """Per row, the first visited bin from the left (if within ``depth`` bins of the edge)."""
    first = np.argmax(visited, axis=1)
    rows = np.flatnonzero(visited.any(axis=1) & (first < depth))
    out = np.zeros_like(visited)
    out[rows, first[rows]] = True
    return out


def _wall_geometry(visited: np.ndarray, extent, caller: str):
    """The four walls' bins and each bin's distance to the nearest wall. A wall's bins are, along it, the
    visited bin nearest the wall, within ``WALL_DEPTH`` of the side: an animal (or an agent with a body radius)
    that never enters the bin at the very edge still runs along the wall. A wall with no such bin (never
    approached) has coverage 0; no wall at all means the extent is wider than the box, and is refused."""
    ny, nx = visited.shape
    x0, x1, y0, y1 = (float(v) for v in extent)
    dx, dy = max(1, int(round(WALL_DEPTH * nx))), max(1, int(round(WALL_DEPTH * ny)))
    walls = np.stack(
        [
            _first_visited(visited, dx),  # x_min
            _first_visited(visited[:, ::-1], dx)[:, ::-1],  # x_max
            _first_visited(visited.T, dy).T,  # y_min
            _first_visited(visited.T[:, ::-1], dy)[:, ::-1].T,  # y_max
        ]
    )
    names = ("x_min", "x_max", "y_min", "y_max")
    empty = [n for n, w in zip(names, walls, strict=True) if not w.any()]
    if len(empty) == len(names):  # an extent larger than the box (a wall the animal skipped is no error:
        # no field can cover it, its coverage is 0, as in a session too short to reach every wall)
        raise ValueError(
            f"{caller}: no visited bin within {WALL_DEPTH:.0%} of the side of any wall {empty}; the extent must "
            "be the box's walls, not larger"
        )
    xc = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    yc = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    d = np.minimum(np.minimum(xc[None] - x0, x1 - xc[None]), np.minimum(yc[:, None] - y0, y1 - yc[:, None]))
    return walls, d / (0.5 * min(x1 - x0, y1 - y0))


def compute_border_score(
    maps, *, extent, arena=None, threshold: float = 0.3, min_field_area: float = 0.02
) -> np.ndarray:
    """Border score ``b = (CM - DM) / (CM + DM)`` for a rectangular box (Solstad et al. 2008, Science 322:1865).

    Fields are 8-connected groups of visited bins (neighbours across edges and corners, MATLAB's ``bwlabel``
    default) at ``>= threshold`` x the map's peak covering at least ``min_field_area``. ``CM``: the largest fraction of one wall's visited edge bins covered by one field.
    ``DM``: the rate-weighted mean distance of the fields' bins to the nearest wall, over half the shortest side.

    Args:
        maps: ``(U, ny, nx)`` rate maps (NaN = unvisited) whose edge rows and columns lie along the walls.
        extent: ``(x_min, x_max, y_min, y_max)`` metres: the box's walls.
        arena: optional arena (preset name or mapping); anything but a box raises.
        threshold: fraction of the peak rate (0.3, Solstad et al. 2008).
        min_field_area: square metres (200 cm^2, Solstad et al. 2008).

    Returns:
        ``(U,)`` in ``[-1, 1]``; NaN for a unit with no field (silent, or all fields too small).
    """
    caller = "compute_border_score"
    _check_box(arena, caller)
    m, _ = _check_maps(maps, None, caller)
    problems: list[str] = []
    _positive(min_field_area, "min_field_area", problems)
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        problems.append(f"threshold must be a fraction of the peak in (0, 1), got {threshold!r}")
    if problems:
        raise ProblemsError(caller, problems, what="got invalid input")
    (x0, x1, y0, y1), ny, nx = _extent(extent, caller), *m.shape[1:]
    walls, dist = _wall_geometry(np.isfinite(m).any(axis=0), (x0, x1, y0, y1), caller)
    min_bins = max(1, math.ceil(min_field_area / ((x1 - x0) / nx * (y1 - y0) / ny) - 1e-9))
    b, _, _ = _border_all(
        jnp.asarray(m), jnp.asarray(walls), jnp.asarray(dist, jnp.float32), threshold, min_bins
    )
    return np.asarray(b)
