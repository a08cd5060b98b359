"""``neuroethology train``: reinforcement learning (recurrent PPO) from a YAML config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._arguments import add_no_progress_argument, add_resume_argument, add_run_output, check_at_least_one

NAME = "train"
HELP = "train agents with recurrent PPO from a config (configs/*.yaml)"
DESCRIPTION = """\
Train recurrent agents with PPO on an environment, as described by a YAML config (see configs/). Settings
can be overridden as key=value (dotted keys for sections; values are YAML). The run directory gets
config.yaml (resolved), metrics.jsonl, manifest.json and Orbax checkpoints; a progress bar shows steps,
return and steps/s. Stop with Ctrl-C at any time and continue with --resume.

  neuroethology train configs/open_field.yaml --out runs/open_field
  neuroethology train configs/t_maze.yaml total_steps=500000 num_seeds=4 ppo.learning_rate=1e-3 --out runs/tm
  neuroethology train --resume --out runs/open_field          continue an interrupted run exactly
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", type=Path, help="YAML config file (optional with --resume)")
    p.add_argument(
        "overrides", nargs="*", metavar="key=value", help="config overrides, e.g. total_steps=200000"
    )
    add_run_output(p, help="run directory to create (or resume)")
    add_resume_argument(p, help="continue the run in --out from its newest checkpoint")
    add_no_progress_argument(p)
    p.add_argument(
        "--distributed",
        action="store_true",
        help="several hosts: call jax.distributed.initialize() first (run the same command on every host; "
        "see docs/training.md)",
    )
    p.add_argument(
        "--max-chunks",
        type=int,
        default=None,
        metavar="N",
        help="stop (with a checkpoint) after N chunks of updates, for time-limited jobs",
    )


def run(args: argparse.Namespace) -> int:
    from ._paths import check_output_dir

    check_at_least_one(args, "max_chunks")
    check_output_dir(args.out)
    if args.distributed:
        import jax

        # Reads the coordinator address, process count and id from the cluster (SLURM, Open MPI, TPU pods, or
        # JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID); must come before any other JAX call.
        jax.distributed.initialize()
    from ..priors import load_animal_prior
    from ..training import load_train_config
    from ..training.run import CONFIG_FILE, load_run_config, train_run

    overrides = list(args.overrides)
    config = None
    if args.config is not None:
        # `neuroethology train key=value --resume --out RUN` would put the override into `config`.
        if "=" in str(args.config) and not args.config.exists():
            raise ValueError(f"expected a config file before the overrides, got {str(args.config)!r}")
        config = load_train_config(args.config, overrides)
    elif overrides:
        raise ValueError("overrides need a config file: neuroethology train CONFIG key=value ... --out RUN")
    elif not args.resume:
        raise ValueError("give a config file (e.g. configs/open_field.yaml), or --resume to continue a run")
    # The animal prior (config.prior) is built here, above training: a resumed run uses its saved config's.
    source = config
    if source is None and (args.out / CONFIG_FILE).exists():
        source = load_run_config(args.out)
    prior = load_animal_prior(source) if source is not None else None
    result = train_run(
        config,
        args.out,
        prior=prior,
        resume=args.resume,
        progress=not args.no_progress,
        max_chunks=args.max_chunks,
    )
    if result.status in ("nonfinite", "diverged"):
        print(f"neuroethology train: {result.message}", file=sys.stderr)
        return 1
    print(result.message)
    return 0
