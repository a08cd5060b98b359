"""``neuroethology demo``: the package's main job, end to end, on the bundled rat."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._arguments import add_seed_argument, check_at_least_one

NAME = "demo"
HELP = (
    "fit a GRU and the random-motion baseline to a real rat, simulate them, compare (what `make demo` runs)"
)
DESCRIPTION = """\
The whole pipe on the rat of Sargolini et al. (2006) that ships with RatInABox (10 min, 50 Hz, 1 x 1 m box):
fit RatInABox's random-motion model (maximum likelihood) and GRU agents (maximum likelihood of the rat's
actions given what it saw) to the first 80% of the recording, let the fitted GRU, the fitted baseline and
RatInABox's default agent run freely in the same box, and compare their speed, turning rate and distance to
the wall with the held-out 20% of the rat. Writes figures (PDF and PNG), simulated recordings (.nc), the
fitted run (fitted_gru/) and report.md / report.json to the output folder, and prints a three-line verdict.
Takes a few minutes on two CPU cores.

  neuroethology demo                     writes to out/demo
  neuroethology demo --out figures/ --seed 3
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    add_seed_argument(p)
    p.add_argument("--updates", type=int, default=1500, help="most GRU gradient updates (default 1500)")
    p.add_argument("--seeds", type=int, default=4, help="GRUs trained at once; one is kept (default 4)")
    p.add_argument("--runs", type=int, default=8, help="simulated animals per model (default 8)")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ._paths import check_output_dir

    check_at_least_one(args, "updates", "seeds", "runs")
    check_output_dir(args.out)
    run_demo(args.out, seed=args.seed, total_steps=args.updates, num_seeds=args.seeds, runs=args.runs)
    return 0
