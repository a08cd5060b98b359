"""TMaze-v0: cued and alternation choice in a T-maze.

The paradigm: a rodent runs up the stem of a T and turns into the left or the right arm. Two families of
task use the same maze:

* cue-guided choice (``task="cued"``): a cue shown at the start of the trial says which arm is baited; a delay
  separates the cue from the choice, so the animal must hold it in memory. This is the virtual T-maze of
  Harvey, Coen & Tank 2012 (Nature 484:62), in which mice saw a cue on the walls of the first part of the
  stem, ran through a delay segment with identical walls, and were rewarded for turning at the junction
  towards the side the cue indicated.
* alternation (``task="alternation"``: rewarded; ``"spontaneous_alternation"``: unrewarded): the correct arm
  is the one not chosen on the previous trial. Rodents alternate spontaneously (Dember & Fowler 1958,
  Psychol. Bull. 55:412) and learn rewarded alternation quickly; the T-maze protocol of Deacon & Rawlins
  2006 (Nat. Protoc. 1:7) measures hippocampus-dependent spatial working memory this way; Olton &
  Samuelson 1976 (J. Exp. Psychol. Anim. Behav. Process. 2:97) established the win-shift logic on the
  radial maze. The first trial of a block has no previous arm: either arm is correct (and rewarded).

An episode is a block of ``n_trials`` trials, so an agent can carry memory from trial to trial; it
terminates when the last trial's choice is made (or missed), and is truncated at ``session_duration``.
Each trial's cue is a fair coin flip (left or right, independent across trials); alternation tasks show no
cue. Arms: 0 = left, 1 = right (as seen running up the stem).

Two modes share the task logic and state:

``mode="discrete"`` (the abstract lab task, NeuroGym-style): each step of ``dt`` the agent takes one of
``Discrete(3)`` actions, 0 = wait (run on), 1 = choose left, 2 = choose right (in the JAX core any other
value counts as 0; the Gymnasium adapter rejects it). A trial runs through phases
(0 cue, 1 delay, 2 choice, 3 outcome) of ``cue_duration``, ``delay_duration``, up to ``response_window`` and
``iti_duration`` seconds. The cue is observed during the cue period only; choices outside the choice period
are ignored; a choice period without a choice is an omission (choice -1, incorrect, no reward). The
observation (``Box(0, 1, (6,))``) is ``[cue_left, cue_right, go, in_left_arm, in_right_arm, reward]``: the
cue during the cue period, ``go`` during the choice period, and, during the outcome period, the arm chosen
and whether it held a reward.

``mode="spatial"``: a T-shaped corridor in metres: the stem (``corridor_width`` wide) along +y from ``y = 0``
to ``stem_length``, the cross-bar of two ``arm_length`` arms above it, the whole T spanning
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

Length: one environment per file (STYLE.md): the trial structure shared by both modes, the discrete
task, the spatial maze's geometry (walls, rays, zones) and the rendering. Moving the maze geometry into the
general arena module of the polygon-arena issue (10) will bring it under 600 lines.
"""

from __future__ import annotations

import collections
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from .body import RAT, clip_action, move, view_directions
from .core import EnvState, NeuroEnv, register, uniform21
from .rendering import COLOURS, Canvas

__all__ = [
    "TMaze",
    "TMazeParams",
    "TMazeState",
    "PHASE_NAMES",
    "CUE",
    "DELAY",
    "CHOICE",
    "OUTCOME",
    "inside_maze",
    "walkable",
    "project_into_maze",
    "ray_distances_maze",
    "position_phase",
    "goal_reached",
]

MODES = ("discrete", "spatial")
TASKS = ("cued", "alternation", "spontaneous_alternation")
CUE, DELAY, CHOICE, OUTCOME = 0, 1, 2, 3
PHASE_NAMES = ("cue", "delay", "choice", "outcome")
_EPS = 1e-6  # m, tolerance of the ray-edge tests


@struct.dataclass
class TMazeParams:
    """Parameters of TMaze-v0, SI units. Fields marked static change array shapes or code paths (changing
    them recompiles); the others may be traced and vmapped over."""

    # Task.
    mode: str = struct.field(pytree_node=False, default="discrete")  # "discrete" or "spatial"
    task: str = struct.field(pytree_node=False, default="cued")  # "cued", "alternation" or
    # "spontaneous_alternation"
    n_trials: int = struct.field(pytree_node=False, default=10)  # trials per episode (a block): a design
    # choice of the size of a day's session (T-maze alternation protocols after Deacon & Rawlins 2006 run
    # 6-8 trials a day); long enough for an agent to show trial-to-trial memory
    reward_correct: float = 1.0  # reward for a correct choice (none in spontaneous alternation)
    # Time.
    dt: float = 0.1  # s, NeuroGym's default step for cognitive tasks (Molano-Mazon et al. 2022)
    session_duration: float = 600.0  # s, time limit of an episode (a 10 min session). A discrete block ends
    # well before it (at most 10 x 7 s); in the spatial mode it stops an agent that never reaches an arm
    cue_duration: float = 1.0  # s, discrete mode: cue period. Seconds, as the cue segment of the virtual
    # maze of Harvey et al. 2012 took the mice (their trials lasted about 10 s)
    delay_duration: float = 2.0  # s, discrete mode: delay between cue offset and choice, the order of
    # Harvey et al. 2012's delay segment; vary it to load working memory
    response_window: float = 2.0  # s, discrete mode: longest choice period before an omission (design choice)
    iti_duration: float = 2.0  # s, outcome and inter-trial interval, both modes: seconds, as the blank
    # screen between virtual trials (Harvey et al. 2012); physical mazes hold the animal 10-30 s
    # (Deacon & Rawlins 2006). Lengthen it to test memory for the last arm in alternation
    # Maze geometry (spatial mode; also the picture of the discrete mode).
    stem_length: float = 0.3  # m, start arm: the 30 cm x 10 cm arms of the mouse T-maze of
    # Deacon & Rawlins 2006
    arm_length: float = 0.3  # m, each goal arm, from the stem's side wall to the arm's end (Deacon & Rawlins)
    corridor_width: float = 0.1  # m, width of every arm (Deacon & Rawlins 2006)
    cue_length: float = 0.15  # m, the cue segment: the first half of the stem, after the stem of Harvey
    # et al. 2012 (cue on the walls of its first part, then a delay segment with identical walls)
    goal_length: float = 0.1  # m, the food well zone at each arm's end whose entry counts as the choice
    body_radius: float = 0.015  # m, how close the body centre comes to a wall (half the ~3 cm body width
    # of a mouse); it also keeps wall rays well conditioned (a ray grazing a wall from a point on it has a
    # length infinitely sensitive to rounding)
    # Body and action bounds (spatial mode): OpenField's rat, from envs.body.RAT (sources there).
    max_speed: float = RAT.max_speed  # m/s: 1.0 (Sargolini et al. 2006)
    max_acceleration: float = RAT.max_acceleration  # m/s^2: 10 (Sargolini et al. 2006)
    max_angular_velocity: float = RAT.max_angular_velocity  # rad/s: 8 pi (Sargolini et al. 2006)
    n_rays: int = struct.field(pytree_node=False, default=12)  # wall-distance rays (spatial mode)
    field_of_view: float = RAT.field_of_view  # rad (270 deg), as in OpenField (Wallace et al. 2013)

    @property
    def max_steps(self) -> jax.Array:
        """Steps per episode at most: ``session_duration / dt``, rounded."""
        return self._steps(self.session_duration)

    def _steps(self, seconds: Any) -> jax.Array:
        return jnp.round(jnp.asarray(seconds) / self.dt).astype(jnp.int32)

    @property
    def cue_steps(self) -> jax.Array:
        return self._steps(self.cue_duration)

    @property
    def delay_steps(self) -> jax.Array:
        return self._steps(self.delay_duration)

    @property
    def response_steps(self) -> jax.Array:
        return self._steps(self.response_window)

    @property
    def iti_steps(self) -> jax.Array:
        return self._steps(self.iti_duration)

    @property
    def maze_width(self) -> Any:
        """x extent of the T (m): two arms and the stem's width."""
        return 2 * self.arm_length + self.corridor_width

    @property
    def maze_height(self) -> Any:
        """y extent of the T (m): the stem and the cross-bar's width."""
        return self.stem_length + self.corridor_width

    @property
    def stem_x(self) -> tuple[Any, Any]:
        """x range of the stem (m)."""
        return self.arm_length, self.arm_length + self.corridor_width

    @property
    def start_position(self) -> jax.Array:
        """Where each spatial trial starts ``(2,)``: the middle of the stem, half a width from its end."""
        return jnp.stack(
            [
                jnp.asarray(self.arm_length + 0.5 * self.corridor_width, jnp.float32),
                jnp.asarray(0.5 * self.corridor_width, jnp.float32),
            ]
        )

    @property
    def rewarding(self) -> bool:
        return self.task != "spontaneous_alternation"


@struct.dataclass(kw_only=True)
class TMazeState(EnvState):
    trial: jax.Array  # () int32, index of the current trial in the block
    phase: jax.Array  # () int32: 0 cue, 1 delay, 2 choice, 3 outcome
    phase_step: jax.Array  # () int32, steps spent in the current phase
    cues: jax.Array  # (n_trials,) int32 cue of every trial in the block (0 left, 1 right; -1 no cue)
    choice: jax.Array  # () int32 arm chosen this trial (0 left, 1 right; -1 none yet or omission)
    prev_choice: jax.Array  # () int32 arm chosen on the last trial with a choice (-1 none yet)
    correct: jax.Array  # () bool, this trial's choice was correct
    trial_done: jax.Array  # () bool, the last step made (or missed) this trial's choice
    position: jax.Array  # (2,) m (spatial mode; the start position in the discrete mode)
    heading: jax.Array  # () rad
    speed: jax.Array  # () m/s, achieved in the last step
    angular_velocity: jax.Array  # () rad/s, commanded in the last step

    @property
    def cue(self) -> jax.Array:
        """This trial's cue (0 left, 1 right, -1 none)."""
        return self.cues[jnp.minimum(self.trial, self.cues.shape[0] - 1)]


# ---------------------------------------------------------------------------------------------------------
# T-maze geometry (pure JAX, single points; the T spans [0, maze_width] x [0, maze_height])
# ---------------------------------------------------------------------------------------------------------


def in_stem(xy: jax.Array, params: TMazeParams) -> jax.Array:
    x0, x1 = params.stem_x
    return (xy[..., 0] >= x0) & (xy[..., 0] <= x1) & (xy[..., 1] >= 0) & (xy[..., 1] < params.stem_length)


def in_crossbar(xy: jax.Array, params: TMazeParams) -> jax.Array:
    return (
        (xy[..., 0] >= 0)
        & (xy[..., 0] <= params.maze_width)
        & (xy[..., 1] >= params.stem_length)
        & (xy[..., 1] <= params.maze_height)
    )


def inside_maze(xy: jax.Array, params: TMazeParams) -> jax.Array:
    """Whether points ``(..., 2)`` lie in the corridors (the closed T)."""
    return in_stem(xy, params) | in_crossbar(xy, params)


def walkable(xy: jax.Array, params: TMazeParams) -> jax.Array:
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


def project_into_maze(position: jax.Array, params: TMazeParams) -> jax.Array:
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


def _edges(params: TMazeParams) -> tuple[list, list]:
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


def ray_distances_maze(position: jax.Array, directions: jax.Array, params: TMazeParams) -> jax.Array:
    """Distance (m) from ``position`` (in the T) to the first wall along each unit vector of ``directions``
    ``(n, 2)``: the nearest crossing of a wall that the ray leaves through (from inside a simple polygon the
    first crossing is an exit, so walls the ray would enter through are skipped)."""
    px, py = position[0], position[1]
    dx, dy = directions[..., 0], directions[..., 1]
    big = jnp.asarray(10.0 * (params.maze_width + params.maze_height), jnp.float32)
    best = jnp.full(dx.shape, big)
    vertical, horizontal = _edges(params)
    for x, y0, y1, sign in vertical:
        leaving = dx * sign > 0
        t = (x - px) / jnp.where(leaving, dx, 1.0)
        y = py + t * dy
        hit = leaving & (t >= -_EPS) & (y >= y0 - _EPS) & (y <= y1 + _EPS)
        best = jnp.where(hit, jnp.minimum(best, t), best)
    for y, x0, x1, sign in horizontal:
        leaving = dy * sign > 0
        t = (y - py) / jnp.where(leaving, dy, 1.0)
        x = px + t * dx
        hit = leaving & (t >= -_EPS) & (x >= x0 - _EPS) & (x <= x1 + _EPS)
        best = jnp.where(hit, jnp.minimum(best, t), best)
    return jnp.clip(best, 0.0, jnp.hypot(params.maze_width, params.maze_height))


def position_phase(xy: jax.Array, params: TMazeParams) -> jax.Array:
    """Phase of a spatial-mode position: 0 cue segment, 1 delay segment, 2 cross-bar (choice region)."""
    return jnp.where(
        xy[..., 1] >= params.stem_length, CHOICE, jnp.where(xy[..., 1] < params.cue_length, CUE, DELAY)
    ).astype(jnp.int32)


def goal_reached(xy: jax.Array, params: TMazeParams) -> jax.Array:
    """Arm whose food-well zone contains ``xy``: 0 left, 1 right, -1 neither."""
    bar = xy[..., 1] >= params.stem_length
    left = bar & (xy[..., 0] <= params.goal_length)
    right = bar & (xy[..., 0] >= params.maze_width - params.goal_length)
    return jnp.where(left, 0, jnp.where(right, 1, -1)).astype(jnp.int32)


def _cue_sequence(key: jax.Array, n: int) -> jax.Array:
    """``n`` fair coin flips (int32 0/1). Up to 63 come from the 63 bits of one ``uniform21`` draw (no
    extra threefry call per reset); more use ``jax.random.bits``."""
    if n <= 63:
        words = (uniform21(key, 3) * 2.0**21).astype(jnp.uint32)
        idx = jnp.arange(n)
        return ((words[idx // 21] >> (idx % 21).astype(jnp.uint32)) & 1).astype(jnp.int32)
    return (jax.random.bits(key, (n,), jnp.uint32) >> 31).astype(jnp.int32)


# ---------------------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------------------


@register
class TMaze(NeuroEnv[TMazeState, TMazeParams]):
    """Cued and alternation choice in a T-maze (see the module docstring for the task, modes and spaces)."""

    name = "TMaze"
    params_type = TMazeParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: TMazeParams) -> list[str]:
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={"mode": MODES, "task": TASKS},
            positive=(
                "dt",
                "session_duration",
                "stem_length",
                "arm_length",
                "corridor_width",
                "goal_length",
                "max_speed",
                "max_acceleration",
                "max_angular_velocity",
            ),
            angles=("field_of_view",),
            at_least_one=("n_trials", "n_rays"),
        )
        for name in ("cue_duration", "delay_duration"):
            if not float(getattr(params, name)) >= 0:
                problems.append(f"{name} must be >= 0 s, got {getattr(params, name)}")
        dt = float(params.dt)
        for name in ("response_window", "iti_duration"):
            if not int(params._steps(getattr(params, name))) >= 1:
                problems.append(
                    f"{name} must last at least one step (dt = {dt} s), got {getattr(params, name)}"
                )
        if params.mode == "discrete" and params.task == "cued" and int(params.cue_steps) < 1:
            problems.append(
                f"a cued task needs a cue period of at least one step (dt = {dt} s), got "
                f"cue_duration = {params.cue_duration}"
            )
        if not 0 < float(params.cue_length) <= float(params.stem_length):
            problems.append(
                f"cue_length must be in (0, stem_length = {params.stem_length}] m, got {params.cue_length}"
            )
        if not float(params.goal_length) <= float(params.arm_length):
            problems.append(
                f"goal_length must be <= arm_length = {params.arm_length} m, got {params.goal_length}"
            )
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

    # -- helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def first_phase(params: TMazeParams) -> jax.Array:
        """The phase a discrete-mode trial starts in (phases of zero duration are skipped)."""
        return jnp.where(params.cue_steps > 0, CUE, jnp.where(params.delay_steps > 0, DELAY, CHOICE)).astype(
            jnp.int32
        )

    @staticmethod
    def ray_distances(position: jax.Array, heading: jax.Array, params: TMazeParams) -> jax.Array:
        return ray_distances_maze(position, view_directions(heading, params), params)

    @staticmethod
    def judge(choice: jax.Array, cue: jax.Array, prev_choice: jax.Array, params: TMazeParams) -> jax.Array:
        """Whether ``choice`` (0/1; -1 omission) is correct: it matches the cue (cued task) or differs from
        the previous trial's arm, any arm being correct on a block's first trial (alternation tasks)."""
        chose = choice >= 0
        if params.task == "cued":
            return chose & (choice == cue)
        return chose & ((prev_choice < 0) | (choice != prev_choice))

    def _next_trial(self, state: TMazeState, params: TMazeParams) -> dict:
        """Fields of the state that starts the trial after ``state``'s."""
        return {
            "trial": state.trial + 1,
            "choice": jnp.full((), -1, jnp.int32),
            "prev_choice": jnp.where(state.choice >= 0, state.choice, state.prev_choice),
            "correct": jnp.zeros((), bool),
        }

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: TMazeParams | None = None) -> TMazeState:
        params = self.default_params if params is None else params
        if params.task == "cued":
            cues = _cue_sequence(rng, params.n_trials)
        else:
            cues = jnp.full((params.n_trials,), -1, jnp.int32)
        start = params.start_position
        phase = self.first_phase(params) if params.mode == "discrete" else position_phase(start, params)
        zero = jnp.zeros((), jnp.int32)
        return TMazeState(
            trial=zero,
            phase=phase,
            phase_step=zero,
            cues=cues,
            choice=jnp.full((), -1, jnp.int32),
            prev_choice=jnp.full((), -1, jnp.int32),
            correct=jnp.zeros((), bool),
            trial_done=jnp.zeros((), bool),
            position=start,
            heading=jnp.full((), 0.5 * np.pi, jnp.float32),
            speed=jnp.zeros((), jnp.float32),
            angular_velocity=jnp.zeros((), jnp.float32),
        )

    def clip_action(self, action: jax.Array, params: TMazeParams) -> jax.Array:
        """Spatial mode: NaN -> 0, +-inf -> bound, then clip into the action box. Discrete mode: the action
        as an int32 in {0, 1, 2} (anything else counts as 0, wait)."""
        if params.mode == "discrete":
            a = jnp.asarray(action)
            a = (
                jnp.where(jnp.isfinite(a), a, 0).astype(jnp.int32)
                if jnp.issubdtype(a.dtype, jnp.floating)
                else a.astype(jnp.int32)
            )
            return jnp.where((a >= 0) & (a <= 2), a, 0)
        return clip_action(action, params)

    def transition(
        self, state: TMazeState, action: jax.Array, rng: jax.Array, params: TMazeParams | None = None
    ) -> TMazeState:
        params = self.default_params if params is None else params
        if params.mode == "discrete":
            return self._transition_discrete(state, action, params)
        return self._transition_spatial(state, action, params)

    def _transition_discrete(self, state: TMazeState, action: jax.Array, params: TMazeParams) -> TMazeState:
        a = self.clip_action(action, params)
        phase, ps = state.phase, state.phase_step + 1
        # Choice period: a choice, or an omission when the window runs out.
        in_choice = phase == CHOICE
        chose = in_choice & (a > 0)
        done = chose | (in_choice & (ps >= params.response_steps))
        choice = jnp.where(chose, a - 1, state.choice)
        correct = jnp.where(done, self.judge(choice, state.cue, state.prev_choice, params), state.correct)
        # Timed phases.
        cue_end = (phase == CUE) & (ps >= params.cue_steps)
        delay_end = (phase == DELAY) & (ps >= params.delay_steps)
        after_cue = jnp.where(params.delay_steps > 0, DELAY, CHOICE)
        new_trial = (phase == OUTCOME) & (ps >= params.iti_steps)
        next_phase = jnp.where(
            done,
            OUTCOME,
            jnp.where(
                cue_end,
                after_cue,
                jnp.where(delay_end, CHOICE, jnp.where(new_trial, self.first_phase(params), phase)),
            ),
        ).astype(jnp.int32)
        changed = done | cue_end | delay_end | new_trial
        nxt = self._next_trial(state, params)
        return state.replace(
            trial=jnp.where(new_trial, nxt["trial"], state.trial),
            phase=next_phase,
            phase_step=jnp.where(changed, 0, ps),
            choice=jnp.where(new_trial, nxt["choice"], choice),
            prev_choice=jnp.where(new_trial, nxt["prev_choice"], state.prev_choice),
            correct=jnp.where(new_trial, nxt["correct"], correct),
            trial_done=done,
        )

    def _transition_spatial(self, state: TMazeState, action: jax.Array, params: TMazeParams) -> TMazeState:
        in_outcome = state.phase == OUTCOME
        ps = state.phase_step + 1
        # Walking (ignored during the outcome period).
        body = move(state.position, state.heading, state.speed, action, params, project_into_maze)
        moved = body.position
        arm = goal_reached(moved, params)
        done = ~in_outcome & (arm >= 0)
        choice = jnp.where(done, arm, state.choice)
        correct = jnp.where(done, self.judge(choice, state.cue, state.prev_choice, params), state.correct)
        walk_phase = jnp.where(done, OUTCOME, position_phase(moved, params))
        # End of the outcome period: back to the start for the next trial.
        new_trial = in_outcome & (ps >= params.iti_steps)
        start = params.start_position
        nxt = self._next_trial(state, params)
        position = jnp.where(new_trial, start, jnp.where(in_outcome, state.position, moved))
        phase = jnp.where(
            new_trial, position_phase(start, params), jnp.where(in_outcome, OUTCOME, walk_phase)
        )
        return state.replace(
            trial=jnp.where(new_trial, nxt["trial"], state.trial),
            phase=phase.astype(jnp.int32),
            phase_step=jnp.where(phase == state.phase, ps, 0),
            choice=jnp.where(new_trial, nxt["choice"], choice),
            prev_choice=jnp.where(new_trial, nxt["prev_choice"], state.prev_choice),
            correct=jnp.where(new_trial, nxt["correct"], correct),
            trial_done=done,
            position=position,
            heading=jnp.where(new_trial, 0.5 * jnp.pi, jnp.where(in_outcome, state.heading, body.heading)),
            speed=jnp.where(in_outcome, 0.0, body.speed),
            angular_velocity=jnp.where(in_outcome, 0.0, body.angular_velocity),
        )

    def observation(self, state: TMazeState, rng: jax.Array, params: TMazeParams | None = None) -> jax.Array:
        params = self.default_params if params is None else params
        cue_on = state.phase == CUE
        outcome = state.phase == OUTCOME
        cue_left = cue_on & (state.cue == 0)
        cue_right = cue_on & (state.cue == 1)
        rewarded = outcome & state.correct & params.rewarding
        if params.mode == "discrete":
            flags = [
                cue_left,
                cue_right,
                state.phase == CHOICE,
                outcome & (state.choice == 0),
                outcome & (state.choice == 1),
                rewarded,
            ]
            return jnp.stack(flags).astype(jnp.float32)
        return jnp.concatenate(
            [
                jnp.stack([cue_left, cue_right, rewarded]).astype(jnp.float32),
                self.ray_distances(state.position, state.heading, params),
                jnp.stack([state.speed, state.angular_velocity]),
            ]
        ).astype(jnp.float32)

    def reward(
        self,
        state: TMazeState,
        action: jax.Array,
        next_state: TMazeState,
        rng: jax.Array,
        params: TMazeParams | None = None,
    ) -> jax.Array:
        params = self.default_params if params is None else params
        if not params.rewarding:
            return jnp.zeros((), jnp.float32)
        return jnp.where(next_state.trial_done & next_state.correct, params.reward_correct, 0.0).astype(
            jnp.float32
        )

    def terminal(self, state: TMazeState, rng: jax.Array, params: TMazeParams | None = None) -> jax.Array:
        """The block's last trial has its choice (or omission)."""
        params = self.default_params if params is None else params
        return state.trial_done & (state.trial >= params.n_trials - 1)

    def state_info(self, state: TMazeState, params: TMazeParams | None = None) -> dict:
        """Trial variables: ``time`` (s since the episode began), ``trial``, ``phase`` (0 cue, 1 delay,
        2 choice, 3 outcome), ``cue`` (0 left, 1 right, -1 none), ``choice`` (-1 none yet or omission),
        ``correct``, ``rewarded`` and ``trial_done`` (this step made or missed the choice); in the spatial
        mode also ``position`` (m), ``heading`` and ``speed``."""
        params = self.default_params if params is None else params
        info = {
            "time": state.step.astype(jnp.float32) * params.dt,
            "trial": state.trial,
            "phase": state.phase,
            "cue": state.cue,
            "choice": state.choice,
            "correct": state.correct,
            "rewarded": state.trial_done & state.correct & params.rewarding,
            "trial_done": state.trial_done,
        }
        if params.mode == "spatial":
            info.update(position=state.position, heading=state.heading, speed=state.speed)
        return info

    def transition_info(self, state, action, next_state, params=None) -> dict:
        return self.state_info(next_state, params)

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: TMazeParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        if params.mode == "discrete":
            return spaces.Box(0.0, 1.0, (6,), np.float32)
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
    def is_spatial(self, params: TMazeParams) -> bool:
        return params.mode == "spatial"

    def action_names(self, params: TMazeParams) -> list[str]:
        return ["acceleration", "angular_velocity"] if params.mode == "spatial" else ["action"]

    def recording_attrs(self, params: TMazeParams) -> dict[str, Any]:
        return {"task": params.task, "mode": params.mode}

    def action_space(self, params: TMazeParams | None = None) -> spaces.Space:
        params = self.default_params if params is None else params
        if params.mode == "discrete":
            return spaces.Discrete(3)
        high = np.array([params.max_acceleration, params.max_angular_velocity], np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    # -- rendering ----------------------------------------------------------------------------------------
    def schematic_pose(self, state: TMazeState, params: TMazeParams) -> tuple[np.ndarray, float]:
        """Where to draw the animal in the discrete mode: up the stem as the cue and delay elapse, at the
        junction during the choice period, in the chosen arm's well during the outcome."""
        x0, x1 = (float(v) for v in params.stem_x)
        xc, w = 0.5 * (x0 + x1), float(params.corridor_width)
        length, width = float(params.stem_length), float(params.maze_width)
        yj = length + 0.5 * w
        phase = int(state.phase)
        if phase in (CUE, DELAY):
            total = max(int(params.cue_steps) + int(params.delay_steps), 1)
            done = int(state.phase_step) + (int(params.cue_steps) if phase == DELAY else 0)
            y = 0.5 * w + (length - 0.5 * w) * min(done / total, 1.0)
            return np.array([xc, y]), 0.5 * np.pi
        if phase == CHOICE or int(state.choice) < 0:
            return np.array([xc, yj]), 0.5 * np.pi
        g = 0.5 * float(params.goal_length)
        return (np.array([g, yj]), np.pi) if int(state.choice) == 0 else (np.array([width - g, yj]), 0.0)

    def render_init(self, params: TMazeParams | None = None, trail_seconds: float = 10.0, size: int = 256):
        params = self.default_params if params is None else params
        return {
            "trail": collections.deque(maxlen=max(1, int(trail_seconds / float(params.dt)))),
            "size": size,
            "trial": None,
        }

    def render_image(self, state: TMazeState, render_state: Any, params: TMazeParams | None = None):
        """The maze from above: corridors, the cue (coloured walls on the cued side of the cue segment), the
        two food wells (lit when the chosen one held a reward), the path of this trial and the animal."""
        params = self.default_params if params is None else params
        render_state = render_state or self.render_init(params)
        width, height = float(params.maze_width), float(params.maze_height)
        length, w = float(params.stem_length), float(params.corridor_width)
        x0, x1 = (float(v) for v in params.stem_x)
        pad = 0.08 * max(width, height)
        canvas = Canvas(
            (-pad, width + pad),
            (-pad, height + pad),
            size=render_state["size"],
            background=COLOURS["outside"],
        )
        wall = 0.02 * max(width, height)
        canvas.fill_rect(x0, 0.0, x1, length, COLOURS["floor"])
        canvas.fill_rect(0.0, length, width, height, COLOURS["floor"])
        outline = np.array(
            [
                [x0, 0],
                [x1, 0],
                [x1, length],
                [width, length],
                [width, height],
                [0, height],
                [0, length],
                [x0, length],
                [x0, 0],
            ],
            float,
        )
        canvas.polyline(outline, wall, COLOURS["wall"])
        cue = int(state.cue)
        show_cue = cue >= 0 and (params.mode == "spatial" or int(state.phase) == CUE)
        if show_cue:
            xw = x0 if cue == 0 else x1
            canvas.line((xw, 0.0), (xw, float(params.cue_length)), 1.6 * wall, COLOURS["cue"])
        g = float(params.goal_length)
        yj = length + 0.5 * w
        lit = int(state.phase) == OUTCOME and bool(state.correct) and params.rewarding
        for arm, xg in ((0, 0.5 * g), (1, width - 0.5 * g)):
            colour_alpha = 1.0 if lit and int(state.choice) == arm else 0.3
            canvas.fill_circle((xg, yj), 0.25 * w, COLOURS["reward"], colour_alpha)
        if params.mode == "spatial":
            position, heading = np.asarray(state.position, float), float(state.heading)
        else:
            position, heading = self.schematic_pose(state, params)
        if render_state["trial"] != int(state.trial) or int(state.step) == 0:
            render_state["trail"].clear()
        render_state["trial"] = int(state.trial)
        render_state["trail"].append(position)
        if len(render_state["trail"]) > 1:
            canvas.polyline(np.array(render_state["trail"]), wall / 2, COLOURS["trail"])
        canvas.agent(position, heading, radius=0.3 * w)
        return render_state, canvas.image
