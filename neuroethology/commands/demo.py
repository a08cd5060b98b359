"""``neuroethology demo``: the package's main job, end to end, on built-in data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

NAME = "demo"
HELP = "simulate a rat in the open field and write figures (what `make demo` runs)"
DESCRIPTION = """\
Simulate a rat exploring the 1 x 1 m open field of Sargolini et al. (2006) for ten minutes with RatInABox's
random-motion model (a pure-JAX policy), then write a trajectory figure and an occupancy map (PDF and PNG)
to the output folder.

  neuroethology demo                     writes to out/demo
  neuroethology demo --out figures/ --seed 3 --duration 300
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--duration", type=float, default=600.0, help="simulated seconds (default 600)")


def run(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from .. import analysis
    from .. import envs as ne
    from ..analysis import plots
    from ..data import from_arrays

    if not args.duration > 0:
        raise ValueError(f"--duration must be > 0 seconds, got {args.duration}")
    start = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    env, params = ne.make("neuroethology/OpenField-v0", episode_duration=args.duration + 1.0)
    steps = int(round(args.duration / float(params.dt)))
    print(f"[1/2] simulating {args.duration:g} s ({steps} steps of {float(params.dt)} s) in a "
          f"{params.width:g} x {params.height:g} m box with RatInABox's random-motion model ...", flush=True)
    result = ne.rollout(env, ne.policies.RandomMotion(), jax.random.key(args.seed), params, num_steps=steps)
    positions = np.asarray(result.states.position)
    print("[2/2] writing figures ...", flush=True)
    arena = {"shape": "box", "width": float(params.width), "height": float(params.height)}
    rec = from_arrays(positions, fps=1.0 / float(params.dt), arena=arena, individual_names=["agent"],
                      source_software="neuroethology (simulation)")
    fig, ax = plots.plot_trajectory(rec)
    ax.set_title(f"Simulated rat, {args.duration:g} s")
    written = plots.save_figure(fig, out / "trajectory")
    occupancy = analysis.compute_occupancy(rec, bin_size=0.05)
    fig, ax = plots.plot_occupancy(occupancy, arena=arena)
    ax.set_title("Occupancy")
    written += plots.save_figure(fig, out / "occupancy")
    speed = analysis.compute_speed(rec)
    coverage = analysis.compute_coverage(occupancy)
    print(f"done in {time.perf_counter() - start:.1f} s: mean speed {float(speed.mean()) * 100:.1f} cm/s, "
          f"{float(coverage) * 100:.0f}% of 5 cm bins visited")
    print("figures:")
    for path in written:
        print(f"  {path}")
    return 0
