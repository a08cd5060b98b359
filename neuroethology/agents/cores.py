"""Recurrent cores: GRU, LSTM, the neuroscientists' leaky rate RNN, and a feed-forward core for ablations.

Every core has the same split interface, so a sequence's input projection runs as one large matrix product
outside the time loop and only the recurrence runs inside ``lax.scan``:

``project(x)``                          ``(..., in_features) -> (..., projection_size)`` (any leading dims)
``recur(state, px, noise)``             ``(state (..., state_size), px (..., projection_size),
                                        noise (..., noise_size)) -> (new_state, features (..., features))``

``state`` is one flat float32 array per agent (``state_size`` wide; zeros is the initial state), so resets,
storage and checkpoints treat every core alike. ``features`` are the core's output units, the "neurons" that
analysis reads: the GRU's and leaky RNN's state, the LSTM's ``h`` (its ``c`` stays in the state), the
feed-forward layer's activations. ``noise`` is a standard normal draw used only by the leaky RNN (its private
noise); every other core has ``noise_size == 0`` and receives an empty ``(..., 0)`` array.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .encoders import ACTIVATIONS
from .initializers import orthogonal

__all__ = ["CoreConfig", "GRUCore", "LSTMCore", "LeakyRNNCore", "FeedForwardCore", "make_core", "CORES"]

CORES = ("gru", "lstm", "leaky_rnn", "feedforward")


@dataclasses.dataclass(frozen=True)
class CoreConfig:
    """The recurrent core. ``tau``, ``noise_std`` and ``rate_activation`` concern the leaky RNN only."""

    kind: Literal["gru", "lstm", "leaky_rnn", "feedforward"] = "gru"  # see CORES
    hidden_size: int = 64  # units
    tau: float = 0.1  # s, membrane/synaptic time constant of the rate units: 100 ms (Song, Yang & Wang 2016)
    noise_std: float = 0.15  # s.d. of the private noise of each unit (sigma_rec = 0.15; Song et al. 2016)
    rate_activation: Literal["tanh", "relu", "gelu", "silu"] = (
        "tanh"  # f in the leaky RNN's update; "relu" gives non-negative rates
    )
    dt: float | None = None  # s, integration step of the leaky RNN; None takes the environment's dt


def _param(init, key, shape) -> nnx.Param:
    return nnx.Param(init(key, shape, jnp.float32))


def _stacked_orthogonal(key: jax.Array, rows: int, units: int, blocks: int, gain: float = 1.0) -> jax.Array:
    """``blocks`` independent orthogonal ``(rows, units)`` matrices side by side, ``(rows, blocks * units)``
    (each gate of a fused GRU/LSTM gets its own orthogonal block)."""
    keys = jax.random.split(key, blocks)
    init = orthogonal(gain)
    return jnp.concatenate([init(k, (rows, units)) for k in keys], axis=1)


class GRUCore(nnx.Module):
    """Gated recurrent unit (Cho et al. 2014, EMNLP; the variant of PyTorch/cuDNN with the reset gate applied
    after the recurrent product), gates fused into one ``(in, 3H)`` and one ``(H, 3H)`` matrix::

        r  = sigmoid(x W_r + b_r + h U_r + c_r)
        z  = sigmoid(x W_z + b_z + h U_z + c_z)
        n  = tanh(x W_n + b_n + r * (h U_n + c_n))
        h' = (1 - z) * n + z * h
    """

    noise_size = 0

    def __init__(self, in_features: int, hidden_size: int, *, rngs: nnx.Rngs) -> None:
        h = int(hidden_size)
        self.hidden_size = h
        self.state_size = h
        self.features = h
        self.w_x = nnx.Param(_stacked_orthogonal(rngs.params(), in_features, h, 3))
        self.b_x = nnx.Param(jnp.zeros((3 * h,), jnp.float32))
        self.w_h = nnx.Param(_stacked_orthogonal(rngs.params(), h, h, 3))
        self.b_h = nnx.Param(jnp.zeros((3 * h,), jnp.float32))

    def project(self, x: jax.Array) -> jax.Array:
        return x @ self.w_x[...] + self.b_x[...]

    def recur(self, state: jax.Array, px: jax.Array, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = self.hidden_size
        ph = state @ self.w_h[...] + self.b_h[...]
        r = jax.nn.sigmoid(px[..., :h] + ph[..., :h])
        z = jax.nn.sigmoid(px[..., h : 2 * h] + ph[..., h : 2 * h])
        n = jnp.tanh(px[..., 2 * h :] + r * ph[..., 2 * h :])
        new = (1.0 - z) * n + z * state
        return new, new


class LSTMCore(nnx.Module):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, Neural Comput. 9:1735) with forget gate
    (Gers et al. 2000), gates ``i, f, g, o`` fused; the forget-gate bias starts at 1 (Jozefowicz et al. 2015,
    ICML). The state is ``[h, c]`` (``2H`` wide); the features are ``h``::

        i, f, o = sigmoid(.), g = tanh(.)   of   x W + b + h U
        c' = f * c + i * g,   h' = o * tanh(c')
    """

    noise_size = 0

    def __init__(self, in_features: int, hidden_size: int, *, rngs: nnx.Rngs) -> None:
        h = int(hidden_size)
        self.hidden_size = h
        self.state_size = 2 * h
        self.features = h
        self.w_x = nnx.Param(_stacked_orthogonal(rngs.params(), in_features, h, 4))
        self.b_x = nnx.Param(jnp.zeros((4 * h,), jnp.float32).at[h : 2 * h].set(1.0))
        self.w_h = nnx.Param(_stacked_orthogonal(rngs.params(), h, h, 4))

    def project(self, x: jax.Array) -> jax.Array:
        return x @ self.w_x[...] + self.b_x[...]

    def recur(self, state: jax.Array, px: jax.Array, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = self.hidden_size
        hid, cell = state[..., :h], state[..., h:]
        gates = px + hid @ self.w_h[...]
        i = jax.nn.sigmoid(gates[..., :h])
        f = jax.nn.sigmoid(gates[..., h : 2 * h])
        g = jnp.tanh(gates[..., 2 * h : 3 * h])
        o = jax.nn.sigmoid(gates[..., 3 * h :])
        cell = f * cell + i * g
        hid = o * jnp.tanh(cell)
        return jnp.concatenate([hid, cell], axis=-1), hid


class LeakyRNNCore(nnx.Module):
    """The leaky rate RNN of systems neuroscience (Song, Yang & Wang 2016, PLoS Comput. Biol. 12:e1004792;
    Yang et al. 2019, Nat. Neurosci. 22:297), Euler-discretised with step ``dt`` and time constant ``tau``::

        h' = (1 - a) h + a f(W h + U x + b) + sqrt(2 a) sigma xi,      a = dt / tau,   xi ~ N(0, I)

    ``xi`` is each unit's private noise (the ``noise`` argument; pass zeros for the noiseless mean dynamics).
    ``W`` starts orthogonal (a well-conditioned recurrence) and ``U`` orthogonal with gain 1.
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        *,
        dt: float,
        tau: float,
        noise_std: float,
        rate_activation: str = "tanh",
        rngs: nnx.Rngs,
    ) -> None:
        if not (dt > 0 and tau > 0):
            raise ValueError(f"LeakyRNNCore: dt and tau must be > 0 s, got dt={dt}, tau={tau}")
        if dt > tau:
            raise ValueError(f"LeakyRNNCore: dt ({dt} s) must not exceed tau ({tau} s) (alpha = dt/tau <= 1)")
        if rate_activation not in ACTIVATIONS:
            raise ValueError(
                f"LeakyRNNCore: unknown rate_activation {rate_activation!r}; "
                f"expected one of {sorted(ACTIVATIONS)}"
            )
        h = int(hidden_size)
        self.hidden_size = h
        self.state_size = h
        self.features = h
        self.noise_size = h if noise_std > 0 else 0
        self.alpha = float(dt) / float(tau)
        self.noise_std = float(noise_std)
        self.rate_activation = rate_activation
        self.w_x = nnx.Param(orthogonal(1.0)(rngs.params(), (in_features, h)))
        self.b_x = nnx.Param(jnp.zeros((h,), jnp.float32))
        self.w_h = nnx.Param(orthogonal(1.0)(rngs.params(), (h, h)))

    def project(self, x: jax.Array) -> jax.Array:
        return x @ self.w_x[...] + self.b_x[...]

    def recur(self, state: jax.Array, px: jax.Array, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        a = self.alpha
        f = ACTIVATIONS[self.rate_activation]
        new = (1.0 - a) * state + a * f(state @ self.w_h[...] + px)
        if self.noise_size:
            new = new + float(np.sqrt(2.0 * a) * self.noise_std) * noise
        return new, new


class FeedForwardCore(nnx.Module):
    """No memory: one dense ``tanh`` layer of ``hidden_size`` units; the state is empty (``(..., 0)``).

    The ablation that tells whether a task needs memory at all."""

    noise_size = 0

    def __init__(self, in_features: int, hidden_size: int, *, rngs: nnx.Rngs) -> None:
        h = int(hidden_size)
        self.hidden_size = h
        self.state_size = 0
        self.features = h
        self.w_x = nnx.Param(orthogonal(np.sqrt(2))(rngs.params(), (in_features, h)))
        self.b_x = nnx.Param(jnp.zeros((h,), jnp.float32))

    def project(self, x: jax.Array) -> jax.Array:
        return jnp.tanh(x @ self.w_x[...] + self.b_x[...])

    def recur(self, state: jax.Array, px: jax.Array, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        return state, px


def make_core(config: CoreConfig, in_features: int, *, dt: float | None, rngs: nnx.Rngs) -> nnx.Module:
    """The core named by ``config.kind``; ``dt`` (s) is needed by the leaky RNN only."""
    kind = config.kind
    if kind == "gru":
        return GRUCore(in_features, config.hidden_size, rngs=rngs)
    if kind == "lstm":
        return LSTMCore(in_features, config.hidden_size, rngs=rngs)
    if kind == "feedforward":
        return FeedForwardCore(in_features, config.hidden_size, rngs=rngs)
    if kind == "leaky_rnn":
        step = config.dt if config.dt is not None else dt
        if step is None:
            raise ValueError(
                "the leaky RNN needs a time step: set agent.core.dt (s) or use an environment with dt"
            )
        return LeakyRNNCore(
            in_features,
            config.hidden_size,
            dt=float(step),
            tau=float(config.tau),
            noise_std=float(config.noise_std),
            rate_activation=config.rate_activation,
            rngs=rngs,
        )
    raise ValueError(f"unknown core {kind!r}; expected one of {list(CORES)}")
