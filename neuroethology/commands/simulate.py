"""``neuroethology simulate RUN --duration SECONDS --out FILE.nc``: let a fitted model loose."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "simulate"
HELP = "run a fitted model (network or baseline) freely in the arena and write a Recording"
DESCRIPTION = """\
Run a model fitted by `neuroethology fit` freely in OpenField (closed loop: it acts on what it observes) and
write the trajectories as a Recording (netCDF: position, heading, actions and, for networks, the recurrent
state of every unit). By default it runs in the recorded arena; --arena puts it in another one. --baseline
runs the fitted random-motion baseline of the same run instead of the network.

  neuroethology simulate runs/rat-gru --duration 600 --out sim.nc
  neuroethology simulate runs/rat-gru --duration 300 --runs 16 --arena r0.75 --out circle.nc
  neuroethology compare sim.nc rat.npz --out cmp          hold the simulation against the animal
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN", help="a run directory written by `neuroethology fit`")
    p.add_argument(
        "--duration", type=float, required=True, metavar="SECONDS", help="simulated time per animal"
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE.nc", help="Recording to write (netCDF)")
    p.add_argument(
        "--arena", default=None, metavar="WxH|rR", help="another arena: 1.0x0.8 (box) or r0.6 (circle)"
    )
    p.add_argument("--runs", type=int, default=1, help="independent simulated animals (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--baseline", action="store_true", help="simulate the run's fitted baseline, not its network"
    )


def run(args: argparse.Namespace) -> int:
    import jax

    from ..data import save
    from ..fitting import load_fitted, simulate
    from .fit import parse_arena

    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    if str(args.out.suffix) != ".nc":
        raise ValueError(f"--out: expected a .nc file, got {str(args.out)!r}")
    model = load_fitted(args.run_dir)
    if args.baseline:
        model = model._replace(kind="ou")
    rec = simulate(
        model,
        duration=args.duration,
        key=jax.random.key(args.seed),
        num_runs=args.runs,
        arena=parse_arena(args.arena),
    )
    rec.attrs["fitted_run"] = str(args.run_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(rec, args.out)
    print(f"{args.runs} x {args.duration:g} s of {model.kind} written to {args.out}")
    return 0
