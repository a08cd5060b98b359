"""Figure: patch leaving. Agents trained by PPO to forage in depleting patches stay longer in each patch the
longer the travel between patches, as the Marginal Value Theorem predicts, and earn its optimal reward rate.

Reproduces the central prediction of Charnov 1976 (Theor. Popul. Biol. 9:129, "Optimal foraging, the marginal
value theorem"; his graphical tangent construction: a longer travel time makes the optimal residence time
longer), on ``neuroethology/PatchForaging-v0`` (``configs/patch_foraging.yaml``):

(a) residence time per patch visit (median and interquartile range over every visit the agent ended by leaving,
    in ``sessions`` fresh 10-minute sessions, sampling its policy as it acts) of agents trained at each of the
    ``travel_times``, against the MVT optimum over a continuum of travel times (``mvt_optimum``: exact for the
    discrete-time dynamics, 0.1 s steps), with the band of residence times whose long-run rate is within 10% of
    the optimum (how flat the optimum is);
(b) each agent's reward rate (rewards per second over a session, mean and s.e.m. over sessions) as a fraction
    of the MVT optimal long-run rate at its travel time, with the MVT forager itself run through the same
    sessions (``ne.policies.MVTPolicy``: what the optimum earns in finite sessions that start in a fresh patch),
    and the long-run rate of a travel-blind forager that always stays the residence time optimal at the middle
    travel time (what adapting to the travel time is worth).

Design: one agent per travel time, each trained separately with a fixed travel (``travel_distribution:
fixed``), like the blocked delays of the lab tasks (rats at feeders with imposed delays, Sci. Rep. 2023, 13,
doi:10.1038/s41598-023-34179-8). An agent trained across travel times would need the travel time to vary from
episode to episode, which PatchForaging-v0 does not do (its travel is drawn per leave, independently, so the last
travel says nothing of the next, and the MVT optimum depends only on the mean). Travel times 2, 6 and 18 s
(factors of 3, inside the 0-24 s of the rat task; configs/patch_foraging.yaml trains at 6 s) put the optimal
residences at 5.7, 9.3 and 14.5 s, far enough apart that agents which are near-optimal in rate (whose band is
wide) must still order their residences to match.

How ours differs: Charnov's theorem is analytical (no data); ours tests it on learning agents (a 64-unit GRU, PPO)
in a discrete-time task (0.1 s steps, Bernoulli rewards whose probability decays exponentially with harvesting,
as in the mouse tasks of Lottem et al. 2018 and Bukwich et al. 2025) where the agent senses only its rewards, its
time and harvest in the patch and the travel, not the patch's level.

Claims: ``residence_rises_with_travel`` (the median residences, pooled over each travel time's agents, increase
strictly with travel time, and the Spearman correlation of travel time and residence over all visits is positive)
and ``reward_rate_at_least_0.9_of_mvt`` (every agent's mean session rate is at least 0.9 of the MVT optimal
long-run rate at its travel time). The second is weak evidence on its own: the optimum is flat, and the
travel-blind forager earns ~0.94 of it at 2 and 18 s (``theory.travel_blind_fraction``); the first is the MVT's
prediction proper. The numbers also give each agent's greedy readout (``greedy_*``: the policy's most likely
action at every step): the trained agents leave through a rising hazard of leaving, whose probability need not
cross 0.5, so the greedy agent may never leave; the agents are measured as they act (sampling).

Both modes train with PPO updates of 2,048 steps (32 environments x 64 steps; configs/patch_foraging.yaml's
64 x 128 gives four times fewer updates for the same steps, and in fast mode its agents earned only 0.76-0.88 of
the MVT rate). Fast mode (CI) trains 409,600 steps per agent and evaluates 32 sessions: over training seeds 0, 1
and 2 its agents earn 0.955-0.982 of the MVT rate and stay 4.1-5.4, 8.7-11.1 and 13.2-14.1 s at 2, 6 and 18 s
travel (MVT: 5.7, 9.3, 14.5 s), 45 s wall on 2 cores; its test asserts both claims. Full mode: 2,457,600 steps
per agent (half configs/patch_foraging.yaml's 5M), one agent per travel time (``train: {num_seeds: N}`` trains N
per travel time), 64 sessions each (numbers and time in paper_figures/README.md)::

    neuroethology figures --only patch_leaving --out out/figures        # --fast for the CI budget
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx
from scipy.stats import spearmanr

import neuroethology.envs as ne
from neuroethology.analysis.plots.style import PALETTE
from neuroethology.config import read_yaml
from neuroethology.envs.patch_foraging import long_run_reward_rate, mvt_optimum
from neuroethology.gallery import FigureResult, merge_config
from neuroethology.training import load_run

TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "patch_foraging.yaml"
THRESHOLD = 0.9  # the claimed fraction of the MVT rate (and the band drawn in panel a)


def _train_config(ctx, travel: float) -> dict[str, Any]:
    """configs/patch_foraging.yaml with the figure's overrides and a fixed travel of ``travel`` s."""
    fixed = {"env": {"params": {"travel_distribution": "fixed", "travel_time": float(travel)}}}
    return merge_config(merge_config(read_yaml(TRAIN_CONFIG), ctx.config.get("train") or {}), fixed)


# ---------------------------------------------------------------------------------------------------------
# Sessions of trained agents and of the MVT forager
# ---------------------------------------------------------------------------------------------------------


def _session_player(ppo, sessions: int):
    """``play(weights, params, key)``: ``sessions`` fresh sessions of one whole episode each, the agent sampling
    its policy; per step ``(sessions, T)`` the reward, whether the step left a patch, the harvest steps in the
    patch before it, and whether the episode ended. Compiled once for every agent (weights and params are
    arguments; the travel time is a traced parameter)."""
    env, graphdef = ppo.env, ppo.graphdef
    num_steps = int(ppo.env_params.max_steps)

    def one(weights, params, key, greedy):
        agent = nnx.merge(graphdef, weights)
        k_reset, k_loop = jax.random.split(key)
        obs, state = env.reset(k_reset, params)

        def body(carry, k):
            obs, state, h = carry
            k_act, k_step = jax.random.split(k)
            out = agent.step(h, obs, jnp.zeros((), bool))
            action = jnp.where(greedy, out.dist.mode(), out.dist.sample(k_act)[0])
            obs, next_state, reward, term, trunc, info = env.step(k_step, state, action, params)
            rec = {"reward": reward, "left": info["left"], "stay": state.residence, "ended": term | trunc}
            return (obs, next_state, out.state), rec

        carry = (obs, state, agent.initial_state())
        return jax.lax.scan(body, carry, jax.random.split(k_loop, num_steps))[1]

    play = jax.jit(jax.vmap(one, in_axes=(None, None, 0, None)))
    return lambda weights, params, key, greedy: play(weights, params, jax.random.split(key, sessions), greedy)


def _measure(reward, left, stay, ended, params, optimum) -> dict[str, Any]:
    """Rates (per session, as a fraction of the MVT rate) and residence times (s, per completed visit) of
    ``(sessions, T)`` records, counting only each session's first episode."""
    reward, left, stay, ended = (np.asarray(a) for a in (reward, left, stay, ended))
    first = (np.cumsum(ended, axis=1) - ended) == 0
    duration = first.sum(axis=1) * float(params.dt)
    rates = (reward * first).sum(axis=1) / duration
    fraction = rates / optimum.reward_rate
    stays = stay[left.astype(bool) & first] * float(params.dt)
    return {
        "rate_per_session": rates,
        "fraction_mean": float(fraction.mean()),
        "fraction_sem": float(fraction.std(ddof=1) / np.sqrt(fraction.size)),
        "residence_s": stays,
        "visits": int(stays.size),
        "residence_median_s": float(np.median(stays)) if stays.size else float("nan"),
        "residence_q25_s": float(np.percentile(stays, 25)) if stays.size else float("nan"),
        "residence_q75_s": float(np.percentile(stays, 75)) if stays.size else float("nan"),
    }


def _agents(ctx, travel: float, player_box: dict) -> list[dict[str, Any]]:
    """Train (or reuse) the agents at ``travel`` s and measure each one in fresh sessions."""
    run_dir = ctx.train(_train_config(ctx, travel), label=f"travel{travel:g}s")
    loaded = load_run(run_dir)
    params = loaded.ppo.env_params
    optimum = mvt_optimum(params)
    if "play" not in player_box:
        player_box["play"] = _session_player(loaded.ppo, int(ctx.config["sessions"]))
    key = jax.random.key(int(ctx.config["seed"]))
    out = []
    for run, label in enumerate(loaded.labels):
        weights = jax.tree.map(lambda x, r=run: x[r], loaded.runner_state.weights)
        agent = {"travel_time_s": travel, "seed": int(label["seed"])}
        for mode, greedy in (("", False), ("greedy_", True)):
            rec = player_box["play"](weights, params, jax.random.fold_in(key, run), greedy)
            rec = jax.tree.map(np.asarray, rec)
            measured = _measure(rec["reward"], rec["left"], rec["stay"], rec["ended"], params, optimum)
            agent.update({mode + k: v for k, v in measured.items()})
        out.append(agent)
    return out


def _mvt_forager(ctx, travel: float) -> dict[str, Any]:
    """The MVT forager (``ne.policies.MVTPolicy``) in the same sessions as the agents: the measurement's check
    (its residence is the optimum) and the rate the optimum earns in finite sessions."""
    env, params = ne.make("neuroethology/PatchForaging-v0", **_train_config(ctx, travel)["env"]["params"])
    optimum = mvt_optimum(params)
    sessions = int(ctx.config["sessions"])
    roll = ne.rollout(
        env,
        ne.policies.MVTPolicy(params),
        jax.random.key(int(ctx.config["seed"]) + 1),
        params,
        num_steps=int(params.max_steps),
        num_envs=sessions,
        record_info=True,
    )
    stay = np.asarray(roll.states.residence)  # harvest steps in the state each action was taken in
    ended = np.asarray(roll.terminated | roll.truncated)
    left = np.asarray(roll.infos["left"])
    return _measure(roll.rewards.T, left.T, stay.T, ended.T, params, optimum)


# ---------------------------------------------------------------------------------------------------------
# The optimum over a continuum of travel times
# ---------------------------------------------------------------------------------------------------------


def _theory(travel_times: np.ndarray, middle: float, base_params) -> dict[str, Any]:
    """The MVT optimum (residence, rate) at each travel time, the band of residences whose long-run rate is
    within ``THRESHOLD`` of it, and the long-run fraction of a travel-blind forager staying the residence
    optimal at ``middle`` s."""
    blind_steps = mvt_optimum(base_params.replace(travel_time=float(middle))).residence_steps
    steps = np.arange(0, 3000)
    rows = []
    for travel in travel_times:
        params = base_params.replace(travel_time=float(travel))
        opt = mvt_optimum(params)
        ok = steps[long_run_reward_rate(params, steps) >= THRESHOLD * opt.reward_rate]
        blind = float(long_run_reward_rate(params, blind_steps)) / opt.reward_rate
        rows.append((opt.residence_time, opt.reward_rate, ok.min(), ok.max(), blind))
    res, rate, lo, hi, blind = (np.asarray(c, float) for c in zip(*rows, strict=True))
    dt = float(base_params.dt)
    return {
        "travel_time_s": np.asarray(travel_times, float),
        "residence_s": res,
        "reward_rate_per_s": rate,
        "band_low_s": lo * dt,
        "band_high_s": hi * dt,
        "travel_blind_residence_s": blind_steps * dt,
        "travel_blind_optimal_at_s": float(middle),
        "travel_blind_fraction": blind,
    }


# ---------------------------------------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------------------------------------


def _offsets(agents: list[dict[str, Any]]) -> np.ndarray:
    """Horizontal offsets (as a factor of the travel time, on a log axis) of the seeds at one travel time."""
    n = len(agents)
    return 1.0 + 0.06 * (np.arange(n) - (n - 1) / 2)


def _plot_residence(ax, theory: dict[str, Any], groups: list[list[dict[str, Any]]]) -> None:
    t = theory["travel_time_s"]
    ax.fill_between(
        t,
        theory["band_low_s"],
        theory["band_high_s"],
        color=PALETTE["grey"],
        alpha=0.35,
        lw=0,
        label=f"long-run rate >= {THRESHOLD:g} of MVT",
    )
    ax.plot(t, theory["residence_s"], color="k", lw=1.2, label="MVT optimum (Charnov 1976)")
    blind = f"travel-blind (optimal at {theory['travel_blind_optimal_at_s']:g} s travel)"
    ax.axhline(theory["travel_blind_residence_s"], color=PALETTE["reference"], ls="--", lw=0.9, label=blind)
    for i, agents in enumerate(groups):
        for agent, factor in zip(agents, _offsets(agents), strict=True):
            med = agent["residence_median_s"]
            err = [[med - agent["residence_q25_s"]], [agent["residence_q75_s"] - med]]
            ax.errorbar(
                agent["travel_time_s"] * factor,
                med,
                yerr=err,
                fmt="o",
                ms=4,
                color=PALETTE["agent"],
                capsize=2,
                lw=1.0,
                label="trained GRU (median, IQR)" if i == 0 and factor == _offsets(agents)[0] else None,
            )
    ax.set_xscale("log")
    ticks = [agents[0]["travel_time_s"] for agents in groups]
    ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
    ax.set_xlabel("travel time between patches (s)")
    ax.set_ylabel("residence time in a patch (s)")
    ax.set_ylim(0, None)
    ax.legend(loc="upper left", fontsize=6)


def _plot_rates(ax, groups: list[list[dict[str, Any]]], mvt: list[dict[str, Any]], blind: np.ndarray) -> None:
    x = np.arange(len(groups))
    for i, agents in enumerate(groups):
        n = len(agents)
        for j, agent in enumerate(agents):
            ax.errorbar(
                i - 0.12 + 0.08 * (j - (n - 1) / 2),
                agent["fraction_mean"],
                yerr=agent["fraction_sem"],
                fmt="o",
                ms=4,
                color=PALETTE["agent"],
                capsize=2,
                label="trained GRU" if i == 0 and j == 0 else None,
            )
        ax.errorbar(
            i + 0.14,
            mvt[i]["fraction_mean"],
            yerr=mvt[i]["fraction_sem"],
            fmt="s",
            ms=4,
            color="k",
            capsize=2,
            label="MVT forager, same sessions" if i == 0 else None,
        )
    ax.plot(x, blind, "^", ms=5, color=PALETTE["reference"], label="travel-blind forager (long run)")
    ax.axhline(1.0, color="k", lw=0.8, label="MVT optimum")
    ax.axhline(THRESHOLD, color="k", ls=":", lw=0.8, label=f"{THRESHOLD:g} of optimum")
    ax.set_xticks(x, [f"{agents[0]['travel_time_s']:g}" for agents in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xlabel("travel time between patches (s)")
    ax.set_ylabel("reward rate / MVT optimal rate")
    lows = [a["fraction_mean"] - a["fraction_sem"] for agents in groups for a in agents]
    ax.set_ylim(min(0.8, min(lows) - 0.02, float(np.min(blind)) - 0.02), 1.1)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=6)


def _figure(theory, groups, mvt):
    fig, (ax_a, ax_b) = plt.subplots(
        1, 2, figsize=(7.2, 2.8), layout="constrained", gridspec_kw={"width_ratios": [1.0, 0.8]}
    )
    _plot_residence(ax_a, theory, groups)
    blind_at_agents = [
        float(np.interp(agents[0]["travel_time_s"], theory["travel_time_s"], theory["travel_blind_fraction"]))
        for agents in groups
    ]
    _plot_rates(ax_b, groups, mvt, np.asarray(blind_at_agents))
    for label, ax in zip("ab", (ax_a, ax_b), strict=True):
        ax.text(-0.18, 1.02, label, fontweight="bold", va="bottom", transform=ax.transAxes)
    return fig


def _claims(groups: list[list[dict[str, Any]]]) -> tuple[dict[str, bool], dict[str, Any]]:
    """The claims and the numbers they rest on (medians pooled over each travel time's agents)."""
    pooled = [np.concatenate([a["residence_s"] for a in agents]) for agents in groups]
    medians = np.asarray([np.median(p) if p.size else np.nan for p in pooled])
    travel = np.concatenate(
        [np.full(p.size, agents[0]["travel_time_s"]) for p, agents in zip(pooled, groups, strict=True)]
    )
    rho = float(spearmanr(travel, np.concatenate(pooled)).statistic) if travel.size > 2 else float("nan")
    fractions = np.asarray([a["fraction_mean"] for agents in groups for a in agents])
    claims = {
        "residence_rises_with_travel": bool(np.all(np.diff(medians) > 0) and rho > 0),
        "reward_rate_at_least_0.9_of_mvt": bool(np.all(fractions >= THRESHOLD)),
    }
    numbers = {
        "pooled_residence_median_s": medians,
        "spearman_travel_residence": rho,
        "min_fraction_of_mvt": float(fractions.min()),
        "fraction_threshold": THRESHOLD,
    }
    return claims, numbers


def make(ctx) -> FigureResult:
    cfg = ctx.config
    travel_times = [float(t) for t in cfg["travel_times"]]
    player_box: dict[str, Any] = {}
    groups = [_agents(ctx, travel, player_box) for travel in travel_times]
    mvt = [_mvt_forager(ctx, travel) for travel in travel_times]
    base = ne.make("neuroethology/PatchForaging-v0", **_train_config(ctx, travel_times[0])["env"]["params"])[
        1
    ]
    # Travel times that are whole steps (the dynamics round travel up to whole steps), log-spaced.
    dt = float(base.dt)
    continuum = (
        np.unique(np.round(np.geomspace(min(travel_times) / 2, max(travel_times) * 1.5, 80) / dt)) * dt
    )
    theory = _theory(continuum, travel_times[len(travel_times) // 2], base)
    claims, summary = _claims(groups)
    optimum = [mvt_optimum(base.replace(travel_time=t)) for t in travel_times]
    numbers = {
        "travel_times_s": travel_times,
        "mvt_residence_s": [o.residence_time for o in optimum],
        "mvt_reward_rate_per_s": [o.reward_rate for o in optimum],
        "agents": groups,
        "mvt_forager": mvt,
        "theory": theory,
        **summary,
    }
    return FigureResult(_figure(theory, groups, mvt), numbers, claims)
