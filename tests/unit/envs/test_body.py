"""The shared animal body: its kinematics against a plain NumPy version, any action's handling, and its use
by every spatial environment."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.envs import body
from neuroethology.envs import geometry as geo
from neuroethology.envs.open_field import OpenFieldParams
from neuroethology.envs.spatial_t_maze import SpatialTMazeParams, project_into_maze, walkable
from neuroethology.envs.t_maze_task import OUTCOME

# ---------------------------------------------------------------------------------------------------------
# A plain NumPy body, written from the module docstring (float64, no shared code)
# ---------------------------------------------------------------------------------------------------------


def np_clip_action(action, p) -> np.ndarray:
    high = np.array([float(p.max_acceleration), float(p.max_angular_velocity)])
    a = np.nan_to_num(np.asarray(action, np.float64), nan=0.0, posinf=1e30, neginf=-1e30)
    return np.clip(a, -high, high)


def np_project(x: np.ndarray, p) -> np.ndarray:
    """The nearest point of a box ``[0, width] x [0, height]``, or of a circle of radius R centred at (R, R)
    shrunk by a 1e-6 m skin."""
    if p.arena_shape != "circle":
        return np.minimum(np.maximum(x, 0.0), [float(p.width), float(p.height)])
    centre, limit = float(p.radius), float(p.radius) - 1e-6
    offset = x - centre
    return centre + offset * min(1.0, limit / max(math.hypot(*offset), 1e-300))


def np_move(position, heading, speed, action, p, project) -> dict:
    accel, omega = np_clip_action(action, p)
    dt = float(p.dt)
    intended = min(max(speed + accel * dt, 0.0), float(p.max_speed))
    heading = (heading + omega * dt + math.pi) % (2 * math.pi) - math.pi
    new = project(position + intended * dt * np.array([math.cos(heading), math.sin(heading)]), p)
    achieved = min(math.hypot(*(new - position)) / dt, intended)
    return {"position": new, "heading": heading, "speed": achieved, "angular_velocity": omega}


def extreme_actions(p, n: int, seed: int) -> np.ndarray:
    """Actions beyond the bounds and into the walls, with NaN and +-inf mixed in."""
    rng = np.random.default_rng(seed)
    high = np.array([float(p.max_acceleration), float(p.max_angular_velocity)])
    acts = rng.uniform(-2.0, 2.0, (n, 2)) * high
    acts[rng.random(n) < 0.4, 0] = 5 * high[0]
    acts[rng.random(n) < 0.05] = np.nan
    acts[rng.random(n) < 0.05, 1] = np.inf
    acts[rng.random(n) < 0.05, 0] = -np.inf
    return acts


@pytest.mark.parametrize(
    "p",
    [
        OpenFieldParams(),
        OpenFieldParams(arena_shape="circle", radius=0.4, dt=0.05, max_speed=0.5),
        OpenFieldParams(width=0.3, height=2.0, max_speed=0.1, max_acceleration=2.0, max_angular_velocity=1.0),
    ],
    ids=["box", "circle", "narrow-slow"],
)
def test_move_matches_numpy_step_by_step(p):
    step = jax.jit(lambda pos, h, v, a: body.move(pos, h, v, a, p, geo.project_into_box_or_circle))
    pos, heading, speed = jnp.array([0.2, 0.3], jnp.float32), jnp.float32(0.5), jnp.float32(0.0)
    at_wall = capped = 0
    for t, action in enumerate(extreme_actions(p, 400, seed=3)):
        expected = np_move(np.asarray(pos, float), float(heading), float(speed), action, p, np_project)
        got = step(pos, heading, speed, jnp.asarray(action, jnp.float32))
        np.testing.assert_allclose(np.asarray(got.position), expected["position"], atol=2e-6, err_msg=f"{t}")
        turn = (float(got.heading) - expected["heading"] + math.pi) % (2 * math.pi) - math.pi
        assert abs(turn) < 2e-6, f"step {t}: heading {float(got.heading)} vs {expected['heading']}"
        np.testing.assert_allclose(float(got.speed), expected["speed"], rtol=1e-5, atol=2e-5, err_msg=f"{t}")
        assert float(got.angular_velocity) == pytest.approx(expected["angular_velocity"], rel=1e-6)
        assert 0.0 <= float(got.speed) <= np.float32(p.max_speed)
        assert float(geo.inside_box_or_circle(got.position, p))
        at_wall += int(float(geo.distance_to_wall_box_or_circle(got.position, p)) < 1e-5)
        capped += int(float(got.speed) == np.float32(p.max_speed))
        pos, heading, speed = got.position, got.heading, got.speed
    assert at_wall >= 5, "the walk never reached a wall"
    assert capped >= 5, "the walk never ran at max_speed"


def test_achieved_speed_never_exceeds_the_intended_one():
    """The min() guard: with a projection that lengthens steps (a non-convex floor can) and with float
    rounding at full speed, the achieved speed is capped at the intended one."""
    p = OpenFieldParams()
    teleport = lambda x, params: x + 0.5  # noqa: E731  (moves every step 0.7 m further)
    moved = body.move(jnp.array([0.1, 0.1]), jnp.float32(0.0), jnp.float32(0.5), jnp.zeros(2), p, teleport)
    assert float(moved.speed) == pytest.approx(0.5)
    # Full speed in every direction: |(x + s) - x| / dt exceeds |s| / dt by an ulp for some headings.
    headings = jnp.linspace(-np.pi, np.pi, 721, dtype=jnp.float32)
    pos = jnp.array([0.5, 0.5], jnp.float32)
    speeds = jax.vmap(
        lambda h: body.move(pos, h, jnp.float32(1.0), jnp.zeros(2), p, geo.project_into_box_or_circle).speed
    )(headings)
    assert float(jnp.max(speeds)) <= float(p.max_speed)
    assert float(jnp.min(speeds)) > float(p.max_speed) - 1e-5


def test_move_walks_the_t_maze_with_its_projection():
    p = SpatialTMazeParams()
    pos, heading, speed = p.start_position, jnp.float32(0.5 * np.pi), jnp.float32(0.0)

    def np_maze(x, params):
        return np.asarray(project_into_maze(jnp.asarray(x, jnp.float32), params), float)

    for t, action in enumerate(extreme_actions(p, 100, seed=5)):
        expected = np_move(np.asarray(pos, float), float(heading), float(speed), action, p, np_maze)
        got = body.move(pos, heading, speed, jnp.asarray(action, jnp.float32), p, project_into_maze)
        np.testing.assert_allclose(np.asarray(got.position), expected["position"], atol=2e-6, err_msg=f"{t}")
        np.testing.assert_allclose(float(got.speed), expected["speed"], rtol=1e-5, atol=2e-5, err_msg=f"{t}")
        assert bool(walkable(got.position, p))
        pos, heading, speed = got.position, got.heading, got.speed


def test_view_directions_are_the_sector_centres():
    p = OpenFieldParams(n_rays=4, field_of_view=np.pi)
    d = np.asarray(body.view_directions(jnp.float32(0.3), p))
    angles = 0.3 + np.pi * (np.arange(4) + 0.5) / 4 - np.pi / 2
    np.testing.assert_allclose(d, np.stack([np.cos(angles), np.sin(angles)], -1), atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# Any action
# ---------------------------------------------------------------------------------------------------------


def test_clip_action_of_extreme_and_missing_values():
    p = body.RAT
    high = np.array([p.max_acceleration, p.max_angular_velocity], np.float32)
    cases = {
        (np.nan, np.nan): (0.0, 0.0),
        (np.inf, -np.inf): (high[0], -high[1]),
        (-np.inf, np.inf): (-high[0], high[1]),
        (1e38, -1e38): (high[0], -high[1]),
        (np.nan, 3.0): (0.0, 3.0),
        (-2.5, 1.25): (-2.5, 1.25),
    }
    for action, expected in cases.items():
        got = body.clip_action(jnp.asarray(action, jnp.float32), p)
        assert got.dtype == jnp.float32 and got.shape == (2,)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected, np.float32), err_msg=str(action))
    # Lists, float64 and integer actions are accepted and come back as float32.
    assert body.clip_action([100, -1], p).dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(body.clip_action(np.array([100.0, -1.0]), p)), [high[0], -1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=2, max_size=2))
def test_any_action_is_finite_inside_the_box_and_matches_numpy(action):
    p = OpenFieldParams(max_acceleration=3.0, max_angular_velocity=2.0)
    got = np.asarray(body.clip_action(jnp.asarray(action, jnp.float32), p))
    assert np.all(np.isfinite(got)) and np.all(np.abs(got) <= [3.0, 2.0])
    expected = np_clip_action(np.asarray(action, np.float32), p)
    tiny = np.finfo(np.float32).tiny  # XLA on CPU flushes subnormal floats to zero
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=tiny)
    start = jnp.array([0.5, 0.5]), jnp.float32(0.0), jnp.float32(0.2)
    moved = body.move(*start, action, p, geo.project_into_box_or_circle)
    assert all(np.all(np.isfinite(np.asarray(x))) for x in moved)


# ---------------------------------------------------------------------------------------------------------
# Every spatial environment uses the body
# ---------------------------------------------------------------------------------------------------------

FIELDS = ("max_speed", "max_acceleration", "max_angular_velocity", "field_of_view")
SPATIAL = {
    "neuroethology/OpenField-v0": ({}, body.RAT),
    "neuroethology/SpatialPatchForaging-v0": ({}, body.RAT),
    "neuroethology/SpatialTMaze-v0": ({}, body.RAT),
    "neuroethology/WaterMaze-v0": ({}, body.SWIMMING_RAT),
}


def test_the_body_constants_and_their_sourced_values():
    assert body.RAT == body.Body()
    assert (body.RAT.max_speed, body.RAT.max_acceleration) == (1.0, 10.0)
    assert body.RAT.max_angular_velocity == 8 * np.pi and body.RAT.field_of_view == 1.5 * np.pi
    assert body.SWIMMING_RAT == body.RAT.replace(max_speed=0.3)  # only the swim speed differs
    with pytest.raises(AttributeError):  # frozen: a default cannot drift at run time
        body.RAT.max_speed = 2.0


@pytest.mark.parametrize("env_id", list(SPATIAL))
def test_spatial_env_defaults_come_from_the_body(env_id):
    overrides, source = SPATIAL[env_id]
    env, p = ne.make(env_id, **overrides)
    for name in FIELDS:
        assert getattr(p, name) == getattr(source, name), name
        assert type(p).__dataclass_fields__[name].default == getattr(source, name), name
    high = np.array([source.max_acceleration, source.max_angular_velocity], np.float32)
    np.testing.assert_array_equal(env.action_space(p).high, high)


@pytest.mark.parametrize("env_id", list(SPATIAL))
def test_spatial_env_moves_exactly_as_the_body(env_id):
    """One transition's pose is bit for bit the body's step (with the env's own projection) from the pose the
    action acts on (WaterMaze: the next release after a trial ends; TMaze: until the outcome freezes it)."""
    overrides, _ = SPATIAL[env_id]
    env, p = ne.make(env_id, **overrides, max_acceleration=4.0, max_angular_velocity=3.0)
    project = {
        "neuroethology/OpenField-v0": geo.project_into_box_or_circle,
        "neuroethology/SpatialPatchForaging-v0": geo.project_into_box_or_circle,
        "neuroethology/SpatialTMaze-v0": project_into_maze,
        "neuroethology/WaterMaze-v0": lambda x, q: geo.project_into_circle(
            x, q.pool_radius, skin=q.body_radius
        ),
    }[env_id]
    state = env.initial(jax.random.key(4), p)
    transition = jax.jit(lambda s, a: env.transition(s, a, jax.random.key(0), p))
    acting = getattr(env, "acting_pose", lambda s, q: (s.position, s.heading, s.speed))
    reference = jax.jit(lambda s, a: body.move(*acting(s, p), a, p, project))
    steps = 0
    for action in extreme_actions(p, 30, seed=1):
        if getattr(state, "phase", None) == OUTCOME:
            break
        action = jnp.asarray(action, jnp.float32)
        expected, state = reference(state, action), transition(state, action)
        clipped = env.clip_action(action, p)
        np.testing.assert_array_equal(np.asarray(clipped), np.asarray(body.clip_action(action, p)))
        for name in body.Move._fields:
            got, want = np.asarray(getattr(state, name)), np.asarray(getattr(expected, name))
            np.testing.assert_array_equal(got, want, err_msg=name)
        steps += 1
    assert steps >= 5
