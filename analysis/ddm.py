"""The pure drift-diffusion model of two-choice trials: first-passage densities, choice probabilities, mean
decision times and a maximum-likelihood fit of choices and reaction times on a trial dataset
(:mod:`neuroethology.data.trials`), for animals' trial tables and agents' simulated sessions alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize
from scipy.special import expit

from neuroethology.data.trials import as_trials

from .trials import two_choice_trials

__all__ = ["ddm_choice_probability", "ddm_density", "ddm_mean_decision_time", "fit_ddm"]

# ---------------------------------------------------------------------------------------------- DDM

_DDM_TERMS = 8  # series terms: at the switch u = 1 the first dropped term is below exp(-200) in either series
DDM_PARAMETERS = ("drift_gain", "boundary", "non_decision_time")


def _log_standard_density(u: np.ndarray, w: float = 0.5) -> np.ndarray:
    """log of the first-passage density at the lower boundary of unit-variance driftless diffusion between
    0 and 1 started at ``w``, at normalised time ``u = t / a**2`` (Navarro & Fuss 2009, J Math Psychol
    53:222): the small-time series for ``u < 1`` and the large-time series for ``u >= 1``, each written with
    its leading exponential factored out so that neither underflows."""
    u = np.asarray(u, float)
    out = np.full(u.shape, -np.inf)
    small, large = (u > 0) & (u < 1), u >= 1
    us = u[small][:, None]
    ks = np.arange(-_DDM_TERMS, _DDM_TERMS + 1)
    series = np.sum((w + 2 * ks) * np.exp(-2 * ks * (w + ks) / us), axis=1)
    out[small] = -0.5 * np.log(2 * np.pi * us[:, 0] ** 3) - w**2 / (2 * us[:, 0]) + np.log(series)
    ul = u[large][:, None]
    kl = np.arange(1, _DDM_TERMS + 1)
    series = np.sum(kl * np.exp(-(kl**2 - 1) * np.pi**2 * ul / 2) * np.sin(kl * np.pi * w), axis=1)
    out[large] = np.log(np.pi) - np.pi**2 * ul[:, 0] / 2 + np.log(series)
    return out


def _ddm_log_density(t: np.ndarray, drift: np.ndarray, boundary: float, upper: np.ndarray) -> np.ndarray:
    """log density of deciding at ``t`` (s) at the upper (option 1) or lower boundary; unbiased start."""
    sign = np.where(upper, 1.0, -1.0)
    a = boundary
    return -2 * np.log(a) + sign * drift * a / 2 - drift**2 * t / 2 + _log_standard_density(t / a**2)


def ddm_density(t: Any, *, drift: Any, boundary: float, upper: bool = True) -> np.ndarray:
    """First-passage-time density (1/s) of the pure drift-diffusion model at the upper (``upper=True``,
    option 1) or lower boundary: drift ``drift`` (towards the upper boundary), boundary separation
    ``boundary``, start midway, diffusion coefficient 1 (noise SD 1 per sqrt(s), which sets the scale of
    drift and boundary). Each boundary's density integrates to its choice probability
    (:func:`ddm_choice_probability`). Navarro & Fuss 2009 series."""
    t = np.asarray(t, float)
    drift = np.broadcast_to(np.asarray(drift, float), t.shape)
    return np.exp(_ddm_log_density(t, drift, float(boundary), np.broadcast_to(bool(upper), t.shape)))


def ddm_choice_probability(drift: Any, boundary: float) -> np.ndarray:
    """P(upper boundary) = 1 / (1 + exp(-boundary * drift)) for an unbiased start (Palmer, Huk & Shadlen
    2005, J Vis 5:376, with their bound A = boundary / 2)."""
    return expit(float(boundary) * np.asarray(drift, float))


def ddm_mean_decision_time(drift: Any, boundary: float) -> np.ndarray:
    """Mean decision time (s), either boundary: (boundary / (2 drift)) tanh(boundary drift / 2), and
    boundary**2 / 4 at zero drift (Palmer, Huk & Shadlen 2005); the same for correct and error trials."""
    v, a = np.asarray(drift, float), float(boundary)
    av = a * v
    with np.errstate(invalid="ignore", divide="ignore"):
        dt = np.where(np.abs(av) > 1e-6, a / (2 * v) * np.tanh(av / 2), a**2 / 4 * (1 - av**2 / 12))
    return dt


def _ddm_nll(theta: np.ndarray, x: np.ndarray, rt: np.ndarray, upper: np.ndarray) -> float:
    k, a, t0 = theta
    t = rt - t0
    if a <= 0 or t0 < 0 or np.any(t <= 0):
        return np.inf
    return -float(np.sum(_ddm_log_density(t, k * x, a, upper)))


def _ddm_start(x: np.ndarray, rt: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """A starting point: the log-odds slope of choice on stimulus (a few Newton steps, no intercept) split
    between boundary and drift gain over a grid of boundaries and non-decision times."""
    beta = 0.0
    for _ in range(25):
        p = expit(beta * x)
        beta += np.sum(x * (upper - p)) / max(np.sum(x**2 * p * (1 - p)), 1e-12)
        beta = float(np.clip(beta, -1e3, 1e3))
    grid = [np.array([beta / a, a, f * rt.min()]) for a in (0.5, 1.0, 1.5, 2.5, 4.0) for f in (0.2, 0.5, 0.8)]
    return min(grid, key=lambda th: _ddm_nll(th, x, rt, upper))


def _hessian(f, theta: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta``."""
    n = theta.size
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * steps[i], np.eye(n)[j] * steps[j]
            h[i, j] = h[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * steps[i] * steps[j])
    return h


def fit_ddm(trials: xr.Dataset, *, stimulus: str = "stimulus") -> xr.Dataset:
    """Fit the pure drift-diffusion model to choices and reaction times by maximum likelihood.

    The model: drift ``v = drift_gain * stimulus`` towards option 1, boundary separation ``boundary``,
    non-decision time ``non_decision_time`` (s) added to every decision time, start midway (no bias),
    diffusion coefficient 1, no across-trial variability. The likelihood of each trial is the closed-form
    first-passage-time density at the chosen boundary (Navarro & Fuss 2009 small/large-time series, see
    :func:`ddm_density`) at its reaction time minus the non-decision time, so the fit uses the whole RT
    distribution of correct and error trials. The density vanishes at zero decision time, so the
    non-decision time stays below the fastest reaction time: one fast guess, which the pure model cannot
    produce, drags it (and the other parameters) down. Remove such trials first.

    Returns:
        Dim ``parameter`` (``drift_gain``, ``boundary``, ``non_decision_time``): ``estimate`` and ``stderr``
        (from the inverse Hessian of the log-likelihood); dim ``level`` (stimulus values): observed
        ``p_choice`` (P(choice = 1)) and ``mean_rt`` with the fitted model's ``predicted_p_choice`` and
        ``predicted_mean_rt`` (Palmer et al. 2005 closed forms), ``n_trials``; ``log_likelihood``. Attrs:
        the trials left out (omissions, no stimulus, no positive reaction time).
    """
    trials = as_trials(trials, caller="fit_ddm")
    use, x_all, skipped = two_choice_trials(trials, stimulus, "fit_ddm")
    rt_all = trials["reaction_time"].values
    use = use & np.isfinite(rt_all) & (rt_all > 0)
    skipped["n_no_reaction_time"] = int((~(rt_all > 0) & (trials["choice"].values >= 0)).sum())  # NaN or <= 0
    if use.sum() < 10:
        raise ValueError(
            f"fit_ddm: {int(use.sum())} trials have a choice, a stimulus and a reaction time; need >= 10"
        )
    x, rt, upper = x_all[use], rt_all[use], trials["choice"].values[use] == 1
    nll = lambda th: _ddm_nll(th, x, rt, upper)  # noqa: E731
    bounds = [(None, None), (1e-3, 1e2), (0.0, float(rt.min()) * (1 - 1e-9))]
    res = minimize(nll, _ddm_start(x, rt, upper), method="L-BFGS-B", bounds=bounds)
    res = minimize(nll, res.x, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    theta = res.x
    steps = 1e-4 * np.maximum(np.abs(theta), 1e-2)
    steps[2] = min(steps[2], 0.5 * (rt.min() - theta[2])) if rt.min() > theta[2] else steps[2]
    with np.errstate(invalid="ignore"):
        cov = np.linalg.pinv(_hessian(nll, theta, steps))
        stderr = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    levels, inverse = np.unique(x, return_inverse=True)
    n = np.bincount(inverse, minlength=levels.size)
    k, a, t0 = theta
    return xr.Dataset(
        {
            "estimate": ("parameter", theta),
            "stderr": ("parameter", stderr),
            "p_choice": ("level", np.bincount(inverse, weights=upper, minlength=levels.size) / n),
            "predicted_p_choice": ("level", ddm_choice_probability(k * levels, a)),
            "mean_rt": ("level", np.bincount(inverse, weights=rt, minlength=levels.size) / n, {"units": "s"}),
            "predicted_mean_rt": ("level", t0 + ddm_mean_decision_time(k * levels, a), {"units": "s"}),
            "n_trials": ("level", n),
            "log_likelihood": ((), -float(res.fun)),
        },
        coords={"parameter": list(DDM_PARAMETERS), "level": levels},
        attrs={
            "stimulus": stimulus,
            "method": "maximum likelihood on choices and RTs, Navarro & Fuss 2009 first-passage density",
            "noise": "diffusion coefficient 1 (unit noise SD per sqrt(s))",
            **skipped,
        },
    )
