"""The run loop: jitted chunks of PPO updates driven from Python, with progress, metrics, checkpoints and
resume, over one or many devices.

A run directory is the package's one run format (:mod:`neuroethology.runs`): ``config.yaml`` (resolved),
``manifest.json``, ``metrics.jsonl`` (one line per update and run), ``checkpoints/N/`` (the newest
``run.keep_checkpoints``) and ``.lock``, held by the one process training it.

Checkpoints are written by Orbax into a temporary directory that is renamed when complete, so a crash while
saving never leaves a broken newest checkpoint; one damaged afterwards is skipped for the one before
(:func:`neuroethology.runs.restore_newest`). ``resume=True`` restores the newest readable checkpoint, drops
metric lines written after it, and continues with the same compiled update, so an interrupted run (``kill -9``
included) ends with exactly the parameters of an uninterrupted one. When the loss or the weights become
non-finite, or the run diverges with finite numbers (:mod:`.divergence`), the loop stops after that chunk
with a message, and the newest good checkpoint is kept.

Devices: runs (seeds x sweep values) are split over the mesh axis ``run`` and each run's environments over
the axis ``env`` (``jax.sharding.Mesh``, automatic sharding propagation; the gradient of a minibatch whose
sequences sit on several devices is all-reduced by XLA). Across hosts, call ``jax.distributed.initialize()``
first on every host (see the README section "Training on many devices").
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from ..config import config_from_dict, config_to_dict, dump_config, read_yaml
from ..runs import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    checkpoint_manager,
    environment_manifest,
    manifest_kind,
    now,
    restore_checkpoint,
    restore_newest,
    run_lock,
    save_checkpoint,
    truncate_metrics,
    write_json,
)
from .config import PriorConfig, TrainConfig, full_env_params, resolve_env_params
from .devices import make_mesh, run_hyperparams, run_keys, state_shardings, to_host
from .divergence import DIVERGENCE_LIMITS, Divergence, find_divergence
from .metrics_file import append_metrics
from .ppo import PPO, Hyperparams, RunnerState, check_prior, make_ppo
from .ppo_rollout import AnimalPrior

__all__ = ["RunResult", "LoadedRun", "train_run", "load_run", "make_mesh", "run_hyperparams", "run_keys"]


class RunResult(NamedTuple):
    status: (
        str  # "completed", "paused" (max_chunks reached), "nonfinite", "diverged" (training/divergence.py)
    )
    message: str
    run_dir: Path
    updates: int  # updates in the returned state (the newest checkpoint's for "nonfinite" and "diverged")
    runner_state: RunnerState | None  # batched over runs; the last finite state
    labels: list[dict[str, Any]]


class LoadedRun(NamedTuple):
    config: TrainConfig
    ppo: PPO
    runner_state: RunnerState  # batched over runs (leading axis)
    labels: list[dict[str, Any]]
    updates: int


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


def resolved_config(config: TrainConfig) -> TrainConfig:
    """``config`` with the id of the environment it builds and every one of its parameters written out
    (what ``config.yaml`` stores): ``{id: TMaze-v0, params: {mode: spatial}}`` of a config written before
    the T-maze's two tasks were two environments becomes ``{id: SpatialTMaze-v0, params: {...}}``."""
    env, _ = resolve_env_params(config.env)
    return dataclasses.replace(
        config, env=dataclasses.replace(config.env, id=env.env_id(), params=full_env_params(config.env))
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
            was, now_ = config_to_dict(resolved_config(saved)), config_to_dict(resolved_config(config))
            for name in DIVERGENCE_LIMITS:  # the limits may change on resume (a run stopped as diverged)
                was["run"].pop(name), now_["run"].pop(name)
            diff = _config_differences(was, now_)
            if diff:
                raise ValueError(f"cannot resume {run_dir} with a different config: " + "; ".join(diff))
            limits = {name: getattr(config.run, name) for name in DIVERGENCE_LIMITS}
            if any(getattr(saved.run, n) != v for n, v in limits.items()):
                saved = dataclasses.replace(saved, run=dataclasses.replace(saved.run, **limits))
                if jax.process_index() == 0:
                    dump_config(saved, saved_path)
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


class _Setup(NamedTuple):
    """What one invocation of :func:`train_run` trains: the config, its PPO functions, the runs and how
    their state lies on the devices."""

    config: TrainConfig
    ppo: PPO
    labels: list[dict[str, Any]]
    mesh: jax.sharding.Mesh
    keys: jax.Array  # one key per run
    hparams: Hyperparams  # leading run axis
    abstract: RunnerState  # shapes and dtypes of the batched state
    shardings: RunnerState


def _setup(config: TrainConfig, prior: AnimalPrior | None) -> _Setup:
    ppo = cached_ppo(config, prior)
    mesh = make_mesh(config.num_runs, config.ppo.num_envs, config.run.devices)
    keys, hparams = run_keys(config), run_hyperparams(config)
    abstract = jax.eval_shape(jax.vmap(ppo.init), keys, hparams)
    shardings = state_shardings(mesh, abstract)
    return _Setup(config, ppo, config.run_labels(), mesh, keys, hparams, abstract, shardings)


@dataclasses.dataclass
class _Manifest:
    """``manifest.json`` of a run, kept up to date by one invocation (a resumed run keeps its history)."""

    path: Path
    data: dict
    invocation: dict  # this invocation's entry in data["invocations"]
    steps_per_update: int
    previous_wall: float  # training seconds of the earlier invocations
    start_wall: float  # time.perf_counter() when this invocation started

    @classmethod
    def open(cls, run_dir: Path, setup: _Setup, resume: bool) -> _Manifest:
        path = run_dir / MANIFEST_FILE
        data = json.loads(path.read_text()) if (resume and path.exists()) else {}
        for earlier in data.get("invocations", []):
            if earlier.get("status") == "running":  # its process was killed: this one holds the lock now
                earlier["status"] = "interrupted"
        start_wall = time.perf_counter()
        previous_wall = float(data.get("wall_time_s", 0.0))
        invocation = _start_manifest(data, setup.config, setup.ppo, setup.mesh, setup.labels)
        return cls(path, data, invocation, setup.ppo.steps_per_update, previous_wall, start_wall)

    def wall_time(self) -> float:
        """Seconds of training over every invocation so far."""
        return self.previous_wall + time.perf_counter() - self.start_wall

    def write(self, status: str, message: str, updates: int) -> None:
        self.invocation.update(status=status, ended=now())
        self.data.update(
            status=status,
            message=message,
            updates_done=updates,
            env_steps_done=updates * self.steps_per_update,
            wall_time_s=round(self.wall_time(), 3),
            updated=now(),
        )
        if jax.process_index() == 0:
            write_json(self.path, self.data)


@dataclasses.dataclass
class _LoopState:
    """Where the chunk loop stands; :func:`train_run` reads it also after an interruption."""

    state: RunnerState  # the newest finite state
    done: int  # updates in ``state``
    last_saved: int  # updates in the newest checkpoint, -1 before the first
    chunks_run: int = 0  # chunks run in this invocation
    entropy: np.ndarray | None = None  # each run's policy entropy at update ``done`` (divergence checks)


def _start_state(
    setup: _Setup, run_dir: Path, manager, manifest: _Manifest, resume: bool, log: Callable[[str], None]
) -> _LoopState:
    """A new run's initial state, or a resumed run's newest checkpoint (metric lines written after it are
    dropped)."""
    target = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), setup.abstract, setup.shardings
    )
    newest = restore_newest(manager, target, log, primary=jax.process_index() == 0) if resume else None
    latest = None if newest is None else newest[0]
    if newest is None:
        if resume:
            log(f"{run_dir}: no checkpoint yet; starting from the beginning")
        state = _compiled_init(setup.config, setup.ppo, setup.shardings)(setup.keys, setup.hparams)
        done = 0
        if jax.process_index() == 0:
            truncate_metrics(run_dir / METRICS_FILE, 0)
    else:
        _, state, meta = newest
        done = int(meta["updates"])
        if jax.process_index() == 0:
            truncate_metrics(run_dir / METRICS_FILE, done)
        manifest.invocation["resumed_from_update"] = done
        log(f"{run_dir}: resuming after update {done} of {setup.ppo.num_updates}")
    entropy = None if newest is None or "entropy" not in meta else np.asarray(meta["entropy"], np.float32)
    return _LoopState(state, done, latest if latest is not None else -1, entropy=entropy)


def _progress_bar(ppo: PPO, done: int, run_dir: Path, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=ppo.num_updates * ppo.steps_per_update,
        initial=done * ppo.steps_per_update,
        unit="step",
        unit_scale=True,
        disable=not enabled,
        dynamic_ncols=True,
        desc=Path(run_dir).name or "train",
    )


def _progress_postfix(metrics: dict, steps_per_second: float) -> dict[str, str]:
    """The progress bar's steps/s and, when episodes ended in the chunk, mean return over runs."""
    returns = metrics["return_sum"].sum(axis=1) / np.maximum(metrics["episodes"].sum(axis=1), 1)
    has = metrics["episodes"].sum(axis=1) > 0
    postfix = {"sps": f"{steps_per_second:,.0f}"}
    if has.any():
        postfix["return"] = f"{returns[has].mean():.4g}"
    return postfix


def _nonfinite_message(finite: np.ndarray, done: int, last_saved: int, run_dir: Path) -> str:
    """Why training stopped, for a chunk starting after update ``done`` whose ``finite`` (runs, updates)
    flags are not all true."""
    bad_update = done + 1 + int(np.argmax(~finite.all(axis=0)))
    bad_runs = [r for r in range(finite.shape[0]) if not finite[r].all()]
    kept = f"update {last_saved}" if last_saved >= 0 else "none: no checkpoint had been written yet"
    return (
        "training stopped: the loss or the weights became non-finite (NaN/inf) at update "
        f"{bad_update} (run(s) {bad_runs}). The last good checkpoint is kept ({kept}) in "
        f"{run_dir / CHECKPOINT_DIR}. Try a lower ppo.learning_rate or ppo.max_grad_norm, "
        "or check the environment's rewards and observations."
    )


def _diverged_message(found: Divergence, last_saved: int, run_dir: Path) -> str:
    kept = f"update {last_saved}" if last_saved >= 0 else "none: no checkpoint had been written yet"
    return (
        f"training stopped: the run diverged at update {found.update} (run {found.run}): {found.what}. The last "
        f"good checkpoint is kept ({kept}) in {run_dir / CHECKPOINT_DIR}. Try a lower ppo.learning_rate or "
        "ppo.max_grad_norm; if this is expected, resume with a higher limit: neuroethology train CONFIG "
        "run.max_...=VALUE --resume --out RUN (training/divergence.py)."
    )


def _run_chunks(
    setup: _Setup, run_dir: Path, manager, manifest: _Manifest, loop: _LoopState, bar, max_chunks: int | None
) -> tuple[str, str]:
    """Run chunks of updates from ``loop`` (updated as they finish), writing metrics and checkpoints, until
    the run is complete, paused (``max_chunks``) or non-finite; returns ``(status, message)``."""
    config, ppo = setup.config, setup.ppo
    metrics_file = run_dir / METRICS_FILE
    while loop.done < ppo.num_updates:
        n = min(config.run.chunk_updates, ppo.num_updates - loop.done)
        chunk = _compiled_chunk(config, ppo, setup.shardings, loop.state, n)
        t0 = time.perf_counter()
        new_state, metrics = chunk(loop.state)
        metrics = to_host(metrics)
        elapsed = time.perf_counter() - t0
        finite = metrics["finite"].astype(bool)
        if jax.process_index() == 0:
            append_metrics(
                metrics_file, metrics, loop.done, ppo.steps_per_update, setup.labels, manifest.wall_time()
            )
        diverged = find_divergence(
            metrics,
            loop.done,
            max_loss=config.run.max_loss,
            max_weight_norm=config.run.max_weight_norm,
            max_entropy_change=config.run.max_entropy_change,
            previous_entropy=loop.entropy,
        )
        first_nonfinite = loop.done + 1 + int(np.argmax(~finite.all(axis=0))) if not finite.all() else None
        if diverged is not None and (first_nonfinite is None or diverged.update < first_nonfinite):
            return "diverged", _diverged_message(diverged, loop.last_saved, run_dir)
        if first_nonfinite is not None:
            return "nonfinite", _nonfinite_message(finite, loop.done, loop.last_saved, run_dir)
        loop.entropy = np.asarray(metrics["entropy"])[:, -1]
        loop.state = new_state
        loop.done += n
        loop.chunks_run += 1
        bar.update(n * ppo.steps_per_update)
        bar.set_postfix(
            _progress_postfix(metrics, config.num_runs * n * ppo.steps_per_update / elapsed), refresh=False
        )
        paused = max_chunks is not None and loop.chunks_run >= max_chunks and loop.done < ppo.num_updates
        if loop.chunks_run % config.run.checkpoint_every == 0 or loop.done == ppo.num_updates or paused:
            meta = {
                "updates": loop.done,
                "env_steps": loop.done * ppo.steps_per_update,
                "entropy": loop.entropy.tolist(),  # resumed divergence checks see the same history
            }
            save_checkpoint(manager, loop.done, loop.state, meta)
            loop.last_saved = loop.done
        if paused:
            return "paused", f"paused after update {loop.done} of {ppo.num_updates}; resume with --resume"
    return (
        "completed",
        f"trained {loop.done} updates ({loop.done * ppo.steps_per_update:,} env steps per run) into {run_dir}",
    )


def train_run(
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
    if jax.process_index() != 0:  # on many hosts, the first holds the lock and writes the files
        return _train_locked(config, run_dir, prior, resume, progress, max_chunks, log)
    with run_lock(run_dir, "train --resume" if resume else "train") as lock:
        if "stale" in lock:
            log(f"{run_dir}: taking over from a process that was killed (pid {lock['stale'].get('pid')})")
        return _train_locked(config, run_dir, prior, resume, progress, max_chunks, log)


def _train_locked(
    config: TrainConfig | None,
    run_dir: Path,
    prior: AnimalPrior | None,
    resume: bool,
    progress: bool,
    max_chunks: int | None,
    log: Callable[[str], None],
) -> RunResult:
    """:func:`train_run` once the run directory is this process's alone."""
    config = _prepare_run_dir(config, run_dir, prior, resume)
    setup = _setup(config, prior)
    manager = checkpoint_manager(run_dir, config.run.keep_checkpoints)
    manifest = _Manifest.open(run_dir, setup, resume)
    loop = _start_state(setup, run_dir, manager, manifest, resume, log)
    manifest.write("running", "", loop.done)
    bar = _progress_bar(setup.ppo, loop.done, run_dir, progress)
    try:
        status, message = _run_chunks(setup, run_dir, manager, manifest, loop, bar, max_chunks)
    except KeyboardInterrupt:
        bar.close()
        message = f"interrupted; resume from the checkpoint at update {loop.last_saved}"
        manifest.write("interrupted", message, loop.last_saved)
        manager.close()
        raise
    bar.close()
    manager.close()
    stopped = status in ("nonfinite", "diverged")
    manifest.write(status, message, max(loop.last_saved, 0) if stopped else loop.done)
    return RunResult(status, message, run_dir, loop.done, loop.state, setup.labels)


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
    manager = checkpoint_manager(run_dir, config.run.keep_checkpoints)
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
    state, meta = restore_checkpoint(manager, step, target)
    manager.close()
    return LoadedRun(config, ppo, state, config.run_labels(), int(meta["updates"]))
