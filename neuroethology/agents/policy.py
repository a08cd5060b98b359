"""Agents as policies: the environments' policy protocol, and rollouts that keep the hidden states.

:class:`AgentPolicy` makes a trained agent usable wherever a reference policy is
(:func:`neuroethology.envs.rollout`, benchmarks, comparisons)::

    policy = AgentPolicy(graphdef, weights)                 # from nnx.split(agent)
    carry = policy.init(key, env_state, env_params)         # the core state, zeros
    action, carry = policy.act(key, carry, obs, env_state, env_params)

:func:`rollout_agent` runs a batch of environments and records what analysis needs: the environment states,
actions, rewards, episode flags, and the agent's hidden units ("neurons") and value estimates at every step.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from ..envs.core import NeuroEnv

__all__ = ["AgentPolicy", "AgentRollout", "make_agent_rollout", "rollout_agent"]


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
        agent = nnx.merge(self.graphdef, self.weights)
        noise = None
        if self.noise_size and not self.deterministic:
            key, k_noise = jax.random.split(key)
            noise = jax.random.normal(k_noise, (self.noise_size,))
        out = agent.step(carry, obs, jnp.zeros((), bool), noise)
        action = out.dist.mode() if self.deterministic else out.dist.sample(key)[0]
        return action, out.state


class AgentRollout(NamedTuple):
    """Time-major ``(num_steps, num_envs, ...)`` record of an agent in a batch of environments.

    ``env_states[t]`` is the state in which ``actions[t]`` was taken, ``observations[t]`` what the agent saw
    there and ``starts[t]`` whether that step began an episode. ``hidden[t]`` are the core's output units
    after reading ``observations[t]``. ``rewards``/``terminated``/``truncated`` describe the transition.
    """

    env_states: Any
    observations: Any
    starts: jax.Array  # bool
    actions: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    hidden: jax.Array  # (T, B, features)
    values: jax.Array  # (T, B)
    log_probs: jax.Array  # (T, B) log-probability of the raw draw (PPO's)
    infos: Any = ()  # with record_info: the environment's transition info dicts, (T, B, ...) leaves


def make_agent_rollout(
    env: NeuroEnv,
    graphdef: nnx.GraphDef,
    *,
    num_steps: int,
    num_envs: int,
    deterministic: bool = False,
    record_obs: bool = True,
    record_info: bool = False,
):
    """A jitted ``run(weights, key, env_params) -> AgentRollout`` for fixed sizes."""

    def run(weights: nnx.State, key: jax.Array, env_params: Any) -> AgentRollout:
        agent = nnx.merge(graphdef, weights)
        k_reset, k_loop = jax.random.split(key)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_reset, num_envs), env_params
        )
        start = jnp.ones((num_envs,), bool)
        core = agent.initial_state((num_envs,))

        def body(carry, key_t):
            obs, env_state, core, start = carry
            k_act, k_env, k_noise = jax.random.split(key_t, 3)
            noise = None
            if agent.noise_size and not deterministic:
                noise = jax.random.normal(k_noise, (num_envs, agent.noise_size))
            out = agent.step(core, obs, start, noise)
            if deterministic:
                action = out.dist.mode()
                logp = out.dist.log_prob(action)
            else:
                action, raw = out.dist.sample(k_act)
                logp = out.dist.log_prob_raw(raw)
            next_obs, next_state, reward, term, trunc, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_env, num_envs), env_state, action, env_params
            )
            record = (
                env_state,
                obs if record_obs else (),
                start,
                action,
                reward,
                term,
                trunc,
                out.hidden,
                out.value,
                logp,
                info if record_info else (),
            )
            return (next_obs, next_state, out.state, term | trunc), record

        _, rec = jax.lax.scan(body, (obs, env_state, core, start), jax.random.split(k_loop, num_steps))
        return AgentRollout(*rec)

    return jax.jit(run)


@functools.lru_cache(maxsize=16)
def _cached(env, graphdef, num_steps, num_envs, deterministic, record_obs, record_info):
    return make_agent_rollout(
        env,
        graphdef,
        num_steps=num_steps,
        num_envs=num_envs,
        deterministic=deterministic,
        record_obs=record_obs,
        record_info=record_info,
    )


def rollout_agent(
    env: NeuroEnv,
    graphdef: nnx.GraphDef,
    weights: nnx.State,
    key: jax.Array,
    env_params: Any = None,
    *,
    num_steps: int,
    num_envs: int = 1,
    deterministic: bool = False,
    record_obs: bool = True,
    record_info: bool = False,
) -> AgentRollout:
    """Run an agent for ``num_steps`` steps in ``num_envs`` autoresetting environments (see
    :class:`AgentRollout`); the compiled function is cached per (env, graphdef, sizes)."""
    env_params = env.default_params if env_params is None else env_params
    run = _cached(
        env, graphdef, int(num_steps), int(num_envs), bool(deterministic), bool(record_obs), bool(record_info)
    )
    return run(weights, key, env_params)
