"""Agents (Flax NNX): observation encoders, recurrent cores and policy/value heads.

>>> from neuroethology import agents
>>> agent = agents.make_agent(obs_space, action_space, agents.AgentConfig(), dt=0.02, key=jax.random.key(0))
>>> graphdef, weights = nnx.split(agent)

Cores: GRU, LSTM, the leaky rate RNN of Song, Yang & Wang (2016) with private noise, and a feed-forward
ablation. Encoders: MLP (vectors, normalised from the space's bounds), CNN (egocentric images), both
combined (``Dict`` observations). Heads: categorical (``Discrete``) and bounded Gaussian (``Box``) policies,
value. See :mod:`neuroethology.agents.agent` for the step/unroll/likelihood API.
"""

from .agent import Agent, AgentConfig, AgentOutput, make_agent
from .cores import CORES, CoreConfig, FeedForwardCore, GRUCore, LeakyRNNCore, LSTMCore, make_core
from .encoders import (
    BoundsNormalizer,
    CNNEncoder,
    DictEncoder,
    EncoderConfig,
    MLPEncoder,
    PatchConv,
    make_encoder,
    symlog,
)
from .heads import SQUASHES, BoundedGaussian, BoundedGaussianMixture, Categorical, PolicyHead, ValueHead
from .policy import AgentPolicy, CoreInputs, recurrent_map, replay_states, with_core_inputs

__all__ = [
    "CORES",
    "SQUASHES",
    "Agent",
    "AgentConfig",
    "AgentOutput",
    "AgentPolicy",
    "BoundedGaussian",
    "BoundedGaussianMixture",
    "BoundsNormalizer",
    "CNNEncoder",
    "Categorical",
    "CoreConfig",
    "CoreInputs",
    "DictEncoder",
    "EncoderConfig",
    "FeedForwardCore",
    "GRUCore",
    "LSTMCore",
    "LeakyRNNCore",
    "MLPEncoder",
    "PatchConv",
    "PolicyHead",
    "ValueHead",
    "make_agent",
    "make_core",
    "make_encoder",
    "recurrent_map",
    "replay_states",
    "symlog",
    "with_core_inputs",
]
