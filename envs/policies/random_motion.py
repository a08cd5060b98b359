"""The rodent random-motion model of RatInABox, as a pure JAX policy for OpenField.

RatInABox (George et al. 2024, eLife 12:RP85274) moves its ``Agent`` with two Ornstein-Uhlenbeck processes,
fitted there to the rat trajectories of Sargolini et al. 2006:

* rotational velocity ``w``: OU with mean 0, s.d. ``rotational_velocity_std`` and coherence time
  ``rotational_velocity_coherence_time``; the velocity vector is rotated by ``w dt`` each step;
* speed: Rayleigh distributed with scale ``speed_mean``; it is mapped to a standard normal variable, which
  follows an OU process with coherence time ``speed_coherence_time``, and mapped back;
* walls within ``wall_repel_distance`` repel the animal two ways, split by ``thigmotaxis``: a spring
  acceleration on the velocity (weight ``3 (1 - thigmotaxis)^2``) and a "conveyor belt" shift of the
  position that leaves the velocity unchanged (weight ``6 thigmotaxis^2``), which makes the animal hug walls;
* a step that would cross a wall is reflected off it at half the mean speed.

This module reproduces that update (RatInABox 1.15, ``Agent.update`` and ``utils.ornstein_uhlenbeck``)
exactly, then expresses the resulting displacement as an OpenField action: the acceleration and angular
velocity that move the animal by that displacement in one step. The OU variables RatInABox keeps inside
its ``Agent`` (the intended velocity vector and the rotational velocity) are the policy's carry. Actions
outside OpenField's bounds are clipped by the environment, so with its defaults the match is exact except
for the sharpest wall bounces.

Any arena (``make(..., arena=...)``): the walls are :func:`wall_normals`'s, one function for this policy and
for the fitted likelihood (:mod:`neuroethology.fitting.random_motion_fit`): in a box or circle the analytic
walls above; in a polygon every segment (boundary and hole edges, thin walls), each repelling from its
nearest point as RatInABox's ``Environment.vectors_from_walls`` does. A proposed step that crosses a segment
is reflected off the first one it crosses (RatInABox takes the first in its wall list), twice at most (a
corner); a step that still crosses one, or ends off the floor, is not proposed (the animal stays), so the
proposal never passes through a wall, however thin.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.scipy.special import log_ndtr, ndtri

from .. import geometry as geo
from ..arena import is_polygon, params_geometry
from ..open_field import OpenFieldParams, OpenFieldState

__all__ = [
    "RandomMotion",
    "RandomMotionCarry",
    "RandomMotionParams",
    "rayleigh_to_normal",
    "normal_to_rayleigh",
    "wall_normals",
]


@struct.dataclass
class RandomMotionParams:
    """RatInABox ``Agent`` defaults (George et al. 2024, fitted to Sargolini et al. 2006)."""

    speed_mean: float = 0.08  # m/s, Rayleigh scale of the speed (RatInABox "speed_mean")
    speed_coherence_time: float = 0.7  # s, OU coherence time of the speed
    rotational_velocity_std: float = 120 * np.pi / 180  # rad/s, s.d. of the rotational velocity
    rotational_velocity_coherence_time: float = 0.08  # s, OU coherence time of the rotational velocity
    thigmotaxis: float = 0.5  # 0..1, share of wall repulsion done by shifting position (wall hugging)
    wall_repel_distance: float = 0.1  # m, walls closer than this repel
    wall_repel_strength: float = 1.0  # repulsion strength in units of speed_mean (0 turns it off)


class RandomMotionCarry(NamedTuple):
    velocity: jax.Array  # (2,) m/s, the intended velocity vector (RatInABox Agent.velocity)
    rotational_velocity: jax.Array  # () rad/s, the OU rotational velocity


def rayleigh_to_normal(speed: jax.Array, sigma: jax.Array) -> jax.Array:
    """Map a Rayleigh(``sigma``) variable to a standard normal one through the CDFs (as RatInABox does,
    clipping the uniform variable to ``[1e-6, 1 - 1e-6]``). Computed from the survival function
    ``exp(-s^2 / 2 sigma^2)`` so that float32 keeps its accuracy in the upper tail."""
    survival = jnp.exp(-(speed**2) / (2.0 * sigma**2))
    return -ndtri(jnp.clip(survival, 1e-6, 1.0 - 1e-6))


def normal_to_rayleigh(z: jax.Array, sigma: jax.Array) -> jax.Array:
    """Inverse of :func:`rayleigh_to_normal`; ``log(1 - Phi(z)) = log_ndtr(-z)`` keeps the tail accurate."""
    return sigma * jnp.sqrt(-2.0 * log_ndtr(-z))


def ou_increment(
    key: jax.Array, x: jax.Array, *, dt: float, noise_scale, coherence_time, drift=0.0
) -> jax.Array:
    """Euler-Maruyama step of an OU process with stationary s.d. ``noise_scale`` (RatInABox's
    ``utils.ornstein_uhlenbeck``): ``dx = (drift - x) dt / tau + sqrt(2 s^2 dt / tau) N(0, 1)``."""
    sigma = jnp.sqrt(2.0 * noise_scale**2 / (coherence_time * dt))
    return (drift - x) * dt / coherence_time + sigma * dt * jax.random.normal(key, jnp.shape(x))


def wall_normals(position: jax.Array, env_params: Any) -> tuple[jax.Array, jax.Array]:
    """Distances (m) from ``position (2,)`` to each wall ``(W,)`` and unit normals pointing from the wall to
    the animal ``(W, 2)``: the box's 4 walls or the circle's one
    (:func:`~neuroethology.envs.geometry.wall_normals_box_or_circle`), or every segment of a polygon arena,
    padding rows at distance inf with normal 0
    (:meth:`~neuroethology.envs.geometry.ArenaGeometry.wall_normals`).
    ``env_params`` are any arena-aware environment's (``arena_shape``, ``width``, ``height``, ``radius``,
    ``arena``)."""
    if is_polygon(env_params):
        return params_geometry(env_params).wall_normals(position)
    return geo.wall_normals_box_or_circle(position, env_params)


def _bounce(position: jax.Array, proposed: jax.Array, velocity: jax.Array, speed_mean, env_params, dt):
    """RatInABox's wall collision: reflect the velocity off the crossed wall, set its speed to half the mean
    speed, and step from the previous position. Two passes handle a corner."""
    if is_polygon(env_params):
        return _bounce_segments(position, proposed, velocity, speed_mean, params_geometry(env_params), dt)
    for _ in range(2):
        if env_params.arena_shape == "circle":
            q = proposed - env_params.radius
            outside = q[0] ** 2 + q[1] ** 2 > env_params.radius**2
            n = position - env_params.radius
            n = n / jnp.maximum(jnp.sqrt(n[0] ** 2 + n[1] ** 2), 1e-9)
            reflected = velocity - 2.0 * jnp.dot(velocity, n) * n
        else:
            out_x = (proposed[0] < 0) | (proposed[0] > env_params.width)
            out_y = (proposed[1] < 0) | (proposed[1] > env_params.height)
            outside = out_x | out_y
            reflected = jnp.where(out_x, jnp.array([-1.0, 1.0]), jnp.array([1.0, -1.0])) * velocity
        norm = jnp.maximum(jnp.sqrt(reflected[0] ** 2 + reflected[1] ** 2), 1e-12)
        reflected = 0.5 * speed_mean * reflected / norm
        velocity = jnp.where(outside, reflected, velocity)
        proposed = jnp.where(outside, position + velocity * dt, proposed)
    return proposed, velocity


def _bounce_segments(position, proposed, velocity, speed_mean, g: geo.ArenaGeometry, dt):
    """:func:`_bounce` in a polygon arena: reflect off the first segment the step crosses (two passes), then
    keep the proposal only if it is on the floor and crosses no segment (else the animal stays)."""
    ax, ay, ex, ey, nx, ny = (jnp.asarray(c) for c in (*g.start.T, *g.vector.T, *g.normal.T))
    solid, inv_length2 = jnp.asarray(g.solid), jnp.asarray(g.inv_length2)
    for _ in range(2):
        s_old = (position[0] - ax) * nx + (position[1] - ay) * ny  # signed distances to the segments' lines
        s_new = (proposed[0] - ax) * nx + (proposed[1] - ay) * ny
        crossing = solid & ((s_old * s_new < 0) | ((s_new == 0) & (s_old != 0)))  # as ArenaGeometry.crosses
        t = s_old / jnp.where(crossing, s_old - s_new, 1.0)
        hx = position[0] + t * (proposed[0] - position[0]) - ax
        hy = position[1] + t * (proposed[1] - position[1]) - ay
        u = (hx * ex + hy * ey) * inv_length2  # a little slack at the ends: no slipping through a vertex
        t = jnp.where(crossing & (u >= -1e-5) & (u <= 1 + 1e-5), t, jnp.inf)
        outside = jnp.isfinite(jnp.min(t))
        first = jnp.arange(t.shape[0]) == jnp.argmin(t)
        n = jnp.stack([jnp.sum(jnp.where(first, nx, 0.0)), jnp.sum(jnp.where(first, ny, 0.0))])
        reflected = velocity - 2.0 * (velocity[0] * n[0] + velocity[1] * n[1]) * n
        norm = jnp.maximum(jnp.sqrt(reflected[0] ** 2 + reflected[1] ** 2), 1e-12)
        velocity = jnp.where(outside, 0.5 * speed_mean * reflected / norm, velocity)
        proposed = jnp.where(outside, position + velocity * dt, proposed)
    ok = g.inside(proposed) & ~g.crosses(position, proposed)
    return jnp.where(ok, proposed, position), velocity


class RandomMotion:
    """RatInABox's random-motion model driving OpenField (see the module docstring).

    >>> policy = RandomMotion()                      # RatInABox defaults
    >>> carry = policy.init(key, state, env_params)
    >>> action, carry = policy.act(key, carry, obs, state, env_params)
    """

    def __init__(self, params: RandomMotionParams | None = None, **overrides: Any) -> None:
        self.params = (params or RandomMotionParams()).replace(**overrides)

    def init(
        self, key: jax.Array, env_state: OpenFieldState, env_params: OpenFieldParams
    ) -> RandomMotionCarry:
        """Start at the mean speed along the animal's heading with no rotation (as RatInABox does)."""
        velocity = self.params.speed_mean * geo.unit(env_state.heading)
        return RandomMotionCarry(
            velocity=velocity.astype(jnp.float32), rotational_velocity=jnp.zeros((), jnp.float32)
        )

    def displacement(
        self, key: jax.Array, carry: RandomMotionCarry, env_state: OpenFieldState, env_params: OpenFieldParams
    ) -> tuple[jax.Array, RandomMotionCarry]:
        """RatInABox's position change over one step ``(2,)`` and the updated OU state."""
        p, dt = self.params, env_params.dt
        k_rot, k_speed = jax.random.split(key)
        position = env_state.position
        # Rotational velocity OU, then rotate the velocity vector.
        omega = carry.rotational_velocity + ou_increment(
            k_rot,
            carry.rotational_velocity,
            dt=dt,
            noise_scale=p.rotational_velocity_std,
            coherence_time=p.rotational_velocity_coherence_time,
        )
        c, s = jnp.cos(omega * dt), jnp.sin(omega * dt)
        v = carry.velocity
        v = jnp.stack([c * v[0] - s * v[1], s * v[0] + c * v[1]])
        # Speed: Rayleigh <-> normal, OU on the normal variable.
        speed = jnp.sqrt(v[0] ** 2 + v[1] ** 2)
        v = jnp.where(speed == 0, jnp.array([1e-8, 0.0]), v)
        speed = jnp.maximum(speed, 1e-8)
        z = rayleigh_to_normal(speed, p.speed_mean)
        z = z + ou_increment(k_speed, z, dt=dt, noise_scale=1.0, coherence_time=p.speed_coherence_time)
        v = v * (normal_to_rayleigh(z, p.speed_mean) / speed)
        # Wall repulsion: spring on the velocity, conveyor belt on the position.
        distance, normals = wall_normals(position, env_params)
        d = p.wall_repel_distance
        strength = p.wall_repel_strength * p.speed_mean
        near = distance <= d
        spring = jnp.where(near, (strength**2 / d**2) * (d - distance), 0.0)
        v = v + 3.0 * (1.0 - p.thigmotaxis) ** 2 * dt * jnp.sum(spring[:, None] * normals, axis=0)
        belt_speed = strength * (1.0 - jnp.sqrt(jnp.clip(1.0 - (d - distance) ** 2 / d**2, 0.0, 1.0)))
        belt = jnp.where(near, belt_speed, 0.0)
        shift = 6.0 * p.thigmotaxis**2 * dt * jnp.sum(belt[:, None] * normals, axis=0)
        proposed = position + shift + v * dt
        proposed, v = _bounce(position, proposed, v, p.speed_mean, env_params, dt)
        return proposed - position, RandomMotionCarry(velocity=v, rotational_velocity=omega)

    def act(
        self,
        key: jax.Array,
        carry: RandomMotionCarry,
        obs: Any,
        env_state: OpenFieldState,
        env_params: OpenFieldParams,
    ) -> tuple[jax.Array, RandomMotionCarry]:
        step, carry = self.displacement(key, carry, env_state, env_params)
        dt = env_params.dt
        target_speed = jnp.sqrt(step[0] ** 2 + step[1] ** 2) / dt
        target_heading = jnp.arctan2(step[1], step[0])
        turn = jnp.where(target_speed > 0, geo.wrap_angle(target_heading - env_state.heading), 0.0)
        action = jnp.stack([(target_speed - env_state.speed) / dt, turn / dt]).astype(jnp.float32)
        return action, carry
