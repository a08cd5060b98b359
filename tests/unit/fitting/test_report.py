"""The behaviour report (every compare metric against a held-out part, with the animal's own train-vs-held-out
distance as the yardstick) on recordings simulated from known random-motion parameters, and in ``fit``."""

from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import pytest
from helpers import random_motion_positions
from scipy.stats import ks_2samp

import neuroethology.envs as ne
from neuroethology.analysis import METRICS, compute_speed
from neuroethology.data import arena_of, from_arrays
from neuroethology.fitting import FitConfig, behaviour_report, fit_recording

BOX = {"shape": "box", "width": 1.0, "height": 1.0}
SPEED_METRICS = ("speed", "acceleration")  # what halving the speed must move beyond the yardstick


def _random_motion(seconds: float, seed: int, *, animals: int | None = None, speed_mean: float = 0.08):
    """A stationary random-motion simulation (RatInABox's defaults but ``speed_mean``) in a 1 x 1 m box;
    ``animals=None``: one animal."""
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    policy = ne.policies.RandomMotion(ne.policies.RandomMotionParams(speed_mean=speed_mean))
    xy = random_motion_positions(env, policy, jax.random.key(seed), p, int(seconds / float(p.dt)), animals)
    xy = xy[:, None] if animals is None else xy
    return from_arrays(np.moveaxis(xy, 1, -1)[:, :, None, :], fps=1 / float(p.dt), arena=BOX)


@pytest.fixture(scope="module")
def constructed():
    """Two halves of one long run (training and held-out parts), the true model and a half-speed one."""
    animal = _random_motion(480.0, seed=0)
    n = animal.sizes["time"] // 2
    train, heldout = animal.isel(time=slice(0, n)), animal.isel(time=slice(n, None))
    models = {
        "true": _random_motion(240.0, seed=1, animals=4),
        "half speed": _random_motion(240.0, seed=2, animals=4, speed_mean=0.04),
    }
    return train, heldout, models, behaviour_report(models, train, heldout)


def test_every_movement_metric_is_reported(constructed):
    *_, report = constructed
    movement = [name for name, m in METRICS.items() if not m.per_trial][:13]
    assert report.names == movement  # compare's order: 7 distributions, 5 per-block scalars, the occupancy
    assert {r.distance for r in report.rows} == {"KS", "KS (per block)", "JSD"}
    assert "escape_latency" in report.skipped and not report.notes
    assert report.block_duration == pytest.approx(24.0, rel=1e-6)  # a tenth of the 240-s held-out part


def test_the_yardstick_is_the_train_vs_heldout_distance(constructed):
    train, heldout, models, report = constructed
    speeds = [np.ravel(compute_speed(r).values) for r in (train, heldout)]
    assert report["speed"].yardstick == pytest.approx(
        ks_2samp(*(v[np.isfinite(v)] for v in speeds)).statistic
    )
    # The animal's own training part as a "model" is at the yardstick exactly, on every metric.
    again = behaviour_report({"training part": train}, train, heldout)
    for row in again.rows:
        assert row.models["training part"] == row.yardstick, row.name
    assert again.count("training part") == (13, 13)


def test_the_true_model_is_near_the_yardstick_and_half_speed_is_not(constructed):
    *_, report = constructed
    for row in report.rows:
        assert row.models["true"] <= 3 * row.yardstick, (row.name, row.models["true"], row.yardstick)
    for name in SPEED_METRICS:
        row = report[name]
        assert not row.within("half speed") and row.models["half speed"] > 3 * row.yardstick, name
    k_true, n = report.count("true")
    k_slow, _ = report.count("half speed")
    assert n == 13 and k_slow < k_true


def test_markdown_renders_every_metric_and_the_count(constructed):
    *_, report = constructed
    text = report.to_markdown()
    for row in report.rows:
        line = next(line for line in text.splitlines() if line.startswith(f"| {row.label} |"))
        assert f"{row.yardstick:.3f}" in line and line.count("|") == 6
    k, n = report.count("true")
    k_slow, _ = report.count("half speed")
    assert f"| within the yardstick | | **{k} of {n}** | **{k_slow} of {n}** | |" in text
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["within_yardstick"]["true"] == {"k": k, "n": n}
    assert payload["distances"]["speed"]["within"]["half speed"] is False


def test_bad_arguments_are_refused(constructed):
    train, heldout, models, _ = constructed
    with pytest.raises(ValueError, match="no simulated models"):
        behaviour_report({}, train, heldout)
    with pytest.raises(ValueError, match="named like the yardstick"):
        behaviour_report({"animal: train vs held-out": train}, train, heldout)


def test_fit_stores_the_report_in_the_fitted_arena(tmp_path):
    """``fit`` reports every metric against its held-out part; a recording without an arena is measured in
    the arena it was fitted in (``arena=``)."""
    rec = _random_motion(240.0, seed=3)
    bare = rec.assign_attrs(arena_shape="unknown")
    assert arena_of(bare) is None
    config = FitConfig(
        model="ou", selection_runs=2, transfer_arenas=(), smoothing=0.0
    )  # the model as simulated
    fit_recording(bare, config, arena=BOX, out=tmp_path / "run", say=lambda m: None)
    scores = json.loads((tmp_path / "run" / "model.json").read_text())["scores"]
    report = scores["behaviour_vs_heldout"]
    assert list(report["distances"]) == [name for name, m in METRICS.items() if not m.per_trial][:13]
    assert report["within_yardstick"]["baseline"]["n"] == 13
    # The data are the baseline's own model: it is within a small multiple of the yardstick everywhere.
    for name, row in report["distances"].items():
        assert row["models"]["baseline"] <= 3 * row["yardstick"], name
    quiet = fit_recording(
        bare, dataclasses.replace(config, report_metrics=False), arena=BOX, say=lambda m: None
    )
    assert "behaviour_vs_heldout" not in quiet.scores
