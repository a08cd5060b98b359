"""End to end: `neuroethology train` learns an easy task within a minute of CPU, and `neuroethology
evaluate` writes the trained agent's episodes as a valid Recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neuroethology.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

# OpenField coverage in 2.5 s episodes (125 steps, about one per 128-step rollout, so the first update
# reports the untrained agent): a random policy covers ~0.05 of the arena; running straight at full speed
# and turning before walls covers ~0.25. 20 updates of 16 envs x 128 steps (41k steps).
EASY = [
    "total_steps=40960",
    "env.params.episode_duration=2.5",
    "ppo.num_envs=16",
    "ppo.num_steps=128",
    "ppo.bptt_length=32",
    "agent.core.hidden_size=32",
    "run.chunk_updates=10",
    "run.checkpoint_every=1",
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("pipeline") / "open_field"
    code = main(["train", str(CONFIGS / "open_field.yaml"), *EASY, "--out", str(run_dir), "--no-progress"])
    assert code == 0
    return run_dir


def test_return_rises_clearly_on_an_easy_config(trained_run):
    rows = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    returns = [(r["update"], r["return_mean"]) for r in rows if r["return_mean"] is not None]
    assert returns[0][0] == 1  # episodes ended during the first rollout, before any learning
    first = returns[0][1]
    last = np.mean([ret for _, ret in returns[-3:]])
    assert first < 0.1, returns  # an untrained agent covers little
    assert last > 0.15 and last > 2 * first, returns
    manifest = json.loads((trained_run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["updates_done"] == 20


def test_evaluate_writes_the_rollouts_as_a_recording(trained_run, tmp_path, capsys):
    from neuroethology import data

    out = tmp_path / "agents.nc"
    assert main(["evaluate", str(trained_run), "--episodes", "3", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    rec = data.load(out)
    data.validate(rec)
    assert rec.sizes["time"] == 3 * 125 and rec.sizes["individual"] == 1
    assert rec.attrs["env_id"] == "neuroethology/OpenField-v0" and rec.attrs["fps"] == pytest.approx(50.0)
    assert data.arena_of(rec) == {"shape": "box", "width": 1.0, "height": 1.0}
    for name in ("heading", "action", "reward", "hidden", "episode", "segment", "speed", "value"):
        assert name in rec, name
    assert rec["hidden"].dims == ("time", "unit", "individual") and rec.sizes["unit"] == 32
    assert list(rec["action"].coords["action_dim"].values) == ["acceleration", "angular_velocity"]
    np.testing.assert_array_equal(np.unique(rec["episode"].values), [0, 1, 2])
    pos = rec["position"].values[:, :, 0, 0]
    assert np.all((pos >= 0) & (pos <= 1))
    # Rewards are coverage increments: each episode's return is the fraction of the 10 x 10 grid visited.
    reward, episode = rec["reward"].values[:, 0], rec["episode"].values[:, 0]
    for e in range(3):
        x, y = pos[episode == e].T
        cells = {(min(int(a * 10), 9), min(int(b * 10), 9)) for a, b in zip(x, y, strict=True)}
        # The start cell is visited before the first reward; the last step's new position is not in `pos`.
        assert reward[episode == e].sum() == pytest.approx((len(cells) - 1) / 100, abs=0.0101)
    assert reward.sum() / 3 > 0.15  # the trained agent explores


def test_evaluate_rejects_what_is_not_a_run(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--episodes", "2", "--out", str(tmp_path / "x.nc")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
