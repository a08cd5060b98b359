"""Teacher forcing: reconstruction along a simulated path reproduces the environment's own states,
observations and actions; recordings that do not fit the environment are rejected."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import neuroethology.envs as ne
from neuroethology.data import from_arrays
from neuroethology.fitting import open_field_params_for, reconstruct, reconstruct_path
from neuroethology.fitting.reconstruct import path_segments, path_windows


@pytest.fixture(scope="module")
def simulated():
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=1000.0, n_rays=8)
    result = ne.rollout(
        env, ne.policies.RandomMotion(), jax.random.key(7), p, num_steps=3000, record_obs=True
    )
    return env, p, result


def test_reconstruction_reproduces_the_environment(simulated):
    env, p, result = simulated
    positions = np.asarray(result.states.position, float)
    demo = reconstruct_path(positions, p)
    assert demo.num_steps == len(positions) - 2
    k = np.arange(1, len(positions) - 1)  # the states reconstruction can see
    # Heading is undefined when standing still, and differs from the direction of motion when sliding along
    # a wall (the body faces the wall, the step runs along it): compare where neither happens.
    at_wall = np.asarray(jax.vmap(lambda x: env.wall_distance(x, p))(result.states.position)) < 1e-6
    moving = (np.asarray(result.states.speed)[k] > 1e-3) & ~at_wall[k] & ~at_wall[k - 1]
    assert moving.mean() > 0.9
    moving[0] = False  # a segment's first state cannot know the turn that led to it (set to 0)
    np.testing.assert_allclose(np.asarray(demo.states.position), positions[k], atol=1e-6)
    np.testing.assert_allclose(np.asarray(demo.states.speed), np.asarray(result.states.speed)[k], atol=1e-4)
    heading_err = np.angle(
        np.exp(1j * (np.asarray(demo.states.heading) - np.asarray(result.states.heading)[k]))
    )
    assert np.abs(heading_err[moving]).max() < 1e-3
    np.testing.assert_allclose(
        np.asarray(demo.observations)[moving],
        np.asarray(result.observations)[k][moving],
        atol=2e-3,
        rtol=1e-3,
    )
    # Inferred actions equal the actions taken, where they were inside the action space.
    actions = np.asarray(result.actions, float)[k]
    high = np.array([float(p.max_acceleration), float(p.max_angular_velocity)])
    inside = np.all(np.abs(actions) < high, axis=1) & moving
    assert inside.mean() > 0.95
    np.testing.assert_allclose(demo.actions[inside], actions[inside], atol=0.05, rtol=1e-3)
    assert np.array_equal(demo.in_bounds[inside], np.ones(inside.sum(), bool))


def test_replaying_inferred_actions_retraces_the_path(simulated):
    env, p, result = simulated
    positions = np.asarray(result.states.position, float)
    demo = reconstruct_path(positions, p)
    step = jax.jit(lambda s, a: env.transition(s, a, jax.random.key(0), p))
    nxt = jax.vmap(step)(demo.states, demo.actions.astype(np.float32))
    err = np.linalg.norm(np.asarray(nxt.position) - demo.next_position, axis=1)
    assert np.quantile(err[demo.in_bounds], 0.99) < 1e-5


def test_segments_are_never_crossed():
    env, p = ne.make("neuroethology/OpenField-v0")
    t = np.arange(40) * 0.02
    xy = np.stack([0.2 + 0.01 * np.arange(40), np.full(40, 0.5)], axis=1)
    xy[10:13] = np.nan  # a gap
    demo = reconstruct_path(xy, p, time=t)
    assert len(path_segments(np.all(np.isfinite(xy), axis=1))) == 2
    assert demo.episode_start.sum() == 2
    assert demo.num_steps == (10 - 2) + (27 - 2)
    # No step spans the gap: every next position is one step (1 cm) away.
    np.testing.assert_allclose(
        np.linalg.norm(demo.next_position - np.asarray(demo.states.position), axis=1), 0.01, atol=1e-6
    )
    windows = path_windows(xy, p, time=t)
    assert windows.shape == (demo.num_steps, 4, 2)
    assert np.isnan(windows[demo.episode_start, 0]).all() and np.isfinite(windows[~demo.episode_start]).all()


def test_wrong_sampling_interval_is_rejected():
    env, p = ne.make("neuroethology/OpenField-v0")
    with pytest.raises(ValueError, match="resample"):
        reconstruct_path(np.random.default_rng(0).uniform(0, 1, (50, 2)), p, time=np.arange(50) * 0.04)


def test_recordings_that_do_not_fit_the_environment_are_rejected():
    rng = np.random.default_rng(0)
    xy = 0.5 + np.cumsum(rng.normal(0, 0.002, (200, 2)), axis=0)
    no_arena = from_arrays(xy, fps=50.0, source_file="/data/rat1.csv")
    with pytest.raises(ValueError, match=r"rat1\.csv.*no arena"):
        open_field_params_for(no_arena)
    pixels = from_arrays(
        xy * 640, fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0}, source_file="/data/px.csv"
    )
    with pytest.raises(ValueError, match=r"px\.csv.*units"):
        open_field_params_for(pixels)
    ok = from_arrays(xy, fps=50.0, arena={"shape": "circle", "radius": 0.5})
    demo, params = reconstruct(ok)
    assert params.arena_shape == "circle" and float(params.dt) == pytest.approx(0.02)
    assert demo.num_steps == 198


def test_every_environment_is_fittable_or_says_why_not():
    """Issue 14 item 7: `fit --env` names, for each registered environment it cannot fit, the reason."""
    import neuroethology.envs as ne
    from neuroethology.config import config_from_dict
    from neuroethology.fitting import FitConfig
    from neuroethology.fitting.config import NOT_FITTABLE, SUPPORTED_ENVS

    assert set(ne.registered_envs()) == set(SUPPORTED_ENVS) | set(NOT_FITTABLE)
    for env_id, why in NOT_FITTABLE.items():
        with pytest.raises(ValueError) as info:
            config_from_dict(FitConfig, {"env": env_id}, source="fit config")
        assert f"{env_id!r} cannot be fitted: {why}" in " ".join(str(info.value).split()), env_id
