"""Trial measures of two-choice tasks: psychometric, chronometric and learning curves, win-stay/lose-shift and
a drift-diffusion fit, on a trial dataset (:mod:`neuroethology.data.trials`).

Animals' trial tables (:func:`neuroethology.data.trials.load_trials`) and agents' simulated sessions
(:func:`neuroethology.analysis.compute_trials`) are the same kind of dataset, so every curve here runs on
both unchanged. Choices are option numbers, 0 and 1 in the two-choice measures; the stimulus is signed
evidence for option 1 (negative favours option 0). Intervals are binomial (Wilson 1927) for proportions and
bootstrap percentile intervals (resampling trials) for fitted parameters and reaction-time statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize
from scipy.special import expit, gammaln, ndtr, ndtri

from neuroethology.data.trials import as_trials

__all__ = [
    "chronometric_curve",
    "consecutive_pairs",
    "ddm_choice_probability",
    "ddm_density",
    "ddm_mean_decision_time",
    "fit_ddm",
    "learning_curve",
    "psychometric_curve",
    "psychometric_function",
    "stay_after_outcome",
    "wilson_interval",
    "win_stay_lose_shift",
]

_MODELS = ("logistic", "probit")
PARAMETERS = ("bias", "sigma", "slope", "gamma", "lambda")  # the psychometric fit's outputs
LAPSE_MAX = 0.5 - 1e-9  # lapse rates are bounded in [0, 0.5)


# ---------------------------------------------------------------------------------------------- basics


def wilson_interval(k: Any, n: Any, *, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` of a binomial proportion ``k / n`` (Wilson 1927, JASA 22:209);
    NaN where ``n = 0``. Unlike the normal interval it stays inside [0, 1] and keeps its coverage near 0
    and 1, where psychometric curves spend their ends."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    z = float(ndtri(0.5 + ci / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def consecutive_pairs(trials: xr.Dataset) -> np.ndarray:
    """``(n - 1,)`` bool: whether trials ``i`` and ``i + 1`` follow each other (one subject and session,
    trial numbers differing by 1). The one definition of "the previous trial" for every history measure."""
    trials = as_trials(trials, caller="consecutive_pairs")
    subj, sess = trials["subject"].values, trials["session"].values
    number = trials["trial_number"].values
    return (subj[1:] == subj[:-1]) & (sess[1:] == sess[:-1]) & (np.diff(number) == 1)


def stay_after_outcome(trials: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(win, lose, stay)``, each ``(n - 1,)`` bool over the pairs of trials ``(i, i + 1)``: the pair is
    consecutive (:func:`consecutive_pairs`), both trials have a choice (an omission breaks the pair), trial
    ``i``'s outcome is known and was a win (``win``) or a loss (``lose``); ``stay``: the same choice again.
    The one definition of win-stay/lose-shift, per pair, that :func:`win_stay_lose_shift` and
    :func:`~neuroethology.analysis.compare_groups` average."""
    trials = as_trials(trials, caller="stay_after_outcome")
    c = trials["choice"].values
    won = trials["rewarded"].values.astype(bool)
    known = (
        trials["outcome_known"].values.astype(bool) if "outcome_known" in trials else np.ones(c.size, bool)
    )
    pair = consecutive_pairs(trials) & (c[:-1] >= 0) & (c[1:] >= 0) & known[:-1]  # unknown: not a loss
    return pair & won[:-1], pair & ~won[:-1], c[1:] == c[:-1]


def win_stay_lose_shift(trials: xr.Dataset) -> xr.Dataset:
    """``win_stay`` = P(same choice as on the previous trial | it was rewarded) and ``lose_shift`` =
    P(different choice | not rewarded), over consecutive trials (:func:`consecutive_pairs`) that both have a
    choice (an omission breaks the pair), the first a known outcome; ``n_win``, ``n_lose`` count the pairs. A pure
    win-stay/lose-shift chooser scores 1 and 1; a random chooser between two options 0.5 and 0.5."""
    win, lose, stay = stay_after_outcome(as_trials(trials, caller="win_stay_lose_shift"))
    ws = float(stay[win].mean()) if win.any() else np.nan
    ls = float((~stay[lose]).mean()) if lose.any() else np.nan
    return xr.Dataset(
        {
            "win_stay": ((), ws),
            "lose_shift": ((), ls),
            "n_win": ((), int(win.sum())),
            "n_lose": ((), int(lose.sum())),
        }
    )


def _two_choice(trials: xr.Dataset, stimulus: str, caller: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(use, x, skipped)``: which trials have a choice (0 or 1) and a finite stimulus, every trial's
    stimulus as floats, and the counts of trials left out (omissions, no stimulus)."""
    trials = as_trials(trials, caller=caller)
    if stimulus not in trials.data_vars:
        conditions = sorted(str(v) for v in trials.data_vars if trials[v].dtype.kind in "iuf")
        raise ValueError(
            f"{caller}: the trial dataset has no variable {stimulus!r}; pass stimulus= one of {conditions}"
        )
    c = trials["choice"].values
    x = np.asarray(trials[stimulus].values, float)
    options = np.unique(c[c >= 0])
    if not set(options.tolist()) <= {0, 1}:
        raise ValueError(
            f"{caller}: needs two-choice trials (options 0 and 1), found options {options.tolist()}"
        )
    use = (c >= 0) & np.isfinite(x)
    skipped = {"n_omissions": int((c < 0).sum()), "n_no_stimulus": int(((c >= 0) & ~np.isfinite(x)).sum())}
    if not use.any():
        raise ValueError(f"{caller}: no trial has both a choice and a finite {stimulus!r}")
    return use, x, skipped


# ---------------------------------------------------------------------------------------------- psychometric


def psychometric_function(
    x: Any, *, bias: float, sigma: float, gamma: float = 0.0, lambda_: float = 0.0, model: str = "logistic"
) -> np.ndarray:
    """P(choice = 1) = ``gamma + (1 - gamma - lambda_) * F((x - bias) / sigma)`` (Wichmann & Hill 2001,
    Percept Psychophys 63:1293), ``F`` the logistic (``model="logistic"``: the slope of the log odds is
    ``1 / sigma``) or the standard normal CDF (``"probit"``: ``sigma`` is the normal's SD); ``gamma`` and
    ``lambda_`` are the lapse rates towards option 1 and option 0, ``bias`` the point of subjective equality
    (x units)."""
    z = (np.asarray(x, float) - bias) / sigma
    return gamma + (1 - gamma - lambda_) * (expit(z) if model == "logistic" else ndtr(z))


def _psychometric_nll(
    theta: np.ndarray, x: np.ndarray, k: np.ndarray, n: np.ndarray, model: str, lapses: bool
):
    """Negative binomial log-likelihood (without the binomial coefficients) and its gradient in
    ``theta = (bias, log sigma[, gamma, lambda])``."""
    bias, sigma = theta[0], np.exp(theta[1])
    g, lam = (theta[2], theta[3]) if lapses else (0.0, 0.0)
    z = (x - bias) / sigma
    if model == "logistic":
        F = expit(z)
        f = F * (1 - F)
    else:
        F = ndtr(z)
        f = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    p = np.clip(g + (1 - g - lam) * F, 1e-12, 1 - 1e-12)
    nll = -np.sum(k * np.log(p) + (n - k) * np.log1p(-p))
    dp = -(k / p - (n - k) / (1 - p))
    grad = [np.sum(dp * (1 - g - lam) * f * (-1 / sigma)), np.sum(dp * (1 - g - lam) * f * (-z))]
    if lapses:
        grad += [np.sum(dp * (1 - F)), np.sum(dp * (-F))]
    return nll, np.asarray(grad)


def _fit_psychometric(x, k, n, model, lapses, starts) -> tuple[np.ndarray, float]:
    span = float(x.max() - x.min()) or 1.0
    bounds = [(x.min() - span, x.max() + span), (np.log(span * 1e-3), np.log(span * 1e2))]
    bounds += [(0.0, LAPSE_MAX)] * 2 if lapses else []
    best = None
    for start in starts:
        res = minimize(
            _psychometric_nll,
            start,
            args=(x, k, n, model, lapses),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
        )
        if best is None or res.fun < best.fun:
            best = res
    return best.x, float(best.fun)


def _parameters(theta: np.ndarray, lapses: bool) -> np.ndarray:
    sigma = np.exp(theta[1])
    return np.array([theta[0], sigma, 1 / sigma, *(theta[2:4] if lapses else (0.0, 0.0))])


def psychometric_curve(
    trials: xr.Dataset,
    *,
    stimulus: str = "stimulus",
    model: str = "logistic",
    lapses: bool = True,
    fit: bool = True,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> xr.Dataset:
    """P(choice = 1) at each stimulus level with Wilson intervals, and a maximum-likelihood fit of
    :func:`psychometric_function` with bootstrap percentile intervals (``n_boot`` resamples of the trials).

    Args:
        stimulus: the trial variable of signed evidence for option 1.
        model: ``"logistic"`` or ``"probit"``.
        lapses: fit the lapse rates ``gamma`` and ``lambda`` (each bounded in [0, 0.5)); ``False`` fixes
            them at 0.
        fit: fit the function (needs at least as many stimulus levels as free parameters: 4 with lapses,
            2 without); ``False`` gives the points only.
        n_boot, ci, seed: bootstrap resamples, interval level and seed (0 resamples: no intervals).

    Returns:
        Dims ``level`` (the stimulus values) and ``parameter`` (``bias``, ``sigma``, ``slope = 1 / sigma``,
        ``gamma``, ``lambda``): ``p_choice``, ``p_low``, ``p_high``, ``n_trials``, ``n_choice`` per level;
        with ``fit``, ``fitted`` (the curve at each level), ``estimate``, ``estimate_low``,
        ``estimate_high`` per parameter and ``log_likelihood``. Attrs: the model, the trials left out
        (omissions, no stimulus), ``n_boot_failed``.
    """
    if model not in _MODELS:
        raise ValueError(f"psychometric_curve: model must be one of {_MODELS}, got {model!r}")
    use, x, skipped = _two_choice(trials, stimulus, "psychometric_curve")
    x, c = x[use], trials["choice"].values[use]
    levels, inverse = np.unique(x, return_inverse=True)
    n = np.bincount(inverse, minlength=levels.size).astype(float)
    k = np.bincount(inverse, weights=c, minlength=levels.size)
    low, high = wilson_interval(k, n, ci=ci)
    out = xr.Dataset(
        {
            "p_choice": ("level", k / n),
            "p_low": ("level", low),
            "p_high": ("level", high),
            "n_trials": ("level", n.astype(np.int64)),
            "n_choice": ("level", k.astype(np.int64)),
        },
        coords={"level": levels},
        attrs={"stimulus": stimulus, "model": model, "lapses": int(lapses), "ci": ci, **skipped},
    )
    if not fit:
        return out
    n_free = 4 if lapses else 2
    if levels.size < n_free:
        raise ValueError(
            f"psychometric_curve: {levels.size} stimulus levels cannot determine {n_free} parameters; use "
            "lapses=False (2 parameters) or fit=False (the points only)"
        )
    theta, nll = _fit_psychometric(levels, k, n, model, lapses, _starts(levels, k / n, lapses))
    span = float(levels.max() - levels.min())
    limits = {"bias": (levels.min() - span, levels.max() + span), "sigma": (span * 1e-3, span * 1e2)}
    at_bound = [
        name
        for name, v in zip(limits, (theta[0], np.exp(theta[1])), strict=True)
        if np.isclose(v, limits[name], rtol=1e-6).any()
    ]
    boot = _bootstrap_psychometric(levels, k, n, model, lapses, theta, int(n_boot), int(seed))
    est = _parameters(theta, lapses)
    q = [100 * (1 - ci) / 2, 100 * (1 + ci) / 2]
    bounds = np.nanpercentile(boot, q, axis=0) if n_boot > 0 else np.full((2, est.size), np.nan)
    coef = np.sum(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    p = dict(zip(("bias", "sigma", "gamma", "lambda_"), est[[0, 1, 3, 4]], strict=True))
    out["fitted"] = ("level", psychometric_function(levels, model=model, **p))
    out = out.assign_coords(parameter=list(PARAMETERS))
    out["estimate"] = ("parameter", est)
    out["estimate_low"] = ("parameter", bounds[0])
    out["estimate_high"] = ("parameter", bounds[1])
    out["log_likelihood"] = ((), float(coef - nll))
    out.attrs.update(n_boot=int(n_boot), seed=int(seed), n_boot_failed=int(np.isnan(boot[:, 0]).sum()))
    # A parameter on its search bound is not an estimate (e.g. a step with no trial on its slope): said so.
    out.attrs["at_bound"] = ", ".join(at_bound)
    out.attrs["reference"] = "Wichmann & Hill 2001 Percept Psychophys 63:1293"
    return out


def _starts(levels: np.ndarray, p: np.ndarray, lapses: bool) -> list[np.ndarray]:
    """Starting points: the level nearest P = 0.5 and the middle level, three widths, 2 % lapses."""
    span = float(levels.max() - levels.min()) or 1.0
    biases = {float(levels[np.argmin(np.abs(p - 0.5))]), float(np.median(levels))}
    rest = [0.02, 0.02] if lapses else []
    return [np.array([b, np.log(span * f), *rest]) for b in biases for f in (0.05, 0.2, 0.6)]


def _bootstrap_psychometric(levels, k, n, model, lapses, theta, n_boot, seed) -> np.ndarray:
    """``(n_boot, 5)`` parameters refitted to resampled trials. Resampling the N trials with replacement
    gives the (level, choice) cell counts a multinomial of N draws with the observed cell frequencies, which
    is how they are drawn here."""
    rng = np.random.default_rng(seed)
    cells = np.concatenate([k, n - k])
    total = int(n.sum())
    draws = rng.multinomial(total, cells / total, size=n_boot)
    out = np.full((n_boot, len(PARAMETERS)), np.nan)
    L = levels.size
    for b in range(n_boot):
        kb, nb = draws[b, :L].astype(float), (draws[b, :L] + draws[b, L:]).astype(float)
        try:
            tb, _ = _fit_psychometric(levels, kb, nb, model, lapses, [theta])
        except (ValueError, FloatingPointError):  # a degenerate resample: counted in n_boot_failed
            continue
        out[b] = _parameters(tb, lapses)
    return out


# ---------------------------------------------------------------------------------------------- chronometric


def chronometric_curve(
    trials: xr.Dataset,
    *,
    stimulus: str = "stimulus",
    absolute: bool = True,
    statistic: str = "median",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> xr.Dataset:
    """Reaction time at each stimulus level (of ``|stimulus|`` when ``absolute``), over all trials with a
    choice and apart for correct and error trials, with bootstrap percentile intervals (``n_boot``
    resamples of each cell's trials).

    Returns:
        Dims ``level`` and ``outcome`` (``all``, ``correct``, ``error``; a trial whose ``correct`` is NaN
        counts in ``all`` only): ``rt`` (s, the ``statistic``: ``"median"`` or ``"mean"``), ``rt_low``,
        ``rt_high``, ``n_trials``; NaN where a cell has no trial. Attrs: the trials left out.
    """
    if statistic not in ("median", "mean"):
        raise ValueError(f"chronometric_curve: statistic must be 'median' or 'mean', got {statistic!r}")
    trials = as_trials(trials, caller="chronometric_curve")
    use, x, skipped = _two_choice(trials, stimulus, "chronometric_curve")
    x, rt = x[use], trials["reaction_time"].values[use]
    correct = trials["correct"].values[use]
    if not np.isfinite(rt).any():
        raise ValueError(
            "chronometric_curve: no trial has a reaction time (reaction_time is NaN everywhere): the table "
            "had no reaction-time column, or the Recording marks no stimulus onset"
        )
    skipped["n_no_reaction_time"] = int((~np.isfinite(rt)).sum())
    has_rt = np.isfinite(rt)
    x, rt, correct = (np.abs(x) if absolute else x)[has_rt], rt[has_rt], correct[has_rt]
    levels = np.unique(x)
    outcomes = {"all": np.ones(rt.size, bool), "correct": correct == 1, "error": correct == 0}
    stat = np.median if statistic == "median" else np.mean
    rng = np.random.default_rng(seed)
    shape = (levels.size, len(outcomes))
    value, low, high, count = (
        np.full(shape, np.nan),
        np.full(shape, np.nan),
        np.full(shape, np.nan),
        np.zeros(shape),
    )
    q = [100 * (1 - ci) / 2, 100 * (1 + ci) / 2]
    for i, level in enumerate(levels):
        for j, mask in enumerate(outcomes.values()):
            cell = rt[(x == level) & mask]
            count[i, j] = cell.size
            if cell.size == 0:
                continue
            value[i, j] = stat(cell)
            if n_boot > 0:
                low[i, j], high[i, j] = np.percentile(_bootstrap(cell, stat, int(n_boot), rng), q)
    dims = ("level", "outcome")
    return xr.Dataset(
        {
            "rt": (dims, value, {"units": "s"}),
            "rt_low": (dims, low, {"units": "s"}),
            "rt_high": (dims, high, {"units": "s"}),
            "n_trials": (dims, count.astype(np.int64)),
        },
        coords={"level": levels, "outcome": list(outcomes)},
        attrs={"stimulus": stimulus, "absolute": int(absolute), "statistic": statistic, "ci": ci, **skipped},
    )


def _bootstrap(values: np.ndarray, stat, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``stat`` of ``n_boot`` resamples (with replacement) of ``values``, in batches of at most ~2e6 draws."""
    batch = max(1, 2_000_000 // values.size)
    return np.concatenate(
        [
            stat(values[rng.integers(0, values.size, (min(batch, n_boot - b), values.size))], axis=1)
            for b in range(0, n_boot, batch)
        ]
    )


# ---------------------------------------------------------------------------------------------- learning


def learning_curve(
    trials: xr.Dataset, *, window: int = 100, by: str = "trial", ci: float = 0.95
) -> xr.Dataset:
    """Accuracy (fraction correct among trials with a choice and a known outcome) of each subject over
    blocks of ``window`` consecutive trials (``by="trial"``; the last block may be shorter) or per session
    (``by="session"``, ``window`` unused; sessions in the order of their labels as numbers, else as dates,
    else as they first appear), with Wilson intervals.

    Returns:
        Dims ``subject`` and ``block``: ``accuracy``, ``accuracy_low``, ``accuracy_high``, ``n_trials`` (the
        trials scored), ``n_omissions``, and ``first_trial`` (the block's first trial, ``trial`` coord) or
        ``session`` (the session's label); NaN (or ``""``) past a subject's last block.
    """
    trials = as_trials(trials, caller="learning_curve")
    if by not in ("trial", "session"):
        raise ValueError(f"learning_curve: by must be 'trial' or 'session', got {by!r}")
    if by == "trial" and int(window) < 1:
        raise ValueError(f"learning_curve: window must be >= 1 trial, got {window}")
    subjects = list(dict.fromkeys(trials["subject"].values.tolist()))
    blocks = [_blocks(trials, s, by, int(window)) for s in subjects]
    n_blocks = max(len(b) for b in blocks)
    shape = (len(subjects), n_blocks)
    k, n, omit = np.zeros(shape), np.zeros(shape), np.zeros(shape, np.int64)
    label = np.full(shape, "", dtype=object) if by == "session" else np.full(shape, -1, np.int64)
    c, cor, trial = trials["choice"].values, trials["correct"].values, trials["trial"].values
    for i, subject_blocks in enumerate(blocks):
        for j, (name, rows) in enumerate(subject_blocks):
            scored = rows[(c[rows] >= 0) & np.isfinite(cor[rows])]
            k[i, j], n[i, j] = cor[scored].sum(), scored.size
            omit[i, j] = int((c[rows] < 0).sum())
            label[i, j] = name if by == "session" else trial[rows[0]]
    low, high = wilson_interval(k, n, ci=ci)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = k / n
    dims = ("subject", "block")
    return xr.Dataset(
        {
            "accuracy": (dims, accuracy),
            "accuracy_low": (dims, low),
            "accuracy_high": (dims, high),
            "n_trials": (dims, n.astype(np.int64)),
            "n_omissions": (dims, omit),
            ("session" if by == "session" else "first_trial"): (
                dims,
                label.astype(str) if by == "session" else label,
            ),
        },
        coords={"subject": subjects, "block": np.arange(n_blocks)},
        attrs={"by": by, "window": int(window) if by == "trial" else 0, "ci": ci},
    )


def _blocks(trials: xr.Dataset, subject: str, by: str, window: int) -> list[tuple[Any, np.ndarray]]:
    """``(label, row indices)`` of one subject's blocks of trials, in order."""
    rows = np.flatnonzero(trials["subject"].values == subject)
    if by == "trial":
        return [(None, rows[i : i + window]) for i in range(0, rows.size, window)]
    sessions = trials["session"].values[rows]
    return [(s, rows[sessions == s]) for s in _session_order(list(dict.fromkeys(sessions.tolist())))]


def _session_order(labels: list[str]) -> list[str]:
    """Session labels in time order: as numbers if all are, else as dates if all are, else as given."""
    import pandas as pd

    try:
        return sorted(labels, key=float)
    except ValueError:
        pass
    dates = pd.to_datetime(pd.Series(labels), errors="coerce", format="mixed")
    if dates.notna().all():
        return [labels[i] for i in np.argsort(dates.to_numpy(), kind="stable")]
    return labels


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
    use, x_all, skipped = _two_choice(trials, stimulus, "fit_ddm")
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
