"""The gallery's path-integration figure in fast mode (paper_figures/path_integration.py): a ReLU RNN trained on
velocity sequences of the Sargolini rat and of simulated rats to output difference-of-Gaussians place-cell codes,
its decoding error on the held-out end of the real rat's session, and its units' rate maps and grid scores
against circular-shift shuffles. Fast mode asserts the path-integration claim only; whether grid-like units emerge
is a full-mode claim (``grid_like_units_found``), not asserted here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuroethology import gallery


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    manifest = gallery.make_figure("path_integration", mode="fast", out=out, log=lambda _: None)
    return json.loads((out / "path_integration" / "path_integration.json").read_text()), manifest


@pytest.mark.slow
def test_the_network_decodes_the_held_out_rat_far_better_than_guessing_the_centre(figure):
    data, manifest = figure
    assert data["claims"]["learns_path_integration"] is True
    assert set(data["claims"]) == {"learns_path_integration"}  # the grid claims are full mode's
    numbers = data["numbers"]
    rat = numbers["path_integration"]["rat_test"]
    assert rat["error_m"] < 0.5 * rat["centre_guess_m"]
    assert numbers["error_ratio_to_centre_guess"] == pytest.approx(rat["error_m"] / rat["centre_guess_m"])
    assert 0.2 < rat["centre_guess_m"] < 0.5  # a 1 x 1 m box: ~0.38 m from the centre on average
    steps = numbers["settings"]["seq_len"]
    for key in ("error_by_step_m", "centre_guess_by_step_m", "hold_start_by_step_m"):
        assert len(rat[key]) == steps and np.all(np.asarray(rat[key], float) >= 0)
    assert rat["n_sequences"] > 100
    assert [r["label"] for r in manifest["runs"]] == ["rnn"]


@pytest.mark.slow
def test_training_lowers_the_loss_and_the_held_out_error(figure):
    data, _ = figure
    training = data["numbers"]["training"]
    settings = data["numbers"]["settings"]
    loss = np.asarray(training["loss"], float)
    assert loss.shape == (settings["steps"],) and np.all(np.isfinite(loss))
    assert loss[-20:].mean() < loss[:20].mean()
    error = np.asarray(training["eval_error"], float)
    assert list(training["eval_step"]) == list(range(0, settings["steps"] + 1, settings["eval_every"]))
    assert error[-1] < error[0]


@pytest.mark.slow
def test_the_example_run_and_the_decoded_positions_stay_in_the_box(figure):
    data, _ = figure
    example = data["numbers"]["path_integration"]["example"]
    true, decoded = np.asarray(example["true_xy_m"], float), np.asarray(example["decoded_xy_m"], float)
    n = data["numbers"]["settings"]["example_steps"]
    assert true.shape == (n + 1, 2) and decoded.shape == (n, 2)
    assert np.all((decoded >= 0) & (decoded <= 1)) and np.all((true >= 0) & (true <= 1))
    assert np.allclose(np.linalg.norm(decoded - true[1:], axis=-1), example["error_m"], atol=1e-5)


@pytest.mark.slow
def test_every_unit_has_a_grid_score_test_and_the_shown_maps_are_the_best(figure):
    data, _ = figure
    grid = data["numbers"]["grid"]
    u = data["numbers"]["settings"]["hidden"]
    score = np.array([np.nan if s is None else s for s in grid["score"]], float)
    significant = np.asarray(grid["significant"], bool)
    assert grid["n_units"] == u and score.shape == significant.shape == (u,)
    assert np.all(np.isfinite(score[significant]))  # a significant unit has a score
    assert np.nanmin(score) >= -2 and np.nanmax(score) <= 2
    assert grid["fraction_significant"] == pytest.approx(significant.mean())
    shown = np.asarray(data["numbers"]["shown_units"], int)
    maps = np.array(data["numbers"]["shown_maps"], dtype=float)
    assert shown.shape == (25,) and maps.shape == (25, 20, 20)
    best = np.sort(np.nan_to_num(score, nan=-np.inf))[::-1][:25]
    assert np.allclose(np.nan_to_num(score[shown], nan=-np.inf), best)
    assert data["numbers"]["samples_for_maps"] > 1000
    for key in ("grid", "untrained_grid"):  # the trained network and its untrained control
        g = data["numbers"][key]
        assert 0 <= g["fraction_above_shuffles_p99"] <= g["fraction_significant"] <= 1, key
        assert g["n_scored_units"] + g["n_silent_units"] <= u, key
