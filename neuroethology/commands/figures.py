"""``neuroethology figures [--only NAME ...] [--fast] [--out DIR]``: the paper-figure gallery from configs."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "figures"
HELP = "regenerate the field's landmark figures from configs/figures/*.yaml (trained runs cached)"
DESCRIPTION = """\
Regenerate the gallery of the field's landmark results: each figure is paper_figures/NAME.py reading
configs/figures/NAME.yaml. Writes DIR/NAME/NAME.pdf, .png, NAME.json (every plotted number and the figure's
claims, each with whether it holds) and manifest.json (package version, commit, config hash, runs, wall
time, devices). Trained runs are cached in DIR/cache by the hash of their resolved config: rerunning
reuses them (or resumes an interrupted one); --retrain trains afresh. --fast uses the configs' small
budgets (CI); without it, the published budgets (run times in paper_figures/README.md).

  neuroethology figures --list
  neuroethology figures --fast --out out/figures
  neuroethology figures --only patch_leaving water_maze --out out/figures
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="make these figures only")
    p.add_argument("--fast", action="store_true", help="small budgets (the CI mode) instead of the full ones")
    p.add_argument(
        "--out", type=Path, default=Path("out/figures"), help="output folder (default out/figures)"
    )
    p.add_argument("--retrain", action="store_true", help="train again instead of reusing cached runs")
    p.add_argument("--list", action="store_true", help="list the figures and what each reproduces, then stop")


def run(args: argparse.Namespace) -> int:
    from neuroethology import gallery

    names = gallery.available_figures()
    if args.list:
        for name in names:
            config = gallery.figure_config(name, "fast")
            print(f"{name}: {config['title']}\n    {config['reproduces']}")
        return 0
    unknown = [n for n in args.only or () if n not in names]
    if unknown:
        raise ValueError(f"--only: no figure {', '.join(unknown)} (figures: {', '.join(names) or 'none'})")
    manifests = gallery.make_figures(
        args.only, mode="fast" if args.fast else "full", out=args.out, retrain=args.retrain
    )
    failed = {m["figure"]: [k for k, v in m["claims"].items() if not v] for m in manifests}
    failed = {k: v for k, v in failed.items() if v}
    for name, claims in failed.items():
        print(f"{name}: claims that do not hold: {', '.join(claims)}")
    print(f"{len(manifests)} figure(s) in {args.out}")
    return 1 if failed else 0
