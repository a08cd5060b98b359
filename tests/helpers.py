"""Helpers shared by the tests (importable as ``helpers``: pytest puts ``tests/`` on the path)."""

from __future__ import annotations

import copy
from typing import Any

from neuroethology.datasets import SARGOLINI_MOTION

# Random-motion parameters fitted to the Sargolini rat: RandomMotionParams(**RAT_LIKE_MOTION).
RAT_LIKE_MOTION: dict[str, float] = dict(SARGOLINI_MOTION)

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
    """``num_steps`` autoresetting steps of ``num_envs`` environments driven by ``policy``
    (:func:`neuroethology.envs.rollout` with ``record_info``), each transition's ``info`` kept: NumPy
    ``(infos, rewards, terminated, truncated)``, env-major ``(num_envs, num_steps, ...)``."""
    import jax
    import numpy as np

    import neuroethology.envs as ne

    roll = ne.rollout(env, policy, key, params, num_steps=num_steps, num_envs=num_envs, record_info=True)
    env_major = (roll.infos, roll.rewards, roll.terminated, roll.truncated)
    return jax.tree.map(lambda x: np.swapaxes(np.asarray(x), 0, 1), env_major)


def scan_steps(env: Any, params: Any, reset_key: Any, step_key: Any, actions: Any, record: Any) -> Any:
    """Reset with ``reset_key``, then ``env.step`` (autoresetting) through ``actions`` (time first) with the
    keys ``jax.random.split(step_key, len(actions))``: the stacked ``record(state, obs, next_state, reward,
    terminated, truncated)`` of every step. Traceable: call it inside ``jax.jit``."""
    import jax

    _, state = env.reset(reset_key, params)

    def body(state, inputs):
        k, a = inputs
        obs, new, reward, term, trunc, _ = env.step(k, state, a, params)
        return new, record(state, obs, new, reward, term, trunc)

    return jax.lax.scan(body, state, (jax.random.split(step_key, actions.shape[0]), actions))[1]


def jit_scan_steps(env: Any, params: Any, record: Any) -> Any:
    """``run(key, actions)``, jitted: :func:`scan_steps` of ``env`` with ``key`` for the reset and the steps."""
    import jax

    return jax.jit(lambda key, actions: scan_steps(env, params, key, key, actions, record))


def render_frames(gym_env: Any, seed: int, steps: int = 3) -> list[Any]:
    """``rgb_array`` frames of a Gymnasium environment: after ``reset(seed=seed)`` and after each of ``steps``
    steps with actions sampled from its action space (seeded 0)."""
    gym_env.reset(seed=seed)
    frames = [gym_env.render()]
    gym_env.action_space.seed(0)
    for _ in range(steps):
        gym_env.step(gym_env.action_space.sample())
        frames.append(gym_env.render())
    return frames


def any_float32() -> Any:
    """Hypothesis strategy: any float32 action component, NaN and the infinities included, with the extremes
    (0, +-1e30, NaN, +-inf) drawn often."""
    import numpy as np
    from hypothesis import strategies as st

    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=32),
        st.sampled_from([0.0, 1e30, -1e30, np.nan, np.inf, -np.inf]),
    )


def any_actions(steps: int) -> Any:
    """Hypothesis strategy: ``steps`` two-dimensional actions, each entry :func:`any_float32`."""
    from hypothesis import strategies as st

    return st.lists(st.tuples(any_float32(), any_float32()), min_size=steps, max_size=steps)


def vmap_and_single_steps(env: Any, params: Any, n: int, steps: int, step_seed: int, seed: int = 0) -> Any:
    """``steps`` steps of ``n`` environments (reset with ``split(key(seed), n)``) taken twice, batched by
    ``jax.vmap`` and one environment at a time, with the same actions (sampled from the action space seeded
    ``seed``, ``n`` a step) and keys (``split(key(step_seed + t), n)`` at step ``t``). Returns NumPy
    ``(batched, single)``, each ``(observation leaves, rewards)`` of shapes ``(steps, n, ...)``."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    space = env.action_space(params)
    space.seed(seed)
    reset_keys = jax.random.split(jax.random.key(seed), n)
    _, state_b = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(reset_keys, params)
    states = [jax.tree.map(lambda x, i=i: x[i], state_b) for i in range(n)]
    step_b = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    step_1 = jax.jit(env.step)
    batched, single = ([], []), ([], [])
    for t in range(steps):
        acts = jnp.asarray(np.stack([space.sample() for _ in range(n)]))
        keys = jax.random.split(jax.random.key(step_seed + t), n)
        obs_b, state_b, rew_b, *_ = step_b(keys, state_b, acts, params)
        batched[0].append([np.asarray(x) for x in jax.tree.leaves(obs_b)])
        batched[1].append(np.asarray(rew_b))
        ones = []
        for i in range(n):
            obs_i, states[i], rew_i, *_ = step_1(keys[i], states[i], acts[i], params)
            ones.append(([np.asarray(x) for x in jax.tree.leaves(obs_i)], np.asarray(rew_i)))
        single[0].append([np.stack(leaf) for leaf in zip(*(obs for obs, _ in ones), strict=True)])
        single[1].append(np.stack([rew for _, rew in ones]))

    def stacked(obs: list, rewards: list) -> tuple[list, Any]:
        return [np.stack(leaf) for leaf in zip(*obs, strict=True)], np.stack(rewards)

    return stacked(*batched), stacked(*single)


def assert_vmap_equals_single_steps(
    env: Any, params: Any, step_seed: int, n: int = 3, steps: int = 8, reward_atol: float = 0.0
) -> Any:
    """Assert that :func:`vmap_and_single_steps` gives the same observations batched and one at a time (to
    1e-6) and the same rewards (to ``reward_atol``, exactly by default). Returns the single-step
    ``(observation leaves, rewards)``, each ``(steps, n, ...)``."""
    import numpy as np

    (obs_b, rew_b), (obs_1, rew_1) = vmap_and_single_steps(env, params, n=n, steps=steps, step_seed=step_seed)
    for x, y in zip(obs_1, obs_b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rew_1, rew_b, rtol=0, atol=reward_atol)
    return obs_1, rew_1


# The tiny fit the run-directory and fault tests use: 4 chunks of 50 updates of 2 GRUs of 8 units (no transfer
# check: tests/unit/fitting/test_transfer.py has it).
TINY_FIT: dict[str, Any] = {
    "total_steps": 200, "num_seeds": 2, "hidden_size": 8, "window": 32, "burn_in": 4, "batch_size": 4,
    "selection_runs": 2, "patience": 50, "transfer_arenas": [], "report_metrics": False,
}  # fmt: skip


def tiny_fit_overrides() -> list[str]:
    """:data:`TINY_FIT` as ``key=value`` overrides for ``neuroethology fit``."""
    return [f"{k}={v}" for k, v in TINY_FIT.items()]


def random_motion_positions(
    env: Any, policy: Any, key: Any, params: Any, num_steps: int, num_envs: int | None = None
) -> Any:
    """NumPy float64 positions ``(num_steps, [num_envs,] 2)`` of ``ne.rollout(env, policy, key, params,
    num_steps=..., num_envs=...)``, bit for bit, computed as :func:`neuroethology.envs.rollout_chunks` in
    chunks of 4096 steps: simulated recordings of any length then share one compiled chunk (a rollout of
    ``num_steps`` steps compiles once per length)."""
    import numpy as np

    import neuroethology.envs as ne

    pieces = ne.rollout_chunks(
        env, policy, key, params, num_steps=num_steps, chunk_steps=4096, num_envs=num_envs
    )
    return np.concatenate([np.asarray(piece.states.position, float) for piece in pieces], axis=0)
