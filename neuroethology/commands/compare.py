"""``neuroethology compare SIM REAL --out DIR``: two groups of recordings, metric by metric."""

from __future__ import annotations

import argparse
import glob
import json
import time
from pathlib import Path

from ._arguments import add_seed_argument
from ._load_options import add_load_arguments, load_options, load_recording, smoothed

NAME = "compare"
HELP = "compare simulated and recorded behaviour: metrics, distances, intervals, permutation tests, figures"
DESCRIPTION = """\
Load two groups of recordings (any format neuroethology.data.load reads: netCDF Recordings written by
`neuroethology evaluate`/`simulate`, npz, CSV/Parquet, SLEAP, DeepLabCut, idtracker.ai, NWB), compute every
behavioural metric both groups support (speed, acceleration, angular velocity, turning angles, wall distance,
straightness, step lengths, thigmotaxis, coverage, spatial entropy, MSD exponent, sinuosity, occupancy, and
task measures when the recordings carry them), and hold the groups against each other: KS and Wasserstein-1
distances, Jensen-Shannon divergence of occupancy maps, bootstrap confidence intervals and permutation
tests over individuals/sessions (or time blocks when a group has too few).

SIM and REAL are each a file, a comma-separated list of files, or a quoted glob pattern (an existing file
is always taken as a file first, so names holding `,` or `[` work); the word
`sargolini` stands for the rat of Sargolini et al. (2006) that ships with RatInABox (with its 1 x 1 m box), the word
`tanni` for that of Tanni et al. (2022) (two hours in a 3.5 x 2.5 m box). Writes
DIR/report.json (every number), DIR/report.md and the figures (PDF and PNG).

  neuroethology compare out/sim.nc rat.npz --out out/compare
  neuroethology compare out/demo/sim_gru.nc sargolini --labels GRU rat --out out/compare
  neuroethology simulate out/demo/fitted_gru --duration 600 --runs 4 --arena 3.5x2.5 --out big.nc
  neuroethology compare big.nc tanni --labels GRU rat --out out/compare_big
  neuroethology compare 'runs/gru/*.nc' 'data/rats/*.slp' --fps 30 --scale 0.0012 --out out/compare
  neuroethology compare sim.nc rat.npz --labels agent rat --metrics speed wall_distance occupancy --out cmp

Trial by trial (--trials): CSV, TSV and Parquet files are trial tables (one row per trial: choice, correct,
reaction time, conditions, subject, session; read as neuroethology.data.load_trials reads them) and
Recordings of choice tasks (e.g. a T-maze agent's `neuroethology evaluate` output) give their trials; each
subject is a unit and the metrics are accuracy, reaction time, win-stay and lose-shift.

  neuroethology compare out/tmaze_agent.nc mice_trials.csv --trials --labels agent mice --out cmp
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sim", metavar="SIM", help="simulated group: file, comma-separated files, or quoted glob")
    p.add_argument("real", metavar="REAL", help="recorded group (the reference): file, list, or glob")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--labels",
        nargs=2,
        default=["sim", "real"],
        metavar=("SIM", "REAL"),
        help="group names in the report (default: sim real)",
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        metavar="NAME",
        help="metrics to compare (default: all that apply); see neuroethology.analysis.METRICS",
    )
    p.add_argument(
        "--resample-by",
        choices=["auto", "unit", "block"],
        default="auto",
        help="resampling unit for intervals and tests (default auto: individuals if each group has "
        ">= 5, else time blocks)",
    )
    p.add_argument("--block-duration", type=float, default=None, help="time-block length, s")
    p.add_argument("--permutations", type=int, default=999, help="permutations per test (default 999)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    add_seed_argument(p)
    p.add_argument("--no-figures", action="store_true", help="write report.json and report.md only")
    p.add_argument(
        "--trials",
        action="store_true",
        help="compare trial by trial: CSV/TSV/Parquet files are trial tables, Recordings give their trials",
    )
    add_load_arguments(p, arena_help="the arena of every recording loaded")


# Group names that mean a rat that ships with RatInABox, with its arena: Sargolini et al. (2006), 1 x 1 m;
# Tanni et al. (2022), 3.5 x 2.5 m.
BUNDLED = ("sargolini", "tanni")


def _expand(spec: str, what: str) -> list[Path]:
    """The files of a group: ``spec`` itself when it is an existing file (whatever characters its name
    holds), else its comma-separated parts, each an existing file first, else a glob pattern."""
    if Path(spec).is_file():
        return [Path(spec)]
    paths: list[Path] = []
    missing = []
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        if Path(part).exists() or not any(c in part for c in "*?["):
            if not Path(part).exists():
                missing.append(f"{part} (no such file)")
            paths.append(Path(part))
            continue
        hits = sorted(glob.glob(part))
        if not hits:
            missing.append(f"{part} (pattern matches no file)")
        paths += [Path(h) for h in hits]
    if missing:
        raise FileNotFoundError(f"{what}: " + "; ".join(missing))
    if not paths:
        raise ValueError(f"{what}: no files given")
    return paths


TRIAL_TABLES = (".csv", ".tsv", ".txt", ".parquet", ".pq")  # with --trials: one row per trial


def _load(path: Path, args: argparse.Namespace):
    """A recording, or with ``--trials`` a trial table (by its suffix) read as a trial dataset."""
    if args.trials and path.suffix.lower() in TRIAL_TABLES:
        from ..data import load_trials

        return load_trials(path)
    return load_recording(path, args)


def run(args: argparse.Namespace) -> int:
    from ..analysis import METRICS, compare_groups
    from ..analysis.plots import save_comparison_figures
    from ..problems import ProblemsError
    from ._paths import check_output_dir

    check_output_dir(args.out)  # before any work: a long comparison never ends in a write error
    start = time.perf_counter()
    if args.metrics:
        unknown = [m for m in args.metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"--metrics: unknown {unknown}; known: {', '.join(METRICS)}")
    if args.labels[0] == args.labels[1]:
        raise ValueError(f"--labels must be two different names, got {args.labels}")
    load_options(args)  # bad options are reported before any file is read
    groups = []
    problems = []
    for spec, label in ((args.sim, args.labels[0]), (args.real, args.labels[1])):
        recs = []
        parts = [] if Path(spec).is_file() else [part.strip() for part in spec.split(",")]
        if any(name in parts for name in BUNDLED):  # a rat that ships with RatInABox, with its arena
            from .. import datasets

            recs += [smoothed(getattr(datasets, name)(), args) for name in BUNDLED if name in parts]
            spec = ",".join(part for part in parts if part not in BUNDLED)
            if not spec:
                groups.append(recs)
                continue
        for path in _expand(spec, f"{label} ({spec})"):
            try:
                recs.append(_load(path, args))
            except ValueError as e:
                problems.append(str(e))
        groups.append(recs)
    if problems:
        raise ProblemsError("compare", problems, what="could not load every recording")
    for label, recs in zip(args.labels, groups, strict=True):
        print(f"{label}: {len(recs)} recording(s)", flush=True)
    report = compare_groups(
        groups[0],
        groups[1],
        metrics=args.metrics,
        labels=tuple(args.labels),
        resample_by=args.resample_by,
        block_duration=args.block_duration,
        n_permutations=args.permutations,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        progress=lambda name: print(f"  comparing {name} ...", flush=True),
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2))
    (out / "report.md").write_text(report.to_markdown())
    written = [out / "report.json", out / "report.md"]
    if not args.no_figures:
        print("  writing figures ...", flush=True)
        written += save_comparison_figures(report, groups, out)
    n_sig = sum(1 for m in report.metrics if m.permutation_pvalue < 0.05)
    print(
        f"done in {time.perf_counter() - start:.1f} s: {len(report.metrics)} metrics compared "
        f"({n_sig} differ at permutation p < 0.05), {len(report.skipped)} not applicable"
    )
    print("written:")
    for path in written:
        print(f"  {path}")
    return 0
