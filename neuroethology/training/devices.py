"""A training run's runs (seeds x sweep values) and devices: one key and hyperparameter set per run, the
``("run", "env")`` mesh, and the shardings of the batched state over it."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from .config import HYPERPARAMS, TrainConfig
from .ppo import ENV_AXIS_FIELDS, Hyperparams, RunnerState

__all__ = ["run_keys", "run_hyperparams", "make_mesh", "state_shardings", "to_host"]


def run_keys(config: TrainConfig) -> jax.Array:
    """One typed key per run: ``jax.random.key(seed)`` for each run's seed (so run ``i`` of a vmapped
    training is reproduced alone by ``seed=seed + i, num_seeds=1``)."""
    return jnp.stack([jax.random.key(label["seed"]) for label in config.run_labels()])


def run_hyperparams(config: TrainConfig) -> Hyperparams:
    """:class:`Hyperparams` with a leading run axis, the swept parameter set per run."""
    base = Hyperparams.from_config(config.ppo)
    labels = config.run_labels()
    values = {}
    for name in HYPERPARAMS:
        if name == config.sweep.param:
            values[name] = jnp.asarray([label[name] for label in labels], jnp.float32)
        else:
            values[name] = jnp.full((len(labels),), getattr(base, name), jnp.float32)
    return Hyperparams(**values)


def make_mesh(num_runs: int, num_envs: int, devices: int = 1) -> jax.sharding.Mesh:
    """A ``("run", "env")`` mesh over ``devices`` devices (0 = all): the run axis takes
    ``gcd(num_runs, devices)`` devices, the environment axis the rest (it must divide ``num_envs``)."""
    available = jax.devices()
    count = len(available) if devices == 0 else devices
    if count > len(available):
        raise ValueError(f"run.devices={devices} but JAX sees only {len(available)} device(s): {available}")
    run_axis = math.gcd(num_runs, count)
    env_axis = count // run_axis
    if num_envs % env_axis:
        raise ValueError(
            f"cannot shard {num_envs} environments over {env_axis} devices (run.devices={count}, "
            f"{num_runs} run(s) take {run_axis}); make ppo.num_envs a multiple of {env_axis}"
        )
    grid = np.asarray(available[:count]).reshape(run_axis, env_axis)
    auto = jax.sharding.AxisType.Auto
    return jax.sharding.Mesh(grid, ("run", "env"), axis_types=(auto, auto))


def state_shardings(mesh: jax.sharding.Mesh, abstract: RunnerState) -> RunnerState:
    """Per leaf: runs over ``run``; for the environment fields also environments over ``env``."""
    fields = {}
    for name in RunnerState._fields:
        spec = P("run", "env") if name in ENV_AXIS_FIELDS else P("run")
        fields[name] = jax.tree.map(lambda _, s=spec: NamedSharding(mesh, s), getattr(abstract, name))
    return RunnerState(**fields)


def to_host(tree: Any) -> Any:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        tree = multihost_utils.process_allgather(tree, tiled=True)
    return jax.tree.map(np.asarray, tree)
