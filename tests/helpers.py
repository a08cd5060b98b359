"""Helpers shared by the tests (importable as ``helpers``: pytest puts ``tests/`` on the path)."""

from __future__ import annotations

import copy
from typing import Any

# The tiny PPO run most training tests use: OpenField coverage in 0.4 s episodes (20 steps), a GRU of 8 units,
# 4 environments x 16 steps per update, 6 updates of 2 seeds.
TINY_TRAIN: dict[str, Any] = {
    "seed": 0,
    "total_steps": 384,
    "num_seeds": 2,
    "env": {"params": {"reward_type": "coverage", "episode_duration": 0.4}},
    "agent": {"encoder": {"mlp_features": [8]}, "core": {"kind": "gru", "hidden_size": 8}},
    "ppo": {"num_envs": 4, "num_steps": 16, "bptt_length": 8, "num_minibatches": 2, "update_epochs": 2},
    "run": {"chunk_updates": 2, "checkpoint_every": 1},
}


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in section by section (nested dicts merged, other values replaced);
    ``base`` is not modified."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def tiny_train(**changes: Any) -> dict[str, Any]:
    """:data:`TINY_TRAIN` with ``changes`` (e.g. ``tiny_train(total_steps=256, agent={"core": {"hidden_size":
    16}})``), as a plain dict for ``config_from_dict(TrainConfig, ...)``."""
    return merged(TINY_TRAIN, changes)


def state_as_numpy(state: Any) -> dict[str, Any]:
    """An environment state's fields as NumPy arrays (floats as float64), for step-by-step references."""
    import numpy as np

    return {
        k: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
        for k, v in vars(state).items()
    }


def wrap_angle_np(a: Any) -> Any:
    """NumPy angle wrap to [-pi, pi) (the environments' convention)."""
    import numpy as np

    return (a + np.pi) % (2 * np.pi) - np.pi


def run_with_info(env: Any, policy: Any, params: Any, key: Any, num_envs: int, num_steps: int):
    """``num_steps`` autoresetting steps of ``num_envs`` environments driven by ``policy`` (its carry reset
    with each episode), keeping each transition's ``info``: NumPy ``(infos, rewards, terminated,
    truncated)``, env-major ``(num_envs, num_steps, ...)``."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    def one(key):
        k0, k1, key = jax.random.split(key, 3)
        obs, state = env.reset(k0, params)
        carry = policy.init(k1, state, params)

        def body(loop, k):
            obs, state, carry = loop
            k_act, k_step, k_init = jax.random.split(k, 3)
            action, carry = policy.act(k_act, carry, obs, state, params)
            obs, state, reward, term, trunc, info = env.step(k_step, state, action, params)
            fresh = policy.init(k_init, state, params)
            carry = jax.tree.map(lambda a, b: jnp.where(term | trunc, a, b), fresh, carry)
            return (obs, state, carry), (info, reward, term, trunc)

        return jax.lax.scan(body, (obs, state, carry), jax.random.split(key, num_steps))[1]

    return jax.tree.map(np.asarray, jax.jit(jax.vmap(one))(jax.random.split(key, num_envs)))
