"""Fit models of a recorded animal, save them as a run, and let them loose in the environment: the stages in
sequence. Each stage is one module that the data passes once:

``split`` (place in OpenField, split in time) -> ``reconstruct`` (teacher-forcing rows and the baseline's
windows of each part) -> ``fit_models`` (baseline, networks, selection) -> ``scoring`` (held-out
likelihoods) -> ``run_dir`` (the run directory); ``closed_loop`` simulates fitted models.

:func:`fit_recording` is what ``neuroethology fit`` and the demo run::

    rec = neuroethology.data.load("rat.npz")
    result = fit_recording(rec, FitConfig(model="gru"), out="runs/rat-gru")
    model = load_fitted("runs/rat-gru")
    sim = simulate(model, duration=600.0, key=jax.random.key(0))      # a Recording

1. The recording is placed in OpenField (its arena and frame interval; positions checked against the arena) and
   split in time: the last ``holdout_fraction`` is held out for testing; the last ``validation_fraction`` of
   the rest decides early stopping. With ``folds > 1`` the held-out log-likelihood is also cross-validated
   over ``folds`` contiguous blocks (each block held out in turn).
2. The statistical baseline, RatInABox's random-motion model, is fitted by exact maximum likelihood
   (:mod:`~neuroethology.fitting.random_motion_fit`).
3. Unless ``model="ou"``, ``num_seeds`` recurrent agents are fitted by maximum likelihood of the animal's
   actions given its reconstructed observations (:mod:`~neuroethology.fitting.behaviour`); each keeps its
   weights at its best validation likelihood. The model is the seed with the best validation likelihood
   (``select="likelihood"``) or, by default (``select="closed_loop"``), the seed whose free simulation in
   the arena best matches the *training* data: the smallest largest two-sample KS statistic over speed,
   turning rate and distance to the wall (a posterior predictive check that never sees the held-out data;
   teacher-forced likelihood alone does not tell which network stays animal-like when it acts on its own).
4. Held-out log-likelihoods per step of the animal's actions, in the environment's action space and over the
   steps whose action lies inside it: the network, the baseline, and a null model (a Gaussian fitted to the
   training actions). ``bits_per_step`` is the gain over the null model, ``normalised_likelihood`` its
   per-step likelihood ratio ``exp(mean log p - mean log p_null)``.
   With ``report_metrics``, the fitted model is then let loose for as long as the held-out part
   (``selection_runs`` animals) and every metric of ``neuroethology compare`` is reported against the
   held-out part, next to the animal's own training-vs-held-out distance as the yardstick
   (:func:`~neuroethology.fitting.report.behaviour_report`; ``model.json`` ``scores["behaviour_vs_heldout"]``).
5. Transfer: the model is let loose in its own arena and in ``transfer_arenas`` it never saw (by default a
   3.5 x 2.5 m box, a 2 m circle and the linear track), and its speeds are logged and stored next to the
   animal's (:func:`~neuroethology.fitting.closed_loop.transfer_check`).

The run directory holds ``config.yaml`` (the resolved config), ``model.json`` (what was fitted and how well),
``metrics.jsonl`` (training curves), ``checkpoints/`` (the networks' weights, Orbax) and ``manifest.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import xarray as xr

from ..envs.open_field import OpenFieldParams
from ..runs import run_lock
from .behaviour import ProgressStore
from .closed_loop import closed_loop_check, ks_statistics, movement_samples, simulate, transfer_check
from .config import FitConfig, FitResult, FittedModel
from .fit_models import FitParts, fit_models
from .reconstruct import baseline_windows, demonstration
from .run_dir import (
    PROGRESS_DIR,
    CheckpointStore,
    load_fitted,
    prepare_fit_dir,
    recording_fingerprint,
    save_fitted,
)
from .scoring import heldout_scores, summarise_folds
from .split import prepare_recording, split_recording, time_blocks

__all__ = [
    "FitConfig",
    "FitResult",
    "FittedModel",
    "prepare_recording",
    "fit_recording",
    "save_fitted",
    "load_fitted",
    "simulate",
    "movement_samples",
    "ks_statistics",
    "closed_loop_check",
    "transfer_check",
]

Progress = Callable[[int, np.ndarray, np.ndarray | None], None]


def _fit_block(
    train: xr.Dataset,
    test: xr.Dataset,
    params: OpenFieldParams,
    config: FitConfig,
    key: jax.Array,
    say: Callable[[str], None],
    progress: Progress | None,
    store: ProgressStore | None = None,
) -> tuple[FittedModel, dict[str, Any], dict[str, np.ndarray]]:
    """One training/test split through reconstruct -> fit_models -> scoring."""
    min_step = config.min_speed * float(params.dt)
    t = train["time"].values
    cut = float(t[0]) + (1 - config.validation_fraction) * (float(t[-1]) - float(t[0]))
    fit_part, val_part = split_recording(train, config.validation_fraction, cut, float(t[-1]) + 1e-9)
    parts = FitParts(
        train=train,
        demo_train=demonstration(train, params, min_step),
        windows_train=baseline_windows(train, params),
        demo_fit=demonstration(fit_part, params, min_step),
        demo_val=demonstration(val_part, params, min_step),
    )
    fitted = fit_models(parts, params, config, key, say, progress, store)
    demo_test, windows_test = demonstration(test, params, min_step), baseline_windows(test, params)
    scores = heldout_scores(fitted.model, config, params, parts.demo_train, demo_test, windows_test)
    scores.update(fitted.scores)
    return fitted.model, scores, fitted.curves


def fit_recording(
    rec: xr.Dataset,
    config: FitConfig,
    *,
    arena: Any = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    say: Callable[[str], None] = print,
    progress: Progress | None = None,
) -> FitResult:
    """Fit the baseline and (unless ``model="ou"``) a network to one animal's recording; see the module
    docstring.

    ``arena`` (any form :func:`neuroethology.envs.arena.resolve_arena` takes: a preset, a YAML/JSON file, a
    mapping of a box, circle or polygon) places a recording that stores no arena; default: its own.
    With ``out``, the run directory is written as the fit goes (config and manifest first, the networks'
    progress after every chunk of updates, the model at the end) while this process holds its lock
    (:func:`neuroethology.runs.run_lock`). A folder that already holds a fit is refused unless ``resume``
    (continue an unfinished fit exactly where its newest checkpoint left it: same settings, same data) or
    ``overwrite`` (replace it) is given."""
    start_time = time.time()
    rec, params = prepare_recording(rec, config, arena)  # a recording that cannot be fitted leaves no run
    if out is None:
        return _fit(rec, params, config, None, say, progress, start_time)
    out = Path(out)
    with run_lock(out, "fit --resume" if resume else "fit"):
        data = recording_fingerprint(rec, params)
        config = prepare_fit_dir(out, config, data=data, resume=resume, overwrite=overwrite)
        return _fit(rec, params, config, out, say, progress, start_time)


def _fit(rec, params, config, out: Path | None, say, progress, start_time: float) -> FitResult:
    key = jax.random.key(config.seed)
    train, test = split_recording(rec, config.holdout_fraction)
    say(
        f"data: {float(rec['time'][-1] - rec['time'][0]):.0f} s at {1 / float(params.dt):g} Hz in a "
        f"{_arena_text(params)}; the last {config.holdout_fraction:.0%} held out"
    )
    store = CheckpointStore(out, say=say) if out is not None and config.model != "ou" else None
    model, scores, curves = _fit_block(train, test, params, config, key, say, progress, store)
    if config.report_metrics:
        scores["behaviour_vs_heldout"] = _behaviour_vs_heldout(
            model, train, test, config, jax.random.fold_in(key, 300), say
        )
    if config.transfer_arenas:
        scores["transfer"] = _transfer(model, train, config, jax.random.fold_in(key, 200), say)
    if config.folds > 1:
        scores["cross_validation"] = _cross_validate(rec, params, config, key, say, out)
    scores["wall_time_s"] = round(time.time() - start_time, 1)
    result = FitResult(model, scores, curves)
    if out is not None:
        save_fitted(result, config, out, source=str(rec.attrs.get("source_file", "")))
    return result


def _behaviour_vs_heldout(
    model: FittedModel, train: xr.Dataset, test: xr.Dataset, config: FitConfig, key: jax.Array, say
) -> dict[str, Any]:
    """Stage 4, after the likelihoods: the fitted model simulated for as long as
    the held-out part, every ``compare`` metric against the held-out part with the animal's own
    training-vs-held-out distance as the yardstick (:func:`~.report.behaviour_report`), logged as a table."""
    from .report import behaviour_report

    t = test["time"].values
    duration = float(t[-1] - t[0])
    runs = config.selection_runs
    say(f"behaviour vs the held-out part: simulating {runs} x {duration:.0f} s, every compare metric")
    name = "baseline" if model.kind == "ou" else model.kind.upper()
    sims = {name: simulate(model, duration=duration, key=key, num_runs=runs)}
    arena = _fitted_arena(model)
    try:
        report = behaviour_report(
            sims, _in_arena(train, arena), _in_arena(test, arena), yardstick_label="animal: train vs held-out"
        )
    except (ValueError, ArithmeticError) as e:  # e.g. a held-out part too short for compare's time blocks
        why = f"{type(e).__name__}: {e} (held-out part of {duration:.3g} s)"
        say(f"  not computed: {why}")  # the models and likelihoods stand without it
        return {"not_computed": why}
    for line in report.to_markdown().splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            say("  " + line)
    return report.to_dict()


def _fitted_arena(model: FittedModel) -> dict:
    """The arena the animal was fitted in (and its model simulates in), as its environment states it."""
    from ..envs import env_of

    return env_of(model.env_params).arena(model.env_params)


def _in_arena(rec: xr.Dataset, arena: dict | None) -> xr.Dataset:
    """``rec`` with the arena it was fitted in (``fit --arena`` places a recording that stores none, or
    another): every arena metric is measured in the arena the model ran in."""
    from ..data import arena_of
    from ..data.schema import arena_attrs

    if arena is None or arena_of(rec) == arena:
        return rec
    out = rec.copy(deep=False)
    out.attrs = {k: v for k, v in rec.attrs.items() if not k.startswith("arena")} | arena_attrs(arena)
    return out


def _transfer(
    model: FittedModel, train: xr.Dataset, config: FitConfig, key: jax.Array, say
) -> dict[str, Any]:
    """Stage 5: the fitted model in arenas it never saw (:func:`~.closed_loop.transfer_check`), logged as a
    table of speeds next to the animal's."""
    say(
        f"transfer: simulating {config.selection_runs} x {config.transfer_duration:g} s in its own arena and "
        f"{len(config.transfer_arenas)} it never saw"
    )
    try:
        out = transfer_check(
            model,
            tuple(config.transfer_arenas),
            _in_arena(train, _fitted_arena(model)),
            runs=config.selection_runs,
            duration=config.transfer_duration,
            key=key,
        )
    except (ValueError, ArithmeticError) as e:  # the model and its scores stand without it
        why = f"{type(e).__name__}: {e}"
        say(f"  not computed: {why}")
        return {"not_computed": why}
    say("  speed (m/s) median [10th - 90th percentile], stopped fraction, median wall distance (m):")
    rows = [("the animal (training part)", out["animal"])] + [(a["arena"], a) for a in out["arenas"]]
    for name, s in rows:
        ratio = (
            f"  ({s['median_speed_ratio']:.2f} x the animal's median)" if "median_speed_ratio" in s else ""
        )
        say(
            f"  {name:<28} {s['speed_median']:.3f} [{s['speed_p10']:.3f} - {s['speed_p90']:.3f}], "
            f"{s['stopped_fraction']:.2f}, {s['wall_distance_median']:.3f}{ratio}"
        )
    return out


def _cross_validate(rec, params, config, key, say, out: Path | None) -> dict[str, Any]:
    folds = []
    for i, (start, stop) in enumerate(time_blocks(rec, config.folds)):
        say(f"cross-validation: fold {i + 1}/{config.folds} held out ({start:.0f}-{stop:.0f} s)")
        train, test = split_recording(rec, 0.0, start, stop)
        store = None
        if out is not None and config.model != "ou":
            store = CheckpointStore(out, f"{PROGRESS_DIR}-fold{i + 1}", say=lambda _m: None)
        _, fold_scores, _ = _fit_block(
            train, test, params, config, jax.random.fold_in(key, 100 + i), lambda _m: None, None, store
        )
        folds.append(fold_scores)
    return summarise_folds(folds)


def _arena_text(params: OpenFieldParams) -> str:
    """The arena in words, for the fit's log: ``"1 x 1 m box"``, ``"circular arena of radius 0.5 m"``, or a
    polygon's bounding box and parts, and the preset it is: ``"polygon arena (the plus_maze preset),
    0.65 x 0.65 m bounding box, 12 vertices, 6 walls, 5 regions"``."""
    if params.arena_shape == "circle":
        return f"circular arena of radius {float(params.radius):g} m"
    if params.arena_shape != "polygon":
        return f"{float(params.width):g} x {float(params.height):g} m box"
    arena = json.loads(params.arena)
    name = _preset_name(arena)
    preset = f" (the {name} preset)" if name else ""
    ex, ey = (float(v) for v in params.extent)
    if arena.get("shape") == "box":
        words = [f"{arena['width']:g} x {arena['height']:g} m box{preset}"]
    elif arena.get("shape") == "circle":
        words = [f"circular arena of radius {arena['radius']:g} m{preset}"]
    else:
        words = [f"polygon arena{preset}", f"{ex:.3g} x {ey:.3g} m bounding box"]
        words.append(_count(len(arena["boundary"]), "vertex", "vertices"))
    words += [_count(len(arena[k]), k[:-1], k) for k in ("holes", "walls", "regions") if arena[k]]
    return ", ".join(words)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _preset_name(arena: dict[str, Any]) -> str | None:
    """The name of the preset whose canonical mapping ``arena`` is, or ``None``."""
    from ..envs.arena import resolve_arena
    from ..envs.arena_presets import preset_names

    return next((name for name in preset_names() if resolve_arena(name) == arena), None)
