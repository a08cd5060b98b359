"""``neuroethology evaluate``: roll out trained agents and write the episodes as a Recording."""

from __future__ import annotations

import argparse

from ._arguments import (
    add_animal_argument,
    add_recording_output,
    add_run_argument,
    add_seed_argument,
    write_rollouts,
)

NAME = "evaluate"
HELP = "roll out the agents of a run (trained or fitted) for N episodes and write a Recording (.nc)"
DESCRIPTION = """\
Run every agent of a run directory (from `neuroethology train`: each seed / sweep value is one individual;
from `neuroethology fit`: the fitted model) for N complete episodes in its environment and write positions,
headings, actions, rewards, hidden units, value and log-probability, episode index and the task's variables
as a Recording (netCDF), the same data model as animal recordings, so every analysis and comparison runs on
it unchanged. `neuroethology simulate` writes the same variables for one free-running session.

  neuroethology evaluate runs/open_field --episodes 10 --out out/open_field_agents.nc
  neuroethology evaluate runs/t_maze --episodes 50 --deterministic --runs 0 --out out/tmaze.nc
  neuroethology evaluate runs/rat-gru --episodes 4 --out out/rat_gru_episodes.nc
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_run_argument(p)
    p.add_argument("--episodes", type=int, required=True, metavar="N", help="episodes per trained run")
    add_recording_output(p)
    add_seed_argument(p, help="random seed of the rollouts (default 0)")
    p.add_argument(
        "--deterministic", action="store_true", help="take the most likely action instead of sampling"
    )
    p.add_argument(
        "--runs", type=int, nargs="+", metavar="I", help="indices of the trained runs (default: all)"
    )
    p.add_argument(
        "--checkpoint",
        type=int,
        default=None,
        metavar="UPDATE",
        help="checkpoint to load (default: the newest)",
    )
    add_animal_argument(p, default_help="every twin, if they share an arena")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..run_policies import evaluate

    rec = write_rollouts(
        args,
        evaluate,
        episodes=args.episodes,
        deterministic=args.deterministic,
        runs=args.runs,
        step=args.checkpoint,
        animal=args.animal,
        log=lambda m: print(f"  {m}", flush=True),
    )
    episodes = rec["episode"].values
    reward = rec["reward"].values
    per_episode = [
        float(np.nansum(reward[:, i][episodes[:, i] == e]))
        for i in range(episodes.shape[1])
        for e in np.unique(episodes[:, i])
        if e >= 0
    ]
    print(
        f"wrote {args.out}: {rec.sizes['individual']} agent(s) x {args.episodes} episode(s), "
        f"{rec.sizes['time']} steps; mean episode return {np.mean(per_episode):.4g}"
    )
    return 0
