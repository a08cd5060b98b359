"""The gallery's cued T-maze figure in fast mode (paper_figures/t_maze.py): 409,600 PPO steps on TMaze-v0, the
agent at every checkpoint evaluated on fresh blocks, and the final agent's GRU units decoded over the delay. Its
JSON holds every plotted number and its claims: the agent learns (>= 0.9 correct, sampling) and the choice is
decodable above the shuffled null's 95th percentile at every 0.1 s step of the delay."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuroethology import gallery


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    manifest = gallery.make_figure("t_maze", mode="fast", out=out, log=lambda _: None)
    return json.loads((out / "t_maze" / "t_maze.json").read_text()), manifest


@pytest.mark.slow
def test_the_agent_learns_the_cued_choice(figure):
    data, manifest = figure
    assert data["claims"]["learns"] is True
    curve = data["numbers"]["learning_curve"]
    sampled = np.asarray(curve["accuracy_sampled"], float)
    assert sampled[-1] >= data["numbers"]["learns_threshold"] == 0.9
    assert abs(sampled[0] - 0.5) < 0.1  # the untrained agent guesses
    assert curve["env_steps"][0] == 0 and curve["env_steps"][-1] == 409600
    assert np.all(np.diff(curve["env_steps"]) > 0) and len(curve["env_steps"]) == 11  # update 0 + 10 chunks
    assert np.all((sampled >= 0) & (sampled <= 1))
    assert len(curve["training_accuracy"]) == len(curve["env_steps"]) - 1
    assert [r["label"] for r in manifest["runs"]] == ["ppo"]


@pytest.mark.slow
def test_the_choice_is_decodable_above_the_shuffled_null_through_the_delay(figure):
    data, _ = figure
    assert data["claims"]["choice_decodable_over_delay"] is True
    neural = data["numbers"]["neural"]
    delay = np.asarray(neural["in_delay"], bool)
    assert delay.shape == (30,) and delay.sum() == 20  # 1 s cue, 2 s delay in 0.1 s steps
    for name in ("choice", "cue"):
        dec = neural["decoding"][name]
        acc, p5, p95 = (np.asarray(dec[k], float) for k in ("accuracy", "null_p5", "null_p95"))
        assert np.all(acc[delay] > p95[delay]), name
        assert np.all((p5 <= p95) & (np.abs(p95 - 0.5) < 0.1)), name  # the null sits at chance
    assert data["numbers"]["min_choice_accuracy_in_delay"] > 0.8


@pytest.mark.slow
def test_the_sequence_plot_shows_every_unit_on_both_choices(figure):
    data, _ = figure
    neural = data["numbers"]["neural"]
    seq = neural["sequences"]
    activity = np.asarray(seq["activity"], float)
    assert activity.shape == (2, 64, 30)
    assert np.nanmin(activity) >= 0 and np.nanmax(activity) <= 1
    assert sorted(seq["order"]) == list(range(64))
    assert np.all(np.diff(seq["preferred"]) >= 0)  # grouped by preferred choice
    assert (
        neural["left_choice_trials"] + neural["right_choice_trials"] + neural["omissions"] == neural["trials"]
    )
    assert neural["trials"] == 1280 and seq["trials_sorted_on"] + seq["trials_shown"] <= neural["trials"]
