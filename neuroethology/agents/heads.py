"""Policy and value heads, and the action distributions they return.

Three distributions, all ``flax.struct`` pytrees (they pass through ``jit``, ``vmap`` and ``lax.scan``) with
the same methods:

``sample(key) -> (action, raw)``   an environment action and the raw draw it came from;
``log_prob_raw(raw)``               log-probability used by PPO's ratio (of the raw draw);
``log_prob(action)``                log-likelihood of a given environment action (for fitting to recordings);
``entropy()``, ``mode()``           entropy (see below) and the deterministic action.

:class:`Categorical` (``Discrete`` actions): ``raw`` is the action; both log-probs coincide.

:class:`BoundedGaussian` (``Box`` actions, finite bounds): a diagonal Gaussian over the raw draw ``u`` in
normalised units, mapped into ``[low, high]`` one of two ways (``squash``):

* ``"clip"``: ``action = clip(centre + half u, low, high)``. The action's law is a *censored* Gaussian: a
  density inside the box and point masses at the bounds. ``log_prob_raw`` is the Gaussian log-density of
  ``u`` (in action units: ``mean = centre + half mu``, ``std = half sigma``), which PPO needs (the clip is
  part of the environment; Schulman et al. 2017); ``log_prob(action)`` is the censored (Tobit) likelihood:
  the Gaussian density for an action inside the box and ``log Phi`` of the tail mass for one on a bound, so
  animal actions at the bounds have finite likelihood.
* ``"tanh"``: ``action = centre + half tanh(u)`` (Haarnoja et al. 2018, SAC, appendix C). The change of
  variables is exact: ``log p(a) = log N(u; mu, sigma) - sum log(half (1 - tanh(u)^2))``. ``log_prob``
  inverts with ``atanh`` after clipping the normalised action to ``+-(1 - 1e-6)``, so an action exactly on
  a bound gets a large but finite density.

:class:`BoundedGaussianMixture` (``Box`` actions, ``PolicyHead(components=K)``): a mixture of ``K`` diagonal
Gaussians, each censored at the bounds as ``"clip"``, with state-dependent weights, means and spreads (a mixture
density network; Bishop 1994), so that the head can express heavy tails and a stopped-or-running bimodality that
one Gaussian with a learned but state-independent spread cannot. ``log_prob`` is the mixture of the components'
censored likelihoods; ``marginal(n)`` (both Box heads) is the law of the first ``n`` action components.

``entropy()`` is the entropy of the raw Gaussian in action units for both Gaussian heads (the mixture's: an
upper bound, its weights' entropy plus its components') (the squashed law's entropy has
no closed form; as PPO's bonus this is the standard choice). ``mode()`` maps the mean.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx, struct
from gymnasium import spaces
from jax.scipy.special import log_ndtr

from .initializers import orthogonal

__all__ = ["Categorical", "BoundedGaussian", "BoundedGaussianMixture", "PolicyHead", "ValueHead", "SQUASHES"]

SQUASHES = ("clip", "tanh")
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@struct.dataclass
class Categorical:
    """Categorical distribution over ``n`` actions from ``logits (..., n)``; actions start at ``start``."""

    logits: jax.Array
    start: int = struct.field(pytree_node=False, default=0)

    def sample(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        action = jax.random.categorical(key, self.logits, axis=-1) + self.start
        return action, action

    def log_prob_raw(self, raw: jax.Array) -> jax.Array:
        return self.log_prob(raw)

    def log_prob(self, action: jax.Array) -> jax.Array:
        logp = jax.nn.log_softmax(self.logits, axis=-1)
        idx = jnp.asarray(action, jnp.int32) - self.start
        return jnp.take_along_axis(logp, idx[..., None], axis=-1)[..., 0]

    def entropy(self) -> jax.Array:
        logp = jax.nn.log_softmax(self.logits, axis=-1)
        return -jnp.sum(jnp.exp(logp) * logp, axis=-1)

    def mode(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1) + self.start


@struct.dataclass
class BoundedGaussian:
    """Diagonal Gaussian over ``(..., d)`` actions bounded to ``[low, high]`` (see the module docstring).

    ``mean`` and ``log_std`` are in normalised units (``[-1, 1]`` spans the box); ``low``/``high`` are
    static tuples in the environment's units.
    """

    mean: jax.Array
    log_std: jax.Array
    low: tuple[float, ...] = struct.field(pytree_node=False, default=())
    high: tuple[float, ...] = struct.field(pytree_node=False, default=())
    squash: str = struct.field(pytree_node=False, default="clip")

    @property
    def centre(self) -> np.ndarray:
        return ((np.asarray(self.low) + np.asarray(self.high)) / 2).astype(np.float32)

    @property
    def half(self) -> np.ndarray:
        return ((np.asarray(self.high) - np.asarray(self.low)) / 2).astype(np.float32)

    def _to_action(self, u: jax.Array) -> jax.Array:
        if self.squash == "tanh":
            return self.centre + self.half * jnp.tanh(u)
        return jnp.clip(self.centre + self.half * u, np.float32(self.low), np.float32(self.high))

    def sample(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        u = self.mean + jnp.exp(self.log_std) * jax.random.normal(key, self.mean.shape, self.mean.dtype)
        return self._to_action(u), u

    def _gaussian_logpdf_units(self, u: jax.Array) -> jax.Array:
        """Per-dimension log-density of ``u`` in *normalised* units ``(..., d)``."""
        z = (u - self.mean) * jnp.exp(-self.log_std)
        return -0.5 * z**2 - self.log_std - _LOG_SQRT_2PI

    def log_prob_raw(self, raw: jax.Array) -> jax.Array:
        logp = self._gaussian_logpdf_units(raw) - np.log(self.half)
        if self.squash == "tanh":
            # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|.
            logp = logp - 2.0 * (np.log(2.0) - raw - jax.nn.softplus(-2.0 * raw))
        return jnp.sum(logp, axis=-1)

    def log_prob(self, action: jax.Array, *, bound_tolerance: float = 1e-6) -> jax.Array:
        """Log-likelihood of environment actions ``(..., d)``; an action within ``bound_tolerance`` (a
        fraction of the half-range) of a bound counts as on it (clip: point mass)."""
        y = (jnp.asarray(action, jnp.float32) - self.centre) / self.half  # normalised, [-1, 1] in the box
        if self.squash == "tanh":
            y = jnp.clip(y, -1.0 + 1e-6, 1.0 - 1e-6)
            return self.log_prob_raw(jnp.arctanh(y))
        inv_std = jnp.exp(-self.log_std)
        density = self._gaussian_logpdf_units(y) - np.log(self.half)
        lower_mass = log_ndtr((-1.0 - self.mean) * inv_std)  # P(u <= -1)
        upper_mass = log_ndtr((self.mean - 1.0) * inv_std)  # P(u >= +1)
        logp = jnp.where(
            y <= -1.0 + bound_tolerance,
            lower_mass,
            jnp.where(y >= 1.0 - bound_tolerance, upper_mass, density),
        )
        return jnp.sum(logp, axis=-1)

    def entropy(self) -> jax.Array:
        return jnp.sum(self.log_std + 0.5 + _LOG_SQRT_2PI + np.log(self.half), axis=-1)

    def mode(self) -> jax.Array:
        return self._to_action(self.mean)

    def marginal(self, n: int) -> BoundedGaussian:
        """The law of the first ``n`` action components (a diagonal Gaussian's: its first ``n`` factors)."""
        return self.replace(
            mean=self.mean[..., :n], log_std=self.log_std[..., :n], low=self.low[:n], high=self.high[:n]
        )


@struct.dataclass
class BoundedGaussianMixture:
    """A mixture of ``K`` diagonal Gaussians over ``(..., d)`` actions, each censored at ``[low, high]`` as
    :class:`BoundedGaussian` with ``squash="clip"`` (see the module docstring).

    ``logits`` ``(..., K)``: the components' log-weights (unnormalised); ``mean``, ``log_std`` ``(..., K, d)`` in
    normalised units.
    """

    logits: jax.Array
    mean: jax.Array
    log_std: jax.Array
    low: tuple[float, ...] = struct.field(pytree_node=False, default=())
    high: tuple[float, ...] = struct.field(pytree_node=False, default=())

    @property
    def components(self) -> BoundedGaussian:
        """The ``K`` components, batch shape ``(..., K)``."""
        return BoundedGaussian(self.mean, self.log_std, self.low, self.high, "clip")

    def _pick(self, x: jax.Array, k: jax.Array) -> jax.Array:
        return jnp.take_along_axis(x, k[..., None, None], axis=-2)[..., 0, :]

    def sample(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        k_comp, k_draw = jax.random.split(key)
        k = jax.random.categorical(k_comp, self.logits, axis=-1)
        mean, log_std = self._pick(self.mean, k), self._pick(self.log_std, k)
        u = mean + jnp.exp(log_std) * jax.random.normal(k_draw, mean.shape, mean.dtype)
        return self.components._to_action(u), u

    def _mix(self, per_component: jax.Array) -> jax.Array:
        return jax.nn.logsumexp(jax.nn.log_softmax(self.logits, axis=-1) + per_component, axis=-1)

    def log_prob_raw(self, raw: jax.Array) -> jax.Array:
        """Log-density of the raw draw ``u`` under the mixture (before the clip), in action units."""
        return self._mix(self.components.log_prob_raw(raw[..., None, :]))

    def log_prob(self, action: jax.Array, *, bound_tolerance: float = 1e-6) -> jax.Array:
        return self._mix(self.components.log_prob(action[..., None, :], bound_tolerance=bound_tolerance))

    def entropy(self) -> jax.Array:
        """An upper bound: the weights' entropy plus the weighted components' (the mixture's has no closed form)."""
        logw = jax.nn.log_softmax(self.logits, axis=-1)
        w = jnp.exp(logw)
        return jnp.sum(w * (self.components.entropy() - logw), axis=-1)

    def mode(self) -> jax.Array:
        """The mean of the heaviest component, as an action."""
        k = jnp.argmax(self.logits, axis=-1)
        return self.components._to_action(self._pick(self.mean, k))

    def marginal(self, n: int) -> BoundedGaussianMixture:
        """The law of the first ``n`` action components: the same weights, each component's first factors."""
        return self.replace(
            mean=self.mean[..., :n], log_std=self.log_std[..., :n], low=self.low[:n], high=self.high[:n]
        )


class PolicyHead(nnx.Module):
    """Features ``(..., F)`` -> action distribution over the environment's action space.

    ``Discrete(n)``: a linear layer to ``n`` logits. ``Box`` with finite bounds: a linear layer to the mean
    (normalised units) and a state-independent learned ``log_std`` (the usual PPO parameterisation; Schulman
    et al. 2017), starting at ``log(init_std)``. The output layer starts orthogonal with gain 0.01, so the
    initial policy is near uniform / centred (Andrychowicz et al. 2021). ``components=K > 0`` (Box only): a
    :class:`BoundedGaussianMixture` whose weights, means and log-spreads all come from the features.
    """

    def __init__(
        self,
        features: int,
        action_space: spaces.Space,
        *,
        squash: str = "clip",
        init_std: float = 0.5,
        components: int = 0,
        rngs: nnx.Rngs,
    ) -> None:
        dense = dict(kernel_init=orthogonal(0.01), bias_init=nnx.initializers.zeros_init(), rngs=rngs)
        if components and not isinstance(action_space, spaces.Box):
            raise ValueError(
                f"PolicyHead: a mixture head (components={components}) needs Box actions, got {action_space}"
            )
        if isinstance(action_space, spaces.Discrete):
            self.kind = "categorical"
            self.start = int(action_space.start)
            self.out = nnx.Linear(features, int(action_space.n), **dense)
        elif isinstance(action_space, spaces.Box):
            low = np.asarray(action_space.low, np.float64).reshape(-1)
            high = np.asarray(action_space.high, np.float64).reshape(-1)
            problems = []
            if len(action_space.shape) != 1:
                problems.append(f"a vector action (d,), got shape {action_space.shape}")
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                problems.append("finite bounds (the Gaussian is scaled to the box)")
            if np.any(high <= low):
                problems.append("high > low in every dimension")
            if problems:
                raise ValueError(
                    f"PolicyHead: the Box action space {action_space} needs " + "; ".join(problems)
                )
            if squash not in SQUASHES:
                raise ValueError(f"PolicyHead: squash must be one of {SQUASHES}, got {squash!r}")
            if not init_std > 0:
                raise ValueError(f"PolicyHead: init_std must be > 0, got {init_std}")
            self.low = tuple(float(v) for v in low)
            self.high = tuple(float(v) for v in high)
            self.squash = squash
            if components:
                self._mixture(features, low.size, int(components), squash, init_std, dense)
                return
            self.kind = "gaussian"
            self.out = nnx.Linear(features, low.size, **dense)
            self.log_std = nnx.Param(jnp.full((low.size,), np.log(init_std), jnp.float32))
        else:
            raise ValueError(
                f"PolicyHead: unsupported action space {action_space} (expected Discrete or Box)"
            )

    def _mixture(self, features: int, d: int, k: int, squash: str, init_std: float, dense: dict) -> None:
        """``k`` components: logits, means and log-spreads all from the features; the means start spread
        evenly over ``[-0.5, 0.5]`` of the box (distinct, so that the components can specialise)."""
        if k < 1 or squash != "clip":
            raise ValueError(
                f"PolicyHead: a mixture needs components >= 1 and squash 'clip', got {k}, {squash!r}"
            )
        self.kind = "mixture"
        self.components = k
        self.out = nnx.Linear(features, k * (1 + 2 * d), **dense)
        means = np.repeat(np.linspace(-0.5, 0.5, k) if k > 1 else np.zeros(1), d)
        bias = np.concatenate([np.zeros(k), means, np.full(k * d, np.log(init_std))]).astype(np.float32)
        self.out.bias.value = jnp.asarray(bias)

    def __call__(self, features: jax.Array) -> Categorical | BoundedGaussian | BoundedGaussianMixture:
        out = self.out(features)
        if self.kind == "categorical":
            return Categorical(logits=out, start=self.start)
        if self.kind == "mixture":
            k, d = self.components, len(self.low)
            logits, rest = out[..., :k], out[..., k:]
            mean = rest[..., : k * d].reshape(*out.shape[:-1], k, d)
            log_std = jnp.clip(rest[..., k * d :].reshape(*out.shape[:-1], k, d), -7.0, 2.0)
            return BoundedGaussianMixture(logits, mean, log_std, self.low, self.high)
        log_std = jnp.broadcast_to(self.log_std[...], out.shape)
        return BoundedGaussian(mean=out, log_std=log_std, low=self.low, high=self.high, squash=self.squash)


class ValueHead(nnx.Module):
    """Features ``(..., F)`` -> state value ``(...)`` (a linear layer, orthogonal init with gain 1)."""

    def __init__(self, features: int, *, rngs: nnx.Rngs) -> None:
        self.out = nnx.Linear(
            features,
            1,
            kernel_init=orthogonal(1.0),
            bias_init=nnx.initializers.zeros_init(),
            rngs=rngs,
        )

    def __call__(self, features: jax.Array) -> jax.Array:
        return self.out(features)[..., 0]
