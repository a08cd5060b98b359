"""Where neural data come from on the command line: a Recording with units (plus spike trains from another
file), or a run directory whose agent is simulated and measured as neurons."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._arguments import add_animal_argument
from ._load_options import load_recording


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(spikes_option=True)
    p.add_argument(
        "--spikes", type=Path, default=None, metavar="FILE", help="spike trains to attach (npz, CSV, NWB)"
    )
    p.add_argument(
        "--spikes-fs",
        type=float,
        default=None,
        metavar="HZ",
        help="sampling rate of --spikes given in samples",
    )
    p.add_argument("--individual", default=None, metavar="NAME", help="the animal whose units to measure")
    p.add_argument("--duration", type=float, default=600.0, help="simulated seconds, for a run (default 600)")
    p.add_argument(
        "--agent", type=int, default=0, help="which trained run of a PPO run directory (default 0)"
    )
    add_animal_argument(p, default_help="required for such a run")


def neural_recording(
    source: Path, args: argparse.Namespace, *, animal: str | None = None, animal_flag: str = "--animal"
) -> tuple[Any, Any]:
    """The Recording to measure and, for a run directory, its policy (for the core's dynamics). ``animal``: the
    twin of a network fitted to several animals, given on the command line as ``animal_flag``."""
    if source.is_dir():
        from ..run_policies import load_policy, run_kind, simulate

        ppo = run_kind(source) == "ppo"
        runs = [args.agent] if ppo else None  # a fitted run holds one model
        _check_animal(source, animal, animal_flag, ppo)
        print(f"simulating {args.duration:g} s of {source} ...", flush=True)
        rec = simulate(
            source,
            duration=args.duration,
            seed=args.seed,
            runs=runs,
            animal=animal,
            core_inputs=True,
            log=lambda m: print(f"  {m}", flush=True),
        )
        return rec, load_policy(source, runs=runs, animal=animal).policies[0]
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such file or run directory")
    if animal is not None:
        raise ValueError(
            f"{source}: {animal_flag} picks a twin of a run directory fitted to several animals; this is a file"
        )
    rec = load_recording(source, args)
    if args.spikes is None and not any(v in rec for v in ("activity", "spike_time", "hidden")):
        raise ValueError(
            f"{source}: no neural data in the file (no activity, spikes or an agent's hidden units)"
            + (
                "; attach spike trains from another file with --spikes FILE (npz, CSV or NWB)"
                if "spikes" in vars(args) and args.spikes_option
                else ""
            )
        )
    if args.spikes is not None:
        from ..data.neural import add_spikes
        from ..data.neural_files import load_spikes, read_nwb_units

        try:
            spikes = (
                read_nwb_units(args.spikes)
                if args.spikes.suffix.lower() == ".nwb"
                else load_spikes(args.spikes, fs=args.spikes_fs)
            )
        except ValueError as e:
            if "sample indices" in str(e) and args.spikes_fs is None:  # the Python hint names fs=, units=
                raise ValueError(
                    f"{args.spikes}: spike_times are integers (sample indices, as Kilosort/phy write them) and "
                    "the file gives no sampling rate; pass --spikes-fs HZ"
                ) from None
            raise
        rec = add_spikes(
            rec, spikes.spike_times, spikes.unit_ids, individual=args.individual, units=spikes.units
        )
    return rec, None


def _check_animal(run: Path, animal: str | None, flag: str, ppo: bool) -> None:
    """``--animal`` for a network fitted to several animals (required: their units are one network's, read with
    different identities), nothing for any other run."""
    from ..fitting.run_dir import fitted_animals

    names = [] if ppo else [a["name"] for a in fitted_animals(run) or []]
    if animal is not None and not names:
        raise ValueError(f"{run}: {flag} is for a network fitted to several animals; this run has one model")
    if names and animal is None:
        raise ValueError(
            f"{run}: a network fitted to {len(names)} animals; pick one with {flag} ({', '.join(names)})"
        )
