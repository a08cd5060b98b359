"""Observation encoders: a vector MLP with input normalisation, a small CNN for images, and both combined.

Every encoder maps an observation with any leading batch/time dims to features ``(..., features)``:

* :class:`MLPEncoder` for ``Box`` vectors ``(..., d)`` (and ``Discrete`` observations, one-hot encoded);
* :class:`CNNEncoder` for ``Box`` images ``(..., H, W, C)``, channels last;
* :class:`DictEncoder` for ``Dict`` observations: one sub-encoder per key (sorted), features concatenated and
  mixed by one dense layer.

Input normalisation is stateless and fixed by the observation space, so it is identical in reinforcement
learning, in fitting to recorded animals and in analysis (no running statistics to checkpoint or to drift).
``normalize="auto"`` (default) maps a dimension affinely from ``[low, high]`` to ``[-1, 1]`` when both bounds
are finite and its half-range is at most ``AUTO_MAX_HALF_RANGE`` (100 units); wider or unbounded dimensions
(e.g. PatchForaging's 600 s cap on time in a patch, where typical values are a few seconds) go through
``symlog(x) = sign(x) log(1 + |x|)`` (Hafner et al. 2023, "Mastering diverse domains through world models",
arXiv:2301.04104), which leaves small values nearly unchanged and compresses large ones. ``"bounds"`` forces
the affine map wherever bounds are finite, ``"symlog"`` uses symlog everywhere, ``"none"`` passes values on.

``log_dims`` lists vector dimensions that are read on a logarithmic scale first, ``log(max(x, log_floor))``,
with their bounds transformed alike, so that an input spanning decades (an odour concentration of 1e-4 far
down a plume and 0.5 at its source) is resolved at every scale, as sensory receptors compress intensity
roughly logarithmically (Weber-Fechner; e.g. the log-linear dose responses of insect olfactory receptor
neurons, de Bruyne, Foster & Carlson 2001, Neuron 30:537).

Weights use orthogonal initialisation with gain sqrt(2) for ReLU/tanh hidden layers (Andrychowicz et al.
2021, "What matters in on-policy reinforcement learning?", ICLR).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from gymnasium import spaces

from .initializers import orthogonal

__all__ = [
    "AUTO_MAX_HALF_RANGE",
    "EncoderConfig",
    "BoundsNormalizer",
    "MLPEncoder",
    "CNNEncoder",
    "PatchConv",
    "DictEncoder",
    "make_encoder",
    "symlog",
]

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "silu": jax.nn.silu}


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Sizes of the observation encoders (static: they set array shapes)."""

    mlp_features: tuple[int, ...] = (64,)  # hidden units of the vector MLP, one entry per layer
    cnn_channels: tuple[int, ...] = (16, 32, 32)  # channels of the conv layers (3x3, stride 2 each)
    cnn_features: int = 64  # dense units after the conv stack
    activation: Literal["tanh", "relu", "gelu", "silu"] = "tanh"  # hidden-layer nonlinearity
    normalize: Literal["auto", "bounds", "symlog", "none"] = "auto"  # input normalisation (module docstring)
    log_dims: tuple[int, ...] = ()  # vector dims read on a log scale first, e.g. odour concentrations
    log_floor: float = 1e-4  # below this, values read as it on the log scale (a detection threshold)


AUTO_MAX_HALF_RANGE = 100.0  # bounds wider than +-100 units are taken as caps, not as the typical range


def symlog(x: jax.Array) -> jax.Array:
    """``sign(x) * log(1 + |x|)`` (Hafner et al. 2023)."""
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def _uniform_or_tuple(a: np.ndarray) -> float | tuple[float, ...]:
    flat = np.asarray(a, np.float64).reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return float(flat[0])
    return tuple(float(v) for v in flat)


class BoundsNormalizer(nnx.Module):
    """Fixed normalisation from a ``Box``'s bounds (``mode``: see the module docstring): ``[low, high] ->
    [-1, 1]`` where the affine map applies, :func:`symlog` elsewhere. Holds no parameters (bounds are static
    hashable tuples)."""

    def __init__(
        self,
        low: np.ndarray,
        high: np.ndarray,
        mode: str = "auto",
        log_dims: tuple[int, ...] = (),
        log_floor: float = 1e-4,
    ) -> None:
        if mode not in ("auto", "bounds", "symlog", "none"):
            raise ValueError(f"BoundsNormalizer: unknown mode {mode!r}")
        low = np.array(low, np.float64)
        high = np.array(high, np.float64)
        log_dims = tuple(int(d) for d in log_dims)
        if log_dims:
            bad = [d for d in log_dims if not (low.ndim == 1 and -low.size <= d < low.size)]
            if bad or not log_floor > 0:
                raise ValueError(
                    f"BoundsNormalizer: log_dims must index a vector of {low.size} values and log_floor be "
                    f"> 0, got log_dims={list(log_dims)}, log_floor={log_floor}"
                )
            idx = np.asarray(log_dims)
            low[idx] = np.log(np.maximum(low[idx], log_floor))
            high[idx] = np.log(np.maximum(high[idx], 10 * log_floor))
        self.log_dims = log_dims
        self.log_floor = float(log_floor)
        self.mode = mode
        self.shape = tuple(low.shape)
        self.low = _uniform_or_tuple(low)
        self.high = _uniform_or_tuple(high)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        def full(v: float | tuple[float, ...]) -> np.ndarray:
            return np.reshape(v, self.shape) if isinstance(v, tuple) else np.full(self.shape, v)

        return full(self.low), full(self.high)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x, jnp.float32)
        if self.log_dims:
            idx = np.asarray(self.log_dims)
            x = x.at[..., idx].set(jnp.log(jnp.maximum(x[..., idx], self.log_floor)))
        if self.mode == "none":
            return x
        if self.mode == "symlog":
            return symlog(x)
        affine = self.affine_mask()
        low, high = self._arrays()
        with np.errstate(invalid="ignore", over="ignore"):
            centre = np.where(affine, (low + high) / 2, 0.0)
            half = np.where(affine, (high - low) / 2, 1.0)
        half = np.where(half > 0, half, 1.0)
        scaled = (x - centre.astype(np.float32)) / half.astype(np.float32)
        if affine.all():
            return scaled
        return jnp.where(affine, scaled, symlog(x))

    def affine_mask(self) -> np.ndarray:
        """Which dimensions are mapped affinely (the others go through symlog)."""
        low, high = self._arrays()
        with np.errstate(invalid="ignore", over="ignore"):
            finite = np.isfinite(low) & np.isfinite(high)
            if self.mode == "bounds":
                return finite
            if self.mode == "symlog":
                return np.zeros(self.shape, bool)
            return finite & (np.where(finite, (high - low) / 2, np.inf) <= AUTO_MAX_HALF_RANGE)


def _dense(
    in_features: int, out_features: int, rngs: nnx.Rngs, gain: float = float(np.sqrt(2))
) -> nnx.Linear:
    return nnx.Linear(
        in_features,
        out_features,
        kernel_init=orthogonal(gain),
        bias_init=nnx.initializers.zeros_init(),
        rngs=rngs,
    )


class MLPEncoder(nnx.Module):
    """Normalise a vector observation ``(..., d)`` and pass it through dense layers -> ``(..., features)``.

    A ``Discrete(n)`` observation ``(...)`` (integers) is one-hot encoded instead of normalised.
    """

    def __init__(self, space: spaces.Space, config: EncoderConfig, *, rngs: nnx.Rngs) -> None:
        if isinstance(space, spaces.Discrete):
            self.one_hot = (int(space.n), int(space.start))
            self.normalizer = None
            in_features = int(space.n)
        elif isinstance(space, (spaces.Box, spaces.MultiBinary)):
            low = np.zeros(space.shape) if isinstance(space, spaces.MultiBinary) else space.low
            high = np.ones(space.shape) if isinstance(space, spaces.MultiBinary) else space.high
            if len(space.shape) > 1:
                raise ValueError(f"MLPEncoder: expected a vector observation (d,), got shape {space.shape}")
            self.one_hot = None
            self.normalizer = BoundsNormalizer(
                np.reshape(low, (-1,)),
                np.reshape(high, (-1,)),
                config.normalize,
                config.log_dims,
                config.log_floor,
            )
            in_features = int(np.prod(space.shape, dtype=int))
        else:
            raise ValueError(f"MLPEncoder: unsupported observation space {space}")
        self.scalar = isinstance(space, spaces.Box) and space.shape == ()
        self.activation = config.activation
        layers = []
        for width in config.mlp_features:
            layers.append(_dense(in_features, int(width), rngs))
            in_features = int(width)
        self.layers = nnx.List(layers)
        self.features = in_features

    def __call__(self, obs: jax.Array) -> jax.Array:
        if self.one_hot is not None:
            n, start = self.one_hot
            x = jax.nn.one_hot(jnp.asarray(obs) - start, n, dtype=jnp.float32)
        else:
            x = jnp.asarray(obs, jnp.float32)
            if self.scalar:
                x = x[..., None]
            x = self.normalizer(x)
        act = ACTIVATIONS[self.activation]
        for layer in self.layers:
            x = act(layer(x))
        return x


class PatchConv(nnx.Module):
    """A 3x3, stride-2, "SAME" convolution written as patch extraction plus a matrix product (im2col).

    Same result as ``nnx.Conv(..., kernel_size=(3, 3), strides=(2, 2), padding="SAME")``. The reason for
    the formulation: on XLA's CPU backend (JAX 0.10) the kernel gradient of a convolution placed inside a
    loop (PPO's ``lax.scan`` over epochs and minibatches) runs 30-120x slower than the same gradient outside
    a loop (measured: 9-44 s against 0.15-0.35 s for 2048 16x16x16 images), which made a CNN update take
    minutes; as a matrix product the kernel gradient is fast everywhere (0.18 s in or out of a loop).
    Input ``(B, H, W, C_in)`` -> ``(B, ceil(H/2), ceil(W/2), C_out)``. Orthogonal kernel init, gain sqrt(2).
    """

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs) -> None:
        init = orthogonal(np.sqrt(2))
        # (9 C_in, C_out), rows in the patch feature order of conv_general_dilated_patches: (C_in, kh, kw).
        self.kernel = nnx.Param(init(rngs.params(), (9 * in_channels, out_channels), jnp.float32))
        self.bias = nnx.Param(jnp.zeros((out_channels,), jnp.float32))
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)

    def __call__(self, x: jax.Array) -> jax.Array:
        patches = jax.lax.conv_general_dilated_patches(
            x, (3, 3), (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        return patches @ self.kernel[...] + self.bias[...]


class CNNEncoder(nnx.Module):
    """A small convolutional encoder for egocentric images ``(..., H, W, C)`` in the space's bounds.

    ``len(cnn_channels)`` 3x3 convolutions with stride 2 and ReLU (the Nature-DQN pattern of Mnih et al.
    2015, Nature 518:529, scaled down for 32 x 32 images), then one dense layer of ``cnn_features`` units.
    """

    def __init__(self, space: spaces.Box, config: EncoderConfig, *, rngs: nnx.Rngs) -> None:
        if not isinstance(space, spaces.Box) or len(space.shape) != 3:
            raise ValueError(f"CNNEncoder: expected an image Box (H, W, C), got {space}")
        self.image_shape = tuple(int(s) for s in space.shape)
        self.normalizer = BoundsNormalizer(space.low, space.high, config.normalize)
        h, w, c = self.image_shape
        convs = []
        for channels in config.cnn_channels:
            convs.append(PatchConv(c, int(channels), rngs=rngs))
            c = int(channels)
            h, w = -(-h // 2), -(-w // 2)
        self.convs = nnx.List(convs)
        self.dense = _dense(h * w * c, int(config.cnn_features), rngs)
        self.features = int(config.cnn_features)

    def __call__(self, image: jax.Array) -> jax.Array:
        image = jnp.asarray(image, jnp.float32)
        lead = image.shape[:-3]
        if image.shape[-3:] != self.image_shape:
            raise ValueError(
                f"CNNEncoder: expected images of shape {self.image_shape}, got {image.shape[-3:]}"
            )
        x = self.normalizer(image).reshape((-1, *self.image_shape))
        for conv in self.convs:
            x = jax.nn.relu(conv(x))
        x = jax.nn.relu(self.dense(x.reshape(x.shape[0], -1)))
        return x.reshape((*lead, self.features))


class DictEncoder(nnx.Module):
    """One encoder per key of a ``Dict`` observation (images -> CNN, vectors -> MLP), concatenated and mixed
    by a dense layer of ``mlp_features[-1]`` (or ``cnn_features``) units."""

    def __init__(self, space: spaces.Dict, config: EncoderConfig, *, rngs: nnx.Rngs) -> None:
        encoders = {}
        for key in sorted(space.spaces):
            encoders[key] = make_encoder(space.spaces[key], config, rngs=rngs)
        self.keys = tuple(sorted(space.spaces))
        self.encoders = nnx.Dict(encoders)
        total = sum(enc.features for enc in encoders.values())
        width = int(config.mlp_features[-1]) if config.mlp_features else int(config.cnn_features)
        self.mix = _dense(total, width, rngs)
        self.activation = config.activation
        self.features = width

    def __call__(self, obs: dict[str, Any]) -> jax.Array:
        missing = [k for k in self.keys if k not in obs]
        if missing:
            raise ValueError(f"DictEncoder: observation lacks keys {missing} (expected {list(self.keys)})")
        parts = [self.encoders[k](obs[k]) for k in self.keys]
        return ACTIVATIONS[self.activation](self.mix(jnp.concatenate(parts, axis=-1)))


def make_encoder(space: spaces.Space, config: EncoderConfig, *, rngs: nnx.Rngs) -> nnx.Module:
    """The encoder for an observation space: CNN for ``(H, W, C)`` boxes, MLP for vectors and ``Discrete``,
    :class:`DictEncoder` for ``Dict``. Every encoder has a ``features`` attribute (output width)."""
    if config.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {config.activation!r}; expected one of {sorted(ACTIVATIONS)}")
    if isinstance(space, spaces.Dict):
        return DictEncoder(space, config, rngs=rngs)
    if isinstance(space, spaces.Box) and len(space.shape) == 3:
        return CNNEncoder(space, config, rngs=rngs)
    if isinstance(space, (spaces.Box, spaces.Discrete, spaces.MultiBinary)) and len(space.shape) <= 1:
        return MLPEncoder(space, config, rngs=rngs)
    raise ValueError(
        f"no encoder for observation space {space}: expected a vector Box (d,), an image Box (H, W, C), "
        "Discrete, MultiBinary or a Dict of these"
    )
