"""Figure: a recurrent network trained to path-integrate a rat's movements, and whether its units are grid-like.

Reproduces, in the 1 x 1 m box of Sargolini et al. 2006, the path-integration networks of Banino et al. 2018
(Nature 557:429, Fig. 1), Cueva & Wei 2018 (ICLR) and Sorscher et al. 2019 (NeurIPS) / 2023 (Neuron 111:121):
a recurrent network receives only the velocity ``(vx, vy)`` of a moving rat, starts from a linear read-in of the
place-cell code of its start position, and is trained to output the place-cell code of the current position.

(a) a held-out stretch of the real rat's path (the last 20% of the Sargolini recording, never trained on) and the
    position decoded from the network (mean centre of its three most active place cells, as Sorscher et al.),
    run on from the true start for ``example_steps`` steps; and the decoding error over the steps of the
    held-out sequences, against guessing the arena's centre and holding the start position;
(b) the training loss (cross-entropy to the place-cell code) and the held-out decoding error over training;
(c) rate maps of the units with the highest grid scores, from a long simulated trajectory (the network restarted
    from the true place-cell code every ``seq_len`` steps, as Sorscher et al. measure their maps);
(d) the grid scores of all units against their circular-shift shuffles (20 s or more), the fraction of units
    whose score exceeds its own shuffles' ``percentile``, and the grid spacing of those units; the untrained
    network's units (its initial weights) through the same measures, as a control.

The model (Sorscher et al.): a ReLU RNN without leak (the package's ``LeakyRNNCore`` with ``tau = dt`` and no
noise, i.e. ``h' = relu(W h + U v + b)``), a linear read-in of the start place-cell code to the initial state, a
linear read-out to the place cells, softmax cross-entropy to difference-of-Gaussians place-cell targets
(Sorscher's normalisation: shifted to be non-negative, summing to 1), an L2 penalty on the recurrent weights,
Adam (Optax). Sequences of ``seq_len`` steps of ``dt`` (the 50 Hz tracking subsampled, every phase used) are cut
from the real rat's first 80% and from RatInABox-like simulated rats (``OpenField-v0`` with ``RandomMotion``);
each batch takes ``rat_share`` of its sequences from the rat.

How ours differs: 256 units and 256 place cells instead of 4,096 and 512; a 1 x 1 m box (Sorscher: 2.2 m) with
place fields scaled to it (sigma 6 cm, surround 2x: the DoG's spectral peak puts the optimal hexagonal lattice
at ~0.45 m); thousands of training steps instead of 100,000; rat-speed trajectories (0.1 m/s, RatInABox fitted
to Sargolini) instead of Sorscher's fast ones; the grid score and shuffle test of :mod:`neuroethology.analysis.
neural` (Sargolini annulus) instead of Banino's / Sorscher's own. The papers' numbers are not compared here:
their fractions of grid-like units depend on their own scores, thresholds and network sizes.

Claims: ``learns_path_integration`` (held-out decoding error on the real rat < 0.5 x the error of guessing the
arena's centre) in both modes; full mode also ``grid_like_units_found`` (any unit's grid score above its
shuffles' ``percentile``; the fraction is in the numbers) -- a result either way -- and
``more_grid_units_than_untrained`` (a larger fraction of units above their shuffles' 99th percentile than in the
same network before training, measured on the same path: the control the shuffle test alone lacks). Caveats: the shuffles shift
a unit's activity in time, destroying all its spatial tuning, so any multi-field unit scores above them more
easily than a random map would; and a lattice of ~0.5 m shows only two or three fields in a 1 m box. The numbers
also give the error relative to holding the start position (``error_ratio_to_hold_start``): the rat moves only
~0.1 m/s, so holding the start already beats guessing the centre; below 1 the network integrates the movement.

Budgets (2 CPU cores shared with other jobs): full mode trains 3,000 Adam steps of 100 sequences (256 units;
170 s at load ~6, 330 s at load 8-13, i.e. 9-18 steps/s) and takes 190-400 s in all (data ~15 s, 100 shuffles
per unit for the trained and the untrained network ~30 s); its held-out error is ~0.04 m from step 1,000 on.
Fast mode trains 800 steps of 64 sequences (~35 s) on fewer simulated data, 20 shuffles per unit, 65-80 s in all
under that contention (its grid numbers, from a 5 min path and 20 shuffles, are not claims). The recurrent weights start at
the identity (IRNN): from an orthogonal start the ReLU network forgets the start position within a few steps and
had not left chance after 400 steps, where the identity start decodes within ~0.1 m after 300.
Full-mode result (seed 0, reproduced bit for bit by a retrain): held-out rat error 0.036 m (guessing the centre
0.335 m, holding the start 0.134 m); 34/256 units above their shuffles' 95th percentile, 22/256 above the 99th
(the untrained network: 0 and 0); those units' spacing 0.54-0.58 m (quartiles), the DoG optimum 0.45 m.

Command::

    neuroethology figures --only path_integration --out out/figures      # --fast for the CI budget
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import neuroethology.envs as ne
from neuroethology import datasets
from neuroethology.agents.cores import LeakyRNNCore
from neuroethology.analysis.neural import (
    compute_grid_properties,
    compute_rate_maps,
    make_grid_score_fn,
    make_map_score_fn,
    make_rate_map_fn,
    shuffle_null,
)
from neuroethology.analysis.plots.style import PALETTE
from neuroethology.gallery import FigureResult

TRACK_DT = 0.02  # s: the 50 Hz of the Sargolini tracking and of OpenField-v0
TOP_K = 3  # place cells averaged by the decoder (Sorscher et al.)

# ---------------------------------------------------------------------------------------------------- data


def _rat_paths(stride: int, train_fraction: float) -> tuple[list[np.ndarray], list[np.ndarray], tuple]:
    """The Sargolini rat's tracked segments (``(N, 2)`` m at 50 Hz, no gaps), split in time: ``(train, test,
    box (width, height))``."""
    rec = datasets.sargolini()
    pos = rec.position.values[:, :, 0, 0]
    seg = rec.segment.values[:, 0]
    split = rec.time.values[0] + train_fraction * (rec.time.values[-1] - rec.time.values[0])
    train, test = [], []
    for s in np.unique(seg[seg >= 0]):
        for part, keep in ((train, rec.time.values < split), (test, rec.time.values >= split)):
            p = pos[(seg == s) & keep]
            if len(p) > stride * 2 and np.isfinite(p).all():
                part.append(p)
    box = (float(rec.attrs["arena_width"]), float(rec.attrs["arena_height"]))
    return train, test, box


def _sim_paths(n_envs: int, seconds: float, seed: int, box: tuple) -> np.ndarray:
    """``(n_envs, steps, 2)`` m at 50 Hz: RatInABox-like rats (``RandomMotion``) in ``OpenField-v0``'s box,
    one episode each (``seconds`` long)."""
    env, params = ne.make("OpenField-v0", width=box[0], height=box[1], episode_duration=float(seconds) + 1.0)
    steps = int(round(seconds / TRACK_DT))
    out = ne.rollout(
        env, ne.policies.RandomMotion(), jax.random.key(seed), params, num_steps=steps, num_envs=n_envs
    )
    return np.swapaxes(np.asarray(out.states.position, np.float32), 0, 1)


def _windows(paths, stride: int, seq_len: int, hop: int) -> np.ndarray:
    """``(n, seq_len + 1, 2)``: every path subsampled to every ``stride``-th frame at each of the ``stride``
    phases, cut into windows of ``seq_len`` steps starting every ``hop`` steps."""
    out = []
    for path in paths:
        for phase in range(stride):
            sub = np.asarray(path[phase::stride], np.float32)
            for start in range(0, len(sub) - seq_len, hop):
                out.append(sub[start : start + seq_len + 1])
    return np.stack(out) if out else np.zeros((0, seq_len + 1, 2), np.float32)


def _place_centres(n: int, box: tuple, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(n, 2)) * np.asarray(box)).astype(np.float32)


def _place_code(pos: jax.Array, centres: jax.Array, sigma: float, surround: float) -> jax.Array:
    """Difference-of-Gaussians place-cell code ``(..., Np)`` of positions ``(..., 2)`` (Sorscher et al.: a
    softmax over cells of each Gaussian, the surround's subtracted, shifted to be >= 0 and normalised to 1)."""
    d2 = jnp.sum((pos[..., None, :] - centres) ** 2, -1)
    code = jax.nn.softmax(-d2 / (2 * sigma**2), -1) - jax.nn.softmax(-d2 / (2 * (surround * sigma) ** 2), -1)
    code = code - jnp.min(code, -1, keepdims=True)
    return code / jnp.sum(code, -1, keepdims=True)


def _decode(logits: jax.Array, centres: jax.Array) -> jax.Array:
    """Position ``(..., 2)``: the mean centre of the ``TOP_K`` place cells with the largest output."""
    _, idx = jax.lax.top_k(logits, TOP_K)
    return jnp.mean(centres[idx], -2)


# --------------------------------------------------------------------------------------------------- model


def _model(hidden: int, n_place: int, seed: int, recurrent_init: str):
    """``(graphdef, params)``: the ReLU RNN core (``LeakyRNNCore`` with ``alpha = dt / tau = 1``, no noise;
    recurrent weights ``"orthogonal"`` as the core starts them, or the ``"identity"`` of the IRNN, Le, Jaitly &
    Hinton 2015, which keeps the start position in memory from the first step), and the read-in ``(Np, H)`` and
    read-out ``(H, Np)`` matrices."""
    core = LeakyRNNCore(
        2, hidden, dt=1.0, tau=1.0, noise_std=0.0, rate_activation="relu", rngs=nnx.Rngs(seed)
    )
    if recurrent_init == "identity":
        core.w_h.value = jnp.eye(hidden, dtype=jnp.float32)
    elif recurrent_init != "orthogonal":
        raise ValueError(
            f"path_integration: recurrent_init must be identity or orthogonal, got {recurrent_init!r}"
        )
    graphdef, core_params = nnx.split(core)
    k_in, k_out = jax.random.split(jax.random.key(seed + 1))
    params = {
        "core": core_params,
        "read_in": jax.random.normal(k_in, (n_place, hidden)) / np.sqrt(n_place),
        "read_out": jax.random.normal(k_out, (hidden, n_place)) / np.sqrt(hidden),
    }
    return graphdef, params


def _forward(graphdef, params, windows: jax.Array, place, cfg: Mapping[str, Any]):
    """``(hidden (B, T, H), logits (B, T, Np), targets (B, T, Np))`` for position windows ``(B, T + 1, 2)``."""
    core = nnx.merge(graphdef, params["core"])
    code = place(windows)
    h0 = code[:, 0] @ params["read_in"]
    velocity = (windows[:, 1:] - windows[:, :-1]) / (cfg["dt"] * cfg["velocity_scale"])
    drive = core.project(velocity)
    empty = jnp.zeros((windows.shape[0], 0), jnp.float32)

    def step(h, x):
        return core.recur(h, x, empty)

    _, hidden = jax.lax.scan(step, h0, jnp.swapaxes(drive, 0, 1))
    hidden = jnp.swapaxes(hidden, 0, 1)
    return hidden, hidden @ params["read_out"], code[:, 1:]


def _loss(graphdef, params, windows, place, cfg):
    _, logits, targets = _forward(graphdef, params, windows, place, cfg)
    cross_entropy = -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(logits), -1))
    penalty = cfg["weight_decay"] * jnp.sum(params["core"]["w_h"][...] ** 2)
    return cross_entropy + penalty, cross_entropy


def _trainer(graphdef, place, cfg, pools: tuple[jax.Array, jax.Array]):
    """A jitted ``(params, opt_state, key) -> (params, opt_state, cross-entropy per step)`` running
    ``eval_every`` Adam steps, each on a batch of ``batch`` windows (``rat_share`` of them the rat's)."""
    optimiser = optax.adam(cfg["learning_rate"])
    rat_pool, sim_pool = pools
    n_rat = int(round(cfg["batch"] * cfg["rat_share"]))
    grad = jax.value_and_grad(lambda p, w: _loss(graphdef, p, w, place, cfg), has_aux=True)

    def one(carry, key):
        params, opt_state = carry
        k_rat, k_sim = jax.random.split(key)
        batch = jnp.concatenate(
            [
                rat_pool[jax.random.randint(k_rat, (n_rat,), 0, rat_pool.shape[0])],
                sim_pool[jax.random.randint(k_sim, (cfg["batch"] - n_rat,), 0, sim_pool.shape[0])],
            ]
        )
        (_, ce), g = grad(params, batch)
        updates, opt_state = optimiser.update(g, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), ce

    @jax.jit
    def run(params, opt_state, key):
        (params, opt_state), ce = jax.lax.scan(
            one, (params, opt_state), jax.random.split(key, cfg["eval_every"])
        )
        return params, opt_state, ce

    return optimiser, run


def _error_fn(graphdef, place, centres, cfg):
    """A jitted ``(params, windows (B, T + 1, 2)) -> (B, T)`` decoding error (m) at each step: compiled once per
    batch shape for every evaluation of a run (the parameters are an argument, not constants baked in)."""
    return jax.jit(
        lambda p, w: jnp.linalg.norm(
            _decode(_forward(graphdef, p, w, place, cfg)[1], centres) - w[:, 1:], axis=-1
        )
    )


def _errors(error_fn, params, windows) -> np.ndarray:
    """``(n, T)`` decoding error (m) at each step of each window, in batches (``error_fn``: :func:`_error_fn`)."""
    return np.concatenate(
        [np.asarray(error_fn(params, jnp.asarray(windows[i : i + 512]))) for i in range(0, len(windows), 512)]
    )


def _train(graphdef, params, data, place, centres, cfg, log) -> tuple[Any, dict[str, np.ndarray]]:
    """Train for ``steps`` (a multiple of ``eval_every``); the cross-entropy of every step and the held-out
    (rat) decoding error every ``eval_every`` steps."""
    pools = (jnp.asarray(data["rat_train"]), jnp.asarray(data["sim_train"]))
    optimiser, run = _trainer(graphdef, place, cfg, pools)
    opt_state = optimiser.init(params)
    key = jax.random.key(cfg["seed"])
    error_fn = _error_fn(graphdef, place, centres, cfg)
    losses, evals, error = [], [0], [_errors(error_fn, params, data["rat_test"]).mean()]
    for chunk in range(cfg["steps"] // cfg["eval_every"]):
        key, sub = jax.random.split(key)
        params, opt_state, ce = run(params, opt_state, sub)
        losses.append(np.asarray(ce))
        evals.append((chunk + 1) * cfg["eval_every"])
        error.append(_errors(error_fn, params, data["rat_test"]).mean())
        log(
            f"path_integration: step {evals[-1]}: loss {losses[-1].mean():.4f}, held-out error {error[-1]:.3f} m"
        )
    history = {
        "loss": np.concatenate(losses),
        "eval_step": np.asarray(evals),
        "eval_error": np.asarray(error),
    }
    return params, history


def _data(cfg: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Position windows ``(n, seq_len + 1, 2)``: ``rat_train`` / ``rat_test`` (the Sargolini rat before / after
    ``train_fraction`` of its session), ``sim_train`` / ``sim_test`` (simulated rats), ``example`` (one held-out
    stretch of the rat, ``example_steps`` long) and ``maps`` (``(N, 2)``: the long simulated path for rate
    maps), all at ``dt``."""
    stride, seq_len = cfg["stride"], cfg["seq_len"]
    train, test, box = _rat_paths(stride, cfg["train_fraction"])
    sim = _sim_paths(cfg["sim_envs"] + 1, cfg["sim_seconds"], cfg["seed"], box)
    maps = _sim_paths(cfg["map_envs"], cfg["sim_seconds"], cfg["seed"] + 1, box)[:, ::stride]
    longest = max(test, key=len)[::stride]
    return {
        "box": np.asarray(box),
        "rat_train": _windows(train, stride, seq_len, cfg["hop"]),
        "rat_test": _windows(test, stride, seq_len, cfg["hop"]),
        "sim_train": _windows(sim[:-1], stride, seq_len, cfg["hop"]),
        "sim_test": _windows(sim[-1:], stride, seq_len, cfg["hop"]),
        "example": longest[None, : cfg["example_steps"] + 1],
        "maps": maps[:, : (maps.shape[1] - 1) // seq_len * seq_len + 1],
    }


# ------------------------------------------------------------------------------------------------ measures


def _path_integration(graphdef, params, data, place, centres, cfg) -> dict[str, Any]:
    """Held-out decoding errors per step (rat and simulated), the two baselines, and the example run."""
    box = data["box"]
    out: dict[str, Any] = {}
    error_fn = _error_fn(graphdef, place, centres, cfg)
    for name in ("rat_test", "sim_test"):
        windows = data[name]
        err = _errors(error_fn, params, windows)
        centre = np.linalg.norm(windows[:, 1:] - box / 2, axis=-1)
        hold = np.linalg.norm(windows[:, 1:] - windows[:, :1], axis=-1)
        out[name] = {
            "n_sequences": len(windows),
            "error_by_step_m": err.mean(0),
            "error_m": float(err.mean()),
            "centre_guess_by_step_m": centre.mean(0),
            "centre_guess_m": float(centre.mean()),
            "hold_start_by_step_m": hold.mean(0),
            "hold_start_m": float(hold.mean()),
        }
    example = jnp.asarray(data["example"])
    logits = _forward(graphdef, params, example, place, cfg)[1]
    decoded = np.asarray(_decode(logits, centres))[0]
    true = np.asarray(example)[0]
    out["example"] = {
        "true_xy_m": true,
        "decoded_xy_m": decoded,
        "error_m": np.linalg.norm(decoded - true[1:], axis=-1),
        "time_s": cfg["dt"] * np.arange(1, len(true)),
    }
    return out


def _unit_activity(activity_fn, params, data, cfg) -> tuple[np.ndarray, np.ndarray]:
    """``(activity (N, H), xy (N, 2))`` along the long simulated paths: the network restarted from the true
    place-cell code every ``seq_len`` steps (windows sharing their end points, so the samples are contiguous).
    ``activity_fn``: a jitted ``(params, windows) -> hidden`` (one compile for the trained and the untrained
    network)."""
    t = cfg["seq_len"]
    windows = np.concatenate(
        [np.stack([p[i : i + t + 1] for i in range(0, len(p) - t, t)]) for p in data["maps"]]
    )
    hidden = np.concatenate(
        [
            np.asarray(activity_fn(params, jnp.asarray(windows[i : i + 256])))
            for i in range(0, len(windows), 256)
        ]
    )
    return hidden.reshape(-1, hidden.shape[-1]), windows[:, 1:].reshape(-1, 2)


def _p99(null: np.ndarray) -> np.ndarray:
    """Each unit's 99th percentile of its shuffles' scores (NaN where none could be scored)."""
    finite = np.isfinite(null).any(1)
    out = np.full(len(null), np.nan)
    out[finite] = np.nanpercentile(null[finite], 99, axis=1)
    return out


def _grid_units(activity: np.ndarray, xy: np.ndarray, box, cfg) -> dict[str, Any]:
    """Rate maps, grid scores (Sargolini annulus), spacing, and each unit's score against ``shuffles``
    circular shifts of its activity (at least ``min_shift`` s) at ``percentile``."""
    durations = np.full(len(xy), cfg["dt"])
    extent = (0.0, float(box[0]), 0.0, float(box[1]))
    kw = {"extent": extent, "bin_size": cfg["bin_size"], "sigma": cfg["map_sigma"], "kind": "rate"}
    kw["min_occupancy"] = cfg["min_occupancy"]
    maps = compute_rate_maps(xy, activity, durations, **kw)
    props = compute_grid_properties(maps.maps, bin_size=cfg["bin_size"])
    score_fn = make_map_score_fn(
        make_rate_map_fn(xy, durations, **kw),
        make_grid_score_fn(maps.maps.shape[1:], bin_size=cfg["bin_size"]),
    )
    null = shuffle_null(
        score_fn,
        activity,
        durations,
        key=jax.random.key(cfg["seed"]),
        n_shuffles=cfg["shuffles"],
        min_shift=cfg["min_shift"],
        percentile=cfg["percentile"],
    )
    active = activity.max(0) > 0
    return {
        "maps": maps.maps,
        "score": props.scores.score,
        "spacing_m": props.scores.spacing,
        "null": null.null,
        "threshold": null.threshold,
        "significant": null.significant,
        "n_units": int(activity.shape[1]),
        "n_silent_units": int((~active).sum()),
        "n_scored_units": int(np.isfinite(props.scores.score).sum()),
        "fraction_significant": float(null.significant.mean()),
        "fraction_above_shuffles_p99": float(np.mean(props.scores.score > _p99(null.null))),
        "n_significant": int(null.significant.sum()),
    }


# ------------------------------------------------------------------------------------------------- figure


def _letter(ax, letter: str, x: float = -0.28) -> None:
    ax.text(x, 1.1, letter, transform=ax.transAxes, fontsize=10, fontweight="bold", va="bottom")


def _panel_a(ax_path, ax_err, pi: Mapping[str, Any], box, cfg) -> None:
    ex = pi["example"]
    ax_path.plot(*ex["true_xy_m"].T, color=PALETTE["animal"], label="rat (held out)")
    ax_path.plot(*ex["decoded_xy_m"].T, color=PALETTE["agent"], lw=0.8, label="decoded from RNN")
    ax_path.plot(*ex["true_xy_m"][0], "o", color="k", ms=3, label="start (given)")
    ax_path.set(xlim=(0, box[0]), ylim=(0, box[1]), aspect="equal", xlabel="x (m)", ylabel="y (m)")
    ax_path.set_title(f"{ex['time_s'][-1]:.0f} s of the real rat", fontsize=8)
    ax_path.legend(loc="upper left", bbox_to_anchor=(-0.1, -0.32), fontsize=6)
    _letter(ax_path, "a")
    rat = pi["rat_test"]
    steps = cfg["dt"] * np.arange(1, len(rat["error_by_step_m"]) + 1)
    ax_err.plot(steps, rat["error_by_step_m"], color=PALETTE["agent"], label="RNN, rat (held out)")
    ax_err.plot(
        steps, pi["sim_test"]["error_by_step_m"], color=PALETTE["agent"], ls="--", label="RNN, simulated"
    )
    ax_err.plot(steps, rat["centre_guess_by_step_m"], color=PALETTE["grey"], label="guess centre")
    ax_err.plot(steps, rat["hold_start_by_step_m"], color=PALETTE["baseline"], ls=":", label="hold start")
    ax_err.plot(ex["time_s"], ex["error_m"], color=PALETTE["agent"], lw=0.5, alpha=0.5, label="example (a)")
    ax_err.axvline(steps[-1], color="k", lw=0.5, ls=":")
    ax_err.set(xlabel="time since start (s)", ylabel="decoding error (m)", ylim=(0, None))
    ax_err.legend(loc="upper left", bbox_to_anchor=(-0.1, -0.32), fontsize=6)


def _panel_b(ax_loss, ax_err, history: Mapping[str, np.ndarray], pi: Mapping[str, Any]) -> None:
    loss = history["loss"]
    ax_loss.plot(np.arange(1, len(loss) + 1), loss, color=PALETTE["agent"], lw=0.5)
    ax_loss.set(xlabel="training step", ylabel="cross-entropy (nats)")
    _letter(ax_loss, "b")
    ax_err.plot(history["eval_step"], history["eval_error"], "o-", ms=2, color=PALETTE["agent"], label="RNN")
    ax_err.axhline(pi["rat_test"]["centre_guess_m"], color=PALETTE["grey"], label="guess centre")
    ax_err.axhline(pi["rat_test"]["hold_start_m"], color=PALETTE["baseline"], ls=":", label="hold start")
    ax_err.set(xlabel="training step", ylabel="held-out error (m)", ylim=(0, None))
    ax_err.legend(loc="upper left", bbox_to_anchor=(-0.1, -0.32), fontsize=6)


def _panel_c(fig, spec, grid: Mapping[str, Any], shown: np.ndarray, box, pct: float) -> None:
    side = int(np.ceil(np.sqrt(len(shown))))
    inner = spec.subgridspec(side, side, wspace=0.08, hspace=0.3)
    for k, unit in enumerate(shown):
        ax = fig.add_subplot(inner[k // side, k % side])
        ax.imshow(grid["maps"][unit], origin="lower", extent=(0, box[0], 0, box[1]), cmap="jet")
        star = "*" if grid["significant"][unit] else ""
        ax.set_title(f"{unit}: {grid['score'][unit]:.2f}{star}", fontsize=5, pad=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            _letter(ax, "c", x=-0.4)
            ax.text(
                -0.1,
                1.5,
                f"rate maps (unit: grid score; * > its shuffles' {pct:g}th pct)",
                transform=ax.transAxes,
                fontsize=7,
            )


def _panel_d(ax_score, ax_space, grid: Mapping[str, Any], control: Mapping[str, Any], cfg) -> None:
    bins = np.linspace(-1.5, 2.0, 36)
    null = grid["null"][np.isfinite(grid["null"])]
    ax_score.hist(
        null, bins=bins, density=True, color=PALETTE["grey"], label=f"shuffles ({cfg['shuffles']}/unit)"
    )
    obs = grid["score"][np.isfinite(grid["score"])]
    ax_score.hist(
        obs, bins=bins, density=True, histtype="step", color=PALETTE["agent"], lw=1.2, label="units"
    )
    untrained = control["score"][np.isfinite(control["score"])]
    label = f"untrained units ({control['n_significant']} above shuffles)"
    ax_score.hist(
        untrained, bins=bins, density=True, histtype="step", color="k", lw=0.7, ls="--", label=label
    )
    ax_score.axvline(0, color="k", lw=0.5, ls=":")
    ax_score.set(xlabel="grid score", ylabel="density")
    ax_score.set_title(
        f"{grid['n_significant']}/{grid['n_units']} units above their shuffles' {cfg['percentile']:g}th pct",
        fontsize=7,
    )
    ax_score.legend(fontsize=6)
    _letter(ax_score, "d")
    sig = grid["significant"] & np.isfinite(grid["spacing_m"])
    every = grid["spacing_m"][np.isfinite(grid["spacing_m"])]
    edges = np.linspace(0, 0.8, 17)
    ax_space.hist(every, bins=edges, color=PALETTE["grey"], label="all units with six peaks")
    ax_space.hist(grid["spacing_m"][sig], bins=edges, color=PALETTE["agent"], label="significant units")
    ax_space.axvline(cfg["dog_spacing_m"], color="k", ls="--", lw=0.7, label="DoG optimum")
    ax_space.set(xlabel="grid spacing (m)", ylabel="units")
    ax_space.legend(fontsize=6)


def _figure(pi, history, grid, control, box, cfg):
    fig = plt.figure(figsize=(7.0, 8.2))
    outer = fig.add_gridspec(2, 1, height_ratios=[1, 1.45], hspace=0.75)
    top = outer[0].subgridspec(1, 4, wspace=0.6)
    axes = [fig.add_subplot(top[i]) for i in range(4)]
    _panel_a(axes[0], axes[1], pi, box, cfg)
    _panel_b(axes[2], axes[3], history, pi)
    bottom = outer[1].subgridspec(1, 2, width_ratios=[1.25, 1], wspace=0.3)
    order = np.argsort(-np.nan_to_num(grid["score"], nan=-np.inf))
    shown = order[: cfg["units_shown"]]
    _panel_c(fig, bottom[0], grid, shown, box, cfg["percentile"])
    right = bottom[1].subgridspec(2, 1, hspace=0.55)
    _panel_d(fig.add_subplot(right[0]), fig.add_subplot(right[1]), grid, control, cfg)
    return fig, shown


# --------------------------------------------------------------------------------------------------- make


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's sections flattened into one mapping, with ``dt`` (s per network step) and the spacing of
    the hexagonal lattice at the DoG's spectral peak, ``4 pi / (sqrt 3 k*)``, ``k*^2 = 2 ln(s^2) /
    (sigma^2 (s^2 - 1))`` (continuum, unbounded arena)."""
    cfg: dict[str, Any] = {"seed": int(config["seed"])}
    for section in ("data", "place_cells", "model", "train", "maps", "claims"):
        cfg.update(config[section])
    cfg["dt"] = cfg["stride"] * TRACK_DT
    s2, sigma = cfg["surround"] ** 2, cfg["place_sigma"]
    k_star = np.sqrt(2 * np.log(s2) / (sigma**2 * (s2 - 1)))
    cfg["dog_spacing_m"] = float(4 * np.pi / (np.sqrt(3) * k_star))
    if cfg["steps"] % cfg["eval_every"]:
        raise ValueError(f"path_integration: steps ({cfg['steps']}) must be a multiple of eval_every")
    return cfg


def _trained(ctx, cfg, data, place, centres):
    """``(graphdef, initial parameters, trained parameters, training history)``, trained once per
    configuration (``ctx.cached``)."""
    graphdef, params = _model(cfg["hidden"], cfg["n_place"], cfg["seed"], cfg["recurrent_init"])
    params["read_in"] = params["read_in"] * cfg["read_in_gain"]
    leaves, treedef = jax.tree.flatten(params)
    spec = {k: ctx.config[k] for k in ("seed", "data", "place_cells", "model", "train")}

    def build(directory: Path) -> None:
        trained, history = _train(graphdef, params, data, place, centres, cfg, ctx.log)
        np.savez(directory / "params.npz", *[np.asarray(x) for x in jax.tree.leaves(trained)])
        np.savez(directory / "history.npz", **history)

    directory = ctx.cached("rnn", spec, build)
    with np.load(directory / "params.npz") as f:
        trained = jax.tree.unflatten(treedef, [jnp.asarray(f[f"arr_{i}"]) for i in range(len(leaves))])
    with np.load(directory / "history.npz") as f:
        history = {k: f[k] for k in f.files}
    return graphdef, params, trained, history


def make(ctx) -> FigureResult:
    cfg = _settings(ctx.config)
    data = _data(cfg)
    box = data["box"]
    centres = jnp.asarray(_place_centres(cfg["n_place"], tuple(box), cfg["seed"]))

    def place(windows):
        return _place_code(windows, centres, cfg["place_sigma"], cfg["surround"])

    graphdef, initial, params, history = _trained(ctx, cfg, data, place, centres)
    pi = _path_integration(graphdef, params, data, place, centres, cfg)
    activity_fn = jax.jit(lambda p, w: _forward(graphdef, p, w, place, cfg)[0])
    activity, xy = _unit_activity(activity_fn, params, data, cfg)
    ctx.log(f"path_integration: grid scores of {activity.shape[1]} units, {cfg['shuffles']} shuffles each")
    grid = _grid_units(activity, xy, box, cfg)
    # control: the same measures on the untrained network (its initial weights), on the same path
    control = _grid_units(*_unit_activity(activity_fn, initial, data, cfg), box, cfg)
    fig, shown = _figure(pi, history, grid, control, box, cfg)
    rat = pi["rat_test"]
    ratio = rat["error_m"] / rat["centre_guess_m"]
    claims = {"learns_path_integration": bool(ratio < cfg["max_error_ratio"])}
    if not ctx.fast:
        claims["grid_like_units_found"] = bool(grid["n_significant"] > 0)
        # the untrained network's units pass the shuffle test too, at some rate: compare at the 99th percentile
        claims["more_grid_units_than_untrained"] = bool(
            grid["fraction_above_shuffles_p99"] > control["fraction_above_shuffles_p99"]
        )
    numbers = {
        "settings": {k: v for k, v in cfg.items() if np.isscalar(v)},
        "data": {k: list(np.shape(v)) for k, v in data.items()},
        "training": history,
        "path_integration": pi,
        "error_ratio_to_centre_guess": ratio,
        "error_ratio_to_hold_start": rat["error_m"] / rat["hold_start_m"],
        "grid": {k: v for k, v in grid.items() if k not in ("maps", "null")},
        "untrained_grid": {k: v for k, v in control.items() if k not in ("maps", "null")},
        "grid_null_quantiles": np.nanpercentile(grid["null"], [5, 50, 95, 99])
        if np.isfinite(grid["null"]).any()
        else None,
        "shown_units": shown,
        "shown_maps": grid["maps"][shown],
        "median_spacing_significant_m": float(np.nanmedian(grid["spacing_m"][grid["significant"]]))
        if grid["n_significant"]
        else float("nan"),
        "samples_for_maps": int(len(xy)),
    }
    return FigureResult(fig, numbers, claims)
