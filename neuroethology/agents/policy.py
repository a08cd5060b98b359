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

For the dynamics of a trained core (fixed and slow points, :mod:`neuroethology.analysis.neural.dynamics`):
:func:`recurrent_map` is the core's update ``h -> h'`` under a given input as a plain jittable function of
the core state, and :func:`with_core_inputs` wraps any network policy so that its Recordings also hold the
inputs the core received (``core_input``), from which a typical input (their mean) is taken.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["AgentPolicy", "CoreInputs", "recurrent_map", "replay_states", "with_core_inputs"]


@jax.tree_util.register_pytree_node_class
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

    # A pytree of its weights: a rollout compiles once for every agent of one architecture.
    def tree_flatten(self) -> tuple[tuple, tuple]:
        return (self.weights,), (self.graphdef, self.deterministic, self.state_size, self.noise_size)

    @classmethod
    def tree_unflatten(cls, static: tuple, children: tuple) -> AgentPolicy:
        policy = object.__new__(cls)
        (policy.weights,) = children
        policy.graphdef, policy.deterministic, policy.state_size, policy.noise_size = static
        return policy

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


def recurrent_map(policy: Any):
    """``(step, state_size)``: ``step(h, u) -> h'``, the noiseless update of ``policy``'s recurrent core from
    state ``h (state_size,)`` under the core input ``u`` (the encoder's features after the core's input
    projection, what :func:`with_core_inputs` records), for any policy holding an agent's ``graphdef`` and
    ``weights`` (:class:`AgentPolicy`, a fitted model's policy). An LSTM's state is ``[h, c]``."""
    graphdef, weights = policy.graphdef, policy.weights
    agent = nnx.merge(graphdef, weights)
    noise = jnp.zeros((agent.noise_size,), jnp.float32)

    def step(h: jax.Array, u: jax.Array) -> jax.Array:
        core = nnx.merge(graphdef, weights).core
        return core.recur(h.astype(jnp.float32), u.astype(jnp.float32), noise)[0].astype(h.dtype)

    return step, int(agent.state_size)


def replay_states(policy: Any, inputs: Any, starts: Any):
    """``(T, state_size)`` the core states of ``policy`` along recorded core ``inputs (T, input)``
    (:func:`with_core_inputs`), reset to zeros where ``starts (T,)`` marks an episode start, as the rollout
    resets them: the states the policy itself went through (noiseless)."""
    step, size = recurrent_map(policy)

    def advance(h, x_start):
        x, start = x_start
        h = step(jnp.where(start, jnp.zeros_like(h), h), x)
        return h, h

    xs = (jnp.asarray(inputs, jnp.float32), jnp.asarray(starts, bool))
    return jax.lax.scan(advance, jnp.zeros((size,), jnp.float32), xs)[1]


class CoreInputs:
    """A network policy that also reports ``core_input``: the input its core received at each step (see
    :func:`recurrent_map`). Acts exactly as the policy it wraps."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.graphdef, self.weights = policy.graphdef, policy.weights
        self.state_size = policy.state_size

    def init(self, key: jax.Array, env_state: Any, env_params: Any) -> jax.Array:
        return self.policy.init(key, env_state, env_params)

    def act(self, key: jax.Array, carry: jax.Array, obs: Any, env_state: Any, env_params: Any):
        return self.policy.act(key, carry, obs, env_state, env_params)

    def act_with_extras(self, key: jax.Array, carry: jax.Array, obs: Any, env_state: Any, env_params: Any):
        action, carry_out, extras = self.policy.act_with_extras(key, carry, obs, env_state, env_params)
        agent = nnx.merge(self.graphdef, self.weights)
        read = getattr(
            self.policy, "read", None
        )  # what the network reads of obs (an animal's identity added)
        seen = read(obs) if read is not None else obs
        return action, carry_out, {**extras, "core_input": agent.core.project(agent.encoder(seen))}


def with_core_inputs(policy: Any) -> CoreInputs:
    """``policy`` (an agent's: it holds ``graphdef`` and ``weights``) reporting its core's inputs too."""
    if not (hasattr(policy, "graphdef") and hasattr(policy, "weights")):
        raise ValueError(
            f"with_core_inputs: {type(policy).__name__} is not a network policy (it holds no agent weights)"
        )
    return CoreInputs(policy)
