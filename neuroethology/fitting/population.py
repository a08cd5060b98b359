"""Several animals, one model: a network fitted to every animal at once, each animal with its own identity.

Each animal (each individual of each recording; recordings keep their own clocks and arenas, nothing is
merged onto a shared time axis) is prepared, split in time and reconstructed exactly as a one-animal fit
does (:mod:`~neuroethology.fitting.pipeline`): its own smoothing, its own arena, its last
``holdout_fraction`` held out. The rows of all animals train one network. With ``animal_identity=
"embedding"`` (the default) each row also carries the animal's one-hot identity, appended to the vector
observation: the encoder's first layer turns it into a learned per-animal vector added to that layer's
input (a per-animal embedding; Hausman et al. 2017's latent intention codes and the animal-identity inputs
of multi-animal behaviour models are the same construction), so that what differs between animals is
modelled by a few weights per animal and everything else is shared. ``animal_identity="pooled"`` fits the
same network without it (one model of the average animal; what the embedding is measured against).

Training windows are drawn uniformly over all animals' rows (and early stopping pools them), so an animal
recorded for longer weighs more in the fit (two hours of one rat against ten minutes of another: 12 to 1).
Every animal gets its own random-motion baseline and null model; held-out likelihoods are reported per
animal and pooled. The model's *twin* of each animal (the network with that animal's identity, in that
animal's arena) is let loose, and its movement statistics are set next to the animal's held-out part:
the between-animal spread of each statistic (standard deviation over animals) of the twins against the
animals', and, with three animals or more, their correlation over animals (does the twin of the fastest
animal run fastest?). The animals' own train-vs-held-out differences are the noise yardstick. As in a
one-animal fit, each twin is also measured on every ``compare`` metric against its animal's held-out part
(``report_metrics``) and let loose in arenas it never saw (``transfer_arenas``); cross-validation over time
blocks (``folds``) is for one-animal fits only.

    recs = [neuroethology.data.load(f) for f in ("rat1.nc", "rat2.nc")]
    result = fit_animals(recs, FitConfig(), out="runs/two-rats")
    twin = load_fitted("runs/two-rats", animal="rat2.nc:rat")
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import xarray as xr

from .. import envs as ne
from ..envs.open_field import OpenFieldParams
from ..runs import run_lock
from .behaviour import fit_agent
from .closed_loop import closed_loop_check, movement_samples, movement_summary, simulate
from .config import FitConfig, FittedModel
from .random_motion_fit import fit_random_motion
from .reconstruct import Demonstration, baseline_windows, demonstration
from .run_dir import CheckpointStore, prepare_fit_dir, recording_fingerprint, save_population
from .scoring import heldout_scores
from .split import prepare_recording, split_recording
from .targets import append_identity, identity_space, target_space, to_targets

__all__ = [
    "AnimalPart",
    "PopulationResult",
    "animals_of",
    "fit_animals",
    "between_animals",
    "SPREAD_STATISTICS",
]

#: The movement statistics whose spread over animals is reported (``closed_loop.movement_summary`` keys).
SPREAD_STATISTICS = (
    "speed_median",
    "speed_p90",
    "stopped_fraction",
    "turning_rate_median",
    "wall_distance_median",
)
#: The longest free simulation per simulated animal in seed selection and in the between-animal report, s.
MAX_SIMULATION = 600.0


class AnimalPart(NamedTuple):
    """One animal, placed and split: what the fit reads of it."""

    name: str
    params: OpenFieldParams  # OpenField in this animal's arena at its frame interval
    train: xr.Dataset
    test: xr.Dataset
    demo_fit: Demonstration  # training rows minus the validation block
    demo_val: Demonstration
    demo_train: Demonstration
    demo_test: Demonstration
    windows_train: np.ndarray
    windows_test: np.ndarray


class PopulationResult(NamedTuple):
    models: dict[str, FittedModel]  # each animal's twin: the shared network with its identity, in its arena
    scores: dict[str, Any]  # per animal and pooled held-out likelihoods, the between-animal report
    train_curves: dict[str, np.ndarray]


def animals_of(recs: Sequence[xr.Dataset]) -> list[tuple[str, xr.Dataset]]:
    """Every individual of every recording as its own animal, ``(name, one-animal recording)``. Names are the
    individuals' own; where they repeat across recordings (two files of one ``"rat"``), each is prefixed by
    its file's name (``"sargolini.nc:rat"``) or, for a recording without one, by its place in the list."""
    found = []
    for i, rec in enumerate(recs):
        source = Path(str(rec.attrs.get("source_file") or "")).name or f"recording{i}"
        for ind in rec["individual"].values:
            found.append((i, source, str(ind), rec.sel(individual=[ind])))
    bare = [ind for _, _, ind, _ in found]
    unique = len(set(bare)) == len(bare)
    names = [ind if unique else f"{src}:{ind}" for _, src, ind, _ in found]
    if len(set(names)) != len(names):
        names = [f"recording{i}:{ind}" for i, _, ind, _ in found]
    return [(name, one) for name, (_, _, _, one) in zip(names, found, strict=True)]


def _with_identity(demo: Demonstration, code: np.ndarray | None) -> Demonstration:
    if code is None:
        return demo
    return demo._replace(observations=jax.tree.map(np.asarray, append_identity(demo.observations, code)))


def _concatenate(demos: Sequence[Demonstration]) -> Demonstration:
    """Rows of several animals one after another; each animal's first row starts a new episode."""
    fixed = []
    for d in demos:
        start = np.asarray(d.episode_start, bool).copy()
        if start.size:
            start[0] = True
        held = d.heading_held if d.heading_held is not None else np.zeros(d.num_steps, bool)
        fixed.append(d._replace(episode_start=start, heading_held=held))
    return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *fixed)


def _identity_codes(names: Sequence[str], config: FitConfig) -> dict[str, np.ndarray | None]:
    if config.animal_identity == "pooled":
        return dict.fromkeys(names)
    eye = np.eye(len(names), dtype=np.float32)
    return {name: eye[i] for i, name in enumerate(names)}


def _prepare(
    recs: Sequence[xr.Dataset], config: FitConfig, arenas: Sequence[Any] | None
) -> list[tuple[str, xr.Dataset, OpenFieldParams]]:
    """Each animal smoothed and placed in OpenField in its own arena (a clear error naming it otherwise); all
    must share the environment's settings other than the arena, or one network could not read them all."""
    if arenas is not None and len(arenas) != len(recs):
        raise ValueError(f"fit_animals: {len(arenas)} arenas for {len(recs)} recordings (one each, or none)")
    recording_of = [i for i, rec in enumerate(recs) for _ in rec["individual"].values]  # animals_of's order
    prepared = []
    for (name, one), i in zip(animals_of(recs), recording_of, strict=True):
        try:
            one, params = prepare_recording(one, config, None if arenas is None else arenas[i])
        except ValueError as e:
            raise ValueError(f"animal {name!r}: {e}") from None
        prepared.append((name, one, params))
    if len(prepared) < 2:
        raise ValueError(
            f"fit_animals: {len(prepared)} animal; fit one animal with fit_recording (`neuroethology fit`)"
        )
    _check_same_environment(prepared)
    return prepared


_ARENA_FIELDS = {"arena", "arena_shape", "width", "height", "radius", "extent", "origin"}


def _check_same_environment(prepared: list[tuple[str, xr.Dataset, OpenFieldParams]]) -> None:
    env = ne.OpenField()
    first_name, _, first = prepared[0]
    space = _vector_space(env.observation_space(first))
    for name, _, params in prepared[1:]:
        if not _same(params.dt, first.dt):
            raise ValueError(
                f"fit_animals: animal {name!r} is sampled every {float(params.dt):g} s and {first_name!r} every "
                f"{float(first.dt):g} s; one network steps at one rate: resample them to one frame interval "
                "(env_params.dt=SECONDS on the command line, FitConfig(env_params={'dt': SECONDS}) in Python; "
                "each recording is resampled within its tracked segments)"
            )
        other = _vector_space(env.observation_space(params))
        if not (np.allclose(other.low, space.low) and np.allclose(other.high, space.high)):
            raise ValueError(
                f"fit_animals: animal {name!r}'s wall rays read up to {float(other.high[0]):.3g} m and "
                f"{first_name!r}'s up to {float(space.high[0]):.3g} m (rays read as far as each arena reaches, or "
                "ray_range): give the rays a finite range no longer than the smallest arena's, "
                f"ray_range=METRES <= {min(float(other.high[0]), float(space.high[0])):.3g}"
            )
        differ = [
            f.name
            for f in dataclasses.fields(params)
            if f.name not in _ARENA_FIELDS and not _same(getattr(params, f.name), getattr(first, f.name))
        ]
        if differ:
            raise ValueError(
                f"fit_animals: animal {name!r} and {first_name!r} differ in the environment's "
                f"{', '.join(differ)}; only the arena may differ between animals"
            )


def _vector_space(space: Any) -> Any:
    """The vector part of an observation space (the whole of it without an image)."""
    return space["vector"] if hasattr(space, "spaces") and "vector" in space.spaces else space


def _same(a: Any, b: Any) -> bool:
    """Equal settings: numbers to float32 precision (a frame interval of 1 / 25 s computed two ways), the
    rest exactly."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number):
        return bool(np.allclose(a, b, rtol=1e-6, atol=0))
    return bool(np.array_equal(a, b))


def _split(name: str, rec: xr.Dataset, params: OpenFieldParams, config: FitConfig) -> AnimalPart:
    """One animal's training/validation/held-out parts on its own clock, as a one-animal fit splits them."""
    from .pipeline import _in_arena  # the arena the animal is fitted in, on its parts (as a one-animal fit)

    min_step = config.min_speed * float(params.dt)
    rec = _in_arena(rec, ne.OpenField().arena(params))
    train, test = split_recording(rec, config.holdout_fraction)
    t = train["time"].values
    cut = float(t[0]) + (1 - config.validation_fraction) * (float(t[-1]) - float(t[0]))
    fit_part, val_part = split_recording(train, config.validation_fraction, cut, float(t[-1]) + 1e-9)
    return AnimalPart(
        name=name,
        params=params,
        train=train,
        test=test,
        demo_fit=demonstration(fit_part, params, min_step),
        demo_val=demonstration(val_part, params, min_step),
        demo_train=demonstration(train, params, min_step),
        demo_test=demonstration(test, params, min_step),
        windows_train=baseline_windows(train, params),
        windows_test=baseline_windows(test, params),
    )


def fit_animals(
    recs: Sequence[xr.Dataset],
    config: FitConfig,
    *,
    arenas: Sequence[Any] | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    say: Callable[[str], None] = print,
    progress: Callable[[int, np.ndarray, np.ndarray | None], None] | None = None,
) -> PopulationResult:
    """Fit one network to every animal of ``recs`` (see the module docstring); ``arenas`` (one per recording)
    places recordings that store none. ``out``, ``resume`` and ``overwrite`` as for
    :func:`~neuroethology.fitting.pipeline.fit_recording`."""
    start_time = time.time()
    if config.model == "ou":
        raise ValueError(
            "fit_animals fits a network (model=gru, lstm or rnn; --model on the command line); the random-motion "
            "model 'ou' is fitted to each animal alone"
        )
    prepared = _prepare(recs, config, arenas)
    if out is None:
        return _fit(prepared, config, None, say, progress, start_time)
    out = Path(out)
    with run_lock(out, "fit --resume" if resume else "fit"):
        data = "+".join(recording_fingerprint(rec, params) for _, rec, params in prepared)
        config = prepare_fit_dir(out, config, data=data, resume=resume, overwrite=overwrite)
        return _fit(prepared, config, out, say, progress, start_time)


def _fit(prepared, config: FitConfig, out: Path | None, say, progress, start_time: float) -> PopulationResult:
    key = jax.random.key(config.seed)
    if config.folds > 1:
        say(
            f"not done for several animals (one-animal fits only, for now): folds={config.folds}; each animal's "
            "last part is held out instead"
        )
    parts = [_split(name, rec, params, config) for name, rec, params in prepared]
    codes = _identity_codes([p.name for p in parts], config)
    for p in parts:
        span = float(p.train["time"][-1] - p.train["time"][0]) + float(p.test["time"][-1] - p.test["time"][0])
        say(
            f"animal {p.name}: about {span:.0f} s at {1 / float(p.params.dt):g} Hz, {p.demo_train.num_steps} training rows"
        )
    first = parts[0].params
    baselines = {p.name: fit_random_motion(p.windows_train, p.params).params for p in parts}
    num_animals = len(parts)
    space = ne.OpenField().observation_space(first)
    if config.animal_identity == "embedding":
        space = identity_space(space, num_animals)
    train_rows = _concatenate(
        [_with_identity(to_targets(p.demo_fit, p.params, config.warp), codes[p.name]) for p in parts]
    )
    val_rows = _concatenate(
        [_with_identity(to_targets(p.demo_val, p.params, config.warp), codes[p.name]) for p in parts]
    )
    say(
        f"{config.model.upper()}: fitting {config.num_seeds} networks of {config.hidden_size} units to {num_animals} "
        f"animals ({train_rows.num_steps} steps; identity: {config.animal_identity}), {config.total_steps} updates"
    )
    store = CheckpointStore(out, say=say) if out is not None else None
    fitted = fit_agent(
        train_rows,
        space,
        target_space(first, config.warp),
        agent_config=config.agent_config,
        config=config.cloning(first),
        num_updates=config.total_steps,
        key=key,
        num_seeds=config.num_seeds,
        dt=float(first.dt),
        validation=val_rows,
        patience=config.patience,
        progress=progress,
        store=store,
    )

    def twins(weights) -> dict[str, FittedModel]:
        return {
            p.name: FittedModel(
                config.model,
                p.params,
                baselines[p.name],
                fitted.graphdef,
                weights,
                config.warp,
                codes[p.name],
            )
            for p in parts
        }

    chosen, selection = _select_seed(config, fitted, parts, twins, jax.random.fold_in(key, 7), say)
    models = twins(fitted.seed_weights(chosen))
    scores: dict[str, Any] = {
        "animals": [p.name for p in parts],
        "animal_identity": config.animal_identity,
        "selected_seed": int(chosen),
        "updates_of_selected_seed": int(fitted.best_update[chosen]),
        **selection,
    }
    scores["heldout"] = _heldout(models, parts, config)
    say(f"held-out bits/step over each animal's null: {_bits_text(scores['heldout'])}")
    scores["between_animals"] = between_animals(
        models,
        {p.name: p.train for p in parts},
        {p.name: p.test for p in parts},
        runs=config.selection_runs,
        key=jax.random.fold_in(key, 300),
    )
    for line in between_animals_table(scores["between_animals"]).splitlines():
        say("  " + line)
    scores.update(_per_animal_checks(models, parts, config, key, say))
    scores["wall_time_s"] = round(time.time() - start_time, 1)
    result = PopulationResult(
        models, scores, {"train_nll": fitted.train_nll, "validation_ll": fitted.validation_ll}
    )
    if out is not None:
        sources = ", ".join(sorted({str(rec.attrs.get("source_file", "")) for _, rec, _ in prepared}))
        save_population(result, config, out, source=sources)
    return result


def _per_animal_checks(models: dict[str, FittedModel], parts, config: FitConfig, key, say) -> dict[str, Any]:
    """What a one-animal fit reports, for each animal's twin: every ``compare`` metric against the animal's
    held-out part with its own train-vs-held-out yardstick (``report_metrics``), and the twin in arenas it
    never saw next to the animal (``transfer_arenas``); ``{"behaviour_vs_heldout": {animal: ...},
    "transfer": {animal: ...}}`` as far as asked for."""
    from .pipeline import _behaviour_vs_heldout, _transfer

    out: dict[str, Any] = {}
    for i, p in enumerate(parts):
        if config.report_metrics or config.transfer_arenas:
            say(f"animal {p.name}:")
        if config.report_metrics:
            k = jax.random.fold_in(jax.random.fold_in(key, 300), i)
            report = _behaviour_vs_heldout(models[p.name], p.train, p.test, config, k, say)
            out.setdefault("behaviour_vs_heldout", {})[p.name] = report
        if config.transfer_arenas:
            k = jax.random.fold_in(jax.random.fold_in(key, 200), i)
            out.setdefault("transfer", {})[p.name] = _transfer(models[p.name], p.train, config, k, say)
    return out


def _select_seed(config, fitted, parts, twins, key, say) -> tuple[int, dict[str, Any]]:
    """The kept seed: the best validation likelihood, or (``select="closed_loop"``) the seed whose twins'
    free simulations best match their animals' training parts: the mean over animals of the largest KS
    statistic of speed, turning rate and wall distance."""
    if config.select != "closed_loop" or config.num_seeds == 1:
        return fitted.best, {}
    runs = max(1, config.selection_runs // len(parts))
    say(f"selection: simulating each of the {config.num_seeds} networks' twins of every animal ({runs} each)")
    reference = {p.name: movement_samples(p.train) for p in parts}
    per_seed = []
    for i in range(config.num_seeds):
        models = twins(fitted.seed_weights(i))
        checks = {}
        for p in parts:
            t = p.train["time"].values
            checks[p.name] = closed_loop_check(
                models[p.name],
                p.train,
                runs=runs,
                key=key,
                duration=min(float(t[-1] - t[0]), MAX_SIMULATION),
                reference_samples=reference[p.name],
            )
        per_seed.append(checks)
    worst = [float(np.mean([max(c.values()) for c in checks.values()])) for checks in per_seed]
    return int(np.argmin(worst)), {"closed_loop_check_on_training_data": per_seed}


def _heldout(models: dict[str, FittedModel], parts: list[AnimalPart], config: FitConfig) -> dict[str, Any]:
    """Each animal's held-out scores (network, its own baseline, its own null) and the step-weighted pool."""
    per = {}
    for p in parts:
        per[p.name] = heldout_scores(
            models[p.name], config, p.params, p.demo_train, p.demo_test, p.windows_test
        )
    steps = np.array([s["test_steps"] for s in per.values()], float)
    pooled = {
        name: float(np.sum(steps * [s[name]["bits_per_step_over_null"] for s in per.values()]) / steps.sum())
        for name in ("network", "baseline")
    }
    return {"per_animal": per, "pooled_bits_per_step_over_null": pooled, "test_steps": int(steps.sum())}


def _bits_text(heldout: dict[str, Any]) -> str:
    per = heldout["per_animal"]
    items = [f"{name} {s['network']['bits_per_step_over_null']:+.3f}" for name, s in per.items()]
    pooled = heldout["pooled_bits_per_step_over_null"]
    return (
        ", ".join(items) + f"; pooled network {pooled['network']:+.3f}, baselines {pooled['baseline']:+.3f}"
    )


def between_animals(
    models: dict[str, FittedModel],
    train: dict[str, xr.Dataset],
    test: dict[str, xr.Dataset],
    *,
    runs: int,
    key: jax.Array,
) -> dict[str, Any]:
    """Each animal's movement statistics (held-out part) next to its twin's (``runs`` simulated animals, as
    long as the held-out part up to ``MAX_SIMULATION`` s, in the animal's arena), and per statistic the
    spread over animals of both (standard deviation), their correlation over animals (three animals or
    more) and the animals' own train-vs-held-out difference (mean absolute, the noise yardstick)."""
    rows = {}
    for i, (name, model) in enumerate(models.items()):
        t = test[name]["time"].values
        duration = min(float(t[-1] - t[0]), MAX_SIMULATION)
        twin = simulate(model, duration=duration, key=jax.random.fold_in(key, i), num_runs=runs)
        rows[name] = {
            "animal": movement_summary(movement_samples(test[name])),
            "animal_training_part": movement_summary(movement_samples(train[name])),
            "model": movement_summary(movement_samples(twin)),
            "simulated_s": duration * runs,
        }
    spread = {}
    for stat in SPREAD_STATISTICS:
        animal = np.array([r["animal"][stat] for r in rows.values()])
        model = np.array([r["model"][stat] for r in rows.values()])
        noise = np.array([abs(r["animal_training_part"][stat] - r["animal"][stat]) for r in rows.values()])
        corr = (
            float(np.corrcoef(animal, model)[0, 1])
            if len(rows) >= 3 and animal.std() > 0 and model.std() > 0
            else None
        )
        spread[stat] = {
            "animals_sd": float(animal.std(ddof=1)),
            "model_sd": float(model.std(ddof=1)),
            "correlation": corr,
            "animal_train_vs_heldout": float(noise.mean()),
        }
    return {"per_animal": rows, "spread": spread}


def between_animals_table(report: dict[str, Any]) -> str:
    """The between-animal report as a Markdown table: one row per statistic."""
    lines = [
        "| statistic | s.d. over animals | s.d. over their twins | correlation | animal train vs held-out |",
        "|---|---:|---:|---:|---:|",
    ]
    for stat, s in report["spread"].items():
        corr = "" if s["correlation"] is None else f"{s['correlation']:+.2f}"
        lines.append(
            f"| {stat} | {s['animals_sd']:.3f} | {s['model_sd']:.3f} | {corr} | {s['animal_train_vs_heldout']:.3f} |"
        )
    return "\n".join(lines)
