"""The gallery's water-maze figure in fast mode (paper_figures/water_maze.py): its JSON holds every plotted number
and its claims. Fast mode trains 80 updates (655,360 steps): the test-block escape latency falls from ~60 s to
~4.5 s and the probe trial's time in the target quadrant is far above 25% already."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuroethology import gallery

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    manifest = gallery.make_figure("water_maze", mode="fast", out=out, log=lambda _: None)
    return json.loads((out / "water_maze" / "water_maze.json").read_text()), manifest


@pytest.mark.slow
def test_the_escape_latency_at_least_halves_over_training(figure):
    data, _ = figure
    assert data["claims"]["latency_halves"] is True
    curve = data["numbers"]["acquisition"]
    latency, path = np.asarray(curve["latency"]), np.asarray(curve["path"])
    assert latency.shape == path.shape == (11,)  # update 0 and 10 checkpoints
    assert np.all((latency > 0) & (latency <= 60.0))
    assert latency[-1] <= latency[0] / 2 and path[-1] <= path[0] / 2
    optimum = data["numbers"]["optimum"]
    assert (
        latency[-1] >= optimum["latency_mean"] and path[-1] >= optimum["path_mean"]
    )  # nothing beats a straight swim
    ci = np.asarray(curve["latency_ci"])
    assert np.all((ci[:, 0] <= latency + 1e-9) & (latency <= ci[:, 1] + 1e-9))
    assert curve["found"][-1] >= 0.9 and np.all(np.diff(curve["training_trials"]) > 0)


@pytest.mark.slow
def test_the_probe_trial_favours_the_target_quadrant_above_chance(figure):
    data, _ = figure
    assert data["claims"]["probe_target_above_chance"] is True
    probe = data["numbers"]["probe"]
    fractions = np.asarray(probe["fraction"])
    assert fractions.shape == (64, 4) and np.allclose(fractions.sum(axis=1), 1.0)
    assert probe["per_release"] == [16, 16, 16, 16]  # N, E, S, W balanced
    low, high = probe["fraction_ci"][0]
    assert 0.25 < low <= probe["fraction_mean"][0] <= high <= 1.0
    assert probe["fraction_mean"][0] == max(probe["fraction_mean"])
    assert np.mean(probe["crossings_target"]) > np.mean(probe["crossings_opposite"])


@pytest.mark.slow
def test_the_example_paths_start_at_the_wall_and_the_trained_ones_end_on_the_platform(figure):
    data, manifest = figure
    paths = data["numbers"]["example_paths"]
    assert set(paths) == {"untrained", "trained", "probe"}
    centre = np.array([1.0, 1.0])  # the 1 m pool's centre
    platform = centre + 0.5 * np.array([np.cos(np.pi / 4), np.sin(np.pi / 4)])
    for name, xy in paths["trained"].items():
        xy = np.asarray(xy)
        assert np.linalg.norm(xy[0] - centre) == pytest.approx(0.96, abs=1e-3), name  # released at the wall
        assert np.linalg.norm(xy[-1] - platform) <= 0.05 + 0.03, name  # within a stroke of the platform
    assert all(len(xy) == 600 for xy in paths["probe"].values())  # 60 s probe trials at 0.1 s
    assert manifest["mode"] == "fast" and [r["label"] for r in manifest["runs"]] == ["ppo"]
