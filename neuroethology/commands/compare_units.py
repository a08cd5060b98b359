"""``neuroethology compare-units A B --out DIR``: two populations of units held against each other."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._arguments import add_seed_argument
from ._load_options import add_load_arguments, load_options
from ._neural_sources import neural_recording

NAME = "compare-units"
HELP = "model vs brain: two populations' spatial codes compared (CKA, Procrustes, CCA, RSA, null, ceiling)"
DESCRIPTION = """\
Compare how two populations of units represent the arena they share: recorded neurons against an agent's
units, or two agents. A and B are each a Recording with neural data (activity, spikes or an agent's hidden
units) or a run directory (its agent is simulated for --duration seconds in its own arena). The populations
need not share a path: each unit's rate map is its response to each place, and the bins visited by both are
compared with linear CKA, the Procrustes shape distance (Williams et al. 2021), the mean canonical
correlation and cross-validated RSA; the null shifts B's units in time against B's path (destroying their
tuning), and each population's first half against its second half is its noise ceiling.
Writes DIR/comparison.json and DIR/comparison.md.

  neuroethology compare-units rat_units.nc out/demo/fitted_gru --labels rat GRU --out out/rat_vs_gru
  neuroethology compare-units runs/gru_a runs/gru_b --duration 600 --out out/gru_a_vs_b
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="a Recording with neural data, or a run directory")
    p.add_argument("b", metavar="B", help="the other population (the null shuffles its units)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--labels", nargs=2, default=["A", "B"], metavar=("A", "B"), help="names in the report")
    p.add_argument("--duration", type=float, default=600.0, help="simulated seconds, for a run (default 600)")
    p.add_argument(
        "--agent", type=int, default=0, help="which trained run of a PPO run directory (default 0)"
    )
    p.add_argument("--individual-a", default=None, metavar="NAME", help="A's animal, when A holds several")
    p.add_argument("--individual-b", default=None, metavar="NAME", help="B's animal, when B holds several")
    for side in "ab":
        p.add_argument(
            f"--animal-{side}",
            default=None,
            metavar="NAME",
            help=f"{side.upper()}'s twin, when {side.upper()} is a network fitted to several animals",
        )
    p.add_argument("--shuffles", type=int, default=200, help="time-shifted shuffles of B (default 200)")
    p.add_argument("--bin-size", type=float, default=None, metavar="M", help="map bins, m (default L/20)")
    add_seed_argument(p)
    add_load_arguments(p, arena_help="the arena of a recording without one")


def run(args: argparse.Namespace) -> int:
    from ..analysis.neural.unit_comparison import compare_unit_maps
    from ._paths import check_output_dir

    check_output_dir(args.out)
    if args.shuffles < 1:
        raise ValueError(f"--shuffles must be >= 1, got {args.shuffles}")
    if args.labels[0] == args.labels[1]:
        raise ValueError(f"--labels must be two different names, got {args.labels}")
    load_options(args)
    args.spikes, args.individual, args.spikes_option = None, None, False
    recs = [
        neural_recording(Path(src), args, animal=animal, animal_flag=f"--animal-{side}")[0]
        for src, animal, side in ((args.a, args.animal_a, "a"), (args.b, args.animal_b, "b"))
    ]
    for rec, flag, name in (
        (recs[0], "--individual-a", args.individual_a),
        (recs[1], "--individual-b", args.individual_b),
    ):
        names = [str(v) for v in rec["individual"].values]
        if (name is None and len(names) > 1) or (name is not None and name not in names):
            source = rec.attrs.get("source_file") or "the recording"
            raise ValueError(f"{flag}: {source} holds {names}; name one with {flag} NAME")
    result = compare_unit_maps(
        recs[0],
        recs[1],
        labels=tuple(args.labels),
        individual_a=args.individual_a,
        individual_b=args.individual_b,
        bin_size=args.bin_size,
        n_shuffles=args.shuffles,
        seed=args.seed,
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in result["statistic"].values:
        r = {
            k: float(result[k].sel(statistic=s))
            for k in ("value", "p_value", "null_mean", "ceiling_a", "ceiling_b")
        }
        rows.append({"statistic": str(s), **{k: (None if v != v else v) for k, v in r.items()}})
    (out / "comparison.json").write_text(json.dumps({"attrs": result.attrs, "statistics": rows}, indent=2))
    a, b = args.labels
    lines = [
        f"# {a} vs {b}: spatial codes",
        "",
        f"{result.attrs['n_units'][0]} and {result.attrs['n_units'][1]} units, {result.attrs['n_bins']} bins of "
        f"{result.attrs['bin_size']:.3g} m visited by both; null: {result.attrs['n_shuffles']} time shifts of {b}'s units",
        "",
        f"| statistic | value | null mean | p | ceiling {a} | ceiling {b} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda v: "-" if v is None else f"{v:.3g}"  # noqa: E731
    lines += [
        f"| {r['statistic']} | {fmt(r['value'])} | {fmt(r['null_mean'])} | {fmt(r['p_value'])} | "
        f"{fmt(r['ceiling_a'])} | {fmt(r['ceiling_b'])} |"
        for r in rows
    ]
    (out / "comparison.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[4:]))
    print(f"written: {out / 'comparison.json'}, {out / 'comparison.md'}")
    return 0
