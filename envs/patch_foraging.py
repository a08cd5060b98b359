"""PatchForaging-v0: the patch-leaving problem of optimal foraging theory.

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

Patches (both modes). A patch's resource level ``rho`` (1 = fresh) sets its instantaneous reward rate
``r = initial_rate * rho``. Harvesting for one step of ``dt`` seconds pays, in expectation, the integral of
that rate over the step and depletes the patch exponentially (time constant ``depletion_tau``)::

    expected reward = initial_rate * depletion_tau * rho * (1 - exp(-dt / depletion_tau))
    rho'            = rho * exp(-dt / depletion_tau)

so ``n`` harvest steps in a fresh patch pay exactly Charnov's exponential gain function
``G(n dt) = initial_rate * depletion_tau * (1 - exp(-n dt / depletion_tau))``. With
``reward_noise="expected"`` the reward is that expectation; with ``"bernoulli"`` (default: the probabilistic
rewards of the mouse tasks above) it is ``reward_size`` with probability ``expected / reward_size`` and 0
otherwise, one uniform draw per step (same mean, so the same MVT optimum).

Mode ``"discrete"`` (the lab task; default). Each step the animal in a patch chooses ``0`` = stay (harvest)
or ``1`` = leave (``Discrete(2)``). Leaving starts a travel of ``X`` seconds, ``X`` drawn from
``travel_distribution``: ``"exponential"`` (default; mean ``travel_time``), ``"uniform"``
(``travel_time +- travel_time_range / 2``) or ``"fixed"`` (``X = travel_time``); it lasts
``max(1, ceil(X / dt))`` steps (the leave step included; a tolerance of 1e-3 step absorbs float rounding,
so 3 s at ``dt = 0.1`` s is 30 steps), during which actions are ignored and nothing is earned. Travel ends
in a fresh patch (as in the lab tasks, where the next patch is a new one). Observation (``Box``, float32,
5 values, what the animal can know)::

    [last reward (reward units), time harvested in this patch (s), reward harvested in this patch (units),
     travelling (0/1), time since leaving the last patch (s; 0 in a patch)]

The patch's level and the travel time still to go are hidden (to be inferred, as the animals must).

Mode ``"spatial"``. ``n_patches`` circular patches (radius ``patch_radius``) sit evenly on a circle of radius
``patch_ring_radius`` around the centre of an OpenField arena, and travel is walking: the body (motion
physics, wall rays, action space: forward acceleration m/s^2, angular velocity rad/s) is OpenField's, from
:mod:`neuroethology.envs.body`. A step that ends inside a patch harvests it (patches never overlap); every
patch not being harvested replenishes, ``rho' = 1 - (1 - rho) exp(-dt / replenish_tau)``. Observation
(``Box``, float32)::

    [ray_0 .. ray_{n_rays-1} (m), speed (m/s), angular velocity (rad/s),
     for each patch i: distance to its centre (m), cos and sin of its egocentric bearing,
     inside a patch (0/1), last reward (units), time harvested in the current patch (s)]

With ``observe_image=True`` the observation is a ``Dict`` with that vector under ``"vector"`` and an
egocentric top-down image ``(image_size, image_size, 2)`` (the animal at the centre facing up; channel 0 the
floor, channel 1 the patches) under ``"image"``.

Random draws (few, cheap: see ``uniform21``): a discrete transition draws ``uniform21(rng, 2)`` (reward,
travel time), a spatial one ``uniform21(rng, 1)`` with Bernoulli rewards; a spatial episode starts at a
uniform pose (as OpenField's), a discrete one in a fresh patch.

The JAX core never rejects an action: in discrete mode any value ``> 0.5`` means leave and anything else
(NaN included) stay; in spatial mode NaN becomes 0, +-inf the bound, and the action is clipped into the
box. The Gymnasium adapter instead rejects actions outside the space with a ``ValueError``.

Episodes never terminate; they are truncated after ``episode_duration`` seconds. ``info`` (and
``state_info``) carry what analyses need: ``time`` (s), ``patch`` (int32 index of the patch the animal is
in, -1 while travelling/outside; in discrete mode patches are numbered in order of visit within the
episode), ``residence_time`` (s harvested in the current patch), ``reward``, ``patch_level`` (the current
patch's level, 0 outside), ``left`` (the step left a patch); spatial mode adds ``position``, ``heading``,
``speed`` and ``levels`` (every patch's level).

:func:`mvt_optimum` computes the MVT optimum (residence time and long-run reward rate) exactly for these
discrete-time dynamics (in spatial mode: for the best tour of the patch ring, patches found at their
stationary replenished level); :func:`long_run_reward_rate` gives the long-run rate of any fixed residence.

Length: one environment per file (STYLE.md). Both modes share the patch logic (depletion, rewards,
travel) and this file holds their params, state, transition, observation and rendering; the MVT maths and
Charnov's diagram live in ``patch_mvt.py``, the body in ``body.py``. Splitting the discrete and spatial modes
into two environments over one shared patch module is the planned next cut (issue 16).
"""

from __future__ import annotations

import collections
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from . import geometry as geo
from .body import RAT, clip_action, move, view_directions
from .core import EnvState, NeuroEnv, register, uniform21
from .open_field import OpenField
from .patch_mvt import (
    STEP_TOLERANCE,
    MVTOptimum,
    _concrete,
    arrival_level,
    draw_charnov_diagram,
    long_run_reward_rate,
    mean_travel_steps,
    mvt_optimum,
    spatial_travel_time,
)
from .rendering import COLOURS

__all__ = [
    "MVTOptimum",
    "PatchForaging",
    "PatchForagingParams",
    "PatchForagingState",
    "arrival_level",
    "long_run_reward_rate",
    "mean_travel_steps",
    "mvt_optimum",
    "spatial_travel_time",
]

MODES = ("discrete", "spatial")
REWARD_NOISES = ("bernoulli", "expected")
TRAVEL_DISTRIBUTIONS = ("fixed", "exponential", "uniform")
ARENA_SHAPES = ("box", "circle")


@struct.dataclass
class PatchForagingParams:
    """Parameters of PatchForaging-v0, SI units; rewards in units of one reward (e.g. one drop). Fields
    marked static change array shapes or code paths (changing them recompiles); the others may be traced
    and vmapped over. Numbers marked "chosen" are modelling choices (the lab tasks differ), with a reason."""

    mode: str = struct.field(pytree_node=False, default="discrete")  # "discrete" (lab task) or "spatial"
    # Patches.
    initial_rate: float = 1.0  # rewards/s in a fresh patch. Chosen as the unit of reward rate: the optimal
    # residence time does not depend on it and the optimal rate scales with it (Charnov 1976)
    depletion_tau: float = 10.0  # s, exponential depletion time constant. Chosen so that MVT residence
    # times (~9 s with the defaults) fall in the 2-30 s range mice stay in patches (Bukwich et al. 2025)
    replenish_tau: float = 10.0  # s, recovery time constant of a patch left alone (spatial mode; discrete
    # travel always ends in a fresh patch). Chosen equal to depletion_tau
    reward_noise: str = struct.field(pytree_node=False, default="bernoulli")  # "bernoulli" or "expected":
    # probabilistic rewards with exponentially decaying probability, as in Lottem et al. 2018
    reward_size: float = 1.0  # reward units per rewarded step ("bernoulli"): the unit of reward
    # Time.
    dt: float = 0.1  # s per step (one stay/leave decision): about one lick of a mouse licking at 6-8 Hz
    episode_duration: float = 600.0  # s: a 10 min session (as OpenField's, Sargolini et al. 2006)
    # Travel between patches (discrete mode).
    travel_distribution: str = struct.field(pytree_node=False, default="exponential")  # "exponential",
    # "uniform" (stochastic travel times, as in the mouse task of PLoS Comput. Biol. 2025,
    # doi:10.1371/journal.pcbi.1012989; exponential is memoryless: time travelled does not predict arrival)
    # or "fixed" (the blocked delays of most lab tasks)
    travel_time: float = 6.0  # s, mean travel time: one of the 0-24 s delays of the Sci. Rep. 2023 rat task
    travel_time_range: float = 4.0  # s, width of the "uniform" distribution (chosen: mean +- 2 s)
    # Arena (spatial mode): OpenField's arena (Sargolini et al. 2006, 1 x 1 m box).
    arena_shape: str = struct.field(pytree_node=False, default="box")  # "box" or "circle"
    width: float = 1.0  # m, box x extent (Sargolini et al. 2006)
    height: float = 1.0  # m, box y extent (Sargolini et al. 2006)
    radius: float = 0.5  # m, circular arena radius (1 m diameter open field)
    n_patches: int = struct.field(pytree_node=False, default=4)  # patches on the ring (chosen: 4 feeders)
    patch_radius: float = 0.08  # m: 0.16 m across, about a rat's body length without the tail (chosen)
    patch_ring_radius: float = 0.3  # m, distance of the patch centres from the arena centre (chosen: the
    # patches sit well inside the walls, 0.42 m apart with 4 patches)
    # Body and action bounds (spatial mode): the Sargolini rat's, from envs.body.RAT (sources there).
    max_speed: float = RAT.max_speed  # m/s: 1.0, above the rat's fastest 50 Hz step
    max_acceleration: float = RAT.max_acceleration  # m/s^2: 10, above its 99.9th percentile
    max_angular_velocity: float = RAT.max_angular_velocity  # rad/s: 8 pi, above its 95th percentile
    # Senses (spatial mode), as in OpenField.
    n_rays: int = struct.field(pytree_node=False, default=12)  # wall-distance rays
    field_of_view: float = RAT.field_of_view  # rad (270 deg): the rat's panoramic field (envs.body.RAT)
    observe_image: bool = struct.field(pytree_node=False, default=False)  # add the egocentric image
    image_size: int = struct.field(pytree_node=False, default=32)  # pixels per side of that image
    image_extent: float = 0.6  # m, side of the square the image covers (about three rat body lengths)

    @property
    def max_steps(self) -> jax.Array:
        """Steps per episode: ``episode_duration / dt``, rounded."""
        return jnp.round(jnp.asarray(self.episode_duration) / self.dt).astype(jnp.int32)

    @property
    def step_decay(self) -> Any:
        """Factor by which one harvest step multiplies a patch's level: ``exp(-dt / depletion_tau)``."""
        return jnp.exp(-jnp.asarray(self.dt) / self.depletion_tau)

    @property
    def step_yield(self) -> Any:
        """Expected reward of one harvest step in a fresh patch (units): the rate's integral over the step,
        ``initial_rate * depletion_tau * (1 - exp(-dt / depletion_tau))``."""
        return self.initial_rate * self.depletion_tau * -jnp.expm1(-jnp.asarray(self.dt) / self.depletion_tau)

    @property
    def step_recovery(self) -> Any:
        """Factor by which a step away shrinks a patch's deficit ``1 - rho``: ``exp(-dt / replenish_tau)``."""
        return jnp.exp(-jnp.asarray(self.dt) / self.replenish_tau)

    @property
    def max_step_reward(self) -> Any:
        """The largest reward one step can pay (units)."""
        return self.reward_size if self.reward_noise == "bernoulli" else self.step_yield

    @property
    def extent(self) -> tuple[Any, Any]:
        """(x, y) size of the arena's bounding box, m."""
        if self.arena_shape == "circle":
            return 2 * self.radius, 2 * self.radius
        return self.width, self.height

    @property
    def patch_centres(self) -> jax.Array:
        """``(n_patches, 2)`` m: evenly on a circle of ``patch_ring_radius`` about the arena centre, the
        first at angle ``pi / n_patches`` (with 4 patches: on the diagonals)."""
        ex, ey = self.extent
        angles = (2 * jnp.arange(self.n_patches) + 1) * jnp.pi / self.n_patches
        return jnp.stack([ex / 2, ey / 2]) + self.patch_ring_radius * geo.unit(angles)


@struct.dataclass(kw_only=True)
class PatchForagingState(EnvState):
    """State of both modes (fields a mode does not use keep a fixed dummy value)."""

    level: jax.Array  # () resource level (0, 1] of the current (discrete) / last harvested patch
    residence: jax.Array  # () int32 harvest steps in the current patch (0 while travelling/outside)
    patch: jax.Array  # () int32 current patch index, -1 while travelling/outside
    patches_visited: jax.Array  # () int32 patches reached since the episode began (discrete)
    travel_left: jax.Array  # () int32 travel steps still to go (discrete; 0 in a patch)
    travel_elapsed: jax.Array  # () int32 steps since leaving the last patch (discrete; 0 in a patch)
    last_reward: jax.Array  # () float32 reward of the last step (units)
    patch_reward: jax.Array  # () float32 reward harvested in the current patch (units)
    left: jax.Array  # () bool: the last step left a patch
    # Spatial mode.
    position: jax.Array  # (2,) m
    heading: jax.Array  # () rad, in [-pi, pi)
    speed: jax.Array  # () m/s, achieved in the last step
    angular_velocity: jax.Array  # () rad/s, commanded in the last step
    levels: jax.Array  # (n_patches,) every patch's level; (0,) in discrete mode


# ---------------------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------------------


@register
class PatchForaging(NeuroEnv[PatchForagingState, PatchForagingParams]):
    """The patch-leaving problem (see the module docstring for both modes, spaces and reward)."""

    name = "PatchForaging"
    params_type = PatchForagingParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: PatchForagingParams) -> list[str]:
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={
                "mode": MODES,
                "reward_noise": REWARD_NOISES,
                "travel_distribution": TRAVEL_DISTRIBUTIONS,
                "arena_shape": ARENA_SHAPES,
            },
            positive=(
                "initial_rate",
                "depletion_tau",
                "replenish_tau",
                "reward_size",
                "dt",
                "episode_duration",
                "width",
                "height",
                "radius",
                "patch_radius",
                "max_speed",
                "max_acceleration",
                "max_angular_velocity",
                "image_extent",
            ),
            non_negative=("travel_time", "travel_time_range", "patch_ring_radius"),
            angles=("field_of_view",),
            at_least_one=("n_rays", "image_size"),
        )
        if params.travel_distribution == "uniform" and _concrete(params, "travel_time") < (
            _concrete(params, "travel_time_range") / 2
        ):
            problems.append(
                f"uniform travel times must stay >= 0: travel_time ({params.travel_time}) must be at least "
                f"travel_time_range / 2 ({_concrete(params, 'travel_time_range') / 2})"
            )
        if problems:
            return problems  # the checks below need sane values
        if params.reward_noise == "bernoulli" and float(params.step_yield) > _concrete(params, "reward_size"):
            problems.append(
                f"with reward_noise='bernoulli' a step's expected reward ({float(params.step_yield):.4g} = "
                f"initial_rate * depletion_tau * (1 - exp(-dt / depletion_tau))) must not exceed reward_size "
                f"({params.reward_size}): lower dt or initial_rate, or raise reward_size"
            )
        if params.mode == "discrete" and params.observe_image:
            problems.append("observe_image needs mode='spatial' (the discrete task has no image)")
        if params.mode == "spatial":
            problems.extend(self._layout_problems(params))
        return problems

    @staticmethod
    def _layout_problems(params: PatchForagingParams) -> list[str]:
        n = int(params.n_patches)
        if n < 2:
            return [f"spatial mode needs n_patches >= 2 (travel is walking between patches), got {n}"]
        problems = []
        r, ring = _concrete(params, "patch_radius"), _concrete(params, "patch_ring_radius")
        if 2 * ring * math.sin(math.pi / n) <= 2 * r:
            problems.append(
                f"patches overlap: {n} patches of radius {r} m on a ring of radius {ring} m are "
                f"{2 * ring * math.sin(math.pi / n):.3g} m apart (need > {2 * r} m)"
            )
        centres = np.asarray(params.patch_centres, float)
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

    # -- actions and random draws -------------------------------------------------------------------------
    @staticmethod
    def leave_action(action: jax.Array) -> jax.Array:
        """Discrete mode: whether ``action`` means leave (any value > 0.5; NaN and anything else stay)."""
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

    @staticmethod
    def harvest_reward(level: jax.Array, u: jax.Array, params: PatchForagingParams) -> jax.Array:
        """Reward (units) of one harvest step at resource ``level``, given the step's uniform draw ``u``."""
        expected = params.step_yield * level
        if params.reward_noise == "expected":
            return expected.astype(jnp.float32)
        return jnp.where(u < expected / params.reward_size, params.reward_size, 0.0).astype(jnp.float32)

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial(self, rng: jax.Array, params: PatchForagingParams | None = None) -> PatchForagingState:
        """Discrete: at the start of a fresh patch (deterministic). Spatial: a uniform pose on the floor,
        every patch fresh."""
        params = self.default_params if params is None else params
        zero_i, zero_f = jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32)
        state = PatchForagingState(
            level=jnp.ones((), jnp.float32),
            residence=zero_i,
            patch=zero_i,
            patches_visited=zero_i,
            travel_left=zero_i,
            travel_elapsed=zero_i,
            last_reward=zero_f,
            patch_reward=zero_f,
            left=jnp.zeros((), bool),
            position=jnp.zeros(2, jnp.float32),
            heading=zero_f,
            speed=zero_f,
            angular_velocity=zero_f,
            levels=jnp.ones((params.n_patches if params.mode == "spatial" else 0,), jnp.float32),
        )
        if params.mode == "discrete":
            return state
        position, heading = geo.pose_in_box_or_circle(uniform21(rng, 3), params)
        inside = self.inside_patches(position, params)
        return state.replace(
            position=position.astype(jnp.float32),
            heading=heading.astype(jnp.float32),
            patch=jnp.where(jnp.any(inside), jnp.argmax(inside), -1).astype(jnp.int32),
            patches_visited=jnp.any(inside).astype(jnp.int32),
        )

    def transition(
        self,
        state: PatchForagingState,
        action: Any,
        rng: jax.Array,
        params: PatchForagingParams | None = None,
    ) -> PatchForagingState:
        params = self.default_params if params is None else params
        if params.mode == "spatial":
            return self._transition_spatial(state, action, rng, params)
        return self._transition_discrete(state, action, rng, params)

    def _transition_discrete(self, state, action, rng, params):
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

    def clip_action(self, action: jax.Array, params: PatchForagingParams) -> jax.Array:
        """Spatial mode: NaN -> 0, +-inf -> bound, then clip into the action box (the body's handling)."""
        return clip_action(action, params)

    def _transition_spatial(self, state, action, rng, params):
        body = move(
            state.position, state.heading, state.speed, action, params, geo.project_into_box_or_circle
        )
        position = body.position
        inside = self.inside_patches(position, params)
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
        self, state: PatchForagingState, rng: jax.Array, params: PatchForagingParams | None = None
    ) -> jax.Array | dict[str, jax.Array]:
        params = self.default_params if params is None else params
        if params.mode == "discrete":
            return jnp.stack(
                [
                    state.last_reward,
                    state.residence * params.dt,
                    state.patch_reward,
                    (state.travel_left > 0).astype(jnp.float32),
                    state.travel_elapsed * params.dt,
                ]
            ).astype(jnp.float32)
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
        if not params.observe_image:
            return vector
        return {"vector": vector, "image": self.egocentric_image(state, params)}

    def reward(self, state, action, next_state, rng, params=None) -> jax.Array:
        return next_state.last_reward

    def terminal(self, state, rng, params=None) -> jax.Array:
        return jnp.zeros((), bool)

    def state_info(self, state: PatchForagingState, params: PatchForagingParams | None = None) -> dict:
        params = self.default_params if params is None else params
        info = {
            "time": state.step * params.dt,
            "patch": state.patch,
            "residence_time": state.residence * params.dt,
            "reward": state.last_reward,
            "patch_level": jnp.where(state.patch >= 0, state.level, 0.0),
            "left": state.left,
        }
        if params.mode == "spatial":
            here = jnp.sum(jnp.where(jnp.arange(params.n_patches) == state.patch, state.levels, 0.0))
            info.update(
                patch_level=here,
                position=state.position,
                heading=state.heading,
                speed=state.speed,
                levels=state.levels,
            )
        return info

    def transition_info(self, state, action, next_state, params=None) -> dict:
        return self.state_info(next_state, params)

    # -- spatial geometry ---------------------------------------------------------------------------------
    @staticmethod
    def ray_distances(position: jax.Array, heading: jax.Array, params: PatchForagingParams) -> jax.Array:
        """Spatial mode: the ``(n_rays,)`` wall distances (m) of the observation."""
        return geo.ray_distances_box_or_circle(position, view_directions(heading, params), params)

    @staticmethod
    def inside_patches(position: jax.Array, params: PatchForagingParams) -> jax.Array:
        """``(n_patches,)`` bool: whether ``position`` lies in each patch."""
        d = params.patch_centres - position
        return d[:, 0] ** 2 + d[:, 1] ** 2 <= params.patch_radius**2

    @staticmethod
    def patch_bearings(position: jax.Array, heading: jax.Array, params: PatchForagingParams):
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

    def egocentric_image(self, state: PatchForagingState, params: PatchForagingParams) -> jax.Array:
        """``(image_size, image_size, 2)`` float32 in [0, 1], heading up: floor, then patches."""
        n = params.image_size
        centres = (jnp.arange(n) + 0.5) / n - 0.5
        forward = -centres[:, None] * params.image_extent * jnp.ones((1, n))
        left = -centres[None, :] * params.image_extent * jnp.ones((n, 1))
        c, s = jnp.cos(state.heading), jnp.sin(state.heading)
        world = jnp.stack(
            [state.position[0] + forward * c - left * s, state.position[1] + forward * s + left * c], axis=-1
        )
        floor = geo.inside_box_or_circle(world, params)
        d = world[:, :, None, :] - params.patch_centres
        patches = jnp.any(d[..., 0] ** 2 + d[..., 1] ** 2 <= params.patch_radius**2, axis=-1) & floor
        return jnp.stack([floor, patches], axis=-1).astype(jnp.float32)

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: PatchForagingParams | None = None) -> spaces.Space:
        params = self.default_params if params is None else params
        duration = float(params.max_steps) * float(params.dt)
        reward = float(params.max_step_reward)
        if params.mode == "discrete":
            low = np.zeros(5, np.float32)
            high = np.array([reward, duration, reward * float(params.max_steps), 1.0, duration], np.float32)
        else:
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

    # -- what the environment says about itself ----------------------------------------------------------
    def arena(self, params: PatchForagingParams) -> dict[str, Any] | None:
        return geo.box_or_circle(params) if params.mode == "spatial" else None

    def with_arena(self, params: PatchForagingParams, arena: Any) -> PatchForagingParams:
        if params.mode != "spatial":
            return super().with_arena(params, arena)
        return geo.with_box_or_circle(params, arena, where=self.env_id())

    def is_spatial(self, params: PatchForagingParams) -> bool:
        return params.mode == "spatial"

    def action_names(self, params: PatchForagingParams) -> list[str]:
        return ["acceleration", "angular_velocity"] if params.mode == "spatial" else ["action"]

    def recording_attrs(self, params: PatchForagingParams) -> dict[str, Any]:
        attrs: dict[str, Any] = {"mode": params.mode}
        if params.mode == "spatial":
            attrs.update(patch_radius=float(params.patch_radius), n_patches=float(params.n_patches))
        return attrs

    def action_space(self, params: PatchForagingParams | None = None) -> spaces.Space:
        params = self.default_params if params is None else params
        if params.mode == "discrete":
            return spaces.Discrete(2)
        high = np.array([params.max_acceleration, params.max_angular_velocity], np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(
        self, params: PatchForagingParams | None = None, trail_seconds: float = 5.0, size: int = 256
    ):
        """Discrete mode keeps the MVT optimum and the current patch's harvest; spatial mode the last
        ``trail_seconds`` of the path."""
        params = self.default_params if params is None else params
        if params.mode == "discrete":
            return {"size": size, "trail": [], "optimum": mvt_optimum(params)}
        return {
            "size": size,
            "trail": collections.deque(maxlen=max(1, int(trail_seconds / float(params.dt)))),
        }

    def render_image(
        self, state: PatchForagingState, render_state: Any, params: PatchForagingParams | None = None
    ):
        params = self.default_params if params is None else params
        render_state = render_state or self.render_init(params)
        if params.mode == "discrete":
            return render_state, draw_charnov_diagram(state, render_state, params)
        return render_state, self._render_spatial(state, render_state, params)

    def _render_spatial(self, state, render_state, params) -> np.ndarray:
        canvas, wall = OpenField.draw_arena(params, render_state["size"])
        radius = float(params.patch_radius)
        for centre, level in zip(np.asarray(params.patch_centres), np.asarray(state.levels), strict=True):
            canvas.fill_circle(centre, radius, COLOURS["reward"], alpha=0.2)
            canvas.fill_circle(
                centre, radius * np.sqrt(float(level)), COLOURS["reward"]
            )  # area: resource left
            canvas.ring(centre, radius, wall / 3, COLOURS["reward"])
        position = np.asarray(state.position, float)
        heading = float(state.heading)
        render_state["trail"].append(position)
        if len(render_state["trail"]) > 1:
            canvas.polyline(np.array(render_state["trail"]), wall / 2, COLOURS["trail"])
        distances = np.asarray(self.ray_distances(state.position, state.heading, params))
        angles = heading + np.asarray(geo.sector_offsets(params.n_rays, params.field_of_view))
        for d, a in zip(distances, angles, strict=True):
            canvas.line(
                position, position + d * np.array([np.cos(a), np.sin(a)]), wall / 4, COLOURS["ray"], 0.5
            )
        canvas.agent(position, heading, radius=2 * wall)  # 3% of the arena's extent
        return canvas.image
