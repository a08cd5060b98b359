"""The statistics of :func:`~neuroethology.analysis.compare_groups`: permutation tests and percentile
bootstrap intervals over resampling units.

Every statistic is a function of per-unit additive vectors (a histogram, a ``(sum, count)`` pair, an
occupancy map: one row per resampling unit), so a permutation or a bootstrap resample is a matrix product
of a 0/1 (or count) weight matrix with the rows.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = [
    "ks_binned",
    "mean_difference",
    "jensen_shannon",
    "permutation_test",
    "bootstrap_means",
    "percentile_ci",
]


def ks_binned(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """KS distance between the binned distributions summed in the rows of ``A`` and ``B`` ``(k, bins)``."""
    Fa = np.cumsum(A, axis=1) / np.maximum(A.sum(axis=1, keepdims=True), 1e-300)
    Fb = np.cumsum(B, axis=1) / np.maximum(B.sum(axis=1, keepdims=True), 1e-300)
    return np.max(np.abs(Fa - Fb), axis=1)


def mean_difference(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``|mean a - mean b|`` from rows ``(sum, count)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(A[:, 0] / A[:, 1] - B[:, 0] / B[:, 1])


def jensen_shannon(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2) between the rows of ``A`` and ``B`` after normalising them."""
    P = A / np.maximum(A.sum(axis=1, keepdims=True), 1e-300)
    Q = B / np.maximum(B.sum(axis=1, keepdims=True), 1e-300)
    M = (P + Q) / 2

    def kl(X):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(X > 0, X * np.log2(X / np.where(M > 0, M, 1.0)), 0.0).sum(axis=1)

    return 0.5 * kl(P) + 0.5 * kl(Q)


def permutation_test(stat, A: np.ndarray, B: np.ndarray, n_perm: int, rng) -> tuple[float, float, int]:
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


def bootstrap_means(V: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """Bootstrap distribution of ``sum(V[:, 0]) / sum(V[:, 1])`` resampling rows with replacement."""
    n = V.shape[0]
    idx = rng.integers(0, n, size=(n_boot, n))
    W = np.zeros((n_boot, n))
    np.add.at(W, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    S = W @ V
    with np.errstate(invalid="ignore", divide="ignore"):
        return S[:, 0] / S[:, 1]


def percentile_ci(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """Central ``confidence`` percentile interval of the finite bootstrap values (NaN, NaN if none)."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return (np.nan, np.nan)
    a = (1 - confidence) / 2
    return float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))
