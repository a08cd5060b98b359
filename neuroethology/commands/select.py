"""``neuroethology select --data FILE --out DIR``: the model structure chosen by the data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._load_options import add_load_arguments, load_recording, parse_arena

NAME = "select"
HELP = "sweep model structures (GRU/LSTM/RNN/ou, sizes, any fit setting), rank by CV likelihood and behaviour"
DESCRIPTION = """\
Fit every combination of --models, --hidden-sizes and --vary to one recorded animal (as `neuroethology fit`
does, each into DIR/runs/LABEL, with --folds-fold cross-validation over contiguous time blocks and every
compare metric of a free simulation against the held-out part), and rank them twice: by cross-validated
held-out log-likelihood (bits per step over a Gaussian null) and by closed-loop behaviour (metrics within
the animal's own train-vs-held-out distance). Writes DIR/selection.csv, .md, .json, a figure
(selection.pdf/png) and a copy of the chosen network's run in DIR/chosen (best mean of the two ranks).
A finished candidate is reused when the command is run again; an unfinished one resumes.

  neuroethology select --data rat.npz --out out/select
  neuroethology select --data rat.npz --models gru rnn --hidden-sizes 16 32 64 --folds 5 --out out/select
  neuroethology select --data rat.npz --vary turn_scale=0,2 noise_inputs=speed,speed_and_turn --out out/sel
  neuroethology select --data rat.npz total_steps=500 num_seeds=2 --out out/quick     (FitConfig overrides)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key=value", help="FitConfig settings of every candidate")
    p.add_argument(
        "--data", type=Path, required=True, metavar="FILE", help="the recording (any format load reads)"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--config", type=Path, default=None, help="YAML file of FitConfig settings (the base)")
    p.add_argument(
        "--models", nargs="+", default=["gru", "lstm", "rnn", "ou"], choices=["gru", "lstm", "rnn", "ou"],
        help="model kinds to sweep (default: all four; ou is the random-motion model)",
    )  # fmt: skip
    p.add_argument("--hidden-sizes", nargs="+", type=int, default=[32, 64], metavar="N", help="default 32 64")
    p.add_argument("--vary", nargs="+", default=[], metavar="KEY=V1,V2", help="other FitConfig keys to sweep")
    p.add_argument("--folds", type=int, default=3, help="cross-validation blocks (default 3, at least 2)")
    p.add_argument("--individual", default=None, help="which animal of a multi-animal file")
    add_load_arguments(p, arena_help="the animal's arena, for a recording that stores none")


def _grid(args: argparse.Namespace) -> dict[str, list]:
    from ..config import parse_overrides

    grid: dict[str, list] = {"model": list(args.models), "hidden_size": list(args.hidden_sizes)}
    for item in args.vary:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ValueError(f"--vary expects KEY=V1,V2 (e.g. hidden_size=16,32), got {item!r}")
        if key in ("model", "hidden_size"):
            raise ValueError(f"--vary {key}: use --{key.replace('_', '-')}s instead")
        grid[key] = [v for _, v in parse_overrides([f"{key}={v}" for v in values.split(",")])]
    return grid


def run(args: argparse.Namespace) -> int:
    from ..config import apply_overrides, config_from_dict, read_yaml
    from ..fitting import FitConfig
    from ..fitting.select import select_models, sweep_candidates

    if args.folds < 2:
        raise ValueError(f"--folds must be at least 2 (a cross-validated likelihood), got {args.folds}")
    data = read_yaml(args.config) if args.config is not None else {}
    source = str(args.config) if args.config is not None else "fit config"
    base = config_from_dict(FitConfig, apply_overrides(data, args.overrides), source=source)
    grid = _grid(args)
    for key, values in grid.items():  # every candidate must be a valid config: say so before fitting any
        for value in values:
            config_from_dict(
                FitConfig, {**apply_overrides(data, args.overrides), key: value}, source=f"--vary {key}"
            )
    candidates = sweep_candidates(grid)
    rec = load_recording(args.data, args, **({"individuals": [args.individual]} if args.individual else {}))
    print(f"{len(candidates)} candidates, {args.folds}-fold cross-validation each")
    table = select_models(
        rec, candidates, out=args.out, base=base, folds=args.folds, arena=parse_arena(args.arena)
    )
    print((args.out / "selection.md").read_text())
    chosen = table.loc[table["chosen"], "candidate"]
    if len(chosen):
        print(f"chosen network: {chosen.iloc[0]} -> {args.out / 'chosen'}")
    return 0
