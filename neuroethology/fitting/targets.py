"""What a network fitted to OpenField behaviour predicts: the next speed and a warped turning rate.

OpenField's action is ``(acceleration, angular velocity)``. For a network fitted to a recorded animal the
policy head instead models

    z = (v', asinh(omega / c))          v' = clip(v + a dt, 0, max_speed), the next speed

with a (censored) Gaussian, and the acceleration is recovered as ``(v' - v) / dt``. Two reasons:

* predicting the next speed rather than an acceleration keeps the closed loop stable: a network's small
  biases in acceleration integrate over steps into a drifting speed, a predicted speed is re-drawn every step
  around what the animal would do;
* a Gaussian in ``asinh(omega / c)`` has the heavy tails of turning rates (mostly small heading changes, rare
  sharp turns): linear near zero, logarithmic beyond ``c``. A Gaussian in omega itself has to spread its mass
  to cover the sharp turns and makes the simulated animal turn too much most of the time.

Optionally (``speed_offset = s0 > 0``) the speed is warped too, ``z_0 = log(v' + s0)``; on the Sargolini rat
this fits the teacher-forced likelihood better but lets the free-running network drift to extreme speeds, so
it is off by default (``s0 = 0``). The likelihood of the action follows by the change of variables, step by
step: ``log p(a) = log p(z) + log |dz/da|`` with ``log |dz/da| = log dt - log(v' + s0) [if s0 > 0]
- 0.5 log(c^2 + omega^2) [if c > 0]`` (:func:`target_log_jacobian`). The environment still receives (and
clips) an acceleration, so the fitted policy runs in the unmodified environment. ``s0`` and ``c`` are
:class:`Warp`'s fields, saved with every fitted run.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from gymnasium import spaces

from ..envs.open_field import OpenFieldParams
from .reconstruct import Demonstration

__all__ = [
    "Warp",
    "target_space",
    "to_targets",
    "from_targets",
    "target_log_jacobian",
    "TargetSpeedPolicy",
    "append_identity",
    "identity_space",
]


def identity_space(space: spaces.Space, num_animals: int) -> spaces.Space:
    """``space`` with ``num_animals`` one-hot identity features in ``[0, 1]`` after the vector observation."""
    if isinstance(space, spaces.Dict):
        return spaces.Dict({**space.spaces, "vector": identity_space(space["vector"], num_animals)})
    low = np.concatenate([np.asarray(space.low, np.float32), np.zeros(num_animals, np.float32)])
    high = np.concatenate([np.asarray(space.high, np.float32), np.ones(num_animals, np.float32)])
    return spaces.Box(low, high, dtype=np.float32)


def append_identity(observations: Any, identity: Any) -> Any:
    """Observations (leading axes any, a vector or a dict with ``"vector"``) with an animal's identity code
    ``(k,)`` appended to every vector: what a network fitted to several animals reads
    (:mod:`neuroethology.fitting.population`). NumPy in, NumPy out; JAX otherwise."""
    if isinstance(observations, dict):
        return {**observations, "vector": append_identity(observations["vector"], identity)}
    xp = np if isinstance(observations, np.ndarray) else jnp
    code = xp.asarray(identity, dtype=observations.dtype)
    code = xp.broadcast_to(code, observations.shape[:-1] + code.shape)
    return xp.concatenate([observations, code], axis=-1)


class Warp(NamedTuple):
    """The warping of ``(next speed, angular velocity)`` (see the module docstring); a value of 0 leaves that
    component unwarped (a Gaussian in m/s or rad/s)."""

    speed_offset: float = 0.0  # s0, m/s (0: the next speed itself, the fit's default)
    turn_scale: float = 2.0  # c, rad/s


DEFAULT_WARP = Warp()


def _fwd_speed(v, s0, xp):
    return xp.log(v + s0) if s0 > 0 else v


def _fwd_turn(w, c, xp):
    return xp.arcsinh(w / c) if c > 0 else w


def _log_dspeed(v, warp: Warp, xp):
    """``log |dz/dv|``."""
    return -xp.log(v + warp.speed_offset) if warp.speed_offset > 0 else 0.0


def _log_dturn(w, warp: Warp, xp):
    """``log |dz/dw|``."""
    return -0.5 * xp.log(warp.turn_scale**2 + w**2) if warp.turn_scale > 0 else 0.0


def _log_dfwd(v, w, warp: Warp, xp):
    """``log |dz/dv| + log |dz/dw|``."""
    return _log_dspeed(v, warp, xp) + _log_dturn(w, warp, xp)


def target_space(params: OpenFieldParams, warp: Warp = DEFAULT_WARP) -> spaces.Box:
    """The box of warped ``(next speed, angular velocity)`` a network's head covers."""
    s0, c = float(warp.speed_offset), float(warp.turn_scale)
    w_max = float(_fwd_turn(float(params.max_angular_velocity), c, np))
    low = np.array([_fwd_speed(0.0, s0, np), -w_max], np.float32)
    high = np.array([_fwd_speed(float(params.max_speed), s0, np), w_max], np.float32)
    return spaces.Box(low, high, dtype=np.float32)


def _warp(next_speed, omega, warp: Warp, xp=np):
    return xp.stack(
        [_fwd_speed(next_speed, warp.speed_offset, xp), _fwd_turn(omega, warp.turn_scale, xp)], axis=-1
    )


def from_targets(z, warp: Warp = DEFAULT_WARP, xp=jnp):
    """``(next speed, angular velocity)`` from warped targets ``z`` (``(..., 2)``)."""
    speed = xp.exp(z[..., 0]) - warp.speed_offset if warp.speed_offset > 0 else z[..., 0]
    omega = warp.turn_scale * xp.sinh(z[..., 1]) if warp.turn_scale > 0 else z[..., 1]
    return speed, omega


def to_targets(demo: Demonstration, params: OpenFieldParams, warp: Warp = DEFAULT_WARP) -> Demonstration:
    """The demonstration with its actions re-expressed as warped targets. Actions outside the action space
    are first clipped as the environment would."""
    a = np.asarray(demo.actions, float)
    accel = np.clip(a[:, 0], -float(params.max_acceleration), float(params.max_acceleration))
    omega = np.clip(a[:, 1], -float(params.max_angular_velocity), float(params.max_angular_velocity))
    speed = np.clip(
        np.asarray(demo.states.speed, float) + accel * float(params.dt), 0.0, float(params.max_speed)
    )
    return demo._replace(actions=_warp(speed, omega, warp))


def target_log_jacobian(
    demo: Demonstration,
    params: OpenFieldParams,
    warp: Warp = DEFAULT_WARP,
    *,
    held: np.ndarray | None = None,
) -> np.ndarray:
    """Per step, ``log p(action) - log p(warped target)`` along a demonstration (nats); on ``held`` steps
    (heading held: the acceleration alone is scored) without the angular velocity's term."""
    z = to_targets(demo, params, warp).actions
    speed, omega = from_targets(z, warp, xp=np)
    turn = _log_dturn(omega, warp, np) + np.zeros_like(omega)
    if held is not None:
        turn = np.where(held, 0.0, turn)
    return np.log(float(params.dt)) + _log_dspeed(speed, warp, np) + turn


@jax.tree_util.register_pytree_node_class
class TargetSpeedPolicy:
    """A fitted agent driving OpenField: it samples warped ``(next speed, angular velocity)`` and acts with
    the acceleration that reaches that speed. The carry is the agent's core state (its "neurons").
    ``deterministic=True`` takes the distribution's mode. A pytree of its weights (and identity code), so
    a rollout compiles once for every network of one architecture."""

    def __init__(
        self,
        graphdef: nnx.GraphDef,
        weights: nnx.State,
        *,
        warp: Warp = DEFAULT_WARP,
        deterministic: bool = False,
        identity: Any = None,
    ) -> None:
        self.graphdef = graphdef
        self.weights = weights
        self.warp = Warp(*(float(v) for v in warp))
        self.deterministic = bool(deterministic)
        # the animal's identity code for a network fitted to several animals (appended to the vector input)
        self.identity = None if identity is None else jnp.asarray(identity, jnp.float32)
        agent = nnx.merge(graphdef, weights)
        self.state_size = int(agent.state_size)
        self.noise_size = int(agent.noise_size)

    def tree_flatten(self) -> tuple[tuple, tuple]:
        static = (self.graphdef, self.warp, self.deterministic, self.state_size, self.noise_size)
        return (self.weights, self.identity), static

    @classmethod
    def tree_unflatten(cls, static: tuple, children: tuple) -> TargetSpeedPolicy:
        policy = object.__new__(cls)
        policy.weights, policy.identity = children
        policy.graphdef, policy.warp, policy.deterministic, policy.state_size, policy.noise_size = static
        return policy

    def init(self, key: jax.Array, env_state: Any, env_params: OpenFieldParams) -> jax.Array:
        return jnp.zeros((self.state_size,), jnp.float32)

    def read(self, obs: Any) -> Any:
        """What the network reads of an observation: with the animal's identity code, if it has one."""
        return obs if self.identity is None else append_identity(obs, self.identity)

    def act(self, key: jax.Array, carry: jax.Array, obs: Any, env_state: Any, env_params: OpenFieldParams):
        action, carry, _ = self.act_with_extras(key, carry, obs, env_state, env_params)
        return action, carry

    def act_with_extras(
        self, key: jax.Array, carry: jax.Array, obs: Any, env_state: Any, env_params: OpenFieldParams
    ):
        """``(action, carry, {"hidden", "log_prob"})``: the network's units and the log-density (nats) of
        the drawn ``(next speed, angular velocity)`` in OpenField's action units. A fitted network has no
        critic, so it reports no value."""
        agent = nnx.merge(self.graphdef, self.weights)
        k_sample, k_noise = jax.random.split(key)
        noise = None
        if self.noise_size and not self.deterministic:
            noise = jax.random.normal(k_noise, (self.noise_size,))
        out = agent.step(carry, self.read(obs), jnp.zeros((), bool), noise)
        z = out.dist.mode() if self.deterministic else out.dist.sample(k_sample)[0]
        speed, omega = from_targets(z, self.warp)
        action = jnp.stack([(speed - env_state.speed) / env_params.dt, omega])
        log_prob = out.dist.log_prob(z) + jnp.log(env_params.dt) + _log_dfwd(speed, omega, self.warp, jnp)
        return action.astype(jnp.float32), out.state, {"hidden": out.hidden, "log_prob": log_prob}

    def log_prob(
        self,
        carry: jax.Array,
        obs: Any,
        start: jax.Array,
        env_state: Any,
        action: jax.Array,
        env_params: OpenFieldParams,
    ) -> tuple[jax.Array, jax.Array]:
        """``(log p(action | o_1..o_t), new carry)`` for a batch of environments: the fitted model's
        log-likelihood (nats) of OpenField actions ``(acceleration, angular velocity)`` taken in ``env_state``
        (clipped as the environment clips them), its state reset where ``start``. The animal prior of
        "task plus data" training (:class:`neuroethology.training.config.PriorConfig`)."""
        agent = nnx.merge(self.graphdef, self.weights)
        out = agent.step(carry, self.read(obs), start, None)
        high = jnp.stack([env_params.max_acceleration, env_params.max_angular_velocity])
        action = jnp.clip(action, -high, high)
        speed = jnp.clip(env_state.speed + action[..., 0] * env_params.dt, 0.0, env_params.max_speed)
        omega = action[..., 1]
        z = _warp(speed, omega, self.warp, xp=jnp)
        jacobian = jnp.log(env_params.dt) + _log_dfwd(speed, omega, self.warp, jnp) + jnp.zeros_like(speed)
        return out.dist.log_prob(z) + jacobian, out.state
