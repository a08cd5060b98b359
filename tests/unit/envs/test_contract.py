"""The environment contract (DESIGN.md), checked for every registered environment."""

from __future__ import annotations

import warnings

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import render_frames

import neuroethology.envs as ne

ENV_IDS = ne.registered_envs()
# Gymnasium recommends [-1, 1] Box actions; ours are in SI units (m/s^2, rad/s) on purpose.
SI_ACTIONS = "ignore:.*symmetric and normalized space.*"


def sample_actions(env, params, n, seed=0):
    space = env.action_space(params)
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def test_environments_are_registered():
    assert "neuroethology/OpenField-v0" in ENV_IDS
    for env_id in ENV_IDS:
        assert env_id in gymnasium.registry


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_gymnasium_check_env(env_id):
    env = gymnasium.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_gymnasium_make_takes_param_overrides(env_id):
    env, params = ne.make(env_id)
    name, value = next((f, getattr(params, f)) for f in ("dt", "episode_duration") if hasattr(params, f))
    gym_env = gymnasium.make(env_id, **{name: value * 2})
    assert float(getattr(gym_env.unwrapped.params, name)) == pytest.approx(value * 2)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_unknown_param_is_rejected_with_the_nearest_name(env_id):
    env, params = ne.make(env_id)
    first = next(iter(params.__dataclass_fields__))
    misspelt = first[:-1] + ("x" if first[-1] != "x" else "y")
    with pytest.raises(ValueError, match=f"did you mean '{first}'"):
        ne.make(env_id, **{misspelt: 1})
    with pytest.raises(ValueError, match="unknown parameter"):
        gymnasium.make(env_id, **{misspelt: 1})


def test_unknown_env_id_names_the_nearest():
    with pytest.raises(ValueError, match="OpenField-v0"):
        ne.make("neuroethology/OpenFeld-v0")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_key_same_trajectory(env_id):
    env, params = ne.make(env_id)
    actions = jnp.asarray(np.stack(sample_actions(env, params, 50)))

    def run(key):
        obs, state = env.reset(key, params)

        def body(state, inputs):
            k, a = inputs
            obs, state, reward, term, trunc, _ = env.step(k, state, a, params)
            return state, (obs, reward, term, trunc)

        return jax.lax.scan(body, state, (jax.random.split(key, 50), actions))[1]

    a = jax.jit(run)(jax.random.key(3))
    b = jax.jit(run)(jax.random.key(3))
    c = jax.jit(run)(jax.random.key(4))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    first_obs_a, first_obs_c = jax.tree.leaves(a[0])[0], jax.tree.leaves(c[0])[0]
    assert not np.array_equal(np.asarray(first_obs_a), np.asarray(first_obs_c)), (
        "different keys, same episode"
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vmap_equals_single_steps(env_id):
    env, params = ne.make(env_id)
    n = 4
    keys = jax.random.split(jax.random.key(0), n)
    obs_b, state_b = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    step_b = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    step_1 = jax.jit(env.step)
    states_1 = [jax.tree.map(lambda x, i=i: x[i], state_b) for i in range(n)]
    for t in range(20):
        acts = jnp.asarray(np.stack(sample_actions(env, params, n, seed=t)))
        step_keys = jax.random.split(jax.random.key(100 + t), n)
        obs_b, state_b, rew_b, term_b, trunc_b, _ = step_b(step_keys, state_b, acts, params)
        for i in range(n):
            obs_i, states_1[i], rew_i, term_i, trunc_i, _ = step_1(step_keys[i], states_1[i], acts[i], params)
            for x, y in zip(jax.tree.leaves(obs_i), jax.tree.leaves(obs_b), strict=True):
                np.testing.assert_allclose(np.asarray(x), np.asarray(y)[i], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(float(rew_i), float(rew_b[i]), rtol=1e-6, atol=1e-7)
            assert bool(term_i) == bool(term_b[i]) and bool(trunc_i) == bool(trunc_b[i])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_time_limit_truncates_and_autoresets(env_id):
    env, params = ne.make(env_id)
    limit = int(params.max_steps)
    obs, state = env.reset(jax.random.key(0), params)
    step = jax.jit(env.step)
    act = sample_actions(env, params, 1)[0]
    truncated_at = None
    terminations = 0
    for t in range(1, min(limit, 5000) + 1):
        previous_step = int(state.step)
        obs, state, reward, term, trunc, _ = step(jax.random.key(t), state, jnp.asarray(act), params)
        assert not (bool(term) and bool(trunc)), "terminated and truncated must never both be true"
        if bool(term):
            terminations += 1
            assert int(state.step) == 0, "autoreset must start a fresh episode"
        elif bool(trunc):
            assert previous_step + 1 == limit, f"truncated after {previous_step + 1} steps, max_steps={limit}"
            truncated_at = t
            break
        else:
            assert int(state.step) == previous_step + 1
    if limit <= 5000 and truncated_at is None and terminations == 0:
        pytest.fail("neither a truncation within max_steps nor a termination")
    if truncated_at is not None:
        assert int(state.step) == 0, "autoreset must start a fresh episode after truncation"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_runs_without_recompiling(env_id):
    # 4 environments, as in the seed test below: the two tests share one compiled step
    vec = gymnasium.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=0)
    assert jax.tree.leaves(obs)[0].shape[0] == 4
    vec.action_space.seed(0)
    dones = 0
    for _ in range(30):
        obs, reward, term, trunc, info = vec.step(vec.action_space.sample())
        assert reward.shape == (4,) and term.shape == (4,) and trunc.shape == (4,)
        assert "final_obs" in info and info["_final_obs"].shape == (4,)
        dones += int(jnp.sum(term | trunc))
    assert vec.unwrapped._step_fn._cache_size() == 1, "the vector step recompiled"
    assert vec.observation_space.contains(jax.tree.map(np.asarray, obs))
    vec.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_seed_reproduces(env_id):
    def run():
        vec = gymnasium.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point")
        vec.reset(seed=7)
        vec.action_space.seed(1)
        out = [vec.step(vec.action_space.sample())[0] for _ in range(5)]
        return [np.asarray(x) for o in out for x in jax.tree.leaves(o)]

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_rgb_array_rendering(env_id):
    frames = render_frames(gymnasium.make(env_id, render_mode="rgb_array"), seed=0)
    for frame in frames:
        assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
        assert frame.shape[0] >= 32 and frame.shape[1] >= 32
        assert frame.std() > 0, "blank frame"
    assert any(not np.array_equal(frames[0], f) for f in frames[1:]), "the picture never changes"


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_gymnasium_adapter_rejects_invalid_actions(env_id):
    env = gymnasium.make(env_id)
    env.reset(seed=0)
    space = env.action_space
    bad = []
    if isinstance(space, gymnasium.spaces.Box):
        bad = [np.full(space.shape, np.nan), space.high + 1.0, np.zeros(space.shape[0] + 1), "left"]
    elif isinstance(space, gymnasium.spaces.Discrete):
        bad = [space.n, -1, 0.5, "left"]
    for action in bad:
        with pytest.raises(ValueError, match=env_id.split("/")[1]):
            env.step(action)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.step(space.sample())  # a valid action still works afterwards


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_lie_in_the_observation_space(env_id):
    env, params = ne.make(env_id)
    space = env.observation_space(params)
    obs, state = env.reset(jax.random.key(0), params)
    step = jax.jit(env.step)
    for t, act in enumerate(sample_actions(env, params, 200)):
        obs, state, *_ = step(jax.random.key(t), state, jnp.asarray(act), params)
        assert space.contains(jax.tree.map(np.asarray, obs)), f"step {t}: {obs} not in {space}"


# -- what each environment says about itself (read by simulation, fitting and the commands) -----------------

SPATIAL_MODES = {
    "neuroethology/PatchForaging-v0": {"mode": "spatial"},
    "neuroethology/TMaze-v0": {"mode": "spatial"},
}


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("spatial_mode", [False, True])
def test_self_description_matches_state_and_spaces(env_id, spatial_mode):
    import json

    from gymnasium import spaces

    env, params = ne.make(env_id, **(SPATIAL_MODES.get(env_id, {}) if spatial_mode else {}))
    names = env.action_names(params)
    space = env.action_space(params)
    assert len(names) == (1 if isinstance(space, spaces.Discrete) else int(np.prod(space.shape)))
    _, state = env.reset(jax.random.key(0), params)
    info = env.state_info(state, params)
    assert env.is_spatial(params) == ("position" in info)
    # params_dict is JSON-safe and rebuilds the same params.
    as_dict = env.params_dict(params)
    assert list(as_dict) == [f.name for f in __import__("dataclasses").fields(params)]
    rebuilt = env.make_params(**json.loads(json.dumps(as_dict)))
    assert env.params_dict(rebuilt) == as_dict
    arena = env.arena(params)
    assert ne.arena_of(params) == (None if arena is None else ne.resolve_arena(arena))
    if arena is not None:
        assert {k: ne.arena_of(params)[k] for k in arena} == arena  # the stored form, plus the boundary
        assert arena["shape"] in ("box", "circle")
        moved = env.with_arena(params, arena)  # the same arena round-trips
        assert env.arena(moved) == arena
    for value in env.recording_attrs(params).values():
        assert isinstance(value, (str, float))


def test_with_arena_moves_open_field_and_refuses_what_cannot_move():
    env, params = ne.make("neuroethology/OpenField-v0")
    circle = env.with_arena(params, {"shape": "circle", "radius": 0.7})
    assert env.arena(circle) == {"shape": "circle", "radius": 0.7}
    box = env.with_arena(circle, {"shape": "box", "width": 2.0, "height": 0.5})
    assert env.arena(box) == {"shape": "box", "width": 2.0, "height": 0.5}
    maze, maze_params = ne.make("neuroethology/WaterMaze-v0")
    with pytest.raises(ValueError, match="pool is a circle"):
        maze.with_arena(maze_params, {"shape": "box", "width": 1.0, "height": 1.0})
    assert maze.arena(maze.with_arena(maze_params, {"shape": "circle", "radius": 0.8}))["radius"] == 0.8
    tmaze, tmaze_params = ne.make("neuroethology/TMaze-v0")
    with pytest.raises(ValueError, match="no arena that can be changed"):
        tmaze.with_arena(tmaze_params, {"shape": "circle", "radius": 0.5})
    with pytest.raises(TypeError, match="not the params of a registered environment"):
        ne.arena_of(object())
    session = env.with_session(params, 3600.0)
    assert float(session.episode_duration) >= 3600.0
    assert maze.with_session(maze_params, 3600.0) == maze_params  # trials keep their own limits


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("num_envs", [3])
def test_chunked_rollout_is_the_unchunked_rollout_bit_for_bit(env_id, num_envs):
    """A long simulation streamed in chunks (chunks of 7 steps here, carrying states and keys across; the
    last piece of 5 runs as a chunk of 7 and is cut) draws the same random numbers and does the same
    arithmetic as one call: equal to the last bit, with one compilation of a chunk."""
    import importlib

    rollout_module = importlib.import_module("neuroethology.envs.rollout")  # the module, not the function
    env, params = ne.make(env_id)
    policy = ne.policies.UniformRandomPolicy(env, params)
    key = jax.random.key(11)
    whole = ne.rollout(env, policy, key, params, num_steps=19, num_envs=num_envs, record_info=True)
    pieces = list(
        ne.rollout_chunks(
            env, policy, key, params, num_steps=19, chunk_steps=7, num_envs=num_envs, record_info=True
        )
    )
    assert [p.actions.shape[0] for p in pieces] == [7, 7, 5]
    flags = rollout_module._Flags(False, False, True)
    advance = rollout_module._compiled_stages(env, policy, num_envs, flags)[2]
    assert advance._cache_size() == 1  # the last piece ran the compiled chunk
    joined = jax.tree.map(
        lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *[p._replace(final_state=()) for p in pieces]
    )
    for name in ("states", "actions", "rewards", "terminated", "truncated", "infos"):
        for x, y in zip(
            jax.tree.leaves(getattr(whole, name)), jax.tree.leaves(getattr(joined, name)), strict=True
        ):
            np.testing.assert_array_equal(np.asarray(x), y, err_msg=f"{env_id}: {name}")
    for x, y in zip(jax.tree.leaves(whole.final_state), jax.tree.leaves(pieces[-1].final_state), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_params_left_out_are_the_default_params(env_id):
    """FuncEnv's methods take ``params`` optionally; the base supplies the defaults, positional or keyword."""
    env, _ = ne.make(env_id)
    default = env.default_params
    key = jax.random.key(0)
    state = env.reset(key)[1]
    same_state = env.reset(key, default)[1]
    for x, y in zip(
        jax.tree.leaves(env.initial(key)), jax.tree.leaves(env.initial(key, default)), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    for x, y in zip(jax.tree.leaves(state), jax.tree.leaves(same_state), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    action = sample_actions(env, default, 1)[0]
    for x, y in zip(
        jax.tree.leaves(env.step(key, state, action)),
        jax.tree.leaves(env.step(key, state, action, params=None)),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(
        np.asarray(env.reward(state, action, state, key)),
        np.asarray(env.reward(state, action, state, key, default)),
    )
    assert env.observation_space() == env.observation_space(None) == env.observation_space(default)
    assert env.action_space(params=None) == env.action_space(default)
    assert env.state_info(state).keys() == env.state_info(state, default).keys()
