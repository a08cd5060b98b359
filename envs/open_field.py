"""OpenField-v0: a rodent exploring an empty arena.

The paradigm: an animal placed in a walled arena and left to explore; the standard setting for place and grid
cell recordings and for thigmotaxis and exploration measures. The default arena is the 1 x 1 m box of
Sargolini et al. 2006 (Science 312:758), whose rat trajectory ships with ``ratinabox``. Any lab's arena works:
``make("neuroethology/OpenField-v0", arena=ARENA)`` with a preset name (``"plus_maze"``, ``"y_maze"``, ...),
a YAML/JSON file or a mapping in metres (:mod:`neuroethology.envs.arena`); a box or circle is stepped with
analytic formulas, any other arena (``arena_shape="polygon"``) with its segments.

Physics (one step of ``dt`` seconds)::

    a, w      = clip(action)                        # forward acceleration (m/s^2), angular velocity (rad/s)
    v'        = clip(v + a dt, 0, max_speed)        # intended speed
    theta'    = wrap(theta + w dt)                  # heading: the body turns, then moves along its heading
    x'        = project(x + v' dt (cos theta', sin theta'))   # solid walls: a step into a wall slides on it
    speed     = min(|x' - x| / dt, v')              # the speed actually achieved (0 when walking into a wall)

The body (bounds, action handling and these kinematics) is :mod:`neuroethology.envs.body`'s, shared by every
spatial environment; only the walls are this arena's: the nearest floor point in a box or circle, the segment
sweep in a polygon (the step stops 10 um before the first wall, hole or boundary edge it would cross and
slides along it; :meth:`neuroethology.envs.geometry.ArenaGeometry.sweep`).

Observation (``Box``, float32, SI units)::

    [ray_0 .. ray_{n_rays-1}  (m),  speed (m/s),  angular velocity (rad/s)]

``ray_i`` is the distance to the wall along the centre of the i-th of ``n_rays`` equal sectors of the
egocentric field of view (ray 0 on the right, the last on the left), read at most ``ray_range`` (0, the
default: unlimited). A finite range makes a ray mean the same thing in any arena: a network fitted in a 1 m box with
``ray_range=0.3`` reads "no wall within 0.3 m" in the middle of a 3 m box too, an input it saw in fitting,
where an unlimited ray would read 1.5 m, beyond anything it saw (see ``neuroethology.fitting``'s transfer
check). With ``observe_image=True`` the
observation is a ``Dict`` with that vector under ``"vector"`` and an egocentric top-down image
``(image_size, image_size, C)`` in [0, 1] under ``"image"``: the animal at the centre facing up; channel 0
is the floor (1) versus wall/outside (0), channel 1 (with a coverage or novelty reward) marks visited floor.

Action (``Box``, float32): ``[forward acceleration (m/s^2), angular velocity (rad/s)]`` bounded by
``max_acceleration`` and ``max_angular_velocity``. The JAX core replaces NaN by 0 and +-inf by the bound and
clips into the box, so no action can leave the arena or make the state non-finite; the Gymnasium adapter
instead rejects actions outside the space with a ``ValueError``.

Reward: none by default (free exploration); ``reward_type="coverage"`` pays the fraction of the arena's
``coverage_bins x coverage_bins`` grid (over the floor's bounding box; only cells with floor count: cells
whose centre is on the floor of a circle, cells holding any floor in a polygon) newly visited at each step
(the return is the coverage);
``"novelty"`` pays ``1/sqrt(n)`` for the ``n``-th visit to a grid cell (count-based exploration bonus,
Strehl & Littman 2008, J. Comput. Syst. Sci. 74:1309). Episodes never terminate; they are truncated after
``episode_duration`` seconds.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from .arena import ArenaMixin, arena_bounds, floor_cells, is_polygon
from .body import RAT, BodyEnv, BodyState, move, pose_info, resting_pose
from .core import NeuroEnv, register
from .rendering import COLOURS, Canvas, draw_animal, trail_render_state

__all__ = ["OpenField", "OpenFieldParams", "OpenFieldState"]

ARENA_SHAPES = ("box", "circle", "polygon")
REWARD_TYPES = ("none", "coverage", "novelty")


@struct.dataclass
class OpenFieldParams:
    """Parameters of OpenField-v0, SI units. Fields marked static change array shapes or code paths
    (changing them recompiles); the others may be traced and vmapped over."""

    # Arena (set any arena with make(..., arena=...): a preset, a YAML/JSON file or a mapping).
    arena_shape: str = struct.field(pytree_node=False, default="box")  # "box", "circle" or "polygon"
    width: float = 1.0  # m, box x extent: the 1 x 1 m box of Sargolini et al. 2006
    height: float = 1.0  # m, box y extent (Sargolini et al. 2006)
    radius: float = (
        0.5  # m, circular arena radius (a 1 m diameter open field); used when arena_shape="circle"
    )
    arena: str = struct.field(pytree_node=False, default="")  # a polygon arena's canonical mapping as JSON
    # (envs.arena.resolve_arena; metres); "" for a box or circle
    # Time.
    dt: float = 0.02  # s, the 50 Hz position sampling of Sargolini et al. 2006
    episode_duration: float = 600.0  # s, one 10 min recording session of Sargolini et al. 2006
    # Body and action bounds: the Sargolini rat's, from envs.body.RAT (its comments give the sources).
    max_speed: float = RAT.max_speed  # m/s: 1.0, above the rat's fastest 50 Hz step
    max_acceleration: float = RAT.max_acceleration  # m/s^2: 10, above its 99.9th percentile
    max_angular_velocity: float = RAT.max_angular_velocity  # rad/s: 8 pi, above its 95th percentile
    # Senses.
    n_rays: int = struct.field(pytree_node=False, default=12)  # wall-distance rays
    ray_range: float = (
        0.0  # m: rays read at most this (a finite sensory range; 0: unlimited; module docstring)
    )
    field_of_view: float = RAT.field_of_view  # rad (270 deg): the rat's panoramic field (envs.body.RAT)
    observe_image: bool = struct.field(pytree_node=False, default=False)  # add the egocentric image
    image_size: int = struct.field(pytree_node=False, default=32)  # pixels per side of that image
    image_extent: float = 0.6  # m, side of the square the image covers (about three rat body lengths)
    # Reward.
    reward_type: str = struct.field(pytree_node=False, default="none")  # "none", "coverage" or "novelty"
    coverage_bins: int = struct.field(pytree_node=False, default=10)  # grid cells per side for the reward

    @property
    def max_steps(self) -> jax.Array:
        """Steps per episode: ``episode_duration / dt``, rounded."""
        return jnp.round(jnp.asarray(self.episode_duration) / self.dt).astype(jnp.int32)

    @property
    def extent(self) -> tuple[Any, Any]:
        """(x, y) size of the arena's bounding box, m."""
        if self.arena_shape == "circle":
            return 2 * self.radius, 2 * self.radius
        if self.arena_shape == "polygon":
            (x0, y0), (x1, y1) = arena_bounds(self)
            return x1 - x0, y1 - y0
        return self.width, self.height

    @property
    def origin(self) -> tuple[float, float]:
        """Lower-left corner (m) of the arena's bounding box: (0, 0) for a box or circle."""
        return arena_bounds(self)[0] if self.arena_shape == "polygon" else (0.0, 0.0)


@struct.dataclass(kw_only=True)
class OpenFieldState(BodyState):
    visits: jax.Array  # (coverage_bins, coverage_bins) int32 visit counts; (0, 0) when reward_type="none"


def _bins(params: OpenFieldParams) -> int:
    return params.coverage_bins if params.reward_type != "none" else 0


@register
class OpenField(ArenaMixin, BodyEnv, NeuroEnv[OpenFieldState, OpenFieldParams]):
    """A rodent in an open arena (see the module docstring for physics, spaces and reward)."""

    name = "OpenField"
    params_type = OpenFieldParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: OpenFieldParams) -> list[str]:
        return super().validate_params(params) + self.check_fields(
            params,
            choices={"arena_shape": ARENA_SHAPES, "reward_type": REWARD_TYPES},
            positive=("width", "height", "radius", "dt", "episode_duration"),
            non_negative=("ray_range",),
            at_least_one=("coverage_bins",),
        )

    # -- arena: ArenaMixin's (collide, project, inside, wall_distance, ray_distances, sample_pose) ----------

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: OpenFieldParams | None = None) -> OpenFieldState:
        position, heading = self.sample_pose(rng, params)
        n = _bins(params)
        visits = jnp.zeros((n, n), jnp.int32)
        if n:
            visits = visits.at[self._bin(position, params)].add(1)
        return OpenFieldState(
            **resting_pose(position, heading),
            visits=visits,
        )

    def transition(
        self, state: OpenFieldState, action: jax.Array, rng: jax.Array, params: OpenFieldParams | None = None
    ) -> OpenFieldState:
        body = move(state.position, state.heading, state.speed, action, params, collide=self.collide)
        visits = state.visits
        if _bins(params):
            visits = visits.at[self._bin(body.position, params)].add(1)
        return state.replace(**body._asdict(), visits=visits)

    def observation(
        self, state: OpenFieldState, rng: jax.Array, params: OpenFieldParams | None = None
    ) -> jax.Array | dict[str, jax.Array]:
        vector = jnp.concatenate(
            [
                self._rays(state, params),
                jnp.stack([state.speed, state.angular_velocity]),
            ]
        ).astype(jnp.float32)
        return self.observe(vector, state, params)

    def _rays(self, state: OpenFieldState, params: OpenFieldParams) -> jax.Array:
        """The wall rays, read at most ``ray_range`` (0: unlimited)."""
        rays = self.ray_distances(state.position, state.heading, params)
        reach = jnp.asarray(params.ray_range, rays.dtype)
        return jnp.where(reach > 0, jnp.minimum(rays, reach), rays)

    def reward(
        self,
        state: OpenFieldState,
        action: jax.Array,
        next_state: OpenFieldState,
        rng: jax.Array,
        params: OpenFieldParams | None = None,
    ) -> jax.Array:
        if params.reward_type == "none":
            return jnp.zeros((), jnp.float32)
        idx = self._bin(next_state.position, params)
        count = next_state.visits[idx]
        if params.reward_type == "coverage":
            return jnp.where(count == 1, 1.0 / self._n_floor_bins(params), 0.0).astype(jnp.float32)
        return (1.0 / jnp.sqrt(count.astype(jnp.float32))).astype(jnp.float32)

    def terminal(
        self, state: OpenFieldState, rng: jax.Array, params: OpenFieldParams | None = None
    ) -> jax.Array:
        return jnp.zeros((), bool)

    def state_info(self, state: OpenFieldState, params: OpenFieldParams | None = None) -> dict:
        return pose_info(state, state.step * params.dt)

    # -- coverage grid ------------------------------------------------------------------------------------
    def _bin(self, position: jax.Array, params: OpenFieldParams) -> tuple[jax.Array, jax.Array]:
        """Grid cell ``(iy, ix)`` of points ``(..., 2)``."""
        n = params.coverage_bins
        ex, ey = params.extent
        x, y = position[..., 0], position[..., 1]
        if is_polygon(params):
            x, y = x - params.origin[0], y - params.origin[1]
        ix = jnp.clip(jnp.floor(x / ex * n), 0, n - 1).astype(jnp.int32)
        iy = jnp.clip(jnp.floor(y / ey * n), 0, n - 1).astype(jnp.int32)
        return iy, ix

    def _bin_centres(self, params: OpenFieldParams) -> jax.Array:
        n = params.coverage_bins
        ex, ey = params.extent
        c = (jnp.arange(n) + 0.5) / n
        return jnp.stack(jnp.meshgrid(c * ex, c * ey, indexing="xy"), axis=-1)  # (iy, ix, 2)

    def _n_floor_bins(self, params: OpenFieldParams) -> jax.Array:
        """Grid cells with floor: all of them for a box, those whose centre is on the floor for a circle,
        those holding any floor for a polygon."""
        if is_polygon(params):
            n = params.coverage_bins
            return jnp.float32(max(int(floor_cells(params.arena, (n, n)).sum()), 1))
        return jnp.maximum(jnp.sum(self.inside(self._bin_centres(params), params)), 1).astype(jnp.float32)

    # -- egocentric image ---------------------------------------------------------------------------------
    def image_channels(
        self, world: jax.Array, floor: jax.Array, state: OpenFieldState, params: OpenFieldParams
    ) -> list[jax.Array]:
        """After the floor: the visited coverage bins (on the floor), where the task counts coverage."""
        if not _bins(params):
            return []
        return [(state.visits[self._bin(world, params)] > 0) & floor]

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: OpenFieldParams | None = None) -> spaces.Space:
        ex, ey = (float(v) for v in params.extent)
        longest = float(np.hypot(ex, ey))
        if float(params.ray_range) > 0:
            longest = min(longest, float(params.ray_range))
        low = np.concatenate([np.zeros(params.n_rays), [0.0, -params.max_angular_velocity]]).astype(
            np.float32
        )
        high = np.concatenate(
            [np.full(params.n_rays, longest), [params.max_speed, params.max_angular_velocity]]
        ).astype(np.float32)
        # A little slack on the upper bounds absorbs float32 rounding (a ray can be 1 ulp over the diagonal).
        vector = spaces.Box(
            low, np.nextafter(high, np.float32(np.inf)) * np.float32(1 + 1e-6), dtype=np.float32
        )
        if not params.observe_image:
            return vector
        channels = 2 if _bins(params) else 1
        image = spaces.Box(0.0, 1.0, (params.image_size, params.image_size, channels), np.float32)
        return spaces.Dict({"vector": vector, "image": image})

    # -- what the environment says about itself (arena and with_arena: ArenaMixin's) ----------------------
    def with_session(self, params: OpenFieldParams, seconds: float) -> OpenFieldParams:
        """Free exploration: the episode is only a time limit, extended to cover ``seconds`` (and 10 steps)."""
        steps = max(2, int(round(seconds / float(params.dt))))
        return params.replace(episode_duration=(steps + 10) * float(params.dt))

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(self, params: OpenFieldParams | None = None, trail_seconds: float = 5.0, size: int = 256):
        return trail_render_state(params, trail_seconds, size)

    @staticmethod
    def draw_arena(params: Any, size: int) -> tuple[Canvas, float]:
        """A canvas with the floor and walls of ``params``' arena (box, circle or polygon; any params with
        ``extent``, ``arena_shape`` and ``radius``, and ``arena`` for a polygon) and the wall thickness
        drawn, in metres."""
        if params.arena_shape == "polygon":
            return ArenaMixin.arena_canvas(params, size)
        ex, ey = (float(v) for v in params.extent)
        pad = 0.05 * max(ex, ey)
        canvas = Canvas((-pad, ex + pad), (-pad, ey + pad), size=size, background=COLOURS["outside"])
        wall = 0.015 * max(ex, ey)
        if params.arena_shape == "circle":
            r = float(params.radius)
            canvas.fill_circle((r, r), r, COLOURS["floor"])
            canvas.ring((r, r), r + wall / 2, wall, COLOURS["wall"])
        else:
            canvas.fill_rect(0, 0, ex, ey, COLOURS["floor"])
            canvas.rect_outline(-wall / 2, -wall / 2, ex + wall / 2, ey + wall / 2, wall, COLOURS["wall"])
        return canvas, wall

    def render_image(self, state: OpenFieldState, render_state: Any, params: OpenFieldParams | None = None):
        render_state = render_state or self.render_init(params)
        canvas, wall = self.draw_arena(params, render_state["size"])
        draw_animal(canvas, self, state, params, render_state, wall)  # the agent: 3% of the arena's extent
        return render_state, canvas.image
