"""Lab paradigms as pure-JAX functional environments (imported as ``neuroethology.envs``).

>>> import neuroethology.envs as ne
>>> env, params = ne.make("neuroethology/OpenField-v0", arena_shape="circle", radius=0.75)
>>> env, params = ne.make("neuroethology/OpenField-v0", arena="plus_maze")  # any arena: envs.arena
>>> obs, state = env.reset(jax.random.key(0), params)
>>> obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)

Importing this package registers every environment with Gymnasium, so ``gymnasium.make`` and
``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")`` work with the same ids.
"""

from . import arena, body, geometry, policies
from .arena import arena_of, resolve_arena
from .core import (
    EnvState,
    GymnasiumEnv,
    JaxVectorEnv,
    NeuroEnv,
    env_of,
    make,
    register,
    registered_envs,
)
from .odor_plume import OdorPlume, OdorPlumeParams, OdorPlumeState
from .open_field import OpenField, OpenFieldParams, OpenFieldState
from .patch_foraging import (
    MVTOptimum,
    PatchForaging,
    PatchForagingParams,
    PatchForagingState,
    long_run_reward_rate,
    mvt_optimum,
)
from .rollout import Rollout, rollout, rollout_chunks
from .spatial_patch_foraging import (
    SpatialPatchForaging,
    SpatialPatchForagingParams,
    SpatialPatchForagingState,
)
from .spatial_t_maze import SpatialTMaze, SpatialTMazeParams, SpatialTMazeState
from .t_maze import TMaze, TMazeParams, TMazeState
from .water_maze import WaterMaze, WaterMazeParams, WaterMazeState

__all__ = [
    "EnvState",
    "arena",
    "arena_of",
    "body",
    "env_of",
    "GymnasiumEnv",
    "JaxVectorEnv",
    "NeuroEnv",
    "OdorPlume",
    "OdorPlumeParams",
    "OdorPlumeState",
    "OpenField",
    "OpenFieldParams",
    "OpenFieldState",
    "MVTOptimum",
    "PatchForaging",
    "PatchForagingParams",
    "PatchForagingState",
    "SpatialPatchForaging",
    "SpatialPatchForagingParams",
    "SpatialPatchForagingState",
    "long_run_reward_rate",
    "mvt_optimum",
    "Rollout",
    "geometry",
    "make",
    "policies",
    "register",
    "registered_envs",
    "resolve_arena",
    "rollout",
    "rollout_chunks",
    "SpatialTMaze",
    "SpatialTMazeParams",
    "SpatialTMazeState",
    "TMaze",
    "TMazeParams",
    "TMazeState",
    "WaterMaze",
    "WaterMazeParams",
    "WaterMazeState",
]
