"""How many of the 13 metrics can a perfect model be within the animal's own yardstick? (README, issue 11)

    python paper_figures/tab_yardstick_reach.py rat     # the Tanni et al. 2022 rat against itself (~3 min)
    python paper_figures/tab_yardstick_reach.py true    # the true random-motion model (~5 min)

The demo's report counts the metrics on which a model's free simulation (8 animals x 120 s) is no further from the
held-out rat (the last 120 s) than the rat's own training part (the first 480 s) is. This script asks what that
count is for a model that cannot be improved on, with the demo's durations and smoothing:

``rat``: the model is the rat itself. The Tanni et al. 2022 rat (2 h at 30 Hz, bundled with RatInABox) gives
many 10-min stretches; for each, its first 480 s are the "training part", its last 120 s the "held-out part",
and 8 other 120-s stretches of the same session, outside that window, are the "model's 8 animals".

``true``: the model is the process that made the data. A random-motion animal (the RatInABox-like motion fitted
to the Sargolini rat, ``datasets.SARGOLINI_MOTION``) for 600 s at 50 Hz is split 480/120 s, and the model's 8 animals are
120-s simulations of the same process with other keys.

It prints each case's count and the distribution of counts; nothing is tuned on these cases.
"""

from __future__ import annotations

import argparse
import collections

import jax
import numpy as np

import neuroethology.envs as ne
from neuroethology import datasets
from neuroethology.data import arena_of, from_arrays, smooth
from neuroethology.fitting import behaviour_report

TRAIN_S, HELDOUT_S, ANIMALS, SMOOTHING = 480.0, 120.0, 8, 0.02  # the demo's split, runs and smoothing


def _recording(xy: np.ndarray, fps: float, arena) -> object:
    """(time, 2, individual) positions -> a smoothed Recording."""
    rec = from_arrays(xy[:, :, None, :], fps=fps, arena=arena)
    return smooth(rec, sigma=SMOOTHING)


def _count(train, heldout, model) -> tuple[int, int, list[str]]:
    report = behaviour_report({"model": model}, train, heldout)
    missed = [row.name for row in report.rows if not row.within("model")]
    return len(report.rows) - len(missed), len(report.rows), missed


def rat_cases(cases: int, seed: int) -> list[tuple[int, int, list[str]]]:
    """The Tanni rat against itself: ``cases`` 600-s windows, each with 8 other 120-s stretches as the model."""
    rat = datasets.tanni()
    fps = float(rat.attrs["fps"])
    xy = rat["position"].values[:, :, 0, 0]
    segment = rat["segment"].values[:, 0]
    n_win, n_piece = int(round((TRAIN_S + HELDOUT_S) * fps)), int(round(HELDOUT_S * fps))
    rng = np.random.default_rng(seed)
    arena = arena_of(rat)

    def clean(start: int, n: int) -> bool:  # one tracked segment, nothing missing
        piece = slice(start, start + n)
        return np.all(np.isfinite(xy[piece])) and np.all(segment[piece] == segment[start])

    out = []
    starts = [s for s in range(0, len(xy) - n_win, n_piece) if clean(s, n_win)]
    for start in rng.choice(starts, size=min(cases, len(starts)), replace=False):
        window = range(start - n_piece, start + n_win)  # other stretches may not touch the window
        pieces = [
            s for s in range(0, len(xy) - n_piece, n_piece // 2) if s not in window and clean(s, n_piece)
        ]
        pieces = [s for s in pieces if s + n_piece <= start or s >= start + n_win]
        chosen = rng.choice(pieces, size=ANIMALS, replace=False)
        n_train = int(round(TRAIN_S * fps))
        train = _recording(xy[start : start + n_train, :, None], fps, arena)
        heldout = _recording(xy[start + n_train : start + n_win, :, None], fps, arena)
        model = _recording(np.stack([xy[s : s + n_piece] for s in chosen], axis=-1), fps, arena)
        out.append(_count(train, heldout, model))
        print(f"window at {start / fps:6.0f} s: {out[-1][0]} of {out[-1][1]}; missed {', '.join(out[-1][2])}")
    return out


def true_cases(cases: int, seed: int) -> list[tuple[int, int, list[str]]]:
    """The true model: a random-motion animal split 480/120 s, and 8 x 120 s of the same process."""
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    policy = ne.policies.RandomMotion(ne.policies.RandomMotionParams(**datasets.SARGOLINI_MOTION))
    dt = float(p.dt)
    box = {"shape": "box", "width": 1.0, "height": 1.0}
    n_train, n_held = int(round(TRAIN_S / dt)), int(round(HELDOUT_S / dt))
    out = []
    for case in range(cases):
        key_animal, key_model = jax.random.split(jax.random.key(seed * 1000 + case))
        animal = ne.rollout(env, policy, key_animal, p, num_steps=n_train + n_held)
        model = ne.rollout(env, policy, key_model, p, num_steps=n_held, num_envs=ANIMALS)
        xy = np.asarray(animal.states.position, float)
        train = _recording(xy[:n_train, :, None], 1 / dt, box)
        heldout = _recording(xy[n_train:, :, None], 1 / dt, box)
        sims = _recording(np.moveaxis(np.asarray(model.states.position, float), 1, -1), 1 / dt, box)
        out.append(_count(train, heldout, sims))
        print(f"case {case}: {out[-1][0]} of {out[-1][1]}; missed {', '.join(out[-1][2])}")
    return out


def summary(label: str, results: list[tuple[int, int, list[str]]]) -> None:
    counts = np.array([k for k, _, _ in results])
    n = results[0][1]
    missed = collections.Counter(name for *_, names in results for name in names)
    print(f"\n## {label}: {len(counts)} cases")
    print(f"within the yardstick: median {np.median(counts):.0f} of {n}, range {counts.min()}-{counts.max()}")
    for k in range(n, -1, -1):
        if (counts == k).any():
            print(f"  {k:2d} of {n}: {int((counts == k).sum())} cases")
    print(f"  at least 12 of {n}: {int((counts >= 12).sum())} of {len(counts)} cases")
    print("missed most often:", ", ".join(f"{name} {c}" for name, c in missed.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("which", choices=("rat", "true"))
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.which == "rat":
        summary("the Tanni et al. 2022 rat against itself", rat_cases(args.cases, args.seed))
    else:
        summary("the true random-motion model", true_cases(args.cases, args.seed))


if __name__ == "__main__":
    main()
