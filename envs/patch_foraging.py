"""PatchForaging-v0: the patch-leaving problem of optimal foraging theory, as the lab task.

The paradigm: food comes in patches whose yield falls while the animal exploits them, and reaching another
patch costs travel time. When should the forager leave? Charnov's Marginal Value Theorem (MVT; Charnov
1976, Theor. Popul. Biol. 9:129) answers: leave when the patch's instantaneous reward rate has fallen to the
best long-run reward rate of the whole environment; so the richer the environment or the shorter the travel,
the earlier the animal should leave. Lab versions: humans harvesting depleting trees (Constantino & Daw 2015,
Cogn. Affect. Behav. Neurosci. 15:837), mice poking at reward ports whose reward probability decays
exponentially with use (Lottem et al. 2018, Nat. Commun. 9:1000) or licking in virtual patches with
probabilistic, decaying rewards (Bukwich et al. 2025, Neuron), rats at depleting feeders separated by
imposed travel delays (e.g. 0-24 s in the heterogeneous-stock rat task of Sci. Rep. 2023, 13, doi:
10.1038/s41598-023-34179-8).

Patches deplete and pay rewards as :mod:`neuroethology.envs.patch_task` describes (shared with
SpatialPatchForaging-v0, where the patches lie in an open field and travel is walking).

Each step the animal in a patch chooses ``0`` = stay (harvest) or ``1`` = leave (``Discrete(2)``). Leaving
starts a travel of ``X`` seconds, ``X`` drawn from ``travel_distribution``: ``"exponential"`` (default; mean
``travel_time``), ``"uniform"`` (``travel_time +- travel_time_range / 2``) or ``"fixed"``
(``X = travel_time``); it lasts ``max(1, ceil(X / dt))`` steps (the leave step included; a tolerance of 1e-3
step absorbs float rounding, so 3 s at ``dt = 0.1`` s is 30 steps), during which actions are ignored and
nothing is earned. Travel ends in a fresh patch (as in the lab tasks, where the next patch is a new one).
Observation (``Box``, float32, 5 values, what the animal can know)::

    [last reward (reward units), time harvested in this patch (s), reward harvested in this patch (units),
     travelling (0/1), time since leaving the last patch (s; 0 in a patch)]

The patch's level and the travel time still to go are hidden (to be inferred, as the animals must).

Random draws (few, cheap: see ``uniform21``): a transition draws ``uniform21(rng, 2)`` (reward, travel
time); an episode starts in a fresh patch. The JAX core never rejects an action: any value ``> 0.5`` means
leave and anything else (NaN included) stay. The Gymnasium adapter instead rejects actions outside the
space with a ``ValueError``.

``info`` (and ``state_info``) carry the shared patch fields (:mod:`~neuroethology.envs.patch_task`);
patches are numbered in order of visit within the episode.

:func:`mvt_optimum` computes the MVT optimum (residence time and long-run reward rate) exactly for these
discrete-time dynamics; :func:`long_run_reward_rate` gives the long-run rate of any fixed residence. The MVT
maths and Charnov's diagram live in ``patch_mvt.py``.

``mode="discrete"`` / ``mode="spatial"`` (this environment's parameter before the two tasks were split)
are still accepted by :func:`~neuroethology.envs.make` and ``gymnasium.make`` with this id.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from .core import register, uniform21
from .patch_mvt import (
    STEP_TOLERANCE,
    MVTOptimum,
    _concrete,
    arrival_level,
    draw_charnov_diagram,
    long_run_reward_rate,
    mean_drawn_travel_steps,
    mean_travel_steps,
    mvt_optimum,
)
from .patch_task import PatchParams, PatchState, PatchTask

__all__ = [
    "MVTOptimum",
    "PatchForaging",
    "PatchForagingParams",
    "PatchForagingState",
    "arrival_level",
    "long_run_reward_rate",
    "mean_travel_steps",
    "mvt_optimum",
]

TRAVEL_DISTRIBUTIONS = ("fixed", "exponential", "uniform")


@struct.dataclass
class PatchForagingParams(PatchParams):
    """Parameters of PatchForaging-v0: the patch fields of :class:`~neuroethology.envs.patch_task.PatchParams`
    and the travel between patches, SI units (static fields change code paths; numbers marked "chosen" are
    modelling choices, with a reason)."""

    travel_distribution: str = struct.field(pytree_node=False, default="exponential")  # "exponential",
    # "uniform" (stochastic travel times, as in the mouse task of PLoS Comput. Biol. 2025,
    # doi:10.1371/journal.pcbi.1012989; exponential is memoryless: time travelled does not predict arrival)
    # or "fixed" (the blocked delays of most lab tasks)
    travel_time: float = 6.0  # s, mean travel time: one of the 0-24 s delays of the Sci. Rep. 2023 rat task
    travel_time_range: float = 4.0  # s, width of the "uniform" distribution (chosen: mean +- 2 s)

    def mean_travel_steps(self) -> float:
        return mean_drawn_travel_steps(self)

    def nominal_travel_time(self) -> float:
        return _concrete(self, "travel_time")


@struct.dataclass(kw_only=True)
class PatchForagingState(PatchState):
    """The shared patch state and the travel."""

    travel_left: jax.Array  # () int32 travel steps still to go (0 in a patch)
    travel_elapsed: jax.Array  # () int32 steps since leaving the last patch (0 in a patch)

    @property
    def current_level(self) -> jax.Array:
        """Resource level of the patch the animal is in (0 while travelling)."""
        return jnp.where(self.travel_left > 0, 0.0, self.level)


@register
class PatchForaging(PatchTask):
    """The patch-leaving problem as the lab task (see the module docstring for spaces and reward)."""

    name = "PatchForaging"
    params_type = PatchForagingParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: PatchForagingParams) -> list[str]:
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={"travel_distribution": TRAVEL_DISTRIBUTIONS},
            non_negative=("travel_time", "travel_time_range"),
        )
        if params.travel_distribution == "uniform" and _concrete(params, "travel_time") < (
            _concrete(params, "travel_time_range") / 2
        ):
            problems.append(
                f"uniform travel times must stay >= 0: travel_time ({params.travel_time}) must be at least "
                f"travel_time_range / 2 ({_concrete(params, 'travel_time_range') / 2})"
            )
        if problems:
            return problems  # the check below needs sane values
        return self.reward_problems(params)

    # -- actions and random draws -------------------------------------------------------------------------
    @staticmethod
    def leave_action(action: jax.Array) -> jax.Array:
        """Whether ``action`` means leave (any value > 0.5; NaN and anything else stay)."""
        return jnp.asarray(action).astype(jnp.float32) > 0.5

    @staticmethod
    def travel_steps(u: jax.Array, params: PatchForagingParams) -> jax.Array:
        """Steps a travel lasts (leave step included) for a uniform draw ``u`` in [0, 1): int32 >= 1."""
        mean = jnp.asarray(params.travel_time, jnp.float32)
        if params.travel_distribution == "exponential":
            x = -mean * jnp.log1p(-u)
        elif params.travel_distribution == "uniform":
            x = mean + (u - 0.5) * params.travel_time_range
        else:
            x = mean
        return jnp.maximum(1, jnp.ceil(x / params.dt - STEP_TOLERANCE)).astype(jnp.int32)

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: PatchForagingParams | None = None) -> PatchForagingState:
        """At the start of a fresh patch (deterministic)."""
        zero_i, zero_f = jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32)
        return PatchForagingState(
            level=jnp.ones((), jnp.float32),
            residence=zero_i,
            patch=zero_i,
            patches_visited=zero_i,
            travel_left=zero_i,
            travel_elapsed=zero_i,
            last_reward=zero_f,
            patch_reward=zero_f,
            left=jnp.zeros((), bool),
        )

    def transition(
        self,
        state: PatchForagingState,
        action: Any,
        rng: jax.Array,
        params: PatchForagingParams | None = None,
    ) -> PatchForagingState:
        u = uniform21(rng, 2)  # u[0]: reward draw, u[1]: travel time draw
        travelling = state.travel_left > 0
        leave = ~travelling & self.leave_action(action)
        harvest = ~travelling & ~leave
        reward = jnp.where(harvest, self.harvest_reward(state.level, u[0], params), 0.0)
        travel_left = jnp.where(
            leave, self.travel_steps(u[1], params) - 1, jnp.where(travelling, state.travel_left - 1, 0)
        )
        arrived = ~harvest & (travel_left == 0)
        level = jnp.where(harvest, state.level * params.step_decay, state.level)
        patches_visited = state.patches_visited + arrived.astype(jnp.int32)
        return state.replace(
            level=jnp.where(arrived, 1.0, level).astype(jnp.float32),
            residence=jnp.where(harvest, state.residence + 1, 0),
            patch=jnp.where(travel_left > 0, -1, patches_visited),
            patches_visited=patches_visited,
            travel_left=travel_left,
            travel_elapsed=jnp.where(travel_left > 0, state.travel_elapsed + 1, 0),
            last_reward=reward,
            patch_reward=jnp.where(harvest, state.patch_reward + reward, 0.0),
            left=leave,
        )

    def observation(
        self, state: PatchForagingState, rng: jax.Array, params: PatchForagingParams | None = None
    ) -> jax.Array:
        return jnp.stack(
            [
                state.last_reward,
                state.residence * params.dt,
                state.patch_reward,
                (state.travel_left > 0).astype(jnp.float32),
                state.travel_elapsed * params.dt,
            ]
        ).astype(jnp.float32)

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: PatchForagingParams | None = None) -> spaces.Space:
        duration = float(params.max_steps) * float(params.dt)
        reward = float(params.max_step_reward)
        low = np.zeros(5, np.float32)
        high = np.array([reward, duration, reward * float(params.max_steps), 1.0, duration], np.float32)
        # Slack on the bounds absorbs float32 rounding.
        high = np.nextafter(high, np.float32(np.inf)) * np.float32(1 + 1e-6)
        return spaces.Box(low, high.astype(np.float32), dtype=np.float32)

    def action_space(self, params: PatchForagingParams | None = None) -> spaces.Space:
        return spaces.Discrete(2)

    # -- what the environment says about itself ----------------------------------------------------------
    def is_spatial(self, params: PatchForagingParams) -> bool:
        return False

    def recording_attrs(self, params: PatchForagingParams) -> dict[str, Any]:
        return {"mode": "discrete"}

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(
        self, params: PatchForagingParams | None = None, trail_seconds: float = 5.0, size: int = 256
    ):
        """Keeps the MVT optimum and the current patch's harvest (``trail_seconds`` is unused: the
        harvest of the current patch is drawn whole)."""
        return {"size": size, "trail": [], "optimum": mvt_optimum(params)}

    def render_image(
        self, state: PatchForagingState, render_state: Any, params: PatchForagingParams | None = None
    ):
        """Charnov's diagram (:func:`~neuroethology.envs.patch_mvt.draw_charnov_diagram`)."""
        render_state = render_state or self.render_init(params)
        return render_state, draw_charnov_diagram(state, render_state, params)
