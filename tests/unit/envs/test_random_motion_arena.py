"""The random-motion policy in any arena: its walls (ArenaGeometry.wall_normals) against a NumPy reference and
RatInABox, its steps against RatInABox's Agent.update in a polygon with a thin wall, its reflections never
crossing a wall, and a few minutes in the plus maze."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import ratinabox
from ratinabox.Agent import Agent
from ratinabox.Environment import Environment

import neuroethology.envs as ne
from neuroethology.envs import arena as A
from neuroethology.envs import geometry as geo
from neuroethology.envs.policies import RandomMotion, RandomMotionCarry
from neuroethology.envs.policies.random_motion import wall_normals

ratinabox.verbose = False

# An L-shaped room with a thin wall and a square hole (a pillar).
ROOM = {
    "boundary": [[0, 0], [1, 0], [1, 0.6], [0.6, 0.6], [0.6, 1], [0, 1]],
    "holes": [[[0.7, 0.2], [0.8, 0.2], [0.8, 0.3], [0.7, 0.3]]],
    "walls": [[[0.2, 0.3], [0.45, 0.3]]],
}


def np_segments(arena):
    rings = [arena["boundary"], *arena["holes"]]
    segs = [(r[i], r[(i + 1) % len(r)]) for r in rings for i in range(len(r))]
    return np.array(segs + [tuple(w) for w in arena["walls"]], float)


def np_vectors_from_walls(p, segs):
    """Plain NumPy, float64: the vector from each segment's nearest point to ``p``."""
    out = []
    for a, b in segs:
        u = np.clip((p - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
        out.append(p - (a + u * (b - a)))
    return np.array(out)


def test_wall_normals_are_the_vectors_from_every_segment_to_the_point():
    arena = A.resolve_arena(ROOM)
    g = A.arena_geometry(arena, max_segments=16)  # 11 segments and 5 padding rows
    segs = np_segments(arena)
    n = len(segs)
    pts = np.random.default_rng(0).uniform(0, 1, (300, 2))
    dist, normal = jax.vmap(g.wall_normals)(jnp.asarray(pts, jnp.float32))
    dist, normal = np.asarray(dist, float), np.asarray(normal, float)
    assert dist.shape == (300, 16) and np.all(np.isinf(dist[:, n:])) and np.all(normal[:, n:] == 0)
    for k, p in enumerate(pts):
        vec = np_vectors_from_walls(p, segs)
        want = np.hypot(*vec.T)
        np.testing.assert_allclose(dist[k, :n], want, atol=2e-7)
        np.testing.assert_allclose(normal[k, :n], vec / want[:, None], atol=1e-5)
    # On a segment: the left normal (into the floor for an edge).
    d, n = g.wall_normals(jnp.array([0.5, 0.0]))
    assert float(d[0]) == 0.0 and np.allclose(np.asarray(n[0]), [0.0, 1.0])


def test_wall_normals_equal_ratinabox_vectors_from_walls(monkeypatch):
    monkeypatch.setattr(np.random, "normal", lambda loc=0.0, scale=1.0, size=None: np.zeros(size))
    arena = A.resolve_arena("plus_maze")
    rib = Environment(params={"boundary": arena["boundary"]})
    g = A.arena_geometry(arena)
    for p in np.asarray(jax.vmap(g.pose)(jax.random.uniform(jax.random.key(0), (50, 3)))[0], float):
        theirs = np.sort(np.hypot(*rib.vectors_from_walls(p).T))
        ours = np.sort(np.asarray(g.wall_normals(jnp.asarray(p, jnp.float32))[0]))[: len(theirs)]
        np.testing.assert_allclose(ours, theirs, atol=2e-7)


def test_box_and_circle_walls_are_the_analytic_ones():
    for shape in ("box", "circle"):
        _, p = ne.make("neuroethology/OpenField-v0", arena_shape=shape, width=1.2, height=0.8)
        d, n = wall_normals(jnp.array([0.3, 0.2]), p)
        if shape == "box":
            np.testing.assert_allclose(np.asarray(d), [0.3, 0.9, 0.2, 0.6], atol=1e-7)
            np.testing.assert_array_equal(np.asarray(n), [[1, 0], [-1, 0], [0, 1], [0, -1]])
        else:
            r = np.hypot(0.2, 0.3)
            np.testing.assert_allclose(np.asarray(d), [0.5 - r], atol=1e-7)
            np.testing.assert_allclose(np.asarray(n), [[0.2 / r, 0.3 / r]], atol=1e-6)


# RatInABox's defaults, and a fast animal with weak repulsion that runs into the walls (its bounces).
MOTIONS = {"defaults": {}, "bouncing": {"speed_mean": 0.4, "wall_repel_strength": 0.2}}


@functools.cache
def _compiled_in_room(motion):
    """OpenField in ROOM and, jitted once for the three starts of ``motion``: the policy's displacement, a step
    of the environment driven by the policy's action, and the distance to the nearest wall."""
    env, p = ne.make("neuroethology/OpenField-v0", arena=ROOM)
    policy = RandomMotion(**MOTIONS[motion])

    def advance(key, carry, state, p):
        action, _ = policy.act(key, carry, None, state, p)
        return env.transition(state, action, key, p)

    return env, p, jax.jit(policy.displacement), jax.jit(advance), jax.jit(env.wall_distance)


@pytest.mark.parametrize("motion", list(MOTIONS))
@pytest.mark.parametrize("start", [(0.3, 0.32), (0.59, 0.7), (0.62, 0.25)])
def test_each_step_equals_ratinabox_agent_update_in_a_polygon(monkeypatch, start, motion):
    """As tests/unit/envs/test_random_motion.py in the box: the same Gaussian draws, the same state,
    RatInABox's own Agent.update in its Environment with ROOM's boundary, hole edges and thin wall (250
    steps)."""
    env, p, step_fn, advance, wall_distance = _compiled_in_room(motion)
    arena = A.resolve_arena(ROOM)
    rib = Agent(
        Environment(params={"boundary": arena["boundary"], "holes": arena["holes"], "walls": arena["walls"]}),
        params={"dt": float(p.dt), **MOTIONS[motion]},
    )
    draws: list[float] = []

    def fake_normal(loc=0.0, scale=1.0, size=None):
        if scale < 1e-4:  # RatInABox's sub-micrometre jitter of geometry computations: leave it out
            return np.zeros(size)
        return np.full(size, draws.pop(0)) * scale

    monkeypatch.setattr(np.random, "normal", fake_normal)
    state = env.initial(jax.random.key(0), p).replace(position=jnp.array(start, jnp.float32))
    carry = RandomMotionCarry(jnp.array([0.05, -0.06], jnp.float32), jnp.float32(0.3))
    near, bounces = 0, 0
    for t in range(250):
        key = jax.random.key(t)
        draws[:] = [float(jax.random.normal(k)) for k in jax.random.split(key)]
        shift, new_carry = step_fn(key, carry, state, p)
        rib.pos = np.asarray(state.position, float).copy()
        rib.velocity = np.asarray(carry.velocity, float).copy()
        rib.rotational_velocity = float(carry.rotational_velocity)
        before = rib.pos.copy()
        rib.update()
        assert not draws
        np.testing.assert_allclose(np.asarray(shift), rib.pos - before, rtol=1e-3, atol=2e-6, err_msg=f"{t}")
        np.testing.assert_allclose(np.asarray(new_carry.velocity), rib.velocity, rtol=1e-3, atol=1e-5)
        near += int(float(wall_distance(state.position, p)) < 0.1)
        bounces += int(abs(np.hypot(*rib.velocity) - 0.5 * rib.speed_mean) < 1e-9)  # a bounce: half the mean
        state = advance(key, carry, state, p)
        carry = new_carry
    assert near >= 20, "the wall repulsion was hardly exercised"
    assert motion == "defaults" or bounces >= 1, "no bounce"
    print(f"\n{start} {motion}: {near} steps near a wall, {bounces} bounces")


def np_crosses(p, q, segs):
    for a, b in segs:
        e = b - a
        n = np.array([-e[1], e[0]])
        sp, sq = (p - a) @ n, (q - a) @ n
        if sp * sq < 0:
            u = (p + sp / (sp - sq) * (q - p) - a) @ e / (e @ e)
            if 0 <= u <= 1:
                return True
    return False


def test_the_proposed_step_never_crosses_a_thin_wall_or_leaves_the_floor():
    """Fast animals (up to 25 cm a step) placed near the barrier of the Hafting box, heading anywhere: every
    proposal (after the reflections) stays on the floor and crosses no segment."""
    env, p = ne.make("neuroethology/OpenField-v0", arena="hafting_barrier")
    arena = A.resolve_arena("hafting_barrier")
    policy = RandomMotion(speed_mean=2.0, thigmotaxis=0.9)
    n = 4000
    rng = np.random.default_rng(1)
    pos = np.stack([rng.uniform(0.2, 0.8, n), 0.5 + rng.choice([-1, 1], n) * rng.uniform(1e-5, 0.1, n)], 1)
    vel = 3.0 * np.stack([np.cos(a := rng.uniform(-np.pi, np.pi, n)), np.sin(a)], 1)
    states = jax.vmap(lambda x: env.initial(jax.random.key(0), p).replace(position=x))(
        jnp.asarray(pos, jnp.float32)
    )
    carry = RandomMotionCarry(jnp.asarray(vel, jnp.float32), jnp.zeros(n, jnp.float32))
    keys = jax.random.split(jax.random.key(2), n)
    shift, _ = jax.jit(jax.vmap(policy.displacement, in_axes=(0, 0, 0, None)))(keys, carry, states, p)
    ends = pos + np.asarray(shift, float)
    segs = np_segments(arena)
    assert bool(jnp.all(env.inside(jnp.asarray(ends, jnp.float32), p)))
    crossed = [k for k in range(n) if np_crosses(pos[k], ends[k], segs)]
    assert not crossed, [(pos[k], ends[k]) for k in crossed[:3]]
    moved = np.hypot(*(ends - pos).T) > 0
    assert moved.mean() > 0.9  # the reflections, not the refusal, keep the steps off the walls


def test_box_and_square_polygon_propose_the_same_steps():
    env, box = ne.make("neuroethology/OpenField-v0")
    _, square = ne.make("neuroethology/OpenField-v0", arena={"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]})
    policy = RandomMotion(speed_mean=0.3)
    n = 2000
    rng = np.random.default_rng(3)
    # Near one wall or none (in a corner the box reflects off x first, the polygon off the wall met first).
    across = rng.choice([0.01, 0.5, 0.99], n) + rng.uniform(-0.009, 0.009, n)
    along = rng.uniform(0.3, 0.7, n)
    pos = jnp.asarray(
        np.where(rng.random(n)[:, None] < 0.5, np.c_[across, along], np.c_[along, across]), jnp.float32
    )
    vel = jnp.asarray(rng.normal(0, 0.5, (n, 2)), jnp.float32)
    states = jax.vmap(lambda x: env.initial(jax.random.key(0), box).replace(position=x))(pos)
    carry = RandomMotionCarry(vel, jnp.asarray(rng.normal(0, 2, n), jnp.float32))
    keys = jax.random.split(jax.random.key(4), n)
    step = jax.jit(jax.vmap(policy.displacement, in_axes=(0, 0, 0, None)))
    a, ca = step(keys, carry, states, box)
    b, cb = step(keys, carry, states, square)
    bounced = np.asarray(jnp.abs(jnp.hypot(*ca.velocity.T) - 0.15) < 1e-6)
    assert bounced.sum() > 50
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    np.testing.assert_allclose(np.asarray(ca.velocity), np.asarray(cb.velocity), atol=1e-5)


def test_a_few_minutes_in_the_plus_maze_stay_on_the_floor_and_visit_every_arm():
    env, p = ne.make("neuroethology/OpenField-v0", arena="plus_maze", episode_duration=400.0)
    minutes = 5
    roll = ne.rollout(
        env, RandomMotion(), jax.random.key(0), p, num_steps=int(minutes * 60 / 0.02), num_envs=4
    )
    pos = np.asarray(roll.states.position, float).reshape(-1, 2)
    assert bool(jnp.all(env.inside(jnp.asarray(pos, jnp.float32), p)))
    arena = A.resolve_arena("plus_maze")
    for name, region in arena["regions"].items():
        share = geo.inside_ring(pos, region).mean()
        print(f"{name}: {share:.3f} of the time")
        # The 5 x 5 cm centre is only passed through (4% of the floor, ~0.2% of the time).
        assert share > (0.02 if name != "centre" else 0.0005), f"{name} barely visited ({share:.4f})"
    # And every animal leaves the arm it started in.
    per_env = np.asarray(roll.states.position, float)
    arms = [r for k, r in arena["regions"].items() if k != "centre"]
    for b in range(per_env.shape[1]):
        assert sum(geo.inside_ring(per_env[:, b], r).any() for r in arms) >= 2
