"""Stage 4 of a fit: held-out log-likelihoods per step of the animal's actions, for the fitted network, the
fitted baseline and a null model (a Gaussian fitted to the training actions), in the environment's action
space and over the steps whose action lies inside it. ``bits_per_step_over_null`` is the gain over the null
model, ``normalised_likelihood`` its per-step likelihood ratio ``exp(mean log p - mean log p_null)``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..envs.open_field import OpenFieldParams
from .behaviour import agent_log_likelihood
from .config import FitConfig, FittedModel
from .random_motion_fit import action_log_likelihood
from .reconstruct import Demonstration
from .targets import target_log_jacobian, target_space, to_targets

__all__ = ["heldout_scores", "summarise_folds"]


def _gaussian_null(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = actions.mean(axis=0)
    cov = np.cov(actions.T) + 1e-9 * np.eye(actions.shape[1])
    return mean, cov


def _gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = x - mean
    inv = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    return -0.5 * (np.einsum("ni,ij,nj->n", d, inv, d) + logdet + len(mean) * math.log(2 * math.pi))


def _summary(ll: np.ndarray, ll_null: np.ndarray) -> dict[str, float]:
    per_step = float(np.mean(ll))
    gain = per_step - float(np.mean(ll_null))
    return {
        "log_likelihood_per_step": per_step,
        "bits_per_step_over_null": gain / math.log(2),
        "normalised_likelihood": math.exp(gain),
    }


def heldout_scores(
    model: FittedModel,
    config: FitConfig,
    params: OpenFieldParams,
    demo_train: Demonstration,
    demo_test: Demonstration,
    windows_test: np.ndarray,
) -> dict[str, Any]:
    """Held-out scores of the baseline, the null model and (for a network) the network."""
    inside = demo_test.in_bounds
    ll_base = action_log_likelihood(model.baseline, windows_test, params)[inside]
    mean, cov = _gaussian_null(demo_train.actions[demo_train.in_bounds])
    ll_null = _gaussian_logpdf(demo_test.actions[inside], mean, cov)
    scores: dict[str, Any] = {
        "test_steps": int(inside.sum()),
        "test_steps_outside_action_space": int((~inside).sum()),
        "null": _summary(ll_null, ll_null),
        "baseline": _summary(ll_base, ll_null),
    }
    if model.kind != "ou":
        space = target_space(params, config.warp)
        ll_net = agent_log_likelihood(
            model.graphdef, model.weights, to_targets(demo_test, params, config.warp), space
        )
        ll_net = (ll_net + target_log_jacobian(demo_test, params, config.warp))[inside]
        scores["network"] = _summary(ll_net, ll_null)
    return scores


def summarise_folds(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Cross-validation: every fold's scores and the mean and s.d. of each model's held-out likelihood."""
    out: dict[str, Any] = {"folds": folds}
    for name in ("null", "baseline", "network"):
        if all(name in f for f in folds):
            values = [f[name]["log_likelihood_per_step"] for f in folds]
            out[name] = {"log_likelihood_per_step_mean": float(np.mean(values)), "sd": float(np.std(values))}
    return out
