"""Fit models of a recorded animal, save them as a run, and let them loose in the environment.

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

The run directory holds ``config.yaml`` (the resolved config), ``model.json`` (what was fitted and how well),
``metrics.jsonl`` (training curves), ``checkpoints/`` (the networks' weights, Orbax) and ``manifest.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from flax import nnx

from .. import envs as ne
from ..agents import AgentConfig
from ..agents.cores import CoreConfig
from ..agents.encoders import EncoderConfig
from ..envs.open_field import OpenFieldParams
from ..envs.policies import RandomMotion, RandomMotionParams
from .behaviour import CloningConfig, agent_log_likelihood, fit_agent
from .random_motion_fit import action_log_likelihood, fit_random_motion
from .reconstruct import Demonstration, open_field_params_for, path_windows, reconstruct_path
from .targets import DEFAULT_WARP, TargetSpeedPolicy, Warp, target_log_jacobian, target_space, to_targets

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
]

MODELS = ("gru", "lstm", "rnn", "ou")
_CORE_OF = {"gru": "gru", "lstm": "lstm", "rnn": "leaky_rnn"}
SUPPORTED_ENVS = ("neuroethology/OpenField-v0",)


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """How ``neuroethology fit`` models a recording (every field can be overridden as ``key=value``)."""

    seed: int = 0
    total_steps: int = 1500  # gradient updates of the networks ("ou" ignores it)
    model: Literal["gru", "lstm", "rnn", "ou"] = "gru"  # "rnn" is the leaky rate RNN
    env: str = "neuroethology/OpenField-v0"
    env_params: dict[str, Any] = dataclasses.field(default_factory=dict)  # OpenField overrides, e.g. n_rays
    hidden_size: int = 64  # recurrent units
    image: bool = False  # add OpenField's egocentric image and a CNN encoder
    num_seeds: int = 4  # networks trained at once (vmap); the best on validation is kept
    learning_rate: float = 3e-3
    batch_size: int = 32  # training windows per update
    window: int = 128  # steps per training window
    burn_in: int = 16  # steps that only warm the recurrent state up
    smoothing: float = (
        0.02  # s, Gaussian smoothing of positions before anything else (tracking jitter; 0: none)
    )
    min_speed: float = 0.025  # m/s: below it the heading is undefined and held (tracking jitter)
    speed_offset: float = 0.0  # m/s: > 0 models log(next speed + speed_offset) (fitting.targets; 0: linear)
    turn_scale: float = 2.0  # rad/s: networks model asinh(angular velocity / turn_scale) (0: linear)
    self_motion_noise: float = 0.1  # s.d. of noise added to the speed and turn-rate inputs while training,
    # in units of their half range (teaches the network to correct its own deviations; 0: none)
    noise_inputs: Literal["speed_and_turn", "speed", "turn"] = "speed"  # which inputs get that noise
    holdout_fraction: float = 0.2  # the last part of the recording, held out for testing
    validation_fraction: float = 0.1  # the last part of the rest, for early stopping
    folds: int = 1  # > 1: also cross-validate held-out likelihoods over this many contiguous blocks
    patience: int = 10  # chunks of updates without validation improvement before stopping early
    select: Literal["likelihood", "closed_loop"] = "closed_loop"  # how the kept seed is chosen (see below)
    selection_runs: int = 8  # closed-loop selection: simulated animals per seed

    def validate(self) -> list[str]:
        problems = []
        for name, allowed in (
            ("model", MODELS),
            ("select", ("likelihood", "closed_loop")),
            ("noise_inputs", ("speed_and_turn", "speed", "turn")),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.env not in SUPPORTED_ENVS:
            problems.append(f"env: fitting supports {SUPPORTED_ENVS}, got {self.env!r}")
        if not 0 < self.holdout_fraction < 1:
            problems.append(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if not 0 < self.validation_fraction < 1:
            problems.append(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        for name in ("total_steps", "hidden_size", "num_seeds", "batch_size", "window", "folds", "patience"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.burn_in < self.window:
            problems.append(f"burn_in must be in [0, window), got {self.burn_in} (window {self.window})")
        if self.smoothing < 0 or self.min_speed < 0:
            problems.append("smoothing and min_speed must be >= 0")
        if not (self.speed_offset >= 0 and self.turn_scale >= 0):
            problems.append("speed_offset and turn_scale must be >= 0 (0: no warp)")
        return problems

    @property
    def warp(self) -> Warp:
        return Warp(self.speed_offset, self.turn_scale)

    @property
    def agent_config(self) -> AgentConfig:
        if self.model == "ou":
            raise ValueError("the 'ou' model has no network")
        return AgentConfig(
            encoder=EncoderConfig(),
            core=CoreConfig(kind=_CORE_OF[self.model], hidden_size=self.hidden_size),
            squash="clip",
            init_std=0.2,
        )

    def cloning(self, params: OpenFieldParams) -> CloningConfig:
        """Optimisation settings; the self-motion inputs are OpenField's last two vector features."""
        n = int(params.n_rays)
        return CloningConfig(
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            window=self.window,
            burn_in=self.burn_in,
            input_noise=self.self_motion_noise,
            noise_features={"speed_and_turn": (n, n + 1), "speed": (n,), "turn": (n + 1,)}[self.noise_inputs],
        )


class FittedModel(NamedTuple):
    """A fitted model ready to simulate: ``kind`` "ou" or a network kind, with what it needs."""

    kind: str
    env_params: OpenFieldParams
    baseline: RandomMotionParams
    graphdef: nnx.GraphDef | None = None
    weights: nnx.State | None = None  # the selected network's weights (no seed axis)
    warp: Warp = DEFAULT_WARP  # how the network's outputs map to speed and angular velocity

    def policy(self, *, deterministic: bool = False):
        """The model behind the environments' policy protocol."""
        if self.kind == "ou":
            return RandomMotion(self.baseline)
        return TargetSpeedPolicy(self.graphdef, self.weights, warp=self.warp, deterministic=deterministic)


class FitResult(NamedTuple):
    model: FittedModel
    scores: dict[str, Any]  # held-out log-likelihoods and more (what model.json stores)
    train_curves: dict[str, np.ndarray]


# ---------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------


def prepare_recording(
    rec: xr.Dataset, config: FitConfig, arena: dict | None = None
) -> tuple[xr.Dataset, OpenFieldParams]:
    """Smooth (if asked) and place a recording in OpenField; raises a clear ``ValueError`` if it does not fit."""
    from ..data import smooth

    problems = config.validate()
    if problems:
        raise ValueError("invalid fit config: " + "; ".join(problems))
    if rec.sizes.get("individual", 1) != 1:
        raise ValueError(
            f"{rec.attrs.get('source_file') or 'recording'}: fitting models one animal; this recording has "
            f"{rec.sizes['individual']} individuals (select one with rec.isel(individual=[i]))"
        )
    if config.smoothing > 0:
        rec = smooth(rec, sigma=config.smoothing)
    overrides = dict(config.env_params)
    if "dt" in overrides:  # the environment's step sets the sampling: resample within segments
        from ..data import resample

        dt = float(overrides.pop("dt"))
        if abs(dt * float(rec.attrs["fps"]) - 1.0) > 1e-6:
            rec = resample(rec, dt=dt)
    params = open_field_params_for(rec, arena, **overrides)
    if config.image:
        params = params.replace(observe_image=True)
    return rec, params


def _track(rec: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    xy = rec["position"].isel(keypoint=0, individual=0).transpose("time", "space").values.astype(float)
    seg = rec["segment"].isel(individual=0).values if "segment" in rec else None
    return xy, rec["time"].values.astype(float), seg


def _demo(rec: xr.Dataset, params: OpenFieldParams, min_step: float) -> Demonstration:
    """Teacher-forcing rows of a (sub-)recording."""
    xy, t, seg = _track(rec)
    return reconstruct_path(xy, params, time=t, segment=seg, min_step=min_step)


def _windows(rec: xr.Dataset, params: OpenFieldParams) -> np.ndarray:
    """The baseline's likelihood windows of a (sub-)recording, step for step with :func:`_demo`'s rows."""
    xy, t, seg = _track(rec)
    return path_windows(xy, params, time=t, segment=seg)


def _split(rec: xr.Dataset, holdout: float, start: float | None = None, stop: float | None = None):
    """(train, test): test is ``[start, stop)`` of the time axis, train the rest."""
    t = rec["time"].values
    t0, t1 = float(t[0]), float(t[-1]) + 1e-9
    if start is None:
        start, stop = t1 - holdout * (t1 - t0), t1
    test = rec.isel(time=np.flatnonzero((t >= start) & (t < stop)))
    train = _split_segments_at_gaps(rec.isel(time=np.flatnonzero((t < start) | (t >= stop))))
    return train, test


def _split_segments_at_gaps(rec: xr.Dataset) -> xr.Dataset:
    """Number tracked segments so that none spans a jump in time (where a held-out block was cut out)."""
    t = rec["time"].values.astype(float)
    if len(t) < 2:
        return rec
    jumps = np.concatenate([[0], np.cumsum(np.diff(t) > 1.5 * np.median(np.diff(t)))])
    if not jumps[-1]:
        return rec
    if "segment" in rec:
        seg = rec["segment"].values
        width = int(seg.max()) + 1
        new = np.where(seg >= 0, seg + width * jumps.reshape((-1,) + (1,) * (seg.ndim - 1)), seg)
        return rec.assign(segment=(rec["segment"].dims, new))
    ones = np.ones((len(t), rec.sizes.get("individual", 1)), int)
    return rec.assign(segment=(("time", "individual"), jumps[:, None] * ones))


def _gaussian_null(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = actions.mean(axis=0)
    cov = np.cov(actions.T) + 1e-9 * np.eye(actions.shape[1])
    return mean, cov


def _gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = x - mean
    inv = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    return -0.5 * (np.einsum("ni,ij,nj->n", d, inv, d) + logdet + len(mean) * math.log(2 * math.pi))


# ---------------------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------------------


def _fit_block(
    train: xr.Dataset,
    test: xr.Dataset,
    params: OpenFieldParams,
    config: FitConfig,
    key: jax.Array,
    say: Callable[[str], None],
    progress: Callable[[int, np.ndarray, np.ndarray | None], None] | None,
) -> tuple[FittedModel, dict[str, Any], dict[str, np.ndarray]]:
    min_step = config.min_speed * float(params.dt)
    t = train["time"].values
    cut = float(t[0]) + (1 - config.validation_fraction) * (float(t[-1]) - float(t[0]))
    fit_part, val_part = _split(train, config.validation_fraction, cut, float(t[-1]) + 1e-9)
    demo_train, demo_test = _demo(train, params, min_step), _demo(test, params, min_step)
    windows_train, windows_test = _windows(train, params), _windows(test, params)
    demo_fit, demo_val = _demo(fit_part, params, min_step), _demo(val_part, params, min_step)

    say(
        f"baseline: fitting RatInABox's random-motion model to {demo_train.num_steps} steps by maximum likelihood"
    )
    baseline = fit_random_motion(windows_train, params)
    inside = demo_test.in_bounds
    ll_base = action_log_likelihood(baseline.params, windows_test, params)[inside]
    mean, cov = _gaussian_null(demo_train.actions[demo_train.in_bounds])
    ll_null = _gaussian_logpdf(demo_test.actions[inside], mean, cov)
    scores: dict[str, Any] = {
        "test_steps": int(inside.sum()),
        "test_steps_outside_action_space": int((~inside).sum()),
        "null": _summary(ll_null, ll_null),
        "baseline": _summary(ll_base, ll_null),
    }
    curves: dict[str, np.ndarray] = {}
    model = FittedModel("ou", params, baseline.params)
    if config.model != "ou":
        env = ne.OpenField()
        space = target_space(params, config.warp)
        say(
            f"{config.model.upper()}: fitting {config.num_seeds} networks of {config.hidden_size} units to "
            f"{demo_fit.num_steps} steps ({demo_val.num_steps} for early stopping), {config.total_steps} updates"
        )
        fitted = fit_agent(
            to_targets(demo_fit, params, config.warp),
            env.observation_space(params),
            space,
            agent_config=config.agent_config,
            config=config.cloning(params),
            num_updates=config.total_steps,
            key=key,
            num_seeds=config.num_seeds,
            dt=float(params.dt),
            validation=to_targets(demo_val, params, config.warp),
            patience=config.patience,
            progress=progress,
        )
        chosen = fitted.best
        if config.select == "closed_loop" and config.num_seeds > 1:  # one seed: nothing to choose
            say(f"selection: simulating each of the {config.num_seeds} networks freely in the arena")
            train_samples = movement_samples(train)
            checks = [
                closed_loop_check(
                    FittedModel(
                        config.model,
                        params,
                        baseline.params,
                        fitted.graphdef,
                        fitted.seed_weights(i),
                        config.warp,
                    ),
                    train,
                    runs=config.selection_runs,
                    key=jax.random.fold_in(key, 7),
                    reference_samples=train_samples,
                )
                for i in range(config.num_seeds)
            ]
            scores["closed_loop_check_on_training_data"] = checks
            chosen = int(np.argmin([max(c.values()) for c in checks]))
        weights = fitted.seed_weights(chosen)
        ll_net = agent_log_likelihood(
            fitted.graphdef, weights, to_targets(demo_test, params, config.warp), space
        )
        ll_net = (ll_net + target_log_jacobian(demo_test, params, config.warp))[inside]
        scores["network"] = _summary(ll_net, ll_null)
        scores["selected_seed"] = int(chosen)
        scores["updates_of_selected_seed"] = int(fitted.best_update[chosen])
        curves = {"train_nll": fitted.train_nll, "validation_ll": fitted.validation_ll}
        model = FittedModel(config.model, params, baseline.params, fitted.graphdef, weights, config.warp)
    return model, scores, curves


CHECK_MIN_SPEED = 0.025  # m/s: turning rates are compared only while the animal moves (heading defined)


def movement_samples(rec: xr.Dataset, arena: dict | None = None) -> dict[str, np.ndarray]:
    """Pooled samples of speed (m/s), turning rate (|angular velocity| rad/s, while moving faster than
    ``CHECK_MIN_SPEED``) and distance to the nearest wall (m) over every individual of a Recording."""
    from .. import analysis

    out: dict[str, list[np.ndarray]] = {"speed": [], "turning_rate": [], "wall_distance": []}
    for one in analysis.split_individuals(rec):
        values = {
            "speed": analysis.compute_speed(one).values,
            "turning_rate": np.abs(analysis.compute_angular_velocity(one, min_speed=CHECK_MIN_SPEED).values),
            "wall_distance": analysis.compute_wall_distance(one, arena=arena).values,
        }
        for name, v in values.items():
            v = np.ravel(v)
            out[name].append(v[np.isfinite(v)])
    return {name: np.concatenate(v) for name, v in out.items()}


def ks_statistics(sim: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    """Two-sample KS statistic per statistic of two :func:`movement_samples` results."""
    from scipy.stats import ks_2samp

    return {name: float(ks_2samp(sim[name], ref[name]).statistic) for name in sim}


def closed_loop_check(
    model: FittedModel,
    reference: xr.Dataset,
    *,
    runs: int,
    key: jax.Array,
    duration: float | None = None,
    reference_samples: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Two-sample KS statistics between ``model``'s free simulation (``runs`` animals, as long as the
    reference unless ``duration``) and a reference Recording, for speed, turning rate and wall distance.
    ``reference_samples`` (``movement_samples(reference)``) saves recomputing them for several models."""
    t = reference["time"].values
    duration = duration or float(t[-1] - t[0])
    sim = movement_samples(simulate(model, duration=duration, key=key, num_runs=runs))
    return ks_statistics(
        sim, reference_samples if reference_samples is not None else movement_samples(reference)
    )


def _summary(ll: np.ndarray, ll_null: np.ndarray) -> dict[str, float]:
    per_step = float(np.mean(ll))
    gain = per_step - float(np.mean(ll_null))
    return {
        "log_likelihood_per_step": per_step,
        "bits_per_step_over_null": gain / math.log(2),
        "normalised_likelihood": math.exp(gain),
    }


def fit_recording(
    rec: xr.Dataset,
    config: FitConfig,
    *,
    arena: dict | None = None,
    out: str | Path | None = None,
    say: Callable[[str], None] = print,
    progress: Callable[[int, np.ndarray, np.ndarray | None], None] | None = None,
) -> FitResult:
    """Fit the baseline and (unless ``model="ou"``) a network to one animal's recording; see the module
    docstring. With ``out``, the run directory is written (an existing non-empty one is refused)."""
    start_time = time.time()
    if out is not None:
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not empty; choose a new --out")
    rec, params = prepare_recording(rec, config, arena)
    key = jax.random.key(config.seed)
    train, test = _split(rec, config.holdout_fraction)
    say(
        f"data: {float(rec['time'][-1] - rec['time'][0]):.0f} s at {1 / float(params.dt):g} Hz in a "
        f"{_arena_text(params)}; the last {config.holdout_fraction:.0%} held out"
    )
    model, scores, curves = _fit_block(train, test, params, config, key, say, progress)
    if config.folds > 1:
        scores["cross_validation"] = _cross_validate(rec, params, config, key, say)
    scores["wall_time_s"] = round(time.time() - start_time, 1)
    result = FitResult(model, scores, curves)
    if out is not None:
        save_fitted(result, config, out, source=str(rec.attrs.get("source_file", "")))
    return result


def _cross_validate(rec, params, config, key, say) -> dict[str, Any]:
    t = rec["time"].values
    edges = np.linspace(float(t[0]), float(t[-1]) + 1e-9, config.folds + 1)
    folds = []
    for i in range(config.folds):
        say(f"cross-validation: fold {i + 1}/{config.folds} held out ({edges[i]:.0f}-{edges[i + 1]:.0f} s)")
        train, test = _split(rec, 0.0, float(edges[i]), float(edges[i + 1]))
        _, fold_scores, _ = _fit_block(
            train, test, params, config, jax.random.fold_in(key, 100 + i), lambda _m: None, None
        )
        folds.append(fold_scores)
    out: dict[str, Any] = {"folds": folds}
    for name in ("null", "baseline", "network"):
        if all(name in f for f in folds):
            values = [f[name]["log_likelihood_per_step"] for f in folds]
            out[name] = {"log_likelihood_per_step_mean": float(np.mean(values)), "sd": float(np.std(values))}
    return out


def _arena_text(params: OpenFieldParams) -> str:
    if params.arena_shape == "circle":
        return f"circular arena of radius {float(params.radius):g} m"
    return f"{float(params.width):g} x {float(params.height):g} m box"


# ---------------------------------------------------------------------------------------------------------
# Run directories
# ---------------------------------------------------------------------------------------------------------


def _params_dict(p: Any) -> dict[str, Any]:
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
        "env_params": _params_dict(model.env_params),
        "baseline_params": _params_dict(model.baseline),
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
    info = json.loads(path.read_text())
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


# ---------------------------------------------------------------------------------------------------------
# Closed loop
# ---------------------------------------------------------------------------------------------------------


def simulate(
    model: FittedModel,
    *,
    duration: float,
    key: jax.Array,
    num_runs: int = 1,
    arena: dict | None = None,
) -> xr.Dataset:
    """Run a fitted model freely for ``duration`` seconds (``num_runs`` independent animals, named
    ``<kind><i>``), in the recorded arena or ``arena``; the Recording of
    :func:`neuroethology.simulation.run_session` (positions, headings, actions and, for networks, the units'
    activity ``hidden``)."""
    from ..simulation import run_session

    env = ne.env_of(model.env_params)
    params = model.env_params if arena is None else env.with_arena(model.env_params, arena)
    return run_session(
        env,
        params,
        [model.policy()],
        duration=duration,
        key=key,
        names=[model.kind],
        num_runs=num_runs,
        attrs={"model": model.kind},
    )
