"""Run a policy in an environment: one jitted ``lax.scan`` over time of a ``vmap`` over environments."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .core import NeuroEnv, _select
from .policies.base import Policy

__all__ = ["Rollout", "rollout", "make_rollout"]


class Rollout(NamedTuple):
    """Time-major arrays ``(num_steps, [num_envs,] ...)``.

    ``states[t]`` is the state in which ``actions[t]`` was taken; ``rewards[t]``, ``terminated[t]`` and
    ``truncated[t]`` describe that transition. After a step with ``terminated | truncated`` the next state
    starts a new episode (autoreset). ``final_state`` is the state after the last step.
    """

    states: Any
    actions: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    observations: Any
    final_state: Any
    policy_carry: Any = ()  # with record_carry: the policy's carry after each action (e.g. an agent's core state)


def make_rollout(
    env: NeuroEnv,
    policy: Policy,
    num_steps: int,
    num_envs: int | None = None,
    record_obs: bool = False,
    record_carry: bool = False,
):
    """A jitted ``run(key, params) -> Rollout`` for fixed sizes (compile once, call many times)."""

    def run_one(key: jax.Array, params: Any) -> Rollout:
        key_reset, key_policy, key_loop = jax.random.split(key, 3)
        obs, state = env.reset(key_reset, params)
        carry = policy.init(key_policy, state, params)

        def body(loop, key_t):
            obs, state, carry = loop
            k_act, k_step, k_init = jax.random.split(key_t, 3)
            action, carry = policy.act(k_act, carry, obs, state, params)
            next_obs, next_state, reward, terminated, truncated, _ = env.step(k_step, state, action, params)
            recorded_carry = carry if record_carry else ()
            carry = _select(terminated | truncated, policy.init(k_init, next_state, params), carry)
            out = (state, action, reward, terminated, truncated, obs if record_obs else (), recorded_carry)
            return (next_obs, next_state, carry), out

        (_, final_state, _), (states, actions, rewards, term, trunc, observations, carries) = jax.lax.scan(
            body, (obs, state, carry), jax.random.split(key_loop, num_steps)
        )
        return Rollout(states, actions, rewards, term, trunc, observations, final_state, carries)

    if num_envs is None:
        return jax.jit(run_one)

    def run_batch(key: jax.Array, params: Any) -> Rollout:
        batch = jax.vmap(run_one, in_axes=(0, None))(jax.random.split(key, num_envs), params)
        # vmap puts the env axis first; the contract is time-major.
        swap = functools.partial(jnp.swapaxes, axis1=0, axis2=1)
        return batch._replace(
            states=jax.tree.map(swap, batch.states),
            actions=swap(batch.actions),
            rewards=swap(batch.rewards),
            terminated=swap(batch.terminated),
            truncated=swap(batch.truncated),
            observations=jax.tree.map(swap, batch.observations),
            policy_carry=jax.tree.map(swap, batch.policy_carry),
        )

    return jax.jit(run_batch)


@functools.lru_cache(maxsize=32)
def _cached(env, policy, num_steps: int, num_envs: int | None, record_obs: bool, record_carry: bool):
    return make_rollout(env, policy, num_steps, num_envs, record_obs, record_carry)


def rollout(
    env: NeuroEnv,
    policy: Policy,
    key: jax.Array,
    params: Any = None,
    *,
    num_steps: int,
    num_envs: int | None = None,
    record_obs: bool = False,
    record_carry: bool = False,
) -> Rollout:
    """Run ``policy`` for ``num_steps`` steps in one (``num_envs=None``) or ``num_envs`` environments.

    ``record_obs``/``record_carry`` keep the observations and the policy's carry (an agent's recurrent state).
    The compiled function is cached per (env, policy, sizes), so repeated calls do not recompile.
    """
    params = env.default_params if params is None else params
    run = _cached(
        env, policy, int(num_steps), None if num_envs is None else int(num_envs), bool(record_obs), bool(record_carry)
    )
    return run(key, params)
