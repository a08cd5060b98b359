"""Grid cells: the spatial autocorrelogram, the grid score, and the grid's spacing and orientation.

A grid cell fires on the vertices of a triangular lattice (Hafting et al. 2005, Nature 436:801). Its rate
map's autocorrelogram repeats the lattice around a central peak, so the autocorrelogram is unchanged by
rotations of 60 and 120 degrees and changed by 30, 90 and 150 degrees; the grid score measures exactly that
(Sargolini et al. 2006, Science 312:758). Spacing and orientation are read from the six peaks nearest the
centre of the autocorrelogram.

- :func:`compute_autocorrelograms`: ``(U, ny, nx)`` rate maps (NaN = unvisited bin) to ``(U, 2ny-1, 2nx-1)``
  autocorrelograms: at each lag, the Pearson correlation over the pairs of visited bins the lag overlaps
  (Hafting et al. 2005; Sargolini et al. 2006, supplementary methods), NaN where fewer than ``min_overlap`` bins overlap. The
  six sums each lag needs (count, sums, sums of squares, cross products) are cross-correlations of the
  mask, the masked map and the masked squared map, computed at once by FFTs (zero-padded, so no wrap-around).
- :func:`compute_grid_scores`: from the autocorrelograms, the central peak's radius (the first radius at
  which the autocorrelogram's mean over a one-bin annulus falls below ``central_threshold``), the six nearest
  local maxima outside it, at lags whose pairs span 30% of the map or more (``_PEAK_MIN_OVERLAP``; refined to
  sub-bin positions by a parabola through each peak and its neighbours), and the correlation of an annulus
  (the central peak excluded) with its rotations by 30, 60, 90, 120 and 150 degrees (bilinear
  interpolation); the score is ``min(r60, r120) - max(r30, r90, r150)``.
  ``method="sargolini"``: one annulus, out to the farthest of the six peaks plus the central peak's radius
  (so it holds the six fields whole; our reading of "the circular sample defined by the six peaks", Sargolini
  et al. 2006); NaN when six peaks are not found. ``method="langston"``: the annulus's outer radius grows a
  bin at a time (from 3 bins or the central peak) up to the largest circle inside the autocorrelogram, and
  the score is the highest mean of three consecutive radii (Langston et al. 2010, Science 328:1576; the mean
  over three radii as the Moser lab's BNT and opexebo); it needs no peaks.
- :func:`compute_grid_properties`: both in one jitted call, from rate maps.
- :func:`make_grid_score_fn`: the grid score alone as a jittable function of rate maps, for shuffles.

Everything runs in ``jax.numpy`` (float32), ``vmap``-ed over units with static shapes; results come back as
NumPy arrays in named tuples. Where a measure cannot be computed (an empty map, no six peaks) it is NaN.

Length: one measure's pipeline (autocorrelogram, central peak, six peaks, both annulus methods, their checks).
"""

from __future__ import annotations

import math
from functools import partial, reduce
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "GridScores",
    "GridProperties",
    "compute_autocorrelograms",
    "compute_grid_scores",
    "compute_grid_properties",
    "make_grid_score_fn",
]

_ANGLES = (30.0, 60.0, 90.0, 120.0, 150.0)  # degrees; the grid score's rotations (Sargolini et al. 2006)
_METHODS = ("sargolini", "langston")
_MIN_RING_BINS = 20  # an annulus needs this many bins valid in it and in its rotation for a correlation
_CPU_UNIT_BATCH = 32  # units computed at once on CPU (_map_chunks)
_RING_TIERS = (32, 40)  # bins: outer radii whose disks' bins a Sargolini annulus sum may be cut to (CPU)
_LANGSTON_WINDOW = 3  # outer radii averaged before the maximum, as opexebo and BNT (the Moser lab's code)
#: A peak counts only at a lag whose pairs span at least this share of the map's bounding box (package choice):
#: further out the autocorrelogram is a rim correlated over few bins, where a one-field map shows bumps at any
#: distance (RatInABox place cells in a 1 m box: their six nearest bumps at 10-32% overlap, one with a grid score
#: of 0.71, above its shuffles; grid cells of spacing up to 0.5 m: every peak at >= 43%). A lattice of spacing up
#: to 0.63 of the box's side, in any orientation, keeps its six peaks inside ((1 - 0.63 / sqrt 2)^2 = 0.31).
_PEAK_MIN_OVERLAP = 0.3


class GridScores(NamedTuple):
    """Grid measures of ``U`` units (NumPy arrays; NaN where a measure cannot be computed).

    Attributes:
        score: ``(U,)`` grid score, ``min(r60, r120) - max(r30, r90, r150)``, in ``[-2, 2]``.
        spacing: ``(U,)`` metres, the median distance of the six nearest peaks from the centre.
        orientation: ``(U,)`` radians in ``[0, pi/3)``, the angle of the peaks from the x axis (counter-
            clockwise, x = map column, y = map row), modulo 60 degrees (circular mean of the six). Circular:
            a lattice at 0 may come out just below pi/3; compare orientations modulo pi/3.
        peaks: ``(U, 6, 2)`` metres, the six peaks' ``(x, y)`` offsets from the centre, nearest first.
        central_radius: ``(U,)`` metres, the radius of the central peak (the annulus's inner radius).
        outer_radius: ``(U,)`` metres, the annulus's outer radius the score comes from (for ``langston``, the
            one with the highest score).
    """

    score: np.ndarray
    spacing: np.ndarray
    orientation: np.ndarray
    peaks: np.ndarray
    central_radius: np.ndarray
    outer_radius: np.ndarray


class GridProperties(NamedTuple):
    """:func:`compute_grid_properties`'s result: ``autocorrelograms`` ``(U, 2ny-1, 2nx-1)`` and ``scores``."""

    autocorrelograms: np.ndarray
    scores: GridScores


# --------------------------------------------------------------------------------------------------- checks


def _check_stack(arr, name: str, caller: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim != 3 or min(a.shape[1:], default=0) < 2 or not np.issubdtype(a.dtype, np.number):
        raise ValueError(
            f"{caller}: {name} must be a numeric array (U, ny, nx) with ny, nx >= 2, got shape {a.shape} "
            f"and dtype {a.dtype}"
        )
    if np.isinf(a).any():
        raise ValueError(f"{caller}: {name} holds infinite values; use NaN for unvisited or undefined bins")
    return a.astype(np.float32)


def _check_positive(value, name: str, caller: str, *, integer: bool = False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value)) and value > 0 and (not integer or float(value).is_integer())
    if not ok:
        kind = "a positive integer" if integer else "a positive finite number"
        raise ValueError(f"{caller}: {name} must be {kind}, got {value!r}")


def _check_threshold(value, name: str, caller: str) -> None:
    if not isinstance(value, (int, float, np.integer, np.floating)) or not -1.0 <= float(value) < 1.0:
        raise ValueError(f"{caller}: {name} must be a correlation in [-1, 1), got {value!r}")


# ------------------------------------------------------------------------------------------ autocorrelogram


def _fft_size(n: int) -> int:
    """The smallest 5-smooth integer (2^a 3^b 5^c) >= ``n``: a fast FFT length."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _fft_shape(ny: int, nx: int) -> tuple[int, int]:
    """>= 2n-1 along each axis, so the circular correlation has no wrap-around; 5-smooth, so the FFT is fast."""
    return _fft_size(2 * ny - 1), _fft_size(2 * nx - 1)


def _centred_inverse(prods: jax.Array, ny: int, nx: int) -> jax.Array:
    """``(..., 2ny-1, 2nx-1)``: the correlations whose spectra are ``prods``, entry ``[p, q]`` at the lag
    ``tau = (p - (ny-1), q - (nx-1))``."""
    shape = _fft_shape(ny, nx)
    full = jnp.fft.irfft2(prods, s=shape)
    full = jnp.roll(full, (ny - 1, nx - 1), axis=(-2, -1))
    return full[..., : 2 * ny - 1, : 2 * nx - 1]


def _standardised(rate_map: jax.Array):
    """``(z, mask, scale)`` of one map: its visited bins (``mask``, 0/1) centred and scaled to unit variance, 0
    elsewhere. Pearson r is unchanged by an affine map of the rates: standardise first, so float32 sums stay
    small."""
    visited = jnp.isfinite(rate_map)
    n_visited = jnp.sum(visited)
    mean = jnp.sum(jnp.where(visited, rate_map, 0.0)) / jnp.maximum(n_visited, 1)
    centred = jnp.where(visited, rate_map - mean, 0.0)
    scale = jnp.sqrt(jnp.sum(centred**2) / jnp.maximum(n_visited, 1))
    z = centred / jnp.where(scale > 0, scale, 1.0)
    return z, visited.astype(z.dtype), scale


def _pearson(c: jax.Array, scale: jax.Array, min_overlap: jax.Array) -> jax.Array:
    """The autocorrelogram from ``c`` ``(4, h, w)``: the sums over x of mask(x + tau) mask(x), mask(x + tau)
    z(x), mask(x + tau) z(x)^2 and z(x + tau) z(x) at every lag (:func:`_centred_inverse`)."""
    n = jnp.round(c[0])  # an integer count; the FFT leaves rounding noise
    sum_q, sum_qq, sum_pq = c[1], c[2], c[3]  # q = map(x + tau) over the overlap
    sum_p, sum_pp = c[1, ::-1, ::-1], c[2, ::-1, ::-1]  # p = map(x): the same sums at -tau
    cov = n * sum_pq - sum_p * sum_q
    var = (n * sum_pp - sum_p**2) * (n * sum_qq - sum_q**2)
    ok = (n >= min_overlap) & (var > 0) & (scale > 0)
    r = cov / jnp.sqrt(jnp.where(ok, var, 1.0))
    return jnp.where(ok, jnp.clip(r, -1.0, 1.0), jnp.nan)


def _autocorrelogram(rate_map: jax.Array, min_overlap: jax.Array) -> jax.Array:
    """One unit's autocorrelogram ``(2ny-1, 2nx-1)`` (Pearson r over overlapping visited bins per lag): the
    cross-correlations of (mask, z, z^2) by FFTs (zero-padded)."""
    ny, nx = rate_map.shape
    z, mask, scale = _standardised(rate_map)
    m, a, a2 = jnp.fft.rfft2(jnp.stack([mask, z, z * z]), s=_fft_shape(ny, nx))
    # (mask, mask), (mask, map), (mask, map^2), (map, map): the other two sums are these at -tau.
    prods = jnp.stack([m * jnp.conj(m), m * jnp.conj(a), m * jnp.conj(a2), a * jnp.conj(a)])
    return _pearson(_centred_inverse(prods, ny, nx), scale, min_overlap)


def _one_mask_autocorrelograms(maps: jax.Array, min_overlap: jax.Array) -> jax.Array:
    """:func:`_autocorrelogram` of ``(B, ny, nx)`` maps that all have the visited bins of ``maps[0]`` (every
    shuffle of a session's maps does): the mask's transform and its count plane once for all, so 2 forward
    and 3 inverse transforms a map instead of 3 and 4; the same arithmetic, bit for bit."""
    b, ny, nx = maps.shape
    z, mask, scale = jax.vmap(_standardised)(maps)
    m = jnp.fft.rfft2(mask[0], s=_fft_shape(ny, nx))
    count = _centred_inverse((m * jnp.conj(m))[None], ny, nx)  # (1, h, w)
    spec = jnp.fft.rfft2(jnp.stack([z, z * z], axis=1), s=_fft_shape(ny, nx))
    a, a2 = spec[:, 0], spec[:, 1]
    c = _centred_inverse(jnp.stack([m * jnp.conj(a), m * jnp.conj(a2), a * jnp.conj(a)], axis=1), ny, nx)
    c = jnp.concatenate([jnp.broadcast_to(count[None], (b, *count.shape)), c], axis=1)
    return jax.vmap(_pearson, in_axes=(0, 0, None))(c, scale, min_overlap)


def _chunk_autocorrelograms(maps: jax.Array, min_overlap: jax.Array) -> jax.Array:
    """``(B, 2ny-1, 2nx-1)`` autocorrelograms of ``(B, ny, nx)`` maps; on CPU, where ``lax.cond`` runs one
    branch, by :func:`_one_mask_autocorrelograms` when the maps share their visited bins (~25% faster)."""

    def each(m):
        return jax.vmap(_autocorrelogram, in_axes=(0, None))(m, min_overlap)

    if jax.default_backend() != "cpu" or maps.shape[0] < 2:
        return each(maps)
    visited = jnp.isfinite(maps)
    shared = jnp.all(visited == visited[:1])
    return jax.lax.cond(shared, lambda m: _one_mask_autocorrelograms(m, min_overlap), each, maps)


_autocorrelograms = jax.jit(jax.vmap(_autocorrelogram, in_axes=(0, None)))


def compute_autocorrelograms(maps, *, min_overlap: int = 20) -> np.ndarray:
    """Spatial autocorrelograms of rate maps (Sargolini et al. 2006).

    Args:
        maps: ``(U, ny, nx)`` rate maps (row = y bin, column = x bin), NaN for unvisited bins.
        min_overlap: the fewest overlapping visited bins a lag needs; fewer gives NaN (20, Sargolini et al.
            2006).

    Returns:
        ``(U, 2ny-1, 2nx-1)`` float32: entry ``[u, i, j]`` is the Pearson correlation of the map with itself
        shifted by ``(i - (ny-1), j - (nx-1))`` bins (y, x), over the bins visited in both; the centre
        ``[u, ny-1, nx-1]`` is 1. NaN where the overlap is too small or either side is constant (a map with
        no visited bin, or a constant one, is all NaN).
    """
    maps = _check_stack(maps, "maps", "compute_autocorrelograms")
    _check_positive(min_overlap, "min_overlap", "compute_autocorrelograms", integer=True)
    return np.asarray(_autocorrelograms(jnp.asarray(maps), jnp.float32(min_overlap)))


# ------------------------------------------------------------------------------------------------ grid score


class _Geometry(NamedTuple):
    """Static per-shape constants of an autocorrelogram ``(h, w)``, in bins from its centre.

    The annulus sums run over ``bins``: every bin, or for a symmetric autocorrelogram (as
    :func:`compute_autocorrelograms` makes: lag -tau pairs the same map bins as tau) one of each pair p, -p. Its
    rotations are symmetric too (bilinear taps mirror with the same weights), so each annulus sum is ``mirror``
    (2) times its sum over that half (the centre, never in an annulus, is in neither half)."""

    dx: np.ndarray  # (h, w) x offset of each bin
    dy: np.ndarray  # (h, w) y offset
    dist: np.ndarray  # (h, w) distance
    bins: np.ndarray  # (n,) flat index of the bins the annulus sums run over
    mirror: float  # 2.0 when bins are one half of a symmetric autocorrelogram, else 1.0
    rot_base: np.ndarray  # (5, n) each rotated bin's 2x2 taps: their top-left in _patches' flat layout
    # (5, n, 4) their bilinear weights (top-left, top-right, bottom-left, bottom-right)
    rot_weight: np.ndarray
    n_shells: int  # one-bin shells (distance rounded up) 0 .. n_shells - 1 cover the autocorrelogram
    max_radius: int  # the largest circle inside the autocorrelogram
    # (m, max_radius + 1): 1 where bin i's distance, rounded up, is <= R (the bins within R max)
    disks: np.ndarray
    # ((R, m), ...): the first m bins (sorted by distance) are those whose distance, rounded up, is <= R
    tiers: tuple


#: NaN bins around an autocorrelogram for the rotations' taps; a point with no tap inside reads a corner.
_PAD = 2


def _rotation_tables(h: int, w: int, dx: np.ndarray, dy: np.ndarray, bins: np.ndarray):
    """``(5, n)`` top-left tap of the 2x2 bins each rotated bin of ``bins`` (flat indices) interpolates, as an
    index of :func:`_patches` (the autocorrelogram padded by ``_PAD`` NaN bins a side, ``(w + 2 _PAD - 1)`` patches
    a row), and ``(5, n, 4)`` their bilinear weights: the rotated image at p is the original at R(-angle) p. A
    tap of weight 0 is left out of the value and of its NaN test; one outside reads NaN; a point none of whose
    taps is within the padding reads its corner patch, all NaN."""
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    x, y = dx.ravel()[bins], dy.ravel()[bins]
    base, weight = [], []
    for angle in np.deg2rad(_ANGLES):
        c, s = np.cos(angle), np.sin(angle)
        row, col = cy + (-s * x + c * y), cx + (c * x + s * y)
        row = np.where(np.abs(row - np.rint(row)) < 1e-9, np.rint(row), row)  # exact at 90 degrees
        col = np.where(np.abs(col - np.rint(col)) < 1e-9, np.rint(col), col)
        r0, c0 = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
        fr, fc = row - r0, col - c0
        near = (r0 >= -_PAD) & (r0 <= h + _PAD - 2) & (c0 >= -_PAD) & (c0 <= w + _PAD - 2)
        base.append(np.where(near, (r0 + _PAD) * (w + 2 * _PAD - 1) + c0 + _PAD, 0))
        weight.append(np.stack([(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc], axis=-1))
    return np.asarray(base, np.int32), np.asarray(weight, np.float32)


def _geometry(h: int, w: int, symmetric: bool = False) -> _Geometry:
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    dy, dx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    dist = np.hypot(dx, dy)
    bins = np.flatnonzero((dy > 0) | ((dy == 0) & (dx > 0))) if symmetric else np.arange(h * w)
    bins = bins[np.argsort(dist.ravel()[bins], kind="stable")]  # nearest first: a disk's bins are a prefix
    shell = np.ceil(dist.ravel()[bins])
    tiers = tuple((r, int(np.sum(shell <= r))) for r in _RING_TIERS if r < shell[-1]) + (
        (int(shell[-1]), bins.size),
    )
    rot_base, rot_weight = _rotation_tables(h, w, dx, dy, bins)
    max_radius = int(min(cy, cx))  # Langston's annuli stay inside it: their disks' radii 0 .. max_radius
    disks = shell[shell <= max_radius, None] <= np.arange(max_radius + 1)[None, :]
    n_shells = int(np.ceil(dist.max())) + 1
    mirror = 2.0 if symmetric else 1.0
    return _Geometry(
        dx,
        dy,
        dist,
        bins,
        mirror,
        rot_base,
        rot_weight,
        n_shells,
        max_radius,
        disks.astype(np.float32),
        tiers,
    )


def _central_radius(flat_t: jax.Array, geo: _Geometry, threshold: jax.Array) -> jax.Array:
    """``(B,)`` bins: the inner edge of the first one-bin annulus (from radius 1) whose mean correlation is
    below ``threshold``; NaN if none is. ``flat_t``: ``(h*w, B)`` autocorrelograms, one per column."""
    shell = np.rint(geo.dist).astype(np.int32).ravel()
    valid = flat_t == flat_t  # not NaN
    total = jax.ops.segment_sum(jnp.where(valid, flat_t, 0.0), shell, geo.n_shells)  # (n_shells, B)
    count = jax.ops.segment_sum(valid.astype(flat_t.dtype), shell, geo.n_shells)
    profile = jnp.where(count > 0, total / jnp.maximum(count, 1.0), jnp.nan)
    below = (profile < threshold) & (jnp.arange(geo.n_shells) >= 1)[:, None]
    return jnp.where(jnp.any(below, axis=0), jnp.argmax(below, axis=0) - 0.5, jnp.nan)


def _parabola_offset(left: jax.Array, centre: jax.Array, right: jax.Array) -> jax.Array:
    """Sub-bin offset of the vertex of the parabola through three samples (0 where it is not a maximum)."""
    curvature = left - 2.0 * centre + right
    ok = jnp.isfinite(curvature) & (curvature < 0)
    offset = 0.5 * (left - right) / jnp.where(ok, curvature, -1.0)
    return jnp.where(ok, jnp.clip(offset, -0.5, 0.5), 0.0)


def _window_max(filled: jax.Array, k: int) -> jax.Array:
    """``(B, h, w)`` maximum over the ``(2k+1)^2`` square around each bin (-inf beyond the edges), as two
    one-dimensional passes of shifted slices (a fused reduce_window is ~3x slower on XLA's CPU backend)."""
    _, h, w = filled.shape
    rows = jnp.pad(filled, ((0, 0), (k, k), (0, 0)), constant_values=-jnp.inf)
    out = reduce(jnp.maximum, [rows[:, i : i + h] for i in range(2 * k + 1)])
    cols = jnp.pad(out, ((0, 0), (0, 0), (k, k)), constant_values=-jnp.inf)
    return reduce(jnp.maximum, [cols[:, :, i : i + w] for i in range(2 * k + 1)])


def _six_peaks(acorrs: jax.Array, geo: _Geometry, r_in, threshold, neighbourhood: int) -> jax.Array:
    """``(B, 6, 2)`` sub-bin (x, y) offsets, in bins, of the six local maxima nearest the centre outside the
    central peak (NaN rows where fewer are found), of ``(B, h, w)`` autocorrelograms."""
    b, h, w = acorrs.shape
    # the map's bounding box overlaps itself shifted by the lag over this share (the map is (h+1)/2 x (w+1)/2)
    overlap = (1 - np.abs(geo.dx) / ((w + 1) / 2)) * (1 - np.abs(geo.dy) / ((h + 1) / 2))
    inside = overlap >= _PEAK_MIN_OVERLAP
    # Peaks are searched in the box around those lags only (about half the autocorrelogram), its local maxima
    # from the box grown by the neighbourhood (or to the edge, beyond which is -inf as before).
    rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(inside.any(0))
    (r0, r1), (c0, c1) = (rows[0], rows[-1] + 1), (cols[0], cols[-1] + 1)
    k = neighbourhood
    g0, h0 = max(r0 - k, 0), max(c0 - k, 0)
    grown = acorrs[:, g0 : min(r1 + k, h), h0 : min(c1 + k, w)]
    filled = jnp.where(jnp.isfinite(grown), grown, -jnp.inf)
    local_max = _window_max(filled, k)[:, r0 - g0 : r1 - g0, c0 - h0 : c1 - h0]
    filled, box = filled[:, r0 - g0 : r1 - g0, c0 - h0 : c1 - h0], acorrs[:, r0:r1, c0:c1]
    dist = jnp.asarray(geo.dist[r0:r1, c0:c1].ravel(), acorrs.dtype)
    is_peak = ((filled == local_max) & (box > threshold)).reshape(b, -1) & (dist > r_in[:, None])
    is_peak = is_peak & jnp.asarray(inside[r0:r1, c0:c1].ravel())
    # the six nearest, ties to the lower index (the box's row-major order is the autocorrelogram's)
    neg_dist, in_box = jax.lax.top_k(-jnp.where(is_peak, dist, jnp.inf), 6)
    index = (in_box // (c1 - c0) + r0) * w + in_box % (c1 - c0) + c0
    found = jnp.isfinite(neg_dist)
    # the peak and its four neighbours, read from the grown box padded by a NaN border (missing outside; the
    # box is grown by k >= 1 where the autocorrelogram goes on, so every neighbour inside it is in the box)
    padded = jnp.pad(grown, ((0, 0), (1, 1), (1, 1)), constant_values=jnp.nan)
    gw = padded.shape[2]
    centre = (in_box // (c1 - c0) + r0 - g0 + 1) * gw + in_box % (c1 - c0) + c0 - h0 + 1

    def at(offset):
        return jnp.take_along_axis(padded.reshape(b, -1), centre + offset, axis=1)

    mid = at(0)
    off_x = _parabola_offset(at(-1), mid, at(1))
    off_y = _parabola_offset(at(-gw), mid, at(gw))
    xy = jnp.stack(
        [jnp.asarray(geo.dx.ravel())[index] + off_x, jnp.asarray(geo.dy.ravel())[index] + off_y], -1
    )
    return jnp.where(found[..., None], xy, jnp.nan)


def _patches(img_t: jax.Array) -> jax.Array:
    """``((h + 2 _PAD - 1) * (w + 2 _PAD - 1), 4 * B)``: each bin's 2x2 square (top-left, top-right,
    bottom-left, bottom-right, each over the ``B`` units) of ``(h, w, B)`` autocorrelograms padded by ``_PAD``
    NaN bins a side, so that one gathered row holds a rotated bin's four bilinear taps."""
    h, w, b = img_t.shape
    p = jnp.pad(img_t, ((_PAD, _PAD), (_PAD, _PAD), (0, 0)), constant_values=jnp.nan)
    quad = jnp.stack([p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]], axis=2)
    return quad.reshape(-1, 4 * b)


def _rotate(img_t: jax.Array, base: np.ndarray, weight: np.ndarray) -> jax.Array:
    """``(5, n, B)`` the ``(h, w, B)`` autocorrelograms rotated by each of _ANGLES at the bins of ``base`` and
    ``weight`` (:func:`_rotation_tables`), bilinearly: NaN where a tap of nonzero weight is NaN or outside (a tap
    of weight 0 adds 0, so it cannot spread a NaN). One gather of every tap, units last so that each row is
    contiguous (several times faster on XLA's CPU backend than per-tap or per-unit gathers, or map_coordinates)."""
    b = img_t.shape[2]
    taps = _patches(img_t)[jnp.asarray(base)].reshape(*base.shape, 4, b)  # (5, n, 4, B)
    tapped = jnp.asarray(weight != 0)[..., None]
    wt = jnp.asarray(weight)[..., None]
    value = 0.0
    for i in range(4):
        value = value + jnp.where(tapped[:, :, i], wt[:, :, i] * taps[:, :, i], 0.0)
    return value


def _rotations(acorr: jax.Array, geo: _Geometry) -> jax.Array:
    """``(5, h*w)`` one autocorrelogram's rotations by _ANGLES (NaN where invalid), at every bin."""
    h, w = geo.dist.shape
    base, weight = _rotation_tables(h, w, geo.dx, geo.dy, np.arange(h * w))
    return _rotate(jnp.asarray(acorr).reshape(h, w, 1), base, weight)[..., 0]


def _annulus_terms(img_t: jax.Array, geo: _Geometry, r_in: jax.Array, n: int, ring=None) -> jax.Array:
    """``(6, 5, n, B)`` the six annulus sums' terms (count, a, b, a^2, b^2, ab) at the first ``n`` of
    ``geo.bins``, for the five rotations ``b`` of the autocorrelograms ``a`` (``img_t``: ``(h, w, B)``), 0 where
    either is NaN, where ``a`` is within the central peak ``r_in`` or outside ``ring`` (``(n, B)``, optional).
    Masks as 0/1 products, not selects in the sums: XLA's CPU backend runs a select fused into a reduction tens
    of times slower."""
    bins = geo.bins[:n]
    rotated = _rotate(img_t, geo.rot_base[:, :n], geo.rot_weight[:, :n])  # (5, n, B)
    b_ok = rotated == rotated  # not NaN (no infinities: correlations)
    m = b_ok.astype(img_t.dtype)
    b = jnp.where(b_ok, rotated, 0.0)
    a = img_t.reshape(-1, img_t.shape[2])[jnp.asarray(bins)]  # (n, B)
    outside = jnp.asarray(geo.dist.ravel()[bins], a.dtype)[:, None] > r_in[None, :]
    keep = (a == a) & outside if ring is None else (a == a) & outside & ring
    k = keep.astype(a.dtype)
    az = jnp.where(keep, a, 0.0)
    return jnp.stack([m * k, m * az, b * k, m * (az * az), (b * b) * k, b * az])


def _score_from_sums(sums: jax.Array, min_bins: int) -> jax.Array:
    """Grid score ``min(r60, r120) - max(r30, r90, r150)`` from ``(6, 5, ...)`` sums (count, a, b, a^2, b^2,
    ab) over an annulus, ``a`` the autocorrelogram and ``b`` its rotations."""
    n, sa, sb, saa, sbb, sab = sums
    var = (n * saa - sa**2) * (n * sbb - sb**2)
    ok = (n >= min_bins) & (var > 0)
    r = jnp.where(ok, (n * sab - sa * sb) / jnp.sqrt(jnp.where(ok, var, 1.0)), jnp.nan)
    return jnp.minimum(r[1], r[3]) - jnp.maximum(jnp.maximum(r[0], r[2]), r[4])  # 30, 60, 90, 120, 150


def _score_of_ring(img_t, geo: _Geometry, r_in, r_out, min_bins: int):
    """``(B,)`` grid score of each unit's one annulus ``r_in < d``, ``ceil(d) <= r_out`` (bins; Sargolini): its
    terms summed over ``geo.bins`` (times ``geo.mirror``; float32 sums). On CPU, where ``lax.switch`` runs one
    branch, over the bins of the smallest of ``geo.tiers`` that holds every unit's annulus (most hold the
    annuli of a chunk of shuffled maps in 1/2 to 3/4 of the bins), else over all."""

    def sums(n):
        ring = jnp.asarray(np.ceil(geo.dist.ravel()[geo.bins[:n]]), img_t.dtype)[:, None] <= r_out[None, :]
        return geo.mirror * jnp.sum(_annulus_terms(img_t, geo, r_in, n, ring), axis=2)  # (6, 5, B)

    radii, sizes = zip(*geo.tiers, strict=True)
    if jax.default_backend() != "cpu" or len(sizes) == 1:
        return _score_from_sums(sums(sizes[-1]), min_bins)
    tier = jnp.minimum(jnp.searchsorted(jnp.asarray(radii, r_out.dtype), jnp.max(r_out)), len(sizes) - 1)
    return _score_from_sums(jax.lax.switch(tier, [partial(sums, n) for n in sizes]), min_bins)


def _scores_by_radius_t(img_t, geo: _Geometry, r_in, min_bins: int):
    """``(max_radius + 1, B)`` grid score of the annulus ``r_in < d``, ``ceil(d) <= R`` for every outer radius
    ``R`` (bins) up to the largest circle inside the autocorrelogram (Langston): the six sums' terms by bin,
    times the static (bins, radii) disk membership; no (radii, rotations, h, w) array."""
    terms = _annulus_terms(img_t, geo, r_in, geo.disks.shape[0])  # the bins within the largest circle
    sums = jnp.einsum("tahb,hr->tarb", terms, jnp.asarray(geo.disks), precision=jax.lax.Precision.HIGHEST)
    return _score_from_sums(geo.mirror * sums, min_bins)  # (radii, B)


def _scores_by_radius(acorr, geo: _Geometry, r_in, min_bins: int):
    """``(max_radius + 1,)`` :func:`_scores_by_radius_t` of one autocorrelogram."""
    img_t = jnp.asarray(acorr)[..., None]
    return _scores_by_radius_t(img_t, geo, jnp.reshape(jnp.asarray(r_in, img_t.dtype), (1,)), min_bins)[:, 0]


def _grid_batch(
    acorrs, central_threshold, peak_threshold, *, geo: _Geometry, neighbourhood, method, min_bins
):
    """``(B, h, w)`` autocorrelograms' grid measures, lengths in bins: (score, spacing, peaks, r_in, r_out),
    each with the units first."""
    img_t = jnp.moveaxis(acorrs, 0, 2)  # (h, w, B): units last for the gathers and sums
    flat_t = img_t.reshape(-1, acorrs.shape[0])
    r_in = _central_radius(flat_t, geo, central_threshold)
    peaks = _six_peaks(acorrs, geo, r_in, peak_threshold, neighbourhood)
    dist = jnp.hypot(peaks[..., 0], peaks[..., 1])
    spacing = jnp.where(jnp.all(jnp.isfinite(dist), axis=1), jnp.median(dist, axis=1), jnp.nan)
    if method == "sargolini":  # one annulus: its sums alone, not those of every outer radius
        r_out = jnp.max(dist, axis=1) + r_in  # the six fields whole: the farthest peak plus a field's radius
        index = jnp.clip(jnp.round(jnp.nan_to_num(r_out)), 0, geo.n_shells - 1)
        score = jnp.where(jnp.isfinite(r_out), _score_of_ring(img_t, geo, r_in, index, min_bins), jnp.nan)
    else:  # langston: the best mean of 3 consecutive outer radii (opexebo / BNT) inside the largest circle
        by_radius = _scores_by_radius_t(img_t, geo, r_in, min_bins).T  # (B, radii 0 .. max_radius)
        radii = jnp.arange(by_radius.shape[1])
        allowed = (radii >= jnp.maximum(3.0, r_in[:, None] + 1.0)) & jnp.isfinite(by_radius)
        scores = jnp.where(allowed, by_radius, 0.0)
        n_windows = scores.shape[1] - _LANGSTON_WINDOW + 1  # [i] = radii i .. i + window - 1
        sums = sum(scores[:, i : i + n_windows] for i in range(_LANGSTON_WINDOW))
        whole = sum(allowed[:, i : i + n_windows].astype(jnp.int32) for i in range(_LANGSTON_WINDOW))
        whole = whole == _LANGSTON_WINDOW
        start = jnp.argmax(jnp.where(whole, sums, -jnp.inf), axis=1)
        index = (start + _LANGSTON_WINDOW // 2).astype(acorrs.dtype)
        best = jnp.take_along_axis(sums, start[:, None], axis=1)[:, 0]
        score = jnp.where(jnp.any(whole, axis=1), best / _LANGSTON_WINDOW, jnp.nan)
    r_out = jnp.where(jnp.isfinite(score), index.astype(acorrs.dtype), jnp.nan)
    return score, spacing, peaks, r_in, r_out


_CACHE: dict[tuple, object] = {}


def _grid_fn(shape: tuple[int, int], neighbourhood: int, method: str, min_bins: int, from_maps: bool):
    """The jitted computation over a stack of units for one static configuration (built once, then reused)."""
    key = (shape, neighbourhood, method, min_bins, from_maps)
    if key not in _CACHE:
        h, w = (2 * shape[0] - 1, 2 * shape[1] - 1) if from_maps else shape
        score = partial(
            _grid_batch,
            geo=_geometry(h, w, symmetric=from_maps),
            neighbourhood=neighbourhood,
            method=method,
            min_bins=min_bins,
        )
        if from_maps:

            def batch(stack, min_overlap, central_threshold, peak_threshold):
                # Two passes, not one per chunk: fused, XLA recomputes each autocorrelogram from its four
                # correlation planes in every one of the score's reads of it (measured 1.5x slower on CPU).
                acorrs = _map_chunks(lambda maps: _chunk_autocorrelograms(maps, min_overlap), stack)
                return acorrs, _map_chunks(lambda a: score(a, central_threshold, peak_threshold), acorrs)
        else:

            def batch(stack, *scalars):
                return _map_chunks(lambda a: score(a, *scalars), stack)

        _CACHE[key] = jax.jit(batch)
    return _CACHE[key]


def _map_chunks(fn, stack):
    """``fn`` (of a ``(B, ...)`` stack of units) over ``stack``: on CPU in chunks of ``_CPU_UNIT_BATCH`` units
    (the last padded with NaN maps, whose results are dropped), so that the annulus terms' (30, bins, units)
    array stays in cache (64 units at once measured 2x slower than 32 on CPU, 16 ~8% slower); elsewhere all at
    once."""
    n = stack.shape[0]
    size = min(n, _CPU_UNIT_BATCH)
    if jax.default_backend() != "cpu" or n <= size:
        return fn(stack)
    n_chunks = -(-n // size)
    padded = jnp.concatenate([stack, jnp.full((n_chunks * size - n, *stack.shape[1:]), jnp.nan, stack.dtype)])
    out = jax.lax.map(fn, padded.reshape(n_chunks, size, *stack.shape[1:]))
    return jax.tree.map(lambda x: x.reshape(n_chunks * size, *x.shape[2:])[:n], out)


def _to_scores(raw, bin_size: float) -> GridScores:
    score, spacing, peaks, r_in, r_out = (np.asarray(x, np.float64) for x in raw)
    # Orientation: the circular mean of 6 x the peaks' angles (a hexagonal lattice repeats every 60 degrees).
    theta = np.arctan2(peaks[..., 1], peaks[..., 0])
    orientation = np.mod(np.angle(np.sum(np.exp(6j * theta), axis=-1)) / 6.0, np.pi / 3.0)
    orientation = np.where(np.isfinite(spacing), orientation, np.nan)
    return GridScores(
        score, spacing * bin_size, orientation, peaks * bin_size, r_in * bin_size, r_out * bin_size
    )


def _check_grid_options(caller, bin_size, method, central_threshold, peak_threshold, peak_neighbourhood):
    _check_positive(bin_size, "bin_size (metres)", caller)
    if method not in _METHODS:
        raise ValueError(f"{caller}: method must be one of {_METHODS}, got {method!r}")
    _check_threshold(central_threshold, "central_threshold", caller)
    _check_threshold(peak_threshold, "peak_threshold", caller)
    _check_positive(peak_neighbourhood, "peak_neighbourhood (metres)", caller)
    return max(1, int(round(float(peak_neighbourhood) / float(bin_size))))


def compute_grid_scores(
    autocorrelograms,
    *,
    bin_size: float,
    method: str = "sargolini",
    central_threshold: float = 0.1,
    peak_threshold: float = 0.0,
    peak_neighbourhood: float = 0.05,
) -> GridScores:
    """Grid score, spacing and orientation from spatial autocorrelograms.

    Args:
        autocorrelograms: ``(U, h, w)`` autocorrelograms centred on ``((h-1)/2, (w-1)/2)``, h and w odd (as
            :func:`compute_autocorrelograms` returns), NaN where undefined.
        bin_size: metres per bin of the rate maps they come from.
        method: ``"sargolini"`` (one annulus, from the central peak to the six peaks; Sargolini et al.
            2006) or ``"langston"`` (the best of annuli of growing outer radius; Langston et al. 2010).
        central_threshold: the central peak ends where the mean correlation over a one-bin annulus first
            falls below this (0.1: package choice).
        peak_threshold: a local maximum counts as a peak only above this correlation (0.0: package choice).
        peak_neighbourhood: metres; a peak is the maximum of the square of half-side this around it
            (0.05 m = 2 bins at 2.5 cm; well under half the smallest grid spacing, ~0.3 m, Hafting et al.
            2005).

    Returns:
        :class:`GridScores`; score NaN where it cannot be computed (no central peak found, fewer than six
        peaks for ``sargolini``, too few valid bins in the annulus); spacing and orientation NaN where six
        peaks are not found (a one-field map's autocorrelogram often has none at the lags that span 30% of it).
    """
    caller = "compute_grid_scores"
    acorrs = _check_stack(autocorrelograms, "autocorrelograms", caller)
    if acorrs.shape[1] % 2 == 0 or acorrs.shape[2] % 2 == 0:
        raise ValueError(f"{caller}: autocorrelograms must have odd sides (2ny-1, 2nx-1), got {acorrs.shape}")
    k = _check_grid_options(caller, bin_size, method, central_threshold, peak_threshold, peak_neighbourhood)
    fn = _grid_fn(acorrs.shape[1:], k, method, _MIN_RING_BINS, from_maps=False)
    raw = fn(jnp.asarray(acorrs), jnp.float32(central_threshold), jnp.float32(peak_threshold))
    return _to_scores(raw, float(bin_size))


def compute_grid_properties(
    maps,
    *,
    bin_size: float,
    min_overlap: int = 20,
    method: str = "sargolini",
    central_threshold: float = 0.1,
    peak_threshold: float = 0.0,
    peak_neighbourhood: float = 0.05,
) -> GridProperties:
    """Autocorrelograms and grid measures of rate maps in one jitted call.

    Args:
        maps: ``(U, ny, nx)`` rate maps (row = y bin, column = x bin), NaN for unvisited bins.
        bin_size: metres per bin.
        min_overlap: as :func:`compute_autocorrelograms` (20, Sargolini et al. 2006).
        method: ``"sargolini"`` (one annulus, from the central peak to the six peaks; Sargolini et al.
            2006) or ``"langston"`` (the best of annuli of growing outer radius; Langston et al. 2010).
        central_threshold: the central peak ends where the mean correlation over a one-bin annulus first
            falls below this (0.1: package choice).
        peak_threshold: a local maximum counts as a peak only above this correlation (0.0: package choice).
        peak_neighbourhood: metres; a peak is the maximum of the square of half-side this around it
            (0.05 m = 2 bins at 2.5 cm; well under half the smallest grid spacing, ~0.3 m, Hafting et al.
            2005).

    Returns:
        :class:`GridProperties`: ``autocorrelograms`` ``(U, 2ny-1, 2nx-1)`` and ``scores``
        (:class:`GridScores`, as :func:`compute_grid_scores`).
    """
    caller = "compute_grid_properties"
    maps = _check_stack(maps, "maps", caller)
    _check_positive(min_overlap, "min_overlap", caller, integer=True)
    k = _check_grid_options(caller, bin_size, method, central_threshold, peak_threshold, peak_neighbourhood)
    fn = _grid_fn(maps.shape[1:], k, method, _MIN_RING_BINS, from_maps=True)
    acorrs, raw = fn(
        jnp.asarray(maps),
        jnp.float32(min_overlap),
        jnp.float32(central_threshold),
        jnp.float32(peak_threshold),
    )
    return GridProperties(np.asarray(acorrs), _to_scores(raw, float(bin_size)))


def make_grid_score_fn(
    shape: tuple[int, int],
    *,
    bin_size: float,
    min_overlap: int = 20,
    method: str = "sargolini",
    central_threshold: float = 0.1,
    peak_threshold: float = 0.0,
    peak_neighbourhood: float = 0.05,
):
    """The grid score of :func:`compute_grid_properties` as a jittable ``(maps (U, ny, nx), occupancy) -> (U,)``
    function (the form :func:`~.shuffles.make_map_score_fn` takes; ``occupancy`` is not used: the visited bins
    are the maps' finite ones), for rate maps of ``shape = (ny, nx)`` bins. Arguments as
    :func:`compute_grid_properties`."""
    caller = "make_grid_score_fn"
    if len(shape) != 2 or min(int(v) for v in shape) < 2:
        raise ValueError(f"{caller}: shape must be the maps' (ny, nx) bins, each >= 2, got {shape!r}")
    _check_positive(min_overlap, "min_overlap", caller, integer=True)
    k = _check_grid_options(caller, bin_size, method, central_threshold, peak_threshold, peak_neighbourhood)
    fn = _grid_fn((int(shape[0]), int(shape[1])), k, method, _MIN_RING_BINS, from_maps=True)
    scalars = (float(min_overlap), float(central_threshold), float(peak_threshold))

    def grid_score(maps, occupancy=None):
        return fn(maps, *(jnp.float32(v) for v in scalars))[1][0]

    return grid_score
