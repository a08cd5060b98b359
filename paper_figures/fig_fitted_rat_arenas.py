"""Figure: the recurrent network fitted to the rat in its 1 x 1 m box, simulated in arenas it never saw.

The demo's fitted GRU (``neuroethology demo`` writes ``out/demo/fitted_gru``; or any fitted or trained
OpenField run) drives one animal for ``--duration`` seconds in its own box, in the elevated plus maze preset
(Walf & Frye 2007: 30 x 5 cm arms) and in an L-shaped arena, through the same simulation as
``neuroethology simulate RUN --arena ARENA``. Panels: each arena's path, drawn with its walls and regions,
and the speed distribution in each, next to the rat's own in its box. The model sees its arenas only through
its wall rays, so how it behaves in a maze is a test of transfer, not of fit (issue 11 asks for more)::

    python paper_figures/fig_fitted_rat_arenas.py                          # -> docs/images/fitted_gru_arenas.png
    python paper_figures/fig_fitted_rat_arenas.py --run runs/m1 --duration 600 --out figs/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from neuroethology.analysis import compute_speed
from neuroethology.analysis.plots import new_figure, plot_trajectory, save_figure
from neuroethology.datasets import sargolini
from neuroethology.envs.arena import resolve_arena
from neuroethology.run_policies import simulate

ROOT = Path(__file__).resolve().parents[1]
L_SHAPE = {"boundary": [[0.0, 0.0], [1.0, 0.0], [1.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]}
ARENAS = {"own box (1 x 1 m)": None, "plus maze (preset)": "plus_maze", "L-shape (1 x 1 m)": L_SHAPE}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run", type=Path, default=ROOT / "out" / "demo" / "fitted_gru", help="a run directory"
    )
    parser.add_argument("--duration", type=float, default=300.0, help="seconds per arena (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    if not (args.run / "config.yaml").is_file():
        parser.error(f"--run {args.run}: not a run directory (run `neuroethology demo` first, or give --run)")
    sims = {
        name: simulate(args.run, duration=args.duration, arena=arena, seed=args.seed)
        for name, arena in ARENAS.items()
    }
    rat_speed = compute_speed(sargolini()).values
    fig, axes = new_figure(1, 4, width=11.0, height=2.9)
    axes = axes[0]
    numbers: dict[str, dict] = {"rat (own box)": _speed_summary(rat_speed)}
    edges = np.linspace(0, 0.8, 41)
    axes[3].hist(
        rat_speed[np.isfinite(rat_speed)], edges, density=True, histtype="step", color="k", label="rat"
    )
    for ax, (name, rec) in zip(axes[:3], sims.items(), strict=True):
        plot_trajectory(rec, ax=ax, label=None)
        ax.set_title(name, fontsize=8)
        speed = compute_speed(rec).values
        numbers[name] = _speed_summary(speed)
        axes[3].hist(speed[np.isfinite(speed)], edges, density=True, histtype="step", label=name)
    axes[3].set_xlabel("speed (m/s)")
    axes[3].set_ylabel("density")
    axes[3].legend(fontsize=6, frameon=False)
    args.out.mkdir(parents=True, exist_ok=True)
    save_figure(fig, args.out / "fitted_gru_arenas")
    numbers["arenas"] = {name: resolve_arena(a if a is not None else "box") for name, a in ARENAS.items()}
    (args.out / "fitted_gru_arenas.json").write_text(json.dumps(numbers, indent=1))
    for name, summary in numbers.items():
        if name != "arenas":
            print(
                f"{name}: median speed {summary['median']:.3f} m/s, 90th percentile {summary['p90']:.3f} m/s"
            )
    return numbers


def _speed_summary(speed: np.ndarray) -> dict[str, float]:
    speed = speed[np.isfinite(speed)]
    return {"median": float(np.median(speed)), "p90": float(np.percentile(speed, 90)), "n": int(speed.size)}


if __name__ == "__main__":
    main()
