"""The gallery's odour-plume figure in fast mode (paper_figures/odor_plume.py): 245,760 PPO steps on
OdorPlume-v0 from releases 0.3-1 m downwind, then the agent, a random walk, cast-only and surge-and-cast flown
from 0.3-1 m. Its JSON holds every plotted number and its claims: the agent's success interval lies above the
random walk's and cast-only's, and the time since the last odour encounter is decodable from its GRU units
(cross-validated R^2 above zero and above the 95th percentile of a circular time-shift null)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuroethology import gallery


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    manifest = gallery.make_figure("odor_plume", mode="fast", out=out, log=lambda _: None)
    return json.loads((out / "odor_plume" / "odor_plume.json").read_text()), manifest


@pytest.mark.slow
def test_the_agent_beats_random_search_and_casting(figure):
    data, manifest = figure
    assert data["claims"]["success_above_random"] is True
    assert data["claims"]["success_above_cast_only"] is True
    success = data["numbers"]["success"]
    for name, s in success.items():
        lo, hi = s["ci95"]
        assert 0 <= lo <= s["rate"] <= hi <= 1, name
        assert s["successes"] == round(s["rate"] * s["episodes"]), name
    assert success["agent"]["episodes"] == 200
    assert success["agent"]["ci95"][0] > success["cast_only"]["ci95"][1]
    assert success["surge_cast"]["rate"] > 0.9  # the reference strategy finds the source from 0.3-1 m
    assert success["random"]["rate"] < 0.3
    assert data["numbers"]["eval_distance_m"] == [0.3, 1.0]
    assert [r["label"] for r in manifest["runs"]] == ["ppo"]


@pytest.mark.slow
def test_time_since_odour_is_decodable_above_the_time_shift_null(figure):
    data, _ = figure
    assert data["claims"]["time_since_odour_decodable"] is True
    neural = data["numbers"]["neural"]
    for target in ("time_since_odour", "head_direction_to_wind", "log_odour"):
        null = np.asarray(neural["null_r2"][target], float)
        assert null.shape == (10,), target
        assert np.all(null < 0.1), target  # shifting the target against the units destroys the code
        assert neural["r2"][target] > neural["null_p95"][target], target
    assert neural["r2"]["time_since_odour"] > 0.05
    ratio = np.asarray(neural["explained_variance_ratio"], float)
    assert ratio.shape == (64,) and np.all(np.diff(ratio) <= 1e-12) and abs(ratio.sum() - 1) < 1e-6
    assert 1 <= neural["participation_ratio"] <= 64
    assert neural["pca_samples"] >= neural["decode_samples"] * 7


@pytest.mark.slow
def test_modules_follow_singh_et_al_thresholds_and_course_is_an_angle(figure):
    data, _ = figure
    numbers = data["numbers"]
    assert numbers["module_thresholds_steps"] == {"track_max": 12, "lost_min": 25}
    assert numbers["module_thresholds_s"]["lost_min"] == pytest.approx(1.0)
    edges = np.asarray(numbers["since_edges_s"], float)
    for policy in ("agent", "surge_cast"):
        stats = numbers["time_since_odour"][policy]
        assert sum(stats["module_fraction"].values()) == pytest.approx(1.0)
        hist = np.asarray(stats["since_hist_fraction"], float)
        assert hist.shape == (len(edges) - 1,) and hist.sum() == pytest.approx(1.0)
        course = numbers["course_deg_by_since"][policy]
        median = np.asarray(course["median"], float)
        finite = np.isfinite(median)
        assert finite.any() and np.all((median[finite] >= 0) & (median[finite] <= 180))
        assert np.all(np.asarray(course["samples"])[finite] >= numbers["min_bin_samples"])
    examples = numbers["examples"]
    assert [e["puff_rate"] for e in examples] == [10.0, 3.0, 1.0]
    for e in examples:
        assert len(e["paths"]) == 3 and 0 <= e["success_rate"] <= 1
        for path in e["paths"]:
            xy = np.asarray(path["xy"], float)
            assert xy.ndim == 2 and xy.shape[1] == 2 and len(path["module"]) == len(xy)
            assert np.all((xy >= 0) & (xy <= [12.0, 10.0]))
