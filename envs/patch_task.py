"""The patch task shared by PatchForaging-v0 (the discrete lab task) and SpatialPatchForaging-v0 (patches in
an open field): depleting patches, their rewards, the parameters and state fields both tasks have, and the
base class of both environments.

A patch's resource level ``rho`` (1 = fresh) sets its instantaneous reward rate ``r = initial_rate * rho``.
Harvesting for one step of ``dt`` seconds pays, in expectation, the integral of that rate over the step and
depletes the patch exponentially (time constant ``depletion_tau``)::

    expected reward = initial_rate * depletion_tau * rho * (1 - exp(-dt / depletion_tau))
    rho'            = rho * exp(-dt / depletion_tau)

so ``n`` harvest steps in a fresh patch pay exactly Charnov's exponential gain function
``G(n dt) = initial_rate * depletion_tau * (1 - exp(-n dt / depletion_tau))``. With
``reward_noise="expected"`` the reward is that expectation; with ``"bernoulli"`` (default: the probabilistic
rewards of the mouse tasks, Lottem et al. 2018, Nat. Commun. 9:1000; Bukwich et al. 2025, Neuron) it is
``reward_size`` with probability ``expected / reward_size`` and 0 otherwise, one uniform draw per step (same
mean, so the same MVT optimum). The Marginal Value Theorem for both tasks lives in ``patch_mvt.py``.

Episodes never terminate; they are truncated after ``episode_duration`` seconds. ``info`` (and
``state_info``) carry what analyses need: ``time`` (s), ``patch`` (int32 index of the patch the animal is
in, -1 while travelling/outside), ``residence_time`` (s harvested in the current patch), ``reward``,
``patch_level`` (the current patch's level, 0 outside) and ``left`` (the step left a patch); each task adds
its own.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .core import EnvState, NeuroEnv
from .patch_mvt import _concrete

__all__ = ["MODE_IDS", "REWARD_NOISES", "PatchParams", "PatchState", "PatchTask", "harvest_reward"]

REWARD_NOISES = ("bernoulli", "expected")
# PatchForaging-v0 once had a ``mode`` parameter; each mode is now its own environment (envs.core.make
# still takes ``mode=``, see NeuroEnv.mode_ids).
MODE_IDS = {
    "discrete": "neuroethology/PatchForaging-v0",
    "spatial": "neuroethology/SpatialPatchForaging-v0",
}


@struct.dataclass
class PatchParams:
    """The patch and time parameters both patch tasks have, SI units; rewards in units of one reward (e.g.
    one drop). Fields marked static change code paths (changing them recompiles); the others may be traced
    and vmapped over. Numbers marked "chosen" are modelling choices (the lab tasks differ), with a reason."""

    initial_rate: float = 1.0  # rewards/s in a fresh patch. Chosen as the unit of reward rate: the optimal
    # residence time does not depend on it and the optimal rate scales with it (Charnov 1976)
    depletion_tau: float = 10.0  # s, exponential depletion time constant. Chosen so that MVT residence
    # times (~9 s with the defaults) fall in the 2-30 s range mice stay in patches (Bukwich et al. 2025)
    reward_noise: str = struct.field(pytree_node=False, default="bernoulli")  # "bernoulli" or "expected":
    # probabilistic rewards with exponentially decaying probability, as in Lottem et al. 2018
    reward_size: float = 1.0  # reward units per rewarded step ("bernoulli"): the unit of reward
    dt: float = 0.1  # s per step (one stay/leave decision): about one lick of a mouse licking at 6-8 Hz
    episode_duration: float = 600.0  # s: a 10 min session (as OpenField's, Sargolini et al. 2006)

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
    def max_step_reward(self) -> Any:
        """The largest reward one step can pay (units)."""
        return self.reward_size if self.reward_noise == "bernoulli" else self.step_yield

    # What the Marginal Value Theorem (patch_mvt.py) needs to know of the task; each task says.
    @property
    def fresh_patches(self) -> bool:
        """Whether every patch is found fresh (level 1), whatever the forager did before."""
        return True

    def mean_travel_steps(self) -> float:
        """Expected steps one leave costs, the leave step included (:func:`patch_mvt.mean_travel_steps`)."""
        raise NotImplementedError

    def nominal_travel_time(self) -> float:
        """The travel time (s) of Charnov's continuous-time optimum."""
        raise NotImplementedError

    def arrival_level(self, residence_steps: int | np.ndarray) -> np.ndarray:
        """Level at which patches are found when each is harvested ``residence_steps`` steps per visit."""
        return np.ones_like(np.asarray(residence_steps, float))


@struct.dataclass(kw_only=True)
class PatchState(EnvState):
    """The state fields both patch tasks have."""

    level: jax.Array  # () resource level (0, 1] of the current patch (spatial: of the last harvested one)
    residence: jax.Array  # () int32 harvest steps in the current patch (0 while travelling/outside)
    patch: jax.Array  # () int32 current patch index, -1 while travelling/outside
    patches_visited: jax.Array  # () int32 patches reached since the episode began
    last_reward: jax.Array  # () float32 reward of the last step (units)
    patch_reward: jax.Array  # () float32 reward harvested in the current patch (units)
    left: jax.Array  # () bool: the last step left a patch


def harvest_reward(level: jax.Array, u: jax.Array, params: PatchParams) -> jax.Array:
    """Reward (units) of one harvest step at resource ``level``, given the step's uniform draw ``u``."""
    expected = params.step_yield * level
    if params.reward_noise == "expected":
        return expected.astype(jnp.float32)
    return jnp.where(u < expected / params.reward_size, params.reward_size, 0.0).astype(jnp.float32)


class PatchTask(NeuroEnv):
    """Base of the two patch tasks: parameter checks, reward, termination and ``info`` they share."""

    mode_ids: ClassVar[dict[str, str]] = MODE_IDS
    harvest_reward = staticmethod(harvest_reward)

    def validate_params(self, params: PatchParams) -> list[str]:
        """The base checks and those of the shared patch fields; each task adds its own."""
        return super().validate_params(params) + self.check_fields(
            params,
            choices={"reward_noise": REWARD_NOISES},
            positive=("initial_rate", "depletion_tau", "reward_size", "dt", "episode_duration"),
        )

    @staticmethod
    def reward_problems(params: PatchParams) -> list[str]:
        """Bernoulli rewards need a step's expected reward not to exceed ``reward_size``."""
        if params.reward_noise == "bernoulli" and float(params.step_yield) > _concrete(params, "reward_size"):
            return [
                f"with reward_noise='bernoulli' a step's expected reward ({float(params.step_yield):.4g} = "
                f"initial_rate * depletion_tau * (1 - exp(-dt / depletion_tau))) must not exceed reward_size "
                f"({params.reward_size}): lower dt or initial_rate, or raise reward_size"
            ]
        return []

    def reward(self, state, action, next_state, rng, params=None) -> jax.Array:
        return next_state.last_reward

    def terminal(self, state, rng, params=None) -> jax.Array:
        return jnp.zeros((), bool)

    def state_info(self, state: PatchState, params: PatchParams | None = None) -> dict:
        return {
            "time": state.step * params.dt,
            "patch": state.patch,
            "residence_time": state.residence * params.dt,
            "reward": state.last_reward,
            "patch_level": jnp.where(state.patch >= 0, state.level, 0.0),
            "left": state.left,
        }
