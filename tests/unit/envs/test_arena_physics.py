"""Physics in polygon arenas: the collision sweep step by step against a plain NumPy version, property tests
on random polygons with holes and walls under extreme actions, and OpenField in the plus maze."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.envs import arena as A
from neuroethology.envs import body
from neuroethology.envs.geometry import SKIN
from neuroethology.envs.open_field import OpenFieldParams

NEAR = 1e-6  # m, as envs.arena_geometry: a body this close to a segment's line touches it
END_SLACK = 0.5 * SKIN  # m, as envs.arena_geometry: a segment is hit this far beyond an end that is not a
# reflex vertex of the floor (a convex or straight corner, or a wall's end), and NEAR / 2 beyond a reflex one

# ---------------------------------------------------------------------------------------------------------
# A plain NumPy sweep, written from ArenaGeometry.sweep's docstring (float64, loops, no shared code)
# ---------------------------------------------------------------------------------------------------------


def np_segments(arena):
    """Boundary edges, hole edges, then walls (walls along an edge may repeat it: ties go to the edge)."""
    segs = []
    for ring in [arena["boundary"], *arena["holes"]]:
        for i in range(len(ring)):
            segs.append((np.array(ring[i], float), np.array(ring[(i + 1) % len(ring)], float)))
    return segs + [(np.array(a, float), np.array(b, float)) for a, b in arena["walls"]]


def np_inside(p, arena):
    """Even-odd over every polygon edge."""
    count = 0
    for ring in [arena["boundary"], *arena["holes"]]:
        for i in range(len(ring)):
            (ax, ay), (bx, by) = ring[i], ring[(i + 1) % len(ring)]
            if (ay > p[1]) != (by > p[1]) and p[0] < ax + (p[1] - ay) * (bx - ax) / (by - ay):
                count += 1
    return count % 2 == 1


def np_normal(a, b):
    e = b - a
    return np.array([-e[1], e[0]]) / np.hypot(*e)


def np_crosses(p, q, segs, strict_only=False, margin=0.0):
    """Whether the step p -> q crosses (or, unless ``strict_only``, ends on) a segment; with ``margin``, only
    a crossing that goes more than ``margin`` past the segment's line on one side counts."""
    for a, b in segs:
        n = np_normal(a, b)
        sp, sq = (p - a) @ n, (q - a) @ n
        if max(abs(sp), abs(sq)) <= margin:
            continue
        if sp * sq < 0 or (not strict_only and sq == 0 and sp != 0):
            t = sp / (sp - sq)
            u = (p + t * (q - p) - a) @ (b - a) / ((b - a) @ (b - a))
            if 0 <= u <= 1:
                return True
    return False


def cross2(v, w):
    return v[0] * w[1] - v[1] * w[0]


def np_contact_segments(arena):
    """(start, end, is_edge, slack at start, slack at end (m)) of every edge (floor on its left), then every
    wall. An end has little slack where the floor turns right there (a reflex vertex: its angle over 180 deg)."""
    out = []
    for ring in [arena["boundary"], *arena["holes"]]:
        p = [np.array(v, float) for v in ring]
        n = len(p)
        for i in range(n):
            before, a, b, after = p[i - 1], p[i], p[(i + 1) % n], p[(i + 2) % n]
            turn_a = cross2(a - before, b - a)  # < 0: the boundary turns right at a (reflex)
            turn_b = cross2(b - a, after - b)
            reflex_slack = 0.5 * NEAR
            out.append((a, b, True, *(reflex_slack if turn < 0 else END_SLACK for turn in (turn_a, turn_b))))
    return out + [
        (np.array(a, float), np.array(b, float), False, END_SLACK, END_SLACK) for a, b in arena["walls"]
    ]


def np_sweep(old, new, arena, safe, iterations=3):
    """The intended physics, plainly: per contact, the first segment (by when the body comes within SKIN of
    its line) that the step heads at, from the side the body is on (an edge: only from its floor side; within
    NEAR of a wall's line: either way), ending within SKIN / 2 of its line or beyond, crossing the line
    (extended) within the segment's span plus slack; stop SKIN off, slide the rest. The end if the straight
    step to it crosses nothing, else the first contact, else refused."""
    segs = np_segments(arena)
    contact_segs = np_contact_segments(arena)
    old = np.asarray(old, float)
    cur, target, first = old, np.asarray(new, float), None
    for _ in range(iterations):
        d = target - cur
        best = None
        for a, b, is_edge, slack_a, slack_b in contact_segs:
            n, length = np_normal(a, b), np.hypot(*(b - a))
            side, rate = (cur - a) @ n, d @ n
            touching = abs(side) < NEAR
            if is_edge:
                toward = rate < 0 and side > -NEAR
            else:
                toward = side * rate < 0 or (touching and rate != 0)
            if not toward or abs(side) - abs(rate) >= SKIN / 2:  # not heading there, or ends SKIN / 2 off
                continue
            t_line = abs(side) / abs(rate) if side * rate < 0 else 0.0  # touching, moving across: now
            s = (cur + t_line * d - a) @ (b - a) / length  # metres along the segment
            if not -slack_a <= s <= length + slack_b:
                continue
            t = max(abs(side) - SKIN, 0.0) / abs(rate)
            if best is None or t < best[0]:
                best = (t, (b - a) / length)
        if best is None:
            cur = target
        else:
            t_stop, tangent = min(best[0], 1.0), best[1]
            stop = cur + t_stop * d
            cur, target = stop, stop + (1 - t_stop) * (d @ tangent) * tangent
        first = cur if first is None else first
    for end in (cur, first):  # the end, else the first contact (a straight step from old)
        if np.all(np.isfinite(end)) and np_inside(end, arena) and not np_crosses(old, end, segs):
            return end
    return old if np_inside(old, arena) else np.asarray(safe, float)


WALK_ARENAS = {
    "square": {"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]},
    "L": {"boundary": [[0, 0], [1, 0], [1, 0.6], [0.6, 0.6], [0.6, 1], [0, 1]]},
    "ring+wall": {
        "boundary": [[0, 0], [1, 0], [1, 1], [0, 1]],
        "holes": [[[0.3, 0.4], [0.7, 0.4], [0.7, 0.6], [0.3, 0.6]]],
        "walls": [[[0.1, 0.8], [0.9, 0.75]]],
    },
    "plus_maze": "plus_maze",
    "hafting_barrier": "hafting_barrier",
    "y_maze": "y_maze",
}


@pytest.mark.parametrize("name", list(WALK_ARENAS))
def test_sweep_matches_numpy_step_by_step(name):
    arena = A.resolve_arena(WALK_ARENAS[name])
    g = A.arena_geometry(arena)
    sweep = jax.jit(g.sweep)
    rng = np.random.default_rng(len(name))
    size = float(np.ptp(np.asarray(arena["boundary"]), axis=0).max())
    pos = np.asarray(g.safe_point)
    contacts, worst = 0, 0.0
    for t in range(400):
        # Steps up to a third of the arena, some far beyond it, in random directions.
        length = size * (rng.uniform(0, 0.35) if rng.random() > 0.1 else rng.uniform(1, 50))
        angle = rng.uniform(-np.pi, np.pi)
        new = (pos + length * np.array([np.cos(angle), np.sin(angle)])).astype(np.float32)
        got = np.asarray(sweep(jnp.asarray(pos), jnp.asarray(new)))
        want = np_sweep(pos.astype(float), new.astype(float), arena, g.safe_point)
        worst = max(worst, float(np.max(np.abs(got - want))))
        np.testing.assert_allclose(got, want, atol=2e-5, err_msg=f"{name}, step {t}")
        contacts += int(np.hypot(*(got - new)) > 1e-6)
        pos = got
    print(f"\n{name}: 400 steps, {contacts} wall contacts, max |JAX - NumPy| = {worst:.2e} m")
    assert contacts >= 100, "the walk never exercised the walls"


def test_a_step_into_a_wall_slides_along_it_and_a_thin_wall_stops_both_ways():
    g = A.arena_geometry("hafting_barrier")  # the box, and a barrier from (0.25, 0.5) to (0.75, 0.5)
    end = np.asarray(g.sweep(jnp.array([0.5, 0.95]), jnp.array([0.6, 1.05])))  # 45 degrees into the top wall
    np.testing.assert_allclose(end, [0.6, 1.0 - SKIN], atol=1e-6)
    below = np.asarray(g.sweep(jnp.array([0.4, 0.45]), jnp.array([0.5, 0.6])))  # up into the barrier
    np.testing.assert_allclose(below, [0.5, 0.5 - SKIN], atol=1e-6)
    above = np.asarray(g.sweep(jnp.array([0.4, 0.55]), jnp.array([0.45, 0.3])))  # down onto it
    np.testing.assert_allclose(above, [0.45, 0.5 + SKIN], atol=1e-6)
    around = np.asarray(g.sweep(jnp.array([0.1, 0.45]), jnp.array([0.1, 0.6])))  # past its free end
    np.testing.assert_allclose(around, [0.1, 0.6], atol=1e-7)
    for bad in (jnp.array([jnp.nan, 0.5]), jnp.array([jnp.inf, -jnp.inf])):
        np.testing.assert_array_equal(np.asarray(g.sweep(jnp.array([0.2, 0.2]), bad)), np.float32([0.2, 0.2]))


def test_project_puts_recorded_points_on_the_floor():
    g = A.arena_geometry("plus_maze")
    pts = jnp.array([[0.325, -0.02], [0.7, 0.32], [0.1, 0.2], [0.7, 0.25], [0.325, 0.5], [0.325, 0.65]])
    out = np.asarray(jax.vmap(g.project)(pts))
    np.testing.assert_allclose(out[0], [0.325, 2 * SKIN], atol=1e-6)  # below the south arm's end
    np.testing.assert_allclose(out[1], [0.65 - 2 * SKIN, 0.32], atol=1e-6)  # beyond the east arm's end
    np.testing.assert_allclose(out[2], [0.1, 0.3 + 2 * SKIN], atol=1e-6)  # under the west arm
    np.testing.assert_allclose(out[3], [0.65 - 2 * SKIN, 0.3 + 2 * SKIN], atol=1e-6)  # off the arm's corner
    np.testing.assert_array_equal(out[4], np.float32([0.325, 0.5]))  # on the floor: unchanged
    np.testing.assert_allclose(out[5], [0.325, 0.65 - 2 * SKIN], atol=1e-6)  # on the wall: just off it
    assert bool(jnp.all(g.inside(jnp.asarray(out))))


# ---------------------------------------------------------------------------------------------------------
# Property tests: random simple polygons, holes and walls, extreme actions
# ---------------------------------------------------------------------------------------------------------


def star(draw, n_min, n_max, r_lo, r_hi, centre=(1.0, 1.0)):
    """A star-shaped polygon: vertices at sorted random angles (every gap under 0.8 pi) and random radii."""
    n = draw(st.integers(n_min, n_max))
    gaps = np.array(draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n)))
    angles = draw(st.floats(0, 2 * np.pi)) + 2 * np.pi * np.cumsum(gaps) / gaps.sum()
    radii = np.array(draw(st.lists(st.floats(r_lo, r_hi), min_size=n, max_size=n)))
    return (np.array(centre) + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1)).tolist()


@st.composite
def polygon_arenas(draw):
    boundary = star(draw, 4, 12, 0.3, 1.0)
    edges = A.geo.ring_edges(boundary)
    clear = float(
        A.geo.distance_to_segments(np.array([1.0, 1.0]), edges)
    )  # the centre's distance to the wall
    arena = {"boundary": boundary}
    if draw(st.booleans()):
        arena["holes"] = [star(draw, 4, 6, 0.15 * clear, 0.45 * clear)]
    if draw(st.booleans()):  # a radial wall between the hole and the boundary
        phi = draw(st.floats(0, 2 * np.pi))
        r0, r1 = 0.55 * clear, draw(st.floats(0.6, 0.95)) * clear
        arena["walls"] = [[[1 + r * np.cos(phi), 1 + r * np.sin(phi)] for r in (r0, r1)]]
    return arena


wild = st.floats(allow_nan=True, allow_infinity=True, width=32)
# A fast, nimble animal (up to 0.5 m per step) so that short action sequences hit the walls often.
FAST = OpenFieldParams(dt=0.1, max_speed=5.0, max_acceleration=200.0)


@jax.jit
def walk(g, start, actions):
    """Steps of the body (envs.body.move with the sweep) from ``start`` under ``actions (n, 2)``."""

    def step(carry, action):
        pos, heading, speed = carry
        m = body.move(pos, heading, speed, action, FAST, collide=lambda old, new, _: g.sweep(old, new))
        return (m.position, m.heading, m.speed), m.position

    return jax.lax.scan(step, (start, jnp.float32(0.3), jnp.float32(0.0)), actions)[1]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arena=polygon_arenas(),
    u=st.tuples(*[st.floats(0, 0.999)] * 3),
    actions=st.lists(st.tuples(wild, wild), min_size=30, max_size=30),
)
def test_the_animal_never_leaves_the_floor_enters_a_hole_or_crosses_a_wall(arena, u, actions):
    arena = A.resolve_arena(arena)
    g = A.arena_geometry(arena, max_segments=32, max_trapezoids=128)  # one compiled walk for every example
    start = g.pose(jnp.asarray(u, jnp.float32))[0]
    path = np.asarray(walk(g, start, jnp.asarray(actions, jnp.float32)), float)
    assert np.all(np.isfinite(path))
    segs = np_segments(arena)
    seg_array = np.array([[a, b] for a, b in segs])
    prev = np.asarray(start, float)
    for p in path:
        near = A.geo.distance_to_segments(p, seg_array) < 1e-6  # float32 vs float64 edge cases only
        assert np_inside(p, arena) or near, f"left the floor at {p}"
        assert not any(A.geo.inside_ring(p, h) for h in arena["holes"]) or near, f"in a hole at {p}"
        # A crossing is a move past a segment's line by more than float32 noise (1 um) on one side at least.
        assert not np_crosses(prev, p, segs, strict_only=True, margin=1e-6), (
            f"crossed a segment: {prev} -> {p}"
        )
        prev = p


def test_the_sweep_stays_inside_for_far_targets_in_every_direction():
    arena = A.resolve_arena("radial_arm_8")
    g = A.arena_geometry(arena)
    rng = np.random.default_rng(0)
    starts = jax.vmap(g.pose)(jax.random.uniform(jax.random.key(1), (2000, 3)))[0]
    targets = np.asarray(starts) + rng.normal(0, 1, (2000, 2)) * rng.choice([0.05, 1.0, 1e3], (2000, 1))
    ends = jax.vmap(g.sweep)(starts, jnp.asarray(targets, jnp.float32))
    assert bool(jnp.all(g.inside(ends)))
    assert not any(
        np_crosses(np.asarray(a, float), np.asarray(b, float), np_segments(arena), True)
        for a, b in zip(starts[:300], ends[:300], strict=True)
    )


# ---------------------------------------------------------------------------------------------------------
# Start poses and OpenField in the plus maze
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plus_maze", "radial_arm_8"])
def test_start_poses_are_uniform_over_the_floor(name):
    env, p = ne.make("neuroethology/OpenField-v0", arena=name)
    states = jax.vmap(lambda k: env.initial(k, p))(jax.random.split(jax.random.key(0), 20000))
    pos = np.asarray(states.position, float)
    arena = A.resolve_arena(name)
    assert bool(jnp.all(env.inside(states.position, p)))
    floor = A.geo.signed_area(arena["boundary"])
    for region_name, region in arena["regions"].items():
        share = A.geo.signed_area(region) / floor
        got = A.geo.inside_ring(pos, region).mean()
        # Binomial standard error sqrt(p (1 - p) / n); 4.5 of them.
        assert abs(got - share) < 4.5 * np.sqrt(share * (1 - share) / len(pos)), (region_name, got, share)


def random_actions(p, n, seed):
    rng = np.random.default_rng(seed)
    high = np.array([float(p.max_acceleration), float(p.max_angular_velocity)])
    acts = rng.uniform(-1.5, 1.5, (n, 2)) * high
    acts[rng.random(n) < 0.4, 0] = 3 * high[0]
    acts[rng.random(n) < 0.05] = np.nan
    return acts


def test_openfield_in_the_plus_maze_jits_and_vmaps_over_64_envs():
    env, p = ne.make(
        "neuroethology/OpenField-v0", arena="plus_maze", reward_type="coverage", coverage_bins=13
    )
    keys = jax.random.split(jax.random.key(0), 64)
    _, batch = jax.vmap(env.reset, in_axes=(0, None))(keys, p)
    singles = [jax.tree.map(lambda x, i=i: x[i], batch) for i in range(3)]
    step_b = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    step_1 = jax.jit(env.step)
    total = np.zeros(64)
    for t in range(150):
        acts = jnp.asarray(random_actions(p, 64, seed=t), jnp.float32)
        step_keys = jax.random.split(jax.random.key(100 + t), 64)
        _, batch, rewards, *_ = step_b(step_keys, batch, acts, p)
        total += np.asarray(rewards)
        for i in range(3):
            _, singles[i], *_ = step_1(step_keys[i], singles[i], acts[i], p)
            np.testing.assert_allclose(
                np.asarray(singles[i].position), np.asarray(batch.position[i]), atol=1e-6
            )
        assert bool(jnp.all(env.inside(batch.position, p)))
    # Coverage: every visited 5 cm cell holds floor, so the return is the visited fraction of the 25 floor cells.
    visited = np.asarray(batch.visits > 0).sum(axis=(1, 2))
    np.testing.assert_allclose(total, (visited - 1) / 25, atol=1e-5)
    assert total.max() <= 1.0 + 1e-6 and total.mean() > 0.1


@pytest.mark.filterwarnings("ignore:.*symmetric and normalized space.*")
def test_openfield_in_the_plus_maze_passes_check_env():
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make(
        "neuroethology/OpenField-v0", arena="plus_maze", render_mode="rgb_array", observe_image=True
    )
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert env.render().shape == (256, 256, 3)


def test_openfield_rays_in_a_polygon_box_equal_the_analytic_box():
    env, box = ne.make("neuroethology/OpenField-v0", n_rays=9, field_of_view=2 * np.pi)
    _, poly = ne.make(
        "neuroethology/OpenField-v0",
        arena={"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]},
        n_rays=9,
        field_of_view=2 * np.pi,
    )
    pts = jax.random.uniform(jax.random.key(0), (200, 2)) * 0.98 + 0.01
    heads = jax.random.uniform(jax.random.key(1), (200,), minval=-np.pi, maxval=np.pi)
    a = jax.vmap(lambda x, h: env.ray_distances(x, h, box))(pts, heads)
    b = jax.vmap(lambda x, h: env.ray_distances(x, h, poly))(pts, heads)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert env.observation_space(poly) == env.observation_space(box)
