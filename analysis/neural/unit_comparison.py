"""Model vs brain on behaviour: two sets of units (an agent's and a rat's, or two agents') compared by how
they map space, though they were recorded on different paths.

Two populations recorded at different times never share samples, but in one arena they share places. Each
unit's rate map (occupancy-normalised, :func:`~neuroethology.analysis.neural.tuning.make_rate_map_fn`) is
its response to each spatial bin, so the bins visited by both are the common "conditions": ``X (bins, U_a)``
and ``Y (bins, U_b)``. On them :func:`compare_unit_maps` computes linear CKA, the Procrustes shape distance
(Williams et al. 2021), the mean canonical correlation and RSA with cross-validated distances between bins
(Walther et al. 2016; the two halves of each recording are the partitions), with

* a null: B's units circularly time-shifted against B's own path (at least ``min_shift`` s, as the tuning
  shuffles), which keeps every unit's rate and temporal structure but destroys its spatial tuning; the
  p-value is the share of shuffles at least as alike (Phipson & Smyth 2010);
* noise ceilings: each population against itself across the two halves of its recording (first and second
  half of its time), the best any model could reach at half the data.

The maps are compared in the arena both recordings share; recordings in different arenas are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from neuroethology.data.neural import activity_of

from .._recording import arena_extent, arena_of, arena_size, select_track
from .representation import compute_cca, compute_cka, compute_procrustes_distance, compute_rsa
from .shuffles import draw_shifts, shift_activity
from .tuning import make_rate_map_fn

__all__ = ["STATISTICS", "compare_unit_maps"]


def _mean_cca(X: np.ndarray, Y: np.ndarray) -> float:
    k = min(10, X.shape[1], Y.shape[1])
    return float(np.mean(compute_cca(X, Y, n_components=k, regularization=1e-3).correlations))


# name: (function of (X, Y), larger is more alike)
STATISTICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "cka": (compute_cka, True),
    "procrustes": (compute_procrustes_distance, False),
    "cca": (_mean_cca, True),
}


def _population(rec: xr.Dataset, individual, bin_size: float, sigma: float, caller: str) -> dict[str, Any]:
    """One population's maps over its arena: whole recording and each half, and what shuffles need."""
    act = activity_of(rec, individual=individual)
    values = np.asarray(act.activity.values, float)
    track = select_track(rec, individual=individual, caller=caller)
    own = np.asarray(act.activity["time"].values, float)
    if own.size != track.time.size or not np.allclose(own, track.time):
        raise ValueError(
            f"{caller}: the activity and the track of {track.individual!r} are not on the same samples"
        )
    durations = np.where(np.all(np.isfinite(values), axis=1), track.sample_durations, 0.0)
    values = np.nan_to_num(values)
    kind = "counts" if act.kind == "counts" else "rate"
    arena = arena_of(rec)
    grid = dict(extent=arena_extent(arena), bin_size=bin_size, sigma=sigma, kind=kind, max_outside=0.01)
    clock = np.cumsum(durations)
    first = clock <= clock[-1] / 2
    maps = [
        make_rate_map_fn(track.xy, durations * m, **grid).apply for m in (np.ones_like(first), first, ~first)
    ]
    whole, half1, half2 = (np.asarray(f(jnp.asarray(values, jnp.float32))) for f in maps)
    return {
        "arena": arena,
        "values": values,
        "durations": durations,
        "apply": maps[0],
        "maps": (whole, half1, half2),
        "units": [str(u) for u in act.activity["unit"].values],
        "name": str(track.individual),
    }


def _flat(maps: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return maps.reshape(maps.shape[0], -1)[:, keep].T.astype(float)  # (bins, units)


def _null(b: dict[str, Any], X: np.ndarray, keep: np.ndarray, n: int, min_shift: float, seed: int):
    """Each statistic between X and B's maps with B's units time-shifted, ``(n,)`` per statistic."""
    shifts = draw_shifts(
        jax.random.key(seed), b["durations"], n_units=len(b["units"]), n_shuffles=n, min_shift=min_shift
    )
    act = jnp.asarray(b["values"], jnp.float32)
    shuffled_maps = jax.jit(lambda s: b["apply"](shift_activity(act, s)))
    out = {name: np.empty(n) for name in STATISTICS}
    for i in range(n):
        Y = _flat(np.asarray(shuffled_maps(jnp.asarray(shifts[i]))), keep)
        ok = np.all(np.isfinite(Y), axis=1)
        for name, (fn, _) in STATISTICS.items():
            out[name][i] = fn(X[ok], Y[ok])
    return out


def compare_unit_maps(
    a: xr.Dataset,
    b: xr.Dataset,
    *,
    labels: tuple[str, str] = ("a", "b"),
    individual_a=None,
    individual_b=None,
    bin_size: float | None = None,
    sigma: float | None = None,
    n_shuffles: int = 200,
    min_shift: float = 20.0,
    seed: int = 0,
) -> xr.Dataset:
    """How alike two populations represent the arena they share (see the module docstring).

    Args:
        a, b: Recordings with neural data (``activity``, spikes or an agent's ``hidden``) in the same arena.
        bin_size: m, default a twentieth of the arena's size (5 cm in a 1 m box: enough visits per bin in
            both halves of a 10-minute session); sigma: m, map smoothing, default one bin.
        n_shuffles, min_shift: the null (B's units shifted against B's path by at least ``min_shift`` s).

    Returns:
        ``Dataset`` over ``statistic`` (cka, procrustes, cca, rsa): ``value``, ``p_value`` (the null's share
        at least as alike; NaN for rsa, whose 2-partition RDMs take no shuffled null here), ``null_mean``,
        ``ceiling_a`` and ``ceiling_b`` (each population's halves against each other; NaN for rsa),
        ``more_alike`` (larger = more alike);
        attrs: the bins, units and settings.
    """
    caller = "compare_unit_maps"
    if arena_of(a) is None or arena_of(a) != arena_of(b):
        raise ValueError(
            f"{caller}: both recordings must carry one arena (got {arena_of(a)} and {arena_of(b)}); rate maps "
            "are compared bin by bin in the arena both populations explored"
        )
    scale = arena_size(arena_of(a))
    bin_size = scale / 20 if bin_size is None else float(bin_size)
    sigma = bin_size if sigma is None else float(sigma)
    pa = _population(a, individual_a, bin_size, sigma, caller)
    pb = _population(b, individual_b, bin_size, sigma, caller)
    stacks = [m.reshape(m.shape[0], -1) for p in (pa, pb) for m in p["maps"]]
    keep = np.all(np.concatenate([np.isfinite(s) for s in stacks]), axis=0)
    if keep.sum() < 10:
        raise ValueError(
            f"{caller}: only {int(keep.sum())} bins were visited in both halves of both recordings"
        )
    X, Y = _flat(pa["maps"][0], keep), _flat(pb["maps"][0], keep)
    null = _null(pb, X, keep, n_shuffles, min_shift, seed)
    names = [*STATISTICS, "rsa"]
    value, p, null_mean, ceil_a, ceil_b, more = ([] for _ in range(6))
    halves = [(_flat(p["maps"][1], keep), _flat(p["maps"][2], keep)) for p in (pa, pb)]
    for name, (fn, larger) in STATISTICS.items():
        v = fn(X, Y)
        extreme = null[name] >= v if larger else null[name] <= v
        value.append(v)
        p.append((1 + int(extreme.sum())) / (1 + n_shuffles))
        null_mean.append(float(np.mean(null[name])))
        ceil_a.append(fn(*halves[0]))
        ceil_b.append(fn(*halves[1]))
        more.append(larger)
    value.append(_rsa(halves, keep))
    p.append(np.nan)
    null_mean.append(np.nan)
    ceil_a.append(np.nan)
    ceil_b.append(np.nan)
    more.append(True)
    return xr.Dataset(
        {
            "value": ("statistic", np.array(value, float)),
            "p_value": ("statistic", np.array(p, float)),
            "null_mean": ("statistic", np.array(null_mean, float)),
            "ceiling_a": ("statistic", np.array(ceil_a, float)),
            "ceiling_b": ("statistic", np.array(ceil_b, float)),
            "more_alike": ("statistic", np.array(more, bool)),
        },
        coords={"statistic": names},
        attrs={
            "labels": list(labels),
            "n_bins": int(keep.sum()),
            "bin_size": bin_size,
            "sigma": sigma,
            "n_units": [len(pa["units"]), len(pb["units"])],
            "individuals": [pa["name"], pb["name"]],
            "n_shuffles": int(n_shuffles),
            "min_shift": float(min_shift),
        },
    )


def _rsa(halves, keep) -> float:
    """RSA between A and B over the bins: Spearman correlation of their cross-validated (Euclidean) RDMs,
    the two halves of each recording being the partitions. It has no ceiling here: a split-half ceiling would
    need two independent cross-validated RDMs of one population, i.e. at least four partitions."""
    n = int(keep.sum())
    conditions = np.r_[np.arange(n), np.arange(n)]
    partitions = np.r_[np.zeros(n), np.ones(n)]
    (a1, a2), (b1, b2) = halves
    rsa = compute_rsa(
        np.vstack([a1, a2]), np.vstack([b1, b2]), conditions, metric="euclidean", partitions=partitions
    )
    return float(rsa.spearman)
