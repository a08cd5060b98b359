"""PPO's rollout: ``num_envs`` environments stepped ``num_steps`` times by a recurrent agent, in one
``lax.scan`` over ``vmap(env.step)`` carrying a named :class:`RolloutCarry` (PureJaxRL's rollout, tidied).

The agent's core state is reset inside the scan where an episode starts (the environments autoreset). Every
step stores a :class:`Transition`: the observation, the episode-start flag, the core state *entering* the
step, the leaky RNN's noise draw, the raw action, its log-probability and the value. An animal prior
(:class:`AnimalPrior`), when given, scores each action alongside.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
from flax import nnx

from .. import envs as ne

__all__ = ["AnimalPrior", "Transition", "RolloutCarry", "EpisodeEnds", "Rollout", "rollout_step", "rollout"]


class AnimalPrior(Protocol):
    """A policy whose log-likelihood of the agent's actions is added to the reward (``TrainConfig.prior``):
    e.g. a network fitted to a recorded animal (:func:`neuroethology.priors.load_animal_prior`)."""

    state_size: int  # width of its recurrent state (starts at zeros with every rollout)

    def log_prob(
        self, carry: jax.Array, obs: Any, start: jax.Array, env_state: Any, action: jax.Array, env_params: Any
    ) -> tuple[jax.Array, jax.Array]:
        """``(log p(action | o_1..o_t), new carry)`` for a batch of environments, reset where ``start``."""
        ...


class Transition(NamedTuple):
    """One rollout step per environment; stacked ``(num_steps, num_envs, ...)``."""

    obs: Any  # observation the action was taken on
    start: jax.Array  # bool: obs begins an episode (the core state is reset before reading it)
    core_state: jax.Array  # (state_size,) core state entering the step (before that reset)
    noise: jax.Array  # (noise_size,) the leaky RNN's private noise draw (empty for other cores)
    raw_action: jax.Array  # the distribution's raw draw (the action for Discrete)
    log_prob: jax.Array  # log-probability of raw_action under the rollout policy
    value: jax.Array  # V(history up to obs)
    reward: jax.Array
    terminated: jax.Array  # bool
    truncated: jax.Array  # bool


class RolloutCarry(NamedTuple):
    """What the rollout's scan carries from step to step; every leaf has the environment axis first."""

    env_state: Any  # (num_envs, ...) environment states
    obs: Any  # (num_envs, ...) current observations
    core_state: jax.Array  # (num_envs, state_size) the agent's core state
    start: jax.Array  # (num_envs,) bool: obs begins an episode
    episode_return: jax.Array  # (num_envs,) return of the running episodes so far
    episode_length: jax.Array  # (num_envs,) int32 steps of the running episodes so far
    prior_state: jax.Array  # (num_envs, prior.state_size) the animal prior's state; (num_envs, 0) without


class EpisodeEnds(NamedTuple):
    """The episodes that ended at one step, summed over environments (stacked ``(num_steps,)``)."""

    count: jax.Array  # int32 episodes
    return_sum: jax.Array  # sum of their returns
    length_sum: jax.Array  # int32 sum of their lengths (steps)


class Rollout(NamedTuple):
    """What :func:`rollout` collects."""

    traj: Transition  # (num_steps, num_envs, ...)
    last_value: jax.Array  # (num_envs,) V(history up to the observation after the last step)
    ended: EpisodeEnds  # (num_steps,)
    prior_log_prob: jax.Array  # (num_steps, num_envs) the animal prior's log p(action); zeros without


def rollout_step(
    agent: nnx.Module,
    env: ne.NeuroEnv,
    env_params: Any,
    noise_size: int,
    prior: AnimalPrior | None,
    carry: RolloutCarry,
    key: jax.Array,
) -> tuple[RolloutCarry, tuple[Transition, EpisodeEnds, jax.Array]]:
    """One step of all environments: act (with ``noise_size`` standard-normal draws of private noise), step,
    score the action under ``prior``; the episodes that end are counted and their return and length reset.
    Returns the next carry and ``(transition, ended, prior_log_prob)``."""
    num_envs = carry.start.shape[0]
    k_act, k_env, k_noise = jax.random.split(key, 3)
    if noise_size:
        noise = jax.random.normal(k_noise, (num_envs, noise_size))
    else:
        noise = jnp.zeros((num_envs, 0), jnp.float32)
    out = agent.step(carry.core_state, carry.obs, carry.start, noise)
    action, raw = out.dist.sample(k_act)
    next_obs, next_state, reward, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
        jax.random.split(k_env, num_envs), carry.env_state, action, env_params
    )
    prior_state = carry.prior_state
    if prior is not None:
        prior_log_prob, prior_state = prior.log_prob(
            prior_state, carry.obs, carry.start, carry.env_state, action, env_params
        )
    else:
        prior_log_prob = jnp.zeros((num_envs,), jnp.float32)
    done = term | trunc
    episode_return = carry.episode_return + reward
    episode_length = carry.episode_length + 1
    ended = EpisodeEnds(
        count=jnp.sum(done),
        return_sum=jnp.sum(jnp.where(done, episode_return, 0.0)),
        length_sum=jnp.sum(jnp.where(done, episode_length, 0)),
    )
    transition = Transition(
        obs=carry.obs,
        start=carry.start,
        core_state=carry.core_state,
        noise=noise,
        raw_action=raw,
        log_prob=out.dist.log_prob_raw(raw),
        value=out.value,
        reward=reward,
        terminated=term,
        truncated=trunc,
    )
    carry = RolloutCarry(
        env_state=next_state,
        obs=next_obs,
        core_state=out.state,
        start=done,
        episode_return=jnp.where(done, 0.0, episode_return),
        episode_length=jnp.where(done, 0, episode_length),
        prior_state=prior_state,
    )
    return carry, (transition, ended, prior_log_prob)


def rollout(
    agent: nnx.Module,
    env: ne.NeuroEnv,
    env_params: Any,
    carry: RolloutCarry,
    key: jax.Array,
    *,
    num_steps: int,
    noise_size: int = 0,
    prior: AnimalPrior | None = None,
) -> tuple[RolloutCarry, Rollout]:
    """``num_steps`` :func:`rollout_step` s from ``carry`` in a ``lax.scan`` (one key per step, split from
    ``key``); returns the carry after them and the :class:`Rollout`, whose ``last_value`` is the agent's value
    of the history up to the final observation (for bootstrapping)."""
    step = functools.partial(rollout_step, agent, env, env_params, noise_size, prior)
    carry, (traj, ended, prior_log_prob) = jax.lax.scan(step, carry, jax.random.split(key, num_steps))
    last_value = agent.step(carry.core_state, carry.obs, carry.start, None).value
    return carry, Rollout(traj, last_value, ended, prior_log_prob)
