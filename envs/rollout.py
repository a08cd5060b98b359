"""Run a policy in an environment: one jitted ``lax.scan`` over time of a ``vmap`` over environments."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .core import NeuroEnv, _select
from .policies.base import Policy

__all__ = ["Rollout", "rollout", "make_rollout", "policy_extras"]


def policy_extras(policy: Policy, key: jax.Array, carry: Any, obs: Any, state: Any, params: Any):
    """``(action, carry, extras)``: the policy's ``act_with_extras`` where it has one, else its ``act`` with
    no extras (``{}``). The action and carry are the same as ``act``'s for the same key."""
    if hasattr(policy, "act_with_extras"):
        return policy.act_with_extras(key, carry, obs, state, params)
    action, carry = policy.act(key, carry, obs, state, params)
    return action, carry, {}


class Rollout(NamedTuple):
    """Time-major arrays ``(num_steps, [num_envs,] ...)``.

    ``states[t]`` is the state in which ``actions[t]`` was taken; ``rewards[t]``, ``terminated[t]`` and
    ``truncated[t]`` describe that transition. After a step with ``terminated | truncated`` the next state
    starts a new episode (autoreset). ``final_state`` is the state after the last step.

    ``extras`` (with ``record_extras``) is what the policy reports about each step: a dict of arrays from its
    ``act_with_extras`` (see :class:`~neuroethology.envs.policies.base.Policy`), such as an agent's
    ``hidden`` units, its ``value`` estimate and the ``log_prob`` of the action; ``{}`` otherwise.
    ``infos`` (with ``record_info``) is the ``info`` dict ``env.step`` returned for each transition.
    """

    states: Any
    actions: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    observations: Any
    final_state: Any
    extras: Any = ()  # with record_extras: the policy's report of each step (dict of arrays), else ()
    infos: Any = ()  # with record_info: each transition's info dict from env.step, else ()


def make_rollout(
    env: NeuroEnv,
    policy: Policy,
    num_steps: int,
    num_envs: int | None = None,
    record_obs: bool = False,
    record_extras: bool = False,
    record_info: bool = False,
):
    """A jitted ``run(key, params) -> Rollout`` for fixed sizes (compile once, call many times)."""

    def run_one(key: jax.Array, params: Any) -> Rollout:
        key_reset, key_policy, key_loop = jax.random.split(key, 3)
        obs, state = env.reset(key_reset, params)
        carry = policy.init(key_policy, state, params)

        def body(loop, key_t):
            obs, state, carry = loop
            k_act, k_step, k_init = jax.random.split(key_t, 3)
            if record_extras:
                action, carry, extras = policy_extras(policy, k_act, carry, obs, state, params)
            else:
                action, carry = policy.act(k_act, carry, obs, state, params)
                extras = ()
            next_obs, next_state, reward, terminated, truncated, info = env.step(
                k_step, state, action, params
            )
            carry = _select(terminated | truncated, policy.init(k_init, next_state, params), carry)
            recorded = (obs if record_obs else (), extras, info if record_info else ())
            out = (state, action, reward, terminated, truncated, *recorded)
            return (next_obs, next_state, carry), out

        (_, final_state, _), (states, actions, rewards, term, trunc, observations, extras, infos) = (
            jax.lax.scan(body, (obs, state, carry), jax.random.split(key_loop, num_steps))
        )
        return Rollout(states, actions, rewards, term, trunc, observations, final_state, extras, infos)

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
            extras=jax.tree.map(swap, batch.extras),
            infos=jax.tree.map(swap, batch.infos),
        )

    return jax.jit(run_batch)


@functools.lru_cache(maxsize=32)
def _cached(
    env, policy, num_steps: int, num_envs: int | None, record_obs: bool, record_extras: bool, record_info
):
    return make_rollout(env, policy, num_steps, num_envs, record_obs, record_extras, record_info)


def rollout(
    env: NeuroEnv,
    policy: Policy,
    key: jax.Array,
    params: Any = None,
    *,
    num_steps: int,
    num_envs: int | None = None,
    record_obs: bool = False,
    record_extras: bool = False,
    record_info: bool = False,
) -> Rollout:
    """Run ``policy`` for ``num_steps`` steps in one (``num_envs=None``) or ``num_envs`` environments.

    ``record_obs`` keeps the observations; ``record_extras`` what the policy reports of each step (an agent's
    hidden units, value and log-probability; see :class:`Rollout`); ``record_info`` each transition's
    ``info``.
    The compiled function is cached per (env, policy, sizes), so repeated calls do not recompile.
    """
    params = env.default_params if params is None else params
    run = _cached(
        env,
        policy,
        int(num_steps),
        None if num_envs is None else int(num_envs),
        bool(record_obs),
        bool(record_extras),
        bool(record_info),
    )
    return run(key, params)
