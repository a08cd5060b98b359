"""Stage 5 of a fit: the run directory (``config.yaml``, ``model.json``, ``metrics.jsonl``, ``checkpoints/``,
``manifest.json``) written and read back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import envs as ne
from ..envs.policies import RandomMotionParams
from .config import FitConfig, FitResult, FittedModel
from .targets import Warp, target_space

__all__ = ["save_fitted", "load_fitted"]


def _fields(p: Any) -> dict[str, Any]:
    """A params dataclass (the baseline's) as plain values."""
    return {
        f.name: (v.item() if hasattr(v, "item") else v)
        for f in dataclasses.fields(p)
        for v in [getattr(p, f.name)]
    }


def save_fitted(result: FitResult, config: FitConfig, out: str | Path, *, source: str = "") -> Path:
    """Write the run directory (see the module docstring)."""
    from ..config import dump_config
    from ..runs import environment_manifest, write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(config, out / "config.yaml")
    model = result.model
    info = {
        "kind": model.kind,
        "env": config.env,
        "env_params": ne.env_of(model.env_params).params_dict(model.env_params),
        "baseline_params": _fields(model.baseline),
        "action_parametrisation": "log(next speed + speed_offset), asinh(angular velocity / turn_scale) "
        "(see neuroethology.fitting.targets)",
        "warp": model.warp._asdict(),
        "data": source,
        "scores": result.scores,
    }
    if model.kind != "ou":
        import orbax.checkpoint as ocp

        leaves = {f"{i:04d}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(model.weights))}
        checkpointer = ocp.StandardCheckpointer()
        checkpointer.save((out / "checkpoints" / "selected").absolute(), leaves, force=True)
        checkpointer.wait_until_finished()
        info["checkpoint"] = "checkpoints/selected"
    with open(out / "metrics.jsonl", "w") as f:
        curves = result.train_curves
        for c in range(len(curves.get("train_nll", []))):
            row = {
                "chunk": c + 1,
                "updates": (c + 1) * config.cloning(model.env_params).chunk,
                "train_nll": curves["train_nll"][c].tolist(),
            }
            if len(curves.get("validation_ll", [])) > c:
                row["validation_ll"] = curves["validation_ll"][c].tolist()
            f.write(json.dumps(row) + "\n")
    write_json(out / "model.json", info)
    write_json(
        out / "manifest.json",
        environment_manifest(
            kind="fitted",
            command="fit",
            model=model.kind,
            data=source,
            seeds=[config.seed + i for i in range(config.num_seeds)] if model.kind != "ou" else [config.seed],
            wall_time_s=result.scores.get("wall_time_s"),
            status="finished",
        ),
    )
    return out


def load_fitted(run_dir: str | Path) -> FittedModel:
    """The fitted model saved in a run directory (``neuroethology fit --out RUN``)."""
    from ..config import load_config

    run_dir = Path(run_dir)
    path = run_dir / "model.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{run_dir}: not a fitted run (no model.json); fit one with `neuroethology fit`"
        )
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{path} is not valid JSON ({e.msg} at line {e.lineno}; was the fit interrupted while saving?): "
            "fit again into a new --out"
        ) from None
    env, params = ne.make(info["env"], **info["env_params"])
    baseline = RandomMotionParams(**info["baseline_params"])
    if info["kind"] == "ou":
        return FittedModel("ou", params, baseline)
    import orbax.checkpoint as ocp

    config = load_config(run_dir / "config.yaml", schema=FitConfig)
    from ..agents import make_agent

    warp = Warp(**info["warp"])
    agent = make_agent(
        env.observation_space(params),
        target_space(params, warp),
        config.agent_config,
        dt=float(params.dt),
        key=jax.random.key(0),
    )
    graphdef, template = nnx.split(agent)
    leaves, treedef = jax.tree.flatten(template)
    restored = ocp.StandardCheckpointer().restore((run_dir / info["checkpoint"]).absolute())
    weights = jax.tree.unflatten(treedef, [jnp.asarray(restored[f"{i:04d}"]) for i in range(len(leaves))])
    return FittedModel(info["kind"], params, baseline, graphdef, weights, warp)
