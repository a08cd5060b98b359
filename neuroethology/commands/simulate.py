"""``neuroethology simulate RUN --duration SECONDS --out FILE.nc``: let a trained or fitted agent loose."""

from __future__ import annotations

import argparse

from ._arguments import (
    add_animal_argument,
    add_arena_argument,
    add_recording_output,
    add_run_argument,
    add_seed_argument,
    check_at_least_one,
    write_rollouts,
)
from ._load_options import parse_arena

NAME = "simulate"
HELP = "run a fitted or trained agent freely for a while and write a Recording"
DESCRIPTION = """\
Run the agents of a run directory (fitted by `neuroethology fit`, or trained by `neuroethology train`)
freely in their environment (closed loop: they act on what they observe) for a session of --duration
seconds, and write what they do as a Recording (netCDF: position, heading, actions, rewards, episode index
and, for networks, the activity of every unit, value and log-probability); `neuroethology evaluate` writes
the same variables for complete episodes. By default the session is in the run's own arena; --arena puts
it in another one (a preset, a YAML/JSON file of a polygon, a box or a circle), stored in the Recording's
attributes. --baseline runs a fitted run's random-motion baseline instead of its network.

  neuroethology simulate runs/rat-gru --duration 600 --out sim.nc
  neuroethology simulate runs/rat-gru --duration 300 --runs 16 --arena r0.75 --out circle.nc
  neuroethology simulate runs/rat-gru --duration 60 --arena plus_maze --out epm.nc
  neuroethology simulate runs/rat-gru --duration 60 --arena my_maze.yaml --out maze.nc
  neuroethology simulate runs/two-rats --animal rat2 --duration 600 --out rat2_twin.nc
  neuroethology compare sim.nc rat.npz --out cmp          hold the simulation against the animal
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_run_argument(p)
    p.add_argument(
        "--duration", type=float, required=True, metavar="SECONDS", help="simulated time per animal"
    )
    add_recording_output(p)
    add_arena_argument(p, help="another arena for the agents (default: the run's own)")
    p.add_argument("--runs", type=int, default=1, help="independent simulated animals per agent (default 1)")
    add_seed_argument(p)
    p.add_argument(
        "--baseline", action="store_true", help="simulate the run's fitted baseline, not its network"
    )
    add_animal_argument(p, default_help="every twin")


def run(args: argparse.Namespace) -> int:
    from ..run_policies import simulate

    check_at_least_one(args, "runs")
    rec = write_rollouts(
        args,
        simulate,
        duration=args.duration,
        num_runs=args.runs,
        arena=parse_arena(args.arena),
        baseline=args.baseline,
        animal=args.animal,
        log=lambda m: print(f"  {m}", flush=True),
    )
    who = rec.attrs.get("model", rec.attrs.get("run_kind", "agent"))
    print(f"{rec.sizes['individual']} x {args.duration:g} s of {who} written to {args.out}")
    return 0
