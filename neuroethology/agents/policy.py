"""Agents as policies: the environments' policy protocol, with the agent's units as extras.

:class:`AgentPolicy` makes a trained agent usable wherever a reference policy is
(:func:`neuroethology.envs.rollout`, benchmarks, comparisons, simulated Recordings)::

    policy = AgentPolicy(graphdef, weights)                 # from nnx.split(agent)
    carry = policy.init(key, env_state, env_params)         # the core state, zeros
    action, carry = policy.act(key, carry, obs, env_state, env_params)
    action, carry, extras = policy.act_with_extras(key, carry, obs, env_state, env_params)

``extras`` holds the core's output units (``hidden``, the "neurons" that analysis reads), the critic's
``value`` and the ``log_prob`` of the action (of the distribution's raw draw, as PPO scores it). Rollouts
with ``record_extras=True`` keep them (:func:`neuroethology.envs.rollout`), and
:mod:`neuroethology.simulation` writes them into Recordings.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["AgentPolicy"]


class AgentPolicy:
    """An agent behind the policy protocol ``init(key, env_state, env_params) -> carry`` and
    ``act(key, carry, obs, env_state, env_params) -> (action, carry)``; the carry is the core state
    ``(state_size,)``. ``deterministic=True`` takes the distribution's mode instead of sampling (and drops
    the leaky RNN's private noise)."""

    def __init__(self, graphdef: nnx.GraphDef, weights: nnx.State, *, deterministic: bool = False) -> None:
        self.graphdef = graphdef
        self.weights = weights
        self.deterministic = bool(deterministic)
        agent = nnx.merge(graphdef, weights)
        self.state_size = agent.state_size
        self.noise_size = agent.noise_size

    def init(self, key: jax.Array, env_state: Any, env_params: Any) -> jax.Array:
        return jnp.zeros((self.state_size,), jnp.float32)

    def act(self, key: jax.Array, carry: jax.Array, obs: Any, env_state: Any, env_params: Any):
        action, carry, _ = self.act_with_extras(key, carry, obs, env_state, env_params)
        return action, carry

    def act_with_extras(self, key: jax.Array, carry: jax.Array, obs: Any, env_state: Any, env_params: Any):
        """``(action, carry, {"hidden", "value", "log_prob"})`` (see the module docstring)."""
        agent = nnx.merge(self.graphdef, self.weights)
        noise = None
        if self.noise_size and not self.deterministic:
            key, k_noise = jax.random.split(key)
            noise = jax.random.normal(k_noise, (self.noise_size,))
        out = agent.step(carry, obs, jnp.zeros((), bool), noise)
        if self.deterministic:
            action = out.dist.mode()
            log_prob = out.dist.log_prob(action)
        else:
            action, raw = out.dist.sample(key)
            log_prob = out.dist.log_prob_raw(raw)
        extras = {"hidden": out.hidden, "value": out.value, "log_prob": log_prob}
        return action, out.state, extras
