"""Lab paradigms as pure-JAX functional environments (imported as ``neuroethology.envs``).

>>> import neuroethology.envs as ne
>>> env, params = ne.make("neuroethology/OpenField-v0", arena_shape="circle", radius=0.75)
>>> obs, state = env.reset(jax.random.key(0), params)
>>> obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)

Importing this package registers every environment with Gymnasium, so ``gymnasium.make`` and
``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")`` work with the same ids.
"""

from . import geometry, policies
from .core import EnvState, GymnasiumEnv, JaxVectorEnv, NeuroEnv, make, register, registered_envs
from .open_field import OpenField, OpenFieldParams, OpenFieldState
from .rollout import Rollout, rollout

__all__ = [
    "EnvState",
    "GymnasiumEnv",
    "JaxVectorEnv",
    "NeuroEnv",
    "OpenField",
    "OpenFieldParams",
    "OpenFieldState",
    "Rollout",
    "geometry",
    "make",
    "policies",
    "register",
    "registered_envs",
    "rollout",
]
