"""Reference swimmers for WaterMaze: an oracle that knows where the platform is, and a random swimmer.

* :class:`PlatformOracle` turns towards the platform at the largest angular velocity and swims straight to it
  at ``max_speed`` (it stops to turn when the platform is more than one step's turn away). Its escape latency
  is the straight-line time ``(distance - platform_radius) / max_speed``, plus at most one turning step and
  the rounding up to whole steps: the check that the pool, the kinematics and the platform test agree. In a
  polygon pool that holds where the straight path is clear (a convex pool); around a corner or a thin wall the
  oracle slides along the wall and can be stopped by it.
* :class:`RandomSwimmer` is a correlated random walk with no knowledge of the platform: a constant swim
  speed and an Ornstein-Uhlenbeck angular velocity (the rotational model of RatInABox, George et al. 2024,
  eLife 12:RP85274, here discretised exactly so that any ``dt`` is stable); the pool wall makes it slide
  along the edge (thigmotaxis, as naive rats swim). In a probe trial it spends on average a quarter of the
  time in each quadrant (the pool and the start points are symmetric under quarter turns): the chance level
  against which a trained animal's target-quadrant preference is judged. In a polygon pool that is so only
  for a pool symmetric under quarter turns about its centre (a square); elsewhere run it to measure the
  chance level of that pool.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .. import geometry as geo
from ..water_maze import WaterMaze, WaterMazeParams, WaterMazeState

__all__ = ["PlatformOracle", "RandomSwimmer", "RandomSwimmerCarry", "RandomSwimmerParams"]


class PlatformOracle:
    """Swim straight to the platform (privileged: reads its position from the state).

    >>> action, carry = PlatformOracle().act(key, (), obs, state, params)
    """

    def __init__(self) -> None:
        self._env = WaterMaze()

    def init(self, key: jax.Array, env_state: WaterMazeState, env_params: WaterMazeParams) -> tuple:
        return ()

    def act(
        self, key: jax.Array, carry: tuple, obs: Any, env_state: WaterMazeState, env_params: WaterMazeParams
    ) -> tuple[jax.Array, tuple]:
        position, heading, speed = self._env.acting_pose(env_state, env_params)
        to_platform = env_state.platform - position
        error = geo.wrap_angle(jnp.arctan2(to_platform[1], to_platform[0]) - heading)
        max_turn = env_params.max_angular_velocity * env_params.dt
        omega = jnp.clip(
            error / env_params.dt, -env_params.max_angular_velocity, env_params.max_angular_velocity
        )
        aligned = jnp.abs(error) <= max_turn * (1 + 1e-6)  # this step's turn faces the platform
        target_speed = jnp.where(aligned, env_params.max_speed, 0.0)
        accel = (target_speed - speed) / env_params.dt
        return jnp.stack([accel, omega]).astype(jnp.float32), carry


@struct.dataclass
class RandomSwimmerParams:
    swim_speed: float = 0.2  # m/s: rats swim at about 0.2-0.3 m/s in the water maze
    turn_std: float = 120 * np.pi / 180  # rad/s, stationary s.d. of the angular velocity (RatInABox's
    # rotational velocity s.d., fitted to Sargolini et al. 2006)
    turn_coherence_time: float = 0.5  # s, correlation time of the angular velocity (smooth swim paths)


class RandomSwimmerCarry(NamedTuple):
    angular_velocity: jax.Array  # () rad/s, the Ornstein-Uhlenbeck state


class RandomSwimmer:
    """A correlated random walk at constant speed (see the module docstring)."""

    def __init__(self, params: RandomSwimmerParams | None = None, **overrides: Any) -> None:
        self.params = (params or RandomSwimmerParams()).replace(**overrides)
        self._env = WaterMaze()

    def init(
        self, key: jax.Array, env_state: WaterMazeState, env_params: WaterMazeParams
    ) -> RandomSwimmerCarry:
        """Start from the stationary distribution of the angular velocity."""
        return RandomSwimmerCarry(
            angular_velocity=self.params.turn_std * jax.random.normal(key, (), jnp.float32)
        )

    def act(
        self,
        key: jax.Array,
        carry: RandomSwimmerCarry,
        obs: Any,
        env_state: WaterMazeState,
        env_params: WaterMazeParams,
    ) -> tuple[jax.Array, RandomSwimmerCarry]:
        p = self.params
        decay = jnp.exp(-env_params.dt / p.turn_coherence_time)
        omega = decay * carry.angular_velocity + p.turn_std * jnp.sqrt(1.0 - decay**2) * jax.random.normal(
            key, (), jnp.float32
        )
        _, _, speed = self._env.acting_pose(env_state, env_params)
        accel = (p.swim_speed - speed) / env_params.dt
        return jnp.stack([accel, omega]).astype(jnp.float32), RandomSwimmerCarry(angular_velocity=omega)
