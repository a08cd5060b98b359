"""Tables of README "Several animals, one model": one network fitted to several animals.

    python paper_figures/tab_several_animals.py recovery     # 3 simulated animals of known speeds, 2 data seeds (~10 min)
    python paper_figures/tab_several_animals.py rats --out out/two_rats   # the Sargolini and Tanni rats (~20 min)

``recovery`` fits the settings of ``tests/unit/fitting/test_population.py`` (3 animals x 150 s of the random-motion
model with speed_mean 0.05 / 0.10 / 0.20 m/s) with and without the animals' identities; ``rats`` fits the two
bundled rats, resampled to 25 Hz, with the default fit settings, both ways, and writes the runs under ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import numpy as np

import neuroethology.envs as ne
from neuroethology import datasets
from neuroethology.data import from_arrays
from neuroethology.fitting import FitConfig, fit_animals
from neuroethology.fitting.population import between_animals_table

SPEEDS = (0.05, 0.10, 0.20)
RECOVERY = {"total_steps": 300, "num_seeds": 1, "hidden_size": 32, "selection_runs": 2, "smoothing": 0.0}
STATS = ("speed_median", "speed_p90", "stopped_fraction", "wall_distance_median")


def simulated_animal(speed_mean: float, seconds: float, seed: int, name: str):
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    policy = ne.policies.RandomMotion(
        ne.policies.RandomMotionParams(**dict(datasets.SARGOLINI_MOTION, speed_mean=speed_mean))
    )
    result = ne.rollout(env, policy, jax.random.key(seed), p, num_steps=int(seconds / float(p.dt)))
    xy = np.asarray(result.states.position, float)[:, None]
    box = {"shape": "box", "width": 1.0, "height": 1.0}
    return from_arrays(
        np.moveaxis(xy, 1, -1)[:, :, None, :], fps=1 / float(p.dt), arena=box, individual_names=[name]
    )


def report(label: str, scores: dict) -> None:
    rows = scores["between_animals"]["per_animal"]
    bits = scores["heldout"]
    print(f"\n## {label}  (wall time {scores['wall_time_s']:.0f} s)")
    print(
        "held-out bits/step over null:",
        {n: round(v["network"]["bits_per_step_over_null"], 3) for n, v in bits["per_animal"].items()},
        "pooled",
        round(bits["pooled_bits_per_step_over_null"]["network"], 3),
    )
    for name, r in rows.items():
        print(
            f"  {name}: animal",
            {k: round(r["animal"][k], 3) for k in STATS},
            "twin",
            {k: round(r["model"][k], 3) for k in STATS},
        )
    print(between_animals_table(scores["between_animals"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("which", choices=["recovery", "rats"])
    parser.add_argument("--out", type=Path, default=None, help="where the rats' runs are written")
    args = parser.parse_args()
    if args.which == "recovery":
        for seed in (0, 1):
            recs = [simulated_animal(s, 150, 10 * seed + i, f"animal{i}") for i, s in enumerate(SPEEDS)]
            for identity in ("embedding", "pooled"):
                config = FitConfig(**RECOVERY, seed=seed, animal_identity=identity)
                report(
                    f"data seed {seed}, identity {identity}",
                    fit_animals(recs, config, say=lambda m: None).scores,
                )
        return
    recs = [datasets.sargolini(), datasets.tanni()]
    for rec, name in zip(recs, ("sargolini.nc", "tanni.nc"), strict=True):
        rec.attrs["source_file"] = name
    for identity in ("embedding", "pooled"):
        out = None if args.out is None else args.out / identity
        config = FitConfig(env_params={"dt": 0.04}, animal_identity=identity)
        report(f"two rats, identity {identity}", fit_animals(recs, config, out=out).scores)


if __name__ == "__main__":
    main()
