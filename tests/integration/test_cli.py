"""The command line, end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuroethology.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neuroethology.cli", *args], capture_output=True, text=True, timeout=600
    )


def test_help_lists_the_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("demo", "fit", "simulate", "train", "evaluate", "compare", "bench"):
        assert command in out.stdout


def test_demo_writes_its_figures_and_verdict(tmp_path):
    out = run_cli("demo", "--out", str(tmp_path / "demo"), "--updates", "100", "--seeds", "1", "--runs", "2")
    assert out.returncode == 0, out.stderr
    for name in ("trajectories", "distributions", "occupancy"):
        for suffix in ("pdf", "png"):
            path = tmp_path / "demo" / f"{name}.{suffix}"
            assert path.stat().st_size > 1000, f"{path} missing or empty"
            assert str(path) in out.stdout, "the demo must print where its figures are"
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert set(report["ks_vs_heldout"]) == {"GRU (fitted)", "baseline (fitted)", "RatInABox default"}
    verdict = out.stdout[out.stdout.index("verdict:") :].strip().splitlines()
    assert len(verdict) == 4, verdict  # the heading and three lines
    assert (tmp_path / "demo" / "fitted_gru" / "model.json").exists()


def test_fit_then_simulate(tmp_path, capsys):
    import jax

    import neuroethology.envs as ne

    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=1e4)
    result = ne.rollout(env, ne.policies.RandomMotion(), jax.random.key(0), p, num_steps=6000)
    data = tmp_path / "animal.npz"
    np.savez(data, t=np.arange(6000) * 0.02, pos=np.asarray(result.states.position))
    # npz files carry no arena: the command says so, and how to give one.
    assert main(["fit", "--data", str(data), "--model", "ou", "--out", str(tmp_path / "no_arena")]) == 2
    err = capsys.readouterr().err
    assert "no arena" in err and "--arena" in err and "Traceback" not in err
    out = run_cli(
        "fit",
        "--data",
        str(data),
        "--arena",
        "1x1",
        "--out",
        str(tmp_path / "gru"),
        "--no-progress",
        "total_steps=50",
        "num_seeds=1",
        "hidden_size=8",
        "window=32",
        "burn_in=4",
        "select=likelihood",
        "transfer_arenas=[]",
        "report_metrics=false",
    )
    assert out.returncode == 0, out.stderr
    assert "held-out log-likelihood" in out.stdout and "baseline" in out.stdout
    sim = tmp_path / "sim.nc"
    out = run_cli(
        "simulate",
        str(tmp_path / "gru"),
        "--duration",
        "5",
        "--runs",
        "2",
        "--arena",
        "r0.4",
        "--out",
        str(sim),
    )
    assert out.returncode == 0, out.stderr
    from neuroethology.data import arena_of, load

    rec = load(sim)
    assert rec.sizes["individual"] == 2 and arena_of(rec) == {"shape": "circle", "radius": 0.4}
    assert (
        main(["fit", "--data", str(data), "--arena", "1x1", "--out", str(tmp_path / "x"), "modle=gru"]) == 2
    )
    assert "did you mean 'model'" in capsys.readouterr().err


def test_bad_arguments_give_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--updates", "0"]) == 2
    err = capsys.readouterr().err
    assert "--updates must be >= 1" in err and "Traceback" not in err
    assert main(["bench", "--env", "NoSuchEnv-v0", "--no-ratinabox"]) == 2
    assert "unknown environment" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path), "--duration", "5", "--out", str(tmp_path / "s.nc")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert main(["fit", "--data", "x.npz", "--arena", "1by1", "--out", str(tmp_path / "r")]) == 2
    assert "--arena: expected" in capsys.readouterr().err


def test_bench_prints_the_table():
    out = run_cli(
        "bench",
        "--env",
        "OpenField-v0",
        "--batch",
        "1",
        "8",
        "--repeats",
        "2",
        "--steps",
        "2000",
        "--no-ratinabox",
        "--arena-segments",
        "4",
        "16",
    )
    assert out.returncode == 0, out.stderr
    assert "| neuroethology/OpenField-v0 | 8 |" in out.stdout
    assert "bare kernel" in out.stdout
    rows = [line for line in out.stdout.splitlines() if line.startswith(("| 4 |", "| 16 |"))]
    assert len(rows) == 2 and all(float(r.split("|")[4]) > 0 for r in rows)  # polygon / box, measured


@pytest.mark.slow
def test_console_script_is_installed():
    script = Path(sys.executable).parent / "neuroethology"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("neuroethology ")
