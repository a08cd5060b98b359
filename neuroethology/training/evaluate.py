"""Rollouts of a trained agent written as a Recording, so analysis reads agents and animals alike.

:func:`evaluate_run` runs ``episodes`` complete episodes per trained run (one environment per episode, all in
parallel, each run to its first end) and returns one Recording (see :mod:`neuroethology.data`) in which

* each trained run (seed, sweep value) is an ``individual`` (``seed0``, ``seed1_learning_rate0.001``, ...);
* its episodes follow each other on the time axis (``time = step * dt``), numbered by ``episode (time,
  individual)``; ``segment`` equals ``episode`` (an episode is one contiguous stretch: analyses never
  difference across the teleport of a reset); individuals with fewer steps are padded with NaN positions
  and ``episode = segment = -1``;
* ``position`` and ``heading`` are the environment state's (the pose in which the action was taken);
  ``action (time, action_dim, individual)``, ``reward``, ``value`` (the critic's estimate) and
  ``hidden (time, unit, individual)``, the core's output units after reading that step's observation;
* every other scalar the environment's ``state_info`` reports becomes a ``(time, individual)`` variable
  (``speed``, ``patch``, ``wind_direction``, ``trial``, ``choice``, ``correct``, ...; booleans as int8), a
  vector becomes ``(time, <name>_dim, individual)``, and a point (``platform``, ``source``) the attributes
  ``<name>_x``/``<name>_y`` when it is the same everywhere (variables otherwise);
* attributes give the arena, task constants (``platform_radius``, ``pool_radius``, ``success_radius``,
  ``patch_radius``), ``env_id``, the environment parameters (JSON), the agent and the checkpoint.

Non-spatial tasks (PatchForaging and TMaze in their discrete modes) have no pose: their ``position`` is a
placeholder at ``(0, 0)`` with ``confidence`` 0 and the attribute ``spatial = 0``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..agents import rollout_agent
from ..config import config_to_dict
from .run import load_run

__all__ = ["evaluate_run", "action_names", "arena_of_params"]

_RESERVED = {
    "time",
    "position",
    "heading",
    "reward",
    "action",
    "hidden",
    "episode",
    "segment",
    "value",
    "confidence",
}
_POINTS = ("platform", "source")
_TASK_ATTRS = (
    "platform_radius",
    "pool_radius",
    "success_radius",
    "patch_radius",
    "n_patches",
    "task",
    "mode",
)


def action_names(env: Any, params: Any) -> list[str]:
    """Names of the action dimensions (the ``action_dim`` coordinate)."""
    from gymnasium import spaces

    space = env.action_space(params)
    if isinstance(space, spaces.Discrete):
        return ["action"]
    names = getattr(env, "action_names", None)
    if callable(names):
        return list(names(params))
    n = int(np.prod(space.shape))
    if env.name == "OdorPlume" and n == 2:
        return ["speed", "turn_rate"]
    if env.name in ("OpenField", "WaterMaze", "PatchForaging", "TMaze") and n == 2:
        return ["acceleration", "angular_velocity"]  # OpenField's kinematics
    return [f"a{i}" for i in range(n)]


def arena_of_params(env: Any, params: Any) -> dict[str, Any] | None:
    """The Recording arena of an environment's parameters (``None`` where it is not a box or a circle)."""
    if hasattr(params, "pool_radius"):
        return {"shape": "circle", "radius": float(params.pool_radius)}
    if env.name == "TMaze":
        return None  # a T-shaped corridor: neither a box nor a circle
    if getattr(params, "arena_shape", "box") == "circle" and hasattr(params, "radius"):
        return {"shape": "circle", "radius": float(params.radius)}
    if hasattr(params, "width") and hasattr(params, "height"):
        return {"shape": "box", "width": float(params.width), "height": float(params.height)}
    return None


def _params_json(params: Any) -> str:
    out = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        out[f.name] = value if isinstance(value, (bool, int, float, str)) else np.asarray(value).tolist()
    return json.dumps(out)


def _label_name(label: dict[str, Any]) -> str:
    parts = [f"seed{label['seed']}"] + [f"{k}{v:g}" for k, v in label.items() if k != "seed"]
    return "_".join(parts)


def evaluate_run(
    run_dir: str | Path,
    *,
    episodes: int,
    seed: int = 0,
    deterministic: bool = False,
    runs: Sequence[int] | None = None,
    step: int | None = None,
    log: Callable[[str], None] | None = None,
):
    """Roll out the trained agents of ``run_dir`` for ``episodes`` episodes each; returns a Recording.

    ``runs`` selects trained runs by index (default: all); ``step`` a checkpoint (default: the newest);
    ``deterministic`` takes each distribution's mode instead of sampling.
    """
    from .. import data

    if episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {episodes}")
    say = log or (lambda _m: None)
    loaded = load_run(run_dir, step)
    env, params, graphdef = loaded.ppo.env, loaded.ppo.env_params, loaded.ppo.graphdef
    num_runs = len(loaded.labels)
    runs = list(range(num_runs)) if runs is None else [int(r) for r in runs]
    bad = [r for r in runs if not 0 <= r < num_runs]
    if bad:
        raise ValueError(
            f"{run_dir}: run indices {bad} do not exist (the run has {num_runs} runs: 0..{num_runs - 1})"
        )
    max_steps = int(params.max_steps)
    dt = float(params.dt)
    state_info = jax.jit(jax.vmap(jax.vmap(env.state_info, in_axes=(0, None)), in_axes=(0, None)))

    per_run = []
    for r in runs:
        say(f"run {r} ({_label_name(loaded.labels[r])}): {episodes} episode(s) of up to {max_steps} steps")
        weights = jax.tree.map(lambda x, r=r: x[r], loaded.runner_state.weights)
        roll = rollout_agent(
            env,
            graphdef,
            weights,
            jax.random.fold_in(jax.random.key(seed), r),
            params,
            num_steps=max_steps,
            num_envs=episodes,
            deterministic=deterministic,
            record_obs=False,
        )
        info = jax.tree.map(np.asarray, state_info(roll.env_states, params))
        roll = jax.tree.map(np.asarray, roll._replace(env_states=None))
        ends = roll.terminated | roll.truncated  # (T, B)
        lengths = np.where(ends.any(axis=0), ends.argmax(axis=0) + 1, max_steps)

        def cat(x: np.ndarray, lengths=lengths) -> np.ndarray:
            return np.concatenate([x[: lengths[b], b] for b in range(episodes)], axis=0)

        per_run.append(
            {
                "lengths": lengths,
                "episode": np.concatenate([np.full(n, b) for b, n in enumerate(lengths)]),
                "action": cat(roll.actions.reshape(max_steps, episodes, -1).astype(np.float64)),
                "reward": cat(roll.rewards.astype(np.float64)),
                "value": cat(roll.values.astype(np.float64)),
                "hidden": cat(roll.hidden.astype(np.float64)),
                "info": {k: cat(np.asarray(v)) for k, v in info.items()},
            }
        )

    n_time = max(len(p["episode"]) for p in per_run)
    n_ind = len(per_run)

    def stack(get: Callable[[dict], np.ndarray], fill: float) -> np.ndarray:
        """``(time, ..., individual)`` with padding."""
        first = get(per_run[0])
        out = np.full((n_time, *first.shape[1:], n_ind), fill, dtype=np.result_type(first.dtype, type(fill)))
        for i, p in enumerate(per_run):
            x = get(p)
            out[: len(x), ..., i] = x
        return out

    spatial = "position" in per_run[0]["info"]
    episode = stack(lambda p: p["episode"], -1).astype(np.int64)
    valid = episode >= 0
    if spatial:
        position = stack(lambda p: p["info"]["position"].astype(np.float64), np.nan)  # (time, 2, individual)
        confidence = None
    else:
        position = np.where(valid[:, None, :], 0.0, np.nan)
        position = np.broadcast_to(position, (n_time, 2, n_ind)).copy()
        confidence = np.where(valid, 0.0, np.nan)[:, None, :]
    variables: dict[str, Any] = {
        "episode": (("time", "individual"), episode),
        "segment": (("time", "individual"), episode.copy()),
        "reward": (("time", "individual"), stack(lambda p: p["reward"], np.nan)),
        "value": (("time", "individual"), stack(lambda p: p["value"], np.nan)),
    }
    import xarray as xr

    names = action_names(env, params)
    variables["action"] = xr.DataArray(
        stack(lambda p: p["action"], np.nan),
        dims=("time", "action_dim", "individual"),
        coords={"action_dim": names},
    )
    hidden = stack(lambda p: p["hidden"], np.nan)
    variables["hidden"] = xr.DataArray(
        hidden, dims=("time", "unit", "individual"), coords={"unit": np.arange(hidden.shape[1])}
    )
    attrs: dict[str, Any] = {}
    for name, value in per_run[0]["info"].items():
        if name in ("position", "time"):
            continue
        if name == "heading":
            variables["heading"] = (
                ("time", "individual"),
                stack(lambda p: p["info"]["heading"].astype(np.float64), np.nan),
            )
            continue
        key = name if name not in _RESERVED else f"state_{name}"
        arr = stack(lambda p, name=name: _plain(p["info"][name]), _fill(value))
        if arr.ndim == 2:
            variables[key] = (("time", "individual"), arr)
        elif name in _POINTS and arr.shape[1] == 2:
            xs, ys = arr[:, 0][valid], arr[:, 1][valid]
            if xs.size and np.all(xs == xs[0]) and np.all(ys == ys[0]):
                attrs[f"{name}_x"], attrs[f"{name}_y"] = float(xs[0]), float(ys[0])
            else:
                variables[f"{name}_x"] = (("time", "individual"), arr[:, 0])
                variables[f"{name}_y"] = (("time", "individual"), arr[:, 1])
        elif arr.ndim == 3:
            variables[key] = ((("time", f"{key}_dim", "individual")), arr)
    for name in _TASK_ATTRS:
        if hasattr(params, name) and (spatial or name not in ("patch_radius", "n_patches")):
            value = getattr(params, name)
            attrs[name] = value if isinstance(value, str) else float(value)
    config = loaded.config
    attrs.update(
        {
            "env_id": env.env_id(),
            "env_params": _params_json(params),
            "agent": json.dumps(config_to_dict(config.agent)),
            "run_dir": str(Path(run_dir).resolve()),
            "checkpoint_update": int(loaded.updates),
            "deterministic": int(deterministic),
            "evaluation_seed": int(seed),
            "spatial": int(spatial),
        }
    )
    return data.from_arrays(
        position[:, :, None, :],
        time=np.arange(n_time) * dt,
        fps=1.0 / dt,
        confidence=confidence,
        individual_names=[_label_name(loaded.labels[r]) for r in runs],
        arena=arena_of_params(env, params) if spatial else None,
        source_software="neuroethology",
        variables=variables,
        attrs=attrs,
    )


def _plain(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == bool:
        return x.astype(np.int8)
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.int64)
    return x.astype(np.float64)


def _fill(value: np.ndarray) -> float | int:
    value = np.asarray(value)
    return -1 if (value.dtype == bool or np.issubdtype(value.dtype, np.integer)) else np.nan
