"""``neuroethology neurons REC_OR_RUN --out DIR``: single-unit tuning, cell types, population and dynamics."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ._arguments import add_seed_argument
from ._load_options import add_load_arguments, load_options
from ._neural_sources import add_source_arguments, neural_recording

NAME = "neurons"
HELP = "single-unit tuning and cell types of recorded neurons or an agent's units, population, fixed points"
DESCRIPTION = """\
Measure every unit of a Recording the way neuroscientists measure neurons, and write DIR/units.csv (one row
per unit: unit, type, grid_score, spatial_information, border_score, hd_mvl, speed_score, each score's
shuffle threshold, spacing, preferred direction, ...), DIR/summary.json (cell-type counts, population
dimensionality and what the population encodes) and figures: rate-map and autocorrelogram sheets, polar
head-direction tuning, cell-type counts, principal components and, for an agent, its core's fixed points.

SOURCE is a Recording with neural data (netCDF written by neuroethology or any file `load` reads, with
`activity`, spikes, or an agent's `hidden` units; --spikes attaches spike trains from another file) or a
run directory (`neuroethology fit` / `train`): the agent is simulated for --duration seconds in its own
arena and its recurrent units are measured as neurons, and its core's fixed and slow points are found
(Sussillo & Barak 2013) under the mean input it received.

Types (place, grid, border, head_direction, speed, none) are called by circularly time-shifted shuffles:
a score counts when it exceeds the --percentile of --shuffles shuffled scores.

  neuroethology neurons rat_with_units.nc --out out/neurons
  neuroethology neurons session.slp --fps 30 --scale 0.0012 --spikes units.npz --out out/neurons
  neuroethology neurons out/demo/fitted_gru --duration 600 --out out/gru_neurons
"""

MAX_PANELS = 64  # units drawn in each figure sheet (the table has every unit)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="a Recording with neural data, or a run directory")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--only-units", nargs="+", default=None, metavar="LABEL", help="measure these units only (labels)"
    )
    add_source_arguments(p)
    p.add_argument("--shuffles", type=int, default=100, help="circular time shifts per unit (default 100)")
    p.add_argument("--percentile", type=float, default=99.0, help="shuffle percentile a score must pass")
    p.add_argument(
        "--bin-size", type=float, default=None, metavar="M", help="rate-map bins, m (default L/40)"
    )
    p.add_argument("--no-figures", action="store_true", help="write units.csv and summary.json only")
    add_seed_argument(p)
    add_load_arguments(p, arena_help="the arena of a recording without one")


def _fixed_points(rec, policy, args) -> dict[str, Any] | None:
    """The core's fixed and slow points under its mean input, and the visited states projected on PCs."""
    import jax
    import numpy as np

    from ..agents import recurrent_map, replay_states
    from ..analysis.neural.dynamics import find_fixed_points, project_trajectories, sample_initial_states

    if "core_input" not in rec:
        return None
    step, _ = recurrent_map(policy)
    u = np.asarray(rec["core_input"].values[:, :, 0], np.float32)  # (time, input)
    episode = np.asarray(rec["episode"].values[:, 0]) if "episode" in rec else np.zeros(len(u))
    states = replay_states(policy, u, np.r_[True, episode[1:] != episode[:-1]])
    u_mean = u.mean(axis=0)
    starts = sample_initial_states(jax.random.key(args.seed), states, n_samples=256)
    fp = find_fixed_points(step, starts, inputs=u_mean)
    projection = project_trajectories(states[:: max(1, len(states) // 5000)], fp.points, n_components=3)
    return {"fixed_points": fp, "projection": projection}


def run(args: argparse.Namespace) -> int:
    from ..analysis.neural.cell_types import CELL_TYPES, classify_units, units_table
    from ._paths import check_output_dir

    check_output_dir(args.out)
    if args.shuffles < 1 or not 0 < args.percentile < 100:
        raise ValueError("--shuffles must be >= 1 and --percentile in (0, 100)")
    load_options(args)  # bad options are reported before any file is read
    start = time.perf_counter()
    rec, policy = neural_recording(Path(args.source), args, animal=args.animal)
    result = classify_units(
        rec,
        individual=args.individual,
        units=args.only_units,
        bin_size=args.bin_size,
        n_shuffles=args.shuffles,
        percentile=args.percentile,
        seed=args.seed,
        progress=lambda m: print(f"  {m}", flush=True),
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    table = units_table(result)
    table.to_csv(out / "units.csv", index=False)
    counts = {t: int((table["type"] == t).sum()) for t in CELL_TYPES}
    summary: dict[str, Any] = {
        "source": str(args.source),
        "n_units": int(len(table)),
        "types": counts,
        "shuffles": args.shuffles,
        "percentile": args.percentile,
        "settings": {k: v for k, v in result.attrs.items() if isinstance(v, int | float | str)},
    }
    summary["population"] = _population(rec, args)
    dynamics = _fixed_points(rec, policy, args) if policy is not None else None
    if dynamics is not None:
        fp = dynamics["fixed_points"]
        summary["fixed_points"] = {
            "n_points": int(len(fp.q)),
            "kinds": {k: int((fp.kind == k).sum()) for k in dict.fromkeys(fp.kind.tolist())},
            "n_fixed": int(fp.is_fixed.sum()),
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    written = [out / "units.csv", out / "summary.json"]
    if not args.no_figures:
        print("  writing figures ...", flush=True)
        written += _figures(rec, result, summary, dynamics, out, args)
    print(
        f"done in {time.perf_counter() - start:.1f} s: {len(table)} units; "
        + ", ".join(f"{t} {n}" for t, n in counts.items())
    )
    print("written:")
    for path in written:
        print(f"  {path}")
    return 0


def _population(rec, args) -> dict[str, Any]:
    """Dimensionality (PCA, participation ratio) and cross-validated linear decoding of position, heading and
    speed from every unit, on the inputs the classification reads (``unit_inputs``: the same samples, speed
    and heading, the Recording's own heading where it has one)."""
    import numpy as np

    from ..analysis.neural.cell_types import unit_inputs
    from ..analysis.neural.population import compute_pca, decode_linear

    inp = unit_inputs(rec, args.individual, args.only_units, "neurons")
    ok = (inp.durations > 0) & np.all(np.isfinite(inp.xy), axis=1)
    pca = compute_pca(inp.activity[ok], weights=inp.durations[ok])
    use = ok & np.isfinite(inp.speed) & np.isfinite(inp.heading)
    targets = {"x": inp.xy[use, 0], "y": inp.xy[use, 1], "speed": inp.speed[use], "heading": inp.heading[use]}
    decoding = decode_linear(inp.activity[use], targets, circular=["heading"], weights=inp.durations[use])
    return {
        "participation_ratio": float(pca.participation_ratio),
        "explained_variance_ratio": [float(v) for v in pca.explained_variance_ratio[:10]],
        "decoding_r2": {k: float(v) for k, v in decoding.r2.items()},
        "heading_source": inp.heading_source,
    }


def _tuning_arrays(rec, result, shown, args) -> dict[str, Any]:
    """Rate maps, autocorrelograms and head-direction curves of the units drawn, from the inputs and settings
    the classification used (``unit_inputs``, result attrs)."""
    from ..analysis._recording import arena_extent
    from ..analysis.neural.cell_types import unit_inputs
    from ..analysis.neural.grid import compute_autocorrelograms
    from ..analysis.neural.tuning import compute_rate_maps
    from ..analysis.neural.tuning_time import compute_head_direction_tuning

    units = [str(u) for u in result["unit"].values[shown]]
    inp = unit_inputs(rec, args.individual, units, "neurons")
    extent = arena_extent(result.attrs["arena"])
    maps = compute_rate_maps(
        inp.xy, inp.activity, inp.durations, extent=extent, bin_size=result.attrs["bin_size_m"],
        sigma=result.attrs["sigma_m"], kind=inp.kind, max_outside=0.01,
    )  # fmt: skip
    hd = compute_head_direction_tuning(inp.heading, inp.activity, inp.durations, kind=inp.kind)
    return {"maps": maps, "acorr": compute_autocorrelograms(maps.maps), "hd": hd, "extent": extent}


def _figures(rec, result, summary, dynamics, out: Path, args) -> list[Path]:
    import numpy as np

    from ..analysis.plots import neural as plots
    from ..analysis.plots import save_figure

    order = np.argsort([list(plots.TYPE_COLOURS).index(t) for t in result["type"].values], kind="stable")
    shown = order[:MAX_PANELS]
    arrays = _tuning_arrays(rec, result, shown, args)
    titles = [f"{result['unit'].values[i]} {result['type'].values[i]}" for i in shown]
    written = []
    label = {"model": "a.u.", "dff": "dF/F"}.get(result.attrs["activity_kind"], "Hz")
    fig, _ = plots.plot_map_sheet(arrays["maps"].maps, titles, extent=arrays["extent"], label=label)
    written += save_figure(fig, out / "rate_maps")
    acorr = arrays["acorr"]
    lag = result.attrs["bin_size_m"] * (acorr.shape[-1] - 1) / 2
    fig, _ = plots.plot_map_sheet(
        acorr,
        [f"{t}\ng {result['grid_score'].values[i]:.2f}" for t, i in zip(titles, shown, strict=True)],
        extent=(-lag, lag, -lag, lag),
        symmetric=True,
    )
    written += save_figure(fig, out / "autocorrelograms")
    hd = arrays["hd"]
    fig, _ = plots.plot_polar_sheet(
        hd.curves,
        hd.bin_centres,
        [f"{t}\nMVL {result['hd_mvl'].values[i]:.2f}" for t, i in zip(titles, shown, strict=True)],
    )
    written += save_figure(fig, out / "head_direction")
    fig, _ = plots.plot_type_counts(result["type"].values, title=f"{summary['n_units']} units")
    written += save_figure(fig, out / "cell_types")
    pop = summary["population"]
    fig, _ = plots.plot_population(np.asarray(pop["explained_variance_ratio"]), pop["participation_ratio"])
    written += save_figure(fig, out / "population")
    if dynamics is not None:
        proj, fp = dynamics["projection"], dynamics["fixed_points"]
        fig, _ = plots.plot_fixed_points(proj.trajectories, proj.fixed_points, fp.kind.tolist(), fp.is_fixed)
        written += save_figure(fig, out / "fixed_points")
    return written
