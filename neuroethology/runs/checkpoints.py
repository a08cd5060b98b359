"""Orbax checkpoints of a run's batched state, as flat dicts of named leaves.

Checkpoints are written by Orbax into a temporary directory that is renamed when complete, so a crash while
saving never leaves a broken newest checkpoint: the previous one stays the newest. A checkpoint damaged
afterwards (a truncated shard) is skipped for the newest readable one (:func:`restore_newest`). Training
(``neuroethology train``) and fitting (``neuroethology fit``) both checkpoint through this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..problems import summarise_error

__all__ = ["CHECKPOINT_DIR", "checkpoint_manager", "save_checkpoint", "restore_checkpoint", "restore_newest"]

CHECKPOINT_DIR = "checkpoints"


def checkpoint_manager(run_dir: Path, keep: int, *, folder: str = CHECKPOINT_DIR):
    """An Orbax ``CheckpointManager`` over ``run_dir/folder`` keeping the newest ``keep``, synchronous."""
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False, create=True)
    return ocp.CheckpointManager((Path(run_dir) / folder).absolute(), options=options)


def _leaf_names(tree: Any) -> list[str]:
    """A readable, unique, file-system-safe name per leaf (``0007_weights.core.w_h.value``)."""
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    names = []
    for i, (path, _) in enumerate(paths):
        text = re.sub(r"[^A-Za-z0-9_]+", ".", jax.tree_util.keystr(path)).strip(".")
        names.append(f"{i:04d}_{text}")
    return names


def save_checkpoint(manager, updates: int, state: Any, meta: dict) -> None:
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


def restore_checkpoint(manager, step: int, abstract: Any) -> tuple[Any, dict]:
    """Restore what :func:`save_checkpoint` wrote into the structure of ``abstract`` (``ShapeDtypeStruct``
    leaves with shardings); empty leaves are rebuilt as zeros."""
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


def restore_newest(
    manager, abstract: Any, say: Callable[[str], None] = print, *, primary: bool = True
) -> tuple[int, Any, dict] | None:
    """The newest checkpoint that can be read, as ``(step, state, meta)``, or ``None`` when there is none.

    A checkpoint that cannot be read (a truncated or deleted shard, a torn metadata file: disk full, a copy
    interrupted) is reported through ``say`` and skipped for the one before it; once an older one has been
    read, the unreadable ones are set aside as ``N.unreadable`` (kept for inspection, out of the way of the
    step that will be written again; by the ``primary`` process only, on many hosts). When none can be read,
    nothing is moved and this raises, naming each checkpoint and why (the cause may be the reader, e.g. a
    different config, not the files)."""
    failures: list[tuple[int, str]] = []
    for step in sorted(manager.all_steps(), reverse=True):
        try:
            state, meta = restore_checkpoint(manager, step, abstract)
        except Exception as err:  # noqa: BLE001 - any reading error makes the checkpoint unusable
            failures.append((step, summarise_error(err)))
            say(
                f"{manager.directory}: checkpoint {step} cannot be read ({summarise_error(err)}); trying the one before"
            )
            continue
        if primary:
            for bad, _ in failures:
                _set_aside(manager, bad)
        return step, state, meta
    if failures:
        raise ValueError(
            f"{manager.directory}: no checkpoint can be read ("
            + "; ".join(f"checkpoint {s}: {why}" for s, why in failures)
            + "); start a new run into another --out"
        )
    return None


def _set_aside(manager, step: int) -> None:
    """Rename checkpoint ``step`` to ``<step>.unreadable`` (``.unreadable-2`` ... if taken) and let the manager
    forget it."""
    directory = Path(str(manager.directory))
    target = directory / f"{step}.unreadable"
    n = 1
    while target.exists():
        n += 1
        target = directory / f"{step}.unreadable-{n}"
    (directory / str(step)).rename(target)
    manager.reload()
