"""The simulated animal's body, shared by every spatial environment: its motor bounds and eyes (with their
sources), the handling of any action, and one step of its kinematics.

One step of ``dt`` seconds (OpenField, PatchForaging's spatial mode, TMaze's spatial mode, WaterMaze)::

    a, w      = clip_action(action)                 # forward acceleration (m/s^2), angular velocity (rad/s)
    v'        = clip(v + a dt, 0, max_speed)        # intended speed
    theta'    = wrap(theta + w dt)                  # heading: the body turns, then moves along its heading
    x'        = project(x + v' dt (cos theta', sin theta'))   # the arena's walls (see below)
    speed     = min(|x' - x| / dt, v')              # the speed actually achieved

Only the walls differ between arenas. ``project`` maps the proposed position to the nearest place the body
centre may occupy (a box or circle floor, the pool less ``body_radius``, the corridors of a maze), so a step
into a wall slides along it; arenas with thin walls need the path, not only its end, and give ``collide``
instead: ``x' = collide(x, x + v' dt (cos theta', sin theta'))`` (the segment sweep of a polygon arena,
:meth:`geometry.ArenaGeometry.sweep`, which also slides along what it hits). A projection onto a convex
floor never lengthens a step (``|x' - x| <= v' dt``); the ``min`` absorbs float rounding (``|(x + s) - x|``
can exceed ``|s|`` by an ulp) and floors that are not convex (a maze's corridors), so the achieved speed
never exceeds the intended one, nor ``max_speed``.

The functions take any params object with the fields named in their docstrings (each environment's params
keep ``max_speed``, ``max_acceleration``, ``max_angular_velocity`` and ``field_of_view`` fields, so they
can be overridden and vmapped over, with defaults taken from :data:`RAT` or :data:`SWIMMING_RAT`).
Environments that move this body list :class:`BodyEnv` first among their bases: it gives them the action
space, the action names and the action handling that go with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces
from jax.typing import ArrayLike

from . import geometry as geo
from .core import EnvState

__all__ = [
    "Body",
    "BodyEnv",
    "BodyState",
    "MOTOR_BOUNDS",
    "Move",
    "RAT",
    "SWIMMING_RAT",
    "clip_action",
    "egocentric_points",
    "move",
    "pose_info",
    "resting_pose",
    "view_directions",
]


@struct.dataclass
class Body:
    """Motor bounds and visual field of a simulated animal, SI units (frozen)."""

    max_speed: float = 1.0  # m/s, above the fastest 50 Hz step of the Sargolini rat (0.87 m/s;
    # Sargolini et al. 2006, Science 312:758)
    max_acceleration: float = 10.0  # m/s^2, above the 99.9th percentile (8.2) of the Sargolini rat's
    # smoothed (2-sample Gaussian) speed changes
    max_angular_velocity: float = 8 * np.pi  # rad/s (1440 deg/s), above the 95th percentile of the
    # Sargolini rat's heading changes at 50 Hz; RatInABox's rotational velocity s.d. is 2.1 rad/s
    field_of_view: float = 1.5 * np.pi  # rad (270 deg): most of the rat's panoramic visual field
    # (laterally placed eyes; Wallace et al. 2013, Nature 498:65)


RAT = Body()  # the rat of Sargolini et al. 2006 on dry land: OpenField, PatchForaging, TMaze
# WaterMaze's swimmer: the same rat, slower. 0.3 m/s: rats swim at about 0.2-0.3 m/s; the model rat of
# Foster, Morris & Dayan 2000 (Hippocampus 10:1) swims at 0.3 m/s (at dt = 0.1 s, max_acceleration takes it
# there within one step).
SWIMMING_RAT = RAT.replace(max_speed=0.3)


# The params fields that bound the body's motion (each environment's params keep them; all must be > 0).
MOTOR_BOUNDS = ("max_speed", "max_acceleration", "max_angular_velocity")


class Move(NamedTuple):
    """The body after one step: ``position (2,)`` m, ``heading ()`` rad in [-pi, pi), ``speed ()`` m/s
    achieved, ``angular_velocity ()`` rad/s commanded (after clipping)."""

    position: jax.Array
    heading: jax.Array
    speed: jax.Array
    angular_velocity: jax.Array


def clip_action(action: ArrayLike, params: Any) -> jax.Array:
    """Any action ``(2,)`` as the body executes it: NaN -> 0, +-inf -> the bound, then clipped into
    ``[-max_acceleration, max_acceleration] x [-max_angular_velocity, max_angular_velocity]``; float32.

    ``params`` needs ``max_acceleration`` (m/s^2) and ``max_angular_velocity`` (rad/s)."""
    high = jnp.array([params.max_acceleration, params.max_angular_velocity], jnp.float32)
    action = jnp.nan_to_num(jnp.asarray(action, jnp.float32), nan=0.0, posinf=1e30, neginf=-1e30)
    return jnp.clip(action, -high, high)


def move(
    position: jax.Array,
    heading: jax.Array,
    speed: jax.Array,
    action: ArrayLike,
    params: Any,
    project: Callable[[jax.Array, Any], jax.Array] | None = None,
    *,
    collide: Callable[[jax.Array, jax.Array, Any], jax.Array] | None = None,
) -> Move:
    """One step of the kinematics in the module docstring, from ``position (2,)`` m, ``heading ()`` rad and
    ``speed ()`` m/s under ``action`` ``[acceleration, angular velocity]`` (any values: see
    :func:`clip_action`). The walls: give one of ``project(proposed, params)``, which maps a proposed
    position ``(2,)`` to the nearest one the arena's walls allow (e.g.
    :func:`geometry.project_into_box_or_circle`), or ``collide(position, proposed, params)``, which sees the
    whole step (e.g. ``neuroethology.envs.arena.ArenaMixin.collide``).

    ``params`` needs ``dt`` (s), ``max_speed`` (m/s), ``max_acceleration`` and ``max_angular_velocity``."""
    if (project is None) == (collide is None):
        raise TypeError("move: give exactly one of project= or collide=")
    accel, omega = clip_action(action, params)
    intended = jnp.clip(speed + accel * params.dt, 0.0, params.max_speed)
    heading = geo.wrap_angle(heading + omega * params.dt)
    proposed = position + intended * params.dt * geo.unit(heading)
    new = project(proposed, params) if collide is None else collide(position, proposed, params)
    step = new - position
    # Never more than the intended speed (the projection only shortens a step; min() absorbs rounding).
    achieved = jnp.minimum(jnp.sqrt(step[0] ** 2 + step[1] ** 2) / params.dt, intended)
    return Move(position=new, heading=heading, speed=achieved, angular_velocity=omega)


def view_directions(heading: ArrayLike, params: Any) -> jax.Array:
    """Unit vectors ``(n_rays, 2)`` of the wall-distance rays: the centres of ``n_rays`` equal sectors of
    the ``field_of_view`` about ``heading`` (ray 0 on the right). ``params`` needs ``n_rays`` and
    ``field_of_view`` (rad)."""
    return geo.ray_directions(heading, geo.sector_offsets(params.n_rays, params.field_of_view))


def egocentric_points(position: ArrayLike, heading: ArrayLike, params: Any) -> jax.Array:
    """World coordinates ``(image_size, image_size, 2)`` (m) of the pixel centres of the egocentric image: a
    square ``image_extent`` metres wide centred on ``position`` (2,) and turned so that ``heading`` is up
    (row 0 straight ahead, column 0 on the left). ``params`` needs ``image_size`` and ``image_extent`` (m)."""
    n = params.image_size
    centres = (jnp.arange(n) + 0.5) / n - 0.5  # -0.5 .. 0.5
    forward = -centres[:, None] * params.image_extent * jnp.ones((1, n))
    left = -centres[None, :] * params.image_extent * jnp.ones((n, 1))
    c, s = jnp.cos(heading), jnp.sin(heading)
    return jnp.stack([position[0] + forward * c - left * s, position[1] + forward * s + left * c], axis=-1)


def resting_pose(position: ArrayLike, heading: ArrayLike) -> dict[str, jax.Array]:
    """The body's state fields at a standstill (as every episode starts): ``position (2,)`` m and
    ``heading ()`` rad as given, ``speed`` and ``angular_velocity`` zero; all float32."""
    zero = jnp.zeros((), jnp.float32)
    return {
        "position": jnp.asarray(position, jnp.float32),
        "heading": jnp.asarray(heading, jnp.float32),
        "speed": zero,
        "angular_velocity": zero,
    }


def pose_info(state: Any, time: jax.Array) -> dict[str, jax.Array]:
    """The body's part of a spatial environment's ``state_info``: ``time`` (s, as the task counts it),
    ``position`` (m), ``heading`` (rad) and ``speed`` (m/s) of ``state``."""
    return {"time": time, "position": state.position, "heading": state.heading, "speed": state.speed}


@struct.dataclass(kw_only=True)
class BodyState(EnvState):
    """The body's part of a state (what :func:`move` updates), for an environment's state to extend."""

    position: jax.Array  # (2,) m
    heading: jax.Array  # () rad, in [-pi, pi)
    speed: jax.Array  # () m/s, speed achieved in the last step
    angular_velocity: jax.Array  # () rad/s, commanded in the last step


class BodyEnv:
    """The action side of an environment that moves this body (a mixin listed before the environment's
    base, e.g. ``class OpenField(BodyEnv, NeuroEnv[...])``): the action is ``[forward acceleration
    (m/s^2), angular velocity (rad/s)]``, bounded by the params' ``max_acceleration`` and
    ``max_angular_velocity``, and the JAX core executes any action as :func:`clip_action` says."""

    def validate_params(self, params: Any) -> list[str]:
        """The task base's problems, then the body's and its senses' fields: the motor bounds > 0, the field
        of view in (0, 2 pi], ``n_rays`` >= 1 and, where the task has an egocentric image, ``image_size``
        >= 1 and ``image_extent`` > 0."""
        names = {f.name for f in dataclasses.fields(params)}
        return super().validate_params(params) + self.check_fields(  # type: ignore[misc]
            params,
            positive=(*MOTOR_BOUNDS, *(n for n in ("image_extent",) if n in names)),
            angles=("field_of_view",),
            at_least_one=tuple(n for n in ("n_rays", "image_size") if n in names),
        )

    # -- what the body senses ----------------------------------------------------------------------------
    def inside(self, xy: jax.Array, params: Any) -> jax.Array:
        """Whether points ``(..., 2)`` (m) lie on the floor: the environment's arena."""
        raise NotImplementedError

    def visible_floor(self, world: jax.Array, params: Any) -> jax.Array:
        """The floor channel of the egocentric image at the pixels' ``world`` points ``(..., 2)``: the floor
        (:meth:`inside`), less whatever the arena draws on it (thin walls)."""
        return self.inside(world, params)

    def image_channels(self, world: jax.Array, floor: jax.Array, state: Any, params: Any) -> list[jax.Array]:
        """The task's channels of the egocentric image after the floor, each ``(image_size, image_size)``
        with values in [0, 1], given the pixels' ``world`` points and the ``floor`` mask (none by default)."""
        return []

    def egocentric_image(self, state: Any, params: Any) -> jax.Array:
        """The surroundings seen from above, heading up (:func:`egocentric_points`): ``(image_size,
        image_size, C)`` float32 in [0, 1], channel 0 the floor (:meth:`visible_floor`), then the task's
        :meth:`image_channels`."""
        world = egocentric_points(state.position, state.heading, params)
        floor = self.visible_floor(world, params)
        channels = [floor, *self.image_channels(world, floor, state, params)]
        return jnp.stack([c.astype(jnp.float32) for c in channels], axis=-1)

    def observe(self, vector: jax.Array, state: Any, params: Any) -> jax.Array | dict[str, jax.Array]:
        """The observation: ``vector`` alone, or, where ``params.observe_image``, ``{"vector": vector,
        "image": self.egocentric_image(state, params)}``."""
        if not params.observe_image:
            return vector
        return {"vector": vector, "image": self.egocentric_image(state, params)}

    def clip_action(self, action: jax.Array, params: Any) -> jax.Array:
        """Documented handling of any action: NaN -> 0, +-inf -> bound, then clip into the action box."""
        return clip_action(action, params)

    def action_space(self, params: Any = None) -> spaces.Box:
        high = np.array([params.max_acceleration, params.max_angular_velocity], np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_names(self, params: Any) -> list[str]:
        return ["acceleration", "angular_velocity"]
