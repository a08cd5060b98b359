"""Figure: a recurrent network fitted to a real rat, simulated freely, against the held-out rat.

Regenerates the demo's figures (trajectories, speed / turning-rate / wall-distance distributions, occupancy)
and its report from ``configs/fit_open_field.yaml``, with any ``key=value`` overrides of that config::

    python paper_figures/fig_fitted_rat.py                        # -> paper_figures/out/fitted_rat/
    python paper_figures/fig_fitted_rat.py model=lstm seed=3      # another network, another seed
    python paper_figures/fig_fitted_rat.py --runs 16 --out figs/  # more simulated animals, elsewhere
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuroethology.config import load_config
from neuroethology.demo import run_demo
from neuroethology.fitting import FitConfig

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "fit_open_field.yaml"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides of the fit config")
    parser.add_argument("--config", type=Path, default=CONFIG, help=f"fit config (default {CONFIG.name})")
    parser.add_argument("--runs", type=int, default=8, help="simulated animals per model (default 8)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "fitted_rat")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.overrides, schema=FitConfig)
    return run_demo(args.out, config=config, runs=args.runs)


if __name__ == "__main__":
    main()
