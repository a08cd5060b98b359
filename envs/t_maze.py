"""TMaze-v0: cued and alternation choice in a T-maze, as the abstract lab task (NeuroGym-style).

The task (cued choice after a delay, rewarded or spontaneous alternation, blocks of ``n_trials``) is
described in :mod:`.t_maze_task`, which this environment shares with SpatialTMaze-v0 (the same task in a
T of corridors walked in metres; ``make("neuroethology/TMaze-v0", mode="spatial")`` builds that one).

Each step of ``dt`` the agent takes one of ``Discrete(3)`` actions, 0 = wait (run on), 1 = choose left,
2 = choose right (in the JAX core any other value counts as 0; the Gymnasium adapter rejects it). A trial
runs through phases (0 cue, 1 delay, 2 choice, 3 outcome) of ``cue_duration``, ``delay_duration``, up to
``response_window`` and ``iti_duration`` seconds. The cue is observed during the cue period only; choices
outside the choice period are ignored; a choice period without a choice is an omission (choice -1,
incorrect, no reward). The observation (``Box(0, 1, (6,))``) is
``[cue_left, cue_right, go, in_left_arm, in_right_arm, reward]``: the cue during the cue period, ``go``
during the choice period, and, during the outcome period, the arm chosen and whether it held a reward.
The picture is drawn on the maze of the spatial task, the animal's place standing for the phase.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from .core import register
from .t_maze_task import (
    CHOICE,
    CUE,
    DELAY,
    OUTCOME,
    PHASE_NAMES,
    TMazeState,
    TMazeTask,
    TMazeTaskParams,
    block_cues,
    duration_in_steps,
    first_trial,
    judge,
    trial_fields,
)

__all__ = [
    "TMaze",
    "TMazeParams",
    "TMazeState",
    "PHASE_NAMES",
    "CUE",
    "DELAY",
    "CHOICE",
    "OUTCOME",
]


@struct.dataclass
class TMazeParams(TMazeTaskParams):
    """Parameters of TMaze-v0, SI units: the task and maze of :class:`TMazeTaskParams` (the maze is the
    picture's) and the durations of the timed phases."""

    cue_duration: float = 1.0  # s, cue period. Seconds, as the cue segment of the virtual maze of Harvey
    # et al. 2012 took the mice (their trials lasted about 10 s)
    delay_duration: float = 2.0  # s, delay between cue offset and choice, the order of Harvey et al. 2012's
    # delay segment; vary it to load working memory
    response_window: float = 2.0  # s, longest choice period before an omission (design choice)

    cue_steps = duration_in_steps("cue_duration", "Steps of the cue period.")
    delay_steps = duration_in_steps("delay_duration", "Steps of the delay.")
    response_steps = duration_in_steps("response_window", "Steps of the longest choice period.")

    @property
    def mode(self) -> str:
        """``"discrete"``: this task's name as a mode of TMaze-v0, before each task had its own environment
        (a constant, not a parameter; simulated Recordings carry it as ``attrs["mode"]``)."""
        return "discrete"


@register
class TMaze(TMazeTask):
    """Cued and alternation choice in a T-maze as timed phases and discrete choices (see the module
    docstring)."""

    name = "TMaze"
    params_type = TMazeParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: TMazeParams) -> list[str]:
        problems = super().validate_params(params)
        for name in ("cue_duration", "delay_duration"):
            if not float(getattr(params, name)) >= 0:
                problems.append(f"{name} must be >= 0 s, got {getattr(params, name)}")
        problems += self.too_short(params, ("response_window",))
        if params.task == "cued" and int(params.cue_steps) < 1:
            problems.append(
                f"a cued task needs a cue period of at least one step (dt = {float(params.dt)} s), got "
                f"cue_duration = {params.cue_duration}"
            )
        return problems

    # -- helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def first_phase(params: TMazeParams) -> jax.Array:
        """The phase a trial starts in (phases of zero duration are skipped)."""
        return jnp.where(params.cue_steps > 0, CUE, jnp.where(params.delay_steps > 0, DELAY, CHOICE)).astype(
            jnp.int32
        )

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: TMazeParams | None = None) -> TMazeState:
        return TMazeState(**first_trial(block_cues(rng, params), self.first_phase(params)))

    def clip_action(self, action: jax.Array, params: TMazeParams) -> jax.Array:
        """The action as an int32 in {0, 1, 2} (anything else, NaN included, counts as 0, wait)."""
        a = jnp.asarray(action)
        a = (
            jnp.where(jnp.isfinite(a), a, 0).astype(jnp.int32)
            if jnp.issubdtype(a.dtype, jnp.floating)
            else a.astype(jnp.int32)
        )
        return jnp.where((a >= 0) & (a <= 2), a, 0)

    def transition(
        self, state: TMazeState, action: jax.Array, rng: jax.Array, params: TMazeParams | None = None
    ) -> TMazeState:
        a = self.clip_action(action, params)
        phase, ps = state.phase, state.phase_step + 1
        # Choice period: a choice, or an omission when the window runs out.
        in_choice = phase == CHOICE
        chose = in_choice & (a > 0)
        done = chose | (in_choice & (ps >= params.response_steps))
        choice = jnp.where(chose, a - 1, state.choice)
        correct = jnp.where(done, judge(choice, state.cue, state.prev_choice, params), state.correct)
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
        return state.replace(
            phase=next_phase,
            phase_step=jnp.where(changed, 0, ps),
            **trial_fields(state, choice, correct, done, new_trial),
        )

    def observation(self, state: TMazeState, rng: jax.Array, params: TMazeParams | None = None) -> jax.Array:
        cue_left, cue_right, rewarded = self.trial_flags(state, params)
        outcome = state.phase == OUTCOME
        flags = [
            cue_left,
            cue_right,
            state.phase == CHOICE,
            outcome & (state.choice == 0),
            outcome & (state.choice == 1),
            rewarded,
        ]
        return jnp.stack(flags).astype(jnp.float32)

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: TMazeParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (6,), np.float32)

    def action_space(self, params: TMazeParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    # -- what the environment says about itself ----------------------------------------------------------
    def is_spatial(self, params: TMazeParams) -> bool:
        return False

    # -- rendering ----------------------------------------------------------------------------------------
    def cue_drawn(self, state: TMazeState) -> bool:
        return int(state.phase) == CUE

    def picture_pose(self, state: TMazeState, params: TMazeParams) -> tuple[np.ndarray, float]:
        """Where to draw the animal: up the stem as the cue and delay elapse, at the junction during the
        choice period, in the chosen arm's well during the outcome."""
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
