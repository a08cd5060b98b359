"""Stage 4 of a fit: held-out log-likelihoods per step of the animal's actions, for the fitted network, the
fitted baseline and a null model (a Gaussian fitted to the training actions), in the environment's action
space and over the steps whose action lies inside it. ``bits_per_step_over_null`` is the gain over the null
model, ``normalised_likelihood`` its per-step likelihood ratio ``exp(mean log p - mean log p_null)``.

All three models are scored on one random variable, the action the reconstruction infers. On a step slower
than ``min_speed`` the reconstruction holds the heading, so the angular velocity is 0 by construction and
only the acceleration is data: every model is scored there with its marginal density of the acceleration
(the null: the Gaussian's marginal; the baseline: its density of the step length; the network: its head's
density of the next speed), elsewhere with its density of (acceleration, angular velocity) (see
:mod:`~neuroethology.fitting.random_motion_fit`). A 2-D density evaluated at ``omega = 0`` on a held step
scores a variable that has a point mass there, and rewards a model for a spike at 0 that nothing in the
animal's motion produced.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..envs.open_field import OpenFieldParams
from .behaviour import padded_unroll_log_likelihood, unroll_dist
from .config import FitConfig, FittedModel
from .random_motion_fit import action_log_likelihood, heading_held
from .reconstruct import Demonstration
from .targets import append_identity, target_log_jacobian, target_space, to_targets

__all__ = ["heldout_scores", "null_log_likelihood", "network_log_likelihood", "summarise_folds"]


def _gaussian_null(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = actions.mean(axis=0)
    cov = np.cov(actions.T) + 1e-9 * np.eye(actions.shape[1])
    return mean, cov


def _gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = x - mean
    inv = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    return -0.5 * (np.einsum("ni,ij,nj->n", d, inv, d) + logdet + len(mean) * math.log(2 * math.pi))


def null_log_likelihood(
    actions: np.ndarray, held: np.ndarray, mean: np.ndarray, cov: np.ndarray
) -> np.ndarray:
    """Per-step log density (nats) of ``actions (N, 2)`` under the Gaussian null ``N(mean, cov)``: in 2-D,
    and on the ``held`` steps (heading held, ``omega = 0`` by construction) the marginal of the acceleration."""
    out = _gaussian_logpdf(actions, mean, cov)
    a, var = actions[held, 0] - mean[0], cov[0, 0]
    out[held] = -0.5 * (a**2 / var + math.log(2 * math.pi * var))
    return out


def network_log_likelihood(
    model: FittedModel, demo: Demonstration, held: np.ndarray, params: OpenFieldParams
) -> np.ndarray:
    """Per-step log density (nats) of a demonstration's actions under a fitted network (teacher forcing):
    of (acceleration, angular velocity), and on the ``held`` steps of the acceleration alone, from the head's
    marginal density of the next speed (a diagonal head: its first component).

    Raises:
        ValueError: the network's head has no ``marginal`` (a Box head: Gaussian or mixture).
    """
    space = target_space(params, model.warp)
    targets = to_targets(demo, params, model.warp).actions
    z = jnp.clip(jnp.asarray(targets, jnp.float32), jnp.asarray(space.low), jnp.asarray(space.high))
    observations = demo.observations
    if model.identity is not None:  # a network fitted to several animals reads this animal's identity
        observations = append_identity(observations, model.identity)
    observations = jax.tree.map(jnp.asarray, observations)
    starts = jnp.asarray(demo.episode_start, bool)
    dist = jax.eval_shape(functools.partial(unroll_dist, model.graphdef), model.weights, observations, starts)
    if not hasattr(dist, "marginal"):
        raise ValueError(
            f"network_log_likelihood: the held-heading steps need the head's marginal density of the next "
            f"speed; it is known for the Box heads (Gaussian and mixture), not for a {type(dist).__name__}"
        )
    # one compiled unroll and scoring (scored_log_prob), as the fit's validation scores
    logp = padded_unroll_log_likelihood(
        model.graphdef, model.weights, observations, z, starts, jnp.asarray(held, bool)
    ).astype(float)
    # Jacobians from the warped targets back to the action: d v'/d a = dt, and the warps (targets.py).
    return logp + target_log_jacobian(demo, params, model.warp, held=held)


def _summary(ll: np.ndarray, ll_null: np.ndarray) -> dict[str, float]:
    per_step = float(np.mean(ll))
    gain = per_step - float(np.mean(ll_null))
    return {
        "log_likelihood_per_step": per_step,
        "bits_per_step_over_null": gain / math.log(2),
        "normalised_likelihood": math.exp(gain),
    }


def _held_steps(demo: Demonstration, windows: np.ndarray, config: FitConfig, dt: float) -> np.ndarray:
    """The steps whose heading the reconstruction held, checked against the demonstration's actions."""
    if len(windows) != demo.num_steps:
        raise ValueError(
            f"heldout_scores: {len(windows)} baseline windows for {demo.num_steps} demonstration steps"
        )
    held = heading_held(windows, dt, config.min_speed)
    if np.any(demo.actions[held, 1] != 0):
        raise ValueError(
            "heldout_scores: steps slower than min_speed have a nonzero angular velocity: the demonstration "
            f"was not reconstructed with min_speed={config.min_speed:g} m/s (min_step = min_speed * dt)"
        )
    return held


def heldout_scores(
    model: FittedModel,
    config: FitConfig,
    params: OpenFieldParams,
    demo_train: Demonstration,
    demo_test: Demonstration,
    windows_test: np.ndarray,
) -> dict[str, Any]:
    """Held-out scores of the baseline, the null model and (for a network) the network, all of the same
    variable over the same steps (see the module docstring)."""
    inside = demo_test.in_bounds
    held = _held_steps(demo_test, windows_test, config, float(params.dt))
    ll_base = action_log_likelihood(model.baseline, windows_test, params, min_speed=config.min_speed)
    mean, cov = _gaussian_null(demo_train.actions[demo_train.in_bounds])
    ll_null = null_log_likelihood(demo_test.actions, held, mean, cov)[inside]
    scores: dict[str, Any] = {
        "test_steps": int(inside.sum()),
        "test_steps_outside_action_space": int((~inside).sum()),
        "test_steps_heading_held": int((held & inside).sum()),
        "null": _summary(ll_null, ll_null),
        "baseline": _summary(ll_base[inside], ll_null),
    }
    if model.kind != "ou":
        ll_net = network_log_likelihood(model, demo_test, held, params)
        scores["network"] = _summary(ll_net[inside], ll_null)
    return scores


def summarise_folds(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Cross-validation: every fold's scores and the mean and s.d. of each model's held-out likelihood."""
    out: dict[str, Any] = {"folds": folds}
    for name in ("null", "baseline", "network"):
        if all(name in f for f in folds):
            values = [f[name]["log_likelihood_per_step"] for f in folds]
            out[name] = {"log_likelihood_per_step_mean": float(np.mean(values)), "sd": float(np.std(values))}
    return out
