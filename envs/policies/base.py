"""The policy protocol and the simplest policy of all."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from ..core import NeuroEnv

__all__ = ["Policy", "UniformRandomPolicy"]


@runtime_checkable
class Policy(Protocol):
    """What :func:`neuroethology.envs.rollout` needs from a policy."""

    def init(self, key: jax.Array, env_state: Any, env_params: Any) -> Any:
        """The policy's carried state at the start of an episode (``()`` for a memoryless policy)."""

    def act(self, key: jax.Array, carry: Any, obs: Any, env_state: Any, env_params: Any) -> tuple[Any, Any]:
        """``(action, new_carry)``.

        A policy may also have ``act_with_extras(key, carry, obs, env_state, env_params) -> (action,
        new_carry, extras)``, the same action and carry for the same key plus a dict of what it can report
        of the step: ``hidden`` (its units, ``(features,)``), ``value`` (a state-value estimate) and
        ``log_prob`` (of the action taken, nats). Rollouts with ``record_extras`` keep them, and the
        simulated Recordings carry them as variables.
        """


class UniformRandomPolicy:
    """Actions drawn uniformly from an environment's action space (``Box`` or ``Discrete``).

    The space is read once, from concrete params (``env.default_params`` unless given), so the policy can
    run inside ``jit`` where the params are traced.
    """

    def __init__(self, env: NeuroEnv, params: Any = None) -> None:
        self.space = env.action_space(params)
        if not isinstance(self.space, (spaces.Discrete, spaces.Box)):
            raise TypeError(f"UniformRandomPolicy: unsupported action space {self.space}")

    def init(self, key: jax.Array, env_state: Any, env_params: Any) -> tuple:
        return ()

    def act(self, key: jax.Array, carry: Any, obs: Any, env_state: Any, env_params: Any) -> tuple[Any, Any]:
        space = self.space
        if isinstance(space, spaces.Discrete):
            return jax.random.randint(key, (), space.start, space.start + space.n), carry
        low, high = np.asarray(space.low, np.float32), np.asarray(space.high, np.float32)
        return jax.random.uniform(key, space.shape, jnp.float32, low, high), carry
