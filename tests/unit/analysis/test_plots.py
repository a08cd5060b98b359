"""Figures: every plot function returns (fig, ax) and writes non-empty PDF and PNG files."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from conftest import ou_track

from neuroethology import analysis as na
from neuroethology import envs as ne
from neuroethology.analysis import plots

BOX = {"shape": "box", "width": 1.0, "height": 1.0}


@pytest.fixture
def rec(make_recording, rng):
    m = np.mod(ou_track(rng, 1500), 2.0)
    return make_recording(np.where(m > 1, 2 - m, m), fps=50.0, arena=BOX)


def check_saved(fig, path):
    files = plots.save_figure(fig, path)
    assert sorted(f.suffix for f in files) == [".pdf", ".png"]
    assert all(f.stat().st_size > 1000 for f in files)
    assert files[0].read_bytes()[:4] == b"%PDF"


def test_trajectory_and_occupancy(rec, tmp_path):
    fig, ax = plots.plot_trajectory(rec, label="walk")
    assert ax.figure is fig and len(ax.lines) == 1 and len(ax.patches) == 1  # path and arena outline
    check_saved(fig, tmp_path / "trajectory")
    fig, ax = plots.plot_occupancy(na.compute_occupancy(rec), arena=BOX)
    assert len(ax.images) == 1
    check_saved(fig, tmp_path / "occupancy")
    # On given axes the function draws there and returns that figure.
    fig2, axes = plots.new_figure(1, 2)
    f, a = plots.plot_trajectory(rec, ax=axes[0, 1])
    assert f is fig2 and a is axes[0, 1]
    with pytest.raises(ValueError, match="compute_occupancy"):
        plots.plot_occupancy(np.zeros((3, 3)))


def test_distribution_overlays_and_metric_table(rec, make_recording, rng, tmp_path):
    for kind in ("hist", "ecdf"):
        fig, ax = plots.plot_distributions(
            [rng.normal(0, 1, 500), rng.normal(1, 1, 400)], labels=["sim", "real"], kind=kind, xlabel="x"
        )
        assert len(ax.get_legend().get_texts()) == 2
        check_saved(fig, tmp_path / f"dist_{kind}")
    other = make_recording(
        np.clip(na.compute_speed(rec).values[:, None] * 0 + 0.5, 0, 1).repeat(2, 1), fps=50.0, arena=BOX
    )
    report = na.compare_groups(
        rec, other, metrics=["wall_distance", "coverage", "occupancy"], n_permutations=49, n_bootstrap=50
    )
    fig, ax = plots.plot_metric_comparison(report["wall_distance"], kind="ecdf")
    assert "KS" in ax.get_title()
    check_saved(fig, tmp_path / "wall_distance")
    fig, ax = plots.plot_metric_table(report)
    check_saved(fig, tmp_path / "table")
    files = plots.save_comparison_figures(report, [[rec], [other]], tmp_path / "set")
    names = {f.stem for f in files}
    assert names == {"trajectories", "occupancy", "distributions", "ecdfs", "metric_table"}
    assert all(f.stat().st_size > 1000 for f in files)
    with pytest.raises(ValueError, match="one label per"):
        plots.plot_distributions([np.ones(3)], labels=["a", "b"])


def test_rollout_animation_gif(tmp_path):
    env, params = ne.make("neuroethology/OpenField-v0")
    result = ne.rollout(env, ne.policies.RandomMotion(), jax.random.key(0), params, num_steps=12)
    frames = plots.render_rollout(env, result.states, params, every=2, size=64)
    assert len(frames) == 6 and frames[0].shape == (64, 64, 3)
    path = plots.save_animation(frames, tmp_path / "rollout.mp4", fps=10)
    assert path.suffix == ".gif" and path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    from PIL import Image

    with Image.open(path) as im:
        assert im.n_frames == 6
    with pytest.raises(ValueError, match="no frames"):
        plots.save_animation([], tmp_path / "x.gif")
