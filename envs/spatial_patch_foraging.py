"""SpatialPatchForaging-v0: the patch-leaving problem in an open field, where travel is walking.

The task of PatchForaging-v0 (when should a forager leave a depleting patch? Charnov's Marginal Value
Theorem, Charnov 1976, Theor. Popul. Biol. 9:129) with the patches placed in space: ``n_patches`` circular
patches (radius ``patch_radius``) sit evenly on a circle of radius ``patch_ring_radius`` around the centre of
an OpenField arena (any arena, ``make(..., arena=ARENA)``: the centre of its bounding box; the first patch
``patch_ring_phase`` of the spacing anticlockwise from east), and travel is walking. The body (motion
physics, wall rays, action space: forward acceleration m/s^2, angular velocity rad/s) is OpenField's, from
:mod:`neuroethology.envs.body`; so are the walls (analytic in a box or circle, the segments of any other
arena, as OpenField). Patches
deplete and pay rewards as :mod:`neuroethology.envs.patch_task` describes. A step that ends inside a patch
harvests it (patches never overlap); every patch not being harvested replenishes,
``rho' = 1 - (1 - rho) exp(-dt / replenish_tau)``. Observation (``Box``, float32)::

    [ray_0 .. ray_{n_rays-1} (m), speed (m/s), angular velocity (rad/s),
     for each patch i: distance to its centre (m), cos and sin of its egocentric bearing,
     inside a patch (0/1), last reward (units), time harvested in the current patch (s)]

With ``observe_image=True`` the observation is a ``Dict`` with that vector under ``"vector"`` and an
egocentric top-down image ``(image_size, image_size, 2)`` (the animal at the centre facing up; channel 0 the
floor, channel 1 the patches) under ``"image"``.

Random draws (few, cheap: see ``uniform21``): a transition draws ``uniform21(rng, 1)`` with Bernoulli
rewards (nothing with expected rewards); an episode starts at a uniform pose (as OpenField's), every patch
fresh. The JAX core never rejects an action: NaN becomes 0, +-inf the bound, and the action is clipped into
the box. The Gymnasium adapter instead rejects actions outside the space with a ``ValueError``.

``info`` (and ``state_info``) carry the shared patch fields (:mod:`~neuroethology.envs.patch_task`) and
``position``, ``heading``, ``speed`` and ``levels`` (every patch's level).

:func:`~neuroethology.envs.patch_mvt.mvt_optimum` gives the MVT optimum for the best tour of the patch
ring, patches found at their stationary replenished level. It assumes straight walks between neighbouring
patches: where such a walk would cross a wall (a maze's arms, a barrier) it raises a ``ValueError`` naming
the walks instead of giving a wrong optimum. Patches must lie on the floor, ``patch_radius`` clear of every
wall (validated). Until 2026 this task was PatchForaging-v0's ``mode="spatial"``;
``make("neuroethology/PatchForaging-v0", mode="spatial")`` still builds it.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from . import geometry as geo
from .arena import ArenaMixin, arena_bounds, is_polygon, params_geometry
from .body import RAT, BodyEnv, move, resting_pose
from .core import register, uniform21
from .open_field import OpenField, OpenFieldParams
from .patch_mvt import _concrete, ring_arrival_level, spatial_travel_time, walking_travel_steps
from .patch_task import PatchParams, PatchState, PatchTask
from .rendering import COLOURS, draw_animal, trail_render_state

__all__ = ["SpatialPatchForaging", "SpatialPatchForagingParams", "SpatialPatchForagingState"]

ARENA_SHAPES = ("box", "circle", "polygon")


_OPEN_FIELD = OpenFieldParams()  # the arena and senses SpatialPatchForaging shares with OpenField


@struct.dataclass
class SpatialPatchForagingParams(PatchParams):
    """Parameters of SpatialPatchForaging-v0: the patch fields of
    :class:`~neuroethology.envs.patch_task.PatchParams`, the arena, the patches in it and the body, SI units
    (static fields change array shapes or code paths; numbers marked "chosen" are modelling choices)."""

    replenish_tau: float = 10.0  # s, recovery time constant of a patch left alone. Chosen equal to
    # depletion_tau
    # Arena: OpenField's arena (Sargolini et al. 2006, 1 x 1 m box), its defaults taken from OpenFieldParams.
    # Any arena: make(..., arena=...) (a preset, a YAML/JSON file or a mapping; see envs.arena).
    arena_shape: str = struct.field(pytree_node=False, default=_OPEN_FIELD.arena_shape)  # "box", "circle"
    # or "polygon"
    width: float = _OPEN_FIELD.width  # m, box x extent
    height: float = _OPEN_FIELD.height  # m, box y extent
    radius: float = _OPEN_FIELD.radius  # m, circular arena radius
    arena: str = struct.field(pytree_node=False, default=_OPEN_FIELD.arena)  # a polygon arena's canonical
    # mapping as JSON; "" for a box or circle
    n_patches: int = struct.field(pytree_node=False, default=4)  # patches on the ring (chosen: 4 feeders)
    patch_radius: float = 0.08  # m: 0.16 m across, about a rat's body length without the tail (chosen)
    patch_ring_radius: float = 0.3  # m, distance of the patch centres from the arena centre (chosen: the
    # patches sit well inside the walls, 0.42 m apart with 4 patches)
    patch_ring_phase: float = 0.5  # angle of the first patch from east, in units of the spacing 2 pi /
    # n_patches (chosen: 0.5 puts 4 patches on the diagonals; 0 puts the first east, as the arms of a
    # plus or radial maze)
    # Body and action bounds: the Sargolini rat's, from envs.body.RAT (sources there).
    max_speed: float = RAT.max_speed  # m/s: 1.0, above the rat's fastest 50 Hz step
    max_acceleration: float = RAT.max_acceleration  # m/s^2: 10, above its 99.9th percentile
    max_angular_velocity: float = RAT.max_angular_velocity  # rad/s: 8 pi, above its 95th percentile
    # Senses: OpenField's (defaults taken from OpenFieldParams, whose comments give their reasons).
    n_rays: int = struct.field(pytree_node=False, default=_OPEN_FIELD.n_rays)  # wall-distance rays
    field_of_view: float = _OPEN_FIELD.field_of_view  # rad (270 deg): the rat's panoramic field
    observe_image: bool = struct.field(pytree_node=False, default=_OPEN_FIELD.observe_image)
    image_size: int = struct.field(pytree_node=False, default=_OPEN_FIELD.image_size)  # pixels per side
    image_extent: float = _OPEN_FIELD.image_extent  # m, side of the square the image covers

    @property
    def step_recovery(self) -> Any:
        """Factor by which a step away shrinks a patch's deficit ``1 - rho``: ``exp(-dt / replenish_tau)``."""
        return jnp.exp(-jnp.asarray(self.dt) / self.replenish_tau)

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
    def patch_centres(self) -> jax.Array:
        """``(n_patches, 2)`` m: evenly on a circle of ``patch_ring_radius`` about the centre of the arena's
        bounding box, the first at angle ``2 pi patch_ring_phase / n_patches`` (by default ``pi /
        n_patches``: with 4 patches, on the diagonals)."""
        ex, ey = self.extent
        angles = (2 * jnp.arange(self.n_patches) + 2 * self.patch_ring_phase) * jnp.pi / self.n_patches
        centre = jnp.stack([ex / 2, ey / 2])
        if self.arena_shape == "polygon":
            centre = centre + jnp.asarray(arena_bounds(self)[0])
        return centre + self.patch_ring_radius * geo.unit(angles)

    # What the Marginal Value Theorem needs (patch_mvt.py): a walk between neighbouring patches, and patches
    # found at the stationary level of the ring tour.
    @property
    def fresh_patches(self) -> bool:
        return False

    def mean_travel_steps(self) -> float:
        _check_straight_walks(self)
        return walking_travel_steps(self)

    def nominal_travel_time(self) -> float:
        _check_straight_walks(self)
        return spatial_travel_time(self)

    def arrival_level(self, residence_steps: int | np.ndarray) -> np.ndarray:
        _check_straight_walks(self)
        return ring_arrival_level(self, residence_steps)


@struct.dataclass(kw_only=True)
class SpatialPatchForagingState(PatchState):
    """The shared patch state, the body and every patch's level."""

    position: jax.Array  # (2,) m
    heading: jax.Array  # () rad, in [-pi, pi)
    speed: jax.Array  # () m/s, achieved in the last step
    angular_velocity: jax.Array  # () rad/s, commanded in the last step
    levels: jax.Array  # (n_patches,) every patch's level

    @property
    def current_level(self) -> jax.Array:
        """Resource level of the patch the animal is in (0 outside the patches)."""
        here = jnp.arange(self.levels.shape[-1]) == self.patch
        return jnp.sum(jnp.where(here, self.levels, 0.0))


@register
class SpatialPatchForaging(ArenaMixin, BodyEnv, PatchTask):
    """The patch-leaving problem in an open field (see the module docstring for spaces and reward)."""

    name = "SpatialPatchForaging"
    params_type = SpatialPatchForagingParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: SpatialPatchForagingParams) -> list[str]:
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={"arena_shape": ARENA_SHAPES},
            positive=("replenish_tau", "width", "height", "radius", "patch_radius"),
            non_negative=("patch_ring_radius",),
        )
        if problems:
            return problems  # the checks below need sane values
        return self.reward_problems(params) + self._layout_problems(params)

    @staticmethod
    def _layout_problems(params: SpatialPatchForagingParams) -> list[str]:
        n = int(params.n_patches)
        if n < 2:
            return [f"n_patches must be >= 2 (travel is walking between patches), got {n}"]
        problems = []
        r, ring = _concrete(params, "patch_radius"), _concrete(params, "patch_ring_radius")
        if 2 * ring * math.sin(math.pi / n) <= 2 * r:
            problems.append(
                f"patches overlap: {n} patches of radius {r} m on a ring of radius {ring} m are "
                f"{2 * ring * math.sin(math.pi / n):.3g} m apart (need > {2 * r} m)"
            )
        centres = np.asarray(params.patch_centres, float)
        if is_polygon(params):
            g = params_geometry(params)
            clear = np.asarray(g.distance_to_wall(jnp.asarray(centres, jnp.float32))) * np.asarray(
                g.inside(jnp.asarray(centres, jnp.float32))
            )
            bad = np.flatnonzero(clear < r)
            if len(bad):
                problems.append(
                    f"patches must lie inside the arena, patch_radius = {r} m clear of every wall: patch "
                    + ", ".join(
                        f"{k} at {[round(v, 4) for v in centres[k]]} m is {clear[k]:.4f} m" for k in bad
                    )
                    + " from a wall (0: off the floor); move them with patch_ring_radius and patch_ring_phase"
                )
            return problems
        if params.arena_shape == "circle":
            R = _concrete(params, "radius")
            inside = np.hypot(centres[:, 0] - R, centres[:, 1] - R) + r <= R
        else:
            w, h = _concrete(params, "width"), _concrete(params, "height")
            inside = (
                (centres[:, 0] - r >= 0)
                & (centres[:, 0] + r <= w)
                & (centres[:, 1] - r >= 0)
                & (centres[:, 1] + r <= h)
            )
        if not np.all(inside):
            problems.append(
                f"patches must lie inside the arena: patch_ring_radius + patch_radius = {ring + r} m reaches "
                f"past the walls of the {params.arena_shape} arena"
            )
        return problems

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(
        self, rng: jax.Array, params: SpatialPatchForagingParams | None = None
    ) -> SpatialPatchForagingState:
        """A uniform pose on the floor, every patch fresh."""
        zero_f = jnp.zeros((), jnp.float32)
        position, heading = self.sample_pose(rng, params)
        inside = self.inside_patches(position, params)
        return SpatialPatchForagingState(
            level=jnp.ones((), jnp.float32),
            residence=jnp.zeros((), jnp.int32),
            patch=jnp.where(jnp.any(inside), jnp.argmax(inside), -1).astype(jnp.int32),
            patches_visited=jnp.any(inside).astype(jnp.int32),
            last_reward=zero_f,
            patch_reward=zero_f,
            left=jnp.zeros((), bool),
            **resting_pose(position, heading),
            levels=jnp.ones((params.n_patches,), jnp.float32),
        )

    def transition(
        self,
        state: SpatialPatchForagingState,
        action: Any,
        rng: jax.Array,
        params: SpatialPatchForagingParams | None = None,
    ) -> SpatialPatchForagingState:
        body = move(state.position, state.heading, state.speed, action, params, collide=self.collide)
        inside = self.inside_patches(body.position, params)
        in_patch = jnp.any(inside)
        patch = jnp.where(in_patch, jnp.argmax(inside), -1).astype(jnp.int32)
        here = jnp.sum(jnp.where(inside, state.levels, 0.0))  # patches never overlap: at most one term
        u = uniform21(rng, 1)[0] if params.reward_noise == "bernoulli" else jnp.zeros(())
        reward = jnp.where(in_patch, self.harvest_reward(here, u, params), 0.0)
        levels = jnp.where(
            inside, state.levels * params.step_decay, 1.0 - (1.0 - state.levels) * params.step_recovery
        )
        same = in_patch & (patch == state.patch)
        return state.replace(
            level=jnp.where(in_patch, here * params.step_decay, state.level).astype(jnp.float32),
            residence=jnp.where(in_patch, jnp.where(same, state.residence + 1, 1), 0),
            patch=patch,
            patches_visited=state.patches_visited + (in_patch & ~same).astype(jnp.int32),
            last_reward=reward,
            patch_reward=jnp.where(in_patch, jnp.where(same, state.patch_reward, 0.0) + reward, 0.0),
            left=(state.patch >= 0) & (patch != state.patch),
            **body._asdict(),
            levels=levels.astype(jnp.float32),
        )

    def observation(
        self,
        state: SpatialPatchForagingState,
        rng: jax.Array,
        params: SpatialPatchForagingParams | None = None,
    ) -> jax.Array | dict[str, jax.Array]:
        distance, cos_b, sin_b = self.patch_bearings(state.position, state.heading, params)
        vector = jnp.concatenate(
            [
                self.ray_distances(state.position, state.heading, params),
                jnp.stack([state.speed, state.angular_velocity]),
                jnp.stack([distance, cos_b, sin_b], axis=-1).reshape(-1),
                jnp.stack(
                    [(state.patch >= 0).astype(jnp.float32), state.last_reward, state.residence * params.dt]
                ),
            ]
        ).astype(jnp.float32)
        return self.observe(vector, state, params)

    def state_info(
        self, state: SpatialPatchForagingState, params: SpatialPatchForagingParams | None = None
    ) -> dict:
        return super().state_info(state, params) | {
            "patch_level": state.current_level,
            "position": state.position,
            "heading": state.heading,
            "speed": state.speed,
            "levels": state.levels,
        }

    # -- geometry (the arena's: ArenaMixin's collide, inside, ray_distances, sample_pose) -------------------
    @staticmethod
    def inside_patches(position: jax.Array, params: SpatialPatchForagingParams) -> jax.Array:
        """``(n_patches,)`` bool: whether ``position`` lies in each patch."""
        d = params.patch_centres - position
        return d[:, 0] ** 2 + d[:, 1] ** 2 <= params.patch_radius**2

    @staticmethod
    def patch_bearings(position: jax.Array, heading: jax.Array, params: SpatialPatchForagingParams):
        """Distance (m) to each patch centre and the cosine and sine of its bearing relative to the heading
        (positive sine: on the left), each ``(n_patches,)``; bearing 0 at zero distance."""
        d = params.patch_centres - position
        distance = jnp.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
        c, s = jnp.cos(heading), jnp.sin(heading)
        forward, left = d[:, 0] * c + d[:, 1] * s, d[:, 1] * c - d[:, 0] * s
        safe = jnp.maximum(distance, 1e-12)
        return (
            distance,
            jnp.where(distance > 0, forward / safe, 1.0),
            jnp.where(distance > 0, left / safe, 0.0),
        )

    def image_channels(
        self,
        world: jax.Array,
        floor: jax.Array,
        state: SpatialPatchForagingState,
        params: SpatialPatchForagingParams,
    ) -> list[jax.Array]:
        """After the floor: the patches (on the floor)."""
        d = world[:, :, None, :] - params.patch_centres
        return [jnp.any(d[..., 0] ** 2 + d[..., 1] ** 2 <= params.patch_radius**2, axis=-1) & floor]

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: SpatialPatchForagingParams | None = None) -> spaces.Space:
        duration = float(params.max_steps) * float(params.dt)
        reward = float(params.max_step_reward)
        ex, ey = (float(v) for v in params.extent)
        longest, n = float(np.hypot(ex, ey)), int(params.n_patches)
        w = float(params.max_angular_velocity)
        low = np.concatenate(
            [np.zeros(params.n_rays), [0.0, -w], np.tile([0.0, -1.0, -1.0], n), [0.0, 0.0, 0.0]]
        ).astype(np.float32)
        high = np.concatenate(
            [
                np.full(params.n_rays, longest),
                [float(params.max_speed), w],
                np.tile([longest, 1.0, 1.0], n),
                [1.0, reward, duration],
            ]
        ).astype(np.float32)
        # Slack on the bounds absorbs float32 rounding (a unit vector's component can be 1 ulp beyond +-1).
        high = np.nextafter(high, np.float32(np.inf)) * np.float32(1 + 1e-6)
        low = np.where(low < 0, np.nextafter(low, np.float32(-np.inf)) * np.float32(1 + 1e-6), low)
        vector = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        if not params.observe_image:
            return vector
        image = spaces.Box(0.0, 1.0, (params.image_size, params.image_size, 2), np.float32)
        return spaces.Dict({"vector": vector, "image": image})

    # -- what the environment says about itself (arena and with_arena: ArenaMixin's) ----------------------
    def recording_attrs(self, params: SpatialPatchForagingParams) -> dict[str, Any]:
        return {
            "mode": "spatial",
            "patch_radius": float(params.patch_radius),
            "n_patches": float(params.n_patches),
        }

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(
        self, params: SpatialPatchForagingParams | None = None, trail_seconds: float = 5.0, size: int = 256
    ):
        """Keeps the last ``trail_seconds`` of the path."""
        return trail_render_state(params, trail_seconds, size)

    def render_image(
        self,
        state: SpatialPatchForagingState,
        render_state: Any,
        params: SpatialPatchForagingParams | None = None,
    ):
        """The arena, each patch (its area filled in proportion to the resource left) and the animal."""
        render_state = render_state or self.render_init(params)
        canvas, wall = OpenField.draw_arena(params, render_state["size"])
        radius = float(params.patch_radius)
        for centre, level in zip(np.asarray(params.patch_centres), np.asarray(state.levels), strict=True):
            canvas.fill_circle(centre, radius, COLOURS["reward"], alpha=0.2)
            canvas.fill_circle(centre, radius * np.sqrt(float(level)), COLOURS["reward"])
            canvas.ring(centre, radius, wall / 3, COLOURS["reward"])
        draw_animal(canvas, self, state, params, render_state, wall)  # 3% of the arena's extent
        return render_state, canvas.image


def _check_straight_walks(params: SpatialPatchForagingParams) -> None:
    """Raise a ``ValueError`` where the MVT's straight walk between neighbouring patches (ring order) would
    cross a wall of a polygon arena (the optimum would be wrong there)."""
    if not is_polygon(params):
        return
    g = params_geometry(params)
    centres = np.asarray(params.patch_centres, float)
    walks = np.stack([centres, np.roll(centres, -1, axis=0)], axis=1)  # (n, 2, 2): patch i to patch i + 1
    segments = np.stack([g.start, g.start + g.vector], axis=1)[np.asarray(g.solid)].astype(float)
    blocked = np.flatnonzero(geo.segments_meet(walks[:, None], segments[None]).any(axis=1))
    if len(blocked):
        n = len(centres)
        raise ValueError(
            "SpatialPatchForaging: the MVT optimum assumes straight walks between neighbouring patches, but "
            + ("these walks cross" if len(blocked) > 1 else "this walk crosses")
            + " a wall of this arena: "
            + ", ".join(f"patch {k} to {(k + 1) % n}" for k in blocked)
            + "; no optimum is given for it"
        )
