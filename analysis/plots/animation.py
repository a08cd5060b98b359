"""Rollout animations from an environment's own renderer (``render_image``), written as GIF with
matplotlib's Pillow writer (no ffmpeg needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from matplotlib import animation
from matplotlib import pyplot as plt

from .style import apply_style

__all__ = ["render_rollout", "save_animation"]


def render_rollout(
    env: Any,
    states: Any,
    params: Any = None,
    *,
    env_index: int | None = None,
    every: int = 1,
    max_frames: int = 500,
    **render_kwargs: Any,
) -> list[np.ndarray]:
    """Frames ``(H, W, 3)`` of a rollout drawn by ``env.render_image``.

    Args:
        env: a ``neuroethology.envs`` environment.
        states: the time-major states of a rollout (``Rollout.states``: leaves ``(time, ...)``, or
            ``(time, num_envs, ...)`` with ``env_index``).
        params: the environment's params (default ``env.default_params``).
        every: draw every ``every``-th step; at most ``max_frames`` frames are drawn.
        render_kwargs: passed to ``env.render_init`` (e.g. ``size=256``).
    """
    params = env.default_params if params is None else params
    leaves = jax.tree.leaves(states)
    if not leaves:
        raise ValueError("render_rollout: states has no arrays")
    n = int(np.shape(leaves[0])[0])
    if every < 1 or max_frames < 1:
        raise ValueError(f"render_rollout: every and max_frames must be >= 1, got {every}, {max_frames}")
    host = jax.tree.map(np.asarray, states)
    render_state = env.render_init(params, **render_kwargs)
    frames = []
    for t in range(0, n, every):
        state_t = jax.tree.map(lambda x, t=t: x[t] if env_index is None else x[t, env_index], host)
        render_state, image = env.render_image(state_t, render_state, params)
        frames.append(np.asarray(image))
        if len(frames) >= max_frames:
            break
    env.render_close(render_state, params)
    return frames


def save_animation(
    frames: Sequence[np.ndarray],
    path: str | Path,
    *,
    fps: float = 20.0,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Write ``frames`` (``(H, W, 3)`` uint8 or floats in [0, 1]) as an animated GIF with matplotlib's
    ``PillowWriter``; returns the path (suffix forced to ``.gif``)."""
    if len(frames) == 0:
        raise ValueError("save_animation: no frames")
    first = np.asarray(frames[0])
    if first.ndim != 3 or first.shape[2] not in (3, 4):
        raise ValueError(f"save_animation: frames must be (H, W, 3|4) images, got shape {first.shape}")
    if not fps > 0:
        raise ValueError(f"save_animation: fps must be > 0, got {fps}")
    path = Path(path).with_suffix(".gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    apply_style()
    h, w = first.shape[:2]
    fig = plt.figure(figsize=(w / dpi, h / dpi + (0.3 if title else 0)), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, h / (h + (0.3 * dpi if title else 0))))
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=8)
    image = ax.imshow(first, interpolation="nearest")

    def update(i):
        image.set_data(np.asarray(frames[i]))
        return (image,)

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=1000.0 / fps, blit=True)
    anim.save(path, writer=animation.PillowWriter(fps=fps), dpi=dpi)
    plt.close(fig)
    return path
