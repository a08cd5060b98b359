"""Run a policy in an environment: one jitted ``lax.scan`` over time of a ``vmap`` over environments.

:func:`rollout` runs the whole length in one device call; :func:`rollout_chunks` runs it as a sequence of
shorter calls that carry the environments and the policy's memory from one to the next, so a long
simulation never holds more than one chunk of states on the device. Both draw the same random numbers:
the per-step keys are one ``split`` of the whole length (8 bytes per step and environment, kept on the
device), and a chunked run is bit for bit the unchunked one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .core import NeuroEnv, _select
from .policies.base import Policy

__all__ = ["Rollout", "rollout", "rollout_chunks", "policy_extras"]


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


class _Flags(NamedTuple):
    record_obs: bool
    record_extras: bool
    record_info: bool


def _split_policy(policy: Policy) -> tuple[Any, tuple]:
    """``(static, arrays)`` of a policy. A policy registered as a JAX pytree whose leaves are all arrays (a
    network's weights) is compiled once per structure: its arrays are arguments of the compiled rollout, so
    networks of one architecture with other weights reuse one compilation (and a persistent compilation cache
    can serve it to another process). Any other policy is part of the compiled function itself."""
    leaves, treedef = jax.tree.flatten(policy)
    if any(leaf is policy for leaf in leaves) or not all(
        isinstance(x, jax.Array | np.ndarray) for x in leaves
    ):
        return policy, ()
    return treedef, tuple(leaves)


def _join_policy(static: Any, arrays: tuple) -> Policy:
    return jax.tree.unflatten(static, arrays) if isinstance(static, jax.tree_util.PyTreeDef) else static


def _start(env: NeuroEnv, static: Any, key: jax.Array, params: Any, arrays: tuple):
    """One environment's first observation, state and policy carry, and the key its step keys come from."""
    policy = _join_policy(static, arrays)
    key_reset, key_policy, key_loop = jax.random.split(key, 3)
    obs, state = env.reset(key_reset, params)
    carry = policy.init(key_policy, state, params)
    return (obs, state, carry), key_loop


def _step_keys(key_loop: jax.Array, num_steps: int, padded_steps: int) -> jax.Array:
    """The ``num_steps`` step keys of one environment (one ``split``), then copies of the last one up to
    ``padded_steps``: steps run past the end only to keep a compiled shape, and are cut."""
    keys = jax.random.split(key_loop, num_steps)
    return jnp.concatenate([keys, jnp.repeat(keys[-1:], padded_steps - num_steps, axis=0)])


def _advance(
    env: NeuroEnv, static: Any, flags: _Flags, loop: Any, keys: jax.Array, params: Any, arrays: tuple
):
    """One environment run for ``len(keys)`` steps from ``loop = (obs, state, carry)``."""
    policy = _join_policy(static, arrays)

    def body(loop, key_t):
        obs, state, carry = loop
        k_act, k_step, k_init = jax.random.split(key_t, 3)
        if flags.record_extras:
            action, carry, extras = policy_extras(policy, k_act, carry, obs, state, params)
        else:
            action, carry = policy.act(k_act, carry, obs, state, params)
            extras = ()
        next_obs, next_state, reward, terminated, truncated, info = env.step(k_step, state, action, params)
        carry = _select(terminated | truncated, policy.init(k_init, next_state, params), carry)
        recorded = (obs if flags.record_obs else (), extras, info if flags.record_info else ())
        out = (state, action, reward, terminated, truncated, *recorded)
        return (next_obs, next_state, carry), out

    loop, (states, actions, rewards, term, trunc, observations, extras, infos) = jax.lax.scan(
        body, loop, keys
    )
    return loop, Rollout(states, actions, rewards, term, trunc, observations, loop[1], extras, infos)


def _time_major(batch: Rollout) -> Rollout:
    """vmap puts the env axis first; the contract is time-major (``final_state`` stays env-first)."""
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


def _stages(env: NeuroEnv, static: Any, num_envs: int | None, flags: _Flags):
    """``(start(key, params, arrays) -> (loop, key_loop), keys(key_loop, num_steps, padded_steps) -> keys,
    advance(loop, keys, params, arrays) -> (loop, Rollout))``, unjitted, for one environment or a batch of
    ``num_envs`` (keys ``(num_envs, steps)``, rollouts time-major); ``static, arrays``: the policy's
    :func:`_split_policy`. Only ``keys`` depends on the number of steps, and ``advance`` on the length of
    the keys it is given."""
    start = functools.partial(_start, env, static)
    advance = functools.partial(_advance, env, static, flags)
    if num_envs is None:
        return start, _step_keys, advance

    def start_batch(key, params, arrays):
        return jax.vmap(start, in_axes=(0, None, None))(jax.random.split(key, num_envs), params, arrays)

    def keys_batch(key_loops, num_steps, padded_steps):
        return jax.vmap(lambda k: _step_keys(k, num_steps, padded_steps))(key_loops)

    def advance_batch(loop, keys, params, arrays):
        loop, roll = jax.vmap(advance, in_axes=(0, 0, None, None))(loop, keys, params, arrays)
        return loop, _time_major(roll)

    return start_batch, keys_batch, advance_batch


@functools.lru_cache(maxsize=32)
def _compiled(env: NeuroEnv, static: Any, num_steps: int, num_envs: int | None, flags: _Flags):
    """The jitted ``run(key, params, arrays) -> Rollout`` for fixed sizes (compiled once per env, policy
    structure, sizes)."""
    start, keys_of, advance = _stages(env, static, num_envs, flags)

    def run(key: jax.Array, params: Any, arrays: tuple) -> Rollout:
        loop, key_loop = start(key, params, arrays)
        return advance(loop, keys_of(key_loop, num_steps, num_steps), params, arrays)[1]

    return jax.jit(run)


@functools.lru_cache(maxsize=32)
def _compiled_stages(env: NeuroEnv, static: Any, num_envs: int | None, flags: _Flags):
    """The jitted ``start``, ``keys`` and ``advance`` of :func:`rollout_chunks` (see :func:`_stages`): ``start``
    compiles once per (env, policy structure, ``num_envs``), ``advance`` once more per chunk length."""
    start, keys_of, advance = _stages(env, static, num_envs, flags)
    return jax.jit(start), jax.jit(keys_of, static_argnums=(1, 2)), jax.jit(advance)


@functools.partial(jax.jit, static_argnums=1)
def _cut(piece: Rollout, steps: int) -> Rollout:
    """The first ``steps`` steps of a time-major piece that ran longer; its ``final_state`` is the state after
    the last of them (the state the next step started from)."""
    head = functools.partial(jax.tree.map, lambda x: x[:steps])
    return piece._replace(
        states=head(piece.states),
        actions=piece.actions[:steps],
        rewards=piece.rewards[:steps],
        terminated=piece.terminated[:steps],
        truncated=piece.truncated[:steps],
        observations=head(piece.observations),
        final_state=jax.tree.map(lambda x: x[steps], piece.states),
        extras=head(piece.extras),
        infos=head(piece.infos),
    )


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
    The compiled function is cached per (env, policy, sizes), so repeated calls do not recompile; a policy
    registered as a pytree of arrays (a network) is cached per structure (see :func:`_split_policy`).
    """
    params = env.default_params if params is None else params
    flags = _Flags(bool(record_obs), bool(record_extras), bool(record_info))
    static, arrays = _split_policy(policy)
    run = _compiled(env, static, int(num_steps), None if num_envs is None else int(num_envs), flags)
    return run(key, params, arrays)


def rollout_chunks(
    env: NeuroEnv,
    policy: Policy,
    key: jax.Array,
    params: Any = None,
    *,
    num_steps: int,
    chunk_steps: int,
    num_envs: int | None = None,
    record_obs: bool = False,
    record_extras: bool = False,
    record_info: bool = False,
) -> Iterator[Rollout]:
    """:func:`rollout` in pieces of ``chunk_steps`` steps (the last one shorter), yielded as they finish.

    Concatenated along time, the pieces are exactly ``rollout(env, policy, key, params, num_steps=...)`` with
    the same arguments (same keys, same arithmetic); each piece's ``final_state`` is the state after its last
    step. Only one piece lives on the device at a time (with the step keys); stop iterating to stop early.
    Every piece runs as one compiled call of ``chunk_steps`` steps, whatever ``num_steps`` is: a last piece
    that is shorter (or a whole run shorter than ``chunk_steps``) runs on to ``chunk_steps`` and is cut, so
    runs of any length with one ``chunk_steps`` share one compilation (at the cost of computing up to one
    chunk that is thrown away).
    """
    if int(chunk_steps) < 1 or int(num_steps) < 1:
        raise ValueError(
            f"rollout_chunks: num_steps and chunk_steps must be >= 1, got {num_steps}, {chunk_steps}"
        )
    params = env.default_params if params is None else params
    flags = _Flags(bool(record_obs), bool(record_extras), bool(record_info))
    num_envs = None if num_envs is None else int(num_envs)
    num_steps, chunk_steps = int(num_steps), int(chunk_steps)
    static, arrays = _split_policy(policy)
    start, keys_of, advance = _compiled_stages(env, static, num_envs, flags)
    loop, key_loop = start(key, params, arrays)
    padded = -(-num_steps // chunk_steps) * chunk_steps
    keys = keys_of(key_loop, num_steps, padded)
    time_axis = 0 if num_envs is None else 1
    for first in range(0, num_steps, chunk_steps):
        chunk = jax.lax.dynamic_slice_in_dim(keys, first, chunk_steps, axis=time_axis)
        loop, piece = advance(loop, chunk, params, arrays)
        steps = min(chunk_steps, num_steps - first)
        yield piece if steps == chunk_steps else _cut(piece, steps)
