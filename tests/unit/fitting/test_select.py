"""``neuroethology select`` (fitting.select): candidates swept, ranked by cross-validated likelihood and by closed-loop
behaviour, and parameter recovery: data simulated from a known model class is ranked first."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from helpers import RAT_LIKE_MOTION

import neuroethology.envs as ne
from neuroethology.cli import main
from neuroethology.data import from_arrays, save
from neuroethology.fitting import FitConfig
from neuroethology.fitting.select import candidate_label, select_models, sweep_candidates

BOX = {"shape": "box", "width": 1.0, "height": 1.0}


def test_the_sweep_is_every_combination_and_ou_once_per_key_it_reads():
    got = sweep_candidates({"model": ["gru", "rnn", "ou"], "hidden_size": [16, 32], "smoothing": [0.0, 0.02]})
    assert len(got) == 2 * 2 * 2 + 2  # networks: model x size x smoothing; ou: smoothing only
    assert {"model": "ou", "smoothing": 0.02} in got and all(
        "hidden_size" not in c for c in got if c["model"] == "ou"
    )
    assert (
        candidate_label({"model": "gru", "hidden_size": 16, "smoothing": 0.0})
        == "gru-hidden_size16-smoothing0.0"
    )


@pytest.fixture(scope="module")
def random_motion_rat():
    """6 minutes of RatInABox's random-motion model (rat-like parameters) in a 1 x 1 m box: the ou model's data."""
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    policy = ne.policies.RandomMotion(ne.policies.RandomMotionParams(**RAT_LIKE_MOTION))
    result = ne.rollout(env, policy, jax.random.key(0), p, num_steps=int(360 / float(p.dt)))
    xy = np.asarray(result.states.position, float)[:, None]
    return from_arrays(np.moveaxis(xy, 1, -1)[:, :, None, :], fps=1 / float(p.dt), arena=BOX)


@pytest.mark.slow
def test_data_from_the_random_motion_model_rank_it_first(random_motion_rat, tmp_path):
    base = FitConfig(total_steps=100, num_seeds=1, hidden_size=16, selection_runs=2, smoothing=0.0)
    candidates = sweep_candidates({"model": ["gru", "ou"]})
    table = select_models(random_motion_rat, candidates, out=tmp_path, base=base, folds=2, say=lambda m: None)
    assert table["candidate"].iloc[0] == "ou"  # the true model class, first on both rankings
    ou = table.set_index("candidate").loc["ou"]
    assert ou["rank_likelihood"] == 1 and ou["rank_closed_loop"] == 1 and ou["cv_bits_per_step"] > 0
    assert ou["folds"] == 2 and ou["metrics"] == 13
    assert table.loc[table["chosen"], "candidate"].tolist() == [
        "gru"
    ]  # the chosen network: the only one here
    assert (tmp_path / "chosen" / "model.json").exists()
    for name in ("selection.csv", "selection.md", "selection.json", "selection.png", "selection.pdf"):
        assert (tmp_path / name).stat().st_size > 0
    rows = json.loads((tmp_path / "selection.json").read_text())["rows"]
    assert [r["candidate"] for r in rows] == table["candidate"].tolist()
    # Run again: both candidates are reused (same numbers, no fitting).
    log = []
    again = select_models(random_motion_rat, candidates, out=tmp_path, base=base, folds=2, say=log.append)
    assert sum("reusing the finished fit" in line for line in log) == 2
    np.testing.assert_allclose(again["cv_bits_per_step"], table["cv_bits_per_step"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--folds", "1"], "--folds must be at least 2"),
        (["--vary", "turn_scale"], "--vary expects KEY=V1,V2"),
        (["--vary", "hidden_size=8,16"], "use --hidden-sizes"),
        (["--vary", "turn_scale=fast"], "turn_scale"),
    ],
)
def test_bad_sweeps_are_refused_by_their_flags(random_motion_rat, tmp_path, capsys, extra, message):
    data = tmp_path / "rat.nc"
    save(random_motion_rat.isel(time=slice(0, 200)), data)
    assert main(["select", "--data", str(data), "--out", str(tmp_path / "sel"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and not (tmp_path / "sel" / "runs").exists()
