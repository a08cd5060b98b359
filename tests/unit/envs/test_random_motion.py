"""The RatInABox random-motion policy: exact against RatInABox step by step, and in distribution."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import ratinabox
from ratinabox import utils as rib_utils
from ratinabox.Agent import Agent
from ratinabox.Environment import Environment
from scipy.stats import ks_2samp

import neuroethology.envs as ne
from neuroethology.envs.policies import RandomMotion, RandomMotionCarry
from neuroethology.envs.policies.random_motion import normal_to_rayleigh, rayleigh_to_normal

ratinabox.verbose = False


def test_rayleigh_normal_maps_match_ratinabox_and_invert():
    speeds = np.array([0.001, 0.02, 0.08, 0.2, 0.45])
    z = np.asarray(rayleigh_to_normal(jnp.asarray(speeds, jnp.float32), 0.08))
    expected = [rib_utils.rayleigh_to_normal(s, sigma=0.08) for s in speeds]
    np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-4)
    back = np.asarray(normal_to_rayleigh(jnp.asarray(z), 0.08))
    # Inverse up to RatInABox's clip of the CDF at 1 - 1e-6 (which caps speeds at about 5.3 sigma).
    np.testing.assert_allclose(back[:4], speeds[:4], rtol=1e-3)
    assert back[4] == pytest.approx(0.08 * np.sqrt(-2 * np.log(1e-6)), rel=1e-3)
    np.testing.assert_allclose(back, rib_utils.normal_to_rayleigh(z, sigma=0.08), rtol=1e-3)


def measure(positions: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Speed and rotational velocity of the steps actually taken (the same function for both simulators)."""
    v = np.diff(positions, axis=0) / dt
    speed = np.hypot(v[:, 0], v[:, 1])
    angle = np.arctan2(v[:, 1], v[:, 0])
    rotation = np.angle(np.exp(1j * np.diff(angle))) / dt
    return speed[1:], rotation


@functools.cache
def _compiled_in_the_box():
    """OpenField and, jitted once for every start: the random-motion policy's displacement, a step of the
    environment driven by the policy's action, and the distance to the nearest wall."""
    env, p = ne.make("neuroethology/OpenField-v0")
    policy = RandomMotion()

    def advance(key, carry, state, p):
        action, _ = policy.act(key, carry, None, state, p)
        return env.transition(state, action, key, p)

    return env, p, jax.jit(policy.displacement), jax.jit(advance), jax.jit(env.wall_distance)


@pytest.mark.parametrize("start", [(0.5, 0.5), (0.04, 0.5), (0.97, 0.98), (0.5, 0.002)])
def test_each_step_equals_ratinabox_agent_update(monkeypatch, start):
    """Feed RatInABox the same Gaussian draws and compare the update from the same state, 200 times."""
    env, p, step_fn, advance, wall_distance = _compiled_in_the_box()
    rib = Agent(Environment(), params={"dt": float(p.dt)})
    draws: list[float] = []

    def fake_normal(loc=0.0, scale=1.0, size=None):
        if scale < 1e-4:  # RatInABox's sub-micrometre jitter of geometry computations: leave it out
            return np.zeros(size)
        return np.full(size, draws.pop(0)) * scale  # the OU draws: ours, in RatInABox's call order

    monkeypatch.setattr(np.random, "normal", fake_normal)
    state = env.initial(jax.random.key(0), p).replace(position=jnp.array(start, jnp.float32))
    carry = RandomMotionCarry(jnp.array([0.05, -0.06], jnp.float32), jnp.float32(0.3))
    near_wall = 0
    for t in range(200):
        key = jax.random.key(t)
        k_rot, k_speed = jax.random.split(key)
        draws[:] = [float(jax.random.normal(k_rot)), float(jax.random.normal(k_speed))]
        shift, new_carry = step_fn(key, carry, state, p)
        rib.pos = np.asarray(state.position, float).copy()
        rib.velocity = np.asarray(carry.velocity, float).copy()
        rib.rotational_velocity = float(carry.rotational_velocity)
        before = rib.pos.copy()
        rib.update()
        assert not draws, "RatInABox drew a different number of Gaussians"
        np.testing.assert_allclose(
            np.asarray(shift), rib.pos - before, rtol=1e-3, atol=2e-6, err_msg=f"step {t}"
        )
        np.testing.assert_allclose(np.asarray(new_carry.velocity), rib.velocity, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(
            float(new_carry.rotational_velocity), rib.rotational_velocity, rtol=1e-4, atol=1e-5
        )
        near_wall += int(float(wall_distance(state.position, p)) < 0.1)
        # Move on with the environment itself, driven by the policy's action.
        state = advance(key, carry, state, p)
        carry = new_carry
    if start != (0.5, 0.5):
        assert near_wall > 0, "the wall-repulsion branch was never exercised"


def test_policy_action_moves_the_env_by_ratinabox_displacement():
    env, p = ne.make("neuroethology/OpenField-v0")
    policy = RandomMotion()
    displacement, act, transition = jax.jit(policy.displacement), jax.jit(policy.act), jax.jit(env.transition)
    state = env.initial(jax.random.key(3), p)
    carry = policy.init(jax.random.key(4), state, p)
    for t in range(100):
        key = jax.random.key(100 + t)
        shift, _ = displacement(key, carry, state, p)
        action, carry = act(key, carry, None, state, p)
        nxt = transition(state, action, key, p)
        np.testing.assert_allclose(np.asarray(nxt.position - state.position), np.asarray(shift), atol=2e-6)
        state = nxt


def test_wall_repulsion_and_thigmotaxis_parameters_matter():
    env, p = ne.make("neuroethology/OpenField-v0")

    def wall_time(**kw):
        result = ne.rollout(env, RandomMotion(**kw), jax.random.key(0), p, num_steps=20000, num_envs=4)
        pos = np.asarray(result.states.position).reshape(-1, 2)
        return np.mean(
            np.minimum(np.minimum(pos[:, 0], 1 - pos[:, 0]), np.minimum(pos[:, 1], 1 - pos[:, 1])) < 0.05
        )

    hug = wall_time(thigmotaxis=0.9)
    avoid = wall_time(thigmotaxis=0.1)
    assert hug > 1.5 * avoid, (hug, avoid)


@pytest.mark.slow
def test_speed_and_rotation_distributions_match_ratinabox_over_30_minutes():
    """Two-sample KS < 0.06 for speed and rotational velocity, 30 simulated minutes each, 1 x 1 m box."""
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=1900.0)
    steps = int(30 * 60 / float(p.dt))
    ours = np.asarray(ne.rollout(env, RandomMotion(), jax.random.key(0), p, num_steps=steps).states.position)
    np.random.seed(0)  # noqa: NPY002 - RatInABox draws from NumPy's global generator
    agent = Agent(Environment(), params={"dt": float(p.dt)})
    for _ in range(steps):
        agent.update()
    theirs = np.asarray(agent.history["pos"])
    s1, w1 = measure(ours.astype(float), float(p.dt))
    s2, w2 = measure(theirs, float(p.dt))
    ks_speed = ks_2samp(s1, s2).statistic
    ks_rotation = ks_2samp(w1, w2).statistic
    print(f"KS speed {ks_speed:.4f}, KS rotational velocity {ks_rotation:.4f}")
    assert ks_speed < 0.06
    assert ks_rotation < 0.06
    # And the rat-like scale: mean speed near the Rayleigh mean sigma * sqrt(pi / 2).
    assert abs(s1.mean() - 0.08 * np.sqrt(np.pi / 2)) < 0.02
