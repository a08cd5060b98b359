"""Figure: a GRU trained by PPO in the Morris water maze learns where the hidden platform is: its escape latency
and path length fall over training, in a probe trial without the platform it searches the target quadrant, and
its swim paths go from the release point to the platform.

Reproduces, on ``neuroethology/WaterMaze-v0`` (``configs/water_maze.yaml``), the place-navigation procedure of
Morris 1984 (J. Neurosci. Methods 11:47) with the measures of Vorhees & Williams 2006 (Nat. Protoc. 1:848):

(a) acquisition: escape latency (s) and path length to the platform (m) against training trials. Each point is
    a block of ``trials`` test trials (a quarter from each of the releases N, E, S, W) of the agent as saved at a
    checkpoint (update 0: the untrained agent), sampling its policy as it acts, mean and bootstrap 95% interval;
    an unsuccessful trial counts 60 s (censored, as for rats) and the distance swum in it. Grey: the latency of
    the trials swum during training (``metrics.jsonl``, on-policy, in ``training_blocks`` blocks of updates).
    Dashed: the optimum, a straight swim at the top speed from each release to the platform's edge. We evaluate
    checkpoints rather than read ``metrics.jsonl`` alone because only a rollout gives the path length, and a
    frozen agent tested on balanced releases measures what was learnt, as a rat's block of trials does.
(b) probe trial (platform removed, ``platform_mode="probe"``, 60 s; the trained agent, released ``probe_trials /
    4`` times from each of N, E, S, W): fraction of time in each quadrant (target, adjacent anticlockwise,
    opposite, adjacent clockwise; ``neuroethology.analysis.compute_quadrant_occupancy`` on the Recording that
    ``neuroethology.simulation.run_episodes`` writes), mean and percentile-bootstrap 95% interval over probe
    trials, against the 25% of a search that ignores the platform's place; platform-site crossings per trial.
(c) swim paths of one trial from each release: the untrained agent, the trained agent with the platform, and
    the trained agent in the probe trial.

How ours differs: one network instead of a group of rats; PPO's thousands of single-trial episodes (64 pools in
parallel) instead of ~4 trials a day for a few days; acquisition measured on test blocks of the frozen agent at
each checkpoint (the on-policy training latencies are shown too); a 2 m pool, 10 cm platform, 0.3 m/s swimmer
and 0.1 s steps (WaterMaze-v0's defaults); the agent is never placed on the platform after a failed trial.
Morris 1984's own latencies and probe times are not compared here (not checked against the paper).

Claims: ``latency_halves`` (the last block's mean escape latency is at most half the first block's) and
``probe_target_above_chance`` (the bootstrap 95% interval of the fraction of probe time in the target quadrant
lies entirely above 0.25).

Full mode: configs/water_maze.yaml's 2M steps (244 updates, a checkpoint every 4), 62 test blocks of 64 trials
(update 0 and every checkpoint) and 128 probe trials: 105 s of CPU time (4.7 min wall on 2 cores shared with
~6 other jobs, December 2026); fast mode trains 655,360 steps (80 updates) with 11 blocks of 32 trials and 64
probe trials: ~60 s of CPU time, ~1 min on 2 free cores (2 min wall shared). The latency axes are symlog in
training trials (linear below 100), where most is learnt::

    neuroethology figures --only water_maze --out out/figures            # --fast for the CI budget
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
from matplotlib.patches import Circle

from neuroethology.analysis.resampling import bootstrap_means, percentile_ci
from neuroethology.analysis.water_maze import (
    QUADRANTS,
    compute_platform_crossings,
    compute_quadrant_occupancy,
)
from neuroethology.config import read_yaml
from neuroethology.envs.water_maze import CARDINAL_NAMES, WaterMaze
from neuroethology.gallery import FigureResult, merge_config
from neuroethology.run_policies import load_policy
from neuroethology.runs.checkpoints import checkpoint_manager, restore_checkpoint
from neuroethology.runs.metrics import read_metrics
from neuroethology.simulation import run_episodes
from neuroethology.training import load_run
from neuroethology.training.devices import run_hyperparams, run_keys

TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "water_maze.yaml"
CHANCE = 0.25
COLOURS = {"agent": "#EE6677", "training": "#BBBBBB", "optimum": "#228833"}
RELEASE_COLOURS = dict(zip(CARDINAL_NAMES, ("#4477AA", "#EE6677", "#228833", "#AA3377"), strict=True))
QUADRANT_LABELS = ("target\nNE", "adj.\nNW", "opp.\nSW", "adj.\nSE")


def _mean_ci(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile-bootstrap 95% interval (resampling the values)."""
    values = np.asarray(values, float)
    boot = bootstrap_means(np.column_stack([values, np.ones_like(values)]), n_boot, rng)
    return (float(values.mean()), *percentile_ci(boot, 0.95))


# ---------------------------------------------------------------------------------------------------------
# Test trials of saved agents
# ---------------------------------------------------------------------------------------------------------


def _checkpoints(run_dir: Path) -> tuple[Any, list[int], list[Any]]:
    """``(ppo, updates, weights)``: the untrained agent of the run (update 0) and the agent at every checkpoint
    (read through one checkpoint manager: :func:`load_run` per checkpoint would open one each)."""
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


def _trial_player(ppo, num_envs: int, chunk: int = 100):
    """``play(weights, key)``: ``num_envs`` single-trial episodes with the platform in place, sampling the
    policy; per environment the release index (0 N, 1 E, 2 S, 3 W), the release position ``(E, 2)`` and, per
    step ``(E, T)``, the position after it, whether it found the platform and whether the episode ended. Runs
    in compiled chunks of ``chunk`` steps (compiled once for all checkpoints: the weights are an argument) and
    stops after the chunk in which every trial has ended."""
    env, params = ppo.env, ppo.env_params
    num_steps = int(params.max_steps)

    def start(weights, key):
        obs, state = env.reset(key, params)
        return obs, state, nnx.merge(ppo.graphdef, weights).initial_state()

    def advance(weights, carry, keys):
        agent = nnx.merge(ppo.graphdef, weights)

        def body(carry, k):
            obs, state, h = carry
            k_act, k_step = jax.random.split(k)
            out = agent.step(h, obs, jnp.zeros((), bool))
            action = out.dist.sample(k_act)[0]
            obs, state, _, term, trunc, info = env.step(k_step, state, action, params)
            rec = {"position": info["position"], "found": info["found"], "ended": term | trunc}
            return (obs, state, out.state), rec

        return jax.lax.scan(body, carry, keys)

    start = jax.jit(jax.vmap(start, in_axes=(None, 0)))
    advance = jax.jit(jax.vmap(advance, in_axes=(None, 0, 0)))

    def play(weights, key):
        k_reset, k_loop = jax.random.split(key)
        carry = start(weights, jax.random.split(k_reset, num_envs))
        first = {
            "start": np.asarray(carry[1].start_order[:, 0]),
            "start_position": np.asarray(carry[1].position),
        }
        keys = jax.random.split(k_loop, (num_envs, -(-num_steps // chunk) * chunk))
        pieces, ended = [], np.zeros(num_envs, bool)
        for t in range(0, num_steps, chunk):
            carry, rec = advance(weights, carry, keys[:, t : t + chunk])
            pieces.append(jax.tree.map(np.asarray, rec))
            ended |= pieces[-1]["ended"].any(axis=1)
            if ended.all():
                break
        return {**first, **{k: np.concatenate([p[k] for p in pieces], axis=1) for k in pieces[0]}}

    return play


def _balanced(starts: np.ndarray, per_release: int) -> np.ndarray:
    """Indices of the first ``per_release`` trials from each release (all of them where there are fewer):
    releases are drawn before the agent acts, so the choice cannot favour any behaviour."""
    return np.sort(np.concatenate([np.flatnonzero(starts == k)[:per_release] for k in range(4)]))


def _measure(rec: Mapping[str, np.ndarray], params) -> dict[str, Any]:
    """Per trial: ``latency`` (s; the trial duration when the platform was not found), ``found``, ``path``
    length (m, to the escape or the end), ``start`` and the swim ``paths`` (release, then each step's position)."""
    ended = np.asarray(rec["ended"], bool)
    steps = ended.argmax(axis=1) + 1  # every trial ends by the time limit
    rows = np.arange(len(steps))
    found = np.asarray(rec["found"], bool)[rows, steps - 1]
    latency = np.where(found, steps * float(params.dt), float(params.trial_duration))
    xy = np.concatenate([np.asarray(rec["start_position"])[:, None], np.asarray(rec["position"])], axis=1)
    paths = [xy[i, : steps[i] + 1].astype(float) for i in rows]
    lengths = np.array([np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in paths])
    return {
        "latency": latency,
        "found": found,
        "path": lengths,
        "start": np.asarray(rec["start"]),
        "paths": paths,
    }


def _acquisition(ctx, run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The test block of every checkpoint: latency and path length (mean, 95% interval), fraction found; the
    first and the last block's trials (for the paths) and the run's PPO functions."""
    cfg = ctx.config
    ppo, updates, weights = _checkpoints(run_dir)
    trials = int(cfg["trials"])
    play = _trial_player(ppo, 3 * trials)  # three times the trials: enough of each release to balance
    key, rng = jax.random.key(int(cfg["seed"])), np.random.default_rng(int(cfg["seed"]))
    stats = {k: [] for k in ("latency", "latency_ci", "path", "path_ci", "found", "per_release")}
    blocks = []
    for w in weights:
        trial = _measure(play(w, key), ppo.env_params)
        keep = _balanced(trial["start"], trials // 4)
        trial = {k: [v[i] for i in keep] if k == "paths" else v[keep] for k, v in trial.items()}
        latency, path = _mean_ci(trial["latency"], 1000, rng), _mean_ci(trial["path"], 1000, rng)
        stats["latency"].append(latency[0])
        stats["latency_ci"].append(latency[1:])
        stats["path"].append(path[0])
        stats["path_ci"].append(path[1:])
        stats["found"].append(float(trial["found"].mean()))
        stats["per_release"].append(np.bincount(trial["start"], minlength=4))
        blocks.append(trial)
    training = [r for r in read_metrics(run_dir / "metrics.jsonl") if r["run"] == 0]
    episodes = np.cumsum([r["episodes"] for r in training])
    at = {r["update"]: e for r, e in zip(training, episodes, strict=True)}
    curve = {
        "updates": np.asarray(updates),
        "env_steps": np.asarray(updates) * ppo.steps_per_update,
        "training_trials": np.array([at.get(u, 0) for u in updates]),
        **{k: np.asarray(v) for k, v in stats.items()},
    }
    return curve, {"first": blocks[0], "last": blocks[-1]}, ppo


def _training_blocks(run_dir: Path, blocks: int, dt: float) -> dict[str, np.ndarray]:
    """On-policy escape latency (s) of the trials swum during training, in ``blocks`` equal blocks of updates
    (mean over the trials that ended in the block), at the block's middle trial (cumulative training trials)."""
    rows = [r for r in read_metrics(run_dir / "metrics.jsonl") if r["run"] == 0]
    episodes = np.array([r["episodes"] for r in rows], float)
    steps = np.array([(r["episode_length_mean"] or 0.0) * r["episodes"] for r in rows], float)
    edges = np.linspace(0, len(rows), blocks + 1).round().astype(int)
    counts = np.array([episodes[a:b].sum() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    total = np.array([steps[a:b].sum() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    with np.errstate(invalid="ignore", divide="ignore"):
        latency = np.where(counts > 0, total / counts * dt, np.nan)
    cumulative = np.concatenate([[0.0], np.cumsum(episodes)])
    middle = (cumulative[edges[:-1]] + cumulative[edges[1:]]) / 2  # the block's middle trial
    return {"latency": latency, "trials": counts, "training_trials": middle}


def _optimum(params) -> dict[str, Any]:
    """A straight swim at the top speed from each release (N, E, S, W) to the platform's edge: path (m) and
    latency (s, whole steps), and their means over the four releases."""
    starts = np.array([np.asarray(WaterMaze.start_pose(jnp.int32(k), params)[0]) for k in range(4)])
    path = np.linalg.norm(starts - np.asarray(params.platform_position), axis=1) - float(
        params.platform_radius
    )
    step = float(params.max_speed) * float(params.dt)
    latency = np.ceil(path / step) * float(params.dt)
    return {"path": path, "latency": latency, "path_mean": path.mean(), "latency_mean": latency.mean()}


# ---------------------------------------------------------------------------------------------------------
# Probe trial
# ---------------------------------------------------------------------------------------------------------


def _probe(ctx, run_dir: Path) -> dict[str, Any]:
    """Probe trials of the trained agent (platform removed) as a Recording: per trial the fraction of time in
    each quadrant, platform-site crossings (the target site and the same site in the opposite quadrant), the
    release and the path; the mean fractions with percentile-bootstrap 95% intervals over trials."""
    cfg = ctx.config
    trials = int(cfg["probe_trials"])
    loaded = load_policy(run_dir, runs=[0])
    params = loaded.params.replace(platform_mode="probe")
    rec = run_episodes(
        loaded.env,
        params,
        loaded.policies,
        episodes=2 * trials,  # twice the trials: enough of each release to balance
        key=jax.random.key(int(cfg["seed"]) + 1),
        names=loaded.names,
    )
    occupancy = compute_quadrant_occupancy(rec)
    crossings = compute_platform_crossings(rec).values
    centre, site = np.asarray(params.centre), np.asarray(params.platform_position)
    mirror = (*(2 * centre - site), float(params.platform_radius))  # the opposite quadrant's equivalent site
    crossings_opposite = compute_platform_crossings(rec, platform=mirror).values
    episode = rec["episode"].isel(individual=0).values
    xy = rec["position"].isel(keypoint=0, individual=0).values  # (time, space)
    first = np.array([np.flatnonzero(episode == e)[0] for e in occupancy["episode"].values])
    starts = rec["start"].isel(individual=0).values[first].astype(int)
    keep = _balanced(starts, trials // 4)
    fractions = occupancy.values[keep]  # (trials, 4), QUADRANTS order
    rng = np.random.default_rng(int(cfg["seed"]))
    stats = [_mean_ci(fractions[:, q], int(cfg["bootstrap"]), rng) for q in range(4)]
    paths = {
        CARDINAL_NAMES[k]: xy[episode == occupancy["episode"].values[keep][starts[keep] == k][0]]
        for k in range(4)
        if np.any(starts[keep] == k)
    }
    return {
        "quadrants": list(QUADRANTS),
        "fraction": fractions,
        "fraction_mean": np.array([s[0] for s in stats]),
        "fraction_ci": np.array([s[1:] for s in stats]),
        "target_by_release": {
            CARDINAL_NAMES[k]: float(fractions[starts[keep] == k, 0].mean()) for k in range(4)
        },
        "per_release": np.bincount(starts[keep], minlength=4),
        "crossings_target": crossings[keep],
        "crossings_opposite": crossings_opposite[keep],
        "duration_s": float(params.trial_duration),
        "paths": paths,
    }


# ---------------------------------------------------------------------------------------------------------
# Plotting
# ---------------------------------------------------------------------------------------------------------


def _plot_acquisition(axes, curve: dict, training: dict, optimum: dict, duration: float) -> None:
    x = curve["training_trials"]
    lat, path = axes
    lat.plot(
        training["training_trials"],
        training["latency"],
        "o-",
        ms=2.5,
        color=COLOURS["training"],
        label="trials during training",
    )
    for ax, key in ((lat, "latency"), (path, "path")):
        ci = np.asarray(curve[f"{key}_ci"])
        ax.fill_between(x, ci[:, 0], ci[:, 1], color=COLOURS["agent"], alpha=0.25, lw=0)
        ax.plot(x, curve[key], "o-", ms=2.5, color=COLOURS["agent"], label="test block (95% CI)")
        ax.axhline(
            optimum[f"{key}_mean"], color=COLOURS["optimum"], ls="--", lw=0.8, label="optimum (straight swim)"
        )
        ax.set_xscale("symlog", linthresh=100, linscale=0.5)  # the first trials, where most is learnt
        ax.set_xlim(left=0)
        ax.set_xlabel("training trials")
        ax.set_ylim(bottom=0)
    lat.axhline(duration, color="k", ls=":", lw=0.6, label="trial limit")
    lat.set_ylabel("escape latency (s)")
    path.set_ylabel("path length (m)")
    lat.legend(fontsize=6, loc="center right")


def _plot_probe(ax, cross_ax, probe: dict) -> None:
    mean, ci = probe["fraction_mean"], probe["fraction_ci"]
    colours = [COLOURS["agent"]] + [COLOURS["training"]] * 3
    ax.bar(range(4), mean, color=colours, width=0.7)
    ax.errorbar(range(4), mean, yerr=np.abs(ci.T - mean), fmt="none", ecolor="k", elinewidth=0.8, capsize=2)
    ax.axhline(CHANCE, color="k", ls="--", lw=0.8, label="chance (25%)")
    ax.set_xticks(range(4), QUADRANT_LABELS, fontsize=6)
    ax.set_ylabel("fraction of probe time\n(mean, 95% CI)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6, loc="upper right")
    sites = (probe["crossings_target"], probe["crossings_opposite"])
    cross_ax.bar([0, 1], [s.mean() for s in sites], color=[COLOURS["agent"], COLOURS["training"]], width=0.6)
    sem = [s.std(ddof=1) / np.sqrt(len(s)) if len(s) > 1 else np.nan for s in sites]
    cross_ax.errorbar(
        [0, 1], [s.mean() for s in sites], yerr=sem, fmt="none", ecolor="k", elinewidth=0.8, capsize=2
    )
    cross_ax.set_xticks([0, 1], ["target\nsite", "opposite\nsite"], fontsize=6)
    cross_ax.set_ylabel("site crossings per trial\n(mean, s.e.m.)")


def _plot_paths(ax, paths: Mapping[str, np.ndarray], params, title: str, present: bool) -> None:
    centre, radius = np.asarray(params.centre), float(params.pool_radius)
    ax.add_patch(Circle(centre, radius, fill=False, lw=0.8, color="0.3"))
    for angle in (0.0, 0.5 * np.pi):
        d = radius * np.array([np.cos(angle), np.sin(angle)])
        ax.plot(*np.column_stack([centre - d, centre + d]), color="0.75", lw=0.5)
    site = np.asarray(params.platform_position)
    ax.add_patch(
        Circle(
            site,
            float(params.platform_radius),
            color="0.2",
            fill=present,
            ls="-" if present else "--",
            lw=0.8,
            zorder=3,
        )
    )
    for name, xy in paths.items():
        ax.plot(xy[:, 0], xy[:, 1], color=RELEASE_COLOURS[name], lw=0.6, label=name)
        ax.plot(*xy[0], "o", ms=3, color=RELEASE_COLOURS[name])
    ax.set_xlim(centre[0] - 1.05 * radius, centre[0] + 1.05 * radius)
    ax.set_ylim(centre[1] - 1.05 * radius, centre[1] + 1.05 * radius)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=7)


def _first_per_release(block: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {
        CARDINAL_NAMES[k]: block["paths"][int(np.flatnonzero(block["start"] == k)[0])]
        for k in range(4)
        if np.any(block["start"] == k)
    }


def _figure(curve, training, optimum, probe, blocks, params):
    fig = plt.figure(figsize=(7.2, 5.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.15])
    axes = top.subplots(1, 4, width_ratios=[1.2, 1.2, 1.2, 0.6])
    _plot_acquisition(axes[:2], curve, training, optimum, float(params.trial_duration))
    _plot_probe(axes[2], axes[3], probe)
    paths = bottom.subplots(1, 3)
    _plot_paths(paths[0], _first_per_release(blocks["first"]), params, "untrained agent (update 0)", True)
    _plot_paths(paths[1], _first_per_release(blocks["last"]), params, "trained agent, platform present", True)
    _plot_paths(paths[2], probe["paths"], params, "trained agent, probe trial (60 s)", False)
    paths[2].legend(
        title="release", fontsize=6, title_fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0)
    )
    for label, ax in (("a", axes[0]), ("b", axes[2])):
        ax.text(-0.3, 1.05, label, transform=ax.transAxes, fontweight="bold", fontsize=10, va="bottom")
    bottom.text(0.0, 1.0, "c", transform=bottom.transSubfigure, fontweight="bold", fontsize=10, va="top")
    return fig


def make(ctx) -> FigureResult:
    cfg = ctx.config
    run_dir = ctx.train(merge_config(read_yaml(TRAIN_CONFIG), cfg.get("train") or {}), label="ppo")
    curve, blocks, ppo = _acquisition(ctx, run_dir)
    params = ppo.env_params
    training = _training_blocks(run_dir, int(cfg["training_blocks"]), float(params.dt))
    optimum = _optimum(params)
    probe = _probe(ctx, run_dir)
    fig = _figure(curve, training, optimum, probe, blocks, params)
    example = {
        "untrained": _first_per_release(blocks["first"]),
        "trained": _first_per_release(blocks["last"]),
        "probe": probe.pop("paths"),
    }
    numbers = {
        "acquisition": curve,
        "training_blocks": training,
        "optimum": optimum,
        "probe": probe,
        "chance": CHANCE,
        "example_paths": example,
        "trials_per_block": int(cfg["trials"]),
        "first_block_latency_s": float(curve["latency"][0]),
        "last_block_latency_s": float(curve["latency"][-1]),
        "first_block_path_m": float(curve["path"][0]),
        "last_block_path_m": float(curve["path"][-1]),
        "probe_target_fraction": float(probe["fraction_mean"][0]),
        "probe_target_ci": probe["fraction_ci"][0],
    }
    claims = {
        "latency_halves": bool(curve["latency"][-1] <= curve["latency"][0] / 2),
        "probe_target_above_chance": bool(probe["fraction_ci"][0][0] > CHANCE),
    }
    return FigureResult(fig, numbers, claims)
