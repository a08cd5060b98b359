"""The run loop: run directory contents, exact resume, crash-safe checkpoints, stop on NaN, sweeps.

All tests train the same tiny configuration, so the compiled chunk of updates is shared (the run loop keeps
compiled functions per configuration).
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_train

from neuroethology.config import config_from_dict
from neuroethology.training import TrainConfig
from neuroethology.training import run as run_module
from neuroethology.training.run import load_run, train_run

TINY = tiny_train()


def tiny(**sections) -> TrainConfig:
    data = json.loads(json.dumps(TINY))
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return config_from_dict(TrainConfig, data)


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def metric_rows(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("wall_time_s")
    return rows


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "uninterrupted"
    result = train_run(tiny(), run_dir, progress=False)
    return run_dir, result


def test_a_run_directory_holds_config_manifest_metrics_and_checkpoints(uninterrupted):
    run_dir, result = uninterrupted
    assert result.status == "completed" and result.updates == 6
    saved = run_module.load_run_config(run_dir)
    assert saved.ppo == tiny().ppo and saved.agent == tiny().agent
    assert saved.env.params["reward_type"] == "coverage" and "max_speed" in saved.env.params  # resolved
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["updates_done"] == 6
    assert manifest["seeds"] == [0, 1] and manifest["devices"] == [str(jax.devices()[0])]
    assert manifest["version"] and manifest["wall_time_s"] > 0 and manifest["env_steps_done"] == 6 * 64
    rows = metric_rows(run_dir)
    assert [(r["update"], r["run"]) for r in rows] == [(u, r) for u in range(1, 7) for r in (0, 1)]
    assert rows[-1]["env_steps"] == 384 and rows[-1]["seed"] == 1 and rows[-1]["finite"] is True
    # 20-step episodes end at steps 20, 40, 60, 80 of the 16-step rollouts: in updates 2, 3, 4 and 5.
    ended = [r["update"] for r in rows if r["return_mean"] is not None and r["run"] == 0]
    assert ended == [2, 3, 4, 5]
    assert all(0 < r["return_mean"] <= 1 and r["episode_length_mean"] == 20 for r in rows if r["episodes"])
    # max_to_keep (3) newest checkpoints, one per chunk.
    assert sorted(int(p.name) for p in (run_dir / "checkpoints").iterdir()) == [2, 4, 6]


def test_resume_gives_exactly_the_uninterrupted_result(uninterrupted, tmp_path):
    run_dir, full = uninterrupted
    paused = train_run(tiny(), tmp_path / "run", progress=False, max_chunks=1)
    assert paused.status == "paused" and paused.updates == 2
    # A crash while writing a later checkpoint leaves only Orbax's temporary directory: never the newest.
    junk = tmp_path / "run" / "checkpoints" / "4.orbax-checkpoint-tmp-1234567"
    junk.mkdir()
    (junk / "half_written").write_bytes(b"\0" * 10)
    # Lines written after the checkpoint (by the crashed process) are dropped on resume.
    with (tmp_path / "run" / "metrics.jsonl").open("a") as fh:
        fh.write(json.dumps({"update": 3, "run": 0, "junk": True}) + "\n")
    resumed = train_run(None, tmp_path / "run", resume=True, progress=False)
    assert resumed.status == "completed" and resumed.updates == 6
    for a, b in zip(leaves(full.runner_state), leaves(resumed.runner_state), strict=True):
        np.testing.assert_array_equal(a, b)  # weights, optimiser, environments, keys: bit for bit
    assert metric_rows(tmp_path / "run") == metric_rows(run_dir)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [i["status"] for i in manifest["invocations"]] == ["paused", "completed"]
    assert manifest["invocations"][1]["resumed_from_update"] == 2


def test_a_run_is_never_overwritten_and_resumes_only_with_its_own_config(uninterrupted, tmp_path):
    run_dir, _ = uninterrupted
    with pytest.raises(FileExistsError, match="already holds a run"):
        train_run(tiny(), run_dir, progress=False)
    with pytest.raises(ValueError, match="different config: ppo.learning_rate"):
        train_run(tiny(ppo={"learning_rate": 0.01}), run_dir, resume=True, progress=False)
    with pytest.raises(FileNotFoundError, match="holds no run"):
        train_run(None, tmp_path / "nothing", resume=True, progress=False)


def test_load_run_restores_the_newest_or_a_chosen_checkpoint(uninterrupted):
    run_dir, full = uninterrupted
    loaded = load_run(run_dir)
    assert loaded.updates == 6 and loaded.labels == [{"seed": 0}, {"seed": 1}]
    for a, b in zip(leaves(loaded.runner_state.weights), leaves(full.runner_state.weights), strict=True):
        np.testing.assert_array_equal(a, b)
    assert load_run(run_dir, step=2).updates == 2
    with pytest.raises(ValueError, match="no checkpoint at update 3"):
        load_run(run_dir, step=3)


def _poison_from_call(monkeypatch, call: int, *, interrupt: bool = False):
    """Make the ``call``-th chunk start from weights with a NaN in run 1 (or raise KeyboardInterrupt)."""
    real = run_module._compiled_chunk
    count = {"n": 0}

    def patched(*args, **kwargs):
        chunk = real(*args, **kwargs)

        def run(state):
            count["n"] += 1
            if count["n"] >= call:
                if interrupt:
                    raise KeyboardInterrupt
                weights = jax.tree.map(lambda x: x.at[1].set(jnp.nan), state.weights)
                state = state._replace(weights=weights)
            return chunk(state)

        return run

    monkeypatch.setattr(run_module, "_compiled_chunk", patched)


def test_a_non_finite_run_stops_with_a_message_and_keeps_its_last_good_checkpoint(monkeypatch, tmp_path):
    _poison_from_call(monkeypatch, 2)
    result = train_run(tiny(), tmp_path / "run", progress=False)
    assert result.status == "nonfinite"
    assert "non-finite" in result.message and "update 3" in result.message and "run(s) [1]" in result.message
    assert "last good checkpoint is kept (update 2)" in result.message
    assert sorted(int(p.name) for p in (tmp_path / "run" / "checkpoints").iterdir()) == [2]
    loaded = load_run(tmp_path / "run")
    assert loaded.updates == 2 and all(np.isfinite(x).all() for x in leaves(loaded.runner_state.weights))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (
        manifest["status"] == "nonfinite"
        and manifest["updates_done"] == 2
        and "non-finite" in manifest["message"]
    )


def test_the_train_command_exits_nonzero_on_nan(monkeypatch, tmp_path, capsys):
    from neuroethology.cli import main
    from neuroethology.config import dump_config

    _poison_from_call(monkeypatch, 2)
    dump_config(tiny(), tmp_path / "tiny.yaml")
    code = main(["train", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "run"), "--no-progress"])
    assert code == 1
    assert "training stopped: the loss or the weights became non-finite" in capsys.readouterr().err


def test_an_interrupted_run_keeps_its_checkpoint_and_resumes(monkeypatch, uninterrupted, tmp_path):
    _poison_from_call(monkeypatch, 3, interrupt=True)
    with pytest.raises(KeyboardInterrupt):
        train_run(tiny(), tmp_path / "run", progress=False)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["updates_done"] == 4
    monkeypatch.undo()
    resumed = train_run(None, tmp_path / "run", resume=True, progress=False)
    for a, b in zip(
        leaves(uninterrupted[1].runner_state.weights), leaves(resumed.runner_state.weights), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_a_sweep_trains_one_hyperparameter_axis_side_by_side(tmp_path):
    config = tiny(num_seeds=1, sweep={"param": "learning_rate", "values": [0.0, 1e-3]})
    result = train_run(config, tmp_path / "run", progress=False)
    assert result.labels == [{"seed": 0, "learning_rate": 0.0}, {"seed": 0, "learning_rate": 1e-3}]
    init = jax.jit(jax.vmap(run_module.cached_ppo(config).init))(
        run_module.run_keys(config), run_module.run_hyperparams(config)
    )
    for trained, start in zip(leaves(result.runner_state.weights), leaves(init.weights), strict=True):
        np.testing.assert_array_equal(trained[0], start[0])  # learning rate 0: unchanged
    rows = metric_rows(tmp_path / "run")
    assert {r["learning_rate"] for r in rows if r["run"] == 0} == {0.0}
    assert dataclasses.replace(config, sweep=tiny().sweep).num_runs == 1 and config.num_runs == 2


def test_make_mesh_checks_the_environment_axis():
    with pytest.raises(ValueError, match="JAX sees only"):
        run_module.make_mesh(2, 4, devices=len(jax.devices()) + 1)
    mesh = run_module.make_mesh(2, 4, devices=1)
    assert dict(mesh.shape) == {"run": 1, "env": 1}


def test_a_run_that_diverges_with_finite_numbers_stops_and_keeps_its_last_good_checkpoint(tmp_path):
    # A learning rate of 10 blows this seed's policy up while every number stays finite for 7 updates (the
    # entropy goes 31 -> 72 nats from update 1 to 2, the loss and weights grow): the run must stop there
    # instead of running on to NaN or "completing" (issue 15), keeping the checkpoint of update 1.
    config = tiny(seed=1, num_seeds=1, total_steps=768, ppo={"learning_rate": 10.0}, run={"chunk_updates": 1})
    result = train_run(config, tmp_path / "run", progress=False)
    assert result.status == "diverged", result.message
    assert "diverged at update 2 (run 0)" in result.message and "run.max_entropy_change" in result.message
    assert "last good checkpoint is kept (update 1)" in result.message
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "diverged" and manifest["updates_done"] == 1
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(np.isfinite(r["weight_norm"]) and np.isfinite(r["loss"]) for r in rows)
    assert load_run(tmp_path / "run").updates == 1


def test_divergence_limits_are_checked_per_update_against_the_previous_entropy():
    from neuroethology.training.divergence import find_divergence

    metrics = {
        "loss": np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),
        "weight_norm": np.array([[10.0, 10.0, 10.0], [10.0, 10.0, 2e6]]),
        "entropy": np.array([[1.0, 0.9, 0.8], [1.0, 1.0, 1.0]]),
    }
    limits = {"max_loss": 1e8, "max_weight_norm": 1e6, "max_entropy_change": 5.0}
    found = find_divergence(metrics, 10, previous_entropy=None, **limits)
    assert found.update == 13 and found.run == 1 and "run.max_weight_norm" in found.what
    metrics["weight_norm"][1, 2] = 10.0
    assert find_divergence(metrics, 10, previous_entropy=np.array([1.0, 1.0]), **limits) is None
    found = find_divergence(metrics, 10, previous_entropy=np.array([7.0, 1.0]), **limits)
    assert found.update == 11 and found.run == 0 and "entropy moved" in found.what  # 7 -> 1 nats
    found = find_divergence(metrics, 10, previous_entropy=np.array([1.0, -4.5]), **limits)
    assert found.update == 11 and found.run == 1  # -4.5 -> 1 nats: up by 5.5
    metrics["loss"][0, 1] = -1e9
    found = find_divergence(metrics, 0, previous_entropy=np.array([1.0, 1.0]), **limits)
    assert found.update == 2 and "run.max_loss" in found.what
