"""User errors on the command line get one line naming the file or the option, never a traceback, and leave
nothing behind that blocks the corrected rerun (issue 15's cases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import tiny_train

from neuroethology.cli import main
from neuroethology.config import config_from_dict, parse_yaml
from neuroethology.training import TrainConfig, load_train_config
from neuroethology.training.run import train_run

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _error(capsys, *argv) -> str:
    assert main(list(argv)) == 2, argv
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("neuroethology "), err
    return err


def test_numbers_in_configs_are_read_as_people_write_them(tmp_path):
    assert parse_yaml("1e3") == 1000.0 and parse_yaml("1.0e38") == 1e38 and parse_yaml("-2.5E-3") == -0.0025
    assert parse_yaml("abc") == "abc" and parse_yaml("3") == 3
    config = load_train_config(
        CONFIGS / "open_field.yaml", ["env.params.episode_duration=1e3", "ppo.learning_rate=3e-4"]
    )
    assert config.env.params["episode_duration"] == 1000.0 and config.ppo.learning_rate == 3e-4


def test_bad_config_files_are_named(tmp_path, capsys):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    assert "binary.yaml: not a YAML text file" in _error(
        capsys, "train", str(binary), "--out", str(tmp_path / "r1")
    )
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert "empty.yaml is empty" in _error(capsys, "train", str(empty), "--out", str(tmp_path / "r2"))
    err = _error(
        capsys, "train", str(CONFIGS / "open_field.yaml"), "total_steps=100", "--out", str(tmp_path / "r3")
    )
    assert "'total_steps' (100) is less than one update" in err
    err = _error(
        capsys, "train", str(CONFIGS / "open_field.yaml"), "--max-chunks", "-1", "--out", str(tmp_path / "r4")
    )
    assert "--max-chunks must be >= 1" in err
    for name in ("r1", "r2", "r3", "r4"):
        assert not (tmp_path / name).exists(), name


def test_a_failed_start_leaves_nothing_that_blocks_the_rerun(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match="run.devices=4"):
        train_run(config_from_dict(TrainConfig, tiny_train(run={"devices": 4})), run_dir, progress=False)
    assert not (run_dir / "config.yaml").exists()


def test_a_torn_last_metrics_line_is_dropped_on_resume_and_a_torn_middle_line_named(tmp_path):
    run_dir = tmp_path / "run"
    config = config_from_dict(TrainConfig, tiny_train(num_seeds=1, total_steps=256))
    assert train_run(config, run_dir, progress=False, max_chunks=1).status == "paused"
    metrics = run_dir / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(lines) + '\n{"update": 3, "env_st')  # a crash while a line was written
    assert train_run(None, run_dir, resume=True, progress=False, log=lambda m: None).status == "completed"
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["update"] for r in rows] == [1, 2, 3, 4]
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([lines[0], "{torn", *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match="metrics.jsonl: line 2 is not valid JSON"):
        train_run(None, run_dir, resume=True, progress=False, log=lambda m: None)


def test_runs_of_the_other_kind_and_torn_model_files_are_named(tmp_path, capsys):
    fitted = tmp_path / "fitted"
    fitted.mkdir()
    (fitted / "model.json").write_text('{"kind": "gru", "env": "neuroethology/OpenField-v0", "env_par')
    (fitted / "config.yaml").write_text("model: gru\n")
    err = _error(capsys, "train", "--resume", "--out", str(fitted))
    assert "is a fitted run" in err
    err = _error(capsys, "simulate", str(fitted), "--duration", "1", "--out", str(tmp_path / "s.nc"))
    assert "model.json is not valid JSON" in err and "fit again" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", str(CONFIGS / "open_field.yaml")],
        ["fit", "--data", "sargolini"],
        ["compare", "sargolini", "sargolini", "--labels", "a", "b"],
        ["demo"],
    ],
)
def test_every_command_checks_its_out_folder_before_any_work(tmp_path, capsys, argv):
    taken = tmp_path / "taken.txt"
    taken.write_text("a file where the output folder should go")
    err = _error(capsys, *argv, "--out", str(taken))
    assert f"--out {taken} is a file; give a folder" in err
    assert taken.read_text().startswith("a file")
