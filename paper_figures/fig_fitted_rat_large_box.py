"""Figure and table: the model fitted to one rat in a 1 x 1 m box, against another rat in a 3.5 x 2.5 m box.

A model of the animal should behave like the animal outside the box it was fitted in. The GRU fitted to the
rat of Sargolini et al. (2006) in its 1 x 1 m box (``neuroethology demo`` writes ``out/demo/fitted_gru``; or
any fitted run, e.g. one with ``ray_range=0`` for the unlimited rays of before) is let loose in the
3.5 x 2.5 m box of Tanni et al. (2022), and held against the rat recorded there for two hours
(``neuroethology.datasets.tanni``, 30 Hz) next to RatInABox's default ``Agent`` in the same box, the agent
users would otherwise pick. Every trajectory in the large box is compared at the real rat's 30 Hz (simulations
resampled; the Sargolini rat's median speed, for reference, is at its own 50 Hz) and the real rats are smoothed
as the fit smooths its rat (Gaussian, s.d. 20 ms). Measures: speed, turning
rate while moving (> 2.5 cm/s) and distance to the nearest wall, as two-sample KS statistics against the
Tanni rat, and the median speed next to both rats'. Panels: those three distributions, and a path of each::

    python paper_figures/fig_fitted_rat_large_box.py                     # -> docs/images/fitted_gru_large_box.*
    python paper_figures/fig_fitted_rat_large_box.py --run runs/x --run runs/y --duration 900 --runs 8

The README's second run is the same fit with unlimited rays: ``neuroethology fit --data
.venv/lib/python3.11/site-packages/ratinabox/data/sargolini.npz --fps 50 --max-gap 0.1 --arena 1x1 --out
runs/rays0 ray_range=0`` (the README's was fitted before the held-heading change of the loss, commit 2bd629a).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from neuroethology.analysis.plots import new_figure, plot_trajectory, save_figure
from neuroethology.data import resample, smooth
from neuroethology.datasets import TANNI_ARENA, sargolini, tanni
from neuroethology.demo import ratinabox_default_agent
from neuroethology.fitting.closed_loop import ks_statistics, movement_samples
from neuroethology.run_policies import simulate

ROOT = Path(__file__).resolve().parents[1]
SMOOTHING = (
    0.02  # s, as FitConfig.smoothing: the real rats' tracking jitter removed, the simulations untouched
)
MEASURES = ("speed", "turning_rate", "wall_distance")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run",
        type=Path,
        action="append",
        help="a fitted run directory (repeat for several; default out/demo/fitted_gru)",
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds per simulated animal (600)")
    parser.add_argument("--runs", type=int, default=4, help="simulated animals per model (4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    runs = args.run or [ROOT / "out" / "demo" / "fitted_gru"]
    for run in runs:
        if not (run / "config.yaml").is_file():
            parser.error(f"--run {run}: not a run directory (run `neuroethology demo` first, or give --run)")
    real = smooth(tanni(), sigma=SMOOTHING)
    dt = float(real["time"][1] - real["time"][0])
    groups = {"rat, 3.5 x 2.5 m (Tanni et al. 2022)": real}
    for run in runs:
        sim = simulate(run, duration=args.duration, num_runs=args.runs, arena=TANNI_ARENA, seed=args.seed)
        groups[_label(run)] = _at(sim[["position", "confidence"]], dt)
    groups["RatInABox default Agent"] = ratinabox_default_agent(
        args.duration, runs=args.runs, dt=dt, arena=TANNI_ARENA, seed=args.seed
    )
    samples = {name: movement_samples(rec) for name, rec in groups.items()}
    own_box = movement_samples(smooth(sargolini(), sigma=SMOOTHING))
    numbers = _numbers(samples, own_box)
    numbers["settings"] = {"duration_s": args.duration, "runs": args.runs, "seed": args.seed, "dt_s": dt}
    numbers["runs"] = [r.name for r in runs]  # folder names: where a run lives is the user's business
    _figure(groups, samples, args.out)
    (args.out / "fitted_gru_large_box.json").write_text(json.dumps(numbers, indent=1))
    _print_table(numbers)
    return numbers


def _label(run: Path) -> str:
    """``"fitted GRU, rays to 0.35 m (fitted_gru)"``: the model and its ray range, from the run's model.json."""
    info = json.loads((run / "model.json").read_text())
    reach = float(info["env_params"].get("ray_range", 0.0))
    rays = f"rays to {reach:g} m" if reach > 0 else "unlimited rays"
    return f"fitted {info['kind'].upper()}, {rays} ({run.name})"


def _at(sim, dt: float):
    """A simulation on the real rat's sampling grid (linear interpolation within each animal's track)."""
    return resample(sim, dt=dt)


def _numbers(samples: dict, own_box: dict) -> dict:
    names = list(samples)
    real = samples[names[0]]
    out: dict = {
        "rat in its 1 x 1 m box (Sargolini et al. 2006)": {"median_speed": float(np.median(own_box["speed"]))}
    }
    for name in names:
        row = {"median_speed": float(np.median(samples[name]["speed"]))}
        row["median_speed_ratio_to_the_large_box_rat"] = row["median_speed"] / float(np.median(real["speed"]))
        if name != names[0]:
            row["ks_against_the_large_box_rat"] = ks_statistics(samples[name], real)
        out[name] = row
    return out


def _figure(groups: dict, samples: dict, out: Path) -> None:
    fig, axes = new_figure(2, 3, width=10.0, height=5.6)
    edges = {
        "speed": np.linspace(0, 0.8, 41),
        "turning_rate": np.linspace(0, 6, 41),
        "wall_distance": np.linspace(0, 1.25, 41),
    }
    units = {
        "speed": "speed (m/s)",
        "turning_rate": "turning rate (rad/s)",
        "wall_distance": "wall distance (m)",
    }
    for ax, measure in zip(axes[0], MEASURES, strict=True):
        for i, (name, s) in enumerate(samples.items()):
            ax.hist(
                s[measure],
                edges[measure],
                density=True,
                histtype="step",
                color="k" if i == 0 else None,
                label=name,
            )
        ax.set_xlabel(units[measure])
        ax.set_ylabel("density")
    axes[0][1].legend(fontsize=6, frameon=False, loc="upper right")
    names = list(groups)
    shown = [names[0], names[1], names[-1]]  # the rat, the first fitted run, RatInABox's agent
    for ax, name in zip(axes[1], shown, strict=True):
        rec = groups[name]
        one = rec.isel(individual=[0])
        t = one["time"].values
        plot_trajectory(one.isel(time=slice(0, int(np.searchsorted(t, t[0] + 300.0)))), ax=ax, label=None)
        ax.set_title(f"{name}: 5 min", fontsize=7)
    out.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out / "fitted_gru_large_box")


def _print_table(numbers: dict) -> None:
    print(
        "| trajectory | median speed (m/s) | vs the large-box rat | KS speed | KS turning rate | KS wall distance |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in numbers.items():
        if not isinstance(row, dict) or "median_speed" not in row:
            continue
        ks = row.get("ks_against_the_large_box_rat", {})
        ratio = row.get("median_speed_ratio_to_the_large_box_rat")
        cells = [f"{row['median_speed']:.3f}", f"{ratio:.2f}" if ratio is not None else ""]
        cells += [f"{ks[m]:.3f}" if m in ks else "" for m in MEASURES]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
