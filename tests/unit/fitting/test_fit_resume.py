"""A fit is a resumable run (issue 15): written as it goes, one writer at a time, killed fits continued
exactly, finished ones refused unless replaced on purpose."""

from __future__ import annotations

import json
import shutil

import jax
import numpy as np
import pytest
from helpers import TINY_FIT, random_motion_positions

import neuroethology.envs as ne
from neuroethology.data import from_arrays
from neuroethology.fitting import FitConfig, fit_recording, load_fitted
from neuroethology.runs import run_status

# 4 chunks of 50 updates; the interrupted fit is stopped after its second chunk.
TINY = TINY_FIT


def _recording(seconds: float = 120.0, seed: int = 0):
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    xy = random_motion_positions(
        env, ne.policies.RandomMotion(), jax.random.key(seed), p, int(seconds / 0.02)
    )[:, :, None, None]
    return from_arrays(xy, fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0})


class Killed(Exception):
    pass


def _stop_after(chunks: int):
    def progress(done, losses, val):
        if done >= chunks * 50:
            raise Killed  # as a kill after the checkpoint of that chunk

    return progress


def _weights(run):
    return [np.asarray(x) for x in jax.tree.leaves(load_fitted(run).weights)]


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """The 120 s recording and a fit of it stopped after its second chunk; each test resumes a copy of it."""
    rec, run = _recording(), tmp_path_factory.mktemp("killed") / "run"
    with pytest.raises(Killed):
        fit_recording(rec, FitConfig(**TINY), out=run, say=lambda m: None, progress=_stop_after(2))
    return rec, run


def test_a_killed_fit_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, killed):
    (rec, stopped), quiet = killed, (lambda m: None)
    whole = fit_recording(rec, FitConfig(**TINY), out=tmp_path / "whole", say=quiet)
    run = shutil.copytree(stopped, tmp_path / "run")
    assert (run / "config.yaml").exists() and not (run / "model.json").exists()
    assert run_status(run) == "interrupted"  # its manifest says running; no process holds it
    with pytest.raises(FileExistsError, match="unfinished fit .*--resume.*--overwrite"):
        fit_recording(rec, FitConfig(**TINY), out=run, say=quiet)
    with pytest.raises(ValueError, match="different settings: hidden_size"):
        fit_recording(rec, FitConfig(**{**TINY, "hidden_size": 16}), out=run, say=quiet, resume=True)
    with pytest.raises(ValueError, match="recording .or its arena. differs"):
        fit_recording(_recording(seed=1), FitConfig(**TINY), out=run, say=quiet, resume=True)
    said = []
    resumed = fit_recording(rec, FitConfig(**TINY), out=run, say=said.append, resume=True)
    assert any("resuming the networks' fit after chunk 2" in m for m in said)
    for a, b in zip(_weights(tmp_path / "whole"), _weights(run), strict=True):
        np.testing.assert_array_equal(a, b)
    keep = {k: v for k, v in whole.scores.items() if k != "wall_time_s"}
    assert {k: v for k, v in resumed.scores.items() if k != "wall_time_s"} == keep
    assert [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()] == [
        json.loads(x) for x in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()
    ]
    assert run_status(run) == "finished"
    with pytest.raises(FileExistsError, match="finished fit"):
        fit_recording(rec, FitConfig(**TINY), out=run, say=quiet, resume=True)


def test_a_damaged_newest_progress_checkpoint_falls_back_to_the_one_before(tmp_path, killed):
    rec, stopped = killed
    run = shutil.copytree(stopped, tmp_path / "run")
    newest = run / "checkpoints" / "progress" / "2"
    shards = sorted(
        p for p in newest.rglob("*") if p.is_file() and p.stat().st_size > 0 and "state" in str(p)
    )
    assert shards
    for p in shards:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])  # torn
    said = []
    fit_recording(rec, FitConfig(**TINY), out=run, say=said.append, resume=True)
    assert any("checkpoint 2 cannot be read" in m for m in said)
    assert any("resuming the networks' fit after chunk 1" in m for m in said)
    assert (run / "model.json").exists()


def test_overwrite_replaces_a_fit_but_never_other_files(tmp_path):
    rec, quiet = _recording(60.0), (lambda m: None)
    config = FitConfig(**{**TINY, "model": "ou"})
    fit_recording(rec, config, out=tmp_path / "run", say=quiet)
    fit_recording(rec, config, out=tmp_path / "run", say=quiet, overwrite=True)
    assert (tmp_path / "run" / "model.json").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a fitted run"):
        fit_recording(rec, config, out=other, say=quiet, overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"
    (other / "config.yaml").write_text("seed: 0\n")  # looks like a run, but nothing says it is a fit
    with pytest.raises(FileExistsError, match="not a fitted run"):
        fit_recording(rec, config, out=other, say=quiet, overwrite=True)
    assert sorted(p.name for p in other.iterdir()) == ["config.yaml", "notes.txt"]
    (tmp_path / "run" / "notes.txt").write_text("mine")  # a fit with a file of the user's beside it
    with pytest.raises(FileExistsError, match=r"files a fit does not write \(notes.txt\)"):
        fit_recording(rec, config, out=tmp_path / "run", say=quiet, overwrite=True)
    assert (tmp_path / "run" / "model.json").exists() and (tmp_path / "run" / "notes.txt").exists()


def test_a_recording_that_cannot_be_fitted_leaves_no_run(tmp_path):
    rec = _recording(60.0)
    rec["position"] = rec["position"] * 10  # positions far outside the 1 x 1 m arena (pixels, say)
    with pytest.raises(ValueError, match="arena"):
        fit_recording(rec, FitConfig(**TINY), out=tmp_path / "run", say=lambda m: None)
    assert not (tmp_path / "run").exists()
