"""Trial measures of two-choice tasks: psychometric, chronometric and learning curves and win-stay/lose-shift,
on a trial dataset (:mod:`neuroethology.data.trials`); the drift-diffusion fit is in :mod:`.ddm`.

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


def two_choice_trials(trials: xr.Dataset, stimulus: str, caller: str) -> tuple[np.ndarray, np.ndarray, dict]:
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
    use, x, skipped = two_choice_trials(trials, stimulus, "psychometric_curve")
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
    use, x, skipped = two_choice_trials(trials, stimulus, "chronometric_curve")
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
