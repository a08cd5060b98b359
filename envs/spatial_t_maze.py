"""SpatialTMaze-v0: cued and alternation choice in a T of corridors, walked in metres.

The task (cued choice after a delay, rewarded or spontaneous alternation, blocks of ``n_trials``) is
described in :mod:`.t_maze_task`, which this environment shares with TMaze-v0 (the abstract lab task of
timed phases and discrete choices). Until this environment had its own id it was TMaze-v0's
``mode="spatial"``; ``make("neuroethology/TMaze-v0", mode="spatial")`` still builds it.

The maze: a T-shaped corridor in metres: the stem (``corridor_width`` wide) along +y from ``y = 0`` to
``stem_length``, the cross-bar of two ``arm_length`` arms above it, the whole T spanning
``[0, 2 arm_length + corridor_width] x [0, stem_length + corridor_width]``. It is walked with OpenField's
body and kinematics (:mod:`neuroethology.envs.body`), one step of ``dt``::

    a, w   = clip(action)                       # [forward acceleration (m/s^2), angular velocity (rad/s)]
    v'     = clip(v + a dt, 0, max_speed);  theta' = wrap(theta + w dt)
    x'     = project(x + v' dt (cos theta', sin theta'))   # nearest point at least body_radius from every
                                                # wall: a step into a wall slides along it
    speed  = min(|x' - x| / dt, v')

Each trial starts in the middle of the stem, half a corridor width from its end, facing up it. The cue is
observed while the animal is in the first ``cue_length`` metres of the stem (the cue segment; phase 0); the
rest of the stem is the delay segment (phase 1); the cross-bar is the choice region (phase 2); the choice
is the arm whose end (its last ``goal_length`` metres, the food well) the animal reaches first. The animal
then stays there for ``iti_duration`` (phase 3; actions ignored) and is put back at the start for the next
trial. The observation is
``[cue_left, cue_right, reward, ray_0 .. ray_{n_rays-1} (m), speed (m/s), angular velocity (rad/s)]``.

Arenas: ``make(..., arena=ARENA)`` takes any T laid out as above (the ``"t_maze"`` preset, a YAML/JSON file or
a mapping, in any form :func:`~neuroethology.envs.arena.resolve_arena` takes) and reads its stem length, arm
length and corridor width from it; any other shape is refused. The T is not the general polygon arena
(:mod:`neuroethology.envs.arena`), for three reasons: the task is defined on the T's parts (the cue and delay
segments along the stem, the cross-bar, the food wells at the arms' ends), which another shape does not
have; the body keeps ``body_radius`` from every wall (the corridors shrunk by it), which the general
segment sweep does not model; and TMaze-v0 draws its picture on the same parametric T. Its Recordings store
no arena (``arena()`` is ``None``, a maze corridor); a T's regions name parts for analysis and are not kept.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from .arena import ArenaError, resolve_arena
from .body import RAT, BodyEnv, move, resting_pose, view_directions
from .core import register, resolve_params
from .t_maze_task import (
    CHOICE,
    CUE,
    DELAY,
    OUTCOME,
    TMazeState,
    TMazeTask,
    TMazeTaskParams,
    block_cues,
    first_trial,
    judge,
    trial_fields,
)

__all__ = [
    "SpatialTMaze",
    "SpatialTMazeParams",
    "SpatialTMazeState",
    "goal_reached",
    "inside_maze",
    "position_phase",
    "project_into_maze",
    "ray_distances_maze",
    "t_dimensions",
    "walkable",
]

_EPS = 1e-6  # m, tolerance of the ray-edge tests


@struct.dataclass
class SpatialTMazeParams(TMazeTaskParams):
    """Parameters of SpatialTMaze-v0, SI units: the task and maze of :class:`TMazeTaskParams` and the
    animal's body. Fields marked static change array shapes or code paths (changing them recompiles)."""

    body_radius: float = 0.015  # m, how close the body centre comes to a wall (half the ~3 cm body width
    # of a mouse); it also keeps wall rays well conditioned (a ray grazing a wall from a point on it has a
    # length infinitely sensitive to rounding)
    # Body and action bounds: OpenField's rat, from envs.body.RAT (sources there).
    max_speed: float = RAT.max_speed  # m/s: 1.0 (Sargolini et al. 2006)
    max_acceleration: float = RAT.max_acceleration  # m/s^2: 10 (Sargolini et al. 2006)
    max_angular_velocity: float = RAT.max_angular_velocity  # rad/s: 8 pi (Sargolini et al. 2006)
    n_rays: int = struct.field(pytree_node=False, default=12)  # wall-distance rays
    field_of_view: float = RAT.field_of_view  # rad (270 deg), as in OpenField (Wallace et al. 2013)

    @property
    def mode(self) -> str:
        """``"spatial"``: this task's name as a mode of TMaze-v0, before each task had its own environment
        (a constant, not a parameter; simulated Recordings carry it as ``attrs["mode"]``)."""
        return "spatial"

    @property
    def start_position(self) -> jax.Array:
        """Where each trial starts ``(2,)``: the middle of the stem, half a width from its end."""
        return jnp.stack(
            [
                jnp.asarray(self.arm_length + 0.5 * self.corridor_width, jnp.float32),
                jnp.asarray(0.5 * self.corridor_width, jnp.float32),
            ]
        )


@struct.dataclass(kw_only=True)
class SpatialTMazeState(TMazeState):
    """The trial state of :class:`TMazeState` and the animal's pose."""

    position: jax.Array  # (2,) m
    heading: jax.Array  # () rad
    speed: jax.Array  # () m/s, achieved in the last step
    angular_velocity: jax.Array  # () rad/s, commanded in the last step


# ---------------------------------------------------------------------------------------------------------
# T-maze geometry (pure JAX, single points; the T spans [0, maze_width] x [0, maze_height])
# ---------------------------------------------------------------------------------------------------------


def in_stem(xy: jax.Array, params: TMazeTaskParams) -> jax.Array:
    x0, x1 = params.stem_x
    return (xy[..., 0] >= x0) & (xy[..., 0] <= x1) & (xy[..., 1] >= 0) & (xy[..., 1] < params.stem_length)


def in_crossbar(xy: jax.Array, params: TMazeTaskParams) -> jax.Array:
    return (
        (xy[..., 0] >= 0)
        & (xy[..., 0] <= params.maze_width)
        & (xy[..., 1] >= params.stem_length)
        & (xy[..., 1] <= params.maze_height)
    )


def inside_maze(xy: jax.Array, params: TMazeTaskParams) -> jax.Array:
    """Whether points ``(..., 2)`` lie in the corridors (the closed T)."""
    return in_stem(xy, params) | in_crossbar(xy, params)


def walkable(xy: jax.Array, params: SpatialTMazeParams) -> jax.Array:
    """Whether points ``(..., 2)`` may hold the body centre: at least ``body_radius`` from every wall (the
    union of the stem, run up to the top wall, and the cross-bar, each shrunk by ``body_radius``)."""
    b = params.body_radius
    x0, x1 = params.stem_x
    x, y = xy[..., 0], xy[..., 1]
    stem = (x >= x0 + b) & (x <= x1 - b) & (y >= b) & (y <= params.maze_height - b)
    bar = (
        (x >= b)
        & (x <= params.maze_width - b)
        & (y >= params.stem_length + b)
        & (y <= params.maze_height - b)
    )
    return stem | bar


def project_into_maze(position: jax.Array, params: SpatialTMazeParams) -> jax.Array:
    """The nearest walkable point (see :func:`walkable`): the nearer of the nearest points of the two shrunk
    rectangles (a walkable point is returned unchanged), so a step into a wall slides along it."""
    b = params.body_radius
    x0, x1 = params.stem_x
    stem = jnp.stack(
        [jnp.clip(position[0], x0 + b, x1 - b), jnp.clip(position[1], b, params.maze_height - b)]
    )
    bar = jnp.stack(
        [
            jnp.clip(position[0], b, params.maze_width - b),
            jnp.clip(position[1], params.stem_length + b, params.maze_height - b),
        ]
    )
    d_stem = jnp.sum((stem - position) ** 2)
    d_bar = jnp.sum((bar - position) ** 2)
    return jnp.where(d_stem <= d_bar, stem, bar)


def _edges(params: TMazeTaskParams) -> tuple[list, list]:
    """The T's eight walls: vertical ``(x, y0, y1, outward sign)`` and horizontal ``(y, x0, x1, sign)``."""
    a, w, length = params.arm_length, params.corridor_width, params.stem_length
    width, height = params.maze_width, params.maze_height
    vertical = [
        (a, 0.0, length, -1.0),
        (a + w, 0.0, length, 1.0),
        (0.0, length, height, -1.0),
        (width, length, height, 1.0),
    ]
    horizontal = [
        (0.0, a, a + w, -1.0),
        (length, 0.0, a, -1.0),
        (length, a + w, width, -1.0),
        (height, 0.0, width, 1.0),
    ]
    return vertical, horizontal


def ray_distances_maze(position: jax.Array, directions: jax.Array, params: TMazeTaskParams) -> jax.Array:
    """Distance (m) from ``position`` (in the T) to the first wall along each unit vector of ``directions``
    ``(n, 2)``: the nearest crossing of a wall that the ray leaves through (from inside a simple polygon the
    first crossing is an exit, so walls the ray would enter through are skipped)."""
    p = (position[0], position[1])
    d = (directions[..., 0], directions[..., 1])
    big = jnp.asarray(10.0 * (params.maze_width + params.maze_height), jnp.float32)
    best = jnp.full(d[0].shape, big)
    # Axis 0: the vertical walls (x = c, spanning y in [lo, hi]); axis 1: the horizontal ones (y = c).
    for across, walls in enumerate(_edges(params)):
        along = 1 - across
        for c, lo, hi, sign in walls:
            leaving = d[across] * sign > 0
            t = (c - p[across]) / jnp.where(leaving, d[across], 1.0)
            s = p[along] + t * d[along]
            hit = leaving & (t >= -_EPS) & (s >= lo - _EPS) & (s <= hi + _EPS)
            best = jnp.where(hit, jnp.minimum(best, t), best)
    return jnp.clip(best, 0.0, jnp.hypot(params.maze_width, params.maze_height))


def position_phase(xy: jax.Array, params: TMazeTaskParams) -> jax.Array:
    """Phase of a position: 0 cue segment, 1 delay segment, 2 cross-bar (choice region)."""
    return jnp.where(
        xy[..., 1] >= params.stem_length, CHOICE, jnp.where(xy[..., 1] < params.cue_length, CUE, DELAY)
    ).astype(jnp.int32)


def goal_reached(xy: jax.Array, params: TMazeTaskParams) -> jax.Array:
    """Arm whose food-well zone contains ``xy``: 0 left, 1 right, -1 neither."""
    bar = xy[..., 1] >= params.stem_length
    left = bar & (xy[..., 0] <= params.goal_length)
    right = bar & (xy[..., 0] >= params.maze_width - params.goal_length)
    return jnp.where(left, 0, jnp.where(right, 1, -1)).astype(jnp.int32)


def t_dimensions(arena: Any) -> dict[str, float]:
    """``{"stem_length", "arm_length", "corridor_width"}`` (m) of a T-shaped arena (any form
    :func:`~neuroethology.envs.arena.resolve_arena` takes) laid out as SpatialTMaze's: the stem along +y from
    ``y = 0``, its left side at ``x = arm_length``, the cross-bar on top from ``x = 0``, no holes or walls.
    Any other shape raises an :class:`~neuroethology.envs.arena.ArenaError` saying what was expected."""
    mapping = resolve_arena(arena)
    ring = np.asarray(mapping["boundary"], float)
    source = f"arena={arena!r}" if isinstance(arena, str) else "arena= (a mapping)"
    expected = (
        "expected a T laid out as SpatialTMaze's (the 't_maze' preset: 8 vertices, the stem along +y from "
        "y = 0, the cross-bar on top from x = 0, no holes or walls): its task is defined on a T "
        "(OpenField-v0 takes a maze of any other shape)"
    )
    if len(ring) != 8 or mapping["holes"] or mapping["walls"]:
        raise ArenaError(source, [expected])
    start = int(np.argmin(ring[:, 1] * 1e6 + ring[:, 0]))  # the stem's bottom-left corner
    ring = np.roll(ring, -start, axis=0)
    a, w, length = ring[0, 0], ring[1, 0] - ring[0, 0], ring[2, 1]
    top = length + w
    want = [[a, 0], [a + w, 0], [a + w, length], [2 * a + w, length], [2 * a + w, top], [0, top], [0, length]]
    want = np.asarray(want + [[a, length]], float)
    scale = max(float(np.ptp(ring)), 1e-300)
    if not (a > 0 and w > 0 and length > 0 and np.allclose(ring, want, rtol=0, atol=1e-9 * scale)):
        raise ArenaError(source, [f"{expected}; got the boundary {ring.tolist()}"])
    # Rounded to 1e-12 m (as the presets are): 0.4 - 0.3 is a corridor of 0.1 m, not 0.10000000000000003.
    return {
        k: round(float(v), 12) for k, v in (("stem_length", length), ("arm_length", a), ("corridor_width", w))
    }


# ---------------------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------------------


@register
class SpatialTMaze(BodyEnv, TMazeTask):
    """Cued and alternation choice in a T of corridors walked in metres (see the module docstring)."""

    name = "SpatialTMaze"
    params_type = SpatialTMazeParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: SpatialTMazeParams) -> list[str]:
        problems = super().validate_params(params)
        if not 0 < float(params.body_radius) < 0.5 * float(params.corridor_width):
            problems.append(f"body_radius must be in (0, corridor_width / 2) m, got {params.body_radius}")
        if not float(params.goal_length) > float(params.body_radius):
            problems.append(
                f"goal_length must exceed body_radius = {params.body_radius} m (the well must be "
                f"reachable), got {params.goal_length}"
            )
        if not 0.5 * float(params.corridor_width) < float(params.stem_length):
            problems.append(
                "the start (half a corridor width up the stem) must lie in the stem: stem_length "
                f"{params.stem_length} m <= corridor_width / 2 = {0.5 * float(params.corridor_width)} m"
            )
        return problems

    def make_params(self, **overrides: Any) -> SpatialTMazeParams:
        """Default params with ``overrides``; ``arena=`` (a T: :func:`t_dimensions`) sets the maze's size
        first."""
        arena = overrides.pop("arena", None)
        if arena is None or arena == "":
            return super().make_params(**overrides)
        return resolve_params(self, self.with_arena(self.default_params, arena), overrides)

    def with_arena(self, params: SpatialTMazeParams, arena: Any) -> SpatialTMazeParams:
        """``params`` in the T ``arena`` (its dimensions: :func:`t_dimensions`)."""
        return params.replace(**t_dimensions(arena))

    # -- helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def ray_distances(position: jax.Array, heading: jax.Array, params: SpatialTMazeParams) -> jax.Array:
        return ray_distances_maze(position, view_directions(heading, params), params)

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: SpatialTMazeParams | None = None) -> SpatialTMazeState:
        start = params.start_position
        return SpatialTMazeState(
            **first_trial(block_cues(rng, params), position_phase(start, params)),
            **resting_pose(start, jnp.full((), 0.5 * np.pi, jnp.float32)),
        )

    def transition(
        self,
        state: SpatialTMazeState,
        action: jax.Array,
        rng: jax.Array,
        params: SpatialTMazeParams | None = None,
    ) -> SpatialTMazeState:
        in_outcome = state.phase == OUTCOME
        ps = state.phase_step + 1
        # Walking (ignored during the outcome period).
        body = move(state.position, state.heading, state.speed, action, params, project_into_maze)
        moved = body.position
        arm = goal_reached(moved, params)
        done = ~in_outcome & (arm >= 0)
        choice = jnp.where(done, arm, state.choice)
        correct = jnp.where(done, judge(choice, state.cue, state.prev_choice, params), state.correct)
        walk_phase = jnp.where(done, OUTCOME, position_phase(moved, params))
        # End of the outcome period: back to the start for the next trial.
        new_trial = in_outcome & (ps >= params.iti_steps)
        start = params.start_position
        position = jnp.where(new_trial, start, jnp.where(in_outcome, state.position, moved))
        phase = jnp.where(
            new_trial, position_phase(start, params), jnp.where(in_outcome, OUTCOME, walk_phase)
        )
        return state.replace(
            phase=phase.astype(jnp.int32),
            phase_step=jnp.where(phase == state.phase, ps, 0),
            **trial_fields(state, choice, correct, done, new_trial),
            position=position,
            heading=jnp.where(new_trial, 0.5 * jnp.pi, jnp.where(in_outcome, state.heading, body.heading)),
            speed=jnp.where(in_outcome, 0.0, body.speed),
            angular_velocity=jnp.where(in_outcome, 0.0, body.angular_velocity),
        )

    def observation(
        self, state: SpatialTMazeState, rng: jax.Array, params: SpatialTMazeParams | None = None
    ) -> jax.Array:
        return jnp.concatenate(
            [
                jnp.stack(self.trial_flags(state, params)).astype(jnp.float32),
                self.ray_distances(state.position, state.heading, params),
                jnp.stack([state.speed, state.angular_velocity]),
            ]
        ).astype(jnp.float32)

    def state_info(self, state: SpatialTMazeState, params: SpatialTMazeParams | None = None) -> dict:
        """The trial variables of :meth:`TMazeTask.state_info` and ``position`` (m), ``heading`` (rad) and
        ``speed`` (m/s)."""
        info = super().state_info(state, params)
        info.update(position=state.position, heading=state.heading, speed=state.speed)
        return info

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: SpatialTMazeParams | None = None) -> spaces.Box:
        longest = float(np.hypot(float(params.maze_width), float(params.maze_height)))
        low = np.concatenate([np.zeros(3 + params.n_rays), [0.0, -params.max_angular_velocity]]).astype(
            np.float32
        )
        high = np.concatenate(
            [np.ones(3), np.full(params.n_rays, longest), [params.max_speed, params.max_angular_velocity]]
        ).astype(np.float32)
        return spaces.Box(
            low, np.nextafter(high, np.float32(np.inf)) * np.float32(1 + 1e-6), dtype=np.float32
        )

    # -- what the environment says about itself ----------------------------------------------------------
    # -- rendering ----------------------------------------------------------------------------------------
    def cue_drawn(self, state: SpatialTMazeState) -> bool:
        return True

    def picture_pose(self, state: SpatialTMazeState, params: SpatialTMazeParams) -> tuple[np.ndarray, float]:
        return np.asarray(state.position, float), float(state.heading)
