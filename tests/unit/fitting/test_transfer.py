"""The transfer check (a fitted model let loose in arenas it never saw) and the finite ray range that makes
a fitted network's inputs mean the same thing in any arena."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from neuroethology.config import ConfigError
from neuroethology.fitting import FitConfig, fit_recording
from neuroethology.fitting.closed_loop import arena_name, movement_samples, movement_summary, transfer_check

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline import _recording  # noqa: E402

BIG = {"shape": "box", "width": 3.5, "height": 2.5}


@pytest.fixture(scope="module")
def fitted_baseline():
    rec = _recording(seconds=120.0, seed=5)
    # Simulated positions carry no tracking jitter: no smoothing.
    config = FitConfig(
        model="ou",
        smoothing=0.0,
        transfer_arenas=(BIG, "linear_track"),
        transfer_duration=60.0,
        report_metrics=False,  # (tests/unit/fitting/test_report.py has the report)
    )
    return rec, fit_recording(rec, config, say=lambda m: None)


def test_the_fit_stores_the_transfer_check(fitted_baseline):
    """The random-motion model's speed process ignores the arena, so its median speed must stay within 20% of
    the animal's (its own simulated data) in a 3.5 x 2.5 m box; its walls are where the arena's are (the
    median wall distance grows with the box); in the 10 cm wide linear track it is never far from a wall."""
    _, result = fitted_baseline
    transfer = result.scores["transfer"]
    names = [a["arena"] for a in transfer["arenas"]]
    assert names == ["own arena", "3.5 x 2.5 m box", "linear_track"]
    own, big, track = transfer["arenas"]
    for a in (own, big):
        assert 0.8 < a["median_speed_ratio"] < 1.25, a
        assert a["median_speed_ratio"] == pytest.approx(
            a["speed_median"] / transfer["animal"]["speed_median"]
        )
    assert big["wall_distance_median"] > 2 * own["wall_distance_median"]
    assert track["wall_distance_median"] < 0.06
    assert transfer["runs"] == 8 and transfer["duration_s"] == 60.0


def test_transfer_check_tells_a_model_that_changes_with_the_arena(fitted_baseline):
    """A model that moves at half the animal's speed reports a median-speed ratio near 0.5 (the check measures,
    it does not copy the animal's numbers)."""
    rec, result = fitted_baseline
    slow = result.model._replace(
        baseline=result.model.baseline.replace(speed_mean=0.5 * result.model.baseline.speed_mean)
    )
    out = transfer_check(slow, (BIG,), rec, runs=4, duration=60.0, key=jax.random.key(1))
    for a in out["arenas"]:
        assert 0.35 < a["median_speed_ratio"] < 0.7, a


def test_movement_summary_and_arena_names():
    samples = {
        "speed": np.linspace(0.0, 1.0, 101),
        "turning_rate": np.array([1.0, 2.0, 3.0]),
        "wall_distance": np.array([0.1, 0.2, 0.4]),
    }
    s = movement_summary(samples)
    assert s["speed_median"] == pytest.approx(0.5) and s["speed_p10"] == pytest.approx(0.1)
    assert s["speed_p90"] == pytest.approx(0.9) and s["stopped_fraction"] == pytest.approx(3 / 101)
    assert s["turning_rate_median"] == 2.0 and s["wall_distance_median"] == 0.2
    assert arena_name({"shape": "circle", "radius": 1.0}) == "circle r = 1 m"
    assert arena_name({"boundary": [[0, 0], [2, 0], [2, 1], [0, 1]]}) == "polygon 2 x 1 m"
    assert arena_name("plus_maze") == "plus_maze"


def test_ray_range_reaches_the_environment_and_is_checked():
    from neuroethology.fitting.split import prepare_recording

    rec = _recording(seconds=10.0)
    _, params = prepare_recording(rec, FitConfig(model="ou", ray_range=0.3))
    assert float(params.ray_range) == pytest.approx(0.3)
    _, params = prepare_recording(rec, FitConfig(model="ou", ray_range=0.0))
    assert float(params.ray_range) == 0.0  # unlimited
    with pytest.raises(ConfigError, match="ray_range"):
        prepare_recording(rec, FitConfig(model="ou", ray_range=-1.0))
    with pytest.raises(ConfigError, match="the fit's own ray_range"):
        prepare_recording(rec, FitConfig(model="ou", env_params={"ray_range": 0.3}))


def test_movement_samples_of_a_transfer_simulation_use_its_own_arena(fitted_baseline):
    from neuroethology.fitting import simulate

    _, result = fitted_baseline
    from neuroethology.envs.arena import resolve_arena

    rec = simulate(result.model, duration=30.0, key=jax.random.key(2), num_runs=2, arena=resolve_arena(BIG))
    wall = movement_samples(rec)["wall_distance"]
    assert wall.max() > 0.6  # impossible in the 1 x 1 m box the model was fitted in


def test_bad_transfer_arenas_are_refused_before_fitting():
    problems = FitConfig(model="ou", transfer_arenas=("linear_trak", {"shape": "box"})).validate()
    assert any(p.startswith("transfer_arenas[0]") and "linear_track" in p for p in problems), problems
    assert any(p.startswith("transfer_arenas[1]") for p in problems), problems
    assert arena_name(Path("maze.yaml")) == "maze.yaml"


def test_the_transfer_check_runs_for_a_recording_placed_with_arena():
    """A recording that stores no arena, placed with ``arena=`` (Python), gets its transfer check measured in
    that arena (it used to fail after fitting, losing the fit)."""
    from neuroethology.data import from_arrays

    rec = _recording(seconds=60.0, seed=6)
    bare = from_arrays(rec["position"].values, fps=float(rec.attrs["fps"]))
    config = FitConfig(
        model="ou", smoothing=0.0, transfer_arenas=(BIG,), transfer_duration=20.0, report_metrics=False
    )
    result = fit_recording(
        bare, config, arena={"shape": "box", "width": 1.0, "height": 1.0}, say=lambda m: None
    )
    transfer = result.scores["transfer"]
    assert "not_computed" not in transfer, transfer
    assert transfer["animal"]["wall_distance_median"] < 0.5
