"""Fault injection (issue 15): `neuroethology train` and `fit` killed with SIGKILL at random moments (some
inside a checkpoint write), torn and truncated files, and two writers on one run. Every case must end in a
run that resumes to exactly the result of an uninterrupted one, or in a one-line error that names the file
and what to do; never a traceback, never a silently wrong result.

The kill moments are drawn from a seeded generator and printed, so a failure can be replayed. Commands run
as separate processes (a kill must be a real one) sharing a persistent JAX compilation cache, so each restart
costs seconds, not a compile.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import tiny_fit_overrides, tiny_train

pytestmark = pytest.mark.slow

CLI = "import sys; from neuroethology.cli import main; sys.exit(main(sys.argv[1:]))"

# Kill inside the Nth checkpoint write: the save starts, and a timer kills the process a few ms into it.
KILL_IN_SAVE = """
import os, signal, sys, threading
from neuroethology.runs import checkpoints
n, delay = int(os.environ["FAULT_SAVE"]), float(os.environ["FAULT_DELAY"])
real, calls = checkpoints.save_checkpoint, [0]
def save(*args, **kwargs):
    calls[0] += 1
    if calls[0] == n:
        threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    return real(*args, **kwargs)
checkpoints.save_checkpoint = save
import neuroethology.training.run as run
run.save_checkpoint = save
from neuroethology.cli import main
sys.exit(main(sys.argv[1:]))
"""


# Hold the run (and its lock) until told: the first checkpoint write waits for the file FAULT_RELEASE (at most
# 120 s) first.
SLOW_SAVE = """
import os, sys, time
import neuroethology.training.run as run
real, calls = run.save_checkpoint, [0]
def save(*args, **kwargs):
    calls[0] += 1
    if calls[0] == 1:
        print("saving", flush=True)
        deadline = time.monotonic() + 120
        while not os.path.exists(os.environ["FAULT_RELEASE"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    return real(*args, **kwargs)
run.save_checkpoint = save
from neuroethology.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # the suite's cache (tests/conftest.py) where there is one: programs the other tests compiled are reused
    cache = os.environ.get("JAX_COMPILATION_CACHE_DIR") or tmp_path_factory.mktemp("jax_cache")
    return dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        JAX_COMPILATION_CACHE_DIR=str(cache),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )


# The CLI, adding up the seconds XLA spent compiling (reported on stderr as "compile seconds: S"): a run's wall
# time without them is what a restarted process, which finds every program in the cache, takes.
TIMED = """
import sys
from jax import monitoring
compiling = [0.0]
def count(event, seconds, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        compiling[0] += seconds
monitoring.register_event_duration_secs_listener(count)
from neuroethology.cli import main
code = main(sys.argv[1:])
print(f"compile seconds: {compiling[0]}", file=sys.stderr)
sys.exit(code)
"""


def timed_cli(args, env) -> float:
    """Run ``args`` (which must succeed); the seconds it would take with every program in the cache."""
    t0 = time.perf_counter()
    proc = cli(args, env, script=TIMED)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    return elapsed - float(proc.stderr.rsplit("compile seconds: ", 1)[1])


def cli(args, env, *, script=CLI, extra_env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        env={**env, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(args, env, script=CLI):
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def clean_error(proc) -> str:
    """A user error: exit 2 and one message, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def rows(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "wall_time_s"} for x in lines]


def weights(run: Path) -> list[np.ndarray]:
    import jax

    from neuroethology.training.run import load_run

    return [np.asarray(x) for x in jax.tree.leaves(load_run(run).runner_state)]


def assert_same_run(a: Path, b: Path) -> None:
    assert rows(a) == rows(b)
    for x, y in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def train_case(tmp_path_factory, env):
    """A tiny training config (8 updates of 2 seeds, a checkpoint after every chunk of 2) and its
    uninterrupted run, with the wall time a run takes once its programs are in the cache (as every later one
    finds them)."""
    root = tmp_path_factory.mktemp("faults")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_train(total_steps=512)))
    run_time = timed_cli(["train", config, "--no-progress", "--out", root / "reference"], env)
    return root, config, run_time


def resume_until_done(run: Path, env, config: Path | None = None) -> None:
    for _ in range(4):
        args = ["train", "--resume", "--no-progress", "--out", run]
        proc = cli(
            args if (run / "config.yaml").exists() else ["train", config, "--no-progress", "--out", run], env
        )
        if proc.returncode == 0:
            return
        assert "Traceback" not in proc.stderr, proc.stderr
    raise AssertionError(f"{run} did not complete: {proc.stderr}")


def test_train_killed_at_random_moments_resumes_bit_identically(train_case, env):
    root, config, run_time = train_case
    rng = np.random.default_rng(15)
    moments = rng.uniform(0.2, 1.0, size=3) * run_time  # within one run's wall time
    for i, moment in enumerate(moments):
        run = root / f"killed{i}"
        proc = start(["train", config, "--no-progress", "--out", run], env)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        resume_until_done(run, env, config)
        assert_same_run(root / "reference", run), f"kill at {moment:.2f} s"
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["status"] == "completed"


@pytest.mark.parametrize(("save", "delay"), [(2, 0.0), (3, 0.005), (4, 0.02)])
def test_train_killed_inside_a_checkpoint_write_resumes_bit_identically(train_case, env, save, delay):
    root, config, _ = train_case
    run = root / f"in_save{save}"
    proc = cli(
        ["train", config, "--no-progress", "--out", run],
        env,
        script=KILL_IN_SAVE,
        extra_env={"FAULT_SAVE": str(save), "FAULT_DELAY": str(delay)},
    )
    assert proc.returncode == -signal.SIGKILL
    from neuroethology.runs import run_status

    assert run_status(run) == "interrupted"
    resume_until_done(run, env, config)
    assert_same_run(root / "reference", run)


def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(train_case, env):
    root, config, _ = train_case
    run = root / "torn_checkpoint"
    assert cli(["train", config, "--no-progress", "--max-chunks", "3", "--out", run], env).returncode == 0
    newest = run / "checkpoints" / "6"
    for shard in (p for p in newest.rglob("*") if p.is_file() and p.stat().st_size > 0):
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    (run / "metrics.jsonl").open("a").write('{"update": 7, "run": 0, "return_me')  # torn last line
    proc = cli(["train", "--resume", "--no-progress", "--out", run], env)
    assert proc.returncode == 0, proc.stderr
    assert "checkpoint 6 cannot be read" in proc.stdout and "resuming after update 4" in proc.stdout
    assert (run / "checkpoints" / "6.unreadable").is_dir()  # kept for inspection
    assert_same_run(root / "reference", run)


def test_two_resumes_of_one_run_at_once_one_is_refused(train_case, env):
    root, config, _ = train_case
    run = root / "concurrent"
    assert cli(["train", config, "--no-progress", "--max-chunks", "1", "--out", run], env).returncode == 0
    release = root / "concurrent.release"
    first = start(
        ["train", "--resume", "--no-progress", "--out", run],
        {**env, "FAULT_RELEASE": str(release)},
        SLOW_SAVE,
    )
    for (
        line
    ) in first.stdout:  # "...: resuming after update 2 of 8", then "saving": it holds the run until released
        if line.strip() == "saving":
            break
    second = cli(["train", "--resume", "--no-progress", "--out", run], env)
    release.touch()
    first.communicate(timeout=300)
    assert first.returncode == 0
    err = clean_error(second)
    assert "in use by another process" in err and f"pid {first.pid}" in err
    assert len(rows(run)) == len(rows(root / "reference"))  # no doubled metric lines
    assert_same_run(root / "reference", run)


def test_a_corrupt_config_of_a_run_is_named(train_case, env, tmp_path):
    root, _, _ = train_case
    run = tmp_path / "run"
    shutil.copytree(root / "reference", run)  # a run like any other
    (run / "config.yaml").write_bytes(b"\x00\xff\x00 binary")
    err = clean_error(cli(["train", "--resume", "--no-progress", "--out", run], env))
    assert "config.yaml" in err and "not a YAML text file" in err


# ---------------------------------------------------------------------------------------------------- fit

FIT = tiny_fit_overrides()


@pytest.fixture(scope="module")
def fit_case(tmp_path_factory, env):
    import jax

    import neuroethology.envs as ne
    from neuroethology.data import from_arrays, save

    root = tmp_path_factory.mktemp("fit_faults")
    e, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    roll = ne.rollout(e, ne.policies.RandomMotion(), jax.random.key(0), p, num_steps=6000)
    xy = np.asarray(roll.states.position, float)[:, :, None, None]
    data = root / "animal.nc"
    save(from_arrays(xy, fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0}), data)
    run_time = timed_cli(["fit", "--data", data, *FIT, "--no-progress", "--out", root / "reference"], env)
    return root, data, run_time


def test_fit_killed_at_random_moments_resumes_to_the_same_model(fit_case, env):
    root, data, run_time = fit_case
    reference = json.loads((root / "reference" / "model.json").read_text())["scores"]
    rng = np.random.default_rng(4)
    for i, moment in enumerate(rng.uniform(0.3, 0.9, size=2) * run_time):
        run = root / f"killed{i}"
        proc = start(["fit", "--data", data, *FIT, "--no-progress", "--out", run], env)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (run / "model.json").exists():  # it finished before the kill
            continue
        again = cli(["fit", "--data", data, *FIT, "--no-progress", "--out", run], env)
        err = clean_error(again) if (run / "config.yaml").exists() else ""
        if err:
            assert "--resume" in err and "--overwrite" in err
            proc = cli(["fit", "--data", data, *FIT, "--no-progress", "--resume", "--out", run], env)
        else:
            proc = again  # killed before it wrote anything: a fresh start is accepted
        assert proc.returncode == 0, (moment, proc.stderr)
        scores = json.loads((run / "model.json").read_text())["scores"]
        for key in ("network", "baseline", "null", "selected_seed"):
            assert scores[key] == reference[key], (moment, key)
