"""``neuroethology fit --data FILE [--data FILE ...] --out RUN``: fit a model of one recorded animal, or one
model of several."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._arguments import add_no_progress_argument, add_resume_argument, add_run_output
from ._load_options import add_load_arguments, load_recording, parse_arena

NAME = "fit"
HELP = "fit the random-motion baseline and a GRU/LSTM/RNN agent to a recorded animal (or to several)"
DESCRIPTION = """\
Fit models of one recorded animal in OpenField: RatInABox's random-motion model by exact maximum likelihood
(the baseline) and, unless --model ou, recurrent agents (GRU, LSTM or leaky RNN) by maximum likelihood of the
animal's actions given the observations reconstructed along its path (several seeds at once; early stopping
on a validation block; the kept seed chosen by a closed-loop check on the training data). The last 20% of the
recording is held out: held-out log-likelihoods per step of the network, the baseline and a Gaussian null
model are printed and stored. Settings (see configs/fit_open_field.yaml and neuroethology.fitting.FitConfig)
can come from a YAML file (--config) and key=value overrides.

The recording needs its arena (stored in the file's attributes, or --arena) in metres: a box, a circle or any
polygon (a preset such as plus_maze, or a YAML/JSON file of its boundary, holes, walls and regions); a
recording that does not fit the arena (wrong units, no arena, positions off its floor) is refused with the
reason.

  neuroethology fit --data rat.npz --out runs/rat-gru
  neuroethology fit --data mouse.slp --fps 30 --scale 0.0012 --arena 0.6x0.6 --model lstm --out runs/m1
  neuroethology fit --data mouse_epm.slp --fps 30 --scale 0.001 --arena plus_maze --out runs/epm
  neuroethology fit --data mouse.csv --arena my_maze.yaml --out runs/maze   (boundary: [[x, y], ...] in m)
  neuroethology fit --data rat.npz --model ou --out runs/rat-ou
  neuroethology fit --data rat.npz total_steps=3000 num_seeds=8 folds=5 smoothing=0.02 --out runs/rat-cv
  neuroethology fit --data rat.npz --out runs/rat-gru --resume      continue a fit that was killed
  neuroethology fit --data rat1.nc --data rat2.nc --out runs/two-rats      one network, two animals

Several animals (several --data files, each on its own clock and in its own arena, or a file of several
animals) are fitted by one network that reads each animal's identity (a learned per-animal vector; with
animal_identity=pooled, one model of them all): held-out likelihoods per animal, and each animal's twin
simulated next to it, with the spread over animals of the twins against the animals'. Simulate one twin
with `neuroethology simulate RUN --animal NAME`.

The run directory is written as the fit goes (config.yaml and manifest.json first, the networks' progress
after every chunk of updates, model.json at the end); one process at a time may write it.

Then: neuroethology simulate RUN --duration 600 --out sim.nc; neuroethology compare sim.nc rat.npz --out cmp
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "overrides", nargs="*", metavar="key=value", help="FitConfig overrides, e.g. total_steps=3000"
    )
    p.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="the recording (any format load reads); repeat it to fit one model of several animals",
    )
    add_run_output(p, help="run directory to create")
    add_resume_argument(
        p, help="continue the unfinished fit in --out (killed or interrupted) from its newest checkpoint"
    )
    p.add_argument("--overwrite", action="store_true", help="replace the fitted run in --out")
    p.add_argument("--config", type=Path, default=None, help="YAML file of FitConfig settings")
    p.add_argument("--model", choices=["gru", "lstm", "rnn", "ou"], default=None, help="model (default gru)")
    p.add_argument(
        "--env",
        default=None,
        metavar="ID",
        help="environment (default and, for now, only neuroethology/OpenField-v0: the others cannot rebuild "
        "what the animal sensed from a position track; the error says why for each)",
    )
    p.add_argument("--individual", default=None, help="which animal of a multi-animal file")
    add_load_arguments(p, arena_help="the animal's arena, for a recording that stores none")
    add_no_progress_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..config import apply_overrides, config_from_dict, read_yaml
    from ..fitting import FitConfig, fit_animals, fit_recording
    from ._paths import check_output_dir

    if args.resume and args.overwrite:
        raise ValueError("give --resume or --overwrite, not both")
    check_output_dir(args.out)
    data = read_yaml(args.config) if args.config is not None else {}
    for name in ("model", "env"):
        if getattr(args, name) is not None:
            data[name] = getattr(args, name)
    source = str(args.config) if args.config is not None else "fit config"
    config = config_from_dict(FitConfig, apply_overrides(data, args.overrides), source=source)
    if args.individual and args.individuals:
        raise ValueError("give --individual NAME (the animal to fit) or --individuals, not both")
    arena = parse_arena(args.arena)
    only = {"individuals": [args.individual]} if args.individual else {}
    recs = [load_recording(path, args, **only) for path in args.data]
    progress = None
    bar = None
    if not args.no_progress and config.model != "ou":
        from tqdm.auto import tqdm

        bar = tqdm(total=config.total_steps, desc="updates", unit="upd")

        def progress(done, losses, val):
            bar.update(min(done, config.total_steps) - bar.n)
            if val is not None:
                bar.set_postfix(val_ll=f"{max(val):.2f}")

    several = len(recs) > 1 or recs[0].sizes.get("individual", 1) > 1
    try:
        if several:
            result = fit_animals(
                recs,
                config,
                arenas=None if arena is None else [arena] * len(recs),
                out=args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                progress=progress,
            )
        else:
            result = fit_recording(
                recs[0],
                config,
                arena=arena,
                out=args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                progress=progress,
            )
    finally:
        if bar is not None:
            bar.close()
    if several:
        return _report_animals(result, args.out)
    s = result.scores
    lines = [f"held-out log-likelihood per step ({s['test_steps']} steps):"]
    for name in ("network", "baseline", "null"):
        if name in s:
            lines.append(
                f"  {name:9s} {s[name]['log_likelihood_per_step']:8.3f} nats  "
                f"({s[name]['bits_per_step_over_null']:+.3f} bits/step over the null model)"
            )
    print("\n".join(lines))
    if "cross_validation" in s:
        cv = {k: v for k, v in s["cross_validation"].items() if k != "folds"}
        print("cross-validated:", json.dumps(cv))
    print(
        f"fitted run written to {args.out} (simulate it with: neuroethology simulate {args.out} --duration 600 "
        f"--out sim.nc)"
    )
    return 0


def _report_animals(result, out: Path) -> int:
    from ..fitting.population import between_animals_table

    s = result.scores
    held = s["heldout"]
    print(
        f"one network of {len(s['animals'])} animals (identity: {s['animal_identity']}); held-out bits/step over "
        "each animal's null model:"
    )
    for name, one in held["per_animal"].items():
        print(
            f"  {name:24s} network {one['network']['bits_per_step_over_null']:+.3f}, its baseline "
            f"{one['baseline']['bits_per_step_over_null']:+.3f} ({one['test_steps']} steps)"
        )
    pooled = held["pooled_bits_per_step_over_null"]
    print(f"  {'pooled':24s} network {pooled['network']:+.3f}, baselines {pooled['baseline']:+.3f}")
    print("between animals (held-out parts) and their twins (simulated):")
    print(between_animals_table(s["between_animals"]))
    print(
        f"fitted run written to {out} (simulate one animal's twin with: neuroethology simulate {out} --animal "
        f"{s['animals'][0]} --duration 600 --out sim.nc)"
    )
    return 0
