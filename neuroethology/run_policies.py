"""The policies in a run directory, whichever way it was made, and their simulated Recordings.

A run directory is written either by ``neuroethology train`` (PPO: ``config.yaml``, Orbax checkpoints of
every trained run) or by ``neuroethology fit`` (``model.json``: the fitted network and baseline).
:func:`load_policy` reads both into one :class:`RunPolicies`; :func:`evaluate` (complete episodes) and
:func:`simulate` (a free-running session) accept either and write Recordings through
:mod:`neuroethology.simulation`, the one writer, so both commands give the same variables for the same
environment. This module sits above training and fitting (it imports both); nothing below imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import xarray as xr

from . import envs as ne
from .simulation import run_episodes, run_session

__all__ = ["RunPolicies", "run_kind", "load_policy", "evaluate", "simulate"]


class RunPolicies(NamedTuple):
    """What a run directory holds, ready to act: one policy per trained run (PPO: each seed / sweep value)
    or the fitted model, the environment they act in and attributes for the Recordings they write."""

    kind: str  # "ppo" or "fitted"
    env: ne.NeuroEnv
    params: Any
    policies: list[Any]
    names: list[str]
    attrs: dict[str, Any]


def run_kind(run_dir: str | Path) -> str:
    """``"fitted"`` or ``"ppo"``: the manifest's ``kind``, else (runs written before manifests had one) what
    the directory holds (``model.json``: fitted; ``config.yaml``: PPO); ``FileNotFoundError`` naming what is
    missing for anything else."""
    from .runs import manifest_kind

    run_dir = Path(run_dir)
    kind = manifest_kind(run_dir)
    if kind is not None and (run_dir / ("model.json" if kind == "fitted" else "config.yaml")).exists():
        return kind
    if (run_dir / "model.json").exists():
        return "fitted"
    if (run_dir / "config.yaml").exists():
        return "ppo"
    raise FileNotFoundError(
        f"{run_dir} is not a run directory (no model.json from `neuroethology fit`, no config.yaml from "
        "`neuroethology train`)"
    )


def _label_name(label: dict[str, Any]) -> str:
    parts = [f"seed{label['seed']}"] + [f"{k}{v:g}" for k, v in label.items() if k != "seed"]
    return "_".join(parts)


def _ppo_policies(run_dir: Path, step: int | None, runs: Sequence[int] | None, deterministic: bool):
    from .agents import AgentPolicy
    from .config import config_to_dict
    from .training.run import load_run

    loaded = load_run(run_dir, step)
    count = len(loaded.labels)
    chosen = list(range(count)) if runs is None else [int(r) for r in runs]
    bad = [r for r in chosen if not 0 <= r < count]
    if bad:
        raise ValueError(f"{run_dir}: --runs {bad} do not exist (the run has {count} runs: 0..{count - 1})")
    policies = [
        AgentPolicy(
            loaded.ppo.graphdef,
            jax.tree.map(lambda x, r=r: x[r], loaded.runner_state.weights),
            deterministic=deterministic,
        )
        for r in chosen
    ]
    attrs = {
        "run_kind": "ppo",
        "agent": json.dumps(config_to_dict(loaded.config.agent)),
        "checkpoint_update": int(loaded.updates),
    }
    names = [_label_name(loaded.labels[r]) for r in chosen]
    return RunPolicies("ppo", loaded.ppo.env, loaded.ppo.env_params, policies, names, attrs)


def _fitted_policies(
    run_dir: Path, runs: Sequence[int] | None, deterministic: bool, baseline: bool, animal: str | None
):
    """A fitted run's model; of a network fitted to several animals, every animal's twin (named by the
    animal) or the one named by ``animal``."""
    from .fitting import load_fitted, load_population
    from .fitting.run_dir import fitted_animals

    if runs not in (None, [0], (0,)):
        raise ValueError(f"{run_dir}: a fitted run holds one model; --runs does not apply")
    animals = fitted_animals(run_dir)
    if animals is not None and animal is None:
        models = load_population(run_dir)
        arenas = {json.dumps(a["env_params"], sort_keys=True) for a in animals}
        if len(arenas) > 1:
            raise ValueError(
                f"{run_dir}: its {len(models)} animals were fitted in different arenas; pass animal= one of "
                + ", ".join(models)
            )
    else:
        model = load_fitted(run_dir, animal=animal)
        models = {animal or model.kind: model}
    if baseline:
        models = {name: m._replace(kind="ou") for name, m in models.items()}
    first = next(iter(models.values()))
    env = ne.env_of(first.env_params)
    attrs = {"run_kind": "fitted", "model": first.kind}
    if animal is not None:
        attrs["animal"] = animal
    policies = [m.policy(deterministic=deterministic) for m in models.values()]
    return RunPolicies("fitted", env, first.env_params, policies, list(models), attrs)


def load_policy(
    run_dir: str | Path,
    *,
    step: int | None = None,
    runs: Sequence[int] | None = None,
    deterministic: bool = False,
    baseline: bool = False,
    animal: str | None = None,
) -> RunPolicies:
    """The policies of a trained or fitted run directory (see :class:`RunPolicies`).

    ``step`` picks a PPO checkpoint (default: the newest) and ``runs`` trained runs by index (default: all);
    ``deterministic`` takes each distribution's mode; ``baseline`` takes a fitted run's random-motion
    baseline instead of its network; ``animal`` picks one animal's twin of a network fitted to several.
    """
    run_dir = Path(run_dir)
    kind = run_kind(run_dir)
    if kind == "ppo":
        if baseline:
            raise ValueError(
                f"{run_dir}: --baseline needs a fitted run (neuroethology fit); this is a PPO run"
            )
        out = _ppo_policies(run_dir, step, runs, deterministic)
    else:
        if step is not None:
            raise ValueError(f"{run_dir}: a fitted run keeps one selected model; --checkpoint does not apply")
        out = _fitted_policies(run_dir, runs, deterministic, baseline, animal)
    out.attrs.update(run_dir=str(run_dir.resolve()), deterministic=int(deterministic))
    return out


def evaluate(
    run_dir: str | Path,
    *,
    episodes: int,
    seed: int = 0,
    deterministic: bool = False,
    runs: Sequence[int] | None = None,
    step: int | None = None,
    animal: str | None = None,
    log: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """``episodes`` complete episodes of every policy in ``run_dir`` (trained or fitted) as a Recording
    (:func:`neuroethology.simulation.run_episodes`): each trained run is one individual. ``animal``: of a
    network fitted to several animals, that animal's twin only (default: every twin, if they share an arena)."""
    loaded = load_policy(run_dir, step=step, runs=runs, deterministic=deterministic, animal=animal)
    attrs = dict(loaded.attrs, evaluation_seed=int(seed))
    return run_episodes(
        loaded.env,
        loaded.params,
        loaded.policies,
        episodes=episodes,
        key=jax.random.key(seed),
        names=loaded.names,
        attrs=attrs,
        log=log,
    )


def simulate(
    run_dir: str | Path,
    *,
    duration: float,
    seed: int = 0,
    num_runs: int = 1,
    arena: Any = None,
    baseline: bool = False,
    deterministic: bool = False,
    runs: Sequence[int] | None = None,
    step: int | None = None,
    log: Callable[[str], None] | None = None,
    core_inputs: bool = False,
    animal: str | None = None,
) -> xr.Dataset:
    """Every policy in ``run_dir`` (trained or fitted) drives ``num_runs`` animals freely for ``duration``
    seconds, in its own arena or ``arena`` (any form :func:`neuroethology.envs.arena.resolve_arena` takes: a
    preset, a YAML/JSON file, a mapping of a box, circle or polygon; the Recording's attrs carry it) through
    :func:`neuroethology.simulation.run_session` (a long session's progress and time left through ``log``).
    ``core_inputs``: the Recording also holds the inputs each network's core received (``core_input``,
    :func:`neuroethology.agents.with_core_inputs`), for the dynamics of the core. ``animal``: of a network
    fitted to several animals, that animal's twin only (default: every twin, if they share an arena)."""
    loaded = load_policy(
        run_dir, step=step, runs=runs, deterministic=deterministic, baseline=baseline, animal=animal
    )
    params = loaded.params if arena is None else loaded.env.with_arena(loaded.params, arena)
    policies = loaded.policies
    if core_inputs:
        from .agents import with_core_inputs

        policies = [with_core_inputs(p) for p in policies]
    return run_session(
        loaded.env,
        params,
        policies,
        duration=duration,
        key=jax.random.key(seed),
        names=loaded.names,
        num_runs=num_runs,
        attrs=dict(loaded.attrs, simulation_seed=int(seed)),
        log=log,
    )
