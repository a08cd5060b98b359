"""The math of PPO as small pure functions, each tested alone against a NumPy reference
(``tests/unit/training/test_ppo_math.py``): generalised advantage estimation and the clipped surrogate loss.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["PPOLossInfo", "compute_gae", "ppo_loss"]


class PPOLossInfo(NamedTuple):
    policy_loss: jax.Array
    value_loss: jax.Array
    entropy: jax.Array
    approx_kl: jax.Array
    clip_fraction: jax.Array


def compute_gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    episode_ends: jax.Array,
    *,
    gamma: jax.typing.ArrayLike,
    gae_lambda: jax.typing.ArrayLike,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16), time-major ``(T, ...)`` inputs.

    ``delta_t = r_t + gamma (1 - terminated_t) next_values_t - values_t`` and
    ``A_t = delta_t + gamma lambda (1 - episode_ends_t) A_{t+1}`` with ``A_T = 0``: a termination cuts the
    bootstrap, any episode end (termination or truncation) cuts the recursion. ``next_values_t`` is the
    value of the state after step ``t`` (the caller substitutes a stand-in after a truncation).
    Returns ``(advantages, returns = advantages + values)``, both ``(T, ...)``.
    """
    rewards, values, next_values = (jnp.asarray(x, jnp.float32) for x in (rewards, values, next_values))
    if (
        not rewards.shape
        == values.shape
        == next_values.shape
        == jnp.shape(terminated)
        == jnp.shape(episode_ends)
    ):
        raise ValueError(
            f"compute_gae: shapes differ: rewards {rewards.shape}, values {values.shape}, next_values "
            f"{next_values.shape}, terminated {jnp.shape(terminated)}, episode_ends {jnp.shape(episode_ends)}"
        )
    not_terminated = 1.0 - jnp.asarray(terminated, jnp.float32)
    continues = 1.0 - jnp.asarray(episode_ends, jnp.float32)
    deltas = rewards + gamma * not_terminated * next_values - values

    def body(next_advantage, inputs):
        delta, cont = inputs
        advantage = delta + gamma * gae_lambda * cont * next_advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(body, jnp.zeros_like(values[0]), (deltas, continues), reverse=True)
    return advantages, advantages + values


def ppo_loss(
    log_prob: jax.Array,
    old_log_prob: jax.Array,
    advantages: jax.Array,
    values: jax.Array,
    old_values: jax.Array,
    returns: jax.Array,
    entropy: jax.Array,
    *,
    clip_eps: jax.typing.ArrayLike,
    vf_coef: jax.typing.ArrayLike,
    ent_coef: jax.typing.ArrayLike,
    clip_value_loss: bool = False,
    normalize_advantages: bool = True,
) -> tuple[jax.Array, PPOLossInfo]:
    """PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7) plus value and entropy terms.

    All inputs have the same shape (any); means are over all elements. With ``normalize_advantages`` the
    advantages are standardised first (mean 0, s.d. 1, +1e-8). ``loss = policy_loss + vf_coef value_loss -
    ent_coef entropy`` with ``policy_loss = mean(max(-A r, -A clip(r, 1 - eps, 1 + eps)))``,
    ``r = exp(log_prob - old_log_prob)`` and ``value_loss = 0.5 mean((V - R)^2)`` (with ``clip_value_loss``:
    the elementwise max with the loss of ``old_V + clip(V - old_V, -eps, eps)``). Also returns the approximate
    KL divergence ``mean(r - 1 - log r)`` (Schulman's k3 estimator) and the fraction of clipped ratios.
    """
    shape = jnp.shape(log_prob)
    for name, x in (
        ("old_log_prob", old_log_prob),
        ("advantages", advantages),
        ("values", values),
        ("old_values", old_values),
        ("returns", returns),
        ("entropy", entropy),
    ):
        if jnp.shape(x) != shape:
            raise ValueError(f"ppo_loss: {name} has shape {jnp.shape(x)}, expected {shape} (as log_prob)")
    if normalize_advantages:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    surrogate = jnp.maximum(
        -advantages * ratio, -advantages * jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    )
    policy_loss = surrogate.mean()
    value_error = (values - returns) ** 2
    if clip_value_loss:
        clipped = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        value_error = jnp.maximum(value_error, (clipped - returns) ** 2)
    value_loss = 0.5 * value_error.mean()
    mean_entropy = entropy.mean()
    total = policy_loss + vf_coef * value_loss - ent_coef * mean_entropy
    info = PPOLossInfo(
        policy_loss=policy_loss,
        value_loss=value_loss,
        entropy=mean_entropy,
        approx_kl=((ratio - 1.0) - log_ratio).mean(),
        clip_fraction=(jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32).mean(),
    )
    return total, info
