"""Figure: a GRU trained by PPO to fly up an intermittent odour plume to its source: its trajectories in plumes
of different intermittency, its success against reference strategies, its behaviour modules and course by
time since the last odour encounter, and what its 64 units encode.

Reproduces, on ``neuroethology/OdorPlume-v0`` (``configs/odor_plume.yaml``), analyses of Singh, van Breugel,
Rao & Brunton 2023 (Nature Machine Intelligence 5:58, "Emergent behaviour and neural dynamics in artificial
agents tracking odour plumes"; code github.com/BruntonUWBio/plumetracknets):

(a) example trajectories (their Figs. 1-2 show trajectories in constant and switching winds, and their sparser
    plumes test intermittency): the trained agent in plumes of ``puff_rates`` puffs/s (fewer puffs, more
    intermittent odour), each trajectory coloured by behaviour module, with the plume's puffs at release time;
    the agent's success rate at each rate is in the panel title;
(b) success (their agents' success rates, Fig. 2 and the tables): fraction of ``episodes`` releases from
    ``eval_distance`` metres downwind that reach the source within 12 s, with Wilson 95% intervals, for the
    agent and three reference strategies on the same plumes (``ne.policies``): a correlated random walk
    (RandomSearch), cast-only (SurgeCast with no surge: crosswind zig-zags that never turn upwind on odour)
    and the moth's surge-and-cast (SurgeCast: Kennedy & Marsh 1974);
(c) behaviour modules (their Fig. 3): each step labelled by the steps since the agent last sensed odour,
    as Singh et al.'s code does (``log_analysis.get_regimes``: "track" within ``track_steps`` = 12 steps,
    "lost" (their SEARCH) from ``lost_steps`` = 25 steps, "recover" between; the first 12 steps of an
    episode are "recover"; their dt is 0.04 s as ours, so 0.48 s and 1.0 s): the distribution of time since
    the last encounter, with the fraction of time in each module, agent against surge-and-cast;
(d) course direction (their Fig. 3c, course relative to the wind): the angle between the ground velocity
    and upwind (0 deg upwind, 90 deg crosswind) against time since the last encounter, median and
    quartiles in bins;
(e) population activity (their Figs. 4-5): PCA of the 64 GRU units (explained variance, participation-ratio
    dimensionality, ``analysis.neural.compute_pca``) and cross-validated linear decoding R^2
    (``analysis.neural.decode_linear``: ridge, contiguous folds = whole episodes) of the time since the last
    odour encounter, the head direction relative to the wind (circular) and the sensed odour
    concentration (log10), each against a null of ``shuffles`` circular time shifts of the targets against
    the activity (shifts of at least one episode, 12 s).

How ours differs: a GRU of 64 units trained by our PPO on a sparse reward (Singh et al.: vanilla RNNs of 64
units with shaped rewards, several seeds); two odour sensors 2 cm apart and a log-scaled odour input (theirs:
one sensor); puffs as Gaussians at 10 puffs/s (theirs: boxes at 100/s); a constant wind only (their
switch-once and switch-many winds are OdorPlume's ``wind_regime`` but would cost a compilation each); the
reference strategies are ours (they compared with flying insects' behaviour). Time since the last encounter
counts from the release before the first encounter, as in their code. Their numbers are not checked here.

Claims: ``success_above_random`` and ``success_above_cast_only`` (the agent's Wilson 95% interval lies above
the baseline's), ``time_since_odour_decodable`` (cross-validated R^2 > 0 and above the 95th percentile of
its time-shift null). Surge-and-cast is the optimum shown as reference: it is near perfect in this plume,
and the agent is not claimed to beat it.

Measured (full mode): success 0.906 [0.864, 0.936] from 4-8 m against 0.008 (random walk), 0.0 (cast only)
and 1.0 (surge-and-cast); 0.85 of the agent's time is "track"; time since the last encounter decoded with
R^2 0.64 (null 95th percentile -0.005); participation ratio 5.2. The agent, trained at 10 puffs/s, fails in
the sparser plumes (0 of 64 at 3 and at 1 puffs/s: it flies crosswind in loops once lost), where
surge-and-cast still succeeds (1.0 and 0.59): not a claim, a measured difference from a reference strategy.

Full mode: configs/odor_plume.yaml (10M steps, releases moved out by a curriculum to 0.3-8 m; 6.9 min on 2
uncontended cores per docs/training.md, 14.7 min measured here on 2 cores shared with ~6 jobs, ~11k steps/s)
and evaluation from 4-8 m: the figure then takes ~3.5 min (contended; mostly the decoders' shuffles). Fast
mode (CI) trains 245,760 steps from 0.3-1 m, where the agent already beats random search and casting (the
random walk reaches the source in ~12% of releases there), and evaluates from 0.3-1 m; PCA uses every step,
decoding every ``decode_stride``-th::

    neuroethology figures --only odor_plume --out out/figures            # --fast for the CI budget
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx
from matplotlib.collections import LineCollection

import neuroethology.envs as ne
from neuroethology.analysis.neural import compute_pca, decode_linear
from neuroethology.analysis.plots.style import PALETTE
from neuroethology.config import read_yaml
from neuroethology.gallery import FigureResult, merge_config
from neuroethology.training import load_run

TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "odor_plume.yaml"
POLICIES = ("agent", "random", "surge_cast", "cast_only")
LABELS = {"agent": "GRU agent", "random": "random walk", "surge_cast": "surge-cast", "cast_only": "cast only"}
COLOURS = {
    "agent": PALETTE["agent"],
    "random": PALETTE["grey"],
    "surge_cast": PALETTE["animal"],
    "cast_only": PALETTE["reference"],
}
MODULES = ("track", "recover", "lost")
MODULE_COLOURS = {"track": "#228833", "recover": "#6A5ACD", "lost": "#CC3311"}  # Singh et al.'s scheme
TARGETS = ("time_since_odour", "head_direction_to_wind", "log_odour")
TARGET_LABELS = {
    "time_since_odour": "time since\nodour",
    "head_direction_to_wind": "heading\nto wind",
    "log_odour": "odour\n(log)",
}


# ---------------------------------------------------------------------------------------------------------
# Rollouts: the agent and the reference strategies, one compiled function
# ---------------------------------------------------------------------------------------------------------


def _player(ppo, num_steps: int):
    """``play(weights, keys (E,), kinds (E,), params (batched))``: ``E`` environments, each run for
    ``num_steps`` by the policy ``POLICIES[kind]`` (the agent samples its actions, as it acts), recording per
    step the state before it, what the agent sensed, its ``hidden`` units and whether the episode ended; and
    the plume at release. One compilation serves every policy and plume (the parameters are traced)."""
    env = ppo.env
    surge, cast = ne.policies.SurgeCast(), ne.policies.SurgeCast(surge_duration=0.0)
    walk = ne.policies.RandomSearch()

    def one(weights, key, kind, params):
        agent = nnx.merge(ppo.graphdef, weights)
        k_reset, k_init, k_loop = jax.random.split(key, 3)
        obs, state = env.reset(k_reset, params)
        plume = {"x": state.puff_x, "y": state.puff_y, "active": state.puff_active}
        carry0 = (agent.initial_state(), surge.init(k_init, state, params), cast.init(k_init, state, params))

        def body(loop, k):
            obs, state, (h, c_surge, c_cast) = loop
            k_act, k_walk, k_step = jax.random.split(k, 3)
            out = agent.step(h, obs, jnp.zeros((), bool))
            a_walk, _ = walk.act(k_walk, (), obs, state, params)
            a_surge, c_surge = surge.act(k_act, c_surge, obs, state, params)
            a_cast, c_cast = cast.act(k_act, c_cast, obs, state, params)
            action = jnp.stack([out.dist.sample(k_act)[0], a_walk, a_surge, a_cast])[kind]
            obs2, state2, _, term, trunc, _ = env.step(k_step, state, action, params)
            rec = {
                "position": state.position,
                "heading": state.heading,
                "wind": state.wind_direction,
                "obs": obs,
                "hidden": out.hidden,
                "terminated": term,
                "ended": term | trunc,
            }
            return (obs2, state2, (out.state, c_surge, c_cast)), rec

        steps = jax.lax.scan(body, (obs, state, carry0), jax.random.split(k_loop, num_steps))[1]
        return steps, plume

    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0, 0)))


def _batch_params(params, overrides: list[dict[str, float]]):
    """The env params of every environment, stacked along a leading axis (static fields shared)."""
    each = [params.replace(**o) for o in overrides]
    return jax.tree.map(lambda *xs: jnp.asarray(np.asarray(xs, np.float32)), *each)


def _groups(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The evaluation's groups of environments: every policy on the default plume (panels b-e), and the agent
    and surge-cast at every puff rate (panel a)."""
    lo, hi = (float(v) for v in cfg["eval_distance"])
    dist = {"start_distance_min": lo, "start_distance_max": hi}
    groups = [{"policy": p, "rate": None, "n": int(cfg["episodes"]), "params": dist} for p in POLICIES]
    for rate in cfg["puff_rates"]:
        for policy in ("agent", "surge_cast"):
            params = {**dist, "puff_rate": float(rate)}
            groups.append(
                {"policy": policy, "rate": float(rate), "n": int(cfg["rate_episodes"]), "params": params}
            )
    return groups


def _play_all(ctx, run_dir: Path) -> tuple[list[dict[str, Any]], Any]:
    """Every group's first episodes as NumPy arrays ``(n, T, ...)``, and the env params."""
    loaded = load_run(run_dir)
    ppo = loaded.ppo
    weights = jax.tree.map(lambda x: x[0], loaded.runner_state.weights)
    params = ppo.env_params
    groups = _groups(ctx.config)
    kinds = np.concatenate([np.full(g["n"], POLICIES.index(g["policy"])) for g in groups])
    overrides = [g["params"] for g in groups for _ in range(g["n"])]
    keys = jax.random.split(jax.random.key(int(ctx.config["seed"])), len(kinds))
    play = _player(ppo, int(params.max_steps))
    steps, plume = play(weights, keys, jnp.asarray(kinds), _batch_params(params, overrides))
    steps, plume = jax.tree.map(np.asarray, (steps, plume))
    start = 0
    for g in groups:
        part = slice(start, start + g["n"])
        g["steps"] = {k: v[part] for k, v in steps.items()}
        g["plume"] = {k: v[part] for k, v in plume.items()}
        ended = g["steps"]["ended"]
        g["first"] = (np.cumsum(ended, axis=1) - ended) == 0  # up to and including the first episode's end
        g["success"] = (g["steps"]["terminated"] & g["first"]).any(axis=1)
        start += g["n"]
    return groups, params


# ---------------------------------------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------------------------------------


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927), 95% by default."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # The interval holds p exactly (rounding leaves 1 - 1e-16 above p = 1 otherwise).
    return float(min(max(centre - half, 0.0), p)), float(max(min(centre + half, 1.0), p))


def steps_since_odour(odour: np.ndarray) -> np.ndarray:
    """``(E, T)`` steps since odour was last sensed (0 on a step that senses it), counted from the release
    before the first encounter, as Singh et al.'s ``odor_lastenc``."""
    out = np.zeros(odour.shape, np.int64)
    count = np.zeros(odour.shape[0], np.int64)
    for t in range(odour.shape[1]):
        count = np.where(odour[:, t], 0, count + (t > 0))
        out[:, t] = count
    return out


def modules(since: np.ndarray, track_steps: int, lost_steps: int) -> np.ndarray:
    """``(E, T)`` module index into ``MODULES``: track (``since <= track_steps``), lost (``>= lost_steps``),
    recover otherwise and on the first ``track_steps`` steps (Singh et al.'s warm-up)."""
    code = np.where(since <= track_steps, 0, np.where(since >= lost_steps, 2, 1))
    code[:, :track_steps] = 1
    return code


def _behaviour(group: dict[str, Any], cfg: Mapping[str, Any], dt: float) -> dict[str, np.ndarray]:
    """Per step of the first episodes (flattened episode by episode): time since odour (s), module, course
    relative to upwind (rad, NaN on an episode's last step) and the decoding targets."""
    s, first = group["steps"], group["first"]
    sensed = s["obs"][..., 0] + s["obs"][..., 1] > 0
    since = steps_since_odour(sensed)
    module = modules(since, int(cfg["track_steps"]), int(cfg["lost_steps"]))
    move = np.diff(s["position"], axis=1)
    course = np.angle(np.exp(1j * (np.arctan2(move[..., 1], move[..., 0]) - s["wind"][:, :-1] - np.pi)))
    course = np.concatenate([course, np.full((course.shape[0], 1), np.nan)], axis=1)
    valid_course = first & ~s["ended"]  # the next position is the same episode's
    course = np.where(valid_course, course, np.nan)
    odour = 0.5 * (s["obs"][..., 0] + s["obs"][..., 1])
    return {
        "since_s": since[first] * dt,
        "module": module[first],
        "course": course[first],
        "hidden": s["hidden"][first],
        "head_to_wind": np.angle(np.exp(1j * (s["heading"] - s["wind"])))[first],
        "log_odour": np.log10(np.maximum(odour, 1e-4))[first],
    }


def _module_stats(beh: dict[str, np.ndarray], edges: np.ndarray) -> dict[str, Any]:
    hist = np.histogram(beh["since_s"], bins=edges)[0]
    return {
        "since_hist_fraction": hist / max(beh["since_s"].size, 1),
        "module_fraction": {m: float(np.mean(beh["module"] == i)) for i, m in enumerate(MODULES)},
        "samples": int(beh["since_s"].size),
    }


def _course_by_since(beh: dict[str, np.ndarray], edges: np.ndarray, min_samples: int) -> dict[str, Any]:
    """Median and quartiles of |course from upwind| (deg) in bins of time since odour (NaN: few samples)."""
    angle = np.degrees(np.abs(beh["course"]))
    which = np.digitize(beh["since_s"], edges) - 1
    out = np.full((len(edges) - 1, 3), np.nan)
    counts = np.zeros(len(edges) - 1, int)
    for b in range(len(edges) - 1):
        a = angle[(which == b) & np.isfinite(angle)]
        counts[b] = a.size
        if a.size >= min_samples:
            out[b] = np.percentile(a, [25, 50, 75])
    per_module = {
        m: float(np.nanmedian(angle[beh["module"] == i])) if np.any(beh["module"] == i) else float("nan")
        for i, m in enumerate(MODULES)
    }
    return {
        "q25": out[:, 0],
        "median": out[:, 1],
        "q75": out[:, 2],
        "samples": counts,
        "per_module": per_module,
    }


def _decode(beh: dict[str, np.ndarray], cfg: Mapping[str, Any], steps_per_episode: int) -> dict[str, Any]:
    """PCA of the units and cross-validated decoding of the targets, with a circular time-shift null: every
    target shifted together by one offset of at least an episode's length against the activity."""
    pca = compute_pca(np.asarray(beh["hidden"], np.float64))  # every step
    keep = slice(None, None, int(cfg["decode_stride"]))  # decoding: every decode_stride-th step
    beh = {k: v[keep] for k, v in beh.items()}
    X = np.asarray(beh["hidden"], np.float64)
    targets = {
        "time_since_odour": beh["since_s"],
        "head_direction_to_wind": beh["head_to_wind"],
        "log_odour": beh["log_odour"],
    }
    kw = {"folds": int(cfg["folds"]), "circular": ["head_direction_to_wind"]}
    observed = decode_linear(X, targets, **kw).r2
    rng = np.random.default_rng(int(cfg["seed"]))
    n = len(X)
    gap = -(-steps_per_episode // int(cfg["decode_stride"]))  # one episode's length, in kept samples
    shifts = rng.integers(gap, n - gap, size=int(cfg["shuffles"]))
    null = {k: [] for k in TARGETS}
    for shift in shifts:
        r2 = decode_linear(X, {k: np.roll(v, shift) for k, v in targets.items()}, **kw).r2
        for k in TARGETS:
            null[k].append(r2[k])
    ratio = pca.explained_variance_ratio
    return {
        "explained_variance_ratio": ratio,
        "cumulative_variance": np.cumsum(ratio),
        "participation_ratio": pca.participation_ratio,
        "components_for_90pct": int(np.searchsorted(np.cumsum(ratio), 0.9) + 1),
        "r2": {k: observed[k] for k in TARGETS},
        "null_r2": {k: np.asarray(v) for k, v in null.items()},
        "null_p95": {k: float(np.percentile(v, 95)) for k, v in null.items()},
        "shifts": shifts,
        "decode_samples": n,
        "decode_stride_steps": int(cfg["decode_stride"]),
        "pca_samples": int(np.isfinite(pca.scores[:, 0]).sum()),
        "units": X.shape[1],
    }


def _success(groups: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for g in groups:
        k, n = int(g["success"].sum()), int(g["success"].size)
        name = g["policy"] if g["rate"] is None else f"{g['policy']}@{g['rate']:g}"
        out[name] = {"rate": k / n, "ci95": wilson(k, n), "successes": k, "episodes": n}
    return out


# ---------------------------------------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------------------------------------


def _examples(groups: list[dict[str, Any]], cfg: Mapping[str, Any], dt: float) -> list[dict[str, Any]]:
    """Panel a's data: per puff rate, the first ``examples`` agent episodes (positions up to their end and
    each step's module), the release-time plume of the first, and the agent's success rate at that rate."""
    out = []
    for g in groups:
        if g["rate"] is None or g["policy"] != "agent":
            continue
        s = g["steps"]
        sensed = s["obs"][..., 0] + s["obs"][..., 1] > 0
        code = modules(steps_since_odour(sensed), int(cfg["track_steps"]), int(cfg["lost_steps"]))
        paths = []
        for e in range(int(cfg["examples"])):
            keep = g["first"][e]
            paths.append({"xy": s["position"][e][keep], "module": code[e][keep], "success": g["success"][e]})
        active = g["plume"]["active"][0]
        out.append(
            {
                "puff_rate": g["rate"],
                "paths": paths,
                "puffs_xy": np.stack([g["plume"]["x"][0][active], g["plume"]["y"][0][active]], axis=1),
                "success_rate": float(g["success"].mean()),
                "episodes": int(g["success"].size),
            }
        )
    return out


def _plot_examples(axes, examples: list[dict[str, Any]], params) -> None:
    source = (float(params.source_x), float(params.source_y))
    every = np.concatenate([p["xy"] for ex in examples for p in ex["paths"]] + [np.asarray([source])])
    lo, hi = every.min(axis=0) - 0.3, every.max(axis=0) + 0.3
    half = max(hi[1] - lo[1], 0.35 * (hi[0] - lo[0])) / 2
    mid = (lo[1] + hi[1]) / 2
    for ax, ex in zip(axes, examples, strict=True):
        ax.scatter(*ex["puffs_xy"].T, s=1.5, color="0.75", lw=0, rasterized=True)
        for path in ex["paths"]:
            xy = path["xy"]
            segments = np.stack([xy[:-1], xy[1:]], axis=1)
            colours = [MODULE_COLOURS[MODULES[m]] for m in path["module"][:-1]]
            ax.add_collection(LineCollection(segments, colors=colours, lw=0.9))
            ax.plot(*xy[0], "o", ms=2.5, mfc="w", mec="k", mew=0.6)
        ax.add_patch(plt.Circle(source, float(params.success_radius), fill=False, color="k", lw=0.7))
        ax.plot(*source, "k*", ms=5)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(mid - half, mid + half)
        ax.set_aspect("equal")
        ax.set_title(f"{ex['puff_rate']:g} puffs/s: success {ex['success_rate']:.2f}", fontsize=7)
        ax.set_xlabel("x, downwind (m)")
        ax.annotate(
            "",
            xy=(0.95, 0.9),
            xytext=(0.75, 0.9),
            xycoords="axes fraction",
            arrowprops={"arrowstyle": "->", "lw": 0.8},
        )
        ax.text(0.85, 0.93, "wind", transform=ax.transAxes, fontsize=6, ha="center", va="bottom")
    axes[0].set_ylabel("y (m)")
    handles = [plt.Line2D([], [], color=MODULE_COLOURS[m], label=m) for m in MODULES]
    where = axes[0].get_figure()  # the subfigure holding panel a
    where.legend(
        handles=handles, loc="outside lower center", ncols=3, fontsize=6, title="module", title_fontsize=6
    )


def _plot_success(ax, success: dict[str, Any], distance) -> None:
    x = np.arange(len(POLICIES))
    order = ("random", "cast_only", "surge_cast", "agent")
    for i, p in enumerate(order):
        s = success[p]
        lo, hi = s["ci95"]
        ax.bar(i, s["rate"], color=COLOURS[p], width=0.7)
        err = [[max(s["rate"] - lo, 0.0)], [max(hi - s["rate"], 0.0)]]
        ax.errorbar(i, s["rate"], yerr=err, color="k", lw=0.8, capsize=2)
    ax.axhline(1.0, color="0.3", ls=":", lw=0.7)
    ax.set_xticks(x, [LABELS[p] for p in order], rotation=35, ha="right")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("success (fraction of releases)")
    ax.set_title(f"from {distance[0]:g}-{distance[1]:g} m, n={success['agent']['episodes']}", fontsize=7)


def _shade_modules(ax, cfg: Mapping[str, Any], dt: float, right: float) -> None:
    track, lost = int(cfg["track_steps"]) * dt, int(cfg["lost_steps"]) * dt
    for (a, b), m in zip(((0, track), (track, lost), (lost, right)), MODULES, strict=True):
        ax.axvspan(a, b, color=MODULE_COLOURS[m], alpha=0.08, lw=0)


def _plot_since(ax, stats: dict[str, Any], edges: np.ndarray, cfg, dt: float) -> None:
    width = np.diff(edges)
    right = float(cfg["since_plot_max_s"])
    _shade_modules(ax, cfg, dt, right)
    for p in ("agent", "surge_cast"):
        frac = stats[p]["module_fraction"]
        text = "/".join(f"{frac[m]:.2f}" for m in MODULES)
        density = stats[p]["since_hist_fraction"] / width
        ax.stairs(
            np.where(density > 0, density, np.nan),
            edges,
            color=COLOURS[p],
            lw=1.0,
            label=f"{LABELS[p]} ({text})",
        )
    ax.set_yscale("log")
    ax.set_xlim(0, right)
    ax.set_xlabel("time since last odour (s)")
    ax.set_ylabel("fraction of time per s")
    ax.legend(loc="upper right", fontsize=5.5, title="track/recover/lost", title_fontsize=5.5)


def _plot_course(ax, course: dict[str, Any], edges: np.ndarray, cfg, dt: float) -> None:
    centres = 0.5 * (edges[:-1] + edges[1:])
    right = float(cfg["since_plot_max_s"])
    _shade_modules(ax, cfg, dt, right)
    for p in ("agent", "surge_cast"):
        c = course[p]
        ax.fill_between(centres, c["q25"], c["q75"], color=COLOURS[p], alpha=0.25, lw=0, step="mid")
        ax.plot(centres, c["median"], drawstyle="steps-mid", color=COLOURS[p], label=LABELS[p])
    ax.axhline(90, color="k", ls=":", lw=0.7)
    ax.text(right, 92, "crosswind", fontsize=6, ha="right", va="bottom")
    ax.set_xlim(0, right)
    ax.set_ylim(0, 180)
    ax.set_yticks([0, 45, 90, 135, 180])
    ax.set_xlabel("time since last odour (s)")
    ax.set_ylabel("|course from upwind| (deg)")
    ax.legend(loc="lower right", fontsize=6)


def _plot_pca(ax, neural: dict[str, Any], shown: int = 15) -> None:
    cum = neural["cumulative_variance"][:shown]
    ax.plot(np.arange(1, len(cum) + 1), cum, "o-", ms=2.5, color=COLOURS["agent"])
    ax.axhline(0.9, color="k", ls=":", lw=0.7)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("principal components")
    ax.set_ylabel("cumulative variance explained")
    ax.set_title(f"PR = {neural['participation_ratio']:.1f} of {neural['units']} units", fontsize=7)


def _plot_decoding(ax, neural: dict[str, Any]) -> None:
    x = np.arange(len(TARGETS))
    ax.bar(x, [neural["r2"][k] for k in TARGETS], color=COLOURS["agent"], width=0.6, label="decoded")
    for i, k in enumerate(TARGETS):
        null = neural["null_r2"][k]
        ax.plot(np.full(null.size, i) + np.linspace(-0.15, 0.15, null.size), null, ".", ms=2, color="0.4")
        ax.plot([i - 0.3, i + 0.3], [neural["null_p95"][k]] * 2, color="k", lw=0.8)
    ax.plot([], [], ".", color="0.4", label="time-shift null")
    ax.plot([], [], "-", color="k", lw=0.8, label="null 95th pct.")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(x, [TARGET_LABELS[k] for k in TARGETS], fontsize=6)
    ax.set_ylim(min(-0.1, min(np.min(neural["null_r2"][k]) for k in TARGETS) - 0.05), 1.02)
    ax.set_ylabel("decoding R$^2$ (cross-val.)")
    ax.legend(loc="upper right", fontsize=5.5)


def _figure(examples, success, stats, course, neural, params, cfg, edges):
    dt = float(params.dt)
    fig = plt.figure(figsize=(7.2, 5.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.0])
    left, right = top.subfigures(1, 2, width_ratios=[3.0, 1.0])
    _plot_examples(left.subplots(1, len(examples), sharey=True), examples, params)
    _plot_success(right.subplots(), success, cfg["eval_distance"])
    c, d, e1, e2 = bottom.subplots(1, 4, gridspec_kw={"width_ratios": [1.2, 1.2, 0.9, 1.0]})
    _plot_since(c, stats, edges, cfg, dt)
    _plot_course(d, course, edges, cfg, dt)
    _plot_pca(e1, neural)
    _plot_decoding(e2, neural)
    for label, where in (("a", left), ("b", right)):
        where.text(0.0, 1.0, label, fontweight="bold", va="top", transform=where.transSubfigure)
    for label, ax in (("c", c), ("d", d), ("e", e1)):
        ax.text(-0.3, 1.08, label, fontweight="bold", va="top", transform=ax.transAxes)
    return fig


def make(ctx) -> FigureResult:
    cfg = ctx.config
    train = merge_config(read_yaml(TRAIN_CONFIG), cfg.get("train") or {})
    run_dir = ctx.train(train, label="ppo")
    t0 = time.perf_counter()
    groups, params = _play_all(ctx, run_dir)
    ctx.log(f"odor_plume: evaluation rollouts {time.perf_counter() - t0:.1f} s")
    dt = float(params.dt)
    edges = np.asarray(cfg["since_edges_s"], float)
    default = {g["policy"]: g for g in groups if g["rate"] is None}
    beh = {p: _behaviour(default[p], cfg, dt) for p in ("agent", "surge_cast")}
    stats = {p: _module_stats(beh[p], edges) for p in beh}
    course = {p: _course_by_since(beh[p], edges, int(cfg["min_bin_samples"])) for p in beh}
    t0 = time.perf_counter()
    neural = _decode(beh["agent"], cfg, int(params.max_steps))
    ctx.log(f"odor_plume: PCA and decoding {time.perf_counter() - t0:.1f} s")
    success = _success(groups)
    examples = _examples(groups, cfg, dt)
    agent_lo = success["agent"]["ci95"][0]
    claims = {
        "success_above_random": bool(agent_lo > success["random"]["ci95"][1]),
        "success_above_cast_only": bool(agent_lo > success["cast_only"]["ci95"][1]),
        "time_since_odour_decodable": bool(
            neural["r2"]["time_since_odour"] > max(0.0, neural["null_p95"]["time_since_odour"])
        ),
    }
    numbers = {
        "eval_distance_m": cfg["eval_distance"],
        "success": success,
        "examples": examples,
        "module_thresholds_steps": {"track_max": int(cfg["track_steps"]), "lost_min": int(cfg["lost_steps"])},
        "module_thresholds_s": {
            "track_max": int(cfg["track_steps"]) * dt,
            "lost_min": int(cfg["lost_steps"]) * dt,
        },
        "since_edges_s": edges,
        "time_since_odour": stats,
        "course_deg_by_since": course,
        "neural": neural,
        "dt_s": dt,
        "note": "course bins with fewer than min_bin_samples samples are NaN; time since odour counts from "
        "the release before the first encounter (Singh et al.'s odor_lastenc)",
        "min_bin_samples": int(cfg["min_bin_samples"]),
    }
    fig = _figure(examples, success, stats, course, neural, params, cfg, edges)
    return FigureResult(fig, numbers, claims)
