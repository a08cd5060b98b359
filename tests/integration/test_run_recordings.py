"""One way from a run to a Recording: `evaluate` and `simulate` accept a PPO-trained run and a fitted run
alike, and write the same variables for the same environment (neuroethology.simulation is the one writer)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import tiny_train

import neuroethology.envs as ne
from neuroethology import data
from neuroethology.cli import main
from neuroethology.config import config_from_dict
from neuroethology.fitting import FitConfig, fit_recording
from neuroethology.training import TrainConfig
from neuroethology.training.run import train_run

# OpenField, a GRU of 16 units either way: trained by PPO (two seeds), or fitted to a simulated animal.
TRAIN = tiny_train(total_steps=256, agent={"core": {"hidden_size": 16}}, ppo={"update_epochs": 1})
FIT = dict(
    total_steps=50,
    num_seeds=1,
    hidden_size=16,
    window=32,
    burn_in=4,
    batch_size=8,
    select="likelihood",
    transfer_arenas=(),
    report_metrics=False,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert train_run(config_from_dict(TrainConfig, TRAIN), root / "ppo", progress=False).status == "completed"
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=1e4)
    roll = ne.rollout(env, ne.policies.RandomMotion(), jax.random.key(0), p, num_steps=3000)
    rec = data.from_arrays(
        np.asarray(roll.states.position, float)[:, :, None, None],
        fps=50.0,
        arena={"shape": "box", "width": 1.0, "height": 1.0},
    )
    fit_recording(rec, FitConfig(**FIT), out=root / "fitted", say=lambda m: None)
    return root


def _cli(*args):
    assert main(list(args)) == 0


def test_evaluate_and_simulate_accept_both_kinds_of_run(runs, tmp_path):
    _cli("evaluate", str(runs / "fitted"), "--episodes", "2", "--out", str(tmp_path / "fitted_eval.nc"))
    _cli(
        "simulate", str(runs / "ppo"), "--duration", "3", "--runs", "2", "--out", str(tmp_path / "ppo_sim.nc")
    )
    _cli("evaluate", str(runs / "ppo"), "--episodes", "2", "--out", str(tmp_path / "ppo_eval.nc"))
    _cli("simulate", str(runs / "fitted"), "--duration", "3", "--out", str(tmp_path / "fitted_sim.nc"))
    recs = {
        name: data.load(tmp_path / f"{name}.nc")
        for name in ("fitted_eval", "ppo_sim", "ppo_eval", "fitted_sim")
    }
    variables = {name: set(rec.data_vars) for name, rec in recs.items()}
    assert len({frozenset(v) for v in variables.values()}) == 1, variables
    for name in (
        "position",
        "heading",
        "action",
        "reward",
        "episode",
        "segment",
        "hidden",
        "value",
        "log_prob",
    ):
        assert name in variables["ppo_sim"], name
    for rec in recs.values():
        data.validate(rec)
        assert rec.attrs["env_id"] == "neuroethology/OpenField-v0"
        assert list(rec["action"].coords["action_dim"].values) == ["acceleration", "angular_velocity"]
        assert rec.sizes["unit"] == 16 and rec["hidden"].attrs["source"] == "model"
    # Individuals: one per trained run for evaluate, one per animal for simulate.
    assert list(recs["ppo_eval"]["individual"].values) == ["seed0", "seed1"]
    assert list(recs["ppo_sim"]["individual"].values) == ["seed00", "seed01", "seed10", "seed11"]
    # 3 s at 50 Hz in one free-running session: OpenField's time limit is extended for either kind of run.
    assert recs["ppo_sim"].sizes["time"] == 150 and recs["ppo_sim"]["episode"].values.max() == 0
    assert recs["fitted_sim"]["episode"].values.max() == 0  # free exploration: one session
    # A fitted network has no critic: its value is NaN and the Recording says so; the PPO agent's is finite.
    assert (
        np.isnan(recs["fitted_eval"]["value"].values).all()
        and recs["fitted_eval"].attrs["missing_extras"] == "value"
    )
    assert np.isfinite(recs["ppo_eval"]["value"].values[recs["ppo_eval"]["episode"].values >= 0]).all()
    assert recs["ppo_eval"].attrs["run_kind"] == "ppo" and recs["fitted_sim"].attrs["run_kind"] == "fitted"


def test_simulate_in_another_arena_and_what_does_not_apply(runs, tmp_path, capsys):
    _cli("simulate", str(runs / "ppo"), "--duration", "1", "--arena", "r0.4", "--out", str(tmp_path / "c.nc"))
    rec = data.load(tmp_path / "c.nc")
    assert data.arena_of(rec) == {"shape": "circle", "radius": 0.4}
    centre = rec["position"].values - 0.4
    assert np.all(np.hypot(centre[:, 0], centre[:, 1]) <= 0.4 + 1e-5)
    assert (
        main(
            ["simulate", str(runs / "ppo"), "--duration", "1", "--baseline", "--out", str(tmp_path / "b.nc")]
        )
        == 2
    )
    assert "--baseline needs a fitted run" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                str(runs / "fitted"),
                "--episodes",
                "1",
                "--checkpoint",
                "3",
                "--out",
                str(tmp_path / "x.nc"),
            ]
        )
        == 2
    )
    assert "--checkpoint does not apply" in capsys.readouterr().err


def test_both_kinds_of_run_share_one_manifest_format(runs):
    import json

    from neuroethology.run_policies import run_kind

    for name, kind in (("ppo", "ppo"), ("fitted", "fitted")):
        manifest = json.loads((runs / name / "manifest.json").read_text())
        assert manifest["kind"] == kind and run_kind(runs / name) == kind
        for key in ("version", "git_commit", "jax", "devices", "seeds", "status", "created"):
            assert key in manifest, (name, key)
        assert (runs / name / "config.yaml").exists() and (runs / name / "metrics.jsonl").exists()
        assert (runs / name / "checkpoints").is_dir()


def test_bad_simulation_requests_are_refused_before_any_work(runs, tmp_path, capsys):
    cases = [
        (["--duration", "inf"], "--duration must be a positive number of seconds"),
        (["--duration", "1e9"], "GiB of memory"),
        (["--duration", "-1"], "--duration must be a positive number of seconds"),
        (["--duration", "1", "--runs", "0"], "--runs must be >= 1"),
    ]
    for extra, message in cases:
        assert main(["simulate", str(runs / "ppo"), *extra, "--out", str(tmp_path / "s.nc")]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (extra, err)
    folder = tmp_path / "existing.nc"
    folder.mkdir()
    assert main(["simulate", str(runs / "ppo"), "--duration", "1", "--out", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["evaluate", str(runs / "ppo"), "--episodes", "1", "--out", str(blocker / "x.nc")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert (
        main(["evaluate", str(runs / "ppo"), "--episodes", "100000000", "--out", str(tmp_path / "e.nc")]) == 2
    )
    assert "ask for fewer --episodes" in capsys.readouterr().err


def test_a_long_simulation_runs_in_chunks_with_progress_and_the_same_numbers(
    runs, tmp_path, monkeypatch, capsys
):
    """With chunks of a few steps (CHUNK_BYTES lowered), `simulate` and `evaluate` stream the rollout to the
    host chunk by chunk, log progress and the time left, and write the Recording one device call writes."""
    from neuroethology import simulation

    commands = {
        "ppo_sim": ["simulate", str(runs / "ppo"), "--duration", "6", "--runs", "2"],
        "fitted_sim": ["simulate", str(runs / "fitted"), "--duration", "6", "--runs", "2"],
        "ppo_eval": ["evaluate", str(runs / "ppo"), "--episodes", "3"],
    }
    for name, command in commands.items():
        _cli(*command, "--out", str(tmp_path / f"{name}_whole.nc"))
    env, params = ne.make("neuroethology/OpenField-v0")
    monkeypatch.setattr(simulation, "CHUNK_BYTES", 20 * simulation._bytes_per_step(env, params))
    monkeypatch.setattr(simulation, "PROGRESS_EVERY", 0.0)  # a line after every chunk
    capsys.readouterr()
    for name, command in commands.items():
        _cli(*command, "--out", str(tmp_path / f"{name}_chunked.nc"))
        out = capsys.readouterr().out
        assert "in chunks of" in out and "steps (" in out, out
        assert "left" in out or name == "ppo_eval", out  # the time left needs two chunks (the first compiles)
        whole, chunked = data.load(tmp_path / f"{name}_whole.nc"), data.load(tmp_path / f"{name}_chunked.nc")
        assert set(whole.data_vars) == set(chunked.data_vars)
        for variable in whole.data_vars:
            np.testing.assert_array_equal(whole[variable].values, chunked[variable].values, err_msg=name)


def test_simulations_of_nearby_lengths_share_a_chunk_and_waste_at_most_a_quarter():
    from neuroethology.simulation import _chunk_steps

    for steps in [*range(1, 300), 1200, 6000, 16385, 30_000, 90_000]:
        chunk = _chunk_steps(steps, 10**9)
        assert steps <= chunk <= 1.25 * steps and chunk >> max(0, chunk.bit_length() - 3) < 8
    assert _chunk_steps(1150, 10**9) == _chunk_steps(1200, 10**9) == 1280  # one compilation for both
    for most in (1, 7, 9, 1000, 20_000):  # in a chunked run the chunk fits in the budget
        assert most * 0.75 < _chunk_steps(10**6, most) <= most


@pytest.mark.parametrize("kind", ["fitted", "ppo"])
def test_neurons_measures_an_agents_units_and_finds_its_fixed_points(runs, tmp_path, kind):
    """`neuroethology neurons RUN` simulates the agent, types its 16 GRU units as a lab types neurons
    (units.csv's contract columns), and finds its core's fixed points under its mean input."""
    import json

    import pandas as pd

    out = tmp_path / kind
    figures = [] if kind == "fitted" else ["--no-figures"]
    _cli("neurons", str(runs / kind), "--duration", "120", "--shuffles", "9", *figures, "--out", str(out))
    table = pd.read_csv(out / "units.csv")
    assert list(table.columns[:7]) == [
        "unit", "type", "grid_score", "spatial_information", "border_score", "hd_mvl", "speed_score",
    ]  # fmt: skip
    assert len(table) == 16 and set(table["type"]) <= {
        "place",
        "grid",
        "border",
        "head_direction",
        "speed",
        "none",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_units"] == 16 and sum(summary["types"].values()) == 16
    assert summary["fixed_points"]["n_points"] >= 1
    assert 1 <= summary["population"]["participation_ratio"] <= 16
    if kind == "fitted":
        for name in (
            "rate_maps",
            "autocorrelograms",
            "head_direction",
            "cell_types",
            "population",
            "fixed_points",
        ):
            assert (out / f"{name}.png").exists(), name
