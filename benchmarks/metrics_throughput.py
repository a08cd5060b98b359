"""Time every behavioural metric and the full comparison on one hour of 50 Hz tracking (180,000 samples).

    .venv/bin/python benchmarks/metrics_throughput.py [--hours 1] [--repeats 3]

The track is a RatInABox-like walk (Ornstein-Uhlenbeck speed and turning rate) reflected into a 1 x 1 m box,
with a 1 % of samples lost in short tracking gaps (NaN), built with ``neuroethology.data.from_arrays``.
Each row is the median of ``--repeats`` runs; the comparison holds two such hours against each other
(time-block resampling, 999 permutations, 2000 bootstrap resamples).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from neuroethology import analysis as na
from neuroethology.data import from_arrays


def walk(rng: np.random.Generator, n: int, dt: float, speed: float = 0.1, turn_sd: float = 2.0) -> np.ndarray:
    """Speed and turning-rate OU processes (time constants 0.7 s and 0.3 s), reflected into [0, 1]^2."""
    a_v, a_w = np.exp(-dt / 0.7), np.exp(-dt / 0.3)
    noise = rng.standard_normal((n, 2))
    v = np.empty(n)
    w = np.empty(n)
    v[0], w[0] = speed, 0.0
    for i in range(1, n):  # a plain loop: this builds the data and is not timed
        v[i] = speed + a_v * (v[i - 1] - speed) + speed * np.sqrt(1 - a_v**2) * noise[i, 0]
        w[i] = a_w * w[i - 1] + turn_sd * np.sqrt(1 - a_w**2) * noise[i, 1]
    heading = np.cumsum(w) * dt
    xy = 0.5 + np.cumsum(
        np.column_stack([np.cos(heading), np.sin(heading)]) * (np.abs(v) * dt)[:, None], axis=0
    )
    m = np.mod(xy, 2.0)
    return np.where(m > 1.0, 2.0 - m, m)


def recording(seed: int, n: int, fps: float):
    rng = np.random.default_rng(seed)
    xy = walk(rng, n, 1.0 / fps)
    starts = rng.choice(n - 10, size=n // 500, replace=False)  # 1 % of samples in 5-sample gaps
    for s in starts:
        xy[s : s + 5] = np.nan
    return from_arrays(
        xy, fps=fps, arena={"shape": "box", "width": 1.0, "height": 1.0}, individual_names=[f"walk{seed}"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--fps", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = int(round(args.hours * 3600 * args.fps))
    print(f"building two {args.hours:g} h recordings at {args.fps:g} Hz ({n:,} samples each) ...", flush=True)
    rec, other = recording(0, n, args.fps), recording(1, n, args.fps)

    cases = {
        "compute_speed": lambda: na.compute_speed(rec),
        "compute_acceleration": lambda: na.compute_acceleration(rec),
        "compute_angular_velocity": lambda: na.compute_angular_velocity(rec, min_speed=0.02),
        "compute_curvature": lambda: na.compute_curvature(rec, min_speed=0.02),
        "compute_turning_angles (2 cm)": lambda: na.compute_turning_angles(rec, step_length=0.02),
        "compute_path_length": lambda: na.compute_path_length(rec),
        "compute_straightness (10 s)": lambda: na.compute_straightness(rec, window=10.0),
        "compute_sinuosity (2 cm)": lambda: na.compute_sinuosity(rec, step_length=0.02),
        "compute_msd (30 lags)": lambda: na.compute_msd(rec),
        "compute_msd_exponent": lambda: na.compute_msd_exponent(rec, lag_range=(0.2, 2.0)),
        "compute_occupancy (5 cm)": lambda: na.compute_occupancy(rec),
        "compute_coverage": lambda: na.compute_coverage(rec),
        "compute_spatial_entropy": lambda: na.compute_spatial_entropy(rec),
        "compute_wall_distance": lambda: na.compute_wall_distance(rec),
        "compute_thigmotaxis": lambda: na.compute_thigmotaxis(rec),
        "compute_step_lengths (2 cm)": lambda: na.compute_step_lengths(rec, resolution=0.02),
        "compare_tail_models (step lengths)": lambda: na.compare_tail_models(
            na.compute_step_lengths(rec, resolution=0.02).values
        ),
        "compare_groups (all metrics, 2 x 1 h)": lambda: na.compare_groups(other, rec),
    }
    rows = []
    for name, fn in cases.items():
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        rows.append((name, statistics.median(times)))
        print(f"  {name:<42} {rows[-1][1] * 1e3:9.1f} ms", flush=True)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'metric':<{width}}  median of {args.repeats} (s)  samples/s")
    print("-" * (width + 32))
    for name, t in rows:
        print(f"{name:<{width}}  {t:>17.3f}  {n / t:>10.3g}")
    total = sum(t for name, t in rows if not name.startswith("compare_groups"))
    print("-" * (width + 32))
    print(f"{'all metrics above, once each':<{width}}  {total:>17.3f}")


if __name__ == "__main__":
    main()
