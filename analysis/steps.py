"""Step-length distributions and the power law vs exponential / lognormal comparison of their tails.

Steps (flights) are the straight moves between turns: the path is rediscretised at a constant
``resolution`` (Bovet & Benhamou 1988) and cut wherever its direction has turned by more than
``max_turn`` from the direction at the start of the current step.

The tail fits follow Clauset, Shalizi & Newman (2009, SIAM Rev 51:661): continuous power law
``p(x) = (alpha - 1) / xmin (x / xmin)^-alpha`` for ``x >= xmin`` with the maximum-likelihood ``alpha``
(their eq. 3.1) and ``xmin`` minimising the Kolmogorov-Smirnov distance between the data above it and the
fit (section 3.3); the alternatives are fitted by maximum likelihood to the same tail (``x >= xmin``) and
compared by Vuong's normalised log-likelihood ratio test (section 5.1, eq. 5.4 and appendix C).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import xarray as xr
from scipy import optimize, special, stats

from ._recording import select_track
from .paths import _run_paths

__all__ = [
    "compute_step_lengths",
    "fit_power_law",
    "fit_exponential",
    "fit_lognormal",
    "compare_tail_models",
    "PowerLawFit",
    "ExponentialFit",
    "LognormalFit",
    "LikelihoodRatio",
    "TailComparison",
]


def compute_step_lengths(
    rec: xr.Dataset,
    *,
    resolution: float | None = None,
    max_turn: float = np.pi / 4,
    individual=None,
    keypoint=None,
) -> xr.DataArray:
    """Lengths of the straight moves between turns, metres.

    Args:
        resolution: metres: rediscretise the path at this step first (recommended; compare groups at one
            value). ``None``: the sampled positions (repeated positions dropped).
        max_turn: radians: a step ends where the direction of motion has turned by more than this from
            the direction of the step's first move (default 45 degrees, a package convention: the step
            lengths depend on it, so compare groups at one value).

    Returns:
        ``DataArray (step,)`` of chord lengths (start to end point of each step), with coords ``run`` and
        ``time`` (s, the step's start).
        Steps cut by the end of a run (a tracking gap) are kept: their length is a lower bound.
    """
    if resolution is not None and not (np.isfinite(resolution) and resolution > 0):
        raise ValueError(f"compute_step_lengths: resolution must be > 0 m or None, got {resolution}")
    if not (np.isfinite(max_turn) and 0 < max_turn < np.pi):
        raise ValueError(f"compute_step_lengths: max_turn must be in (0, pi) rad, got {max_turn}")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_step_lengths")
    lengths, runs, times = [], [], []
    cos_max = math.cos(max_turn)
    for i, (xy, t) in enumerate(_run_paths(track, resolution)):
        if len(xy) < 2:
            continue
        d = np.diff(xy, axis=0)
        norm = np.hypot(d[:, 0], d[:, 1])
        u = d / norm[:, None]
        ux, uy = u[:, 0].tolist(), u[:, 1].tolist()
        cuts = [0]
        sx, sy = ux[0], uy[0]
        for j in range(1, len(ux)):
            if ux[j] * sx + uy[j] * sy < cos_max:  # turned by more than max_turn from the step's start
                cuts.append(j)
                sx, sy = ux[j], uy[j]
        cuts.append(len(ux))
        a, b = np.asarray(cuts[:-1]), np.asarray(cuts[1:])
        lengths.append(np.hypot(*(xy[b] - xy[a]).T))
        runs.append(np.full(a.size, i))
        times.append(t[a])
    cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
    return xr.DataArray(
        cat(lengths, float),
        dims=("step",),
        coords={"run": ("step", cat(runs, int)), "time": ("step", cat(times, float)), **track.coords()},
        name="step_length",
        attrs={
            "units": "m",
            "long_name": "step length",
            "resolution": resolution or 0.0,
            "max_turn": max_turn,
        },
    )


# -- maximum-likelihood fits -------------------------------------------------------------------------------


class PowerLawFit(NamedTuple):
    """Continuous power law above ``xmin`` (Clauset et al. 2009)."""

    alpha: float
    xmin: float
    n_tail: int  # samples >= xmin
    ks_distance: float  # KS distance between the tail and the fit
    alpha_stderr: float  # (alpha - 1) / sqrt(n_tail), Clauset et al. eq. 3.2
    loglik: float

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return np.log((self.alpha - 1) / self.xmin) - self.alpha * np.log(np.asarray(x, float) / self.xmin)


class ExponentialFit(NamedTuple):
    """Exponential above ``xmin``: ``p(x) = rate exp(-rate (x - xmin))``."""

    rate: float  # 1/m
    xmin: float
    n_tail: int
    loglik: float

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return np.log(self.rate) - self.rate * (np.asarray(x, float) - self.xmin)


class LognormalFit(NamedTuple):
    """Lognormal truncated to ``x >= xmin`` (parameters of ``log x``)."""

    mu: float
    sigma: float
    xmin: float
    n_tail: int
    loglik: float

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        z = (np.log(x) - self.mu) / self.sigma
        log_tail = stats.norm.logsf((math.log(self.xmin) - self.mu) / self.sigma)
        return -np.log(x * self.sigma * math.sqrt(2 * math.pi)) - 0.5 * z * z - log_tail


def _samples(x, caller: str) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if np.any(x <= 0):
        raise ValueError(f"{caller}: samples must be > 0, found {int((x <= 0).sum())} values <= 0")
    if x.size < 2:
        raise ValueError(f"{caller}: needs at least 2 finite samples, got {x.size}")
    return x


def _tail(x: np.ndarray, xmin: float, caller: str, minimum: int = 2) -> np.ndarray:
    tail = x[x >= xmin]
    if tail.size < minimum:
        raise ValueError(f"{caller}: only {tail.size} samples >= xmin = {xmin:g}; need at least {minimum}")
    return tail


def _power_law_at(tail_sorted: np.ndarray, xmin: float) -> tuple[float, float]:
    """(alpha MLE, KS distance) for the sorted tail above xmin."""
    n = tail_sorted.size
    logs = np.log(tail_sorted / xmin).sum()
    if logs <= 0:
        return np.inf, 1.0
    alpha = 1.0 + n / logs
    cdf = 1.0 - (tail_sorted / xmin) ** (1.0 - alpha)
    i = np.arange(n)
    ks = max(float(np.max((i + 1) / n - cdf)), float(np.max(cdf - i / n)))
    return alpha, ks


def fit_power_law(
    x, *, xmin: float | None = None, min_tail: int = 50, n_candidates: int = 200
) -> PowerLawFit:
    """Fit a continuous power law to the tail of positive samples ``x`` (Clauset et al. 2009).

    Args:
        xmin: fixed lower bound; ``None``: the candidate minimising the KS distance (section 3.3).
        min_tail: fewest samples above a candidate ``xmin`` (smaller tails give unstable alphas).
        n_candidates: at most this many candidate ``xmin`` (quantiles of the distinct values) are tried.
    """
    x = _samples(x, "fit_power_law")
    xs = np.sort(x)
    if xmin is None:
        distinct = np.unique(xs)
        hi = xs[-min(min_tail, xs.size)]  # keep at least min_tail samples above xmin
        candidates = distinct[distinct <= hi]
        if candidates.size == 0:
            raise ValueError(f"fit_power_law: needs at least {min_tail} samples, got {x.size}")
        if candidates.size > n_candidates:
            candidates = np.unique(np.quantile(candidates, np.linspace(0, 1, n_candidates), method="nearest"))
        best = (np.inf, np.nan, np.nan)
        for c in candidates:
            tail = xs[np.searchsorted(xs, c, side="left") :]
            alpha, ks = _power_law_at(tail, c)
            if ks < best[0]:
                best = (ks, c, alpha)
        ks, xmin, alpha = best
    else:
        if not xmin > 0:
            raise ValueError(f"fit_power_law: xmin must be > 0, got {xmin}")
        alpha, ks = _power_law_at(_tail(xs, xmin, "fit_power_law"), xmin)
    tail = xs[xs >= xmin]
    n = tail.size
    loglik = float(n * np.log((alpha - 1) / xmin) - alpha * np.log(tail / xmin).sum())
    return PowerLawFit(
        float(alpha), float(xmin), int(n), float(ks), float((alpha - 1) / math.sqrt(n)), loglik
    )


def fit_exponential(x, *, xmin: float) -> ExponentialFit:
    """Maximum-likelihood exponential of the tail ``x >= xmin``: ``rate = 1 / mean(x - xmin)``."""
    tail = _tail(_samples(x, "fit_exponential"), xmin, "fit_exponential")
    excess = float((tail - xmin).mean())
    if not excess > 0:
        raise ValueError("fit_exponential: every tail sample equals xmin; the rate is undefined")
    rate = 1.0 / excess
    n = tail.size
    return ExponentialFit(rate, float(xmin), int(n), float(n * math.log(rate) - n))


def fit_lognormal(x, *, xmin: float) -> LognormalFit:
    """Maximum-likelihood lognormal truncated to the tail ``x >= xmin`` (Nelder-Mead on ``mu`` and
    ``log sigma`` from the untruncated estimates)."""
    tail = _tail(_samples(x, "fit_lognormal"), xmin, "fit_lognormal")
    lx = np.log(tail)
    lxmin = math.log(xmin)
    n = tail.size

    def nll(theta):
        mu, log_sigma = theta
        sigma = math.exp(log_sigma)
        z = (lx - mu) / sigma
        ll = -lx.sum() - n * (math.log(sigma) + 0.5 * math.log(2 * math.pi)) - 0.5 * float(z @ z)
        ll -= n * float(stats.norm.logsf((lxmin - mu) / sigma))
        return -ll if np.isfinite(ll) else np.inf

    start = np.array([lx.mean(), math.log(max(lx.std(), 1e-3))])
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000}
    )
    mu, sigma = float(res.x[0]), float(math.exp(res.x[1]))
    return LognormalFit(mu, sigma, float(xmin), int(n), float(-res.fun))


class LikelihoodRatio(NamedTuple):
    """Vuong's test of the power law against an alternative on the same tail (Clauset et al. 2009,
    section 5.1): ``R > 0`` favours the power law; ``p`` small means the sign of ``R`` is reliable."""

    alternative: str
    R: float  # summed log-likelihood ratio, power law minus alternative
    normalized_R: float  # R / (sigma sqrt(n))
    p: float

    @property
    def favoured(self) -> str:
        """``"power_law"``, the alternative, or ``"inconclusive"`` (p >= 0.1, Clauset et al.'s threshold)."""
        if not self.p < 0.1:
            return "inconclusive"
        return "power_law" if self.R > 0 else self.alternative


def _vuong(ll1: np.ndarray, ll2: np.ndarray, name: str) -> LikelihoodRatio:
    d = ll1 - ll2
    n = d.size
    R = float(d.sum())
    sigma = float(d.std())
    if sigma == 0:
        return LikelihoodRatio(name, R, 0.0, 1.0)
    z = R / (sigma * math.sqrt(n))
    return LikelihoodRatio(name, R, float(z), float(special.erfc(abs(z) / math.sqrt(2))))


class TailComparison(NamedTuple):
    """Power law, exponential and lognormal fits to one tail and the likelihood-ratio tests."""

    power_law: PowerLawFit
    exponential: ExponentialFit
    lognormal: LognormalFit
    vs_exponential: LikelihoodRatio
    vs_lognormal: LikelihoodRatio

    def to_dict(self) -> dict:
        out = {}
        for name in self._fields:
            v = getattr(self, name)
            out[name] = dict(v._asdict())
            if isinstance(v, LikelihoodRatio):
                out[name]["favoured"] = v.favoured
        return out


def compare_tail_models(x, *, xmin: float | None = None, min_tail: int = 50) -> TailComparison:
    """Fit the power law (``xmin`` by KS minimisation unless given), then the exponential and the lognormal
    to the same tail, and test the power law against each (Vuong's likelihood-ratio test)."""
    x = _samples(x, "compare_tail_models")
    pl = fit_power_law(x, xmin=xmin, min_tail=min_tail)
    tail = x[x >= pl.xmin]
    ex = fit_exponential(tail, xmin=pl.xmin)
    ln = fit_lognormal(tail, xmin=pl.xmin)
    lp = pl.logpdf(tail)
    return TailComparison(
        pl, ex, ln, _vuong(lp, ex.logpdf(tail), "exponential"), _vuong(lp, ln.logpdf(tail), "lognormal")
    )
