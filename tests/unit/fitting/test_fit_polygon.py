"""Fitting in any arena: a recording is placed in a polygon arena (its positions checked against the floor
with the box's tolerance, tracking noise projected onto the floor), teacher forcing reproduces the
environment's states and observations there, and the fit says what arena it fitted in."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import neuroethology.envs as ne
from neuroethology.data import from_arrays
from neuroethology.envs.arena import arena_geometry, resolve_arena
from neuroethology.fitting import open_field_params_for, reconstruct, reconstruct_path
from neuroethology.fitting.pipeline import _arena_text

# An L-shaped corridor 0.2 m wide with 0.6 m arms: the notch [0.2, 0.6] x [0.2, 0.6] is off the floor.
L_SHAPE = {"boundary": [[0, 0], [0.6, 0], [0.6, 0.2], [0.2, 0.2], [0.2, 0.6], [0, 0.6]]}
TOLERANCE = 0.05 * 0.6  # m: the box rule, 5% of the larger extent of the arena's bounding box


@pytest.fixture(scope="module")
def l_path():
    env, p = ne.make("neuroethology/OpenField-v0", arena=L_SHAPE, episode_duration=1000.0, n_rays=8)
    result = ne.rollout(
        env, ne.policies.RandomMotion(), jax.random.key(3), p, num_steps=2000, record_obs=True
    )
    return env, p, result


def test_reconstruction_in_a_polygon_reproduces_the_environment(l_path):
    """What a network is fitted to in a polygon: the env's own states, ray observations and actions."""
    env, p, result = l_path
    positions = np.asarray(result.states.position, float)
    assert np.asarray(arena_geometry(L_SHAPE).inside(positions)).all()
    demo = reconstruct_path(positions, p)
    k = np.arange(1, len(positions) - 1)
    wall = np.asarray(jax.vmap(lambda x: env.wall_distance(x, p))(result.states.position))
    at_wall = wall < 1e-4  # the sweep stops 10 um short of a segment
    moving = (np.asarray(result.states.speed)[k] > 1e-3) & ~at_wall[k] & ~at_wall[k - 1]
    assert moving.mean() > 0.5, "the path should be mostly free of the walls for this test to mean much"
    moving[0] = False
    np.testing.assert_allclose(np.asarray(demo.states.position), positions[k], atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(demo.observations)[moving],
        np.asarray(result.observations)[k][moving],
        atol=2e-3,
        rtol=1e-3,
    )
    # Replaying the inferred actions from the reconstructed states retraces the path in the polygon.
    nxt = jax.vmap(jax.jit(lambda s, a: env.transition(s, a, jax.random.key(0), p)))(
        demo.states, demo.actions.astype(np.float32)
    )
    err = np.linalg.norm(np.asarray(nxt.position) - demo.next_position, axis=1)
    free = demo.in_bounds & moving
    assert np.quantile(err[free], 0.99) < 1e-5


def test_positions_off_the_polygon_floor_are_refused_with_the_box_tolerance(l_path):
    _, _, result = l_path
    xy = np.asarray(result.states.position, float)[:600]

    def params_for(points: np.ndarray):
        rec = from_arrays(points, fps=50.0, arena=L_SHAPE, source_file="/data/mouse7.csv")
        return open_field_params_for(rec)

    assert params_for(xy).arena_shape == "polygon"
    notch = xy.copy()
    notch[100:103] = [0.45, 0.45]  # 0.25 m from the floor, inside the bounding box
    with pytest.raises(
        ValueError, match=r"mouse7\.csv: 3 of 600 positions lie more than 0\.03 m .*off the floor"
    ):
        params_for(notch)
    # Just inside and just beyond the tolerance, outside the outer wall x = 0 at y = 0.5.
    for off, refused in ((0.9 * TOLERANCE, False), (1.1 * TOLERANCE, True)):
        noisy = xy.copy()
        noisy[200] = [-off, 0.5]
        if refused:
            with pytest.raises(ValueError, match=r"1 of 600 positions .* off the floor"):
                params_for(noisy)
        else:
            params_for(noisy)
    # Kept positions are projected onto the floor, as in a box (the step off the wall starts on the floor).
    noisy = xy.copy()
    noisy[200] = [-0.9 * TOLERANCE, 0.5]
    demo, params = reconstruct(from_arrays(noisy, fps=50.0, arena=L_SHAPE))
    position = np.asarray(demo.states.position)
    assert np.asarray(arena_geometry(L_SHAPE).inside(position)).all()
    assert np.abs(position[:, 0]).min() < 1e-4  # the projected point lies on the wall x = 0


def test_a_recording_without_an_arena_is_told_every_form_of_one():
    rec = from_arrays(np.random.default_rng(0).uniform(0.1, 0.5, (100, 2)), fps=50.0, source_file="/d/a.csv")
    with pytest.raises(ValueError, match=r"a\.csv.*no arena.*preset.*YAML"):
        open_field_params_for(rec)


@pytest.mark.parametrize("name", ["plus_maze", "radial_arm_8", "hafting_barrier"])
def test_the_fit_says_what_arena_it_fitted_in(name):
    env = ne.OpenField()
    mapping = resolve_arena(name)
    text = _arena_text(env.with_arena(env.default_params, name))
    assert f"(the {name} preset)" in text
    boundary = np.asarray(mapping["boundary"])
    if "shape" in mapping:  # a box with a barrier: its size and its wall
        assert text.startswith(f"{mapping['width']:g} x {mapping['height']:g} m box")
    else:
        w, h = np.ptp(boundary, axis=0)
        assert text.startswith(f"polygon arena (the {name} preset), {w:.3g} x {h:.3g} m bounding box")
        assert f"{len(boundary)} vertices" in text
    for key in ("holes", "walls", "regions"):
        n = len(mapping[key])
        assert (f"{n} {key if n > 1 else key[:-1]}" in text) == (n > 0)
    own = _arena_text(env.with_arena(env.default_params, L_SHAPE))
    assert own == "polygon arena, 0.6 x 0.6 m bounding box, 6 vertices"
