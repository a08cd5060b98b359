"""Does PPO learn each task? Trains every configured environment (configs/*.yaml) and prints a table of task
metrics with wall times. Not a test: it takes minutes per environment.

* OpenField (coverage): mean fraction of the arena covered per episode, trained vs untrained.
* PatchForaging (discrete): long-run reward rate of the trained agent over full 10-minute sessions, as a
  fraction of the Marginal Value Theorem optimum (Charnov 1976; :func:`neuroethology.envs.patch_foraging.
  mvt_optimum`). Target >= 0.9 within 10 minutes on 2 cores.
* OdorPlume (constant wind): success rate (reaching the source within the episode) of the trained agent.
  Target >= 0.8 within 20 minutes.
* WaterMaze (fixed platform): escape latency (s) in the first and the last tenth of training (Morris 1984's
  learning curve). Target: at least halved.
* TMaze (cued): fraction of correct choices of the trained agent. Target >= 0.95.

Environments that are not registered are skipped with a message. ``--quick`` trains on a fraction of each
config's budget (a smoke run: the targets are for the full budgets); ``--only`` picks environments.

    .venv/bin/python benchmarks/learning.py                      # full budgets (about an hour on 2 cores)
    .venv/bin/python benchmarks/learning.py --quick --only t_maze patch_foraging
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from neuroethology import envs as ne
from neuroethology.agents.policy import AgentPolicy
from neuroethology.training import load_train_config
from neuroethology.training.run import train_run

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TASKS = {
    "open_field": "neuroethology/OpenField-v0",
    "patch_foraging": "neuroethology/PatchForaging-v0",
    "odor_plume": "neuroethology/OdorPlume-v0",
    "water_maze": "neuroethology/WaterMaze-v0",
    "t_maze": "neuroethology/TMaze-v0",
}


def _weights(result, run: int = 0):
    return jax.tree.map(lambda x: x[run], result.runner_state.weights)


def _rollout(
    ppo,
    weights,
    *,
    episodes: int,
    steps: int | None = None,
    seed: int = 123,
    deterministic=False,
    **param_overrides,
):
    """A rollout and the environment's transition infos, ``(T, episodes, ...)`` NumPy arrays."""
    params = ppo.env_params.replace(**param_overrides) if param_overrides else ppo.env_params
    steps = int(params.max_steps) if steps is None else steps
    policy = AgentPolicy(ppo.graphdef, weights, deterministic=deterministic)
    roll = ne.rollout(
        ppo.env, policy, jax.random.key(seed), params, num_steps=steps, num_envs=episodes, record_info=True
    )
    roll = jax.tree.map(np.asarray, roll._replace(states=None, final_state=None))
    return roll, roll.infos


def _first_episode_mask(roll) -> np.ndarray:
    """``(T, B)`` True up to and including each environment's first episode end."""
    ends = roll.terminated | roll.truncated
    after = np.cumsum(ends, axis=0) - ends  # episode ends strictly before t
    return after == 0


def _untrained(ppo):
    return jax.jit(ppo.init)(jax.random.key(99)).weights


def metric_open_field(ppo, result, run_dir):
    def coverage(weights):
        roll, _ = _rollout(ppo, weights, episodes=64)
        mask = _first_episode_mask(roll)
        return float((roll.rewards * mask).sum(0).mean())

    trained, untrained = coverage(_weights(result)), coverage(_untrained(ppo))
    return f"coverage per episode {trained:.3f} (untrained agent {untrained:.3f})", trained > 2 * untrained


def metric_patch_foraging(ppo, result, run_dir):
    from neuroethology.envs.patch_foraging import mvt_optimum

    optimum = mvt_optimum(ppo.env_params)
    roll, info = _rollout(ppo, _weights(result), episodes=64)
    duration = float(ppo.env_params.dt) * roll.rewards.shape[0]
    per_session = roll.rewards.sum(0) / duration  # (64,) reward rates of independent 10-minute sessions
    rate = float(per_session.mean())
    sem = float(per_session.std(ddof=1) / np.sqrt(per_session.size))
    # Residence at leaving: the time harvested in the state before each leave transition.
    left = info["left"].astype(bool)
    stays = info["residence_time"][:-1][left[1:]]
    fraction = rate / optimum.reward_rate
    text = (
        f"reward rate {rate:.4f} +- {sem:.4f}/s (s.e.m. over 64 sessions) = {fraction:.3f} of the MVT "
        f"optimum {optimum.reward_rate:.4f}/s; "
        f"median residence {np.median(stays) if stays.size else float('nan'):.1f} s "
        f"(MVT {optimum.residence_time:.1f} s)"
    )
    return text, fraction >= 0.9


def metric_odor_plume(ppo, result, run_dir):
    # The standard releases, 4-8 m downwind (training may use a wider range: see configs/odor_plume.yaml).
    roll, _ = _rollout(ppo, _weights(result), episodes=256, start_distance_min=4.0, start_distance_max=8.0)
    mask = _first_episode_mask(roll)
    success = (roll.terminated & mask).any(0)
    rate = float(success.mean())
    times = (np.argmax(roll.terminated & mask, axis=0) + 1) * float(ppo.env_params.dt)
    return (
        f"success rate {rate:.3f} over 256 episodes from 4-8 m (median time to source "
        f"{np.median(times[success]) if success.any() else float('nan'):.1f} s)"
    ), rate >= 0.8


def metric_water_maze(ppo, result, run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    lengths = [(r["update"], r["episode_length_mean"], r["episodes"]) for r in rows if r["episodes"]]
    n = max(1, len(lengths) // 10)
    dt = float(ppo.env_params.dt)

    def block(part):
        steps = sum(length * count for _, length, count in part)
        return steps / sum(count for _, _, count in part) * dt

    first, last = block(lengths[:n]), block(lengths[-n:])
    roll, _ = _rollout(ppo, _weights(result), episodes=64)
    mask = _first_episode_mask(roll)
    found = (roll.terminated & mask).any(0).mean()
    return (
        f"escape latency {first:.1f} s (first tenth of training) -> {last:.1f} s (last tenth); "
        f"trained agent finds the platform in {found:.0%} of 64 trials"
    ), last <= first / 2


def metric_t_maze(ppo, result, run_dir):
    out = []
    for deterministic in (False, True):
        roll, info = _rollout(ppo, _weights(result), episodes=64, deterministic=deterministic)
        mask = _first_episode_mask(roll)
        done = info["trial_done"].astype(bool) & mask
        correct = info["correct"].astype(bool) & done
        out.append(correct.sum() / max(done.sum(), 1))
    return (
        f"correct choices {out[0]:.3f} sampling, {out[1]:.3f} greedy (64 blocks of 10 trials)",
        out[0] >= 0.95,
    )


METRICS = {
    "open_field": metric_open_field,
    "patch_foraging": metric_patch_foraging,
    "odor_plume": metric_odor_plume,
    "water_maze": metric_water_maze,
    "t_maze": metric_t_maze,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="train on 1/10 of each config's total_steps")
    parser.add_argument("--only", nargs="+", choices=sorted(TASKS), help="environments to train")
    parser.add_argument(
        "--fraction", type=float, default=None, help="fraction of total_steps (default 1, 0.1 with --quick)"
    )
    parser.add_argument("--out", type=Path, default=None, help="keep the run directories here")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides applied to every config")
    args = parser.parse_args(argv)
    fraction = args.fraction if args.fraction is not None else (0.1 if args.quick else 1.0)
    registered = set(ne.registered_envs())
    print(
        f"JAX {jax.__version__} on {jax.devices()[0].platform.upper()} ({jax.device_count()} device(s)); "
        f"{fraction:g} x each config's total_steps\n",
        flush=True,
    )
    rows = []
    base = args.out or Path(tempfile.mkdtemp(prefix="learning_"))
    for name in args.only or list(TASKS):
        if TASKS[name] not in registered:
            print(f"skipping {name}: {TASKS[name]} is not registered yet")
            continue
        config = load_train_config(CONFIGS / f"{name}.yaml", list(args.overrides))
        steps = max(1, int(config.total_steps * fraction))
        config = load_train_config(CONFIGS / f"{name}.yaml", [*args.overrides, f"total_steps={steps}"])
        run_dir = base / name
        print(f"== {name}: {steps:,} steps", flush=True)
        t0 = time.perf_counter()
        result = train_run(config, run_dir, progress=True)
        wall = time.perf_counter() - t0
        if result.status != "completed":
            rows.append((name, steps, wall, result.message, False))
            continue
        from neuroethology.training.run import cached_ppo

        text, ok = METRICS[name](cached_ppo(config), result, run_dir)
        rows.append((name, steps, wall, text, ok))
        print(f"   {text} [{wall / 60:.1f} min]", flush=True)
    print("\n| task | env steps | wall time | result | target met |")
    print("|---|---:|---:|---|:---:|")
    for name, steps, wall, text, ok in rows:
        print(f"| {name} | {steps:,} | {wall / 60:.1f} min | {text} | {'yes' if ok else 'no'} |")
    print(f"\nrun directories: {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
