"""The gallery's fitted-rat figure in fast mode (paper_figures/fitted_rat.py): its JSON holds every plotted number
and its claims. Fast mode fits 100 updates of one GRU: the fitted baseline beats the null there already; the GRU
beating the null is the full mode's claim (1,500 updates x 4 seeds: +0.78 bits per step, README)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuroethology import gallery

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    manifest = gallery.make_figure("fitted_rat", mode="fast", out=out, log=lambda _: None)
    return json.loads((out / "fitted_rat" / "fitted_rat.json").read_text()), manifest


def test_the_fitted_baseline_predicts_the_held_out_rat_better_than_the_null(figure):
    data, _ = figure
    assert data["claims"]["baseline_at_or_above_null"] is True
    gains = {m: v["bits_per_step_over_null"] for m, v in data["numbers"]["heldout_log_likelihood"].items()}
    assert gains["null (Gaussian)"] == 0 and gains["baseline (fitted)"] > 0.1
    assert set(data["claims"]) == {"baseline_at_or_above_null"}  # the network's claim is full mode's


def test_every_compare_metric_has_a_distance_per_model_and_a_yardstick(figure):
    data, _ = figure
    rows = data["numbers"]["behaviour_vs_heldout"]["distances"]
    assert len(rows) == 13
    for row in rows.values():
        assert 0 <= row["yardstick"] <= 1
        assert set(row["models"]) == {"GRU (fitted)", "baseline (fitted)", "RatInABox default"}
        assert all(d is None or 0 <= d <= 1 for d in row["models"].values())
    counts = data["numbers"]["within_yardstick"]
    assert all(c["n"] == 13 and 0 <= c["k"] <= 13 for c in counts.values())


def test_the_histograms_are_densities_of_each_group(figure):
    data, manifest = figure
    for stat, h in data["numbers"]["histograms"].items():
        edges = np.asarray(h["edges"])
        for name in ("rat (held out)", "GRU (fitted)", "baseline (fitted)", "RatInABox default"):
            mass = float(np.sum(np.asarray(h[name]) * np.diff(edges)))
            assert mass == pytest.approx(1.0, abs=1e-6), (stat, name)
    assert manifest["mode"] == "fast" and [r["label"] for r in manifest["runs"]] == ["demo"]
