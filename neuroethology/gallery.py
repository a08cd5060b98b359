"""Paper figures from configs: one script and one config per figure, trained runs cached by config hash.

``neuroethology figures`` (and :func:`make_figures`) regenerates the gallery. Each figure ``NAME`` is

- ``configs/figures/NAME.yaml``: ``title``, ``reproduces`` (the paper and panel, and how ours differs),
  ``common`` (settings of both modes), ``fast`` (small budgets, for CI) and ``full`` (the published budgets);
  the figure reads ``common`` updated by the mode's section (nested mappings merged key by key);
- ``paper_figures/NAME.py``: defines ``make(ctx: FigureContext) -> FigureResult``, which trains what it needs
  through ``ctx.train`` (PPO runs: :func:`neuroethology.training.train_run`) or ``ctx.cached`` (anything else),
  measures, and returns the matplotlib figure with every number it plots.

Outputs, in ``OUT/NAME/``: ``NAME.pdf``, ``NAME.png``, ``NAME.json`` (every plotted number, and the claims the
figure makes with whether they hold) and ``manifest.json`` (package version, git commit, mode, the resolved
config's hash, the runs used and whether each was reused, wall time, devices). Trained runs live in
``OUT/cache/NAME-HASH/``, ``HASH`` the SHA-256 of the resolved training config (every default written out):
a rerun reuses a completed run, resumes an interrupted one from its checkpoint, and ``retrain=True``
(``--retrain``) trains afresh. A figure's files are written only once it is finished (its JSON and manifest
atomically), so an interrupted gallery keeps every figure already made and every run already trained.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .config import config_from_dict, config_to_dict, read_yaml
from .runs import run_status
from .runs.manifest import git_commit, now, package_version, write_json
from .training import TrainConfig, train_run
from .training.run import resolved_config

__all__ = [
    "FIGURE_KEYS",
    "FigureContext",
    "FigureResult",
    "available_figures",
    "figure_config",
    "make_figures",
    "merge_config",
    "source_dirs",
]

#: The top-level keys of a figure's config.
FIGURE_KEYS = ("title", "reproduces", "common", "fast", "full")
MODES = ("fast", "full")


def source_dirs() -> tuple[Path, Path]:
    """``(paper_figures/, configs/figures/)`` of the source tree the package runs from."""
    root = Path(__file__).resolve().parents[1]
    return root / "paper_figures", root / "configs" / "figures"


def available_figures(configs_dir: Path | None = None) -> list[str]:
    """The figures that have a config, by name."""
    configs_dir = configs_dir or source_dirs()[1]
    return sorted(p.stem for p in Path(configs_dir).glob("*.yaml"))


def merge_config(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``over``, nested mappings merged key by key (a figure's ``common`` and its mode's
    section; a training config and a figure's overrides of it)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out


def figure_config(name: str, mode: str, configs_dir: Path | None = None) -> dict[str, Any]:
    """The figure's config in ``mode`` (``"fast"`` or ``"full"``): ``common`` updated by the mode's section,
    with ``title``, ``reproduces`` and ``mode`` added."""
    if mode not in MODES:
        raise ValueError(f"figure mode must be one of {MODES}, got {mode!r}")
    path = Path(configs_dir or source_dirs()[1]) / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(available_figures(path.parent)) or "none"
        raise FileNotFoundError(f"no figure {name!r}: {path} does not exist (figures: {known})")
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping with keys {', '.join(FIGURE_KEYS)}")
    unknown = sorted(set(data) - set(FIGURE_KEYS))
    problems = [f"unknown key(s) {unknown}; expected {', '.join(FIGURE_KEYS)}"] if unknown else []
    for key in ("title", "reproduces"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"{key}: expected a non-empty string")
    for key in ("common", *MODES):
        if not isinstance(data.get(key) or {}, Mapping):
            problems.append(f"{key}: expected a mapping, got {type(data[key]).__name__}")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    resolved = merge_config(data.get("common") or {}, data.get(mode) or {})
    return {"title": data["title"], "reproduces": data["reproduces"], "mode": mode, **resolved}


def _hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    """Plain JSON: arrays to lists, non-finite floats to ``None``."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.ndarray, jax.Array)):
        return _jsonable(np.asarray(value).tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    return value


@dataclass
class FigureResult:
    """What a figure script returns: the figure, every number it plots (JSON-able: arrays, scalars, nested
    mappings), and its claims (``name -> bool``: does the qualitative result hold), which tests assert."""

    figure: Any
    numbers: dict[str, Any]
    claims: dict[str, bool] = field(default_factory=dict)


@dataclass
class FigureContext:
    """What a figure script gets: its resolved ``config``, the ``mode``, where to write and cache, and the two
    ways to train once and reuse (:meth:`train`, :meth:`cached`)."""

    name: str
    config: dict[str, Any]
    out_dir: Path
    cache_dir: Path
    retrain: bool = False
    log: Callable[[str], None] = print
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return str(self.config["mode"])

    @property
    def fast(self) -> bool:
        return self.mode == "fast"

    def _record(self, label: str, key: str, path: Path, reused: bool, t0: float) -> None:
        """One entry of the manifest's ``runs``: what was trained or built, where, and whether it was reused."""
        entry = {"label": label, "hash": key, "path": str(path), "reused": reused}
        self.runs.append({**entry, "seconds": time.perf_counter() - t0})

    def train(self, train_config: Mapping[str, Any], *, label: str = "ppo") -> Path:
        """A PPO run of ``train_config`` (the mapping a ``configs/*.yaml`` training file holds), trained into
        the cache or reused: its directory (:func:`neuroethology.training.load_run` reads it)."""
        config = config_from_dict(TrainConfig, train_config, source=f"figure {self.name}: {label}")
        key = _hash(config_to_dict(resolved_config(config)))
        run_dir = self.cache_dir / f"{self.name}-{label}-{key}"
        status = run_status(run_dir) if run_dir.exists() else None
        if self.retrain and run_dir.exists():
            shutil.rmtree(run_dir)
            status = None
        reused = status == "completed"
        if status is not None and status not in ("completed", "interrupted", "paused", "running"):
            raise RuntimeError(
                f"figure {self.name}: the cached run {run_dir} of {label} stopped ({status}); train it afresh "
                "with --retrain (Python: retrain=True)"
            )
        t0 = time.perf_counter()
        if not reused:
            resume = status in ("interrupted", "paused", "running")
            self.log(f"{self.name}: training {label} ({config.total_steps:,} steps) into {run_dir}")
            result = train_run(
                None if resume else config, run_dir, resume=resume, progress=False, log=self.log
            )
            if result.status != "completed":
                raise RuntimeError(
                    f"figure {self.name}: training {label} stopped: {result.message} ({run_dir})"
                )
        self._record(label, key, run_dir, reused, t0)
        return run_dir

    def cached(self, label: str, spec: Mapping[str, Any], build: Callable[[Path], None]) -> Path:
        """A directory that ``build(tmp_dir)`` fills, cached by the hash of ``spec`` (everything the result
        depends on): built once into a temporary directory, then renamed into place, so a half-built result is
        never reused; later calls return it (``retrain`` builds afresh)."""
        key = _hash(_jsonable(dict(spec)))
        target = self.cache_dir / f"{self.name}-{label}-{key}"
        if self.retrain and target.exists():
            shutil.rmtree(target)
        reused = target.exists()
        t0 = time.perf_counter()
        if not reused:
            tmp = target.with_name(target.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            self.log(f"{self.name}: building {label} into {target}")
            build(tmp)
            tmp.rename(target)
        self._record(label, key, target, reused, t0)
        return target


def _load_script(path: Path):
    spec = importlib.util.spec_from_file_location(f"paper_figures_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot import the figure script {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "make", None)):
        raise ValueError(f"{path}: a figure script must define make(ctx) -> FigureResult")
    return module


def make_figure(
    name: str,
    *,
    mode: str = "full",
    out: str | Path = "out/figures",
    retrain: bool = False,
    scripts_dir: Path | None = None,
    configs_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Make one figure (see the module docstring); returns its manifest (with ``claims`` and ``files``)."""
    from neuroethology.analysis.plots import apply_style, save_figure

    default_scripts, default_configs = source_dirs()
    config = figure_config(name, mode, configs_dir or default_configs)
    script = Path(scripts_dir or default_scripts) / f"{name}.py"
    if not script.exists():
        raise FileNotFoundError(f"figure {name!r} has a config but no script: {script} does not exist")
    out = Path(out)
    ctx = FigureContext(name, config, out / name, out / "cache", retrain, log)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    apply_style()
    t0 = time.perf_counter()
    result = _load_script(script).make(ctx)
    if not isinstance(result, FigureResult):
        raise TypeError(f"{script}: make(ctx) must return a FigureResult, got {type(result).__name__}")
    wall = time.perf_counter() - t0
    files = [str(p) for p in save_figure(result.figure, ctx.out_dir / name)]
    numbers = {
        "figure": name,
        "title": config["title"],
        "reproduces": config["reproduces"],
        "claims": _jsonable(result.claims),
        "numbers": _jsonable(result.numbers),
    }
    write_json(ctx.out_dir / f"{name}.json", numbers)
    manifest = {
        "figure": name,
        "package": "neuroethology",
        "version": package_version(),
        "git_commit": git_commit(),
        "mode": mode,
        "config_hash": _hash(_jsonable(config)),
        "config": _jsonable(config),
        "runs": ctx.runs,
        "wall_seconds": wall,
        "platform": jax.devices()[0].platform,
        "devices": [str(d) for d in jax.devices()],
        "created": now(),
        "claims": numbers["claims"],
        "files": [*files, str(ctx.out_dir / f"{name}.json")],
    }
    write_json(ctx.out_dir / "manifest.json", manifest)
    return manifest


def make_figures(
    names: Sequence[str] | None = None,
    *,
    mode: str = "full",
    out: str | Path = "out/figures",
    retrain: bool = False,
    scripts_dir: Path | None = None,
    configs_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Make ``names`` (default: every figure with a config), one after the other; their manifests."""
    names = list(names) if names else available_figures(configs_dir)
    manifests = []
    for name in names:
        log(f"== {name} ({mode})")
        manifest = make_figure(
            name,
            mode=mode,
            out=out,
            retrain=retrain,
            scripts_dir=scripts_dir,
            configs_dir=configs_dir,
            log=log,
        )
        held = [k for k, v in manifest["claims"].items() if v]
        log(
            f"   {manifest['wall_seconds']:.0f} s; claims held {len(held)}/{len(manifest['claims'])}; "
            f"{manifest['files'][1]}"
        )
        manifests.append(manifest)
    return manifests
