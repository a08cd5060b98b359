"""Fault injection (issue 15): `neuroethology train` and `fit` killed with SIGKILL at random moments (some
inside a checkpoint write), torn and truncated files, and two writers on one run. Every case must end in a
run that resumes to exactly the result of an uninterrupted one, or in a one-line error that names the file
and what to do; never a traceback, never a silently wrong result.

The kill moments are drawn from a seeded generator and printed, so a failure can be replayed. Commands run
as separate processes (a kill must be a real one) sharing a persistent JAX compilation cache, so each restart
costs seconds, not a compile. Each is forked from a server process that imported the package once (as
multiprocessing's forkserver does), so it does not spend those seconds importing JAX and the package again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
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


def timed_cli(args, server) -> float:
    """Run ``args`` (which must succeed); the seconds it would take with every program in the cache."""
    t0 = time.perf_counter()
    proc = cli(args, server, script=TIMED)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    return elapsed - float(proc.stderr.rsplit("compile seconds: ", 1)[1])


# The fork server: imports what the commands use (no JAX backend yet, so forking is safe), then for each request
# (a JSON message with the script, its arguments and environment, and two descriptors for stdout and stderr)
# forks a process that runs the script as `python -c` would, and reports its pid, and later its exit code.
SERVER = """
import json, os, socket, sys, threading, traceback
import neuroethology.cli, neuroethology.fitting, neuroethology.priors, neuroethology.training.run
import orbax.checkpoint, tqdm.auto
neuroethology.cli.build_parser()  # every command's module
sock, lock = socket.socket(fileno=int(sys.argv[1])), threading.Lock()
sock.send(b'{"ready": true}')

def reply(message):
    with lock:
        sock.send(json.dumps(message).encode())

def reap(pid):
    reply({"exit": pid, "code": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])})

def child(request, fds):
    sock.close()
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    os.environ.update(request["env"])
    sys.argv = ["-c", *request["args"]]
    code = 0
    try:
        exec(compile(request["script"], "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if not isinstance(stop.code, int | None):
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

while True:
    message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
    if not message:
        break
    pid = os.fork()
    if pid == 0:
        child(json.loads(message), fds)
    for fd in fds:
        os.close(fd)
    reply({"started": pid})
    threading.Thread(target=reap, args=(pid,), daemon=True).start()
"""


class Forked:
    """A command in a process of its own, forked by the :class:`Server`: what these tests use of a
    ``subprocess.Popen``, its output in files."""

    def __init__(self, server: Server, pid: int, out: Path, err: Path):
        self.server, self.pid, self.out, self.err, self.returncode = server, pid, out, err, None

    def send_signal(self, sig: int) -> None:
        self.server.poll()
        if self.pid not in self.server.exits:  # as Popen: nothing to do once it has ended
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait(self, timeout: float = 300) -> int:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid, timeout)
        return self.returncode

    def wait_for_line(self, line: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.out.read_text().splitlines():
            assert self.pid not in self.server.exits, (line, self.stdout, self.stderr)
            assert time.monotonic() < deadline, (line, self.stdout, self.stderr)
            self.server.poll()
            time.sleep(0.05)

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()


class Server:
    """The fork server (``SERVER``) in ``env``; commands' output goes to files in ``folder``."""

    def __init__(self, env: dict, folder: Path):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.folder, self.exits, self.count = folder, {}, 0
        self.log = (folder / "server.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(theirs.fileno())],
            env=env,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        theirs.close()
        assert "ready" in self._receive(300)  # the imports are done: commands start at once from now on

    def start(self, args, script: str = CLI, extra_env: dict | None = None) -> Forked:
        self.count += 1
        out, err = self.folder / f"{self.count}.out", self.folder / f"{self.count}.err"
        request = {"script": script, "args": [str(a) for a in args], "env": extra_env or {}}
        with out.open("w") as o, err.open("w") as e:
            socket.send_fds(self.sock, [json.dumps(request).encode()], [o.fileno(), e.fileno()])
        while True:
            message = self._receive(120)
            if "started" in message:
                return Forked(self, message["started"], out, err)

    def exit_code(self, pid: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while pid not in self.exits:
            try:
                self._receive(max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"process {pid} still running after {timeout} s") from None
        return self.exits[pid]

    def poll(self) -> None:
        """Take in the exit codes reported so far."""
        try:
            while True:
                self._receive(0.001)
        except TimeoutError:
            pass

    def _receive(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        data = self.sock.recv(1 << 16)
        assert data, f"the fork server stopped: {(self.folder / 'server.log').read_text()}"
        message = json.loads(data)
        if "exit" in message:
            self.exits[message["exit"]] = message["code"]
        return message

    def close(self) -> None:
        self.sock.close()
        self.proc.wait(timeout=60)
        self.log.close()


@pytest.fixture(scope="module")
def server(env, tmp_path_factory):
    forks = Server(env, tmp_path_factory.mktemp("commands"))
    yield forks
    forks.close()


def cli(args, server: Server, *, script=CLI, extra_env=None, timeout=300) -> Forked:
    proc = server.start(args, script, extra_env)
    proc.wait(timeout)
    return proc


def start(args, server: Server, script=CLI, extra_env=None) -> Forked:
    return server.start(args, script, extra_env)


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
def train_case(tmp_path_factory, server):
    """A tiny training config (8 updates of 2 seeds, a checkpoint after every chunk of 2) and its
    uninterrupted run, with the wall time a run takes once its programs are in the cache (as every later one
    finds them)."""
    root = tmp_path_factory.mktemp("faults")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_train(total_steps=512)))
    run_time = timed_cli(["train", config, "--no-progress", "--out", root / "reference"], server)
    return root, config, run_time


def resume_until_done(run: Path, server, config: Path | None = None) -> None:
    for _ in range(4):
        args = ["train", "--resume", "--no-progress", "--out", run]
        proc = cli(
            args if (run / "config.yaml").exists() else ["train", config, "--no-progress", "--out", run],
            server,
        )
        if proc.returncode == 0:
            return
        assert "Traceback" not in proc.stderr, proc.stderr
    raise AssertionError(f"{run} did not complete: {proc.stderr}")


def test_train_killed_at_random_moments_resumes_bit_identically(train_case, server):
    root, config, run_time = train_case
    rng = np.random.default_rng(15)
    moments = rng.uniform(0.2, 1.0, size=3) * run_time  # within one run's wall time
    for i, moment in enumerate(moments):
        run = root / f"killed{i}"
        proc = start(["train", config, "--no-progress", "--out", run], server)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        resume_until_done(run, server, config)
        assert_same_run(root / "reference", run), f"kill at {moment:.2f} s"
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["status"] == "completed"


@pytest.mark.parametrize(("save", "delay"), [(2, 0.0), (3, 0.005), (4, 0.02)])
def test_train_killed_inside_a_checkpoint_write_resumes_bit_identically(train_case, server, save, delay):
    root, config, _ = train_case
    run = root / f"in_save{save}"
    proc = cli(
        ["train", config, "--no-progress", "--out", run],
        server,
        script=KILL_IN_SAVE,
        extra_env={"FAULT_SAVE": str(save), "FAULT_DELAY": str(delay)},
    )
    assert proc.returncode == -signal.SIGKILL
    from neuroethology.runs import run_status

    assert run_status(run) == "interrupted"
    resume_until_done(run, server, config)
    assert_same_run(root / "reference", run)


def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(train_case, server):
    root, config, _ = train_case
    run = root / "torn_checkpoint"
    assert cli(["train", config, "--no-progress", "--max-chunks", "3", "--out", run], server).returncode == 0
    newest = run / "checkpoints" / "6"
    for shard in (p for p in newest.rglob("*") if p.is_file() and p.stat().st_size > 0):
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    (run / "metrics.jsonl").open("a").write('{"update": 7, "run": 0, "return_me')  # torn last line
    proc = cli(["train", "--resume", "--no-progress", "--out", run], server)
    assert proc.returncode == 0, proc.stderr
    assert "checkpoint 6 cannot be read" in proc.stdout and "resuming after update 4" in proc.stdout
    assert (run / "checkpoints" / "6.unreadable").is_dir()  # kept for inspection
    assert_same_run(root / "reference", run)


def test_two_resumes_of_one_run_at_once_one_is_refused(train_case, server):
    root, config, _ = train_case
    run = root / "concurrent"
    assert cli(["train", config, "--no-progress", "--max-chunks", "1", "--out", run], server).returncode == 0
    release = root / "concurrent.release"
    first = start(
        ["train", "--resume", "--no-progress", "--out", run],
        server,
        SLOW_SAVE,
        {"FAULT_RELEASE": str(release)},
    )
    # "...: resuming after update 2 of 8", then "saving": it holds the run until released
    first.wait_for_line("saving")
    second = cli(["train", "--resume", "--no-progress", "--out", run], server)
    release.touch()
    first.wait(timeout=300)
    assert first.returncode == 0
    err = clean_error(second)
    assert "in use by another process" in err and f"pid {first.pid}" in err
    assert len(rows(run)) == len(rows(root / "reference"))  # no doubled metric lines
    assert_same_run(root / "reference", run)


def test_a_corrupt_config_of_a_run_is_named(train_case, server, tmp_path):
    root, _, _ = train_case
    run = tmp_path / "run"
    shutil.copytree(root / "reference", run)  # a run like any other
    (run / "config.yaml").write_bytes(b"\x00\xff\x00 binary")
    err = clean_error(cli(["train", "--resume", "--no-progress", "--out", run], server))
    assert "config.yaml" in err and "not a YAML text file" in err


# ---------------------------------------------------------------------------------------------------- fit

FIT = tiny_fit_overrides()


@pytest.fixture(scope="module")
def fit_case(tmp_path_factory, server):
    import jax

    import neuroethology.envs as ne
    from neuroethology.data import from_arrays, save

    root = tmp_path_factory.mktemp("fit_faults")
    e, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    roll = ne.rollout(e, ne.policies.RandomMotion(), jax.random.key(0), p, num_steps=6000)
    xy = np.asarray(roll.states.position, float)[:, :, None, None]
    data = root / "animal.nc"
    save(from_arrays(xy, fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0}), data)
    run_time = timed_cli(["fit", "--data", data, *FIT, "--no-progress", "--out", root / "reference"], server)
    return root, data, run_time


def test_fit_killed_at_random_moments_resumes_to_the_same_model(fit_case, server):
    root, data, run_time = fit_case
    reference = json.loads((root / "reference" / "model.json").read_text())["scores"]
    rng = np.random.default_rng(4)
    for i, moment in enumerate(rng.uniform(0.3, 0.9, size=2) * run_time):
        run = root / f"killed{i}"
        proc = start(["fit", "--data", data, *FIT, "--no-progress", "--out", run], server)
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (run / "model.json").exists():  # it finished before the kill
            continue
        again = cli(["fit", "--data", data, *FIT, "--no-progress", "--out", run], server)
        err = clean_error(again) if (run / "config.yaml").exists() else ""
        if err:
            assert "--resume" in err and "--overwrite" in err
            proc = cli(["fit", "--data", data, *FIT, "--no-progress", "--resume", "--out", run], server)
        else:
            proc = again  # killed before it wrote anything: a fresh start is accepted
        assert proc.returncode == 0, (moment, proc.stderr)
        scores = json.loads((run / "model.json").read_text())["scores"]
        for key in ("network", "baseline", "null", "selected_seed"):
            assert scores[key] == reference[key], (moment, key)
