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
