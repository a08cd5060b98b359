"""Reference policies for OdorPlume-v0: the moth's surge-and-cast, a random searcher and gradient climbing.

All three read only the observation ``[odour_left, odour_right, cos, sin (egocentric wind), speed, turn]``
(no privileged state), so they are models of an animal's strategy that a learnt agent can be compared with.

* :class:`SurgeCast`: surge upwind while odour is sensed and for ``surge_duration`` after it is lost, then
  cast across the wind in widening zig-zags until odour is met again: the anemotactic strategy of moths
  flying up pheromone plumes (Kennedy & Marsh 1974, Science 184:999; reviewed by Vickers 2000, Biol. Bull.
  198:203). While surging it also steers towards the stronger of its two sensors (osmotropotaxis).
* :class:`RandomSearch`: a correlated random walk at constant speed, turning by Gaussian noise: a baseline
  that uses neither odour nor wind.
* :class:`GradientClimb`: steer towards the side whose sensor reads more (bilateral comparison, tropotaxis;
  larvae with two functional olfactory organs climb gradients better, Louis et al. 2008, Nat. Neurosci.
  11:187), on a low-passed comparison because single readings are noisy: for the static-gradient mode.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .. import geometry as geo
from ..odor_plume import OdorPlumeParams

__all__ = [
    "GradientClimb",
    "GradientClimbCarry",
    "GradientClimbParams",
    "RandomSearch",
    "RandomSearchParams",
    "SurgeCast",
    "SurgeCastCarry",
    "SurgeCastParams",
]


def _upwind(obs: jax.Array) -> jax.Array:
    """Egocentric angle (rad) of the upwind direction: opposite to where the wind blows."""
    return geo.wrap_angle(jnp.arctan2(obs[3], obs[2]) + jnp.pi)


def _steer(target: jax.Array, env_params: OdorPlumeParams) -> jax.Array:
    """Turn rate (rad/s) that would face the egocentric ``target`` angle in one step, clipped to the bound."""
    return jnp.clip(
        geo.wrap_angle(target) / env_params.dt, -env_params.max_turn_rate, env_params.max_turn_rate
    )


# ---------------------------------------------------------------------------------------------------------
# Surge and cast
# ---------------------------------------------------------------------------------------------------------


@struct.dataclass
class SurgeCastParams:
    """Surge-and-cast timing and geometry."""

    speed_fraction: float = 1.0  # of the env's max_speed, while surging and casting (moths fly at full speed)
    surge_duration: float = 0.3  # s of upwind surge after the last odour contact (moths keep surging for a
    # few hundred ms after a filament; Vickers & Baker 1994, PNAS 91:5756)
    cast_angle: float = np.pi / 2  # rad from upwind while casting: straight across the wind
    first_leg: float = 0.3  # s, duration of the first crosswind leg
    leg_growth: float = 1.5  # each leg lasts this many times the previous one (widening casts)
    steer_gain: float = 1.0  # rad of heading offset per unit of (left - right) / (left + right) while surging


class SurgeCastCarry(NamedTuple):
    since_odour: jax.Array  # () s since odour was last sensed
    cast_side: jax.Array  # () +1 (left of upwind) or -1 (right)
    leg_time: jax.Array  # () s into the current cast leg
    leg_duration: jax.Array  # () s, length of the current cast leg


class SurgeCast:
    """Surge upwind on odour contact, cast across the wind when it is lost (see the module docstring).

    >>> policy = SurgeCast()
    >>> carry = policy.init(key, state, env_params)
    >>> action, carry = policy.act(key, carry, obs, state, env_params)
    """

    def __init__(self, params: SurgeCastParams | None = None, **overrides: Any) -> None:
        self.params = (params or SurgeCastParams()).replace(**overrides)

    def init(self, key: jax.Array, env_state: Any, env_params: OdorPlumeParams) -> SurgeCastCarry:
        """Start casting (no odour yet) towards a random side."""
        side = jnp.where(jax.random.bernoulli(key), 1.0, -1.0)
        return SurgeCastCarry(
            since_odour=jnp.asarray(jnp.inf, jnp.float32),
            cast_side=side.astype(jnp.float32),
            leg_time=jnp.zeros((), jnp.float32),
            leg_duration=jnp.asarray(self.params.first_leg, jnp.float32),
        )

    def act(
        self,
        key: jax.Array,
        carry: SurgeCastCarry,
        obs: jax.Array,
        env_state: Any,
        env_params: OdorPlumeParams,
    ) -> tuple[jax.Array, SurgeCastCarry]:
        p, dt = self.params, env_params.dt
        left, right = obs[0], obs[1]
        total = left + right
        contact = total > 0
        since = jnp.where(contact, 0.0, carry.since_odour + dt)
        surging = since < p.surge_duration
        # Casting legs restart from the first (short) leg after every contact and widen while it is lost. A
        # leg of duration T lasts floor(T / dt) steps; the step that reverses is the new leg's first.
        leg_time = jnp.where(surging, 0.0, carry.leg_time + dt)  # time in the current leg, this step included
        reverse = leg_time > carry.leg_duration + 1e-6 * dt
        side = jnp.where(reverse, -carry.cast_side, carry.cast_side)
        leg_duration = jnp.where(
            surging, p.first_leg, jnp.where(reverse, carry.leg_duration * p.leg_growth, carry.leg_duration)
        )
        leg_time = jnp.where(reverse, dt, leg_time)
        upwind = _upwind(obs)
        bilateral = jnp.where(contact, (left - right) / jnp.where(contact, total, 1.0), 0.0)
        target = jnp.where(surging, upwind + p.steer_gain * bilateral, upwind + side * p.cast_angle)
        action = jnp.stack([p.speed_fraction * env_params.max_speed, _steer(target, env_params)])
        return action.astype(jnp.float32), SurgeCastCarry(since, side, leg_time, leg_duration)


# ---------------------------------------------------------------------------------------------------------
# Random search
# ---------------------------------------------------------------------------------------------------------


@struct.dataclass
class RandomSearchParams:
    """A correlated random walk."""

    speed_fraction: float = 1.0  # of the env's max_speed
    turn_std: float = 2.0 * np.pi  # rad/s, s.d. of the turn rate drawn afresh every step


class RandomSearch:
    """Constant speed, Gaussian turn rate (clipped to the env's bound); ignores odour and wind."""

    def __init__(self, params: RandomSearchParams | None = None, **overrides: Any) -> None:
        self.params = (params or RandomSearchParams()).replace(**overrides)

    def init(self, key: jax.Array, env_state: Any, env_params: OdorPlumeParams) -> tuple:
        return ()

    def act(
        self, key: jax.Array, carry: tuple, obs: jax.Array, env_state: Any, env_params: OdorPlumeParams
    ) -> tuple[jax.Array, tuple]:
        turn = jnp.clip(
            self.params.turn_std * jax.random.normal(key, ()),
            -env_params.max_turn_rate,
            env_params.max_turn_rate,
        )
        action = jnp.stack([self.params.speed_fraction * env_params.max_speed, turn])
        return action.astype(jnp.float32), carry


# ---------------------------------------------------------------------------------------------------------
# Gradient climbing
# ---------------------------------------------------------------------------------------------------------


@struct.dataclass
class GradientClimbParams:
    """Bilateral comparison with a low-pass filter."""

    speed_fraction: float = 0.5  # of the env's max_speed (slower than a surge: time to compare)
    time_constant: float = 0.2  # s, of the exponential filter on the normalised left-right difference
    contrast_scale: float = 0.002  # filtered (left - right) / (left + right) that turns at tanh(1) of the
    # env's max_turn_rate: small, so that the turn saturates once the comparison is clear of the noise
    search_turn: float = 1.0  # rad/s, gentle circling while nothing is sensed


class GradientClimbCarry(NamedTuple):
    contrast: jax.Array  # () low-passed (left - right) / (left + right)


class GradientClimb:
    """Turn towards the sensor reading more: ``max_turn_rate tanh(c / contrast_scale)`` of the low-passed
    relative difference ``c = (left - right) / (left + right)``, at constant speed."""

    def __init__(self, params: GradientClimbParams | None = None, **overrides: Any) -> None:
        self.params = (params or GradientClimbParams()).replace(**overrides)

    def init(self, key: jax.Array, env_state: Any, env_params: OdorPlumeParams) -> GradientClimbCarry:
        return GradientClimbCarry(contrast=jnp.zeros((), jnp.float32))

    def act(
        self,
        key: jax.Array,
        carry: GradientClimbCarry,
        obs: jax.Array,
        env_state: Any,
        env_params: OdorPlumeParams,
    ) -> tuple[jax.Array, GradientClimbCarry]:
        p = self.params
        left, right = obs[0], obs[1]
        total = left + right
        sensed = total > 0
        contrast_now = jnp.where(sensed, (left - right) / jnp.where(sensed, total, 1.0), 0.0)
        alpha = 1.0 - jnp.exp(-env_params.dt / p.time_constant)
        contrast = carry.contrast + alpha * (contrast_now - carry.contrast)
        steer = env_params.max_turn_rate * jnp.tanh(contrast / p.contrast_scale)
        turn = jnp.clip(
            jnp.where(sensed, steer, p.search_turn), -env_params.max_turn_rate, env_params.max_turn_rate
        )
        action = jnp.stack([p.speed_fraction * env_params.max_speed, turn])
        return action.astype(jnp.float32), GradientClimbCarry(contrast=contrast.astype(jnp.float32))
