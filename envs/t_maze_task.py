"""The T-maze task shared by TMaze-v0 (the discrete lab task) and SpatialTMaze-v0 (the maze walked in metres).

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
terminates when the last trial's outcome period is over (as every other trial ends: so the state after the
last choice is a step of the episode, and a simulated Recording holds the last choice like every other),
and is truncated at ``session_duration``.
Each trial's cue is a fair coin flip (left or right, independent across trials); alternation tasks show no
cue. Arms: 0 = left, 1 = right (as seen running up the stem). A trial passes through the phases 0 cue,
1 delay, 2 choice and 3 outcome (of ``iti_duration``, after which the next trial starts).

This module holds what both environments share: the parameters of the task and of the maze's shape
(:class:`TMazeTaskParams`), the trial state (:class:`TMazeState`), the cues, the rules that judge a choice,
the bookkeeping of trials, the reward, the end of a block, the trial variables in ``info`` and the picture
of the maze (:class:`TMazeTask`, the base of both environments). Each environment adds how a trial is run:
by timed phases and ``Discrete(3)`` choices (:mod:`.t_maze`) or by walking the corridors
(:mod:`.spatial_t_maze`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .core import EnvState, NeuroEnv, uniform21
from .rendering import COLOURS, Canvas, draw_trail, trail_render_state

__all__ = [
    "CHOICE",
    "CUE",
    "DELAY",
    "OUTCOME",
    "PHASE_NAMES",
    "TASKS",
    "TMazeState",
    "TMazeTask",
    "TMazeTaskParams",
    "cue_sequence",
    "duration_in_steps",
    "judge",
    "steps",
    "trial_fields",
]

TASKS = ("cued", "alternation", "spontaneous_alternation")
CUE, DELAY, CHOICE, OUTCOME = 0, 1, 2, 3
PHASE_NAMES = ("cue", "delay", "choice", "outcome")


def steps(seconds: Any, dt: Any) -> jax.Array:
    """A duration (s) as a whole number of steps of ``dt`` (s), rounded; int32."""
    return jnp.round(jnp.asarray(seconds) / dt).astype(jnp.int32)


def duration_in_steps(field: str, doc: str) -> property:
    """A derived params property: the field ``field`` (seconds) as a whole number of steps of ``dt``."""
    return property(lambda params: steps(getattr(params, field), params.dt), doc=doc)


@struct.dataclass
class TMazeTaskParams:
    """The task and the maze's shape, SI units: the parameters both T-maze environments have. Fields marked
    static change array shapes or code paths (changing them recompiles); the others may be traced and
    vmapped over."""

    # Task.
    task: str = struct.field(pytree_node=False, default="cued")  # "cued", "alternation" or
    # "spontaneous_alternation"
    n_trials: int = struct.field(pytree_node=False, default=10)  # trials per episode (a block): a design
    # choice of the size of a day's session (T-maze alternation protocols after Deacon & Rawlins 2006 run
    # 6-8 trials a day); long enough for an agent to show trial-to-trial memory
    reward_correct: float = 1.0  # reward for a correct choice (none in spontaneous alternation)
    # Time.
    dt: float = 0.1  # s, NeuroGym's default step for cognitive tasks (Molano-Mazon et al. 2022)
    session_duration: float = 600.0  # s, time limit of an episode (a 10 min session). A discrete block ends
    # well before it (at most 10 x 7 s); in the maze it stops an agent that never reaches an arm
    iti_duration: float = 2.0  # s, outcome and inter-trial interval: seconds, as the blank screen between
    # virtual trials (Harvey et al. 2012); physical mazes hold the animal 10-30 s (Deacon & Rawlins 2006).
    # Lengthen it to test memory for the last arm in alternation
    # Maze geometry (the corridors of SpatialTMaze; the picture of TMaze).
    stem_length: float = 0.3  # m, start arm: the 30 cm x 10 cm arms of the mouse T-maze of
    # Deacon & Rawlins 2006
    arm_length: float = 0.3  # m, each goal arm, from the stem's side wall to the arm's end (Deacon & Rawlins)
    corridor_width: float = 0.1  # m, width of every arm (Deacon & Rawlins 2006)
    cue_length: float = 0.15  # m, the cue segment: the first half of the stem, after the stem of Harvey
    # et al. 2012 (cue on the walls of its first part, then a delay segment with identical walls)
    goal_length: float = 0.1  # m, the food well zone at each arm's end whose entry counts as the choice

    max_steps = duration_in_steps("session_duration", "Steps per episode at most: ``session_duration / dt``.")
    iti_steps = duration_in_steps("iti_duration", "Steps of the outcome period: ``iti_duration / dt``.")

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
    def rewarding(self) -> bool:
        return self.task != "spontaneous_alternation"


@struct.dataclass(kw_only=True)
class TMazeState(EnvState):
    """Where the block stands: the trial, its phase and the choices made."""

    trial: jax.Array  # () int32, index of the current trial in the block
    phase: jax.Array  # () int32: 0 cue, 1 delay, 2 choice, 3 outcome
    phase_step: jax.Array  # () int32, steps spent in the current phase
    cues: jax.Array  # (n_trials,) int32 cue of every trial in the block (0 left, 1 right; -1 no cue)
    choice: jax.Array  # () int32 arm chosen this trial (0 left, 1 right; -1 none yet or omission)
    prev_choice: jax.Array  # () int32 arm chosen on the last trial with a choice (-1 none yet)
    correct: jax.Array  # () bool, this trial's choice was correct
    trial_done: jax.Array  # () bool, the last step made (or missed) this trial's choice

    @property
    def cue(self) -> jax.Array:
        """This trial's cue (0 left, 1 right, -1 none)."""
        return self.cues[jnp.minimum(self.trial, self.cues.shape[0] - 1)]


# ---------------------------------------------------------------------------------------------------------
# The task's rules (pure JAX)
# ---------------------------------------------------------------------------------------------------------


def cue_sequence(key: jax.Array, n: int) -> jax.Array:
    """``n`` fair coin flips (int32 0/1). Up to 63 come from the 63 bits of one ``uniform21`` draw (no
    extra threefry call per reset); more use ``jax.random.bits``."""
    if n <= 63:
        words = (uniform21(key, 3) * 2.0**21).astype(jnp.uint32)
        idx = jnp.arange(n)
        return ((words[idx // 21] >> (idx % 21).astype(jnp.uint32)) & 1).astype(jnp.int32)
    return (jax.random.bits(key, (n,), jnp.uint32) >> 31).astype(jnp.int32)


def block_cues(key: jax.Array, params: TMazeTaskParams) -> jax.Array:
    """The cues of a new block ``(n_trials,)``: fair coins in the cued task, -1 (no cue) in alternation."""
    if params.task == "cued":
        return cue_sequence(key, params.n_trials)
    return jnp.full((params.n_trials,), -1, jnp.int32)


def judge(choice: jax.Array, cue: jax.Array, prev_choice: jax.Array, params: TMazeTaskParams) -> jax.Array:
    """Whether ``choice`` (0/1; -1 omission) is correct: it matches the cue (cued task) or differs from
    the previous trial's arm, any arm being correct on a block's first trial (alternation tasks)."""
    chose = choice >= 0
    if params.task == "cued":
        return chose & (choice == cue)
    return chose & ((prev_choice < 0) | (choice != prev_choice))


def trial_fields(
    state: TMazeState, choice: jax.Array, correct: jax.Array, done: jax.Array, new_trial: jax.Array
) -> dict[str, jax.Array]:
    """The trial fields of the state after a step: this trial's ``choice`` and ``correct``, or, where
    ``new_trial`` (the outcome period is over), a fresh trial (no choice yet, the last arm chosen remembered);
    ``trial_done`` is ``done`` (this step made or missed the choice)."""
    return {
        "trial": jnp.where(new_trial, state.trial + 1, state.trial),
        "choice": jnp.where(new_trial, jnp.full((), -1, jnp.int32), choice),
        "prev_choice": jnp.where(
            new_trial, jnp.where(state.choice >= 0, state.choice, state.prev_choice), state.prev_choice
        ),
        "correct": jnp.where(new_trial, jnp.zeros((), bool), correct),
        "trial_done": done,
    }


def first_trial(cues: jax.Array, phase: jax.Array) -> dict[str, jax.Array]:
    """The trial fields of a block's initial state: trial 0 in ``phase``, nothing chosen yet."""
    zero, minus = jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32)
    return {
        "trial": zero,
        "phase": phase,
        "phase_step": zero,
        "cues": cues,
        "choice": minus,
        "prev_choice": minus,
        "correct": jnp.zeros((), bool),
        "trial_done": jnp.zeros((), bool),
    }


# ---------------------------------------------------------------------------------------------------------
# The base of both environments
# ---------------------------------------------------------------------------------------------------------


class TMazeTask(NeuroEnv):
    """What TMaze and SpatialTMaze share: checks of the task's parameters, the cue and reward flags of the
    observation, the reward, the end of a block, ``info`` and the picture. Subclasses run the trials
    (``initial``, ``transition``, ``observation``, the spaces) and say where the animal is drawn
    (:meth:`picture_pose`) and when the cue is drawn (:meth:`cue_drawn`)."""

    # The two environments were once the modes of TMaze-v0: ``make(..., mode=...)`` picks one.
    mode_ids: ClassVar[Mapping[str, str]] = {
        "discrete": "neuroethology/TMaze-v0",
        "spatial": "neuroethology/SpatialTMaze-v0",
    }

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: TMazeTaskParams) -> list[str]:
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={"task": TASKS},
            positive=("dt", "session_duration", "stem_length", "arm_length", "corridor_width", "goal_length"),
            at_least_one=("n_trials",),
        )
        problems += self.too_short(params, ("iti_duration",))
        if not 0 < float(params.cue_length) <= float(params.stem_length):
            problems.append(
                f"cue_length must be in (0, stem_length = {params.stem_length}] m, got {params.cue_length}"
            )
        if not float(params.goal_length) <= float(params.arm_length):
            problems.append(
                f"goal_length must be <= arm_length = {params.arm_length} m, got {params.goal_length}"
            )
        return problems

    @staticmethod
    def too_short(params: TMazeTaskParams, names: tuple[str, ...]) -> list[str]:
        """A problem for each duration field of ``names`` that lasts less than one step."""
        return [
            f"{name} must last at least one step (dt = {float(params.dt)} s), got {getattr(params, name)}"
            for name in names
            if not int(steps(getattr(params, name), params.dt)) >= 1
        ]

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    @staticmethod
    def trial_flags(state: TMazeState, params: TMazeTaskParams) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(cue_left, cue_right, rewarded)``: the cue during the cue phase, and the outcome period of a
        correct choice in a rewarding task."""
        cue_on = state.phase == CUE
        cue_left = cue_on & (state.cue == 0)
        cue_right = cue_on & (state.cue == 1)
        rewarded = (state.phase == OUTCOME) & state.correct & params.rewarding
        return cue_left, cue_right, rewarded

    def reward(
        self,
        state: TMazeState,
        action: jax.Array,
        next_state: TMazeState,
        rng: jax.Array,
        params: TMazeTaskParams | None = None,
    ) -> jax.Array:
        if not params.rewarding:
            return jnp.zeros((), jnp.float32)
        return jnp.where(next_state.trial_done & next_state.correct, params.reward_correct, 0.0).astype(
            jnp.float32
        )

    def terminal(self, state: TMazeState, rng: jax.Array, params: TMazeTaskParams | None = None) -> jax.Array:
        """The block's last trial is over: its choice made (or missed) and its outcome period past."""
        return state.trial >= params.n_trials

    def state_info(self, state: TMazeState, params: TMazeTaskParams | None = None) -> dict:
        """Trial variables: ``time`` (s since the episode began), ``trial``, ``phase`` (0 cue, 1 delay,
        2 choice, 3 outcome), ``cue`` (0 left, 1 right, -1 none), ``choice`` (-1 none yet or omission),
        ``correct``, ``rewarded`` and ``trial_done`` (this step made or missed the choice)."""
        return {
            "time": state.step.astype(jnp.float32) * params.dt,
            "trial": state.trial,
            "phase": state.phase,
            "cue": state.cue,
            "choice": state.choice,
            "correct": state.correct,
            "rewarded": state.trial_done & state.correct & params.rewarding,
            "trial_done": state.trial_done,
        }

    # -- what the environment says about itself ----------------------------------------------------------
    def recording_attrs(self, params: TMazeTaskParams) -> dict[str, Any]:
        return {"task": params.task, "mode": params.mode}

    # -- rendering ----------------------------------------------------------------------------------------
    def picture_pose(self, state: TMazeState, params: TMazeTaskParams) -> tuple[np.ndarray, float]:
        """Where the animal is drawn: ``(position (2,) m, heading rad)``."""
        raise NotImplementedError

    def cue_drawn(self, state: TMazeState) -> bool:
        """Whether the picture shows this trial's cue (when the trial has one)."""
        raise NotImplementedError

    def render_init(
        self, params: TMazeTaskParams | None = None, trail_seconds: float = 10.0, size: int = 256
    ):
        return trail_render_state(params, trail_seconds, size, trial=None)

    def render_image(self, state: TMazeState, render_state: Any, params: TMazeTaskParams | None = None):
        """The maze from above: corridors, the cue (coloured walls on the cued side of the cue segment), the
        two food wells (lit when the chosen one held a reward), the path of this trial and the animal."""
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
        outline = [[x0, 0], [x1, 0], [x1, length], [width, length], [width, height], [0, height], [0, length]]
        canvas.polyline(np.array(outline + [[x0, length], [x0, 0]], float), wall, COLOURS["wall"])
        cue = int(state.cue)
        if cue >= 0 and self.cue_drawn(state):
            xw = x0 if cue == 0 else x1
            canvas.line((xw, 0.0), (xw, float(params.cue_length)), 1.6 * wall, COLOURS["cue"])
        g = float(params.goal_length)
        yj = length + 0.5 * w
        lit = int(state.phase) == OUTCOME and bool(state.correct) and params.rewarding
        for arm, xg in ((0, 0.5 * g), (1, width - 0.5 * g)):
            colour_alpha = 1.0 if lit and int(state.choice) == arm else 0.3
            canvas.fill_circle((xg, yj), 0.25 * w, COLOURS["reward"], colour_alpha)
        position, heading = self.picture_pose(state, params)
        if render_state["trial"] != int(state.trial) or int(state.step) == 0:
            render_state["trail"].clear()
        render_state["trial"] = int(state.trial)
        draw_trail(canvas, render_state, position, wall / 2)
        canvas.agent(position, heading, radius=0.3 * w)
        return render_state, canvas.image
