"""Figure: a GRU trained by PPO on the cued T-maze with a delay learns the task, its units' activity over the cue
and the delay differs between left- and right-choice trials, and the choice is linearly decodable from them at
every step of the delay.

Reproduces, on ``neuroethology/TMaze-v0`` (``configs/t_maze.yaml``), the analyses of Harvey, Coen & Tank 2012
(Nature 484:62, "Choice-specific sequences in parietal cortex during a virtual-navigation decision task"):

(a) learning curve (their Fig. 1 shows the mice's performance over training sessions): the fraction of correct
    choices of the agent saved at every checkpoint (sampling its policy as it acts, and greedy), on ``blocks``
    fresh blocks of 10 trials each, with the on-policy fraction during training (``metrics.jsonl``'s return per
    block / 10 trials) and chance (0.5);
(b) delay-period activity (their sequence plots): trial-averaged activity of the 64 GRU units from cue onset to
    the end of the delay, on left- and right-choice trials, each unit normalised to its range, units grouped by
    preferred choice and sorted by peak time; sorted on a random half of the trials, shown on the other half (so
    that a sequence is not an artefact of sorting noise);
(c) choice (and cue) decoding (their choice-specific population activity): cross-validated accuracy of a linear
    classifier (least squares on +-1 labels with an L2 penalty, i.e. shrinkage LDA; stratified ``folds``) from
    the 64 units at each 0.1 s step, against chance and the 5-95% band of ``shuffles`` label shuffles.

How ours differs: an abstract task (observation flags for cue, go and outcome; 1 s cue, 2 s delay, 0.1 s steps;
no running, no visual corridor), 64 recurrent units of one network instead of neurons imaged in several mice,
tanh unit outputs instead of calcium transients, and a near-perfect agent, so the choice and the cue agree on
almost every trial (the numbers give the count of error trials, and on them the fraction a decoder fitted to the
correct trials reads as the choice made: 0 so far, i.e. the units hold the cue and the agent's few errors are
lapses of its sampled choice, where the mice's error trials could tell choice from cue). Harvey et al. found
transient activations staggered in time, sequences spanning the trial, rather than long-lived stable states; our
units mix cue-locked transients, units ramping to the choice and persistent ones (the numbers count the units
peaking in the delay and at its last step, and the distinct peak times). The learning curve is over PPO
environment steps, not sessions; the untrained agent's greedy action is to wait, so its greedy accuracy is 0
(omissions), its sampled one chance.

Claims: ``learns`` (the final agent, sampling, is correct on >= 0.9 of trials; configs/t_maze.yaml reaches 0.995
with 1M steps) and ``choice_decodable_over_delay`` (the choice decoder beats the 95th percentile of its shuffled
null at every 0.1 s step of the delay); ``cue_decodable_over_delay`` likewise for the cue.

Full mode: configs/t_maze.yaml's 1M steps (trained in ~35 s) and the analysis of 17 checkpoints, ~65 s in all;
fast mode trains 409,600 steps (~25 s) and takes ~50 s (both measured on 2 CPU cores shared with other jobs)::

    neuroethology figures --only t_maze --out out/figures            # --fast for the CI budget
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from neuroethology.config import read_yaml
from neuroethology.envs.t_maze import CUE, DELAY
from neuroethology.gallery import FigureResult, merge_config
from neuroethology.runs.checkpoints import checkpoint_manager, restore_checkpoint
from neuroethology.runs.metrics import read_metrics
from neuroethology.training import load_run
from neuroethology.training.devices import run_hyperparams, run_keys

TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "t_maze.yaml"
SIDES = ("left", "right")
COLOURS = {"left": "#4477AA", "right": "#EE6677", "cue": "#228833", "null": "#BBBBBB"}


# ---------------------------------------------------------------------------------------------------------
# Rollouts of saved agents
# ---------------------------------------------------------------------------------------------------------


def _checkpoints(run_dir: Path) -> tuple[Any, list[int], list[Any]]:
    """``(ppo, updates, weights)``: the untrained agent of the run (update 0) and the agent at every checkpoint
    (read through one checkpoint manager: :func:`load_run` per checkpoint would open one each and rebuild the
    run's functions)."""
    first = load_run(run_dir)
    init = jax.jit(jax.vmap(first.ppo.init))
    keys, hyper = run_keys(first.config), run_hyperparams(first.config)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    target = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=device), jax.eval_shape(init, keys, hyper)
    )
    manager = checkpoint_manager(run_dir, first.config.run.keep_checkpoints)
    steps = sorted(manager.all_steps())
    initial = jax.device_put(init(keys, hyper), device)  # committed, as restored arrays are: one compile
    states = [initial] + [restore_checkpoint(manager, s, target)[0] for s in steps]
    manager.close()
    weights = [jax.tree.map(lambda x: x[0], s.weights) for s in states]  # run 0 (the figure trains one)
    return first.ppo, [0, *steps], weights


def _block_player(ppo, num_blocks: int):
    """``(play, num_steps)``: ``play(weights, key, greedy)`` runs ``num_blocks`` environments for the longest
    block (every trial an omission) and returns per step ``(num_blocks, num_steps)`` the state before it (phase,
    phase step, trial, cue), the agent's ``hidden`` units, and the transition's choice, ``trial_done``, ``correct``
    and whether the episode ended. Compiled once for all checkpoints (the weights are an argument)."""
    env, params = ppo.env, ppo.env_params
    per_trial = params.cue_steps + params.delay_steps + params.response_steps + params.iti_steps
    num_steps = int(params.n_trials) * int(per_trial)

    def one(weights, key, greedy):
        agent = nnx.merge(ppo.graphdef, weights)
        k_reset, k_loop = jax.random.split(key)
        obs, state = env.reset(k_reset, params)

        def body(carry, k):
            obs, state, h = carry
            k_act, k_step = jax.random.split(k)
            out = agent.step(h, obs, jnp.zeros((), bool))
            action = jnp.where(greedy, out.dist.mode(), out.dist.sample(k_act)[0])
            obs, next_state, _, term, trunc, info = env.step(k_step, state, action, params)
            rec = {
                "phase": state.phase,
                "phase_step": state.phase_step,
                "trial": state.trial,
                "cue": state.cue,
                "hidden": out.hidden,
                "choice": info["choice"],
                "choice_trial": info["trial"],
                "trial_done": info["trial_done"],
                "correct": info["correct"],
                "ended": term | trunc,
            }
            return (obs, next_state, out.state), rec

        carry = (obs, state, agent.initial_state())
        return jax.lax.scan(body, carry, jax.random.split(k_loop, num_steps))[1]

    def play(weights, key, greedy):
        keys = jax.random.split(key, num_blocks)
        return jax.vmap(one, in_axes=(None, 0, None))(weights, keys, greedy)

    return jax.jit(play), num_steps


def _first_block(rec: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(E, T)`` True up to and including the end of each environment's first block."""
    ended = np.asarray(rec["ended"], bool)
    return (np.cumsum(ended, axis=1) - ended) == 0


def _accuracy(rec: Mapping[str, np.ndarray]) -> tuple[float, int]:
    """Fraction of the first blocks' trials chosen correctly (omissions count as errors), and the trials."""
    done = np.asarray(rec["trial_done"], bool) & _first_block(rec)
    n = int(done.sum())
    return (float(np.asarray(rec["correct"], bool)[done].sum() / n) if n else float("nan")), n


def _learning_curve(ctx, run_dir: Path) -> tuple[dict[str, Any], Any, Any, Any]:
    """Accuracy (sampling and greedy) of every checkpoint; the on-policy accuracy during training between
    checkpoints; and the player, the final weights and the environment's parameters for the neural analysis."""
    cfg = ctx.config
    ppo, updates, weights = _checkpoints(run_dir)
    play, _ = _block_player(ppo, int(cfg["blocks"]))
    key = jax.random.key(int(cfg["seed"]))
    sampled, greedy = [], []
    for w in weights:
        sampled.append(_accuracy(jax.tree.map(np.asarray, play(w, key, False)))[0])
        greedy.append(_accuracy(jax.tree.map(np.asarray, play(w, key, True)))[0])
    rows = [r for r in read_metrics(run_dir / "metrics.jsonl") if r["run"] == 0 and r["episodes"]]
    per_block = float(ppo.env_params.n_trials) * float(ppo.env_params.reward_correct)
    train_acc = []
    for lo, hi in zip(updates[:-1], updates[1:], strict=True):
        inside = [r for r in rows if lo < r["update"] <= hi]
        episodes = sum(r["episodes"] for r in inside)
        returns = sum(r["return_mean"] * r["episodes"] for r in inside)
        train_acc.append(returns / episodes / per_block if episodes else float("nan"))
    env_steps = np.asarray(updates) * ppo.steps_per_update
    curve = {
        "env_steps": env_steps,
        "accuracy_sampled": np.asarray(sampled),
        "accuracy_greedy": np.asarray(greedy),
        "training_env_steps": env_steps[1:],
        "training_accuracy": np.asarray(train_acc),
        "trials_per_checkpoint": int(cfg["blocks"]) * int(ppo.env_params.n_trials),
        "chance": 0.5,
        "note": "training_accuracy is NaN where no block ended between two checkpoints",
    }
    return curve, (play, key), weights[-1], ppo.env_params


# ---------------------------------------------------------------------------------------------------------
# Trials, sequences and decoding
# ---------------------------------------------------------------------------------------------------------


def _trials(rec: Mapping[str, np.ndarray], params) -> dict[str, np.ndarray]:
    """Every trial of the first blocks: ``hidden (N, W, units)`` from cue onset to the end of the delay (``W``
    steps), its ``cue`` and the agent's ``choice`` (0 left, 1 right, -1 omission)."""
    first = _first_block(rec)
    width = int(params.cue_steps) + int(params.delay_steps)
    onset = (rec["phase"] == CUE) & (rec["phase_step"] == 0) & first
    env, t0 = np.nonzero(onset)
    keep = t0 + width <= onset.shape[1]
    env, t0 = env[keep], t0[keep]
    window = t0[:, None] + np.arange(width)
    phases = rec["phase"][env[:, None], window]
    if not np.all((phases == CUE) | (phases == DELAY)):
        raise RuntimeError("t_maze: a cue-and-delay window runs into another phase")
    choices = np.full((onset.shape[0], int(params.n_trials)), -2)
    done = np.asarray(rec["trial_done"], bool) & first
    de, dt = np.nonzero(done)
    choices[de, rec["choice_trial"][de, dt]] = rec["choice"][de, dt]
    choice = choices[env, rec["trial"][env, t0]]
    return {
        "hidden": np.asarray(rec["hidden"][env[:, None], window], np.float64),
        "cue": np.asarray(rec["cue"][env, t0]),
        "choice": choice,
    }


def _stratified_folds(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold index per sample, each class dealt round-robin over the folds in a random order."""
    fold = np.empty(len(y), int)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold[idx] = np.arange(len(idx)) % folds
    return fold


def _fit_predict(X: np.ndarray, labels: np.ndarray, X_test: np.ndarray, ridge: float) -> np.ndarray:
    """Fit one linear classifier per time step and label column and predict: ``X (n, W, units)``, ``labels (n,
    S)`` 0/1, ``X_test (m, W, units)``; returns ``(m, W, S)`` bool. Least squares on +-1 targets with an L2
    penalty ``ridge`` on the units standardised on ``X`` (for two classes, shrinkage LDA up to its threshold;
    Hastie, Tibshirani & Friedman 2009, sec. 4.3)."""
    mean, std = X.mean(0), X.std(0) + 1e-6  # (W, units)
    A = (X - mean) / std
    targets = 2.0 * labels - 1.0
    bias = targets.mean(0)
    gram = np.einsum("nwi,nwj->wij", A, A) + ridge * np.eye(X.shape[2])
    B = np.linalg.solve(gram, np.einsum("nwi,ns->wis", A, targets - bias))  # (W, units, S)
    return np.einsum("nwi,wis->nws", (X_test - mean) / std, B) + bias > 0


def decode_binary(
    X: np.ndarray, y: np.ndarray, *, folds: int, shuffles: int, ridge: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validated accuracy of a linear classifier (:func:`_fit_predict`) at each time step: ``X (N, W,
    units)``, ``y (N,)`` 0/1, stratified ``folds``. Returns ``(accuracy (W,), null (W, shuffles))``: the null
    refits with the labels permuted across trials (the same permutations at every step)."""
    labels = np.column_stack([y] + [rng.permutation(y) for _ in range(shuffles)]).astype(float)
    fold = _stratified_folds(y, folds, rng)
    hits = np.zeros((X.shape[1], shuffles + 1))
    for k in range(folds):
        train, test = fold != k, fold == k
        pred = _fit_predict(X[train], labels[train], X[test], ridge)
        hits += (pred == labels[test][:, None, :].astype(bool)).sum(0)
    accuracy = hits / len(y)
    return accuracy[:, 0], accuracy[:, 1:]


def _error_trials(X: np.ndarray, cue: np.ndarray, choice: np.ndarray, ridge: float) -> np.ndarray:
    """On error trials (choice != cue): the fraction at each step on which a choice decoder fitted to all the
    correct trials predicts the choice the agent made (1: the units carry the coming choice; 0: they carry the
    cue). NaN at every step when there is no error trial."""
    error = choice != cue
    if not error.any():
        return np.full(X.shape[1], np.nan)
    pred = _fit_predict(X[~error], choice[~error, None].astype(float), X[error], ridge)[:, :, 0]
    return (pred == choice[error, None].astype(bool)).mean(0)


def _sequences(trials: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, Any]:
    """Harvey et al.'s sequence plot: the units' mean activity on left- and right-choice trials, sorted on a
    random half of the trials (preferred choice, then peak time) and shown on the other half, each unit scaled
    to [0, 1] over both choices. ``activity`` is ``(2, units, W)`` in the sorted order."""
    X, choice = trials["hidden"], trials["choice"]
    half = rng.permutation(len(choice)) % 2 == 0

    def means(mask):
        m = np.stack([X[mask & (choice == c)].mean(0) for c in (0, 1)])  # (2, W, units)
        lo, hi = m.min(axis=(0, 1)), m.max(axis=(0, 1))
        return (m - lo) / np.maximum(hi - lo, 1e-9)

    sort, show = means(half), means(~half)
    preferred = np.argmax(sort.max(axis=1), axis=0)  # (units,) the choice with the higher peak
    peak = np.argmax(sort[preferred, :, np.arange(X.shape[2])], axis=1)  # (units,) step of the peak
    order = np.lexsort((peak, preferred))
    return {
        "activity": np.transpose(show, (0, 2, 1))[:, order],
        "order": order,
        "preferred": preferred[order],
        "peak_step": peak[order],
        "trials_sorted_on": int(half.sum()),
        "trials_shown": int((~half).sum()),
    }


def _neural(ctx, player, weights, params) -> dict[str, Any]:
    """Trials of the final agent (sampling, as it acts), the sequence plot and the cue and choice decoders."""
    play, key = player
    rec = jax.tree.map(np.asarray, play(weights, jax.random.fold_in(key, 1), False))
    trials = _trials(rec, params)
    chose = trials["choice"] >= 0
    cfg = ctx.config
    rng = np.random.default_rng(int(cfg["seed"]))
    kw = {
        "folds": int(cfg["folds"]),
        "shuffles": int(cfg["shuffles"]),
        "ridge": float(cfg["ridge"]),
        "rng": rng,
    }
    decoding = {}
    for name, labels in (("choice", trials["choice"]), ("cue", trials["cue"])):
        acc, null = decode_binary(trials["hidden"][chose], labels[chose], **kw)
        decoding[name] = {
            "accuracy": acc,
            "null_p5": np.percentile(null, 5, axis=1),
            "null_p95": np.percentile(null, 95, axis=1),
            "null_mean": null.mean(axis=1),
        }
    dt = float(params.dt)
    width = trials["hidden"].shape[1]
    delay = np.arange(width) >= int(params.cue_steps)
    trials_kept = {k: v[chose] for k, v in trials.items()}
    error_choice = _error_trials(
        trials_kept["hidden"], trials_kept["cue"], trials_kept["choice"], float(cfg["ridge"])
    )
    sequences = _sequences(trials_kept, rng)
    peak = np.asarray(sequences["peak_step"])
    return {
        "time_s": (np.arange(width) + 0.5) * dt,  # centre of each step from cue onset
        "cue_end_s": int(params.cue_steps) * dt,
        "delay_end_s": width * dt,
        "in_delay": delay,
        "decoding": decoding,
        "sequences": sequences,
        "units_peaking_in_delay": int(np.sum(delay[peak])),
        "units_peaking_at_window_end": int(np.sum(peak == width - 1)),
        "distinct_peak_steps": int(np.unique(peak).size),
        "error_trials_decoded_as_choice": error_choice,
        "note": "error_trials_decoded_as_choice is NaN when the agent made no error",
        "trials": int(len(chose)),
        "omissions": int((~chose).sum()),
        "error_trials": int((trials["choice"][chose] != trials["cue"][chose]).sum()),
        "left_choice_trials": int((trials["choice"] == 0).sum()),
        "right_choice_trials": int((trials["choice"] == 1).sum()),
    }


# ---------------------------------------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------------------------------------


def _plot_curve(ax, curve: dict[str, Any]) -> None:
    x = np.asarray(curve["env_steps"]) / 1e6
    ax.plot(
        np.asarray(curve["training_env_steps"]) / 1e6,
        curve["training_accuracy"],
        color="0.6",
        lw=0.8,
        label="during training",
    )
    ax.plot(x, curve["accuracy_sampled"], "o-", ms=3, color=COLOURS["right"], label="checkpoint, sampled")
    ax.plot(
        x, curve["accuracy_greedy"], "s--", ms=2.5, color=COLOURS["left"], lw=0.8, label="checkpoint, greedy"
    )
    ax.axhline(curve["chance"], color="k", ls=":", lw=0.8, label="chance")
    ax.axhline(1.0, color="0.3", ls="-", lw=0.4)
    ax.set_xlabel("training (million env steps)")
    ax.set_ylabel("fraction correct")
    ax.set_ylim(0.0, 1.05)
    ax.legend(loc="lower right", fontsize=6)


def _plot_sequences(axes, neural: dict[str, Any], cbar_fig) -> None:
    seq = neural["sequences"]
    end = neural["delay_end_s"]
    n_units = seq["activity"].shape[1]
    boundary = int(np.sum(seq["preferred"] == 0)) - 0.5
    for i, (ax, side) in enumerate(zip(axes, SIDES, strict=True)):
        image = ax.imshow(
            seq["activity"][i],
            aspect="auto",
            origin="upper",
            cmap="viridis",
            vmin=0,
            vmax=1,
            extent=(0.0, end, n_units - 0.5, -0.5),
            interpolation="nearest",
        )
        ax.axvline(neural["cue_end_s"], color="w", lw=0.8, ls="--")
        ax.axhline(boundary, color="w", lw=0.6)
        ax.set_title(f"{side}-choice trials", fontsize=7, color=COLOURS[side])
    axes[0].set_ylabel("GRU unit (sorted)")
    axes[1].tick_params(labelleft=False)
    cbar_fig.supxlabel("time from cue onset (s)", fontsize=8)
    cbar_fig.colorbar(image, ax=list(axes), shrink=0.8, label="activity (normalised)", pad=0.02)


def _plot_decoding(ax, neural: dict[str, Any]) -> None:
    t = neural["time_s"]
    ax.axvspan(0, neural["cue_end_s"], color=COLOURS["cue"], alpha=0.12, lw=0, label="cue period")
    dec = neural["decoding"]
    ax.fill_between(
        t,
        dec["choice"]["null_p5"],
        dec["choice"]["null_p95"],
        color=COLOURS["null"],
        alpha=0.6,
        lw=0,
        label="shuffled labels, 5-95%",
    )
    ax.plot(t, dec["choice"]["accuracy"], "o-", ms=2, color="k", label="choice")
    ax.plot(t, dec["cue"]["accuracy"], "--", color=COLOURS["cue"], lw=1.0, label="cue")
    errors = neural["error_trials_decoded_as_choice"]
    ax.plot(
        t,
        errors,
        "-",
        color=COLOURS["right"],
        lw=0.8,
        label=f"error trials ({neural['error_trials']}): choice made",
    )
    ax.axhline(0.5, color="k", ls=":", lw=0.8, label="chance")
    ax.set_xlim(0, neural["delay_end_s"])
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("time from cue onset (s)")
    ax.set_ylabel("fraction of trials decoded (cross-val.)")
    ax.legend(loc="center right", fontsize=5.5, bbox_to_anchor=(1.0, 0.7))


def _figure(curve: dict[str, Any], neural: dict[str, Any]):
    fig = plt.figure(figsize=(7.2, 2.6), layout="constrained")
    left, middle, right = fig.subfigures(1, 3, width_ratios=[1.0, 1.45, 1.05])
    _plot_curve(left.subplots(), curve)
    _plot_sequences(middle.subplots(1, 2, sharey=True), neural, middle)
    _plot_decoding(right.subplots(), neural)
    for label, sub in zip("abc", (left, middle, right), strict=True):
        sub.text(0.0, 1.0, label, fontweight="bold", va="top", transform=sub.transSubfigure)
    return fig


def make(ctx) -> FigureResult:
    train = merge_config(read_yaml(TRAIN_CONFIG), ctx.config.get("train") or {})
    run_dir = ctx.train(train, label="ppo")
    curve, player, final, params = _learning_curve(ctx, run_dir)
    neural = _neural(ctx, player, final, params)
    delay = neural["in_delay"]
    dec = neural["decoding"]
    claims = {
        "learns": bool(curve["accuracy_sampled"][-1] >= 0.9),
        "choice_decodable_over_delay": bool(
            np.all(dec["choice"]["accuracy"][delay] > dec["choice"]["null_p95"][delay])
        ),
        "cue_decodable_over_delay": bool(
            np.all(dec["cue"]["accuracy"][delay] > dec["cue"]["null_p95"][delay])
        ),
    }
    numbers = {
        "learning_curve": curve,
        "learns_threshold": 0.9,
        "final_accuracy_sampled": curve["accuracy_sampled"][-1],
        "final_accuracy_greedy": curve["accuracy_greedy"][-1],
        "neural": neural,
        "min_choice_accuracy_in_delay": float(dec["choice"]["accuracy"][delay].min()),
        "max_choice_null_p95_in_delay": float(dec["choice"]["null_p95"][delay].max()),
    }
    return FigureResult(_figure(curve, neural), numbers, claims)
