"""OpenField-v0: physics against a plain NumPy implementation, senses, rewards and robustness."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.envs.core import uniform21
from neuroethology.envs.open_field import OpenField, OpenFieldState

# ---------------------------------------------------------------------------------------------------------
# A plain NumPy OpenField, written from the docstring's equations (float64, no shared code)
# ---------------------------------------------------------------------------------------------------------


def np_wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def np_ray_hits(pos, heading, p):
    """Distance to the first wall along each ray, by brute-force intersection with every wall segment that
    the ray moves towards (box; a wall the animal touches does not block rays pointing away from it), or by
    the quadratic (circle)."""
    n, fov = p.n_rays, float(p.field_of_view)
    angles = heading + fov * ((np.arange(n) + 0.5) / n - 0.5)
    out = np.empty(n)
    for i, a in enumerate(angles):
        d = np.array([np.cos(a), np.sin(a)])
        if p.arena_shape == "circle":
            r = float(p.radius)
            q = pos - r
            b, c = q @ d, q @ q - r * r
            out[i] = -b + np.sqrt(max(b * b - c, 0.0))
            continue
        w, h = float(p.width), float(p.height)
        best = np.inf
        walls = [
            ((0, 0), (w, 0), (0, -1)),
            ((w, 0), (w, h), (1, 0)),
            ((w, h), (0, h), (0, 1)),
            ((0, h), (0, 0), (-1, 0)),
        ]
        for a0, a1, outward in walls:
            if d @ np.array(outward, float) <= 0:
                continue
            a0, a1 = np.array(a0, float), np.array(a1, float)
            e = a1 - a0
            m = np.array([[d[0], -e[0]], [d[1], -e[1]]])
            if abs(np.linalg.det(m)) < 1e-12:
                continue
            t, s = np.linalg.solve(m, a0 - pos)
            if t >= -1e-9 and -1e-9 <= s <= 1 + 1e-9:
                best = min(best, t)
        out[i] = max(best, 0.0)
    return out


def np_step(state: dict, action, p) -> dict:
    high = np.array([p.max_acceleration, p.max_angular_velocity], float)
    a = np.nan_to_num(np.asarray(action, float), nan=0.0, posinf=1e30, neginf=-1e30)
    a = np.clip(a, -high, high)
    dt = float(p.dt)
    speed = np.clip(state["speed"] + a[0] * dt, 0.0, float(p.max_speed))
    heading = np_wrap(state["heading"] + a[1] * dt)
    proposed = state["position"] + speed * dt * np.array([np.cos(heading), np.sin(heading)])
    if p.arena_shape == "circle":
        r = float(p.radius)
        q = proposed - r
        dist = np.hypot(*q)
        limit = r - 1e-6
        position = r + q * (limit / dist if dist > limit else 1.0)
    else:
        position = np.clip(proposed, 0.0, [float(p.width), float(p.height)])
    achieved = np.hypot(*(position - state["position"])) / dt
    return {"position": position, "heading": heading, "speed": achieved, "angular_velocity": a[1]}


def np_observation(state: dict, p) -> np.ndarray:
    rays = np_ray_hits(state["position"], state["heading"], p)
    return np.concatenate([rays, [state["speed"], state["angular_velocity"]]])


def as_dict(state: OpenFieldState) -> dict:
    return {
        k: np.asarray(getattr(state, k), float) for k in ("position", "heading", "speed", "angular_velocity")
    }


def random_actions(p, n, seed):
    """Actions that often exceed the bounds and push into walls, with some NaN and inf mixed in."""
    rng = np.random.default_rng(seed)
    high = np.array([p.max_acceleration, p.max_angular_velocity])
    acts = rng.uniform(-1.5, 1.5, (n, 2)) * high
    acts[rng.random(n) < 0.4, 0] = 3 * high[0]  # accelerate hard: reach walls quickly
    acts[rng.random(n) < 0.05] = np.nan
    acts[rng.random(n) < 0.05, 1] = np.inf
    return acts


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"arena_shape": "circle", "radius": 0.4},
        {"width": 2.0, "height": 0.5, "n_rays": 5, "field_of_view": 2 * np.pi},
        {"dt": 0.05, "max_speed": 0.3},
    ],
    ids=["box", "circle", "rect-5rays-360", "dt0.05"],
)
def test_physics_matches_numpy_step_by_step(overrides):
    env, p = ne.make("neuroethology/OpenField-v0", **overrides)
    _, state = env.reset(jax.random.key(1), p)
    step = jax.jit(env.step_env)
    free = as_dict(state)  # a free-running NumPy copy, checked loosely (float32 vs float64 drift)
    wall_contacts = 0
    for t, action in enumerate(random_actions(p, 300, seed=len(overrides))):
        expected = np_step(as_dict(state), action, p)  # one step from the JAX state, checked tightly
        obs, state, *_ = step(jax.random.key(t), state, jnp.asarray(action, jnp.float32), p)
        got = as_dict(state)
        for k in expected:
            np.testing.assert_allclose(got[k], expected[k], rtol=2e-5, atol=2e-5, err_msg=f"step {t}: {k}")
        np.testing.assert_allclose(np.asarray(obs), np_observation(got, p), rtol=1e-4, atol=1e-4)
        free = np_step(free, action, p)
        wall_contacts += int(float(env.wall_distance(state.position, p)) < 1e-4)
    np.testing.assert_allclose(got["position"], free["position"], atol=1e-3)
    assert wall_contacts >= 3, "the reference comparison never exercised the walls"


def test_rays_from_the_centre_of_the_unit_box():
    env, p = ne.make("neuroethology/OpenField-v0", n_rays=4, field_of_view=2 * np.pi)
    d = env.ray_distances(jnp.array([0.5, 0.5]), jnp.float32(0.0), p)
    np.testing.assert_allclose(np.asarray(d), np.full(4, np.sqrt(0.5)), rtol=1e-6)
    env, p = ne.make("neuroethology/OpenField-v0", n_rays=1)
    ahead = env.ray_distances(jnp.array([0.2, 0.7]), jnp.float32(np.pi / 2), p)  # facing +y
    np.testing.assert_allclose(np.asarray(ahead), [0.3], rtol=1e-5)
    env, p = ne.make("neuroethology/OpenField-v0", arena_shape="circle", radius=0.5, n_rays=1)
    np.testing.assert_allclose(
        np.asarray(env.ray_distances(jnp.array([0.5, 0.5]), 1.234, p)), [0.5], rtol=1e-6
    )


def test_ray_order_is_right_to_left():
    env, p = ne.make("neuroethology/OpenField-v0", n_rays=3, field_of_view=np.pi)
    # Facing +x from near the bottom wall: the rightmost ray (pointing -y) hits that wall first.
    d = np.asarray(env.ray_distances(jnp.array([0.5, 0.1]), jnp.float32(0.0), p))
    assert d[0] < d[2]


def test_walking_into_a_wall_stops_and_slides():
    env, p = ne.make("neuroethology/OpenField-v0")
    state = env.initial(jax.random.key(0), p).replace(
        position=jnp.array([0.999, 0.5]), heading=jnp.float32(np.pi / 4), speed=jnp.float32(0.5)
    )
    nxt = env.transition(state, jnp.array([0.0, 0.0]), jax.random.key(0), p)
    x, y = np.asarray(nxt.position)
    assert x == pytest.approx(1.0) and y > 0.5  # pressed against the wall, sliding up along it
    assert float(nxt.speed) < 0.5 * 0.9  # only the component along the wall is achieved


def test_egocentric_image_shows_the_wall_ahead():
    env, p = ne.make("neuroethology/OpenField-v0", observe_image=True, image_size=16, image_extent=0.6)
    state = env.initial(jax.random.key(0), p).replace(
        position=jnp.array([0.5, 0.9]), heading=jnp.float32(np.pi / 2)
    )
    image = np.asarray(env.observation(state, jax.random.key(0), p)["image"])[..., 0]
    assert image.shape == (16, 16)
    # 0.1 m ahead is the wall: pixels more than 0.1 m ahead (rows near the top) are outside.
    rows_ahead = (np.arange(16) + 0.5) / 16 * 0.6
    forward = 0.3 - rows_ahead
    assert np.all(image[forward > 0.12] == 0)
    assert np.all(image[forward < 0.08] == 1)
    # Turn to face the left (-x) wall, 0.5 m away: everything in view is floor except beyond y=1 on the right.
    state = state.replace(heading=jnp.float32(np.pi))
    image = np.asarray(env.observation(state, jax.random.key(0), p)["image"])[..., 0]
    # Heading -x: image columns to the right of the animal are +y, i.e. beyond the top wall (y > 1).
    assert image[:, -1].sum() == 0 and image[:, 0].sum() == 16


def test_coverage_reward_sums_to_the_visited_fraction():
    env, p = ne.make(
        "neuroethology/OpenField-v0", reward_type="coverage", coverage_bins=8, episode_duration=60.0
    )
    result = ne.rollout(env, ne.policies.RandomMotion(), jax.random.key(2), p, num_steps=2000)
    pos = np.asarray(result.states.position)
    final = np.asarray(result.final_state.position)
    visited = {tuple(np.minimum((q * 8).astype(int), 7)) for q in np.vstack([pos, final[None]])}
    assert float(result.rewards.sum()) == pytest.approx(
        (len(visited) - 1) / 64, abs=1e-5
    )  # start cell is free


def test_novelty_reward_is_inverse_sqrt_of_visits():
    env, p = ne.make("neuroethology/OpenField-v0", reward_type="novelty", coverage_bins=4)
    state = env.initial(jax.random.key(0), p).replace(position=jnp.array([0.1, 0.1]))
    state = state.replace(visits=jnp.zeros((4, 4), jnp.int32).at[0, 0].set(1))
    rewards = []
    for _ in range(3):
        nxt = env.transition(state, jnp.zeros(2), jax.random.key(0), p)
        rewards.append(float(env.reward(state, jnp.zeros(2), nxt, jax.random.key(0), p)))
        state = nxt
    np.testing.assert_allclose(rewards, 1 / np.sqrt([2, 3, 4]), rtol=1e-6)


def test_no_reward_by_default_and_never_terminates():
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=2.0)
    result = ne.rollout(env, ne.policies.UniformRandomPolicy(env, p), jax.random.key(0), p, num_steps=250)
    assert float(jnp.abs(result.rewards).sum()) == 0.0
    assert not bool(result.terminated.any())
    assert np.flatnonzero(np.asarray(result.truncated)).tolist() == [99, 199]


def test_start_poses_are_uniform_over_the_floor():
    env, p = ne.make("neuroethology/OpenField-v0", arena_shape="circle", radius=0.5)
    states = jax.vmap(lambda k: env.initial(k, p))(jax.random.split(jax.random.key(0), 4000))
    r = np.hypot(*(np.asarray(states.position) - 0.5).T)
    assert r.max() <= 0.5
    # Uniform over the disc: P(r < 0.5 R) = 1/4.
    assert abs(np.mean(r < 0.25) - 0.25) < 0.03
    heading = np.asarray(states.heading)
    assert heading.min() >= -np.pi and heading.max() < np.pi and abs(heading.mean()) < 0.1


def test_uniform21_is_uniform_and_independent():
    from scipy.stats import kstest

    u = np.asarray(jax.vmap(lambda k: uniform21(k, 3))(jax.random.split(jax.random.key(5), 20000)))
    for i in range(3):
        assert kstest(u[:, i], "uniform").pvalue > 1e-3
    assert np.all(np.abs(np.corrcoef(u.T)[np.triu_indices(3, 1)]) < 0.03)
    # Raw (unsplit) keys must still give spread-out draws.
    raw = np.asarray(jax.vmap(lambda s: uniform21(jax.random.key(s), 3))(jnp.arange(5000)))
    for i in range(3):
        assert kstest(raw[:, i], "uniform").pvalue > 1e-3
    longer = np.asarray(uniform21(jax.random.key(0), 7))
    assert longer.shape == (7,) and np.all((longer >= 0) & (longer < 1))


def test_invalid_params_are_reported_together():
    with pytest.raises(ValueError) as err:
        ne.make("neuroethology/OpenField-v0", arena_shape="hexagon", width=-1.0, n_rays=0)
    msg = str(err.value)
    assert "arena_shape" in msg and "width" in msg and "n_rays" in msg
    with pytest.raises(ValueError, match="must be a number"):
        ne.make("neuroethology/OpenField-v0", dt="fast")


def test_gymnasium_info_reports_the_pose():
    env = gymnasium.make("neuroethology/OpenField-v0")
    obs, info = env.reset(seed=0)
    assert set(info) >= {"position", "heading", "speed", "time"}
    obs, reward, term, trunc, info = env.step(np.array([1.0, 0.0], np.float32))
    assert info["time"] == pytest.approx(0.02)


# ---------------------------------------------------------------------------------------------------------
# Property tests: no action, however wild, leaves the arena or makes the state non-finite
# ---------------------------------------------------------------------------------------------------------

wild = st.floats(allow_nan=True, allow_infinity=True, width=32)
_ENVS = {
    shape: ne.make("neuroethology/OpenField-v0", arena_shape=shape, radius=0.3, width=0.8, height=0.6)
    for shape in ("box", "circle")
}
_STEP = jax.jit(OpenField().step, static_argnums=())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from(["box", "circle"]),
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(st.tuples(wild, wild), min_size=1, max_size=25),
)
def test_any_action_keeps_the_animal_inside_and_finite(shape, seed, actions):
    env, p = _ENVS[shape]
    _, state = env.reset(jax.random.key(seed), p)
    for t, action in enumerate(actions):
        obs, state, reward, *_ = _STEP(jax.random.key(t), state, jnp.asarray(action, jnp.float32), p)
        leaves = [np.asarray(x) for x in jax.tree.leaves((obs, state, reward))]
        assert all(np.all(np.isfinite(x)) for x in leaves if x.dtype.kind == "f")
        x, y = np.asarray(state.position)  # float32, compared with the float32 arena bounds
        if shape == "circle":
            assert np.hypot(x - np.float32(0.3), y - np.float32(0.3)) <= np.float32(0.3)
        else:
            assert 0.0 <= x <= np.float32(0.8) and 0.0 <= y <= np.float32(0.6)
        assert 0.0 <= float(state.speed) <= float(p.max_speed) * (1 + 1e-6) + 1e-6
        assert env.observation_space(p).contains(np.asarray(obs))


VARIANT = {
    "arena_shape": "circle",
    "radius": 0.6,
    "observe_image": True,
    "reward_type": "novelty",
    "n_rays": 7,
}


@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space.*")
def test_circle_image_novelty_variant_passes_check_env():
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("neuroethology/OpenField-v0", render_mode="rgb_array", **VARIANT)
    check_env(env.unwrapped)
    assert env.observation_space["image"].shape == (32, 32, 2)


def test_circle_image_novelty_variant_vmap_equals_single_steps():
    env, p = ne.make("neuroethology/OpenField-v0", **VARIANT)
    keys = jax.random.split(jax.random.key(0), 3)
    _, batch = jax.vmap(env.reset, in_axes=(0, None))(keys, p)
    singles = [jax.tree.map(lambda x, i=i: x[i], batch) for i in range(3)]
    step_b = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    step_1 = jax.jit(env.step)
    for t, acts in enumerate(random_actions(p, 60, seed=9).reshape(20, 3, 2)):
        step_keys = jax.random.split(jax.random.key(50 + t), 3)
        obs_b, batch, rew_b, *_ = step_b(step_keys, batch, jnp.asarray(acts, jnp.float32), p)
        for i in range(3):
            obs_i, singles[i], rew_i, *_ = step_1(
                step_keys[i], singles[i], jnp.asarray(acts[i], jnp.float32), p
            )
            for a, b in zip(jax.tree.leaves(singles[i]), jax.tree.leaves(batch), strict=True):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b)[i], rtol=1e-6, atol=1e-6)
            # A ray leaving a point that touches the curved wall at a grazing angle has a length of order
            # sqrt(2 R gap): a one-ulp difference in position (vmapped and single code are compiled apart)
            # moves it by up to ~1e-5 m. Everything else agrees to 1e-6.
            for a, b in zip(jax.tree.leaves(obs_i), jax.tree.leaves(obs_b), strict=True):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b)[i], rtol=1e-6, atol=2e-5)
            assert float(rew_i) == pytest.approx(float(rew_b[i]), abs=1e-7)


def test_ray_range_caps_what_the_rays_read_and_nothing_else():
    """Rays read min(distance, ray_range); the observation space's bound follows; speed and turn rate and the
    unlimited default are untouched (from the centre of the unit box every ray is sqrt(0.5) m long)."""
    env, p = ne.make("neuroethology/OpenField-v0", n_rays=4, field_of_view=2 * np.pi)
    state = env.initial(jax.random.key(0), p).replace(
        position=jnp.array([0.5, 0.5]), heading=jnp.float32(0.0)
    )
    full = np.asarray(env.observation(state, jax.random.key(1), p))
    np.testing.assert_allclose(full[:4], np.sqrt(0.5), rtol=1e-6)
    for reach in (0.3, 0.7072, 5.0):
        near = p.replace(ray_range=reach)
        obs = np.asarray(env.observation(state, jax.random.key(1), near))
        np.testing.assert_allclose(obs[:4], min(np.sqrt(0.5), reach), rtol=1e-6)
        np.testing.assert_array_equal(obs[4:], full[4:])
        assert env.observation_space(near).high[0] == pytest.approx(min(np.sqrt(2.0), reach), rel=1e-5)
        assert env.observation_space(near).contains(obs.astype(np.float32))
    assert ne.make("neuroethology/OpenField-v0", ray_range=0.0)[1] == ne.make("neuroethology/OpenField-v0")[1]
    with pytest.raises(ValueError, match="ray_range must be >= 0"):
        ne.make("neuroethology/OpenField-v0", ray_range=-0.1)


@pytest.mark.parametrize("reach", [0.0, 0.3])
def test_params_with_a_ray_range_round_trip_through_a_runs_json(reach):
    """What a run directory stores (params_dict, as JSON) makes the same params again: an unlimited range
    is 0, not inf (which JSON and the params' checks refuse)."""
    import json

    env, p = ne.make("neuroethology/OpenField-v0", ray_range=reach)
    again = ne.make(
        "neuroethology/OpenField-v0", **json.loads(json.dumps(env.params_dict(p), allow_nan=False))
    )[1]
    assert again == p
