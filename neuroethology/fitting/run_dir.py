"""Stage 5 of a fit: the run directory (``config.yaml``, ``model.json``, ``metrics.jsonl``, ``checkpoints/``,
``manifest.json``) written and read back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import envs as ne
from ..envs.policies import RandomMotionParams
from .behaviour import BestWeights, FitProgress
from .config import FitConfig, FitResult, FittedModel
from .targets import Warp, identity_space, target_space

__all__ = [
    "save_fitted",
    "save_population",
    "load_fitted",
    "load_population",
    "fitted_animals",
    "CheckpointStore",
    "PROGRESS_DIR",
]

#: Where a fit keeps its networks' progress (Orbax checkpoints after N updates, the newest two kept);
#: cross-validation folds use ``checkpoints/progress-fold<K>``.
PROGRESS_DIR = "checkpoints/progress"


class CheckpointStore:
    """A fit's progress (:class:`~neuroethology.fitting.behaviour.FitProgress`) as Orbax checkpoints in the
    run directory, written after every chunk of updates by the same code as training's checkpoints
    (:mod:`neuroethology.runs.checkpoints`); :meth:`load` returns the newest readable one."""

    def __init__(self, run_dir: Path, folder: str = PROGRESS_DIR, say: Callable[[str], None] = print) -> None:
        from ..runs import checkpoint_manager

        self.manager = checkpoint_manager(run_dir, 2, folder=folder)
        self.say = say

    def save(self, progress: FitProgress) -> None:
        from ..runs import save_checkpoint

        tree = {"weights": progress.weights, "opt_state": progress.opt_state, "best": progress.best.weights}
        meta = {
            "chunks": progress.chunks,
            "stale": progress.best.stale,
            "best_log_likelihood": [_json_number(v) for v in progress.best.log_likelihood],
            "best_update": [int(v) for v in progress.best.update],
            "losses": [np.asarray(v).tolist() for v in progress.losses],
            "validation": [np.asarray(v).tolist() for v in progress.val_curve],
        }
        save_checkpoint(self.manager, progress.chunks, tree, meta)

    def load(self, like: FitProgress) -> FitProgress | None:
        from ..runs import restore_newest

        device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        tree = {"weights": like.weights, "opt_state": like.opt_state, "best": like.best.weights}
        abstract = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(np.shape(x), jnp.asarray(x).dtype, sharding=device), tree
        )
        found = restore_newest(self.manager, abstract, self.say)
        if found is None:
            return None
        step, restored, meta = found
        self.say(f"resuming the networks' fit after chunk {step} ({self.manager.directory})")
        best = BestWeights(
            restored["best"],
            np.asarray([-np.inf if v is None else v for v in meta["best_log_likelihood"]], float),
            np.asarray(meta["best_update"], int),
            int(meta["stale"]),
        )
        losses = [np.asarray(v, np.float32) for v in meta["losses"]]
        val_curve = [np.asarray(v, float) for v in meta["validation"]]
        return FitProgress(
            int(meta["chunks"]), restored["weights"], restored["opt_state"], best, losses, val_curve
        )


def _json_number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


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
    from ..runs import write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(config, out / "config.yaml")
    model = result.model
    info = {
        "kind": model.kind,
        "env": config.env,
        "env_params": ne.env_of(model.env_params).params_dict(model.env_params),
        "baseline_params": _fields(model.baseline),
        "action_parametrisation": ACTION_PARAMETRISATION,
        "warp": model.warp._asdict(),
        "data": source,
        "scores": result.scores,
    }
    if model.kind != "ou":
        info["checkpoint"] = _write_weights(out, model.weights)
    _write_curves(out, result.train_curves, config.cloning(model.env_params).chunk)
    write_json(out / "model.json", info)
    _finish_manifest(out, config, model.kind, source, result.scores.get("wall_time_s"))
    return out


ACTION_PARAMETRISATION = (
    "log(next speed + speed_offset), asinh(angular velocity / turn_scale) (see neuroethology.fitting.targets)"
)


def save_population(result: Any, config: FitConfig, out: str | Path, *, source: str = "") -> Path:
    """Write the run directory of a network fitted to several animals
    (:class:`~neuroethology.fitting.population.PopulationResult`): as :func:`save_fitted`, with one entry per
    animal in ``model.json["animals"]`` (its name, arena, baseline and identity code) and one checkpoint of
    the shared weights."""
    from ..config import dump_config
    from ..runs import write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(config, out / "config.yaml")
    models = list(result.models.items())
    first = models[0][1]
    info = {
        "kind": first.kind,
        "env": config.env,
        "animals": [
            {
                "name": name,
                "env_params": ne.env_of(m.env_params).params_dict(m.env_params),
                "baseline_params": _fields(m.baseline),
                "identity": None if m.identity is None else np.asarray(m.identity).tolist(),
            }
            for name, m in models
        ],
        "action_parametrisation": ACTION_PARAMETRISATION,
        "warp": first.warp._asdict(),
        "data": source,
        "scores": result.scores,
        "checkpoint": _write_weights(out, first.weights),
    }
    _write_curves(out, result.train_curves, config.cloning(first.env_params).chunk)
    write_json(out / "model.json", info)
    _finish_manifest(out, config, first.kind, source, result.scores.get("wall_time_s"))
    return out


def _write_weights(out: Path, weights: nnx.State) -> str:
    """The selected network's weights as an Orbax checkpoint; its path relative to the run directory."""
    import orbax.checkpoint as ocp

    leaves = {f"{i:04d}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(weights))}
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save((out / "checkpoints" / "selected").absolute(), leaves, force=True)
    checkpointer.wait_until_finished()
    return "checkpoints/selected"


def _write_curves(out: Path, curves: dict[str, np.ndarray], chunk: int) -> None:
    from ..runs import METRICS_FILE, write_text_atomic

    rows = []
    for c in range(len(curves.get("train_nll", []))):
        row = {"chunk": c + 1, "updates": (c + 1) * chunk, "train_nll": curves["train_nll"][c].tolist()}
        if len(curves.get("validation_ll", [])) > c:
            row["validation_ll"] = curves["validation_ll"][c].tolist()
        rows.append(row)
    write_text_atomic(out / METRICS_FILE, "".join(json.dumps(row) + "\n" for row in rows))


def _finish_manifest(out: Path, config: FitConfig, kind: str, source: str, wall_time: Any) -> None:
    from ..runs import MANIFEST_FILE, environment_manifest, now, write_json

    manifest = _read_json(out / MANIFEST_FILE)
    manifest.update(
        environment_manifest(
            kind="fitted",
            command="fit",
            model=kind,
            data=source,
            seeds=[config.seed + i for i in range(config.num_seeds)] if kind != "ou" else [config.seed],
            wall_time_s=wall_time,
            status="finished",
        ),
        created=manifest.get("created", now()),
        finished=now(),
    )
    write_json(out / MANIFEST_FILE, manifest)


def load_fitted(run_dir: str | Path, *, animal: str | None = None, option: str = "animal=") -> FittedModel:
    """The fitted model saved in a run directory (``neuroethology fit --out RUN``). For a network fitted to
    several animals, ``animal`` names whose twin (the network with that animal's identity, in its arena).
    ``option``: how the caller's user spells ``animal`` in the errors (a config key: ``"prior.animal="``)."""
    run_dir = Path(run_dir)
    info = _model_info(run_dir)
    if "animals" not in info:
        if animal is not None:
            raise ValueError(f"{run_dir}: a model of one animal; {option}{animal!r} does not apply")
        return _load_model(run_dir, info, info)
    names = [a["name"] for a in info["animals"]]
    if animal is None and len(names) > 1:
        raise ValueError(
            f"{run_dir}: a model of {len(names)} animals; pass {option} one of {', '.join(names)}"
        )
    if animal is not None and animal not in names:
        raise ValueError(f"{run_dir}: no animal {animal!r}; pass {option} one of {', '.join(names)}")
    return _load_model(run_dir, info, info["animals"][names.index(animal or names[0])])


def load_population(run_dir: str | Path) -> dict[str, FittedModel]:
    """Every animal's twin of a network fitted to several animals (:func:`load_fitted` of each), by name."""
    run_dir = Path(run_dir)
    info = _model_info(run_dir)
    if "animals" not in info:
        raise ValueError(f"{run_dir}: a model of one animal, not of several (load it with load_fitted)")
    return {a["name"]: _load_model(run_dir, info, a) for a in info["animals"]}


def fitted_animals(run_dir: str | Path) -> list[dict[str, Any]] | None:
    """The animals of a network fitted to several (``model.json["animals"]``: each one's name, arena,
    baseline and identity code); ``None`` for a model of one animal. A torn or missing model.json is named."""
    return _model_info(Path(run_dir)).get("animals")


def _model_info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "model.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{run_dir}: not a fitted run (no model.json); fit one with `neuroethology fit`"
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{path} is not valid JSON ({e.msg} at line {e.lineno}; was the fit interrupted while saving?): "
            "continue it with `neuroethology fit ... --resume --out RUN` (the same --data and settings) or fit "
            "again into a new --out"
        ) from None


def _load_model(run_dir: Path, info: dict[str, Any], animal: dict[str, Any]) -> FittedModel:
    """The model of ``info`` (model.json) for ``animal`` (``info`` itself for a one-animal fit, else one of
    its ``animals``: arena, baseline and identity code)."""
    from ..config import load_config

    env, params = ne.make(info["env"], **animal["env_params"])
    baseline = RandomMotionParams(**animal["baseline_params"])
    if info["kind"] == "ou":
        return FittedModel("ou", params, baseline)
    import orbax.checkpoint as ocp

    from ..config import read_yaml

    saved = read_yaml(run_dir / "config.yaml")
    # A fit saved before the mixture head (no head_components in its config) has the one-Gaussian head.
    legacy = [] if "head_components" in saved else ["head_components=0"]
    config = load_config(run_dir / "config.yaml", legacy, schema=FitConfig)
    from ..agents import make_agent

    identity = animal.get("identity")
    space = env.observation_space(params)
    if identity is not None:
        space = identity_space(space, len(identity))
    warp = Warp(**info["warp"])
    agent = make_agent(
        space, target_space(params, warp), config.agent_config, dt=float(params.dt), key=jax.random.key(0)
    )
    graphdef, template = nnx.split(agent)
    leaves, treedef = jax.tree.flatten(template)
    restored = ocp.StandardCheckpointer().restore((run_dir / info["checkpoint"]).absolute())
    if len(restored) != len(leaves):
        raise ValueError(
            f"{run_dir}: the checkpoint holds {len(restored)} weight arrays, the network its config.yaml describes "
            f"needs {len(leaves)}; the run was written by another version of the fit: fit it again"
        )
    weights = jax.tree.unflatten(treedef, [jnp.asarray(restored[f"{i:04d}"]) for i in range(len(leaves))])
    code = None if identity is None else np.asarray(identity, np.float32)
    return FittedModel(info["kind"], params, baseline, graphdef, weights, warp, code)


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``{}`` for a missing, torn or other file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


#: What a fit writes in its run directory; ``--overwrite`` removes these and nothing else.
FIT_FILES = ("config.yaml", "manifest.json", "model.json", "metrics.jsonl", "checkpoints")


def prepare_fit_dir(out: Path, config: FitConfig, *, data: str, resume: bool, overwrite: bool) -> FitConfig:
    """Make ``out`` ready for a fit (the caller holds its lock, :func:`neuroethology.runs.run_lock`) and
    return the config to fit with.

    A new or empty folder gets a ``"running"`` manifest (``kind: fitted``) and ``config.yaml`` at once, so that a
    fit killed at any moment leaves a run that says what it is. A folder with a fit in it is refused unless the
    user says what to do: ``resume`` continues an unfinished fit (same settings and data, from its newest
    progress checkpoint), ``overwrite`` replaces a fitted run (finished or not). A folder whose manifest does
    not say it is a fit (a PPO run, a project folder), or a fit beside files it did not write, is never
    touched."""
    from ..runs import LOCK_FILE, manifest_kind

    contents = {p.name for p in out.iterdir()} - {LOCK_FILE} if out.is_dir() else set()
    if contents and manifest_kind(out) != "fitted":
        what = (
            "a PPO training run (neuroethology train)" if manifest_kind(out) == "ppo" else "not a fitted run"
        )
        raise FileExistsError(f"{out} exists and is not empty ({what}); choose a new --out")
    if contents and overwrite:
        others = sorted(contents - set(FIT_FILES))
        if others:
            raise FileExistsError(
                f"{out} holds files a fit does not write ({', '.join(others)}); --overwrite replaces a fitted "
                "run only: move them or choose a new --out"
            )
        _remove_fit(out, contents)
        contents = set()
    if contents and _read_json(out / "model.json"):  # a torn model.json: the fit did not finish saving
        raise FileExistsError(
            f"{out} is not empty: it holds a finished fit; choose a new --out, or --overwrite to replace it"
        )
    if contents and not resume:
        raise FileExistsError(
            f"{out} holds an unfinished fit (interrupted: no model.json yet); continue it with --resume or "
            "start it again with --overwrite"
        )
    if resume and not contents:
        raise FileNotFoundError(f"cannot resume: {out} holds no fit; start one without --resume")
    if resume:
        return _resumable_config(out, config, data)
    _start_fit_dir(out, config, data)
    return config


def _resumable_config(out: Path, config: FitConfig, data: str) -> FitConfig:
    """The saved config of the unfinished fit in ``out``, if ``config`` and ``data`` are the ones it began with."""
    from ..config import config_from_dict, config_to_dict, read_yaml
    from ..runs import CONFIG_FILE, MANIFEST_FILE

    path = out / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"cannot resume {out}: it was stopped before its {CONFIG_FILE} was written; start it again with "
            "--overwrite"
        )
    saved = config_from_dict(FitConfig, read_yaml(path), source=str(path))
    was, now = config_to_dict(saved), config_to_dict(config)
    diff = [k for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
    if diff:
        raise ValueError(f"cannot resume {out} with different settings: {', '.join(diff)}")
    if _read_json(out / MANIFEST_FILE).get("data_fingerprint") != data:
        raise ValueError(
            f"cannot resume {out}: the recording (or its arena) differs from the one this fit began with"
        )
    return saved


def _start_fit_dir(out: Path, config: FitConfig, data: str) -> None:
    """The manifest first (the folder says it is a fit from its first file on), then ``config.yaml``."""
    from ..config import dump_config
    from ..runs import CONFIG_FILE, MANIFEST_FILE, environment_manifest, write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(
        out / MANIFEST_FILE,
        environment_manifest(
            kind="fitted", command="fit", model=config.model, data_fingerprint=data, status="running"
        ),
    )
    dump_config(config, out / CONFIG_FILE)


def recording_fingerprint(rec: Any, params: Any) -> str:
    """A short hash of a prepared recording's times and positions and of the environment it is placed in
    (arena, frame interval): a resumed fit must see the same data in the same arena."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("time", "position"):
        digest.update(np.ascontiguousarray(np.asarray(rec[name].values, np.float64)).tobytes())
    digest.update(json.dumps(ne.env_of(params).params_dict(params), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _remove_fit(out: Path, names: set[str]) -> None:
    """Remove a fitted run's files (``names``, all of :data:`FIT_FILES`) from ``out``."""
    import shutil

    for path in (out / name for name in names):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
