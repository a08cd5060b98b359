"""Every spatial environment in any arena: WaterMaze in polygon pools, SpatialPatchForaging in polygons,
SpatialTMaze from a T-shaped arena, OdorPlume's box; layouts validated, rollouts jit and vmap, and (property
tests under extreme actions) the animal never leaves the floor nor crosses a wall."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from helpers import any_actions, assert_vmap_equals_single_steps, jit_scan_steps, run_with_info
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.envs import arena as A
from neuroethology.envs.patch_mvt import mvt_optimum
from neuroethology.envs.policies import PlatformOracle, RandomSwimmer

WATER_MAZE = "neuroethology/WaterMaze-v0"
PATCHES = "neuroethology/SpatialPatchForaging-v0"
SI_ACTIONS = "ignore:.*symmetric and normalized space.*"

SQUARE_POOL = {"boundary": [[0, 0], [1.6, 0], [1.6, 1.6], [0, 1.6]]}
# A square pool with an island (a hole) south-west of the centre and a thin baffle in the north-west.
ISLAND_POOL = {
    "boundary": [[0, 0], [1.6, 0], [1.6, 1.6], [0, 1.6]],
    "holes": [[[0.3, 0.3], [0.55, 0.3], [0.55, 0.55], [0.3, 0.55]]],
    "walls": [[[0.2, 1.2], [0.6, 1.2]]],
}


def crosses_a_segment(p, q, arena):
    """Whether the step p -> q goes more than 1 um past a segment's line on a side, crossing it (float64)."""
    rings = [arena["boundary"], *arena["holes"]]
    segs = [(r[i], r[(i + 1) % len(r)]) for r in rings for i in range(len(r))] + [
        tuple(w) for w in arena["walls"]
    ]
    for a, b in np.asarray(segs, float):
        e = b - a
        n = np.array([-e[1], e[0]]) / np.hypot(*e)
        sp, sq = (p - a) @ n, (q - a) @ n
        if sp * sq < 0 and max(abs(sp), abs(sq)) > 1e-6:
            u = (p + sp / (sp - sq) * (q - p) - a) @ e / (e @ e)
            if 0 <= u <= 1:
                return True
    return False


# ---------------------------------------------------------------------------------------------------------
# WaterMaze
# ---------------------------------------------------------------------------------------------------------


def test_the_water_maze_preset_as_a_polygon_is_the_circular_pool():
    """The preset steps as the circle of its radius (tests/unit/envs/test_arena.py); its 128-gon boundary given
    as a polygon pool (no shape) is that pool within a millimetre."""
    env, circle = ne.make(WATER_MAZE)
    preset = A.resolve_arena("water_maze")
    _, poly = ne.make(WATER_MAZE, arena={"boundary": preset["boundary"], "regions": preset["regions"]})
    assert poly.arena_shape == "polygon" and circle.arena_shape == "circle"
    np.testing.assert_allclose(np.asarray(poly.centre), [1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(
        np.asarray(poly.platform_position), np.asarray(circle.platform_position), atol=3e-4
    )
    for k in range(4):  # the cardinal releases lie on the 128-gon's vertices: the circle's own
        got, want = env.start_pose(jnp.int32(k), poly), env.start_pose(jnp.int32(k), circle)
        np.testing.assert_allclose(np.asarray(got[0]), np.asarray(want[0]), atol=1e-6)
        assert float(got[1]) == float(want[1])
    # Rays from points over the inner 90% of the pool: within a millimetre of the circle's (the 128-gon lies
    # up to 0.3 mm inside the circle; a ray grazing the wall from near it differs more).
    u = np.random.default_rng(0).random((200, 3))
    pts = 1.0 + 0.9 * np.sqrt(u[:, :1]) * np.c_[np.cos(2 * np.pi * u[:, 1]), np.sin(2 * np.pi * u[:, 1])]
    heads = jnp.asarray(2 * np.pi * u[:, 2] - np.pi, jnp.float32)
    pts = jnp.asarray(pts, jnp.float32)
    a = jax.vmap(lambda x, h: env.ray_distances(x, h, circle))(pts, heads)
    b = jax.vmap(lambda x, h: env.ray_distances(x, h, poly))(pts, heads)
    assert float(jnp.max(jnp.abs(a - b))) < 1e-3
    assert set(ne.arena_of(poly)["regions"]) == {
        f"{d} quadrant" for d in ("north-east", "north-west", "south-west", "south-east")
    }
    assert "pool_radius" not in env.recording_attrs(poly) and "pool_radius" in env.recording_attrs(circle)
    assert int(env.quadrant(poly.platform_position, poly)) == 0


def test_a_square_pool_oracle_swims_straight_to_the_platform():
    env, p = ne.make(WATER_MAZE, arena=SQUARE_POOL, platform_angle=2.0, platform_offset=0.6)
    # The platform: 0.6 of the way from the centre to the wall along 2 rad (the ray meets the north wall).
    reach = 0.8 / np.sin(2.0)
    np.testing.assert_allclose(
        np.asarray(p.platform_position), 0.8 + 0.6 * reach * np.array([np.cos(2.0), np.sin(2.0)]), atol=1e-6
    )
    infos, rewards, term, _ = run_with_info(env, PlatformOracle(), p, jax.random.key(3), 8, 120)
    infos = jax.tree.map(np.asarray, infos)
    for i in range(8):
        end = int(np.flatnonzero(term[i])[0])
        start = np.asarray(env.start_pose(jnp.int32(infos["start"][i, 0]), p)[0], float)
        straight = (np.hypot(*(start - np.asarray(p.platform_position))) - p.platform_radius) / p.max_speed
        # From the release facing the wall: a turn of at most pi at 8 pi rad/s takes one step.
        assert straight - 1e-6 <= (end + 1) * p.dt <= straight + 2 * p.dt + 1e-6, (i, end, straight)
        assert rewards[i, end] == p.platform_reward


def test_polygon_pool_layouts_are_validated():
    with pytest.raises(ValueError, match="pool's centre"):  # an L: the bounding box's centre is dry land
        ne.make(WATER_MAZE, arena={"boundary": [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]})
    rectangle = {"boundary": [[0, 0], [3, 0], [3, 1], [0, 1]]}
    _, p = ne.make(WATER_MAZE, arena=rectangle, platform_angle=0.0, platform_offset=0.92)  # 0.12 m clear
    assert float(p.platform_position[0]) == pytest.approx(1.5 + 0.92 * 1.5, abs=1e-6)
    with pytest.raises(ValueError, match=r"at angle .* deg .* 0\.0400 m from a wall.*movable"):  # long walls
        ne.make(
            WATER_MAZE, arena=rectangle, platform_angle=0.0, platform_offset=0.92, platform_mode="movable"
        )
    with pytest.raises(ValueError, match="platform_offset must be in"):
        ne.make(WATER_MAZE, arena=SQUARE_POOL, platform_offset=1.2)
    with pytest.raises(ValueError, match="pool is a circle or a polygon"):
        ne.make(WATER_MAZE, arena="box")
    _, small = ne.make(WATER_MAZE, arena={"shape": "circle", "radius": 0.8})  # a bare circle: analytic
    assert small.arena_shape == "circle" and small.pool_radius == 0.8 and small.arena == ""


@pytest.mark.filterwarnings(SI_ACTIONS)
def test_a_polygon_pool_passes_check_env_renders_and_vmaps():
    env = gymnasium.make(
        WATER_MAZE, arena=ISLAND_POOL, render_mode="rgb_array", observe_image=True, visible_platform=True
    )
    check_env(env.unwrapped)
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.std() > 0
    e, p = ne.make(WATER_MAZE, arena=ISLAND_POOL, trials_per_episode=2)
    with pytest.raises(ValueError, match="116.5 deg"):  # a movable platform could land on the baffle's end
        ne.make(WATER_MAZE, arena=ISLAND_POOL, platform_mode="movable")
    assert_vmap_equals_single_steps(e, p, step_seed=7)


_POOL_ENV, _POOL_PARAMS = ne.make(
    WATER_MAZE, arena=ISLAND_POOL, platform_mode="probe", trial_duration=3.0, max_speed=3.0
)
_run_pool = jit_scan_steps(  # from the pose the stroke starts at (a new trial's release) to where it ends
    _POOL_ENV,
    _POOL_PARAMS,
    lambda s, obs, new, r, te, tr: (_POOL_ENV.acting_pose(s, _POOL_PARAMS)[0], new.position, obs, te | tr),
)


@settings(max_examples=30, deadline=None)
@given(actions=any_actions(40), seed=st.integers(0, 2**16))
def test_any_action_keeps_the_swimmer_in_a_polygon_pool(actions, seed):
    """A fast swimmer (3 m/s: 30 cm a stroke) under any actions: in the water, never on the island, never
    through the baffle, observations finite and in the space."""
    before, after, obs, reset = _run_pool(jax.random.key(seed), jnp.asarray(actions, jnp.float32))
    before, after, obs, reset = (np.asarray(x) for x in (before, after, obs, reset))
    before, after = before.astype(float), after.astype(float)
    assert np.all(np.isfinite(after)) and np.all(np.isfinite(obs))
    assert bool(jnp.all(_POOL_ENV.inside(jnp.asarray(after, jnp.float32), _POOL_PARAMS)))
    arena = A.resolve_arena(ISLAND_POOL)
    swum = zip(before[~reset], after[~reset], strict=True)  # an episode's end resets the pose: no stroke
    assert not any(crosses_a_segment(a, b, arena) for a, b in swum)
    space = _POOL_ENV.observation_space(_POOL_PARAMS)
    assert all(space.contains(o.astype(np.float32)) for o in obs)


def test_random_swimmer_in_the_square_pool_shares_the_quadrants():
    """The square pool is symmetric under quarter turns about its centre: a probe trial's quadrant occupancy
    is a quarter on average (256 trials of 60 s; four standard errors)."""
    env, p = ne.make(WATER_MAZE, arena=SQUARE_POOL, platform_mode="probe")
    infos, *_ = run_with_info(env, RandomSwimmer(), p, jax.random.key(5), 256, int(p.max_steps))
    quadrant = np.asarray(infos["quadrant"])
    occupancy = np.stack([(quadrant == q).mean(axis=1) for q in range(4)], axis=1)
    se = occupancy.std(axis=0, ddof=1) / np.sqrt(len(occupancy))
    assert np.all(np.abs(occupancy.mean(axis=0) - 0.25) < 4 * se), (occupancy.mean(axis=0), se)


# ---------------------------------------------------------------------------------------------------------
# SpatialPatchForaging
# ---------------------------------------------------------------------------------------------------------

RADIAL = dict(
    arena="radial_arm_8", n_patches=8, patch_ring_phase=0.0, patch_radius=0.04, patch_ring_radius=0.6
)


def test_patches_sit_in_the_arms_of_a_radial_maze_and_the_mvt_refuses_blocked_walks():
    env, p = ne.make(PATCHES, **RADIAL)
    centres = np.asarray(p.patch_centres, float)
    hub = np.asarray(A.arena_geometry("radial_arm_8").upper + A.arena_geometry("radial_arm_8").lower) / 2
    angles = np.degrees(np.arctan2(*(centres - hub)[:, ::-1].T)) % 360
    np.testing.assert_allclose(angles, np.arange(8) * 45.0, atol=1e-4)  # one patch in each arm
    with pytest.raises(
        ValueError, match="these walks cross a wall of this arena: patch 0 to 1, patch 1 to 2"
    ):
        mvt_optimum(p)
    with pytest.raises(ValueError, match="inside the arena"):  # the default ring lies between the arms
        ne.make(PATCHES, arena="radial_arm_8")
    with pytest.raises(ValueError, match="patch 0 at .* from a wall"):
        ne.make(PATCHES, **{**RADIAL, "patch_radius": 0.06})  # wider than the 10 cm arms


def test_patches_in_a_square_polygon_are_the_box_task():
    env, box = ne.make(PATCHES)
    _, square = ne.make(PATCHES, arena={"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]})
    np.testing.assert_array_equal(np.asarray(square.patch_centres), np.asarray(box.patch_centres))
    assert mvt_optimum(square) == mvt_optimum(box)
    _, state = env.reset(jax.random.key(0), box)
    np.testing.assert_allclose(
        np.asarray(env.observation(state, None, square)),
        np.asarray(env.observation(state, None, box)),
        atol=1e-5,
    )
    _, barrier = ne.make(PATCHES, arena="hafting_barrier")  # patches clear of the barrier ...
    with pytest.raises(
        ValueError, match="these walks cross a wall of this arena: patch 1 to 2, patch 3 to 0;"
    ):  # walks not
        mvt_optimum(barrier)


@pytest.mark.filterwarnings(SI_ACTIONS)
def test_patches_in_a_radial_maze_pass_check_env_vmap_and_get_harvested():
    env = gymnasium.make(PATCHES, render_mode="rgb_array", observe_image=True, **RADIAL)
    check_env(env.unwrapped)
    env.reset(seed=0)
    assert env.render().std() > 0
    e, p = ne.make(PATCHES, **RADIAL)
    assert_vmap_equals_single_steps(e, p, step_seed=11, reward_atol=1e-6)
    # Walk out along each arm from the hub (4 cm steps: a patch is 8 cm across): its patch is harvested.
    p = p.replace(max_speed=0.4)
    hub = jnp.asarray((A.arena_geometry("radial_arm_8").upper + A.arena_geometry("radial_arm_8").lower) / 2)
    _, state = e.reset(jax.random.key(0), p)
    for k in range(8):
        s = state.replace(position=hub, heading=jnp.float32(np.radians(45.0 * k)), speed=jnp.float32(0))
        for _ in range(40):
            _, s, *_ = e.step(jax.random.key(k), s, jnp.array([5.0, 0.0]), p)
            if int(s.patch) >= 0:
                break
        assert int(s.patch) == k and float(s.levels[k]) < 1  # in patch k, harvesting it


_PATCH_ENV, _PATCH_PARAMS = ne.make(PATCHES, **RADIAL, max_speed=5.0, max_acceleration=200.0, dt=0.05)
_run_patches = jit_scan_steps(
    _PATCH_ENV, _PATCH_PARAMS, lambda s, obs, new, r, te, tr: (s.position, new.position, te | tr)
)


@settings(max_examples=30, deadline=None)
@given(actions=any_actions(40), seed=st.integers(0, 2**16))
def test_any_action_keeps_the_forager_in_the_radial_maze(actions, seed):
    """A fast forager (up to 25 cm a step) under any actions: on the floor, never through a wall."""
    before, after, reset = (
        np.asarray(x) for x in _run_patches(jax.random.key(seed), jnp.asarray(actions, jnp.float32))
    )
    assert np.all(np.isfinite(after))
    assert bool(jnp.all(_PATCH_ENV.inside(jnp.asarray(after, jnp.float32), _PATCH_PARAMS)))
    arena = A.resolve_arena("radial_arm_8")
    walked = zip(before[~reset].astype(float), after[~reset].astype(float), strict=True)
    assert not any(crosses_a_segment(a, b, arena) for a, b in walked)


# ---------------------------------------------------------------------------------------------------------
# SpatialTMaze, OdorPlume, and the three forms of arena=
# ---------------------------------------------------------------------------------------------------------


def test_the_spatial_t_maze_reads_its_size_from_a_t_and_refuses_other_shapes():
    t_maze = "neuroethology/SpatialTMaze-v0"
    env, default = ne.make(t_maze)
    assert ne.make(t_maze, arena="t_maze")[1] == default
    tall = {
        "boundary": [[0.4, 0], [0.5, 0], [0.5, 0.6], [0.9, 0.6], [0.9, 0.7], [0, 0.7], [0, 0.6], [0.4, 0.6]]
    }
    _, p = ne.make(t_maze, arena=tall)
    assert (p.stem_length, p.arm_length, p.corridor_width) == (0.6, 0.4, 0.1)
    assert env.arena(p) is None  # a maze corridor: Recordings store no arena, as before
    shifted = {"boundary": [[x, y + 0.1] for x, y in tall["boundary"]]}
    for bad in ("plus_maze", shifted, {**tall, "walls": [[[0.45, 0.1], [0.45, 0.2]]]}):
        with pytest.raises(ValueError, match="expected a T laid out as SpatialTMaze's"):
            ne.make(t_maze, arena=bad)


def test_the_odour_plume_takes_a_box_and_refuses_walls_it_cannot_model():
    env, p = ne.make("neuroethology/OdorPlume-v0", arena={"shape": "box", "width": 14.0, "height": 8.0})
    assert (p.width, p.height) == (14.0, 8.0) and env.arena(p) == {
        "shape": "box",
        "width": 14.0,
        "height": 8.0,
    }
    for bad in ("plus_maze", "hafting_barrier", {"shape": "circle", "radius": 5.0}):
        with pytest.raises(ValueError, match="wind tunnel is a box"):
            ne.make("neuroethology/OdorPlume-v0", arena=bad)


@pytest.mark.parametrize(
    "env_id, arena",
    [
        ("neuroethology/OpenField-v0", "y_maze"),
        (WATER_MAZE, ISLAND_POOL),
        (PATCHES, {"boundary": [[0, 0], [1.2, 0], [1.2, 1], [0, 1]], "walls": [[[0.1, 0.5], [0.2, 0.5]]]}),
    ],
)
def test_arena_as_preset_file_or_mapping_round_trips(tmp_path, env_id, arena):
    mapping = A.resolve_arena(arena)
    path = tmp_path / "arena.yaml"
    path.write_text(yaml.safe_dump(mapping))
    env, from_file = ne.make(env_id, arena=str(path))
    _, from_mapping = ne.make(env_id, arena=mapping)
    assert from_file == from_mapping and from_file.arena_shape == "polygon"
    assert ne.arena_of(from_file) == mapping
    assert env.with_arena(env.default_params, ne.arena_of(from_file)) == from_file
