"""Figure: the five paradigms as the environments draw them (``render_mode="rgb_array"``), each run by its
reference policy: the random-motion rat in the open field, the MVT forager in spatial patch foraging, the
surge-and-cast moth in a plume, a random swimmer in the water maze and the cue follower in the T-maze::

    python paper_figures/fig_environments.py                  # -> paper_figures/out/environments.{pdf,png}
    python paper_figures/fig_environments.py --seed 2 --out figs/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np

import neuroethology.envs as ne
from neuroethology.analysis.plots import apply_style, save_figure

PANELS = [
    # (title, environment, parameter overrides, policy factory, seconds simulated before the frame)
    ("open field", "neuroethology/OpenField-v0", {}, lambda p: ne.policies.RandomMotion(), 8.0),
    (
        "patch foraging",
        "neuroethology/SpatialPatchForaging-v0",
        {},
        lambda p: ne.policies.MVTPolicy(p),
        20.0,
    ),
    ("odour plume", "neuroethology/OdorPlume-v0", {}, lambda p: ne.policies.SurgeCast(), 6.0),
    ("water maze", "neuroethology/WaterMaze-v0", {}, lambda p: ne.policies.RandomSwimmer(), 12.0),
    ("T-maze", "neuroethology/SpatialTMaze-v0", {}, lambda p: ne.policies.CueFollower(), 4.0),
]


def frames(seed: int = 0) -> list[np.ndarray]:
    """One ``rgb_array`` frame per panel, after the panel's seconds of its reference policy."""
    out = []
    for _, env_id, overrides, make_policy, seconds in PANELS:
        env, params = ne.make(env_id, **overrides)
        steps = max(1, int(round(seconds / float(params.dt))))
        result = ne.rollout(env, make_policy(params), jax.random.key(seed), params, num_steps=steps)
        render_state = env.render_init(params)
        for t in range(steps):  # feed the whole path so that trails are drawn
            render_state, image = env.render_image(
                jax.tree.map(lambda x, t=t: x[t], result.states), render_state, params
            )
        out.append(np.asarray(image))
    return out


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)
    apply_style()
    images = frames(args.seed)
    fig, axes = plt.subplots(1, len(images), figsize=(1.6 * len(images), 1.9), layout="constrained")
    for ax, image, (title, *_rest) in zip(axes, images, PANELS, strict=True):
        ax.imshow(image)
        ax.set_title(title)
        ax.set_axis_off()
    written = save_figure(fig, args.out / "environments")
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
