"""Choice behaviour: accuracy, win-stay / lose-shift, and a logistic regression of choices on the history
of past choices and rewards (Lau & Glimcher 2005 J Exp Anal Behav 84:555).

Variables read from a Recording (written by choice-task simulations; add them to recordings the same way):

* ``trial (time, individual)`` int: the trial each sample belongs to (``-1`` between trials);
* ``choice (time, individual)`` int: the option chosen, on the sample where the choice is made, ``-1``
  elsewhere (the first choice of a trial counts; a trial without one is an omission);
* ``reward (time, individual)`` float: reward delivered; a trial's reward is the sum over its samples, and
  the trial is *rewarded* ("win") when that sum is > 0;
* ``correct (time, individual)`` (optional): 1 where the trial's choice was correct, 0 where wrong, NaN or
  -1 elsewhere; a trial is correct when any of its samples says 1;
* ``episode (time, individual)`` (optional): the episode (block of trials, a session) of each sample, in
  which ``trial`` counts from 0 again; ``-1`` marks padding;
* conditions (optional), such as ``cue`` or ``stimulus (time, individual)``: constant within a trial.

:func:`compute_trials` turns them into a trial dataset (:mod:`neuroethology.data.trials`), the format of
animals' trial tables; the measures here and in :mod:`neuroethology.analysis.trials` read that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from neuroethology.data.model import processing_of
from neuroethology.data.trials import trials_from_arrays

from ._recording import select_track, source_of, track_variable
from .trials import consecutive_pairs, win_stay_lose_shift

__all__ = ["compute_trials", "compute_choice_accuracy", "compute_win_stay_lose_shift", "fit_choice_history"]


def compute_trials(
    rec: xr.Dataset, *, individual=None, conditions: Sequence[str] | None = None
) -> xr.Dataset:
    """The trial dataset of one individual (:mod:`neuroethology.data.trials`: the format of animals' trial
    tables, so that every trial measure of :mod:`neuroethology.analysis.trials` runs on agents and animals
    alike), one row per trial in time order.

    Trials are told apart by ``trial`` within each ``episode`` (when the Recording has one: a simulated
    episode, a block of trials, is a session, ``session`` = the episode number). Per trial: ``choice`` (int,
    -1: omission), ``reward`` (float, summed), ``rewarded`` (bool), ``correct`` (float 1/0, NaN where
    unknown), ``time`` (s of the choice, NaN for omissions), ``trial_number`` (the Recording's ``trial``),
    ``reaction_time`` (NaN: a Recording marks no stimulus onset), ``subject`` (the individual's name), and
    the ``conditions``: Recording variables constant within a trial (default: those of ``stimulus``,
    ``cue``, ``coherence``, ``contrast``, ``condition`` present), each trial's value; one that changes
    within a trial is refused."""
    caller = "compute_trials"
    track = select_track(rec, individual=individual, caller=caller)
    trial = track_variable(track, "trial", caller=caller).astype(float)
    choice = track_variable(track, "choice", caller=caller).astype(float)
    reward = track_variable(track, "reward", caller=caller).astype(float)
    episode = (
        track_variable(track, "episode", caller=caller).astype(float)
        if "episode" in track.recording.data_vars
        else np.zeros_like(trial)
    )
    for name, v in (("trial", trial), ("choice", choice), ("reward", reward), ("episode", episode)):
        if v.ndim != 1:
            raise ValueError(f"{caller}: variable {name!r} of {source_of(track)} must be (time, individual)")
    member = np.isfinite(trial) & (trial >= 0) & np.isfinite(episode) & (episode >= 0)
    keys = np.where(member[:, None], np.column_stack([episode, trial]), -1).astype(np.int64)
    uniq, first, inverse = np.unique(keys[member], axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # trials in the time order of their first samples
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ids, n = uniq[order], order.size
    pos = np.full(keys.shape[0], -1, np.int64)
    pos[member] = rank[inverse.ravel()]
    ch, tm, rw = np.full(n, -1, np.int64), np.full(n, np.nan), np.zeros(n)
    np.add.at(rw, pos[member], np.nan_to_num(reward[member]))
    made = member & np.isfinite(choice) & (choice >= 0)
    # The first choice of each trial: iterate backwards so that earlier samples overwrite later ones.
    idx = np.flatnonzero(made)[::-1]
    ch[pos[idx]] = choice[idx].astype(np.int64)
    tm[pos[idx]] = track.time[idx]
    cor = _trial_correct(track, member, pos, n, caller)
    conds = _trial_conditions(track, member, pos, n, conditions, caller)
    step = {
        "step": caller,
        "individual": str(track.individual),
        "n_trials": n,
        "n_omissions": int((ch < 0).sum()),
    }
    return trials_from_arrays(
        choice=ch,
        correct=cor,
        reward=rw,
        time=tm,
        trial_number=ids[:, 1],
        subject=str(track.individual),
        session=ids[:, 0].astype(str),
        conditions=conds,
        source_file=str(track.recording.attrs.get("source_file", "")),
        processing=[*processing_of(track.recording), step],
    )


_CONDITION_VARIABLES = ("stimulus", "cue", "coherence", "contrast", "condition")


def _trial_correct(track, member: np.ndarray, pos: np.ndarray, n: int, caller: str) -> np.ndarray:
    """1 where any sample of the trial says correct, 0 where its known samples all say wrong, else NaN."""
    if "correct" not in track.recording.data_vars:
        return np.full(n, np.nan)
    correct = track_variable(track, "correct", caller=caller).astype(float)
    known = member & np.isfinite(correct) & (correct >= 0)
    cor_any, has = np.zeros(n), np.zeros(n, bool)
    np.maximum.at(cor_any, pos[known], (correct[known] > 0).astype(float))
    has[pos[known]] = True
    return np.where(has, cor_any, np.nan)


def _trial_conditions(track, member, pos, n, conditions, caller: str) -> dict[str, np.ndarray]:
    """Each condition variable's value per trial (NaN samples ignored; NaN when it has none), refusing one
    that varies within a trial."""
    names = (
        [v for v in _CONDITION_VARIABLES if v in track.recording.data_vars]
        if conditions is None
        else conditions
    )
    out = {}
    for name in names:
        v = track_variable(track, name, caller=caller).astype(float)
        if v.ndim != 1:
            raise ValueError(f"{caller}: condition {name!r} of {source_of(track)} must be (time, individual)")
        lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
        np.fmin.at(lo, pos[member], v[member])  # NaN samples (condition not defined there) ignored
        np.fmax.at(hi, pos[member], v[member])
        varies = np.isfinite(lo) & (lo != hi)
        if varies.any():
            raise ValueError(
                f"{caller}: condition {name!r} of {source_of(track)} changes within {int(varies.sum())} "
                "trials (a condition holds for a whole trial); leave it out with conditions=[...]"
            )
        first = np.where(np.isfinite(lo), lo, np.nan)
        out[name] = first
    return out


def compute_choice_accuracy(rec: xr.Dataset, *, individual=None) -> xr.DataArray:
    """Fraction of trials with a choice that were correct (needs the ``correct`` variable);
    ``attrs['n_trials']``: the trials counted."""
    trials = compute_trials(rec, individual=individual)
    if "correct" not in select_track(rec, individual=individual, caller="compute_choice_accuracy").recording:
        raise ValueError(
            f"compute_choice_accuracy: {source_of(rec)} has no 'correct' variable (1 where the "
            "trial's choice was correct, 0 where wrong)"
        )
    ok = (trials["choice"].values >= 0) & np.isfinite(trials["correct"].values)
    value = float(trials["correct"].values[ok].mean()) if ok.any() else np.nan
    return xr.DataArray(value, name="accuracy", attrs={"units": "1", "n_trials": int(ok.sum())})


def compute_win_stay_lose_shift(rec: xr.Dataset, *, individual=None) -> xr.Dataset:
    """:func:`neuroethology.analysis.trials.win_stay_lose_shift` of the Recording's trials
    (:func:`compute_trials`)."""
    return win_stay_lose_shift(compute_trials(rec, individual=individual))


def _logistic_fit(
    X: np.ndarray, y: np.ndarray, l2: float, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, float]:
    """Newton-Raphson (IRLS) for a logistic regression with an L2 penalty on all but the intercept
    (column 0). Returns weights, their standard errors (inverse penalised Hessian) and log-likelihood."""
    n, p = X.shape
    w = np.zeros(p)
    pen = np.full(p, l2)
    pen[0] = 0.0
    for _ in range(max_iter):
        z = X @ w
        mu = 1.0 / (1.0 + np.exp(-z))
        grad = X.T @ (y - mu) - pen * w
        H = (X * (mu * (1 - mu))[:, None]).T @ X + np.diag(pen)
        step = np.linalg.solve(H + 1e-12 * np.eye(p), grad)
        w = w + step
        if np.max(np.abs(step)) < 1e-10:
            break
    z = X @ w
    ll = float(np.sum(y * z - np.logaddexp(0.0, z)))
    mu = 1.0 / (1.0 + np.exp(-z))
    H = (X * (mu * (1 - mu))[:, None]).T @ X + np.diag(pen)
    se = np.sqrt(np.clip(np.diag(np.linalg.pinv(H)), 0, None))
    return w, se, ll


def fit_choice_history(rec: xr.Dataset, *, n_back: int = 5, l2: float = 1e-2, individual=None) -> xr.Dataset:
    """Logistic regression of a two-option choice on the past ``n_back`` trials (Lau & Glimcher 2005):

        logit P(c_t = B) = b0 + sum_k beta_k c_{t-k} + sum_k gamma_k r_{t-k} c_{t-k}

    with ``c = +1`` for option B (the larger option index), ``-1`` for A, and ``r = 1`` for a rewarded
    trial, 0 otherwise; ``beta`` are choice-history weights (perseveration), ``gamma`` reward-history
    weights. Trials whose history contains an omission are left out.

    Args:
        n_back: trials of history.
        l2: ridge penalty on the history weights, so that deterministic agents (whose choices the history
            separates perfectly) get finite weights; 0 gives the plain maximum-likelihood fit.

    Returns:
        ``intercept``, ``choice_weights (lag)``, ``reward_weights (lag)``, their ``*_stderr``,
        ``log_likelihood``, ``n_trials`` and ``options`` (attrs: A, B).
    """
    if int(n_back) < 1:
        raise ValueError(f"fit_choice_history: n_back must be >= 1, got {n_back}")
    if not l2 >= 0:
        raise ValueError(f"fit_choice_history: l2 must be >= 0, got {l2}")
    n_back = int(n_back)
    trials = compute_trials(rec, individual=individual)
    c = trials["choice"].values
    options = np.unique(c[c >= 0])
    if options.size != 2:
        raise ValueError(
            f"fit_choice_history: needs exactly two options, found {options.tolist()} in {source_of(rec)}"
        )
    s = np.where(c == options[1], 1.0, np.where(c == options[0], -1.0, np.nan))
    r = trials["rewarded"].values.astype(float)
    consecutive = np.concatenate([[False], consecutive_pairs(trials)])
    rows, ys = [], []
    for t in range(n_back, s.size):
        hist = slice(t - n_back, t)
        if np.isnan(s[t]) or np.isnan(s[hist]).any() or not consecutive[t - n_back + 1 : t + 1].all():
            continue
        past_c = s[hist][::-1]  # lag 1 first
        past_r = r[hist][::-1]
        rows.append(np.concatenate([[1.0], past_c, past_r * past_c]))
        ys.append(s[t] > 0)
    if len(rows) < 2 * n_back + 2:
        raise ValueError(
            f"fit_choice_history: only {len(rows)} trials with a full {n_back}-trial history; need "
            f"at least {2 * n_back + 2}"
        )
    X, y = np.asarray(rows), np.asarray(ys, float)
    w, se, ll = _logistic_fit(X, y, float(l2))
    lag = np.arange(1, n_back + 1)
    return xr.Dataset(
        {
            "intercept": ((), w[0]),
            "intercept_stderr": ((), se[0]),
            "choice_weights": ("lag", w[1 : n_back + 1]),
            "choice_weights_stderr": ("lag", se[1 : n_back + 1]),
            "reward_weights": ("lag", w[n_back + 1 :]),
            "reward_weights_stderr": ("lag", se[n_back + 1 :]),
            "log_likelihood": ((), ll),
            "n_trials": ((), len(ys)),
        },
        coords={"lag": lag},
        attrs={
            "option_A": int(options[0]),
            "option_B": int(options[1]),
            "l2": float(l2),
            "reference": "Lau & Glimcher 2005 J Exp Anal Behav 84:555",
        },
    )
