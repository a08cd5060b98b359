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
_CPU_UNIT_BATCH = 16  # units computed at once on CPU (_map_chunks)
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


def _cross_correlations(fields: jax.Array, ny: int, nx: int) -> jax.Array:
    """``c[k, p, q]`` = sum over x of ``f_k1(x + tau) f_k2(x)`` for the pairs below, at every lag ``tau``
    ``= (p - (ny-1), q - (nx-1))``; ``fields`` = (mask, masked map, masked squared map)."""
    # >= 2n-1 along each axis, so the circular correlation has no wrap-around; 5-smooth, so the FFT is fast.
    shape = (_fft_size(2 * ny - 1), _fft_size(2 * nx - 1))
    spec = jnp.fft.rfft2(fields, s=shape)
    m, a, a2 = spec[0], spec[1], spec[2]
    # (mask, mask), (mask, map), (mask, map^2), (map, map): the other two sums are these at -tau.
    prods = jnp.stack([m * jnp.conj(m), m * jnp.conj(a), m * jnp.conj(a2), a * jnp.conj(a)])
    full = jnp.fft.irfft2(prods, s=shape)
    full = jnp.roll(full, (ny - 1, nx - 1), axis=(1, 2))
    return full[:, : 2 * ny - 1, : 2 * nx - 1]


def _autocorrelogram(rate_map: jax.Array, min_overlap: jax.Array) -> jax.Array:
    """One unit's autocorrelogram ``(2ny-1, 2nx-1)`` (Pearson r over overlapping visited bins per lag)."""
    ny, nx = rate_map.shape
    visited = jnp.isfinite(rate_map)
    n_visited = jnp.sum(visited)
    # Pearson r is unchanged by an affine map of the rates: standardise first, so float32 sums stay small.
    mean = jnp.sum(jnp.where(visited, rate_map, 0.0)) / jnp.maximum(n_visited, 1)
    centred = jnp.where(visited, rate_map - mean, 0.0)
    scale = jnp.sqrt(jnp.sum(centred**2) / jnp.maximum(n_visited, 1))
    z = centred / jnp.where(scale > 0, scale, 1.0)
    mask = visited.astype(z.dtype)
    c = _cross_correlations(jnp.stack([mask, z, z * z]), ny, nx)
    n = jnp.round(c[0])  # an integer count; the FFT leaves rounding noise
    sum_q, sum_qq, sum_pq = c[1], c[2], c[3]  # q = map(x + tau) over the overlap
    sum_p, sum_pp = c[1, ::-1, ::-1], c[2, ::-1, ::-1]  # p = map(x): the same sums at -tau
    cov = n * sum_pq - sum_p * sum_q
    var = (n * sum_pp - sum_p**2) * (n * sum_qq - sum_q**2)
    ok = (n >= min_overlap) & (var > 0) & (scale > 0)
    r = cov / jnp.sqrt(jnp.where(ok, var, 1.0))
    return jnp.where(ok, jnp.clip(r, -1.0, 1.0), jnp.nan)


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
    """Static per-shape constants of an autocorrelogram ``(h, w)``, in bins from its centre."""

    dx: np.ndarray  # (h, w) x offset of each bin
    dy: np.ndarray  # (h, w) y offset
    dist: np.ndarray  # (h, w) distance
    rot_index: np.ndarray  # (5, 4, h*w) flat index of the 4 bins each rotated bin interpolates
    rot_weight: np.ndarray  # (5, 4, h*w) their bilinear weights
    n_shells: int  # one-bin shells (distance rounded up) 0 .. n_shells - 1 cover the autocorrelogram
    max_radius: int  # the largest circle inside the autocorrelogram
    disks: np.ndarray  # (h*w, max_radius + 1): 1 where a bin's distance, rounded up, is <= the radius R


def _rotation_tables(h: int, w: int, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(5, 4, h*w)`` flat indices and bilinear weights of the rotated image: the rotated image at p is
    the original at R(-angle) p; index h*w reads 0 (weight 0), h*w + 1 reads NaN (outside)."""
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    index, weight = [], []
    for angle in np.deg2rad(_ANGLES):
        c, s = np.cos(angle), np.sin(angle)
        row, col = (cy + (-s * dx + c * dy)).ravel(), (cx + (c * dx + s * dy)).ravel()
        row = np.where(np.abs(row - np.rint(row)) < 1e-9, np.rint(row), row)  # exact at 90 degrees
        col = np.where(np.abs(col - np.rint(col)) < 1e-9, np.rint(col), col)
        r0, c0 = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
        fr, fc = row - r0, col - c0
        idx, wts = [], []
        for rr, cc, wt in (
            (r0, c0, (1 - fr) * (1 - fc)),
            (r0, c0 + 1, (1 - fr) * fc),
            (r0 + 1, c0, fr * (1 - fc)),
            (r0 + 1, c0 + 1, fr * fc),
        ):
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            idx.append(np.where(wt == 0, h * w, np.where(inside, rr * w + cc, h * w + 1)))
            wts.append(wt)
        index.append(idx)
        weight.append(wts)
    return np.asarray(index, np.int32), np.asarray(weight, np.float32)


def _geometry(h: int, w: int) -> _Geometry:
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    dy, dx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    dist = np.hypot(dx, dy)
    rot_index, rot_weight = _rotation_tables(h, w, dx, dy)
    max_radius = int(min(cy, cx))  # Langston's annuli stay inside it: their disks' radii 0 .. max_radius
    disks = np.ceil(dist).ravel()[:, None] <= np.arange(max_radius + 1)[None, :]
    return _Geometry(
        dx,
        dy,
        dist,
        rot_index,
        rot_weight,
        int(np.ceil(dist.max())) + 1,
        max_radius,
        disks.astype(np.float32),
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
    filled = jnp.where(jnp.isfinite(acorrs), acorrs, -jnp.inf)
    local_max = _window_max(filled, neighbourhood)
    dist = jnp.asarray(geo.dist.ravel(), acorrs.dtype)
    # the map's bounding box overlaps itself shifted by the lag over this share (the map is (h+1)/2 x (w+1)/2)
    overlap = (1 - np.abs(geo.dx) / ((w + 1) / 2)) * (1 - np.abs(geo.dy) / ((h + 1) / 2))
    inside = jnp.asarray((overlap >= _PEAK_MIN_OVERLAP).ravel())
    is_peak = ((filled == local_max) & (acorrs > threshold)).reshape(b, -1) & (dist > r_in[:, None]) & inside
    neg_dist, index = jax.lax.top_k(-jnp.where(is_peak, dist, jnp.inf), 6)
    found = jnp.isfinite(neg_dist)
    # the peak and its four neighbours, read from the maps padded by a NaN border (missing outside)
    padded = jnp.pad(acorrs, ((0, 0), (1, 1), (1, 1)), constant_values=jnp.nan).reshape(b, -1)
    centre = (index // w + 1) * (w + 2) + index % w + 1

    def at(offset):
        return jnp.take_along_axis(padded, centre + offset, axis=1)

    mid = at(0)
    off_x = _parabola_offset(at(-1), mid, at(1))
    off_y = _parabola_offset(at(-(w + 2)), mid, at(w + 2))
    xy = jnp.stack(
        [jnp.asarray(geo.dx.ravel())[index] + off_x, jnp.asarray(geo.dy.ravel())[index] + off_y], -1
    )
    return jnp.where(found[..., None], xy, jnp.nan)


def _rotations_t(flat_t: jax.Array, geo: _Geometry) -> jax.Array:
    """``(5, h*w, B)`` the ``(h*w, B)`` autocorrelograms rotated by each of _ANGLES, bilinearly: NaN where a
    bin with a nonzero weight is NaN or outside (a bin of weight 0 reads 0, so it cannot spread a NaN).
    Static indices and weights, units last so that each index gathers a contiguous row (~2x faster on XLA's
    CPU backend than per-unit gathers, several times faster than map_coordinates); a tap whose weights are all
    0 (the exact 90 degrees) is skipped."""
    b = flat_t.shape[1]
    padded = jnp.concatenate(
        [flat_t, jnp.zeros((1, b), flat_t.dtype), jnp.full((1, b), jnp.nan, flat_t.dtype)]
    )
    out = []
    for index, weight in zip(geo.rot_index, geo.rot_weight, strict=True):
        terms = []
        for idx, wt in zip(index, weight, strict=True):
            if not wt.any():
                continue
            tap = padded[idx]
            terms.append(tap if np.all(wt == 1) else jnp.asarray(wt)[:, None] * tap)
        out.append(reduce(jnp.add, terms))
    return jnp.stack(out)


def _rotations(acorr: jax.Array, geo: _Geometry) -> jax.Array:
    """``(5, h*w)`` one autocorrelogram's rotations (:func:`_rotations_t` of one unit)."""
    return _rotations_t(jnp.asarray(acorr).reshape(-1, 1), geo)[..., 0]


def _annulus_factors(flat_t: jax.Array, geo: _Geometry, r_in: jax.Array):
    """The annulus sums' factors, units first: ``left`` ``(B, 15, h*w)`` = (valid, b, b^2) of the five
    rotations ``b`` (0 where NaN) and ``right`` ``(B, h*w, 3)`` = (valid, a, a^2) of the autocorrelogram ``a``
    outside the central peak (0 where NaN or inside); ``flat_t``: ``(h*w, B)``. Masks as 0/1 products, not
    selects in the sums: XLA's CPU backend runs a select fused into a reduction tens of times slower than a
    product."""
    rotated = jnp.moveaxis(_rotations_t(flat_t, geo), 2, 0)  # (B, 5, h*w)
    b_ok = rotated == rotated  # not NaN (no infinities: correlations)
    bz = jnp.where(b_ok, rotated, 0.0)
    a = flat_t.T
    outside = jnp.asarray(geo.dist.ravel(), a.dtype)[None, :] > r_in[:, None]
    keep = ((a == a) & outside).astype(a.dtype)
    az = jnp.where(keep > 0, a, 0.0)
    left = jnp.concatenate([b_ok.astype(a.dtype), bz, bz * bz], axis=1)
    right = jnp.stack([keep, az, az * az], axis=2)
    return left, right


def _score_from_sums(sums: jax.Array, min_bins: int) -> jax.Array:
    """Grid score ``min(r60, r120) - max(r30, r90, r150)`` from ``(6, 5, ...)`` sums (count, a, b, a^2, b^2,
    ab) over an annulus, ``a`` the autocorrelogram and ``b`` its rotations."""
    n, sa, sb, saa, sbb, sab = sums
    var = (n * saa - sa**2) * (n * sbb - sb**2)
    ok = (n >= min_bins) & (var > 0)
    r = jnp.where(ok, (n * sab - sa * sb) / jnp.sqrt(jnp.where(ok, var, 1.0)), jnp.nan)
    return jnp.minimum(r[1], r[3]) - jnp.maximum(jnp.maximum(r[0], r[2]), r[4])  # 30, 60, 90, 120, 150


def _score_of_ring(flat_t, geo: _Geometry, r_in, r_out, min_bins: int):
    """``(B,)`` grid score of each unit's one annulus ``r_in < d``, ``ceil(d) <= r_out`` (bins; Sargolini): a
    ``(15, h*w)`` by ``(h*w, 3)`` product per unit, in full float32 precision (GPUs' default would round to
    TF32)."""
    left, right = _annulus_factors(flat_t, geo, r_in)
    ring = jnp.asarray(np.ceil(geo.dist.ravel()), right.dtype)[None, :] <= r_out[:, None]
    right = right * ring[..., None].astype(right.dtype)
    s = jnp.einsum("bkh,bhj->bkj", left, right, precision=jax.lax.Precision.HIGHEST)
    s = s.reshape(-1, 3, len(_ANGLES), 3)
    sums = [s[:, 0, :, 0], s[:, 0, :, 1], s[:, 1, :, 0], s[:, 0, :, 2], s[:, 2, :, 0], s[:, 1, :, 1]]
    return _score_from_sums(jnp.stack([x.T for x in sums]), min_bins)


def _scores_by_radius_t(flat_t, geo: _Geometry, r_in, min_bins: int):
    """``(max_radius + 1, B)`` grid score of the annulus ``r_in < d``, ``ceil(d) <= R`` for every outer radius
    ``R`` (bins) up to the largest circle inside the autocorrelogram (Langston): the six sums' terms by bin,
    times the static (bins, radii) disk membership; no (radii, rotations, h, w) array."""
    left, right = _annulus_factors(flat_t, geo, r_in)
    m, b, bb = jnp.split(left, 3, axis=1)  # (B, 5, h*w) each
    k, a, aa = (x[:, None, :] for x in jnp.moveaxis(right, 2, 0))  # (B, 1, h*w) each
    terms = jnp.stack([m * k, m * a, b * k, m * aa, bb * k, b * a], axis=1)  # (B, 6, 5, h*w)
    sums = jnp.einsum("btah,hr->btar", terms, jnp.asarray(geo.disks), precision=jax.lax.Precision.HIGHEST)
    sums = jnp.moveaxis(sums, 0, -1)  # (6, 5, radii, B)
    return _score_from_sums(sums, min_bins)


def _scores_by_radius(acorr, geo: _Geometry, r_in, min_bins: int):
    """``(max_radius + 1,)`` :func:`_scores_by_radius_t` of one autocorrelogram."""
    flat_t = jnp.asarray(acorr).reshape(-1, 1)
    return _scores_by_radius_t(flat_t, geo, jnp.reshape(jnp.asarray(r_in, flat_t.dtype), (1,)), min_bins)[
        :, 0
    ]


def _grid_batch(
    acorrs, central_threshold, peak_threshold, *, geo: _Geometry, neighbourhood, method, min_bins
):
    """``(B, h, w)`` autocorrelograms' grid measures, lengths in bins: (score, spacing, peaks, r_in, r_out),
    each with the units first."""
    flat_t = acorrs.reshape(acorrs.shape[0], -1).T  # (h*w, B): units last for the gathers and sums
    r_in = _central_radius(flat_t, geo, central_threshold)
    peaks = _six_peaks(acorrs, geo, r_in, peak_threshold, neighbourhood)
    dist = jnp.hypot(peaks[..., 0], peaks[..., 1])
    spacing = jnp.where(jnp.all(jnp.isfinite(dist), axis=1), jnp.median(dist, axis=1), jnp.nan)
    if method == "sargolini":  # one annulus: its sums alone, not those of every outer radius
        r_out = jnp.max(dist, axis=1) + r_in  # the six fields whole: the farthest peak plus a field's radius
        index = jnp.clip(jnp.round(jnp.nan_to_num(r_out)), 0, geo.n_shells - 1)
        score = jnp.where(jnp.isfinite(r_out), _score_of_ring(flat_t, geo, r_in, index, min_bins), jnp.nan)
    else:  # langston: the best mean of 3 consecutive outer radii (opexebo / BNT) inside the largest circle
        by_radius = _scores_by_radius_t(flat_t, geo, r_in, min_bins).T  # (B, radii 0 .. max_radius)
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
            _grid_batch, geo=_geometry(h, w), neighbourhood=neighbourhood, method=method, min_bins=min_bins
        )
        if from_maps:
            acorr = jax.vmap(_autocorrelogram, in_axes=(0, None))

            def batch(stack, min_overlap, central_threshold, peak_threshold):
                # Two passes, not one per chunk: fused, XLA recomputes each autocorrelogram from its four
                # correlation planes in every one of the score's reads of it (measured 1.5x slower on CPU).
                acorrs = _map_chunks(lambda maps: acorr(maps, min_overlap), stack)
                return acorrs, _map_chunks(lambda a: score(a, central_threshold, peak_threshold), acorrs)
        else:

            def batch(stack, *scalars):
                return _map_chunks(lambda a: score(a, *scalars), stack)

        _CACHE[key] = jax.jit(batch)
    return _CACHE[key]


def _map_chunks(fn, stack):
    """``fn`` (of a ``(B, ...)`` stack of units) over ``stack``: on CPU in chunks of ``_CPU_UNIT_BATCH`` units
    (the last padded with NaN maps, whose results are dropped), so that the annulus terms' (30, bins, units)
    array stays in cache (measured ~1.5x faster on 2 cores than all at once); elsewhere all at once."""
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
