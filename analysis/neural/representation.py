"""Model vs brain: how alike two sets of units represent the same samples.

``X (n, p)`` and ``Y (n, q)`` hold two systems' responses to the same ``n`` samples (time bins of the same
behaviour, or conditions), in different units: an agent's recurrent units against recorded neurons, or two
agents. Each measure asks a different question:

* :func:`compute_cka`: linear centred kernel alignment (Kornblith et al. 2019, ICML), the similarity of the
  two sample-by-sample Gram matrices; invariant to rotations and isotropic scaling, not to general linear maps.
* :func:`compute_procrustes_distance`: the generalised shape metric of Williams et al. 2021 (NeurIPS): the angle
  between the two (partially whitened) configurations after the best rotation; a true metric (symmetric, zero
  for a rotated or scaled copy, triangle inequality), so distances between many systems can be embedded.
* :func:`compute_cca`: canonical correlations, the correlations of the best-matched linear read-outs.
* :func:`compute_rdm` / :func:`compute_rsa`: representational dissimilarity matrices with cross-validated
  (crossnobis or Euclidean) distances, unbiased by noise (Walther et al. 2016, NeuroImage 137:188), compared by
  Spearman correlation.

Every similarity needs a yardstick: :func:`permutation_null` (the pairing of samples broken by circular time
shifts or condition shuffles, ``vmap``-ed in JAX), :func:`bootstrap_interval` (resampled samples or blocks)
and :func:`noise_ceiling` (a system against itself across two halves of the data: the best any model can do).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from scipy import stats

__all__ = [
    "CCA",
    "RSA",
    "NullTest",
    "Interval",
    "compute_cka",
    "compute_procrustes_distance",
    "compute_cca",
    "compute_rdm",
    "compute_rsa",
    "permutation_null",
    "bootstrap_interval",
    "noise_ceiling",
]

# Eigenvalues below this fraction of the largest are treated as zero when (partially) whitening: directions
# without variance carry nothing to whiten (a numerical choice, near float64 precision squared-root scale).
_EIG_TOL = 1e-10


class CCA(NamedTuple):
    """Canonical correlation analysis of ``X (n, p)`` and ``Y (n, q)``, ``k`` pairs."""

    correlations: np.ndarray  # (k,) canonical correlations, decreasing, in [0, 1]
    x_weights: np.ndarray  # (p, k) read-outs of the centred X: X_c @ x_weights has unit variance
    y_weights: np.ndarray  # (q, k) read-outs of the centred Y


class RSA(NamedTuple):
    """Representational similarity of two systems over the same conditions."""

    rdm_x: np.ndarray  # (C, C) cross-validated dissimilarities of X (may be < 0: unbiased estimates)
    rdm_y: np.ndarray  # (C, C) the same for Y
    spearman: float  # Spearman correlation of the two RDMs' upper triangles
    conditions: np.ndarray  # (C,) the condition labels, in RDM order
    p_value: float  # condition-label permutation test of the Spearman correlation; NaN if not run


class NullTest(NamedTuple):
    """A statistic against its null distribution."""

    statistic: float
    null: np.ndarray  # (n_permutations,) the statistic with the pairing of samples broken
    p_value: float  # (1 + #null at least as extreme) / (1 + n_permutations) (Phipson & Smyth 2010)


class Interval(NamedTuple):
    """A percentile bootstrap interval."""

    statistic: float
    low: float
    high: float
    samples: np.ndarray  # (n_boot,) the statistic on each resample


# --------------------------------------------------------------------------------------------------- checks


def _pair(X: ArrayLike, Y: ArrayLike, caller: str) -> tuple[np.ndarray, np.ndarray]:
    A, B = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    problems = []
    for name, M in (("X", A), ("Y", B)):
        if M.ndim != 2 or M.shape[0] < 2 or M.shape[1] < 1:
            problems.append(f"{name} must be an (n, units) array with n >= 2, got shape {M.shape}")
        elif not np.all(np.isfinite(M)):
            problems.append(
                f"{name} has {int(np.sum(~np.isfinite(M)))} non-finite values (drop those samples)"
            )
    if not problems and A.shape[0] != B.shape[0]:
        problems.append(f"X and Y must hold the same samples, got {A.shape[0]} and {B.shape[0]} rows")
    if problems:
        raise ValueError(f"{caller}: " + "; ".join(problems))
    return A, B


# -------------------------------------------------------------------------------- the statistics, in JAX


def _centre(X):
    return X - X.mean(axis=0)


def _cka(X, Y, xp=jnp):
    X, Y = _centre(X), _centre(Y)
    hsic = xp.sum((Y.T @ X) ** 2)
    return hsic / xp.sqrt(xp.sum((X.T @ X) ** 2) * xp.sum((Y.T @ Y) ** 2))


def _partial_whiten(X, alpha: float, xp=jnp):
    """Williams et al. 2021 preprocessing: centre, scale to unit total variance, then ``X (alpha I + (1 -
    alpha) C^{-1/2})`` with ``C`` the covariance (alpha = 1: no whitening; 0: full whitening), unit norm."""
    X = _centre(X)
    X = X / xp.sqrt(xp.sum(X**2) / X.shape[0])
    if alpha < 1.0:
        lam, V = xp.linalg.eigh(X.T @ X / X.shape[0])
        keep = lam > _EIG_TOL * lam.max()
        d = xp.where(keep, alpha + (1.0 - alpha) / xp.sqrt(xp.where(keep, lam, 1.0)), 0.0)
        X = (X @ V) * d @ V.T
    return X / xp.sqrt(xp.sum(X**2))


def _procrustes(X, Y, alpha: float = 1.0, xp=jnp):
    A, B = _partial_whiten(X, alpha, xp), _partial_whiten(Y, alpha, xp)
    cosine = xp.sum(xp.linalg.svd(A.T @ B, compute_uv=False))  # max over rotations of <A, B Q>
    return xp.arccos(xp.clip(cosine, -1.0, 1.0))


def _inv_sqrt(C, regularization: float, xp=jnp):
    p = C.shape[0]
    C = (1.0 - regularization) * C + regularization * xp.trace(C) / p * xp.eye(p)
    lam, V = xp.linalg.eigh(C)
    keep = lam > _EIG_TOL * lam.max()
    return (V * xp.where(keep, 1.0 / xp.sqrt(xp.where(keep, lam, 1.0)), 0.0)) @ V.T


def _cca_parts(X, Y, regularization: float = 0.0, xp=jnp):
    X, Y = _centre(X), _centre(Y)
    n = X.shape[0]
    Wx, Wy = _inv_sqrt(X.T @ X / n, regularization, xp), _inv_sqrt(Y.T @ Y / n, regularization, xp)
    U, s, Vt = xp.linalg.svd(Wx @ (X.T @ Y / n) @ Wy, full_matrices=False)
    return xp.clip(s, 0.0, 1.0), Wx @ U, Wy @ Vt.T


def _mean_cca(X, Y, xp=jnp):
    return xp.mean(_cca_parts(X, Y, 0.0, xp)[0])


def _procrustes_rotation(X, Y, xp=jnp):
    return _procrustes(X, Y, 1.0, xp)


# name -> (function of (X, Y, xp) written for NumPy and jax.numpy alike, which way is "more alike"). The
# public measures run it in NumPy (float64, nothing to compile); the nulls vmap it in JAX over resamples.
_STATISTICS: dict[str, tuple[Callable, str]] = {
    "cka": (_cka, "greater"),
    "procrustes": (_procrustes_rotation, "less"),
    "cca": (_mean_cca, "greater"),
}


# ----------------------------------------------------------------------------------------- the measures


def compute_cka(X: ArrayLike, Y: ArrayLike) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019, eq. 5).

    ``CKA = |Y_c' X_c|_F^2 / (|X_c' X_c|_F |Y_c' Y_c|_F)`` with the columns centred: 1 when ``Y`` is a rotation
    and isotropic scaling of ``X`` (plus an offset), 0 when their centred Gram matrices are orthogonal.

    Args:
        X: ``(n, p)`` responses of system 1; Y: ``(n, q)`` of system 2 to the same samples, finite.

    Returns:
        CKA in [0, 1]. With ``n`` samples it is biased upward by about ``O(units / n)`` (measured here: 0.52
        for a population value of 0.5 at ``n = 500``, 5 units), so compare systems on the same ``n`` and
        use :func:`noise_ceiling` and :func:`permutation_null` as yardsticks rather than 0 and 1.
    """
    A, B = _pair(X, Y, "compute_cka")
    return float(_cka(A, B, np))


def compute_procrustes_distance(X: ArrayLike, Y: ArrayLike, *, alpha: float = 1.0) -> float:
    """Angular generalised shape distance (Williams et al. 2021, "Generalized shape metrics on neural
    representations", eqs. 3-6).

    Each configuration is centred, scaled to unit total variance, partially whitened,
    ``X (alpha I + (1 - alpha) C_X^{-1/2})``, and scaled to unit Frobenius norm; the narrower is zero-padded to
    the wider's width (which leaves the nuclear norm below unchanged). The distance is the smallest angle
    between them over orthogonal transforms ``Q``: ``arccos(max_Q <X~, Y~ Q>) = arccos(|X~' Y~|_*)``.

    Args:
        X: ``(n, p)``; Y: ``(n, q)``, the same samples.
        alpha: 1 (default, the paper's Procrustes metric): rotations only; 0: any invertible linear map
            (a CCA-like metric); in between, partial whitening. The scaling to unit variance first (a package
            choice) makes every alpha invariant to isotropic scaling.

    Returns:
        Distance in radians, in [0, pi/2]: 0 for a rotated, reflected, translated or scaled copy.
    """
    A, B = _pair(X, Y, "compute_procrustes_distance")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"compute_procrustes_distance: alpha must be in [0, 1], got {alpha!r}")
    return float(_procrustes(A, B, float(alpha), np))


def compute_cca(
    X: ArrayLike, Y: ArrayLike, *, n_components: int | None = None, regularization: float = 0.0
) -> CCA:
    """Canonical correlation analysis (Hotelling 1936).

    The canonical correlations are the singular values of ``C_xx^{-1/2} C_xy C_yy^{-1/2}``. In-sample CCA
    overfits: with ``n`` samples and ``p + q`` units it finds correlations near 1 in pure noise as ``p + q``
    approaches ``n``, so it is refused without regularisation when ``n <= p + q`` (reduce the units with PCA
    first, or regularise).

    Args:
        X: ``(n, p)``; Y: ``(n, q)``.
        n_components: pairs to return (default ``min(p, q)``).
        regularization: shrinkage ``r`` in [0, 1) of each covariance toward its mean variance,
            ``(1 - r) C + r tr(C)/p I`` (regularised CCA; Vinod 1976).

    Returns:
        :class:`CCA`.
    """
    caller = "compute_cca"
    A, B = _pair(X, Y, caller)
    (n, p), q = A.shape, B.shape[1]
    k = min(p, q) if n_components is None else n_components
    if not isinstance(k, int | np.integer) or not 1 <= k <= min(p, q):
        raise ValueError(
            f"{caller}: n_components must be an integer in [1, {min(p, q)}], got {n_components!r}"
        )
    if not 0.0 <= regularization < 1.0:
        raise ValueError(f"{caller}: regularization must be in [0, 1), got {regularization!r}")
    if regularization == 0.0 and n <= p + q:
        raise ValueError(
            f"{caller}: {n} samples for {p} + {q} units: unregularised CCA would find correlations near 1 in "
            "noise; reduce the units (e.g. PCA) or pass regularization > 0"
        )
    s, wx, wy = _cca_parts(A, B, float(regularization), np)
    return CCA(s[:k], wx[:, :k], wy[:, :k])


# ------------------------------------------------------------------------------------------------ RDMs, RSA


def _ledoit_wolf(R: np.ndarray) -> np.ndarray:
    """Ledoit & Wolf (2004) shrinkage covariance of centred residuals ``R (n, p)``, toward a scaled identity."""
    n, p = R.shape
    S = R.T @ R / n
    mu = np.trace(S) / p
    delta = np.sum((S - mu * np.eye(p)) ** 2) / p
    R2 = R**2
    beta = (np.sum(R2.T @ R2) / n - np.sum(S**2)) / (p * n)
    shrink = 0.0 if delta == 0 else min(beta, delta) / delta
    return (1.0 - shrink) * S + shrink * mu * np.eye(p)


def _partition_means(X, cond, labels, part, parts, caller):
    means = np.zeros((parts.size, labels.size, X.shape[1]))
    for a, m in enumerate(parts):
        for c, label in enumerate(labels):
            rows = (part == m) & (cond == label)
            if not rows.any():
                raise ValueError(f"{caller}: condition {label!r} has no samples in partition {m!r}")
            means[a, c] = X[rows].mean(axis=0)
    return means


def compute_rdm(
    X: ArrayLike, conditions: ArrayLike, *, metric: str = "crossnobis", partitions: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validated representational dissimilarity matrix (Walther et al. 2016).

    With condition means ``m_a`` estimated separately in independent partitions ``a`` of the data, the
    distance between conditions ``i`` and ``j`` is ``mean_{a != b} (m_ai - m_aj)' W (m_bi - m_bj) / p``. Noise in
    the two partitions is independent, so its expectation is the true squared distance ``/ p`` (plain
    distances are biased upward by the noise, and more for noisier conditions); estimates can be negative.
    ``metric="euclidean"``: ``W = I``; ``"crossnobis"``: ``W`` the inverse noise covariance, estimated from the
    residuals about the partition means with Ledoit-Wolf shrinkage (as Walther et al. recommend).

    Args:
        X: ``(n, p)`` samples (trials or time bins) of one system.
        conditions: ``(n,)`` condition label of each sample.
        partitions: ``(n,)`` partition label (e.g. run or session) of each sample, at least two distinct;
            default: each condition's samples split into two halves in sample order (every condition needs
            two samples).

    Returns:
        ``(rdm (C, C), labels (C,))`` with the labels sorted.
    """
    caller = "compute_rdm"
    A = np.asarray(X, dtype=float)
    cond = np.asarray(conditions)
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise ValueError(f"{caller}: X must be a finite (n, units) array, got shape {A.shape}")
    if cond.shape != (A.shape[0],):
        raise ValueError(f"{caller}: conditions must have shape ({A.shape[0]},), got {cond.shape}")
    if metric not in ("crossnobis", "euclidean"):
        raise ValueError(f"{caller}: metric must be 'crossnobis' or 'euclidean', got {metric!r}")
    labels = np.unique(cond)
    if labels.size < 2:
        raise ValueError(f"{caller}: need at least 2 conditions, got {labels.size}")
    if partitions is None:
        part = np.zeros(A.shape[0], int)
        for label in labels:
            rows = np.flatnonzero(cond == label)
            part[rows[(rows.size + 1) // 2 :]] = 1
    else:
        part = np.asarray(partitions)
        if part.shape != cond.shape:
            raise ValueError(f"{caller}: partitions must have shape {cond.shape}, got {part.shape}")
    parts = np.unique(part)
    if parts.size < 2:
        raise ValueError(f"{caller}: cross-validated distances need at least 2 partitions, got {parts.size}")
    means = _partition_means(A, cond, labels, part, parts, caller)
    if metric == "crossnobis":
        residual = A - means[np.searchsorted(parts, part), np.searchsorted(labels, cond)]
        lam, V = np.linalg.eigh(_ledoit_wolf(residual))
        means = means @ (V / np.sqrt(np.clip(lam, lam.max() * _EIG_TOL, None))) @ V.T
    rdm = np.zeros((labels.size, labels.size))
    for a in range(parts.size):
        for b in range(parts.size):
            if a != b:
                G = means[a] @ means[b].T
                rdm += np.diag(G)[:, None] + np.diag(G)[None, :] - G - G.T
    rdm /= parts.size * (parts.size - 1) * A.shape[1]
    return rdm, labels


def compute_rsa(
    X: ArrayLike,
    Y: ArrayLike,
    conditions: ArrayLike,
    *,
    metric: str = "crossnobis",
    partitions: ArrayLike | None = None,
    n_permutations: int = 0,
    seed: int = 0,
) -> RSA:
    """Representational similarity analysis: cross-validated RDMs of ``X`` and ``Y`` (:func:`compute_rdm`)
    compared by the Spearman correlation of their upper triangles (Kriegeskorte et al. 2008).

    ``n_permutations > 0`` adds the condition-label randomisation test: the conditions of ``Y``'s RDM are
    permuted (rows and columns together) and the p-value is the fraction of permutations with a correlation
    at least as high. Few conditions allow few distinct permutations (``C!``): with ``C < 7`` the smallest
    reachable p-value is large.
    """
    A, B = _pair(X, Y, "compute_rsa")
    rdm_x, labels = compute_rdm(A, conditions, metric=metric, partitions=partitions)
    rdm_y, _ = compute_rdm(B, conditions, metric=metric, partitions=partitions)
    iu = np.triu_indices(labels.size, 1)
    rx = stats.rankdata(rdm_x[iu])
    ry = np.zeros_like(rdm_y)
    ry[iu] = stats.rankdata(rdm_y[iu])
    ry = ry + ry.T
    rho = float(np.corrcoef(rx, ry[iu])[0, 1])
    p_value = float("nan")
    if n_permutations > 0:
        rng = np.random.default_rng(seed)
        perms = np.stack([rng.permutation(labels.size) for _ in range(n_permutations)])
        shuffled = ry[perms[:, iu[0]], perms[:, iu[1]]]  # (n_perm, pairs): ranks of the permuted RDM
        sc = shuffled - shuffled.mean(axis=1, keepdims=True)
        xc = rx - rx.mean()
        null = sc @ xc / (np.linalg.norm(sc, axis=1) * np.linalg.norm(xc))
        p_value = float((1 + np.sum(null >= rho - 1e-12)) / (1 + n_permutations))
    return RSA(rdm_x, rdm_y, rho, labels, p_value)


# ------------------------------------------------------------------------------------------------ the nulls

Statistic = str | Callable[[np.ndarray, np.ndarray], float]


def _resolve(statistic: Statistic, alternative: str | None, caller: str):
    """``(function, alternative, runs_in_jax)``; a name picks a JAX statistic that is ``vmap``-ed."""
    if isinstance(statistic, str):
        if statistic not in _STATISTICS:
            raise ValueError(
                f"{caller}: statistic must be one of {sorted(_STATISTICS)} or a function, got {statistic!r}"
            )
        fn, way = _STATISTICS[statistic]
        return fn, alternative or way, True
    if not callable(statistic):
        raise ValueError(
            f"{caller}: statistic must be a name or a function f(X, Y) -> float, got {statistic!r}"
        )
    return statistic, alternative, False


@functools.cache
def _vmapped(fn: Callable, both: bool):
    """``fn`` jitted and vmapped over resampled rows of Y (``both``: of X and Y alike), compiled once per shape."""
    if both:
        return jax.jit(lambda a, b, rows: jax.vmap(lambda r: fn(a[r], b[r]))(rows))
    return jax.jit(lambda a, b, rows: jax.vmap(lambda r: fn(a, b[r]))(rows))


def _over_rows(fn, in_jax: bool, A: np.ndarray, B: np.ndarray, rows: np.ndarray, both: bool) -> np.ndarray:
    """The statistic on ``(A, B[rows[i]])`` (``both``: ``(A[rows[i]], B[rows[i]])``) for each ``i``: vmapped
    in float64 in chunks of about 8 M gathered values when it is a named statistic, else in a Python loop."""
    m = rows.shape[0]
    if not in_jax:
        return np.array([float(fn(A[r] if both else A, B[r])) for r in rows])
    chunk = int(max(1, min(m, 8_000_000 // (A.size + B.size))))
    run, out = _vmapped(fn, both), []
    with jax.enable_x64(True):
        a, b = jnp.asarray(A), jnp.asarray(B)
        for start in range(0, m, chunk):
            stop = min(m, start + chunk)
            pad = np.r_[
                np.arange(start, stop), np.full(chunk - (stop - start), start)
            ]  # one shape: one compile
            out.append(np.asarray(run(a, b, jnp.asarray(rows[pad])))[: stop - start])
    return np.concatenate(out)


def permutation_null(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    statistic: Statistic = "cka",
    method: str = "circular",
    n_permutations: int = 1000,
    min_shift: int | None = None,
    alternative: str | None = None,
    seed: int = 0,
) -> NullTest:
    """Permutation test of a similarity between ``X`` and ``Y``: the pairing of their samples is broken and
    the statistic recomputed.

    ``method="circular"`` (time series): ``Y`` is rolled by a random shift in ``[min_shift, n - min_shift]``
    samples, which keeps each series' own autocorrelation; shuffling autocorrelated samples would make even
    unrelated series look related far too often. ``method="conditions"``: ``Y``'s rows are permuted, for rows
    that are exchangeable (conditions, or independent trials).

    Args:
        X: ``(n, p)``; Y: ``(n, q)``.
        statistic: ``"cka"``, ``"procrustes"`` (alpha = 1), ``"cca"`` (mean canonical correlation), run under
            ``jax.vmap`` over permutations; or any function ``f(X, Y) -> float`` (looped).
        n_permutations: size of the null.
        min_shift: smallest circular shift (samples), at least the autocorrelation time; default ``n // 10``.
        alternative: ``"greater"`` (larger = more alike) or ``"less"`` (a distance); named statistics know
            theirs, a function needs it.
        seed: of the NumPy generator that draws the permutations.

    Returns:
        :class:`NullTest`.
    """
    caller = "permutation_null"
    A, B = _pair(X, Y, caller)
    fn, way, in_jax = _resolve(statistic, alternative, caller)
    if way not in ("greater", "less"):
        raise ValueError(f"{caller}: alternative must be 'greater' or 'less', got {way!r}")
    n = A.shape[0]
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise ValueError(f"{caller}: n_permutations must be an integer >= 1, got {n_permutations!r}")
    rng = np.random.default_rng(seed)
    if method == "circular":
        lo = n // 10 if min_shift is None else int(min_shift)
        if lo < 1 or n - lo < lo:
            raise ValueError(
                f"{caller}: min_shift must be in [1, {n // 2}] for {n} samples, got {min_shift!r}"
            )
        shifts = rng.integers(lo, n - lo + 1, size=n_permutations)
        rows = (np.arange(n)[None, :] + shifts[:, None]) % n
    elif method == "conditions":
        rows = np.stack([rng.permutation(n) for _ in range(n_permutations)])
    else:
        raise ValueError(f"{caller}: method must be 'circular' or 'conditions', got {method!r}")
    observed = float(fn(A, B, np)) if in_jax else float(fn(A, B))
    null = _over_rows(fn, in_jax, A, B, rows, both=False)
    tie = 1e-12 * max(1.0, abs(observed))
    extreme = null >= observed - tie if way == "greater" else null <= observed + tie
    return NullTest(observed, null, float((1 + np.sum(extreme)) / (1 + n_permutations)))


def bootstrap_interval(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    statistic: Statistic = "cka",
    n_boot: int = 1000,
    confidence: float = 0.95,
    block_length: int = 1,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of a similarity, resampling the samples (rows of ``X`` and ``Y``
    together) with replacement.

    ``block_length > 1``: the circular moving-block bootstrap (Politis & Romano 1992), which resamples runs of
    consecutive samples so that autocorrelated time series keep their dependence; use a block longer than the
    autocorrelation time. ``1``: independent samples (conditions, trials). Statistics as in
    :func:`permutation_null`.
    """
    caller = "bootstrap_interval"
    A, B = _pair(X, Y, caller)
    fn, _, in_jax = _resolve(statistic, "greater", caller)
    n = A.shape[0]
    if not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"{caller}: n_boot must be an integer >= 1, got {n_boot!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"{caller}: confidence must be in (0, 1), got {confidence!r}")
    if not 1 <= block_length <= n:
        raise ValueError(f"{caller}: block_length must be in [1, {n}], got {block_length!r}")
    rng = np.random.default_rng(seed)
    n_blocks = -(-n // block_length)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    rows = ((starts[:, :, None] + np.arange(block_length)) % n).reshape(n_boot, -1)[:, :n]
    samples = _over_rows(fn, in_jax, A, B, rows, both=True)
    observed = float(fn(A, B, np)) if in_jax else float(fn(A, B))
    low, high = np.quantile(samples, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(observed, float(low), float(high), samples)


def noise_ceiling(X_half1: ArrayLike, X_half2: ArrayLike, *, statistic: Statistic = "cka") -> float:
    """The similarity of a system with itself across two halves of its data: the best a model can reach.

    ``X_half1`` and ``X_half2`` are the same units' responses to the same ``n`` samples (conditions or time
    bins) estimated from independent halves of the data (odd and even trials, two sessions). Their noise
    makes them less than identical, so no model can be more alike to the system than this: compare a
    model-vs-brain similarity (computed on data of the same size as each half) with it. For a distance
    (``"procrustes"``) it is a floor rather than a ceiling.
    """
    A, B = _pair(X_half1, X_half2, "noise_ceiling")
    fn, _, in_jax = _resolve(statistic, "greater", "noise_ceiling")
    return float(fn(A, B, np)) if in_jax else float(fn(A, B))
