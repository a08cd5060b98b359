"""The command line, end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neuroethology.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neuroethology.cli", *args], capture_output=True, text=True, timeout=600
    )


def test_help_lists_the_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("demo", "bench"):
        assert command in out.stdout


def test_demo_writes_its_figures(tmp_path):
    out = run_cli("demo", "--out", str(tmp_path / "demo"), "--duration", "30")
    assert out.returncode == 0, out.stderr
    for name in ("trajectory", "occupancy"):
        for suffix in ("pdf", "png"):
            path = tmp_path / "demo" / f"{name}.{suffix}"
            assert path.stat().st_size > 1000, f"{path} missing or empty"
            assert str(path) in out.stdout, "the demo must print where its figures are"


def test_bad_arguments_give_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--duration", "-5"]) == 2
    err = capsys.readouterr().err
    assert "--duration must be > 0" in err and "Traceback" not in err
    assert main(["bench", "--env", "NoSuchEnv-v0", "--no-ratinabox"]) == 2
    assert "unknown environment" in capsys.readouterr().err


def test_bench_prints_the_table():
    out = run_cli("bench", "--env", "OpenField-v0", "--batch", "1", "8", "--repeats", "2", "--steps", "2000",
                  "--no-ratinabox")
    assert out.returncode == 0, out.stderr
    assert "| neuroethology/OpenField-v0 | 8 |" in out.stdout
    assert "bare kernel" in out.stdout


@pytest.mark.slow
def test_console_script_is_installed():
    script = Path(sys.executable).parent / "neuroethology"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("neuroethology ")
