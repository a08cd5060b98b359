"""Run-directory helpers: atomic JSON writes with unique temporaries, the manifest's kind."""

from __future__ import annotations

import json
import threading

import pytest

from neuroethology.runs import environment_manifest, manifest_kind, write_json


def test_write_json_is_atomic_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "manifest.json"
    errors = []

    def writer(i):
        try:
            for j in range(50):
                write_json(path, {"writer": i, "n": j, "pad": "x" * 10_000})
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    data = json.loads(path.read_text())  # always one whole document
    assert data["n"] == 49 and len(data["pad"]) == 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_write_json_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {1j: 2})  # a complex key is not JSON
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_manifest_kind(tmp_path):
    assert manifest_kind(tmp_path) is None
    write_json(tmp_path / "manifest.json", environment_manifest(kind="fitted", seeds=[0]))
    assert manifest_kind(tmp_path) == "fitted"
    (tmp_path / "manifest.json").write_text('{"kind": "ppo", "trunc')  # torn: no kind, no crash
    assert manifest_kind(tmp_path) is None
    with pytest.raises(ValueError, match="kind must be one of"):
        environment_manifest(kind="rl")


_HOLD = """
import sys, time
from neuroethology.runs import run_lock
with run_lock(sys.argv[1], "train configs/x.yaml --out RUN"):
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(run_dir):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_run_lock_refuses_a_second_writer_and_takes_over_a_killed_ones(tmp_path):
    from neuroethology.runs import RunLockedError, run_is_locked, run_lock, run_status

    run = tmp_path / "run"
    proc = _holder(run)
    try:
        assert run_is_locked(run)
        with pytest.raises(RunLockedError, match=rf"pid {proc.pid} .*train configs/x.yaml"):
            with run_lock(run, "fit"):
                pass
        write_json(run / "manifest.json", {"kind": "ppo", "status": "running"})
        assert run_status(run) == "running"  # its process is alive
    finally:
        proc.kill()  # kill -9: no clean-up runs
        proc.wait()
    assert not run_is_locked(run)
    assert run_status(run) == "interrupted"  # the manifest still says running: it is not
    with run_lock(run, "train --resume") as record:
        assert record["pid"] != proc.pid and record["stale"]["pid"] == proc.pid
        assert run_is_locked(run)
    with run_lock(run, "train --resume") as record:  # released cleanly: nothing stale
        assert "stale" not in record
    assert run_status(tmp_path / "none") is None


def test_a_run_refused_before_writing_leaves_no_folder(tmp_path):
    from neuroethology.runs import run_lock

    with pytest.raises(RuntimeError):
        with run_lock(tmp_path / "new" / "run", "train"):
            raise RuntimeError("refused")
    assert not (tmp_path / "new" / "run").exists()
    with run_lock(tmp_path / "kept", "train"):
        (tmp_path / "kept" / "config.yaml").write_text("{}")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["config.yaml"]  # the lock is released
