"""Population geometry, decoding and encoding: what a set of units represents together.

Three questions asked of any population, recorded neurons or an agent's recurrent units alike
(``activity (T, U)``, one row per sample, with the samples' own ``durations (T,)`` in seconds):

* **Geometry.** :func:`compute_pca`: principal components of the (duration-weighted) covariance, with the
  explained-variance ratios and the participation ratio ``PR = (sum lambda)^2 / sum lambda^2``, a smooth count
  of the dimensions the activity fills (Gao et al. 2017, bioRxiv 214262; Litwin-Kumar et al. 2017).
* **Decoding.** :func:`decode_linear`: cross-validated ridge regression from the units to behaviour (position,
  heading as ``(cos, sin)``, speed). Folds are contiguous blocks of time, never shuffled samples.
* **Encoding.** :func:`fit_encoding_model`: each unit from behavioural features, by ridge regression
  (``family="gaussian"``) or a Poisson GLM with the samples' durations as exposure (``family="poisson"``,
  fitted by damped Newton steps in JAX, ``vmap``-ed over units), scored on held-out blocks.

Samples whose duration is 0 or NaN, or whose inputs are not finite, contribute nothing (as everywhere in
``analysis.neural``); the weighting by duration keeps irregularly sampled recordings measured as recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = [
    "PCA",
    "Decoding",
    "EncodingModel",
    "compute_pca",
    "participation_ratio",
    "decode_linear",
    "fit_encoding_model",
]

# Ridge penalties searched by the inner cross-validation of decode_linear (standardised features, penalty per
# unit of summed weight): from nearly ordinary least squares to strong shrinkage. A package choice.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-4, 2, 13))


class PCA(NamedTuple):
    """Principal components of ``activity (T, U)``, ``k`` of them kept."""

    components: np.ndarray  # (k, U) unit principal axes, largest-|loading| entry positive
    explained_variance: np.ndarray  # (k,) variance along each axis (activity units squared)
    explained_variance_ratio: np.ndarray  # (k,) fraction of the total variance (all U axes) on each axis
    scores: np.ndarray  # (T, k) the centred samples projected on the axes; NaN for samples left out
    mean: np.ndarray  # (U,) weighted mean that was subtracted
    participation_ratio: float  # (sum lambda)^2 / sum lambda^2 over all U eigenvalues, in [1, U]


class Decoding(NamedTuple):
    """Cross-validated decoding of named targets from a population."""

    r2: dict[str, float]  # pooled held-out R^2 per target (circular: of (cos, sin) jointly)
    angular_error: dict[str, float]  # median |held-out angle error| (rad), circular targets only
    predictions: dict[str, np.ndarray]  # (T,) held-out predictions per target; NaN for samples left out
    alphas: dict[str, np.ndarray]  # (folds,) ridge penalty chosen by the inner CV in each outer fold
    n_samples: int  # samples used (finite activity and targets, positive finite weight)


class EncodingModel(NamedTuple):
    """Per-unit encoding model of ``activity (T, U)`` from ``features (T, P)``."""

    family: str  # "gaussian" or "poisson"
    score: np.ndarray  # (U,) held-out R^2 (gaussian) or deviance explained (poisson); NaN where undefined
    coefficients: np.ndarray  # (U, P) fitted on all samples, per unit of each feature (poisson: log-rate)
    intercept: np.ndarray  # (U,) activity (gaussian) or log rate in log Hz (poisson) at features = 0
    predictions: np.ndarray  # (T, U) held-out predictions (poisson: expected count); NaN for samples left out
    n_samples: int


# --------------------------------------------------------------------------------------------------- checks


def _as_activity(activity: ArrayLike, caller: str, name: str = "activity") -> np.ndarray:
    arr = np.asarray(activity, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"{caller}: {name} must be a (T, U) array with T >= 2 and U >= 1, got {arr.shape}")
    return arr


def _as_weights(weights: ArrayLike | None, n: int, caller: str, name: str = "weights") -> np.ndarray:
    """Per-sample weights (durations, s); a sample with weight 0 or NaN is left out. Negative ones are refused."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"{caller}: {name} must have shape ({n},) like the samples, got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"{caller}: {name} must be >= 0 (durations in seconds), got min {np.nanmin(w)}")
    return np.where(np.isfinite(w), w, 0.0)


def _contiguous_folds(index: np.ndarray, folds: int, caller: str) -> list[np.ndarray]:
    if not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"{caller}: folds must be an integer >= 2, got {folds!r}")
    if index.size < 3 * folds:
        raise ValueError(
            f"{caller}: {index.size} usable samples are too few for {folds} folds (need {3 * folds})"
        )
    return np.array_split(index, folds)


# ------------------------------------------------------------------------------------------------------- PCA


def participation_ratio(eigenvalues: ArrayLike) -> float:
    """``(sum lambda)^2 / sum lambda^2`` of covariance eigenvalues (Gao et al. 2017): 1 when one axis holds
    all the variance, ``U`` when ``U`` axes hold equal variance. NaN when all eigenvalues are 0."""
    lam = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    denom = float(np.sum(lam**2))
    return float(np.sum(lam) ** 2 / denom) if denom > 0 else float("nan")


def compute_pca(
    activity: ArrayLike, *, n_components: int | None = None, weights: ArrayLike | None = None
) -> PCA:
    """Principal components of a population's activity.

    Args:
        activity: ``(T, U)`` activity, one row per sample.
        n_components: axes to keep (default all ``U``); the explained-variance ratios and the participation
            ratio always use all ``U`` eigenvalues.
        weights: ``(T,)`` sample durations (s): the mean and covariance are duration-weighted, so an irregularly
            sampled recording counts each stretch of time once. Default: equal weights.

    Returns:
        :class:`PCA`. Samples with non-finite activity or zero/NaN weight are left out (their scores are NaN).
    """
    caller = "compute_pca"
    X = _as_activity(activity, caller)
    T, U = X.shape
    w = _as_weights(weights, T, caller)
    k = U if n_components is None else n_components
    if not isinstance(k, int | np.integer) or not 1 <= k <= U:
        raise ValueError(f"{caller}: n_components must be an integer in [1, {U}], got {n_components!r}")
    ok = np.all(np.isfinite(X), axis=1) & (w > 0)
    if ok.sum() < 2:
        raise ValueError(
            f"{caller}: need at least 2 samples with finite activity and weight > 0, got {ok.sum()}"
        )
    wn = w[ok] / w[ok].sum()
    mean = wn @ X[ok]
    Xc = X[ok] - mean
    cov = (Xc * wn[:, None]).T @ Xc
    lam, V = np.linalg.eigh(cov)
    lam, V = np.clip(lam[::-1], 0.0, None), V[:, ::-1]
    V = V * np.where(V[np.argmax(np.abs(V), axis=0), np.arange(U)] < 0, -1.0, 1.0)
    total = lam.sum()
    scores = np.full((T, k), np.nan)
    scores[ok] = Xc @ V[:, :k]
    ratio = lam[:k] / total if total > 0 else np.full(k, np.nan)
    return PCA(V[:, :k].T, lam[:k], ratio, scores, mean, participation_ratio(lam))


# ----------------------------------------------------------------------------------------------------- ridge


def _standardise(X: np.ndarray, w: np.ndarray):
    wn = w / w.sum()
    mean = wn @ X
    sd = np.sqrt(wn @ (X - mean) ** 2)
    return mean, np.where(sd > 0, sd, 1.0)


def _ridge_path(X: np.ndarray, Y: np.ndarray, w: np.ndarray, alphas: np.ndarray):
    """Weighted ridge of ``Y (n, K)`` on standardised ``X (n, P)`` for every alpha: minimises
    ``sum_t w_t |y_t - b - x_t B|^2 / sum w + alpha |B|^2``. Returns ``(x_mean, x_sd, y_mean, B (A, P, K))``."""
    xm, xs = _standardise(X, w)
    wn = w / w.sum()
    ym = wn @ Y
    Z = (X - xm) / xs
    lam, V = np.linalg.eigh((Z * wn[:, None]).T @ Z)
    proj = V.T @ ((Z * wn[:, None]).T @ (Y - ym))  # (P, K)
    B = np.einsum("pq,aq,qk->apk", V, 1.0 / (np.clip(lam, 0, None)[None, :] + alphas[:, None]), proj)
    return xm, xs, ym, B


def _ridge_predict(X, xm, xs, ym, B):
    return ym + ((X - xm) / xs) @ B


def _inner_errors(X, Y, w, alphas: np.ndarray, inner_folds: int) -> np.ndarray:
    """Inner contiguous-block CV on the training samples only: the weighted squared error of every alpha on
    every target column, ``(A, K)``."""
    sse = np.zeros((alphas.size, Y.shape[1]))
    for block in np.array_split(np.arange(len(X)), inner_folds):
        train = np.ones(len(X), bool)
        train[block] = False
        xm, xs, ym, B = _ridge_path(X[train], Y[train], w[train], alphas)
        pred = np.stack([_ridge_predict(X[block], xm, xs, ym, b) for b in B])  # (A, n_block, K)
        sse += np.einsum("t,atk->ak", w[block], (pred - Y[block][None]) ** 2)
    return sse


def _weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    """Pooled R^2 of held-out predictions against the weighted mean; ``y`` (n,) or (n, d) summed over d."""
    y2, p2 = y.reshape(len(y), -1), pred.reshape(len(y), -1)
    ss_res = float(np.sum(w[:, None] * (y2 - p2) ** 2))
    ss_tot = float(np.sum(w[:, None] * (y2 - (w @ y2) / w.sum()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def _as_targets(targets, T: int, circular, caller: str) -> tuple[dict[str, np.ndarray], set[str]]:
    if isinstance(targets, Mapping):
        named = {str(k): np.asarray(v, dtype=float) for k, v in targets.items()}
    else:
        arr = np.asarray(targets, dtype=float)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise ValueError(
                f"{caller}: targets must be (T,), (T, K) or a mapping of (T,) arrays, got {arr.shape}"
            )
        named = {str(i): arr[:, i] for i in range(arr.shape[1])}
    problems = [
        f"target {k!r} has shape {v.shape}, expected ({T},)" for k, v in named.items() if v.shape != (T,)
    ]
    circ = {str(c) for c in (circular or ())}
    problems += [
        f"circular target {c!r} is not among the targets {sorted(named)}" for c in sorted(circ - set(named))
    ]
    if not named:
        problems.append("no targets given")
    if problems:
        raise ValueError(f"{caller}: " + "; ".join(problems))
    return named, circ


def decode_linear(
    activity: ArrayLike,
    targets: Mapping[str, ArrayLike] | ArrayLike,
    *,
    folds: int = 5,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    circular: Sequence[str] | None = None,
    weights: ArrayLike | None = None,
    inner_folds: int = 3,
) -> Decoding:
    """Cross-validated linear (ridge) decoding of behaviour from a population.

    The samples are cut into ``folds`` **contiguous blocks of time**; each block is predicted by a model fitted
    on the others. Neighbouring samples are strongly autocorrelated (a rat is where it was 20 ms ago, and so
    are its units' rates), so shuffled folds put near-copies of every test sample in the training set and
    inflate the scores; blocks keep the test data out of the fit but for the block edges. The ridge penalty is
    chosen per target by an inner contiguous-block CV (``inner_folds``) on the training blocks only, so the
    reported score is not tuned on its own test data. Blocks do not protect against spurious regression
    between drifting (non-stationary) series, such as slow calcium baseline drift against time in the session
    (Granger & Newbold 1974): detrend such signals first.

    Args:
        activity: ``(T, U)`` units.
        targets: a mapping ``name -> (T,)`` (e.g. ``{"x": xy[:, 0], "y": xy[:, 1], "heading": heading,
            "speed": speed}``), or a ``(T,)``/``(T, K)`` array (names ``"0"``, ``"1"``, ...).
        folds: outer contiguous folds (>= 2).
        alphas: ridge penalties searched (standardised units; penalty ``alpha |B|^2`` on the weighted mean
            squared error), default ``logspace(-4, 2, 13)``.
        circular: names of angular targets (radians): decoded as ``(cos, sin)`` and read back with ``atan2``;
            their R^2 is that of ``(cos, sin)`` jointly, and the median absolute angular error is reported.
        weights: ``(T,)`` sample durations (s) weighting the fit and the scores; default equal.
        inner_folds: contiguous folds of the inner CV that picks alpha.

    Returns:
        :class:`Decoding`. R^2 pools the held-out predictions of all folds against the overall (weighted)
        mean: 0 is no better than the mean, and a target unrelated to the units scores about 0 or below.
        A sample is used only where the activity, every target and its weight are finite (weight > 0).
    """
    caller = "decode_linear"
    X = _as_activity(activity, caller)
    T = X.shape[0]
    w = _as_weights(weights, T, caller)
    named, circ = _as_targets(targets, T, circular, caller)
    grid = np.asarray(alphas, dtype=float).ravel()
    if grid.size < 1 or np.any(~np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"{caller}: alphas must be finite and >= 0, got {alphas!r}")
    if not isinstance(inner_folds, int | np.integer) or inner_folds < 2:
        raise ValueError(f"{caller}: inner_folds must be an integer >= 2, got {inner_folds!r}")
    columns, slices = [], {}
    for name, v in named.items():
        start = len(columns)
        columns += [np.cos(v), np.sin(v)] if name in circ else [v]
        slices[name] = slice(start, len(columns))
    Y = np.stack(columns, axis=1)
    ok = np.all(np.isfinite(X), axis=1) & np.all(np.isfinite(Y), axis=1) & (w > 0)
    index = np.flatnonzero(ok)
    blocks = _contiguous_folds(index, folds, caller)
    pred = np.full(Y.shape, np.nan)
    chosen = np.zeros((folds, Y.shape[1]))
    for f, test in enumerate(blocks):
        train = np.setdiff1d(index, test)
        sse = _inner_errors(X[train], Y[train], w[train], grid, inner_folds)
        for sl in slices.values():  # one alpha per target: (cos, sin) of an angle share theirs
            chosen[f, sl] = grid[np.argmin(sse[:, sl].sum(axis=1))]
        xm, xs, ym, B = _ridge_path(X[train], Y[train], w[train], np.unique(chosen[f]))
        for i, alpha in enumerate(np.unique(chosen[f])):
            cols = chosen[f] == alpha
            pred[np.ix_(test, cols)] = _ridge_predict(X[test], xm, xs, ym[cols], B[i][:, cols])
    r2, err, out, used = {}, {}, {}, {}
    for name, sl in slices.items():
        r2[name] = _weighted_r2(Y[ok][:, sl], pred[ok][:, sl], w[ok])
        used[name] = chosen[:, sl.start]
        if name in circ:
            angle = np.arctan2(pred[:, sl.start + 1], pred[:, sl.start])
            out[name] = angle
            d = np.angle(np.exp(1j * (angle[ok] - named[name][ok])))
            err[name] = float(np.median(np.abs(d)))
        else:
            out[name] = pred[:, sl.start]
    return Decoding(r2, err, out, used, int(ok.sum()))


# -------------------------------------------------------------------------------------------------- encoding


def _poisson_newton(
    Z: jax.Array, y: jax.Array, d: jax.Array, penalty: jax.Array, theta0: jax.Array, n_iter: int
):
    """Penalised Poisson GLM for one unit: minimises ``mean_t(mu_t - y_t log mu_t) + 0.5 theta' P theta`` with
    ``mu = d exp(Z theta)``, by Newton steps each damped by the best of the step sizes ``1, 1/2, ..., 1/128``
    (and 0, so the objective never rises). ``Z (n, 1 + P)`` includes the intercept column."""
    n = Z.shape[0]
    logd = jnp.log(d)
    steps = jnp.concatenate([2.0 ** -jnp.arange(8.0), jnp.zeros(1)])

    def objective(theta):
        eta = Z @ theta + logd
        return jnp.sum(jnp.exp(eta) - y * eta) / n + 0.5 * theta @ (penalty * theta)

    def newton(_, theta):
        mu = jnp.exp(Z @ theta + logd)
        grad = Z.T @ (mu - y) / n + penalty * theta
        hess = (Z * mu[:, None]).T @ Z / n + jnp.diag(penalty)
        direction = -jnp.linalg.solve(hess, grad)
        values = jax.vmap(lambda s: objective(theta + s * direction))(steps)
        values = jnp.where(jnp.isfinite(values), values, jnp.inf)
        return theta + steps[jnp.argmin(values)] * direction

    return jax.lax.fori_loop(0, n_iter, newton, theta0)


def _fit_poisson(X, Y, d, alpha: float, n_iter: int):
    """Poisson GLMs of every column of ``Y (n, U)`` (counts) on standardised ``X``, vmapped over units.
    Returns ``(x_mean, x_sd, theta (U, 1 + P))`` in the standardised feature units."""
    xm, xs = _standardise(X, d)
    Z = np.column_stack([np.ones(len(X)), (X - xm) / xs])
    rate = np.maximum(Y.sum(axis=0), 0.5) / d.sum()  # a unit with no counts starts at half a count
    theta0 = np.zeros((Y.shape[1], Z.shape[1]))
    theta0[:, 0] = np.log(rate)
    # The curvature of the Poisson loss scales with the mean count per sample; scaling the penalty with it
    # makes alpha shrink by about the same fraction as in the gaussian family.
    penalty = np.r_[0.0, np.full(X.shape[1], alpha)] * max(float(Y.mean()), 1e-12)
    with jax.enable_x64(True):
        fit = jax.jit(jax.vmap(_poisson_newton, in_axes=(None, 1, None, None, 0, None)), static_argnums=5)(
            jnp.asarray(Z), jnp.asarray(Y), jnp.asarray(d), jnp.asarray(penalty), jnp.asarray(theta0), n_iter
        )
        theta = np.asarray(fit)
    return xm, xs, theta


def _poisson_deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Summed Poisson deviance per column, ``2 sum[y log(y / mu) - (y - mu)]``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return 2.0 * np.sum(term - (y - mu), axis=0)


def fit_encoding_model(
    features: ArrayLike,
    activity: ArrayLike,
    *,
    family: str = "gaussian",
    folds: int = 5,
    alpha: float = 1e-2,
    durations: ArrayLike | None = None,
    n_iter: int = 50,
) -> EncodingModel:
    """Cross-validated encoding model of every unit from behavioural features.

    ``family="gaussian"``: ridge regression of the activity (rates, dF/F, model units), duration-weighted;
    score = pooled held-out R^2. ``family="poisson"``: a Poisson GLM of spike counts per sample,
    ``E[count_t] = duration_t exp(b + x_t w)`` (the rate ``exp(b + x w)`` in Hz), fitted by damped Newton steps
    under ``jax.jit`` and ``vmap``-ed over units; score = held-out deviance explained
    ``1 - D(model) / D(null)`` (the pseudo-R^2 of GLMs; Cameron & Windmeijer 1997), the null being the
    training folds' mean rate. Folds are contiguous blocks of time (see :func:`decode_linear` for why).

    Args:
        features: ``(T, P)`` behavioural regressors (e.g. position basis functions, cos/sin heading, speed).
        activity: ``(T, U)``; counts per sample for ``"poisson"`` (non-negative).
        family: ``"gaussian"`` or ``"poisson"``.
        folds: contiguous outer folds (>= 2).
        alpha: L2 penalty on the standardised feature weights (not the intercept), relative to the mean loss
            per sample (poisson: also times the mean count per sample, so alpha shrinks a weight by about the
            fraction ``alpha / (1 + alpha)`` in both families); the default 0.01 barely shrinks (a package
            choice, not from a paper).
        durations: ``(T,)`` sample durations (s): weights (gaussian) or exposures (poisson). Default 1 each.
        n_iter: Newton iterations (poisson).

    Returns:
        :class:`EncodingModel`; coefficients and intercept come from a fit on all usable samples and are in
        the units of the features. A unit with no variance (gaussian) or no counts (poisson) in the held-out
        data has score NaN: its fit cannot be judged.
    """
    caller = "fit_encoding_model"
    F = _as_activity(features, caller, "features")
    Y = _as_activity(activity, caller)
    T = F.shape[0]
    if Y.shape[0] != T:
        raise ValueError(f"{caller}: features have {T} samples but activity has {Y.shape[0]}")
    if family not in ("gaussian", "poisson"):
        raise ValueError(f"{caller}: family must be 'gaussian' or 'poisson', got {family!r}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{caller}: alpha must be finite and >= 0, got {alpha!r}")
    d = _as_weights(durations, T, caller, "durations")
    ok = np.all(np.isfinite(F), axis=1) & np.all(np.isfinite(Y), axis=1) & (d > 0)
    if family == "poisson" and np.any(Y[ok] < 0):
        raise ValueError(f"{caller}: family='poisson' needs non-negative counts, got min {Y[ok].min()}")
    index = np.flatnonzero(ok)
    blocks = _contiguous_folds(index, folds, caller)
    pred = np.full(Y.shape, np.nan)
    null = np.full(Y.shape, np.nan)
    for test in blocks:
        train = np.setdiff1d(index, test)
        if family == "gaussian":
            xm, xs, ym, B = _ridge_path(F[train], Y[train], d[train], np.array([alpha]))
            pred[test] = _ridge_predict(F[test], xm, xs, ym, B[0])
        else:
            xm, xs, theta = _fit_poisson(F[train], Y[train], d[train], alpha, n_iter)
            pred[test] = d[test, None] * np.exp(theta[:, 0] + ((F[test] - xm) / xs) @ theta[:, 1:].T)
            null[test] = d[test, None] * (Y[train].sum(axis=0) / d[train].sum())
    if family == "gaussian":
        score = np.array([_weighted_r2(Y[ok, u], pred[ok, u], d[ok]) for u in range(Y.shape[1])])
        xm, xs, ym, B = _ridge_path(F[ok], Y[ok], d[ok], np.array([alpha]))
        coef = (B[0] / xs[:, None]).T
        intercept = ym - coef @ xm
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            dev_null = _poisson_deviance(Y[ok], null[ok])
            score = np.where(dev_null > 0, 1.0 - _poisson_deviance(Y[ok], pred[ok]) / dev_null, np.nan)
        xm, xs, theta = _fit_poisson(F[ok], Y[ok], d[ok], alpha, n_iter)
        coef = theta[:, 1:] / xs
        intercept = theta[:, 0] - coef @ xm
    return EncodingModel(family, score, coef, intercept, pred, int(ok.sum()))
