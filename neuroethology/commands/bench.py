"""``neuroethology bench``: the environment throughput table (same as benchmarks/env_throughput.py)."""

from __future__ import annotations

import argparse

NAME = "bench"
HELP = "print environment throughput (steps/s) against RatInABox and bare-JAX kernels"
DESCRIPTION = """\
Time every registered environment at several batch sizes (a jitted lax.scan over vmap(env.step) with random
actions; compile time excluded; median of repeated runs), next to the same motion arithmetic written as a
bare JAX kernel and RatInABox's Agent.update(), all measured in this run on this machine.

  neuroethology bench                          all environments, batches 1 64 1024 4096
  neuroethology bench --env OpenField-v0 --batch 1 4096
  neuroethology bench --env OpenField-v0 --batch 4096 --arena-segments 4 256

Then OpenField-v0 in polygon arenas with 4, 16, 64 and 256 wall segments at the largest batch, against the
analytic box (polygon / box, timed alternately in the same run).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", nargs="+", metavar="ID", help="environment ids (default: all registered)")
    p.add_argument(
        "--batch",
        nargs="+",
        type=int,
        default=[1, 64, 1024, 4096],
        metavar="N",
        help="batch sizes (default: 1 64 1024 4096)",
    )
    p.add_argument(
        "--repeats", type=int, default=5, help="timed runs per cell; the median is shown (default 5)"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=400_000,
        metavar="N",
        help="env-steps per timed run (default 400000; the scan length is N / batch)",
    )
    p.add_argument("--no-ratinabox", action="store_true", help="skip the RatInABox reference")
    p.add_argument(
        "--arena-segments",
        nargs="*",
        type=int,
        default=[4, 16, 64, 256],
        metavar="N",
        help="OpenField in polygon arenas of N walls at the largest --batch, against the analytic box "
        "(default: 4 16 64 256; none: skip)",
    )


def run(args: argparse.Namespace) -> int:
    from .. import envs as ne
    from ..benchmarking import format_arena_table, format_table, run_arena_throughput, run_env_throughput

    if args.repeats < 1 or args.steps < 1 or any(b < 1 for b in args.batch):
        raise ValueError("--repeats, --steps and --batch must be positive integers")
    if any(n < 3 for n in args.arena_segments):
        raise ValueError(f"--arena-segments: a polygon needs at least 3 walls, got {args.arena_segments}")
    env_ids = None
    if args.env:
        env_ids = [ne.make(e)[0].env_id() for e in args.env]  # validates and expands short ids
    rows, rib = run_env_throughput(
        batches=args.batch,
        env_ids=env_ids,
        repeats=args.repeats,
        budget=args.steps,
        ratinabox=not args.no_ratinabox,
        progress=lambda msg: print(f"  timing {msg} ...", flush=True),
    )
    print()
    print(format_table(rows, rib))
    if args.arena_segments:
        batch = max(args.batch)
        arena_rows = run_arena_throughput(
            args.arena_segments,
            batch=batch,
            repeats=args.repeats,
            budget=args.steps,
            progress=lambda msg: print(f"  timing {msg} ...", flush=True),
        )
        print()
        print(format_arena_table(arena_rows, batch))
    return 0
