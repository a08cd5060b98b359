"""The agent: observation encoder -> recurrent core -> policy and value heads (Flax NNX).

One module serves reinforcement learning, fitting to recorded animals and analysis::

    agent = make_agent(env.observation_space(params), env.action_space(params), AgentConfig(), dt=params.dt,
                       key=jax.random.key(0))
    graphdef, weights = nnx.split(agent)            # carry (graphdef, weights) across jit boundaries

    # inside a jitted function:
    agent = nnx.merge(graphdef, weights)
    state = agent.initial_state((num_envs,))        # (num_envs, state_size) zeros
    out = agent.step(state, obs, start, noise)      # one step; out.state is the next core state
    out = agent.unroll(state0, obs_seq, starts, noise_seq)          # time-major sequences (T, B, ...)
    logp = agent.log_likelihood(state0, obs_seq, actions, starts)   # (T, B): log p(a_t | o_<=t)

``start[t]`` (bool) marks an observation that begins an episode or a recorded segment: the core state is
reset to its initial value (zeros) *before* that observation is read. The reset happens inside the scan, so
one sequence can hold several episodes. :meth:`Agent.step` is exactly one iteration of :meth:`Agent.unroll`
(same reset, same arithmetic), so a rollout taken step by step and replayed as a sequence agree.

``noise`` is the leaky RNN's private noise, standard normal ``(..., noise_size)``; ``None`` means zeros (the
noiseless mean dynamics, e.g. for likelihoods). For other cores ``noise_size == 0``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from gymnasium import spaces

from .cores import CoreConfig, make_core
from .encoders import EncoderConfig, make_encoder
from .heads import BoundedGaussian, BoundedGaussianMixture, Categorical, PolicyHead, ValueHead

__all__ = ["AgentConfig", "Agent", "AgentOutput", "make_agent"]


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """Architecture of an agent (all static: these set shapes and code paths)."""

    encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
    core: CoreConfig = dataclasses.field(default_factory=CoreConfig)
    squash: Literal["clip", "tanh"] = (
        "clip"  # bounded Gaussian for Box actions: "clip" (censored) or "tanh" (see heads.py)
    )
    init_std: float = 0.5  # initial policy s.d. in normalised action units (the box spans [-1, 1])
    mixture_components: int = 0  # Box actions: > 0 makes the head a mixture of this many Gaussians (heads.py)


class AgentOutput(NamedTuple):
    """What the agent returns for one step (shapes ``(B, ...)``) or a sequence (``(T, B, ...)``)."""

    state: jax.Array  # (..., state_size) core state after the step (the next step's input state)
    hidden: jax.Array  # (..., features) the core's output units, the "neurons" analysis reads
    dist: Categorical | BoundedGaussian | BoundedGaussianMixture  # action distribution, batch shape (...)
    value: jax.Array  # (...) state-value estimate


class Agent(nnx.Module):
    """Encoder, core and heads for one environment's observation and action spaces."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: AgentConfig = AgentConfig(),
        *,
        dt: float | None = None,
        rngs: nnx.Rngs,
    ) -> None:
        self.encoder = make_encoder(observation_space, config.encoder, rngs=rngs)
        self.core = make_core(config.core, self.encoder.features, dt=dt, rngs=rngs)
        self.policy = PolicyHead(
            self.core.features,
            action_space,
            squash=config.squash,
            init_std=config.init_std,
            components=config.mixture_components,
            rngs=rngs,
        )
        self.value = ValueHead(self.core.features, rngs=rngs)
        self.state_size = int(self.core.state_size)
        self.noise_size = int(self.core.noise_size)
        self.features = int(self.core.features)

    # -- state ----------------------------------------------------------------------------------------------
    def initial_state(self, batch_shape: tuple[int, ...] = ()) -> jax.Array:
        """The core state at an episode start: zeros ``(*batch_shape, state_size)``."""
        return jnp.zeros((*batch_shape, self.state_size), jnp.float32)

    def _noise(self, noise: jax.Array | None, batch_shape: tuple[int, ...]) -> jax.Array:
        if noise is None or self.noise_size == 0:
            return jnp.zeros((*batch_shape, self.noise_size), jnp.float32)
        if noise.shape != (*batch_shape, self.noise_size):
            raise ValueError(
                f"Agent: noise must have shape {(*batch_shape, self.noise_size)}, got {noise.shape}"
            )
        return noise

    # -- one step -------------------------------------------------------------------------------------------
    def _recur(self, state: jax.Array, px: jax.Array, start: jax.Array, noise: jax.Array):
        state = jnp.where(start[..., None], jnp.zeros_like(state), state)
        return self.core.recur(state, px, noise)

    def step(
        self, state: jax.Array, obs: Any, start: jax.Array, noise: jax.Array | None = None
    ) -> AgentOutput:
        """One time step for a batch: ``state (B..., state_size)``, ``obs`` leaves ``(B..., ...)``, ``start
        (B...)`` bool (reset the state first), ``noise (B..., noise_size)`` or ``None``."""
        start = jnp.asarray(start, bool)
        px = self.core.project(self.encoder(obs))
        state, hidden = self._recur(state, px, start, self._noise(noise, start.shape))
        return AgentOutput(state, hidden, self.policy(hidden), self.value(hidden))

    # -- sequences ------------------------------------------------------------------------------------------
    def unroll(
        self, state: jax.Array, obs: Any, starts: jax.Array, noise: jax.Array | None = None
    ) -> AgentOutput:
        """Run time-major sequences: ``state (B..., state_size)`` before the first step, ``obs`` leaves
        ``(T, B..., ...)``, ``starts (T, B...)`` bool, ``noise (T, B..., noise_size)`` or ``None``.

        Returns ``AgentOutput`` with ``state``/``hidden`` ``(T, B..., .)`` after each step, ``dist`` and
        ``value`` over ``(T, B...)``. The encoder and input projection run on all steps at once; only the
        recurrence is inside ``lax.scan``, with the reset at each ``starts[t]``.
        """
        starts = jnp.asarray(starts, bool)
        noise = self._noise(noise, starts.shape)
        px = self.core.project(self.encoder(obs))

        def body(carry, inputs):
            px_t, start_t, noise_t = inputs
            new, hidden = self._recur(carry, px_t, start_t, noise_t)
            return new, (new, hidden)

        _, (states, hidden) = jax.lax.scan(body, state, (px, starts, noise))
        return AgentOutput(states, hidden, self.policy(hidden), self.value(hidden))

    def log_likelihood(
        self,
        state: jax.Array,
        obs: Any,
        actions: jax.Array,
        starts: jax.Array,
        noise: jax.Array | None = None,
    ) -> jax.Array:
        """``log p(a_t | o_1..o_t)`` per step ``(T, B...)`` of given environment actions along given
        observation sequences (teacher forcing), the state reset at every ``starts[t]``.

        Box actions use the distribution's :meth:`BoundedGaussian.log_prob` (censored at the bounds for
        ``squash="clip"``). Mask steps that should not count (e.g. padding) before summing.
        """
        return self.unroll(state, obs, starts, noise).dist.log_prob(actions)


def make_agent(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    config: AgentConfig = AgentConfig(),
    *,
    dt: float | None = None,
    key: jax.Array,
) -> Agent:
    """Build an :class:`Agent` with weights drawn from ``key``. ``dt`` (s) sets the leaky RNN's step."""
    return Agent(observation_space, action_space, config, dt=dt, rngs=nnx.Rngs(params=key))
