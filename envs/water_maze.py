"""WaterMaze-v0: the Morris water maze.

The paradigm (Morris 1981, Learn. Motiv. 12:239; Morris 1984, J. Neurosci. Methods 11:47; the protocol of
Vorhees & Williams 2006, Nat. Protoc. 1:848): a rat is released at the wall of a circular pool of opaque
water and swims until it finds a platform hidden just below the surface. The pool gives no local cue to the
platform; the rat must use distal cues around the room. Escape latency falls over trials as the rat learns
where the platform is (reference memory). With the platform moved to a new place each day and kept there for
that day's trials (delayed matching-to-place, Steele & Morris 1999, Hippocampus 9:118), the second trial of a
day measures one-trial (working) memory. In a probe trial the platform is removed and the time spent in the
target quadrant measures how well the place was remembered.

Coordinates: the pool of radius ``R`` is centred at ``(R, R)`` (the circle convention of
:mod:`neuroethology.envs.geometry`); angles are anticlockwise from East (+x). The cardinal start points
N, E, S, W lie on the quadrant boundaries; quadrants are numbered 0 = NE, 1 = NW, 2 = SW, 3 = SE, and the
default platform sits at the centre of the NE quadrant, half-way between the pool centre and the wall.

Any pool (``make(..., arena=ARENA)``, :mod:`neuroethology.envs.arena`): a bare circle sets ``pool_radius``;
anything else is a polygon pool (``arena_shape="polygon"``: holes, thin walls, or a circle with regions, as
the ``"water_maze"`` preset's 128-gon with quadrants; a box shorthand is refused: a square pool is a
``boundary``), centred on its bounding box. Releases lie ``body_radius`` short of the first wall in the four
cardinal directions, the platform ``platform_offset`` of the way to it along its angle (checked on the water,
clear of every wall, at every angle when movable). Strokes use the segment sweep (``ArenaGeometry.sweep``:
the body centre may come within 10 um of a wall). Quadrants (quarter-planes about the centre) hold equal
areas, chance level a quarter, only in a pool symmetric under quarter turns (a circle, a square); a polygon
pool's Recordings carry no ``pool_radius`` (``analysis.water_maze`` asks for it): use its regions instead.

Trials and episodes: an episode holds ``trials_per_episode`` trials (releases) with the same platform. Each
trial starts at one of the four cardinal points, against the wall (``body_radius`` from it), facing the
wall (or the centre), taken in a random order that uses each point once in every four trials (Vorhees &
Williams 2006). A trial ends when the swim path crosses the platform (reward ``platform_reward``) or after
``trial_duration`` seconds; the next transition releases the rat from the next start point. The episode
terminates when its last trial ends, and is truncated instead when that moment is the time limit
(``max_steps``: every trial ran to its full duration; always the case for a single unsuccessful or probe
trial).

Platform modes (``platform_mode``): ``"fixed"`` (reference memory: the same place every episode),
``"movable"`` (a new place on the same ring, at a uniform random angle, every episode: working memory /
delayed matching-to-place when ``trials_per_episode > 1``), ``"probe"`` (no platform: trials never end early).

Physics (one step of ``dt`` seconds): the body of :mod:`neuroethology.envs.body` (OpenField's rat, swimming
more slowly: ``SWIMMING_RAT``)::

    a, w      = clip(action)                        # forward acceleration (m/s^2), angular velocity (rad/s)
    v'        = clip(v + a dt, 0, max_speed)        # intended swim speed
    theta'    = wrap(theta + w dt)                  # heading: the body turns, then swims along its heading
    x'        = project(x + v' dt (cos theta', sin theta'))   # the wall: a stroke into it slides along it;
                                                    # the body centre stays body_radius from it
    speed     = min(|x' - x| / dt, v')              # the speed actually achieved (the min absorbs rounding)
    found     = the segment x -> x' passes within platform_radius of the platform centre

Observation (``Box``, float32, SI units)::

    [ray_0 .. ray_{n_rays-1} (m),
     cos b_k, sin b_k, d_k   for each of the K distal cues (b: egocentric bearing, rad; d: distance, m),
     (cos b_p, sin b_p, d_p  of the platform, only with visible_platform=True: the cued-platform control),
     speed (m/s), angular velocity (rad/s)]

``ray_i`` is the distance to the pool wall along the centre of the i-th of ``n_rays`` equal sectors of the
field of view (ray 0 on the right). The egocentric bearing is ``0`` straight ahead and positive to the left.
The cues are distinguishable (each has its own slot), as the distinct objects hung around a real pool are.
With ``observe_image=True`` the observation is a ``Dict`` with that vector under ``"vector"`` and a top-down
egocentric image ``(image_size, image_size, C)`` in [0, 1] under ``"image"`` (the rat at the centre, facing
up): channel 0 is water (1) versus wall and room (0), channel 1 the distal cues, and, with
``visible_platform``, channel 2 the platform. The hidden platform is never visible.

Action (``Box``, float32): ``[forward acceleration (m/s^2), angular velocity (rad/s)]`` bounded by
``max_acceleration`` and ``max_angular_velocity``. The JAX core replaces NaN by 0 and +-inf by the bound and
clips into the box; the Gymnasium adapter rejects actions outside the space with a ``ValueError``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from . import geometry as geo
from .arena import ArenaMixin, is_analytic, is_polygon, params_geometry, resolve_arena
from .body import SWIMMING_RAT, BodyEnv, BodyState, move, pose_info, resting_pose
from .core import NeuroEnv, register, uniform21
from .rendering import COLOURS, REGION_COLOURS, Canvas, draw_animal, trail_render_state

__all__ = ["WaterMaze", "WaterMazeParams", "WaterMazeState", "QUADRANT_NAMES", "CARDINAL_NAMES"]

ARENA_SHAPES = ("circle", "polygon")
PLATFORM_MODES = ("fixed", "movable", "probe")
START_FACINGS = ("wall", "centre")
QUADRANT_NAMES = ("NE", "NW", "SW", "SE")
CARDINAL_NAMES = ("N", "E", "S", "W")
CARDINAL_ANGLES = (0.5 * np.pi, 0.0, -0.5 * np.pi, np.pi)  # rad, anticlockwise from East
# The 24 orders of the four start points: one is drawn per episode (each point once in every four trials).
START_ORDERS = np.array(list(itertools.permutations(range(4))), np.int32)  # (24, 4)
WATER = (198, 222, 240)  # RGB of the pool in rendered frames


@struct.dataclass
class WaterMazeParams:
    """Parameters of WaterMaze-v0, SI units. Fields marked static change array shapes or code paths
    (changing them recompiles); the others may be traced and vmapped over."""

    # Pool and platform (any pool: make(..., arena=...), a preset, a YAML/JSON file or a mapping).
    arena_shape: str = struct.field(pytree_node=False, default="circle")  # "circle" or "polygon"
    pool_radius: float = 1.0  # m: a 2 m pool, the size of the water-maze model of Foster, Morris & Dayan
    # 2000 (Hippocampus 10:1), within the 1.5-2 m used for rats (Morris 1984; Vorhees & Williams 2006);
    # used when arena_shape="circle"
    arena: str = struct.field(pytree_node=False, default="")  # a polygon pool's canonical mapping as JSON
    # (envs.arena.resolve_arena; metres); "" for the circle
    platform_radius: float = 0.05  # m: a platform 10 cm across, the usual rat platform (about 1/20 of the
    # pool diameter; Morris 1984; Vorhees & Williams 2006)
    platform_angle: float = 0.25 * np.pi  # rad, anticlockwise from East: centre of the NE quadrant
    platform_offset: float = 0.5  # fraction of pool_radius from the centre: the platform is placed in the
    # middle of a quadrant, half-way between centre and wall (Vorhees & Williams 2006)
    platform_mode: str = struct.field(pytree_node=False, default="fixed")  # "fixed", "movable" or "probe"
    trials_per_episode: int = 1  # releases per episode with the same platform; 4 makes an episode one day
    # of the delayed matching-to-place task (Steele & Morris 1999: 4 trials a day)
    start_facing: str = struct.field(pytree_node=False, default="wall")  # "wall" (Vorhees & Williams 2006:
    # the rat is lowered into the water facing the wall) or "centre"
    body_radius: float = 0.04  # m, how close the rat's body centre comes to the wall (half the ~8 cm body
    # width of an adult rat); it is released there. It also keeps wall rays well conditioned (a ray grazing
    # the wall from a point on it has a length infinitely sensitive to rounding)
    # Time.
    dt: float = 0.1  # s, the time step of the water-maze model of Foster, Morris & Dayan 2000
    trial_duration: float = 60.0  # s: the usual limit after which an unsuccessful rat is guided to the
    # platform (60-120 s are used; Vorhees & Williams 2006)
    # Body and action bounds: the swimming rat of envs.body.SWIMMING_RAT (sources there).
    max_speed: float = SWIMMING_RAT.max_speed  # m/s: 0.3, rats swim at about 0.2-0.3 m/s; the model rat
    # of Foster et al. 2000 swims at 0.3 m/s
    max_acceleration: float = SWIMMING_RAT.max_acceleration  # m/s^2: 10, OpenField's bound (Sargolini et
    # al. 2006 rat); at dt = 0.1 s the swimmer reaches max_speed within one step
    max_angular_velocity: float = SWIMMING_RAT.max_angular_velocity  # rad/s: 8 pi, OpenField's bound
    # Senses.
    cue_angles: tuple = struct.field(pytree_node=False, default=(0.35, 1.95, 3.4, 4.75))  # rad, bearings of
    # the distal cues from the pool centre (irregular, so that no rotation maps the room onto itself;
    # Morris 1981 hung distinct objects around the pool)
    cue_radius: float = 1.6  # m from the pool centre: cues on curtains or walls beyond the pool edge
    cue_size: float = 0.15  # m, radius of each cue as drawn in the image observation and in frames
    n_rays: int = struct.field(pytree_node=False, default=12)  # wall-distance rays, as in OpenField
    field_of_view: float = SWIMMING_RAT.field_of_view  # rad (270 deg): the rat's panoramic visual field
    # (Wallace et al. 2013, Nature 498:65), as in OpenField (envs.body)
    visible_platform: bool = struct.field(pytree_node=False, default=False)  # the visible-platform control
    # (the "cue" condition of Morris 1981): the platform's bearing and distance are observed
    observe_image: bool = struct.field(pytree_node=False, default=False)  # add the egocentric image
    image_size: int = struct.field(pytree_node=False, default=32)  # pixels per side of that image
    # Reward.
    platform_reward: float = 1.0  # reward for reaching the platform (the escape from the water)

    @property
    def image_extent(self) -> Any:
        """Side (m) of the square the image observation covers: ``2 (reach + cue_radius + cue_size)``, so that
        every cue is in view from anywhere in the pool."""
        return 2 * (self.reach + self.cue_radius + self.cue_size)

    @property
    def radius(self) -> Any:
        """``pool_radius``, under the name the arena functions read (:mod:`neuroethology.envs.arena`)."""
        return self.pool_radius

    @property
    def reach(self) -> Any:
        """The farthest the water reaches from the centre (m): ``pool_radius``, or a polygon pool's largest
        distance from its centre to a vertex."""
        if self.arena_shape != "polygon":
            return self.pool_radius
        g = params_geometry(self)
        return float(np.max(np.hypot(*(g.start[g.edge] - (g.lower + g.upper) / 2).T)))

    @property
    def trial_steps(self) -> jax.Array:
        """Steps per trial: ``trial_duration / dt``, rounded."""
        return jnp.round(jnp.asarray(self.trial_duration) / self.dt).astype(jnp.int32)

    @property
    def max_steps(self) -> jax.Array:
        """Steps per episode when every trial runs to its time limit: ``trials_per_episode * trial_steps``."""
        return jnp.asarray(self.trials_per_episode, jnp.int32) * self.trial_steps

    @property
    def centre(self) -> jax.Array:
        """The pool centre ``(2,)``, m: ``(pool_radius, pool_radius)``, or a polygon's bounding-box centre."""
        if self.arena_shape == "polygon":
            return jnp.asarray((params_geometry(self).lower + params_geometry(self).upper) / 2)
        return jnp.full((2,), self.pool_radius, jnp.float32)

    def wall_along(self, angle: Any) -> Any:
        """Distance (m) from the centre to the wall along ``angle`` (rad): ``pool_radius``, or a polygon
        pool's first segment (a ray)."""
        if self.arena_shape != "polygon":
            return self.pool_radius
        return params_geometry(self).ray_distances(self.centre, geo.unit(jnp.asarray(angle))[None])[0]

    def platform_at(self, angle: Any) -> jax.Array:
        """The platform centre ``(2,)`` (m) at ``angle`` (rad): ``platform_offset`` of the way to the wall."""
        return self.centre + self.platform_offset * self.wall_along(angle) * geo.unit(jnp.asarray(angle))

    @property
    def platform_position(self) -> jax.Array:
        """The fixed platform's centre ``(2,)``, m (used in the "fixed" and "probe" modes)."""
        return self.platform_at(self.platform_angle)

    @property
    def cue_positions(self) -> jax.Array:
        """Positions of the K distal cues ``(K, 2)``, m."""
        return self.centre + self.cue_radius * geo.unit(jnp.asarray(self.cue_angles, jnp.float32))

    @property
    def n_cues(self) -> int:
        return len(self.cue_angles)


@struct.dataclass(kw_only=True)
class WaterMazeState(BodyState):
    platform: jax.Array  # (2,) m, platform centre (kept, though absent, in the probe mode)
    start_order: (
        jax.Array
    )  # (4,) int32 cardinal start indices (0 N, 1 E, 2 S, 3 W) for trials 0, 1, 2, 3 (mod 4)
    trial: jax.Array  # () int32, index of the current trial in the episode
    trial_step: jax.Array  # () int32, steps since this trial's release
    found: jax.Array  # () bool, the last step reached the platform (this trial is over)
    timeout: jax.Array  # () bool, the last step ran out of trial time (this trial is over)


@register
class WaterMaze(ArenaMixin, BodyEnv, NeuroEnv[WaterMazeState, WaterMazeParams]):
    """The Morris water maze (see the module docstring for the task, physics, spaces and reward)."""

    name = "WaterMaze"
    params_type = WaterMazeParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: WaterMazeParams) -> list[str]:
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={
                "platform_mode": PLATFORM_MODES,
                "start_facing": START_FACINGS,
                "arena_shape": ARENA_SHAPES,
            },
            positive=("pool_radius", "platform_radius", "dt", "trial_duration", "cue_radius", "cue_size"),
            at_least_one=("trials_per_episode",),
        )
        try:
            angles = np.asarray(params.cue_angles, float)
            if angles.ndim != 1 or angles.size < 1 or not np.all(np.isfinite(angles)):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(
                f"cue_angles must be a non-empty tuple of finite angles (rad), got {params.cue_angles!r}"
            )
        if not isinstance(params.cue_angles, tuple):
            problems.append(
                f"cue_angles must be a tuple (it is hashed as a static field), got "
                f"{type(params.cue_angles).__name__}"
            )
        if is_polygon(params):
            if not (0 <= float(params.platform_offset) < 1 and float(params.body_radius) > 0):
                problems.append(
                    f"in a polygon pool platform_offset must be in [0, 1) (of the way to the wall) and "
                    f"body_radius > 0, got {params.platform_offset} and {params.body_radius}"
                )
            return problems or _polygon_problems(params)
        radius = float(params.pool_radius)
        if not 0 <= float(params.platform_offset) * radius + float(params.platform_radius) < radius:
            problems.append(
                f"the platform must lie inside the pool: platform_offset * pool_radius + platform_radius = "
                f"{float(params.platform_offset) * radius + float(params.platform_radius):.3f} m, expected "
                f"< pool_radius = {radius} m and platform_offset >= 0"
            )
        reach = (1 - float(params.platform_offset)) * radius + float(params.platform_radius)
        if not 0 < float(params.body_radius) < min(radius, reach):
            problems.append(
                f"body_radius must be > 0 and leave the platform reachable (< pool_radius and < "
                f"(1 - platform_offset) * pool_radius + platform_radius = {reach:.3f} m), got "
                f"{params.body_radius}"
            )
        return problems

    # -- pool geometry ------------------------------------------------------------------------------------
    @staticmethod
    def quadrant(position: jax.Array, params: WaterMazeParams) -> jax.Array:
        """Quadrant index of ``position (..., 2)``: 0 NE, 1 NW, 2 SW, 3 SE (int32); boundaries run through the
        cardinal points (East and North belong to NE). In a polygon pool: the quarter-planes about its centre
        (equal areas only for a pool symmetric under quarter turns; see the module docstring)."""
        cx, cy = (params.pool_radius,) * 2 if not is_polygon(params) else params.centre
        dx = position[..., 0] - cx
        dy = position[..., 1] - cy
        east, north = dx >= 0, dy >= 0
        return jnp.where(north, jnp.where(east, 0, 1), jnp.where(east, 3, 2)).astype(jnp.int32)

    @staticmethod
    def inside(xy: jax.Array, params: WaterMazeParams) -> jax.Array:
        """Whether points ``(..., 2)`` lie in the water."""
        if is_polygon(params):
            return params_geometry(params).inside(xy)
        return (xy[..., 0] - params.pool_radius) ** 2 + (
            xy[..., 1] - params.pool_radius
        ) ** 2 <= params.pool_radius**2

    @staticmethod
    def project(position: jax.Array, params: WaterMazeParams) -> jax.Array:
        """The nearest point at most ``pool_radius - body_radius`` from the centre: a stroke into the wall
        slides along it (a polygon pool: the nearest point of the water, 10 um clear of every wall)."""
        if is_polygon(params):
            return params_geometry(params).project(position)
        return geo.project_into_circle(position, params.pool_radius, skin=params.body_radius)

    @staticmethod
    def collide(old: jax.Array, new: jax.Array, params: WaterMazeParams) -> jax.Array:
        """Where a stroke from ``old`` toward ``new`` ends: :meth:`project` of ``new`` in the circle, the
        segment sweep in a polygon pool."""
        if is_polygon(params):
            return params_geometry(params).sweep(old, new)
        return WaterMaze.project(new, params)

    @staticmethod
    def start_pose(index: jax.Array, params: WaterMazeParams) -> tuple[jax.Array, jax.Array]:
        """Release position ``(2,)`` and heading at cardinal start ``index`` (0 N, 1 E, 2 S, 3 W)."""
        angle = jnp.asarray(CARDINAL_ANGLES, jnp.float32)[index]
        position = params.centre + (params.wall_along(angle) - params.body_radius) * geo.unit(angle)
        heading = angle if params.start_facing == "wall" else geo.wrap_angle(angle + jnp.pi)
        return position, geo.wrap_angle(heading)

    def acting_pose(
        self, state: WaterMazeState, params: WaterMazeParams
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(position, heading, speed)`` from which the next action acts: the state's own pose, or the next
        trial's release pose when the last step ended a trial (what a policy should steer from)."""
        ended = state.found | state.timeout
        trial = state.trial + ended.astype(jnp.int32)
        start_position, start_heading = self.start_pose(state.start_order[trial % 4], params)
        position = jnp.where(ended, start_position, state.position)
        heading = jnp.where(ended, start_heading, state.heading)
        speed = jnp.where(ended, 0.0, state.speed)
        return position, heading, speed

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: WaterMazeParams | None = None) -> WaterMazeState:
        u = uniform21(rng, 3)
        order = jnp.asarray(START_ORDERS)[jnp.minimum((u[0] * 24).astype(jnp.int32), 23)]
        if params.platform_mode == "movable":
            platform = params.platform_at(2.0 * jnp.pi * u[1])
        else:
            platform = params.platform_position
        position, heading = self.start_pose(order[0], params)
        zero = jnp.zeros((), jnp.int32)
        return WaterMazeState(
            **resting_pose(position, heading),
            platform=platform.astype(jnp.float32),
            start_order=order,
            trial=zero,
            trial_step=zero,
            found=jnp.zeros((), bool),
            timeout=jnp.zeros((), bool),
        )

    def transition(
        self, state: WaterMazeState, action: jax.Array, rng: jax.Array, params: WaterMazeParams | None = None
    ) -> WaterMazeState:
        ended = state.found | state.timeout
        trial = state.trial + ended.astype(jnp.int32)
        trial_step = jnp.where(ended, 0, state.trial_step) + 1
        position, heading, speed = self.acting_pose(state, params)
        body = move(position, heading, speed, action, params, collide=self.collide)
        step = body.position - position
        length2 = step[0] ** 2 + step[1] ** 2
        # The swim path crosses the platform if the segment comes within platform_radius of its centre.
        t = jnp.clip(jnp.dot(state.platform - position, step) / jnp.maximum(length2, 1e-12), 0.0, 1.0)
        gap = state.platform - (position + t * step)
        found = (gap[0] ** 2 + gap[1] ** 2 <= params.platform_radius**2) & (params.platform_mode != "probe")
        timeout = (trial_step >= params.trial_steps) & ~found
        return state.replace(
            **body._asdict(),
            trial=trial,
            trial_step=trial_step,
            found=found,
            timeout=timeout,
        )

    def cue_features(self, position: jax.Array, heading: jax.Array, targets: jax.Array) -> jax.Array:
        """``(K, 3)``: cos and sin of the egocentric bearing (0 ahead, positive to the left) and the distance
        (m) from ``position`` to each of ``targets (K, 2)``."""
        rel = targets - position
        distance = jnp.sqrt(rel[:, 0] ** 2 + rel[:, 1] ** 2)
        u = rel / jnp.maximum(distance, 1e-9)[:, None]
        c, s = jnp.cos(heading), jnp.sin(heading)
        cos_b = u[:, 0] * c + u[:, 1] * s
        sin_b = u[:, 1] * c - u[:, 0] * s
        return jnp.stack([cos_b, sin_b, distance], axis=-1)

    def observation(
        self, state: WaterMazeState, rng: jax.Array, params: WaterMazeParams | None = None
    ) -> jax.Array | dict[str, jax.Array]:
        parts = [
            self.ray_distances(state.position, state.heading, params),
            self.cue_features(state.position, state.heading, params.cue_positions).reshape(-1),
        ]
        if params.visible_platform:
            parts.append(self.cue_features(state.position, state.heading, state.platform[None]).reshape(-1))
        parts.append(jnp.stack([state.speed, state.angular_velocity]))
        return self.observe(jnp.concatenate(parts).astype(jnp.float32), state, params)

    def reward(
        self,
        state: WaterMazeState,
        action: jax.Array,
        next_state: WaterMazeState,
        rng: jax.Array,
        params: WaterMazeParams | None = None,
    ) -> jax.Array:
        return jnp.where(next_state.found, params.platform_reward, 0.0).astype(jnp.float32)

    def terminal(
        self, state: WaterMazeState, rng: jax.Array, params: WaterMazeParams | None = None
    ) -> jax.Array:
        """The last trial ended: by finding the platform, or by running out of time before the episode's time
        limit (at the time limit the base class reports truncation instead)."""
        last = state.trial >= params.trials_per_episode - 1
        return last & (state.found | (state.timeout & (state.step < params.max_steps)))

    def state_info(self, state: WaterMazeState, params: WaterMazeParams | None = None) -> dict:
        """What the water-maze metrics need: ``time`` (s since this trial's release), ``position`` (m),
        ``heading``, ``speed``, ``platform`` (m; where it is, or was in a probe), ``platform_present``,
        ``quadrant`` and ``target_quadrant`` (0 NE, 1 NW, 2 SW, 3 SE), ``trial``, ``start`` (cardinal index of
        this trial's release, 0 N 1 E 2 S 3 W), ``found`` and ``timeout`` (this step ended the trial)."""
        return {
            **pose_info(state, state.trial_step.astype(jnp.float32) * params.dt),
            "platform": state.platform,
            "platform_present": jnp.asarray(params.platform_mode != "probe"),
            "quadrant": self.quadrant(state.position, params),
            "target_quadrant": self.quadrant(state.platform, params),
            "trial": state.trial,
            "start": state.start_order[state.trial % 4],
            "found": state.found,
            "timeout": state.timeout,
        }

    # -- egocentric image ---------------------------------------------------------------------------------
    def image_channels(
        self, world: jax.Array, floor: jax.Array, state: WaterMazeState, params: WaterMazeParams
    ) -> list[jax.Array]:
        """After the pool: the distal cues, then (where visible) the platform."""
        rel = world[:, :, None, :] - params.cue_positions  # (n, n, K, 2)
        channels = [jnp.any(rel[..., 0] ** 2 + rel[..., 1] ** 2 <= params.cue_size**2, axis=-1)]
        if params.visible_platform:
            rel = world - state.platform
            channels.append(rel[..., 0] ** 2 + rel[..., 1] ** 2 <= params.platform_radius**2)
        return channels

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: WaterMazeParams | None = None) -> spaces.Space:
        reach = float(params.reach)
        g = params_geometry(params) if is_polygon(params) else None  # longest chord: diameter or box diagonal
        longest = float(np.hypot(*(g.upper - g.lower))) if g is not None else 2 * reach
        k = params.n_cues
        cue_low = np.tile([-1.0, -1.0, 0.0], k)
        cue_high = np.tile([1.0, 1.0, reach + float(params.cue_radius)], k)
        low = [np.zeros(params.n_rays), cue_low]
        high = [np.full(params.n_rays, longest), cue_high]
        if params.visible_platform:
            low.append([-1.0, -1.0, 0.0])
            high.append([1.0, 1.0, longest])
        low.append([0.0, -float(params.max_angular_velocity)])
        high.append([float(params.max_speed), float(params.max_angular_velocity)])
        low, high = np.concatenate(low).astype(np.float32), np.concatenate(high).astype(np.float32)
        # Slack absorbs float32 rounding (a unit vector's component can be 1 ulp above 1).
        high = np.nextafter(high, np.float32(np.inf)) * np.float32(1 + 1e-6)
        low = np.where(low < 0, np.nextafter(low, np.float32(-np.inf)) * np.float32(1 + 1e-6), low)
        vector = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        if not params.observe_image:
            return vector
        channels = 3 if params.visible_platform else 2
        image = spaces.Box(0.0, 1.0, (params.image_size, params.image_size, channels), np.float32)
        return spaces.Dict({"vector": vector, "image": image})

    # -- what the environment says about itself ----------------------------------------------------------
    def arena(self, params: WaterMazeParams) -> dict[str, Any]:
        """``{"shape": "circle", "radius": pool_radius}``, or the pool's mapping (a polygon; regions)."""
        if params.arena:
            return json.loads(params.arena)
        return {"shape": "circle", "radius": float(params.pool_radius)}

    def with_arena(self, params: WaterMazeParams, arena: Any) -> WaterMazeParams:
        """``params`` in the pool ``arena`` (any form ``envs.arena.resolve_arena`` takes): a circle sets
        ``pool_radius`` (with regions, the mapping is kept too); else a polygon pool; a box is refused."""
        mapping = resolve_arena(arena)
        if is_analytic(mapping) and mapping["shape"] == "circle":
            kept = json.dumps(mapping, separators=(",", ":")) if mapping["regions"] else ""
            return params.replace(arena_shape="circle", pool_radius=mapping["radius"], arena=kept)
        if mapping.get("shape") == "box":
            msg = "give a square pool as {'boundary': [[0, 0], [W, 0], [W, H], [0, H]]}"
            raise ValueError(
                f"{self.env_id()}: the pool is a circle or a polygon, not a box shorthand; {msg}"
            )
        return params.replace(arena_shape="polygon", arena=json.dumps(mapping, separators=(",", ":")))

    def recording_attrs(self, params: WaterMazeParams) -> dict[str, Any]:
        """``platform_radius`` and, for the circle, ``pool_radius`` (what ``analysis.water_maze`` reads as the
        pool: a polygon pool has none, so its quadrant measures ask for the pool explicitly)."""
        if is_polygon(params):
            return {"platform_radius": float(params.platform_radius)}
        return {"platform_radius": float(params.platform_radius), "pool_radius": float(params.pool_radius)}

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(
        self, params: WaterMazeParams | None = None, trail_seconds: float = 10.0, size: int = 256
    ):
        return trail_render_state(params, trail_seconds, size, trial=None)

    def render_image(self, state: WaterMazeState, render_state: Any, params: WaterMazeParams | None = None):
        """The experimenter's view from above: pool (a polygon pool with its regions), quadrant boundaries
        (circle), distal cues, the platform (solid when present, an outline where it was in a probe), the swim
        path of this trial and the rat."""
        render_state = render_state or self.render_init(params)
        radius = float(params.reach)
        centre = (radius, radius) if not is_polygon(params) else tuple(float(v) for v in params.centre)
        outer = float(params.cue_radius) + float(params.cue_size)
        half = max(outer, radius) * 1.05
        canvas = Canvas(
            (centre[0] - half, centre[0] + half),
            (centre[1] - half, centre[1] + half),
            size=render_state["size"],
            background=COLOURS["outside"],
        )
        wall = 0.015 * 2 * half
        if is_polygon(params):
            _draw_polygon_pool(canvas, json.loads(params.arena), wall)
        else:
            canvas.fill_circle(centre, radius, WATER)
            for angle in CARDINAL_ANGLES[:2]:  # the N-S and E-W quadrant boundaries
                d = radius * np.array([np.cos(angle), np.sin(angle)])
                canvas.line(np.array(centre) - d, np.array(centre) + d, wall / 4, COLOURS["wall"], 0.25)
            canvas.ring(centre, radius + wall / 2, wall, COLOURS["wall"])
        for cue in np.asarray(params.cue_positions):
            canvas.fill_circle(cue, float(params.cue_size), COLOURS["cue"])
        platform = np.asarray(state.platform, float)
        if params.platform_mode == "probe":
            canvas.ring(platform, float(params.platform_radius), wall / 2, COLOURS["platform"])
        else:
            canvas.fill_circle(
                platform,
                float(params.platform_radius),
                COLOURS["platform"],
                1.0 if params.visible_platform else 0.6,
            )
        if render_state["trial"] != int(state.trial) or int(state.trial_step) == 0:
            render_state["trail"].clear()  # a new trial (or episode): a new swim path
        render_state["trial"] = int(state.trial)
        draw_animal(canvas, self, state, params, render_state, wall, radius=0.03 * 2 * half)
        return render_state, canvas.image


def _polygon_problems(params: WaterMazeParams) -> list[str]:
    """A polygon pool's layout: the centre on the water, more than ``body_radius`` from every wall; the four
    releases on the water; the platform disc (at every angle, on a 0.5 degree grid, when it is movable) on
    the water, clear of every wall."""
    g, body = params_geometry(params), float(params.body_radius)
    at = lambda xy: [round(float(v), 4) for v in xy]  # noqa: E731
    if not (bool(g.inside(params.centre)) and float(g.distance_to_wall(params.centre)) > body):
        return [
            f"the pool's centre (its bounding box's, {at(params.centre)} m) must lie on the water, more than "
            f"body_radius = {body} m from every wall: releases, platform and quadrants are placed from it"
        ]
    problems = []
    for k, name in enumerate(CARDINAL_NAMES):
        release = WaterMaze.start_pose(jnp.int32(k), params)[0]
        if not (bool(g.inside(release)) and float(g.distance_to_wall(release)) >= 2 * geo.SKIN):
            problems.append(
                f"the release {name} ({at(release)} m, body_radius = {body} m short of the wall) is dry"
            )
    movable = params.platform_mode == "movable"
    angles = np.arange(720) * np.pi / 360 if movable else np.array([float(params.platform_angle)])
    where = jax.vmap(params.platform_at)(jnp.asarray(angles, jnp.float32))
    clear = np.asarray(g.distance_to_wall(where)) * np.asarray(g.inside(where))
    bad = np.flatnonzero(clear < float(params.platform_radius))
    if len(bad):
        k = bad[np.argmin(clear[bad])]
        problems.append(
            f"the platform must lie on the water, platform_radius = {float(params.platform_radius)} m clear "
            f"of every wall: at angle {np.degrees(angles[k]):.1f} deg (platform_offset = "
            f"{float(params.platform_offset)} of the way to the wall) it is at {at(where[k])} m, "
            f"{clear[k]:.4f} m from a wall (0: dry)"
            + (" (movable: every angle is checked)" if movable else "")
        )
    return problems


def _draw_polygon_pool(canvas: Canvas, arena: dict[str, Any], wall: float) -> None:
    """A polygon pool: the water (boundary less holes), its regions tinted, its outlines and thin walls."""
    canvas.fill_polygon([arena["boundary"], *arena["holes"]], WATER)
    for k, region in enumerate(arena["regions"].values()):
        canvas.fill_polygon([region], REGION_COLOURS[k % len(REGION_COLOURS)], alpha=0.18)
    for ring in [arena["boundary"], *arena["holes"]]:
        canvas.polyline(np.vstack([ring, ring[:1]]), wall, COLOURS["wall"])
    for a, b in arena["walls"]:
        canvas.line(a, b, wall, COLOURS["wall"])
