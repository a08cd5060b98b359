"""WaterMaze-v0: the physics against a NumPy re-implementation, the task modes, and the reference swimmers."""

from __future__ import annotations

import math

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import (
    any_actions,
    assert_vmap_equals_single_steps,
    jit_scan_steps,
    run_with_info,
    state_as_numpy,
    wrap_angle_np,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.envs.policies import PlatformOracle, RandomSwimmer
from neuroethology.envs.water_maze import CARDINAL_ANGLES

ENV_ID = "neuroethology/WaterMaze-v0"
SI_ACTIONS = "ignore:.*symmetric and normalized space.*"
VARIANTS = {
    "movable-day-cued-image": dict(
        platform_mode="movable",
        trials_per_episode=4,
        start_facing="centre",
        visible_platform=True,
        observe_image=True,
        image_size=16,
    ),
    "probe": dict(platform_mode="probe"),
}


# ---------------------------------------------------------------------------------------------------------
# Contract checks on the non-default modes (the defaults are covered by test_contract.py)
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_check_env_and_rendering_in_every_mode(variant):
    env = gymnasium.make(ENV_ID, render_mode="rgb_array", **VARIANTS[variant])
    check_env(env.unwrapped)
    env.reset(seed=1)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape[2] == 3 and frame.std() > 0
    env.close()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_vmap_equals_single_steps_in_every_mode(variant):
    env, params = ne.make(ENV_ID, **VARIANTS[variant])
    assert_vmap_equals_single_steps(env, params, step_seed=50)


def test_invalid_params_are_reported_together():
    with pytest.raises(ValueError) as err:
        ne.make(ENV_ID, platform_mode="moving", pool_radius=-1.0, start_facing="up")
    message = str(err.value)
    for fragment in ("WaterMaze-v0", "platform_mode", "pool_radius", "start_facing"):
        assert fragment in message
    with pytest.raises(ValueError, match="inside the pool"):
        ne.make(ENV_ID, platform_offset=0.99)


# ---------------------------------------------------------------------------------------------------------
# NumPy reference of the physics and the trial logic
# ---------------------------------------------------------------------------------------------------------


def ref_start(index, p):
    angle = CARDINAL_ANGLES[int(index)]
    r = float(p.pool_radius)
    pos = r + (r - float(p.body_radius)) * np.array([np.cos(angle), np.sin(angle)])
    heading = angle if p.start_facing == "wall" else angle + np.pi
    return pos, wrap_angle_np(heading)


def ref_transition(s, action, p):
    """One step of WaterMaze in float64 NumPy, written from the module docstring."""
    r, dt = float(p.pool_radius), float(p.dt)
    ended = bool(s["found"]) or bool(s["timeout"])
    trial = int(s["trial"]) + int(ended)
    trial_step = (0 if ended else int(s["trial_step"])) + 1
    if ended:
        pos, heading = ref_start(s["start_order"][trial % 4], p)
        speed = 0.0
    else:
        pos, heading, speed = s["position"], float(s["heading"]), float(s["speed"])
    a = np.nan_to_num(np.asarray(action, np.float64), nan=0.0, posinf=1e30, neginf=-1e30)
    accel = np.clip(a[0], -p.max_acceleration, p.max_acceleration)
    omega = np.clip(a[1], -p.max_angular_velocity, p.max_angular_velocity)
    v = np.clip(speed + accel * dt, 0.0, p.max_speed)
    heading = wrap_angle_np(heading + omega * dt)
    proposed = pos + v * dt * np.array([np.cos(heading), np.sin(heading)])
    q = proposed - r
    dist = np.hypot(*q)
    limit = r - float(p.body_radius)
    new = r + q * (limit / dist if dist > limit else 1.0)
    step = new - pos
    achieved = min(np.hypot(*step) / dt, v)
    # Distance from the platform centre to the swum segment.
    c = s["platform"]
    t = np.clip(np.dot(c - pos, step) / max(np.dot(step, step), 1e-300), 0.0, 1.0)
    found = p.platform_mode != "probe" and np.hypot(*(c - pos - t * step)) <= p.platform_radius
    timeout = trial_step >= round(p.trial_duration / dt) and not found
    out = dict(
        s,
        position=new,
        heading=heading,
        speed=achieved,
        angular_velocity=omega,
        trial=trial,
        trial_step=trial_step,
        found=found,
        timeout=timeout,
        step=int(s["step"]) + 1,
    )
    last = trial >= p.trials_per_episode - 1
    max_steps = p.trials_per_episode * round(p.trial_duration / dt)
    terminated = last and (found or (timeout and out["step"] < max_steps))
    truncated = out["step"] >= max_steps and not terminated
    reward = p.platform_reward if found else 0.0
    return out, reward, terminated, truncated


def ref_observation(s, p):
    r = float(p.pool_radius)
    pos, heading = s["position"], float(s["heading"])
    n = p.n_rays
    offsets = p.field_of_view * ((np.arange(n) + 0.5) / n - 0.5)
    rays = []
    for off in offsets:
        d = np.array([np.cos(heading + off), np.sin(heading + off)])
        q = pos - r
        b, c = q @ d, q @ q - r * r
        rays.append(-b + np.sqrt(b * b - c))
    feats = []
    targets = [r + p.cue_radius * np.array([np.cos(a), np.sin(a)]) for a in p.cue_angles]
    if p.visible_platform:
        targets.append(s["platform"])
    for target in targets:
        rel = target - pos
        bearing = np.arctan2(rel[1], rel[0]) - heading
        feats += [np.cos(bearing), np.sin(bearing), np.hypot(*rel)]
    return np.concatenate([rays, feats, [s["speed"], s["angular_velocity"]]])


@pytest.mark.parametrize(
    "overrides",
    [
        dict(
            platform_mode="movable",
            trials_per_episode=3,
            trial_duration=3.0,
            platform_radius=0.15,
            visible_platform=True,
        ),
        dict(
            platform_mode="probe",
            trials_per_episode=2,
            trial_duration=2.0,
            start_facing="centre",
            max_acceleration=0.8,
        ),
    ],
)
def test_steps_match_the_numpy_reference(overrides):
    env, p = ne.make(ENV_ID, **overrides)
    oracle = PlatformOracle()
    step = jax.jit(env.step_env)
    reset = jax.jit(env.reset)
    act = jax.jit(oracle.act)
    rng = np.random.default_rng(0)
    high = np.array([p.max_acceleration, p.max_angular_velocity])
    obs, state = reset(jax.random.key(0), p)
    events = {"found": 0, "timeout": 0, "terminated": 0, "truncated": 0}
    for t in range(300):
        u = rng.random()
        if u < 0.5:
            action = np.asarray(act(jax.random.key(t), (), obs, state, p)[0])
        elif u < 0.9:
            action = rng.uniform(-1.3 * high, 1.3 * high)  # some outside the bounds: clipped
        else:
            action = rng.choice([np.nan, np.inf, -np.inf, 1e9], size=2)
        expected, reward, term, trunc = ref_transition(state_as_numpy(state), action, p)
        obs, state, r, terminated, truncated, _ = step(
            jax.random.key(t), state, jnp.asarray(action, jnp.float32), p
        )
        got = state_as_numpy(state)
        np.testing.assert_allclose(got["position"], expected["position"], atol=2e-6)
        assert abs(wrap_angle_np(got["heading"] - expected["heading"])) < 2e-6
        np.testing.assert_allclose(got["speed"], expected["speed"], atol=2e-5)
        np.testing.assert_allclose(got["angular_velocity"], expected["angular_velocity"], rtol=1e-6)
        for k in ("trial", "trial_step", "found", "timeout", "step"):
            assert got[k] == expected[k], (t, k, got[k], expected[k])
        assert float(r) == pytest.approx(reward) and bool(terminated) == term and bool(truncated) == trunc
        np.testing.assert_allclose(np.asarray(obs), ref_observation(got, p), atol=5e-5, rtol=1e-5)
        for k in ("found", "timeout"):
            events[k] += int(got[k])
        events["terminated"] += int(term)
        events["truncated"] += int(trunc)
        if term or trunc:
            obs, state = reset(jax.random.key(1000 + t), p)
    # The run exercised releases, timeouts and episode ends (and, with a platform, escapes).
    assert events["timeout"] >= 3 and events["terminated"] + events["truncated"] >= 2
    if p.platform_mode != "probe":
        assert events["found"] >= 3
    else:
        assert events["found"] == 0


# ---------------------------------------------------------------------------------------------------------
# Any action keeps the rat in the pool
# ---------------------------------------------------------------------------------------------------------

_PROP_ENV, _PROP_PARAMS = ne.make(ENV_ID, platform_mode="movable", trials_per_episode=2, trial_duration=1.5)


def _pose_obs_reward(state, obs, new, reward, term, trunc):
    return new.position, new.heading, new.speed, obs, reward


_run_actions = jit_scan_steps(_PROP_ENV, _PROP_PARAMS, _pose_obs_reward)


@settings(max_examples=40, deadline=None)
@given(actions=any_actions(40), seed=st.integers(0, 2**16))
def test_any_action_keeps_the_rat_in_the_pool(actions, seed):
    p = _PROP_PARAMS
    positions, headings, speeds, obs, rewards = _run_actions(
        jax.random.key(seed), jnp.asarray(actions, jnp.float32)
    )
    positions, obs = np.asarray(positions), np.asarray(obs)
    assert (
        np.all(np.isfinite(positions))
        and np.all(np.isfinite(obs))
        and np.all(np.isfinite(np.asarray(rewards)))
    )
    radial = np.hypot(positions[:, 0] - p.pool_radius, positions[:, 1] - p.pool_radius)
    assert np.all(radial <= p.pool_radius - p.body_radius + 1e-5)
    headings, speeds = np.asarray(headings), np.asarray(speeds)
    assert np.all((headings >= -np.pi) & (headings < np.pi))
    assert np.all((speeds >= 0) & (speeds <= p.max_speed))
    space = _PROP_ENV.observation_space(p)
    assert all(space.contains(o) for o in obs)


# ---------------------------------------------------------------------------------------------------------
# Task structure
# ---------------------------------------------------------------------------------------------------------


def test_quadrants_follow_the_compass():
    env, p = ne.make(ENV_ID)
    r = p.pool_radius
    points = r + 0.5 * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)
    np.testing.assert_array_equal(np.asarray(env.quadrant(jnp.asarray(points), p)), [0, 1, 2, 3])
    assert int(env.quadrant(p.platform_position, p)) == 0  # default platform: centre of the NE quadrant
    np.testing.assert_allclose(
        np.asarray(p.platform_position), r + 0.5 * r * np.sqrt(0.5) * np.ones(2), rtol=1e-6
    )


def test_starts_are_the_cardinal_points_in_a_random_order():
    env, p = ne.make(ENV_ID)
    states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(jax.random.key(1), 256), p)[1]
    orders = np.asarray(states.start_order)
    assert np.all(np.sort(orders, axis=1) == np.arange(4))  # each point once in every four trials
    first = np.bincount(orders[:, 0], minlength=4) / len(orders)
    assert np.all(np.abs(first - 0.25) < 0.1)  # all four first starts occur (binomial s.d. 0.027)
    pos = np.asarray(states.position)
    np.testing.assert_allclose(np.hypot(*(pos - p.pool_radius).T), p.pool_radius - p.body_radius, atol=1e-6)
    # Facing the wall: the heading points away from the centre.
    outward = np.arctan2(pos[:, 1] - p.pool_radius, pos[:, 0] - p.pool_radius)
    assert np.all(np.abs(wrap_angle_np(np.asarray(states.heading) - outward)) < 1e-5)


def test_platform_is_fixed_by_default_and_moves_in_the_movable_mode():
    for mode in ("fixed", "movable"):
        env, p = ne.make(ENV_ID, platform_mode=mode)
        states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(jax.random.key(2), 128), p)[
            1
        ]
        platforms = np.asarray(states.platform)
        offsets = np.hypot(*(platforms - p.pool_radius).T)
        np.testing.assert_allclose(offsets, p.platform_offset * p.pool_radius, rtol=1e-5)
        if mode == "fixed":
            np.testing.assert_allclose(
                platforms, np.broadcast_to(np.asarray(p.platform_position), platforms.shape)
            )
        else:
            quadrants = np.asarray(env.quadrant(jnp.asarray(platforms), p))
            assert set(quadrants.tolist()) == {0, 1, 2, 3}
            assert len(np.unique(platforms[:, 0])) > 100


def _oracle_latencies(env, p, *, n=300):
    """Steps the oracle needs to escape from each cardinal start (first trial, without autoreset), and where
    it stopped: one compiled scan, vmapped over the four starts."""
    oracle = PlatformOracle()

    def from_start(start):
        _, state = env.reset(jax.random.key(0), p)
        position, heading = env.start_pose(start, p)
        order = (start + jnp.arange(4)) % 4
        state = state.replace(start_order=order.astype(jnp.int32), position=position, heading=heading)

        def body(loop, t):
            state, latency, reward = loop
            action, _ = oracle.act(jax.random.key(0), (), None, state, p)
            _, new, r, term, trunc, _ = env.step_env(jax.random.key(0), state, action, p)
            running = latency < 0
            latency = jnp.where(running & term, t, latency)
            reward = jnp.where(running & term, r, reward)
            state = jax.tree.map(lambda a, b: jnp.where(running, a, b), new, state)
            return (state, latency, reward), None

        init = (state, jnp.full((), -1, jnp.int32), jnp.zeros((), jnp.float32))
        (state, latency, reward), _ = jax.lax.scan(body, init, jnp.arange(1, n + 1))
        return latency, reward, state.position

    latency, reward, position = jax.jit(jax.vmap(from_start))(jnp.arange(4))
    assert np.all(np.asarray(latency) > 0), "the oracle never reached the platform"
    np.testing.assert_allclose(np.asarray(reward), p.platform_reward)
    return np.asarray(latency), np.asarray(position)


def _expected_steps(env, p, start):
    """Straight-line escape from the kinematics: turn in place while the platform is more than one step's turn
    away, then accelerate (bounded) to max_speed along the line, until within platform_radius."""
    position, heading = (np.asarray(x, np.float64) for x in env.start_pose(start, p))
    to_platform = np.asarray(p.platform_position, np.float64) - position
    error = abs(wrap_angle_np(np.arctan2(to_platform[1], to_platform[0]) - heading))
    max_turn = p.max_angular_velocity * p.dt
    turning = max(math.ceil(error / max_turn - 1e-9) - 1, 0)
    remaining = np.hypot(*to_platform) - p.platform_radius
    v, k = 0.0, 0
    while remaining > 1e-9:
        v = min(v + p.max_acceleration * p.dt, p.max_speed)
        remaining -= v * p.dt
        k += 1
    return turning + k, (np.hypot(*to_platform) - p.platform_radius) / p.max_speed


@pytest.mark.parametrize(
    "overrides", [{}, dict(start_facing="centre"), dict(max_acceleration=0.5, max_angular_velocity=np.pi / 2)]
)
def test_oracle_escape_latency_is_the_straight_line_time(overrides):
    env, p = ne.make(ENV_ID, **overrides)
    latencies, positions = _oracle_latencies(env, p)
    for start in range(4):
        latency = int(latencies[start])
        expected, straight = _expected_steps(env, p, start)
        assert abs(latency - expected) <= 1, (start, latency, expected)
        assert latency * p.dt >= straight - 1e-6  # nothing beats swimming straight at max_speed
        if not overrides:  # facing the wall, the default turn rate aligns within one step
            assert latency * p.dt <= straight + 2 * p.dt
        # It stopped on the platform.
        assert np.hypot(*(positions[start] - np.asarray(p.platform_position))) <= p.platform_radius + 1e-6


def test_a_day_of_trials_uses_each_start_once_and_rewards_every_escape():
    env, p = ne.make(ENV_ID, platform_mode="movable", trials_per_episode=4)
    infos, rewards, term, trunc = run_with_info(env, PlatformOracle(), p, jax.random.key(3), 8, 240)
    infos = jax.tree.map(np.asarray, infos)
    rewards, term, trunc = np.asarray(rewards), np.asarray(term), np.asarray(trunc)
    for i in range(8):
        first_end = np.flatnonzero(term[i])[0]
        found = np.flatnonzero(infos["found"][i, : first_end + 1])
        assert len(found) == 4 and found[-1] == first_end  # four escapes, the fourth ends the episode
        np.testing.assert_array_equal(infos["trial"][i, found], [0, 1, 2, 3])
        assert sorted(infos["start"][i, found].tolist()) == [0, 1, 2, 3]
        assert rewards[i, : first_end + 1].sum() == pytest.approx(4 * p.platform_reward)
        assert not trunc[i, : first_end + 1].any()


def test_probe_trial_has_no_platform_and_runs_to_the_time_limit():
    env, p = ne.make(ENV_ID, platform_mode="probe")
    infos, rewards, term, trunc = run_with_info(
        env, PlatformOracle(), p, jax.random.key(4), 16, int(p.max_steps)
    )
    term, trunc = np.asarray(term), np.asarray(trunc)
    assert not term.any() and np.asarray(rewards).sum() == 0
    assert trunc[:, -1].all() and not trunc[:, :-1].any()  # exactly trial_duration
    assert not np.asarray(infos["platform_present"]).any()
    # The oracle searches where the platform was: far more than a quarter of the time in the target quadrant.
    in_target = np.asarray(infos["quadrant"]) == np.asarray(infos["target_quadrant"])
    assert in_target.mean() > 0.8


def test_image_observation_shows_the_water_and_the_cues():
    env, p = ne.make(ENV_ID, observe_image=True, visible_platform=True)
    obs, state = env.reset(jax.random.key(0), p)
    image = np.asarray(obs["image"])
    assert image.shape == (p.image_size, p.image_size, 3)
    c = p.image_size // 2
    assert image[c, c, 0] == 1.0  # the rat is in the water
    assert 0 < image[..., 0].mean() < 1  # wall and room in view as well
    assert image[..., 1].sum() > 0  # cues are in view from the wall
    np.testing.assert_array_equal(
        np.asarray(obs["vector"]), np.asarray(env.observation(state, None, p)["vector"])
    )


# ---------------------------------------------------------------------------------------------------------
# The random swimmer's chance level
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_random_swimmer_occupies_each_quadrant_a_quarter_of_a_probe_trial():
    """Monte Carlo: 512 probe trials of 60 s. By the pool's quarter-turn symmetry (starts at the four cardinal
    points in a uniformly random order) each quadrant's expected occupancy is exactly 1/4; the per-trial
    occupancies vary a lot (s.d. about 0.25 within 60 s), so the tolerance is four standard errors."""
    env, p = ne.make(ENV_ID, platform_mode="probe")
    n = 512
    infos, *_ = run_with_info(env, RandomSwimmer(), p, jax.random.key(5), n, int(p.max_steps))
    quadrant = np.asarray(infos["quadrant"])  # (n, steps): one whole probe trial per env
    occupancy = np.stack([(quadrant == q).mean(axis=1) for q in range(4)], axis=1)  # (n, 4)
    mean = occupancy.mean(axis=0)
    se = occupancy.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(se < 0.015)
    assert np.all(np.abs(mean - 0.25) < 4 * se), (mean, se)
    target = (quadrant == np.asarray(infos["target_quadrant"])).mean(axis=1)
    assert abs(target.mean() - 0.25) < 4 * target.std(ddof=1) / np.sqrt(n)
    # It does swim: at about swim_speed on average (slower only when sliding along the wall).
    assert 0.15 < float(np.asarray(infos["speed"]).mean()) <= 0.2 + 1e-6


def test_bare_kernel_does_the_env_arithmetic():
    # The kernel draws the same actions as env_kernel but its own start points, so the checksums (the sum of
    # every step's observation and reward over 25,600 steps, with platform escapes and time-outs) agree only
    # statistically (relative differences of at most 1.2e-3 over eight seeds).
    from neuroethology.benchmarking import BARE_KERNELS, env_kernel

    env, p = ne.make(ENV_ID, trial_duration=5.0, platform_radius=0.3)
    key = jax.random.key(0)
    kernel = float(BARE_KERNELS[ENV_ID](p, 128, 200)(key))
    assert np.isfinite(kernel) and kernel == pytest.approx(float(env_kernel(env, p, 128, 200)(key)), rel=5e-3)
