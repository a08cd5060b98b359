"""PatchForaging-v0 and SpatialPatchForaging-v0: physics against a NumPy reference, action robustness, the
contract of the spatial task, the old ``mode=`` ids, and the Marginal Value Theorem (analytic optimum, and
reference policies attaining it by Monte Carlo)."""

from __future__ import annotations

import functools
import math
import warnings

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import assert_vmap_equals_single_steps, scan_steps
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.benchmarking import BARE_KERNELS, env_kernel
from neuroethology.envs.core import uniform21
from neuroethology.envs.patch_foraging import (
    arrival_level,
    long_run_reward_rate,
    mean_travel_steps,
    mvt_optimum,
)
from neuroethology.envs.patch_mvt import spatial_travel_time
from neuroethology.envs.policies import FixedResidencePolicy, MVTPolicy

ENV_ID = "neuroethology/PatchForaging-v0"
SPATIAL_ID = "neuroethology/SpatialPatchForaging-v0"
SI_ACTIONS = "ignore:.*symmetric and normalized space.*"


# ---------------------------------------------------------------------------------------------------------
# A plain NumPy re-implementation of the physics
# ---------------------------------------------------------------------------------------------------------


STATE_FIELDS = (
    "level",
    "residence",
    "patch",
    "patches_visited",
    "travel_left",
    "travel_elapsed",
    "last_reward",
    "patch_reward",
    "left",
    "position",
    "heading",
    "speed",
    "angular_velocity",
    "levels",
)


def np_state(state) -> dict:
    return {k: np.asarray(v, np.float64) for k, v in vars(state).items()}


def np_travel_steps(u: float, p) -> int:
    mean, dt = float(p.travel_time), float(p.dt)
    if p.travel_distribution == "exponential":
        x = -mean * math.log(1.0 - u)
    elif p.travel_distribution == "uniform":
        x = mean + (u - 0.5) * float(p.travel_time_range)
    else:
        x = mean
    return max(1, math.ceil(x / dt - 1e-3))


def np_harvest(level: float, u: float, p) -> float:
    tau, dt = float(p.depletion_tau), float(p.dt)
    expected = float(p.initial_rate) * tau * (1.0 - math.exp(-dt / tau)) * level
    if p.reward_noise == "expected":
        return expected
    return float(p.reward_size) if u < expected / float(p.reward_size) else 0.0


def np_discrete_step(s: dict, action, u: np.ndarray, p) -> dict:
    s = dict(s)
    travelling = s["travel_left"] > 0
    leave = (not travelling) and float(action) > 0.5
    harvest = (not travelling) and not leave
    s["last_reward"] = np_harvest(float(s["level"]), float(u[0]), p) if harvest else 0.0
    s["left"] = leave
    if harvest:
        s["level"] = s["level"] * math.exp(-float(p.dt) / float(p.depletion_tau))
        s["residence"] += 1
        s["patch_reward"] += s["last_reward"]
        return s
    s["travel_left"] = np_travel_steps(float(u[1]), p) - 1 if leave else s["travel_left"] - 1
    s["residence"], s["patch_reward"] = 0, 0.0
    if s["travel_left"] == 0:  # arrived in a fresh patch
        s["level"], s["travel_elapsed"] = 1.0, 0
        s["patches_visited"] += 1
        s["patch"] = s["patches_visited"]
    else:
        s["travel_elapsed"] += 1
        s["patch"] = -1
    return s


def np_discrete_obs(s: dict, p) -> np.ndarray:
    dt = float(p.dt)
    return np.array(
        [
            s["last_reward"],
            s["residence"] * dt,
            s["patch_reward"],
            float(s["travel_left"] > 0),
            s["travel_elapsed"] * dt,
        ]
    )


def np_centres(p) -> np.ndarray:
    n = p.n_patches
    ex, ey = (2 * float(p.radius),) * 2 if p.arena_shape == "circle" else (float(p.width), float(p.height))
    angles = [(2 * i + 1) * math.pi / n for i in range(n)]
    ring = float(p.patch_ring_radius)
    return np.array([[ex / 2 + ring * math.cos(a), ey / 2 + ring * math.sin(a)] for a in angles])


def np_project(x: np.ndarray, p) -> np.ndarray:
    if p.arena_shape == "circle":
        R = float(p.radius)
        q = x - R
        r = math.hypot(*q)
        return R + q * ((R - 1e-6) / r if r > R - 1e-6 else 1.0)
    return np.clip(x, 0.0, [float(p.width), float(p.height)])


def np_spatial_step(s: dict, action, u: float, p) -> dict:
    s = dict(s)
    dt = float(p.dt)
    high = np.array([float(p.max_acceleration), float(p.max_angular_velocity)])
    a = np.nan_to_num(np.asarray(action, np.float64), nan=0.0, posinf=1e30, neginf=-1e30)
    accel, omega = np.clip(a, -high, high)
    speed = min(max(s["speed"] + accel * dt, 0.0), float(p.max_speed))
    heading = (s["heading"] + omega * dt + math.pi) % (2 * math.pi) - math.pi
    new = np_project(s["position"] + speed * dt * np.array([math.cos(heading), math.sin(heading)]), p)
    s["speed"] = math.hypot(*(new - s["position"])) / dt
    s["position"], s["heading"], s["angular_velocity"] = new, heading, omega
    inside = [math.hypot(*(c - new)) <= float(p.patch_radius) for c in np_centres(p)]
    patch = inside.index(True) if any(inside) else -1
    levels = s["levels"].copy()
    s["last_reward"] = np_harvest(float(levels[patch]), u, p) if patch >= 0 else 0.0
    same = patch >= 0 and patch == s["patch"]
    s["left"] = s["patch"] >= 0 and patch != s["patch"]
    s["residence"] = (s["residence"] + 1 if same else 1) if patch >= 0 else 0
    s["patches_visited"] += patch >= 0 and not same
    s["patch_reward"] = ((s["patch_reward"] if same else 0.0) + s["last_reward"]) if patch >= 0 else 0.0
    for i in range(len(levels)):
        if i == patch:
            levels[i] *= math.exp(-dt / float(p.depletion_tau))
        else:
            levels[i] = 1.0 - (1.0 - levels[i]) * math.exp(-dt / float(p.replenish_tau))
    s["levels"], s["patch"] = levels, patch
    return s


def np_rays(s: dict, p) -> np.ndarray:
    n, fov = p.n_rays, float(p.field_of_view)
    out = []
    for i in range(n):
        a = s["heading"] + fov * ((i + 0.5) / n - 0.5)
        d = np.array([math.cos(a), math.sin(a)])
        x = s["position"]
        if p.arena_shape == "circle":
            q = x - float(p.radius)
            b, c = q @ d, q @ q - float(p.radius) ** 2
            out.append(-b + math.sqrt(max(b * b - c, 0.0)))
        else:
            ts = [
                ((float(p.width) if d[0] > 0 else 0.0) - x[0]) / d[0] if d[0] != 0 else np.inf,
                ((float(p.height) if d[1] > 0 else 0.0) - x[1]) / d[1] if d[1] != 0 else np.inf,
            ]
            out.append(max(min(ts), 0.0))
    return np.array(out)


def np_spatial_obs(s: dict, p) -> np.ndarray:
    patches = []
    for c in np_centres(p):
        rel = c - s["position"]
        dist = math.hypot(*rel)
        bearing = math.atan2(rel[1], rel[0]) - s["heading"]
        patches += [dist, math.cos(bearing), math.sin(bearing)]
    return np.concatenate(
        [
            np_rays(s, p),
            [s["speed"], s["angular_velocity"]],
            patches,
            [float(s["patch"] >= 0), s["last_reward"], s["residence"] * float(p.dt)],
        ]
    )


@functools.partial(jax.jit, static_argnums=1)
def env_draws(key: jax.Array, n: int) -> jax.Array:
    """The uniforms the transition draws in ``step_env(key, ...)`` (its step key is ``fold_in(key, 0)``)."""
    return uniform21(jax.random.fold_in(key, 0), n)


def assert_state_matches(jax_state, ref: dict, step: int):
    # Every field of the state (each task has its own; ``ref`` was built from the same state's fields).
    assert set(vars(jax_state)) - {"step"} <= set(STATE_FIELDS), vars(jax_state).keys()
    for name in STATE_FIELDS:
        if name not in ref or (name == "level" and ref.get("_skip_level")):
            continue
        np.testing.assert_allclose(
            np.asarray(getattr(jax_state, name), np.float64),
            np.asarray(ref[name], np.float64),
            rtol=2e-5,
            atol=2e-5,
            err_msg=f"step {step}: {name}",
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {"travel_distribution": "fixed"},
        {"reward_noise": "expected", "travel_distribution": "exponential", "travel_time": 1.0},
        {
            "travel_distribution": "uniform",
            "travel_time": 2.0,
            "travel_time_range": 3.0,
            "depletion_tau": 3.0,
        },
    ],
    ids=["bernoulli-fixed", "expected-exponential", "bernoulli-uniform"],
)
def test_discrete_physics_matches_numpy_reference(overrides):
    env, p = ne.make(ENV_ID, **overrides)
    step = jax.jit(env.step_env)
    obs, state = env.reset(jax.random.key(0), p)
    rng = np.random.default_rng(1)
    leaves = rewards = 0
    for t in range(400):
        action = int(rng.random() < 0.04)
        key = jax.random.key(1000 + t)
        u = np.asarray(env_draws(key, 2), np.float64)
        ref = np_discrete_step(np_state(state), action, u, p)
        obs, state, reward, term, trunc, info = step(key, state, jnp.asarray(action), p)
        assert_state_matches(state, ref, t)
        np.testing.assert_allclose(np.asarray(obs), np_discrete_obs(ref, p), rtol=1e-5, atol=1e-5)
        assert float(reward) == pytest.approx(ref["last_reward"], rel=1e-5, abs=1e-7)
        assert int(info["patch"]) == ref["patch"] and float(info["reward"]) == float(reward)
        leaves += bool(ref["left"])
        rewards += ref["last_reward"] > 0
    assert leaves >= 3 and int(state.patches_visited) >= 2 and rewards >= 5, (
        "travel and harvest not exercised"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": "spatial"},
        {
            "mode": "spatial",
            "arena_shape": "circle",
            "reward_noise": "expected",
            "n_patches": 3,
            "replenish_tau": 2.0,
        },
    ],
    ids=["box-bernoulli", "circle-expected"],
)
def test_spatial_physics_matches_numpy_reference(overrides):
    env, p = ne.make(ENV_ID, **overrides)
    step = jax.jit(env.step_env)
    policy = MVTPolicy(p)
    act = jax.jit(policy.act)
    obs, state = env.reset(jax.random.key(0), p)
    carry = policy.init(jax.random.key(0), state, p)
    rng = np.random.default_rng(2)
    high = np.array([float(p.max_acceleration), float(p.max_angular_velocity)])
    visited = set()
    for t in range(300):
        action, carry = act(jax.random.key(t), carry, obs, state, p)
        action = np.asarray(action, np.float64) + rng.normal(0, 0.1, 2) * high  # noisy walk to the patches
        if t % 37 == 5:
            action = rng.choice([np.nan, np.inf, -np.inf, 1e9], 2)  # out-of-range and non-finite actions
        action = action.astype(np.float32)
        key = jax.random.key(5000 + t)
        u = float(env_draws(key, 1)[0])
        ref = np_spatial_step(np_state(state), action, u, p)
        ref["_skip_level"] = True  # the scalar `level` is bookkeeping; `levels` holds every patch's level
        obs, state, reward, *_ = step(key, state, jnp.asarray(action, jnp.float32), p)
        assert_state_matches(state, ref, t)
        np.testing.assert_allclose(np.asarray(obs), np_spatial_obs(ref, p), rtol=1e-4, atol=1e-4)
        assert float(reward) == pytest.approx(ref["last_reward"], rel=1e-5, abs=1e-7)
        visited.add(ref["patch"])
    assert len(visited - {-1}) >= 2, f"the walk visited too few patches: {visited}"


# ---------------------------------------------------------------------------------------------------------
# Any action, any mode: the state stays valid (and the time limit truncates, with autoreset)
# ---------------------------------------------------------------------------------------------------------

EXTREME = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, 1.0, 0.5, -1.0, 2.0])
FLOATS = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), EXTREME)


def _run_actions(mode: str):
    env, p = ne.make(ENV_ID, mode=mode, episode_duration=1.5)  # 15 steps: two autoresets in 40 steps

    @jax.jit
    def run(key, actions):
        return scan_steps(env, p, key, key, actions, lambda s, obs, new, r, te, tr: (new, obs, r, te, tr))

    return env, p, run


_DISCRETE = _run_actions("discrete")
_SPATIAL = _run_actions("spatial")


def _assert_valid(env, p, states, obs, rewards, term, trunc):
    for name, leaf in vars(states).items():
        assert np.all(np.isfinite(np.asarray(leaf, np.float64))), f"{name} not finite"
    assert np.all(np.asarray(states.patch) >= -1) and np.all(np.asarray(states.residence) >= 0)
    assert np.all(np.asarray(rewards) >= 0) and np.all(np.asarray(rewards) <= float(p.max_step_reward))
    space = env.observation_space(p)
    for o in np.asarray(obs):
        assert space.contains(o), o
    # The time limit: truncated after 15 steps, then a fresh episode; the task itself never terminates.
    assert not np.any(np.asarray(term))
    assert np.nonzero(np.asarray(trunc))[0].tolist() == [14, 29]
    assert np.asarray(states.step)[14] == 0 and np.asarray(states.step)[15] == 1
    if isinstance(p, ne.SpatialPatchForagingParams):
        pos = np.asarray(states.position)
        assert np.all((pos >= 0) & (pos <= 1.0)), "left the arena"
        assert np.all(np.asarray(states.patch) < p.n_patches)
        levels = np.asarray(states.levels)
        assert np.all((levels > 0) & (levels <= 1))
    else:
        assert np.all(np.asarray(states.travel_left) >= 0)
        assert np.all((np.asarray(states.level) > 0) & (np.asarray(states.level) <= 1))


@settings(max_examples=25, deadline=None)
@given(actions=st.lists(FLOATS, min_size=40, max_size=40), seed=st.integers(0, 2**31 - 1))
def test_discrete_any_action_keeps_the_state_valid(actions, seed):
    env, p, run = _DISCRETE
    _assert_valid(env, p, *run(jax.random.key(seed), jnp.asarray(actions, jnp.float32)))


@settings(max_examples=25, deadline=None)
@given(actions=st.lists(st.tuples(FLOATS, FLOATS), min_size=40, max_size=40), seed=st.integers(0, 2**31 - 1))
def test_spatial_any_action_keeps_the_state_valid(actions, seed):
    env, p, run = _SPATIAL
    _assert_valid(env, p, *run(jax.random.key(seed), jnp.asarray(actions, jnp.float32)))


# ---------------------------------------------------------------------------------------------------------
# The contract (tests/unit/envs/test_contract.py builds the default, discrete mode), for spatial mode
# ---------------------------------------------------------------------------------------------------------

SPATIAL = {"mode": "spatial"}
SPATIAL_IMAGE = {"mode": "spatial", "observe_image": True, "arena_shape": "circle"}


@pytest.mark.parametrize("overrides", [SPATIAL, SPATIAL_IMAGE], ids=["vector", "image"])
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_spatial_gymnasium_env_checks_renders_and_rejects_bad_actions(overrides):
    env = gymnasium.make(ENV_ID, render_mode="rgb_array", **overrides)
    check_env(env.unwrapped)
    env.reset(seed=0)
    env.action_space.seed(0)
    frames = [env.render()]
    for _ in range(3):
        env.step(env.action_space.sample())
        frames.append(env.render())
    for frame in frames:
        assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    assert any(not np.array_equal(frames[0], f) for f in frames[1:]), "the picture never changes"
    for bad in [np.array([np.nan, 0.0]), env.action_space.high + 1.0, np.zeros(3), "left"]:
        with pytest.raises(ValueError, match="PatchForaging-v0"):
            env.step(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.step(env.action_space.sample())
    env.close()


def test_spatial_vmap_equals_single_steps_and_is_deterministic():
    env, p = ne.make(ENV_ID, **SPATIAL_IMAGE)
    n, steps = 3, 8
    reset = jax.jit(env.reset)
    obs_1, _ = assert_vmap_equals_single_steps(env, p, step_seed=100, n=n, steps=steps, reward_atol=1e-7)
    obs_space = env.observation_space(p)
    treedef = jax.tree.structure(obs_space.sample())
    for t in range(steps):
        for i in range(n):
            assert obs_space.contains(jax.tree.unflatten(treedef, [leaf[t, i] for leaf in obs_1]))
    # Same key, same episode; another key, another start.
    a = reset(jax.random.key(3), p)[1].position
    assert np.array_equal(np.asarray(a), np.asarray(reset(jax.random.key(3), p)[1].position))
    assert not np.array_equal(np.asarray(a), np.asarray(reset(jax.random.key(4), p)[1].position))


def test_spatial_vector_env_runs_without_recompiling():
    vec = gymnasium.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point", **SPATIAL)
    obs, _ = vec.reset(seed=0)
    vec.action_space.seed(0)
    for _ in range(10):
        obs, reward, term, trunc, info = vec.step(vec.action_space.sample())
        assert reward.shape == (4,) and info["patch"].shape == (4,) and info["position"].shape == (4, 2)
    assert vec.unwrapped._step_fn._cache_size() == 1
    assert vec.observation_space.contains(np.asarray(obs))
    vec.close()


def test_invalid_params_are_reported_together():
    # Each task checks its own parameters (the spatial task has no travel_distribution, the lab task no arena).
    with pytest.raises(ValueError) as err:
        ne.make(ENV_ID, depletion_tau=-1.0, travel_distribution="gamma")
    message = str(err.value)
    assert "depletion_tau must be > 0" in message and "travel_distribution must be one of" in message
    with pytest.raises(ValueError) as err:
        ne.make(SPATIAL_ID, patch_ring_radius=0.05, depletion_tau=-1.0, arena_shape="hexagon")
    message = str(err.value)
    assert "depletion_tau must be > 0" in message and "arena_shape must be one of" in message
    with pytest.raises(ValueError, match="patches overlap"):
        ne.make(ENV_ID, mode="spatial", patch_ring_radius=0.1)
    with pytest.raises(ValueError, match="inside the arena"):
        ne.make(ENV_ID, mode="spatial", patch_ring_radius=0.6)
    with pytest.raises(ValueError, match="must not exceed reward_size"):
        ne.make(ENV_ID, initial_rate=20.0)
    with pytest.raises(ValueError, match="travel_time_range / 2"):
        ne.make(ENV_ID, travel_distribution="uniform", travel_time=1.0, travel_time_range=3.0)
    with pytest.raises(ValueError, match="observe_image needs mode='spatial'"):
        ne.make(ENV_ID, observe_image=True)


def test_the_old_mode_parameter_builds_either_task():
    """``mode`` was PatchForaging-v0's parameter before the two tasks became two environments: make,
    gymnasium.make and make_vec still take it, and so do configs and the resolved configs of old runs (which
    list every parameter of both modes)."""
    for mode, cls in (("discrete", ne.PatchForaging), ("spatial", ne.SpatialPatchForaging)):
        env, p = ne.make(ENV_ID, mode=mode, dt=0.05)
        assert type(env) is cls and type(p) is cls.params_type and p.dt == 0.05
        assert type(ne.make(SPATIAL_ID, mode=mode)[0]) is cls
        assert type(gymnasium.make(ENV_ID, mode=mode).unwrapped.env) is cls
        vec = gymnasium.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", mode=mode)
        assert type(vec.unwrapped.env) is cls
    # An old run's env params: every field of the one params class, mode included.
    old = {"initial_rate": 1.0, "travel_distribution": "exponential", "travel_time": 6.0, "width": 1.0}
    old.update(n_patches=4, observe_image=False, replenish_tau=10.0, max_speed=1.0, n_rays=12)
    env, p = ne.make(ENV_ID, mode="spatial", **old)
    assert p == ne.make(SPATIAL_ID)[1]
    env, p = ne.make(ENV_ID, mode="discrete", **old)
    assert p == ne.make(ENV_ID)[1]
    with pytest.raises(ValueError, match=r"mode must be one of \('discrete', 'spatial'\), got 'maze'"):
        ne.make(ENV_ID, mode="maze")
    with pytest.raises(ValueError, match="unknown parameter 'n_patch'"):
        ne.make(ENV_ID, mode="spatial", n_patch=3)  # a misspelt name is still refused
    with pytest.raises(ValueError, match="travel_time needs mode='discrete'"):
        ne.make(SPATIAL_ID, travel_time=3.0)  # without mode, the other task's parameter is named as such


def test_info_marks_travel_with_patch_minus_one():
    env, p = ne.make(ENV_ID, reward_noise="expected", travel_distribution="fixed")
    obs, state = env.reset(jax.random.key(0), p)
    step = jax.jit(env.step)
    patches, travelling = [], []
    for t in range(100):
        obs, state, reward, term, trunc, info = step(jax.random.key(t), state, jnp.asarray(int(t == 9)), p)
        patches.append(int(info["patch"]))
        travelling.append(float(obs[3]))
    # 9 harvest steps in patch 0; leaving at step 9 starts 60 steps (6 s) of travel, the leave step included:
    # the animal is seen travelling after 59 of them, and the 60th ends in patch 1.
    assert patches == [0] * 9 + [-1] * 59 + [1] * 32
    assert travelling == [0.0] * 9 + [1.0] * 59 + [0.0] * 32


# ---------------------------------------------------------------------------------------------------------
# The Marginal Value Theorem: analytic
# ---------------------------------------------------------------------------------------------------------


def test_mean_travel_steps_against_closed_forms():
    env, p = ne.make(ENV_ID, travel_distribution="fixed")
    dt, eps = 0.1, 1e-3
    assert mean_travel_steps(p.replace(travel_time=3.0)) == 30  # float rounding does not add a step
    assert mean_travel_steps(p.replace(travel_time=0.0)) == 1  # leaving always takes its own step
    # Exponential: the rounded-up travel is geometric, P(n > k) = exp(-(k + eps) dt / T) for k >= 1.
    for mean in (0.5, 6.0):
        q = np.exp(-dt / mean)
        closed = 1.0 + np.exp(-eps * dt / mean) * q / (1.0 - q)
        assert mean_travel_steps(
            p.replace(travel_distribution="exponential", travel_time=mean)
        ) == pytest.approx(closed, rel=2e-5)
    # Uniform on [4, 8] s, a whole number of steps wide: E[ceil(y - eps)] = E[y] - eps + 1/2, y ~ U[40, 80].
    q = p.replace(travel_distribution="uniform", travel_time=6.0, travel_time_range=4.0)
    assert mean_travel_steps(q) == pytest.approx(60.5 - eps, rel=1e-6)


@pytest.mark.parametrize("travel", [0.3, 6.0, 25.0])
def test_mvt_optimum_is_the_best_whole_number_of_steps(travel):
    env, p = ne.make(ENV_ID, travel_time=travel, travel_distribution="exponential")
    opt = mvt_optimum(p)
    decay, step_yield = math.exp(-0.1 / 10.0), 10.0 * (1 - math.exp(-0.1 / 10.0))
    gains = np.concatenate([[0.0], np.cumsum(step_yield * decay ** np.arange(3000))])  # sum over steps
    rates = gains / ((np.arange(3001) + mean_travel_steps(p)) * 0.1)
    assert opt.residence_steps == int(np.argmax(rates))
    assert opt.reward_rate == pytest.approx(float(np.max(rates)), rel=1e-12)
    assert opt.residence_time == pytest.approx(opt.residence_steps * 0.1)
    # The MVT's leaving rule: the next step's expected rate is below the optimum, the last one's was not.
    assert step_yield * decay**opt.residence_steps / 0.1 <= opt.reward_rate
    assert step_yield * decay ** (opt.residence_steps - 1) / 0.1 >= opt.reward_rate


def test_continuous_mvt_and_the_dt_to_zero_limit():
    env, p = ne.make(ENV_ID, travel_distribution="fixed")
    opt = mvt_optimum(p)
    t, T, tau = opt.continuous_residence_time, 6.0, 10.0
    gain = tau * (1 - math.exp(-t / tau))
    # Charnov's condition: the instantaneous rate at leaving equals the long-run rate G(t) / (t + T).
    assert math.exp(-t / tau) == pytest.approx(gain / (t + T), rel=1e-9)
    assert opt.continuous_reward_rate == pytest.approx(gain / (t + T), rel=1e-9)
    fine = mvt_optimum(p.replace(dt=0.001))
    assert fine.residence_time == pytest.approx(t, abs=0.002)
    assert fine.reward_rate == pytest.approx(opt.continuous_reward_rate, rel=1e-3)


def test_optimal_residence_grows_with_travel_time_and_ignores_patch_richness():
    env, p = ne.make(ENV_ID, reward_noise="expected", travel_distribution="fixed")
    optima = [mvt_optimum(p.replace(travel_time=T)) for T in (0.5, 1, 2, 4, 8, 16, 32)]
    residence = [o.residence_time for o in optima]
    rate = [o.reward_rate for o in optima]
    assert all(b > a for a, b in zip(residence, residence[1:], strict=False)), residence
    assert all(b < a for a, b in zip(rate, rate[1:], strict=False)), rate
    richer = mvt_optimum(p.replace(initial_rate=3.0))
    assert richer.residence_steps == mvt_optimum(p).residence_steps  # Charnov: richness scales G, not t*
    assert richer.reward_rate == pytest.approx(3.0 * mvt_optimum(p).reward_rate, rel=1e-12)


def test_spatial_optimum_is_the_best_stationary_ring_tour():
    env, p = ne.make(ENV_ID, mode="spatial")
    opt = mvt_optimum(p)
    gap = 2 * 0.3 * math.sin(math.pi / 4) - 2 * 0.08
    assert spatial_travel_time(p) == pytest.approx(gap / 1.0)
    m = math.ceil(gap / 0.1 - 1e-3)
    assert mean_travel_steps(p) == m
    # Simulate the tour's bookkeeping directly until the levels are stationary.
    d, c = math.exp(-0.01), math.exp(-0.01)
    n = opt.residence_steps
    levels = np.ones(4)
    for visit in range(400):
        i = visit % 4
        arrival = levels[i]
        levels[i] *= d**n
        others = np.arange(4) != i
        levels[others] = 1 - (1 - levels[others]) * c ** (n + m)
        levels[i] = 1 - (1 - levels[i]) * c**m
    assert arrival == pytest.approx(opt.arrival_level, rel=1e-9)
    assert opt.reward_rate == pytest.approx(arrival * 10 * (1 - d**n) / ((n + m) * 0.1), rel=1e-9)
    assert all(long_run_reward_rate(p, k) <= opt.reward_rate for k in range(1, 400))
    assert opt.reward_rate < mvt_optimum(p.replace(replenish_tau=0.01)).reward_rate  # partly depleted patches
    assert arrival_level(p.replace(replenish_tau=0.01), n) == pytest.approx(1.0, abs=1e-12)


def test_mvt_policy_leaves_after_the_optimal_residence_with_either_rule():
    env, p = ne.make(ENV_ID, reward_noise="expected", episode_duration=1e4)
    n = mvt_optimum(p).residence_steps
    ro = ne.rollout(env, MVTPolicy(p, rule="time"), jax.random.key(0), p, num_steps=600)
    residence_at_leave = np.asarray(ro.states.residence)[np.asarray(ro.actions) == 1]
    assert len(residence_at_leave) >= 3 and np.all(residence_at_leave == n)
    # The marginal-rate rule, asked in every state the time rule went through, makes the same decisions.
    rate_rule = MVTPolicy(p, rule="rate")
    carry = rate_rule.init(jax.random.key(0), jax.tree.map(lambda x: x[0], ro.states), p)
    decide = jax.jit(jax.vmap(lambda s: rate_rule.act(jax.random.key(0), carry, None, s, p)[0]))
    np.testing.assert_array_equal(np.asarray(decide(ro.states)), np.asarray(ro.actions))


# ---------------------------------------------------------------------------------------------------------
# The Marginal Value Theorem: Monte Carlo
# ---------------------------------------------------------------------------------------------------------


def cycle_rate(env, params, policy, *, num_envs: int, num_steps: int, cycles: int, seed: int = 0):
    """Long-run reward rate over the first ``cycles`` complete patch cycles (harvest + travel) of each of
    ``num_envs`` episodes, which start at a cycle's beginning (a fresh patch): a ratio of sums over i.i.d.
    cycles, with its standard error by the delta method. Returns ``(rate, standard error)``, rewards/s."""
    ro = ne.rollout(env, policy, jax.random.key(seed), params, num_steps=num_steps, num_envs=num_envs)
    visited = np.concatenate(
        [np.asarray(ro.states.patches_visited), np.asarray(ro.final_state.patches_visited)[None]]
    )
    rewards = np.asarray(ro.rewards, np.float64)
    totals, durations = np.empty(num_envs), np.empty(num_envs)
    for i in range(num_envs):
        arrivals = np.nonzero(np.diff(visited[:, i]) > 0)[0]
        assert len(arrivals) >= cycles, f"episode {i} completed only {len(arrivals)} cycles"
        end = arrivals[cycles - 1] + 1
        totals[i], durations[i] = rewards[:end, i].sum(), end * float(params.dt)
    rate = totals.sum() / durations.sum()
    return rate, np.std(totals - rate * durations, ddof=1) / math.sqrt(num_envs) / durations.mean()


@pytest.mark.slow
def test_mvt_policy_attains_the_optimal_rate_and_other_residences_do_worse():
    env, p = ne.make(
        ENV_ID, episode_duration=1e5, travel_distribution="fixed"
    )  # Bernoulli rewards, 6 s travel
    opt = mvt_optimum(p)
    rate, se = cycle_rate(env, p, MVTPolicy(p), num_envs=256, num_steps=2000, cycles=12)
    # 99.7% confidence interval (3 standard errors) of the Monte-Carlo estimate around the analytic optimum.
    assert abs(rate - opt.reward_rate) < 3 * se, (rate, se, opt)
    for factor, num_steps in ((0.5, 2000), (2.0, 3000)):
        policy = FixedResidencePolicy(p, factor * opt.residence_time)
        other, other_se = cycle_rate(env, p, policy, num_envs=256, num_steps=num_steps, cycles=12)
        expected = float(long_run_reward_rate(p, policy.residence_steps))
        assert abs(other - expected) < 3 * other_se, (factor, other, other_se, expected)
        assert rate - other > 5 * math.hypot(se, other_se), (factor, other, rate)


@pytest.mark.slow
def test_mvt_policy_attains_the_optimal_rate_with_random_travel():
    env, p = ne.make(
        ENV_ID,
        episode_duration=1e5,
        reward_noise="expected",
        travel_distribution="exponential",
        travel_time=3.0,
    )
    opt = mvt_optimum(p)
    rate, se = cycle_rate(env, p, MVTPolicy(p, rule="rate"), num_envs=256, num_steps=1700, cycles=12)
    assert abs(rate - opt.reward_rate) < 3 * se, (rate, se, opt)


@pytest.mark.slow
def test_spatial_mvt_forager_nears_the_ring_tour_optimum():
    # Expected rewards: the only randomness is the start, so 16 walkers measure the rate precisely.
    env, p = ne.make(ENV_ID, mode="spatial", episode_duration=1e5, reward_noise="expected")
    opt = mvt_optimum(p)

    def rate_of(policy):
        ro = ne.rollout(env, policy, jax.random.key(0), p, num_steps=1000, num_envs=16)
        per_env = np.asarray(ro.rewards)[400:].sum(0) / (600 * float(p.dt))  # after 40 s, near stationarity
        return per_env.mean()

    mvt = rate_of(MVTPolicy(p))
    # Walking, braking and turning are real; the ring-tour optimum idealises them: within 2%.
    assert mvt == pytest.approx(opt.reward_rate, rel=0.02), (mvt, opt)
    late = rate_of(FixedResidencePolicy(p, 3.0 * opt.residence_time))
    assert late < 0.95 * mvt, (late, mvt)


def test_patch_bearings_fit_the_observation_space_from_any_pose():
    """A unit vector's component can round to 1 ulp beyond -1 as well as +1: both bounds have slack."""
    env, p = ne.make(ENV_ID, mode="spatial")
    rng = np.random.default_rng(0)
    pos = jnp.asarray(rng.uniform(0.0, 1.0, (100_000, 2)), jnp.float32)
    heading = jnp.asarray(rng.uniform(-np.pi, np.pi, 100_000), jnp.float32)
    _, cos_b, sin_b = jax.jit(jax.vmap(lambda x, h: env.patch_bearings(x, h, p)))(pos, heading)
    bearings = np.stack([np.asarray(cos_b), np.asarray(sin_b)], -1)  # (N, n_patches, 2)
    assert bearings.min() < -1.0 or bearings.max() > 1.0, "no rounding beyond +-1 at all: the test is moot"
    low, high = env.observation_space(p).low, env.observation_space(p).high
    start = p.n_rays + 2
    for i in range(p.n_patches):
        for j in (0, 1):  # cos, sin of patch i's bearing
            k = start + 3 * i + 1 + j
            assert low[k] <= bearings[:, i, j].min() and bearings[:, i, j].max() <= high[k], (i, j)


# ---------------------------------------------------------------------------------------------------------
# Throughput kernel
# ---------------------------------------------------------------------------------------------------------


def test_bare_kernel_does_the_env_arithmetic():
    # Expected rewards and fixed travel: given the actions nothing is random, and the kernel draws the same
    # stay/leave actions as env_kernel, so both checksums (every step's observation and reward) agree.
    env, p = ne.make(
        ENV_ID, episode_duration=20.0, travel_time=1.0, reward_noise="expected", travel_distribution="fixed"
    )  # resets within the run
    key = jax.random.key(0)
    kernel = float(BARE_KERNELS[ENV_ID](p, 32, 500)(key))
    assert np.isfinite(kernel) and kernel > 0
    assert kernel == pytest.approx(float(env_kernel(env, p, 32, 500)(key)), rel=1e-5)
