"""Patch-leaving reference policies for PatchForaging-v0 and SpatialPatchForaging-v0: the Marginal Value
Theorem forager and a forager that stays a fixed time in every patch.

Both read the environment state (the current patch's resource level, the harvest time so far): they are
models of an animal that knows its environment, the benchmark learning agents and animals are held against.
The leaving thresholds are computed once, on the host, from concrete params at construction (so ``act``
runs inside ``jit`` where the params are traced).

PatchForaging-v0: action 0 (stay) until the rule says leave, then 1; during travel the action is ignored (0).

SpatialPatchForaging-v0: the forager walks to a target patch (turn towards its centre, run at ``max_speed``
when facing it, brake to stop at the centre), harvests there until the rule says leave, then targets the next
patch on the ring (index + 1): with evenly spaced patches that is a nearest neighbour, the walk
:func:`neuroethology.envs.patch_mvt.mvt_optimum` assumes. It starts by walking to the nearest patch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import geometry as geo
from ..patch_mvt import mvt_optimum
from ..patch_task import PatchParams, PatchState
from ..spatial_patch_foraging import SpatialPatchForagingParams

__all__ = ["FixedResidencePolicy", "MVTPolicy", "PatchPolicyCarry"]


class PatchPolicyCarry(NamedTuple):
    target: jax.Array  # () int32 patch the forager walks to or harvests (spatial task; 0 in PatchForaging-v0)


def _walks(env_params: PatchParams) -> bool:
    """Whether the task is SpatialPatchForaging-v0 (the forager walks between patches)."""
    return isinstance(env_params, SpatialPatchForagingParams)


class _PatchLeavingPolicy:
    """Shared stay/leave and walking logic; subclasses define :meth:`should_leave`."""

    def __init__(self, params: PatchParams) -> None:
        self.walks = _walks(params)

    def should_leave(self, env_state: PatchState, env_params: PatchParams) -> jax.Array:
        raise NotImplementedError

    def init(self, key: jax.Array, env_state: PatchState, env_params: PatchParams) -> PatchPolicyCarry:
        if not _walks(env_params):
            return PatchPolicyCarry(target=jnp.zeros((), jnp.int32))
        d = env_params.patch_centres - env_state.position
        return PatchPolicyCarry(target=jnp.argmin(d[:, 0] ** 2 + d[:, 1] ** 2).astype(jnp.int32))

    def act(
        self,
        key: jax.Array,
        carry: PatchPolicyCarry,
        obs: Any,
        env_state: PatchState,
        env_params: PatchParams,
    ) -> tuple[jax.Array, PatchPolicyCarry]:
        leave = self.should_leave(env_state, env_params)
        if not _walks(env_params):
            return (leave & (env_state.travel_left == 0)).astype(jnp.int32), carry
        done = leave & (env_state.patch == carry.target)
        target = jnp.where(done, (carry.target + 1) % env_params.n_patches, carry.target).astype(jnp.int32)
        return self.walk_to(env_params.patch_centres[target], env_state, env_params), PatchPolicyCarry(target)

    @staticmethod
    def walk_to(goal: jax.Array, env_state: PatchState, env_params: PatchParams) -> jax.Array:
        """Spatial action ``[acceleration, angular velocity]`` that turns towards ``goal`` and runs there,
        braking so as to stop on it (the speed that can still stop within the remaining distance)."""
        dt = env_params.dt
        to_goal = goal - env_state.position
        distance = jnp.sqrt(to_goal[0] ** 2 + to_goal[1] ** 2)
        turn = geo.wrap_angle(jnp.arctan2(to_goal[1], to_goal[0]) - env_state.heading)
        omega = jnp.clip(turn / dt, -env_params.max_angular_velocity, env_params.max_angular_velocity)
        remaining = geo.wrap_angle(turn - omega * dt)  # heading error left after this step's turn
        stopping = jnp.sqrt(2.0 * env_params.max_acceleration * distance)
        desired = jnp.minimum(jnp.minimum(env_params.max_speed, distance / dt), stopping)
        desired = desired * jnp.maximum(jnp.cos(remaining), 0.0)
        accel = jnp.clip(
            (desired - env_state.speed) / dt, -env_params.max_acceleration, env_params.max_acceleration
        )
        return jnp.stack([accel, omega]).astype(jnp.float32)


class MVTPolicy(_PatchLeavingPolicy):
    """The Marginal Value Theorem forager (Charnov 1976), with the optimum of
    :func:`~neuroethology.envs.patch_mvt.mvt_optimum`.

    ``rule="time"`` (default): leave after the optimal residence time (whole harvest steps).
    ``rule="rate"``: leave when the reward expected over the next harvest step, per second
    (``step_yield * level / dt``), falls below the optimal long-run rate: the MVT's marginal-rate rule. In
    discrete mode the two rules make the same decisions. In spatial mode patches replenish, the marginal-rate
    rule is only a heuristic, and the time rule is the optimal ring tour.
    """

    def __init__(self, params: PatchParams, rule: str = "time") -> None:
        if rule not in ("rate", "time"):
            raise ValueError(f"MVTPolicy: rule must be 'rate' or 'time', got {rule!r}")
        super().__init__(params)
        self.rule = rule
        self.optimum = mvt_optimum(params)

    def should_leave(self, env_state: PatchState, env_params: PatchParams) -> jax.Array:
        if self.rule == "time":
            return env_state.residence >= self.optimum.residence_steps
        next_rate = env_params.step_yield * env_state.current_level / env_params.dt
        return next_rate < self.optimum.reward_rate


class FixedResidencePolicy(_PatchLeavingPolicy):
    """Harvest each patch for ``residence_time`` s (rounded to whole steps of ``params.dt``), then leave."""

    def __init__(self, params: PatchParams, residence_time: float) -> None:
        if not residence_time >= 0:
            raise ValueError(f"FixedResidencePolicy: residence_time must be >= 0 s, got {residence_time}")
        super().__init__(params)
        self.residence_steps = int(round(float(residence_time) / float(params.dt)))
        self.residence_time = self.residence_steps * float(params.dt)

    def should_leave(self, env_state: PatchState, env_params: PatchParams) -> jax.Array:
        return env_state.residence >= self.residence_steps
