"""Several animals, one model (fitting.population): animals named and kept apart, identities appended, bad
mixes refused, and recovery: animals simulated with known, different speeds are told apart by their twins
(and not by one pooled model)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pandas as pd
import pytest
from helpers import RAT_LIKE_MOTION, random_motion_positions

import neuroethology.envs as ne
from neuroethology.cli import main
from neuroethology.data import from_arrays, load, save
from neuroethology.fitting import FitConfig, load_fitted
from neuroethology.fitting.population import (
    _concatenate,
    _with_identity,
    animals_of,
    fit_animals,
)
from neuroethology.fitting.reconstruct import demonstration, open_field_params_for
from neuroethology.fitting.targets import identity_space

BOX = {"shape": "box", "width": 1.0, "height": 1.0}
SPEEDS = (0.05, 0.10, 0.20)  # m/s, RandomMotion's speed_mean of the three simulated animals


def _animal(speed_mean: float, seconds: float, seed: int, *, name: str = "rat", source: str = ""):
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    motion = dict(RAT_LIKE_MOTION, speed_mean=speed_mean)
    policy = ne.policies.RandomMotion(ne.policies.RandomMotionParams(**motion))
    xy = random_motion_positions(env, policy, jax.random.key(seed), p, int(seconds / float(p.dt)))[:, None]
    rec = from_arrays(
        np.moveaxis(xy, 1, -1)[:, :, None, :], fps=1 / float(p.dt), arena=BOX, individual_names=[name]
    )
    if source:
        rec.attrs["source_file"] = source
    return rec


def test_animals_are_named_by_their_file_where_individual_names_repeat():
    a = _animal(0.1, 4, 0, source="/data/day1.nc")
    b = _animal(0.1, 4, 1, source="/data/day2.nc")
    assert [n for n, _ in animals_of([a, b])] == ["day1.nc:rat", "day2.nc:rat"]
    c = _animal(0.1, 4, 2, name="mouse")
    assert [n for n, _ in animals_of([a, c])] == ["rat", "mouse"]
    assert all(one.sizes["individual"] == 1 for _, one in animals_of([a, b]))


def test_each_animal_s_rows_carry_its_one_hot_identity_and_start_a_new_episode():
    recs = [_animal(0.1, 6, 0), _animal(0.2, 6, 1, name="b")]
    params = open_field_params_for(recs[0])
    demos = [demonstration(r, params, 1e-4) for r in recs]
    eye = np.eye(2, dtype=np.float32)
    rows = _concatenate([_with_identity(d, eye[i]) for i, d in enumerate(demos)])
    n0 = demos[0].num_steps
    assert rows.num_steps == n0 + demos[1].num_steps
    assert rows.episode_start[0] and rows.episode_start[n0]
    np.testing.assert_array_equal(rows.observations[:n0, -2:], np.tile(eye[0], (n0, 1)))
    np.testing.assert_array_equal(rows.observations[n0:, -2:], np.tile(eye[1], (rows.num_steps - n0, 1)))
    np.testing.assert_array_equal(rows.observations[:n0, :-2], demos[0].observations)
    space = identity_space(ne.OpenField().observation_space(params), 2)
    assert space.shape[0] == demos[0].observations.shape[1] + 2 and space.contains(rows.observations[0])


def test_animals_at_other_frame_rates_or_one_animal_are_refused_with_the_option_to_use():
    fast = _animal(0.1, 10, 0)
    slow = fast.isel(time=slice(None, None, 2))
    slow.attrs["fps"] = fast.attrs["fps"] / 2
    slow = slow.assign_coords(individual=["other"])
    with pytest.raises(ValueError, match=r"dt=SECONDS"):
        fit_animals([fast, slow], FitConfig(num_seeds=1))
    with pytest.raises(ValueError, match="1 animal"):
        fit_animals([fast], FitConfig(num_seeds=1))
    with pytest.raises(ValueError, match="ray_range"):
        fit_animals(
            [fast, _animal(0.1, 10, 1, name="b")],
            FitConfig(num_seeds=1, ray_range=0.0),
            arenas=[BOX, {"shape": "box", "width": 2.0, "height": 2.0}],
        )


@pytest.fixture(scope="module")
def three_animals():
    """Three simulated animals whose speeds differ by a factor of four (RandomMotion speed_mean SPEEDS)."""
    return [_animal(s, 150, i, name=f"animal{i}") for i, s in enumerate(SPEEDS)]


# (the per-animal report and transfer check have their own test below)
SETTINGS = {"total_steps": 300, "num_seeds": 1, "hidden_size": 32, "selection_runs": 2, "smoothing": 0.0,
            "report_metrics": False}  # fmt: skip


@pytest.mark.slow
def test_twins_recover_each_animal_s_speed_where_one_pooled_model_cannot(three_animals, tmp_path, capsys):
    """Parameter recovery of the between-animal variability: the embedding's twins (fitted by the command
    line, from one file per animal) run in the animals' order of speed with about their spread; the pooled
    model's (the same network without identities) do not differ. Held out, the identities also raise the
    likelihood. Each twin simulates by name."""
    files = []
    for rec in three_animals:
        files += ["--data", str(save(rec, tmp_path / f"{rec['individual'].values[0]}.nc"))]
    run = tmp_path / "run"
    overrides = [f"{k}={v}" for k, v in SETTINGS.items()] + ["transfer_arenas=[]"]
    assert main(["fit", *files, "--out", str(run), "--no-progress", *overrides]) == 0
    assert "one network of 3 animals" in capsys.readouterr().out
    emb = json.loads((run / "model.json").read_text())["scores"]
    pooled = fit_animals(
        three_animals, FitConfig(**SETTINGS, transfer_arenas=(), animal_identity="pooled"), say=lambda m: None
    ).scores
    s = emb["between_animals"]["spread"]["speed_median"]
    rows = emb["between_animals"]["per_animal"]
    animal = [rows[f"animal{i}"]["animal"]["speed_median"] for i in range(3)]
    twin = [rows[f"animal{i}"]["model"]["speed_median"] for i in range(3)]
    assert animal == sorted(animal) and twin == sorted(twin)  # the twins' order is the animals'
    assert s["correlation"] > 0.9 and 0.5 < s["model_sd"] / s["animals_sd"] < 2.0
    p = pooled["between_animals"]["spread"]["speed_median"]
    assert p["model_sd"] < 0.35 * p["animals_sd"]  # one model of the average animal: no spread
    bits = lambda scores: scores["heldout"]["pooled_bits_per_step_over_null"]["network"]  # noqa: E731
    assert bits(emb) > bits(pooled)
    # the run directory holds every twin; each loads and simulates as a fitted model
    info = json.loads((run / "model.json").read_text())
    assert [a["name"] for a in info["animals"]] == ["animal0", "animal1", "animal2"]
    twin2 = load_fitted(run, animal="animal2")
    np.testing.assert_array_equal(twin2.identity, np.eye(3, dtype=np.float32)[2])
    with pytest.raises(ValueError, match="animal="):
        load_fitted(run)
    out = tmp_path / "sim.nc"
    assert main(["simulate", str(run), "--duration", "5", "--animal", "animal1", "--out", str(out)]) == 0
    every = tmp_path / "every.nc"  # without --animal: every twin (they share an arena here)
    assert main(["simulate", str(run), "--duration", "5", "--out", str(every)]) == 0
    assert load(every)["individual"].values.tolist() == ["animal00", "animal10", "animal20"]
    capsys.readouterr()
    assert (
        main(["simulate", str(run), "--duration", "5", "--animal", "nobody", "--out", str(tmp_path / "x.nc")])
        == 2
    )
    assert "--animal" in capsys.readouterr().err


def test_each_twin_gets_the_one_animal_report_and_transfer_check(tmp_path):
    """``report_metrics`` and ``transfer_arenas`` apply to several animals as to one: every ``compare`` metric of
    each twin against its own animal's held-out part (with that animal's yardstick), and each twin let loose in
    an arena it never saw next to its animal; both stored in model.json per animal."""
    recs = [_animal(0.06, 150, 0, name="slow"), _animal(0.15, 150, 1, name="fast")]
    wide = {"shape": "box", "width": 2.0, "height": 1.5}
    config = FitConfig(
        total_steps=50, num_seeds=1, hidden_size=8, window=32, batch_size=4, selection_runs=2, smoothing=0.0,
        transfer_arenas=(wide,), transfer_duration=20.0,
    )  # fmt: skip
    lines = []
    result = fit_animals(recs, config, out=tmp_path / "run", say=lines.append)
    scores = json.loads((tmp_path / "run" / "model.json").read_text())["scores"]
    assert set(scores["behaviour_vs_heldout"]) == set(scores["transfer"]) == {"slow", "fast"}
    for name in ("slow", "fast"):
        report = scores["behaviour_vs_heldout"][name]
        assert len(report["distances"]) == 13 and report["within_yardstick"]["GRU"]["n"] == 13
        assert all(row["yardstick"] >= 0 for row in report["distances"].values())
        arenas = scores["transfer"][name]["arenas"]
        assert [a["arena"] for a in arenas] == ["own arena", "2 x 1.5 m box"]
    # each twin is measured against its own animal: the slow animal's yardstick is not the fast one's
    slow, fast = (scores["transfer"][n]["animal"]["speed_median"] for n in ("slow", "fast"))
    assert slow < fast
    assert result.scores["behaviour_vs_heldout"].keys() == {"slow", "fast"}
    assert any(line == "animal fast:" for line in lines)


def test_evaluate_and_neurons_pick_one_twin_with_animal(tmp_path, capsys):
    """``evaluate`` and ``neurons`` on a network fitted to several animals take ``--animal NAME``; ``neurons``
    needs it (the units are one network's, read with different identities) and says so."""
    recs = [_animal(0.06, 40, 0, name="slow"), _animal(0.15, 40, 1, name="fast")]
    config = FitConfig(
        total_steps=20, num_seeds=1, hidden_size=8, window=32, batch_size=4, selection_runs=1,
        smoothing=0.0, transfer_arenas=(), report_metrics=False,
    )  # fmt: skip
    run = tmp_path / "run"
    fit_animals(recs, config, out=run, say=lambda m: None)
    out = tmp_path / "episodes.nc"
    assert main(["evaluate", str(run), "--episodes", "1", "--animal", "fast", "--out", str(out)]) == 0
    assert load(out).attrs["animal"] == "fast"
    neurons = ["neurons", str(run), "--duration", "60", "--shuffles", "3", "--no-figures"]
    capsys.readouterr()
    assert main([*neurons, "--out", str(tmp_path / "n0")]) == 2
    assert "--animal (slow, fast)" in capsys.readouterr().err
    assert main([*neurons, "--animal", "slow", "--out", str(tmp_path / "n1")]) == 0
    assert len(pd.read_csv(tmp_path / "n1" / "units.csv")) == 8
    capsys.readouterr()  # a file (the twin's episodes, with its hidden units) has no twins to pick
    assert main(["neurons", str(out), "--animal", "slow", "--out", str(tmp_path / "n2")]) == 2
    assert "run directory" in capsys.readouterr().err
    # train's animal prior (a config key, not a flag) picks a twin the same way
    from neuroethology.config import config_from_dict
    from neuroethology.priors import load_animal_prior
    from neuroethology.training import TrainConfig

    def prior(**animal):
        return config_from_dict(TrainConfig, {"prior": {"run": str(run), "weight": 1.0, **animal}})

    with pytest.raises(ValueError, match="a model of 2 animals; pass prior.animal= one of slow, fast"):
        load_animal_prior(prior())
    with pytest.raises(ValueError, match="no animal 'nobody'; pass prior.animal= one of slow, fast"):
        load_animal_prior(prior(animal="nobody"))
    assert np.asarray(load_animal_prior(prior(animal="fast")).identity).tolist() == [0.0, 1.0]
