"""The run loop: jitted chunks of PPO updates driven from Python, with progress, metrics, checkpoints and
resume, over one or many devices.

A run directory holds::

    RUN/config.yaml       the resolved config (every default and environment parameter written out)
    RUN/manifest.json     package version, git commit, JAX devices and mesh, seeds, wall time, status
    RUN/metrics.jsonl     one line per update and run: env_steps, return_mean, losses, ...
    RUN/checkpoints/N/    Orbax checkpoints after N updates (the newest ``run.keep_checkpoints`` are kept)

Checkpoints are written by Orbax into a temporary directory that is renamed when complete, so a crash
while saving never leaves a broken newest checkpoint: the previous one stays the newest. ``resume=True``
restores the newest checkpoint, drops metric lines written after it, and continues with the same compiled
update, so an interrupted run ends with exactly the parameters of an uninterrupted one. When the loss or the
weights become non-finite the loop stops after that chunk with a message, and the newest (finite)
checkpoint is kept.

Devices: runs (seeds x sweep values) are split over the mesh axis ``run`` and each run's environments over
the axis ``env`` (``jax.sharding.Mesh``, automatic sharding propagation; the gradient of a minibatch whose
sequences sit on several devices is all-reduced by XLA). Across hosts, call ``jax.distributed.initialize()``
first on every host (see the README section "Training on many devices").
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ..config import config_from_dict, config_to_dict, dump_config, read_yaml
from ..runs import MANIFEST_FILE, environment_manifest, manifest_kind, now, write_json, write_text_atomic
from .config import HYPERPARAMS, PriorConfig, TrainConfig, full_env_params
from .ppo import ENV_AXIS_FIELDS, PPO, Hyperparams, RunnerState, check_prior, make_ppo
from .ppo_rollout import AnimalPrior

__all__ = ["RunResult", "LoadedRun", "train_run", "load_run", "make_mesh", "run_hyperparams", "run_keys"]

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"


class RunResult(NamedTuple):
    status: str  # "completed", "paused" (max_chunks reached), "nonfinite"
    message: str
    run_dir: Path
    updates: int  # updates in the returned state (the newest checkpoint's for "nonfinite")
    runner_state: RunnerState | None  # batched over runs; the last finite state
    labels: list[dict[str, Any]]


class LoadedRun(NamedTuple):
    config: TrainConfig
    ppo: PPO
    runner_state: RunnerState  # batched over runs (leading axis)
    labels: list[dict[str, Any]]
    updates: int


# ---------------------------------------------------------------------------------------------------------
# Runs, keys, devices
# ---------------------------------------------------------------------------------------------------------


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


def _to_host(tree: Any) -> Any:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        tree = multihost_utils.process_allgather(tree, tiled=True)
    return jax.tree.map(np.asarray, tree)


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


def resolved_config(config: TrainConfig) -> TrainConfig:
    """``config`` with every environment parameter written out (what ``config.yaml`` stores)."""
    return dataclasses.replace(
        config, env=dataclasses.replace(config.env, params=full_env_params(config.env))
    )


def _config_differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _config_differences(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else key)
        return out
    return [] if a == b else [f"{prefix}: {a!r} in the run, {b!r} now"]


def _refuse_fitted(run_dir: Path) -> None:
    if manifest_kind(run_dir) == "fitted" or (run_dir / "model.json").exists():
        raise ValueError(
            f"{run_dir} is a fitted run (neuroethology fit), not a PPO training run: `neuroethology evaluate` "
            "and `simulate` accept it; train into another --out"
        )


def load_run_config(run_dir: str | Path) -> TrainConfig:
    _refuse_fitted(Path(run_dir))
    path = Path(run_dir) / CONFIG_FILE
    return config_from_dict(TrainConfig, read_yaml(path), source=str(path))


def _clean(value: Any) -> Any:
    """JSON-safe scalar: non-finite floats become null."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _metric_lines(metrics: dict, first_update: int, steps_per_update: int, labels: list[dict], wall: float):
    """One JSON line per (update, run) for a chunk of metrics shaped ``(runs, updates)``."""
    episodes = metrics["episodes"]
    lines = []
    for u in range(episodes.shape[1]):
        for r, label in enumerate(labels):
            n = int(episodes[r, u])
            row = {
                "update": first_update + u + 1,
                "env_steps": (first_update + u + 1) * steps_per_update,
                "run": r,
                **label,
                "return_mean": _clean(metrics["return_sum"][r, u] / n) if n else None,
                "episode_length_mean": _clean(metrics["length_sum"][r, u] / n) if n else None,
            }
            for name, values in metrics.items():
                if name not in ("return_sum", "length_sum"):
                    row[name] = _clean(values[r, u])
            row["wall_time_s"] = round(wall, 3)
            lines.append(json.dumps(row))
    return lines


def _truncate_metrics(path: Path, updates: int) -> None:
    if not path.exists():
        return
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    keep = []
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
        except ValueError:
            if i == len(lines) - 1:  # the last line torn by a crash while it was written: drop it
                break
            raise ValueError(
                f"{path}: line {i + 1} is not valid JSON (the metrics file was edited or corrupted); "
                "restore it or remove that line, then --resume"
            ) from None
        if row.get("update", 0) <= updates:
            keep.append(line)
    write_text_atomic(path, "".join(line + "\n" for line in keep))


def _checkpoint_manager(run_dir: Path, keep: int):
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False, create=True)
    return ocp.CheckpointManager((run_dir / CHECKPOINT_DIR).absolute(), options=options)


def _leaf_names(tree: Any) -> list[str]:
    """A readable, unique, file-system-safe name per leaf (``0007_weights.core.w_h.value``)."""
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    names = []
    for i, (path, _) in enumerate(paths):
        text = re.sub(r"[^A-Za-z0-9_]+", ".", jax.tree_util.keystr(path)).strip(".")
        names.append(f"{i:04d}_{text}")
    return names


def _save(manager, updates: int, state: Any, meta: dict) -> None:
    """Save a pytree as a flat dict of its non-empty leaves (Orbax refuses zero-size arrays, which states
    hold legitimately: a feed-forward core's ``(B, 0)`` state, an environment's unused buffers)."""
    import orbax.checkpoint as ocp

    leaves = jax.tree.leaves(state)
    flat = {name: leaf for name, leaf in zip(_leaf_names(state), leaves, strict=True) if leaf.size}
    manager.save(
        updates,
        args=ocp.args.Composite(state=ocp.args.StandardSave(flat), meta=ocp.args.JsonSave(meta)),
        force=True,
    )
    manager.wait_until_finished()


def _restore(manager, step: int, abstract: Any) -> tuple[Any, dict]:
    """Restore what :func:`_save` wrote into the structure of ``abstract`` (``ShapeDtypeStruct`` leaves with
    shardings); empty leaves are rebuilt as zeros."""
    import orbax.checkpoint as ocp

    names = _leaf_names(abstract)
    leaves, treedef = jax.tree.flatten(abstract)
    target = {name: leaf for name, leaf in zip(names, leaves, strict=True) if np.prod(leaf.shape, dtype=int)}
    restored = manager.restore(
        step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore())
    )
    flat = restored["state"]
    out = []
    for name, leaf in zip(names, leaves, strict=True):
        if name in target:
            out.append(flat[name])
        else:
            out.append(jax.device_put(np.zeros(leaf.shape, leaf.dtype), leaf.sharding))
    return jax.tree.unflatten(treedef, out), restored["meta"]


# ---------------------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------------------


# Compiled functions are kept per configuration, so that repeated runs in one process (a resume, a notebook,
# a test suite) do not compile again. The seeds, the sweep and the run section do not change the PPO
# functions; the number of runs and the mesh change the compiled chunk. An animal prior is told apart by its
# identity (the cached PPO holds it, so the identity is not reused while the entry lives).
_PPO_CACHE: dict[tuple[str, int], PPO] = {}
_CHUNK_CACHE: dict[tuple, Callable] = {}
_CACHE_SIZE = 8


def _cached(cache: dict, key: Any, build: Callable[[], Any]) -> Any:
    """``cache[key]``, built on first use; the oldest entry goes when the cache holds ``_CACHE_SIZE``."""
    if key not in cache:
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


def _ppo_key(config: TrainConfig) -> str:
    data = config_to_dict(config)
    for name in ("seed", "num_seeds", "sweep", "run"):
        data.pop(name)
    return json.dumps(data, sort_keys=True, default=str)


def cached_ppo(config: TrainConfig, prior: AnimalPrior | None = None) -> PPO:
    """:func:`make_ppo` for ``config`` (and ``prior``), reused for equal configurations (seeds, sweep and
    run aside) and the same prior object."""
    key = (_ppo_key(config), id(prior) if prior is not None else 0)
    return _cached(_PPO_CACHE, key, lambda: make_ppo(config, prior))


def _compiled(ppo: PPO, shardings: RunnerState, num_updates_in_chunk: int) -> Callable:
    def chunk(rs: RunnerState):
        return jax.vmap(
            lambda s: jax.lax.scan(lambda c, _: ppo.update(c), s, None, length=num_updates_in_chunk)
        )(rs)

    return jax.jit(chunk, in_shardings=(shardings,), out_shardings=(shardings, None))


def _compiled_init(config: TrainConfig, ppo: PPO, shardings: RunnerState) -> Callable:
    mesh = jax.tree.leaves(shardings)[0].mesh
    key = (
        "init",
        _ppo_key(config),
        id(ppo),
        config.num_runs,
        tuple(d.id for d in mesh.devices.reshape(-1)),
        tuple(mesh.shape.items()),
    )
    return _cached(_CHUNK_CACHE, key, lambda: jax.jit(jax.vmap(ppo.init), out_shardings=shardings))


def _compiled_chunk(
    config: TrainConfig, ppo: PPO, shardings: RunnerState, state: RunnerState, n: int
) -> Callable:
    """The chunk of ``n`` updates compiled ahead of time (so steps/s measure the training alone)."""
    mesh = jax.tree.leaves(shardings)[0].mesh
    key = (
        _ppo_key(config),
        id(ppo),
        config.num_runs,
        n,
        tuple(d.id for d in mesh.devices.reshape(-1)),
        tuple(mesh.shape.items()),
    )
    return _cached(_CHUNK_CACHE, key, lambda: _compiled(ppo, shardings, n).lower(state).compile())


def _start_manifest(
    manifest: dict, config: TrainConfig, ppo: PPO, mesh: jax.sharding.Mesh, labels: list
) -> dict:
    """Bring ``manifest`` (empty, or a resumed run's) up to date for a new invocation; returns its entry."""
    invocation = {"started": now(), "status": "running"}
    current = environment_manifest(
        kind="ppo",
        devices=[str(d) for d in mesh.devices.reshape(-1)],  # the devices this run is sharded over
        mesh=dict(mesh.shape),
        seeds=sorted({label["seed"] for label in labels}),
        runs=labels,
        env_id=config.env.id,
        num_updates=ppo.num_updates,
        env_steps_per_update=ppo.steps_per_update,
        status="running",
    )
    created = current.pop("created")  # a resumed run keeps the time it was first created
    manifest.update(current)
    manifest.setdefault("created", created)
    manifest.setdefault("invocations", []).append(invocation)
    return invocation


def _prepare_run_dir(config: TrainConfig | None, run_dir: Path, prior: Any, resume: bool) -> TrainConfig:
    """The resolved config of a new run (written to ``run_dir`` once everything that can refuse it has
    run) or of the run to resume (compared with ``config`` if given)."""
    saved_path = run_dir / CONFIG_FILE
    _refuse_fitted(run_dir)
    if resume:
        if not saved_path.exists():
            raise FileNotFoundError(f"cannot resume: {run_dir} holds no run ({CONFIG_FILE} is missing)")
        saved = load_run_config(run_dir)
        if config is not None:
            diff = _config_differences(config_to_dict(saved), config_to_dict(resolved_config(config)))
            if diff:
                raise ValueError(f"cannot resume {run_dir} with a different config: " + "; ".join(diff))
        config = saved
        check_prior(config, prior)
    else:
        if config is None:
            raise ValueError("train_run: a config is needed unless resume=True")
        check_prior(config, prior)
        if saved_path.exists() or (run_dir / CHECKPOINT_DIR).exists():
            raise FileExistsError(
                f"{run_dir} already holds a run; resume it (--resume) or choose another --out"
            )
        config = resolved_config(config)
        # Everything that can refuse the config runs before the run directory is written, so a corrected
        # rerun into the same --out is not refused.
        make_mesh(config.num_runs, config.ppo.num_envs, config.run.devices)
        if jax.process_index() == 0:  # on many hosts, the first writes the files
            run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(config, saved_path)

    return config


def train_run(  # noqa: C901 (the run loop: to split into stages, issue 16)
    config: TrainConfig | None,
    run_dir: str | Path,
    *,
    prior: AnimalPrior | None = None,
    resume: bool = False,
    progress: bool = True,
    max_chunks: int | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Train ``config`` into ``run_dir`` (see the module docstring); returns a :class:`RunResult`.

    ``resume=True`` continues the run in ``run_dir`` from its newest checkpoint (``config`` may be ``None``:
    the run's own ``config.yaml`` is used; if given it must equal it). ``max_chunks`` stops after that many
    chunks in this call with a checkpoint (status ``"paused"``), for time-limited jobs; resume continues.
    A ``KeyboardInterrupt`` leaves the newest checkpoint in place and is re-raised. ``prior``: the animal
    prior, needed exactly when ``config.prior.weight > 0`` (:func:`neuroethology.priors.load_animal_prior`).
    """
    run_dir = Path(run_dir)
    config = _prepare_run_dir(config, run_dir, prior, resume)
    ppo = cached_ppo(config, prior)
    labels = config.run_labels()
    mesh = make_mesh(config.num_runs, config.ppo.num_envs, config.run.devices)
    keys, hparams = run_keys(config), run_hyperparams(config)
    abstract = jax.eval_shape(jax.vmap(ppo.init), keys, hparams)
    shardings = state_shardings(mesh, abstract)
    manager = _checkpoint_manager(run_dir, config.run.keep_checkpoints)

    manifest_path = run_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if (resume and manifest_path.exists()) else {}
    start_wall = time.perf_counter()
    previous_wall = float(manifest.get("wall_time_s", 0.0))
    invocation = _start_manifest(manifest, config, ppo, mesh, labels)

    def write_manifest(status: str, message: str, updates: int) -> None:
        invocation.update(status=status, ended=now())
        manifest.update(
            status=status,
            message=message,
            updates_done=updates,
            env_steps_done=updates * ppo.steps_per_update,
            wall_time_s=round(previous_wall + time.perf_counter() - start_wall, 3),
            updated=now(),
        )
        if jax.process_index() == 0:
            write_json(manifest_path, manifest)

    # Initial or restored state.
    latest = manager.latest_step() if resume else None
    if latest is None:
        if resume:
            log(f"{run_dir}: no checkpoint yet; starting from the beginning")
        state = _compiled_init(config, ppo, shardings)(keys, hparams)
        done = 0
        if jax.process_index() == 0:
            _truncate_metrics(run_dir / METRICS_FILE, 0)
    else:
        target = jax.tree.map(
            lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract, shardings
        )
        state, meta = _restore(manager, latest, target)
        done = int(meta["updates"])
        if jax.process_index() == 0:
            _truncate_metrics(run_dir / METRICS_FILE, done)
        invocation["resumed_from_update"] = done
        log(f"{run_dir}: resuming after update {done} of {ppo.num_updates}")
    write_manifest("running", "", done)

    from tqdm.auto import tqdm

    chunk_size = config.run.chunk_updates
    bar = tqdm(
        total=ppo.num_updates * ppo.steps_per_update,
        initial=done * ppo.steps_per_update,
        unit="step",
        unit_scale=True,
        disable=not progress,
        dynamic_ncols=True,
        desc=Path(run_dir).name or "train",
    )
    chunks_run = 0
    status, message = "completed", ""
    last_saved = latest if latest is not None else -1
    metrics_file = run_dir / METRICS_FILE
    try:
        while done < ppo.num_updates:
            n = min(chunk_size, ppo.num_updates - done)
            chunk = _compiled_chunk(config, ppo, shardings, state, n)
            t0 = time.perf_counter()
            new_state, metrics = chunk(state)
            metrics = _to_host(metrics)
            elapsed = time.perf_counter() - t0
            finite = metrics["finite"].astype(bool)
            if jax.process_index() == 0:
                with metrics_file.open("a") as fh:
                    wall = previous_wall + time.perf_counter() - start_wall
                    fh.writelines(
                        line + "\n"
                        for line in _metric_lines(metrics, done, ppo.steps_per_update, labels, wall)
                    )
            if not finite.all():
                bad_update = done + 1 + int(np.argmax(~finite.all(axis=0)))
                bad_runs = [r for r in range(finite.shape[0]) if not finite[r].all()]
                kept = (
                    f"update {last_saved}" if last_saved >= 0 else "none: no checkpoint had been written yet"
                )
                status = "nonfinite"
                message = (
                    "training stopped: the loss or the weights became non-finite (NaN/inf) at update "
                    f"{bad_update} (run(s) {bad_runs}). The last good checkpoint is kept ({kept}) in "
                    f"{run_dir / CHECKPOINT_DIR}. Try a lower ppo.learning_rate or ppo.max_grad_norm, "
                    "or check the environment's rewards and observations."
                )
                break
            state = new_state
            done += n
            chunks_run += 1
            bar.update(n * ppo.steps_per_update)
            returns = metrics["return_sum"].sum(axis=1) / np.maximum(metrics["episodes"].sum(axis=1), 1)
            has = metrics["episodes"].sum(axis=1) > 0
            postfix = {"sps": f"{config.num_runs * n * ppo.steps_per_update / elapsed:,.0f}"}
            if has.any():
                postfix["return"] = f"{returns[has].mean():.4g}"
            bar.set_postfix(postfix, refresh=False)
            paused = max_chunks is not None and chunks_run >= max_chunks and done < ppo.num_updates
            if chunks_run % config.run.checkpoint_every == 0 or done == ppo.num_updates or paused:
                _save(manager, done, state, {"updates": done, "env_steps": done * ppo.steps_per_update})
                last_saved = done
            if paused:
                status = "paused"
                message = f"paused after update {done} of {ppo.num_updates}; resume with --resume"
                break
    except KeyboardInterrupt:
        bar.close()
        write_manifest(
            "interrupted", f"interrupted; resume from the checkpoint at update {last_saved}", last_saved
        )
        manager.close()
        raise
    bar.close()
    manager.close()
    if status == "completed":
        message = f"trained {done} updates ({done * ppo.steps_per_update:,} env steps per run) into {run_dir}"
    write_manifest(status, message, done if status != "nonfinite" else max(last_saved, 0))
    return RunResult(status, message, run_dir, done, state, labels)


def load_run(run_dir: str | Path, step: int | None = None, *, prior: AnimalPrior | None = None) -> LoadedRun:
    """The config, PPO functions and runner state (newest checkpoint, or ``step``) of a run directory.

    The state's leaves have a leading run axis (``labels[i]`` describes run ``i``); the agent of run ``i``
    is ``nnx.merge(loaded.ppo.graphdef, jax.tree.map(lambda x: x[i], loaded.runner_state.weights))``.
    A run trained with an animal prior loads without one (the agent and its state do not depend on it);
    ``loaded.ppo.update`` then leaves the prior's reward out unless ``prior`` is given.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory ({CONFIG_FILE} is missing)")
    config = load_run_config(run_dir)
    manager = _checkpoint_manager(run_dir, config.run.keep_checkpoints)
    steps = manager.all_steps()
    if not steps:
        manager.close()
        raise FileNotFoundError(f"{run_dir / CHECKPOINT_DIR} holds no checkpoint yet")
    if step is None:
        step = max(steps)
    elif step not in steps:
        manager.close()
        raise ValueError(f"{run_dir}: no checkpoint at update {step}; available: {sorted(steps)}")
    if prior is None and config.prior.weight > 0:
        ppo = cached_ppo(dataclasses.replace(config, prior=PriorConfig()))
    else:
        ppo = cached_ppo(config, prior)
    abstract = jax.eval_shape(jax.vmap(ppo.init), run_keys(config), run_hyperparams(config))
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    target = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=device), abstract)
    state, meta = _restore(manager, step, target)
    manager.close()
    return LoadedRun(config, ppo, state, config.run_labels(), int(meta["updates"]))
