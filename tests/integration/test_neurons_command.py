"""`neuroethology neurons REC --spikes FILE`: a lab's behaviour file and its sorted spikes (phy-style npz) in,
units.csv out, with place cells typed as place cells and untuned units as none; bad input named by flag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroethology.cli import main
from neuroethology.data import from_arrays, save

FPS = 25.0
BOX = {"shape": "box", "width": 1.0, "height": 1.0}


def walk(rng, n, dt):
    """A reflected random walk covering a 1 x 1 m box (Ornstein-Uhlenbeck velocity)."""
    v = np.zeros((n, 2))
    for i in range(1, n):
        v[i] = 0.97 * v[i - 1] + 0.04 * rng.standard_normal(2)
    m = np.mod(0.5 + np.cumsum(v * dt * 10, axis=0), 2.0)
    return np.where(m > 1, 2 - m, m)


def test_neurons_on_a_behaviour_file_and_its_spikes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = int(900 * FPS)
    xy = walk(rng, n, 1 / FPS)
    save(from_arrays(xy, fps=FPS, arena=BOX, individual_names=["rat"]), tmp_path / "rat.nc")
    centres = rng.uniform(0.15, 0.85, size=(12, 2))
    rate = 15 * np.exp(-((xy[:, None] - centres[None]) ** 2).sum(-1) / (2 * 0.1**2))
    rate = np.c_[rate, np.full((n, 6), 2.0)]  # 12 place cells, 6 untuned units
    counts = rng.poisson(rate / FPS)
    t = np.arange(n) / FPS
    times, units = [], []
    for u in range(counts.shape[1]):
        k = counts[:, u]
        times.append(np.repeat(t, k) + rng.uniform(0, 1 / FPS, k.sum()))
        units.append(np.full(k.sum(), u))
    order = np.argsort(np.concatenate(times))
    np.savez(
        tmp_path / "spikes.npz",
        spike_times=np.concatenate(times)[order],
        spike_clusters=np.concatenate(units)[order],
    )
    out = tmp_path / "neurons"
    args = ["neurons", str(tmp_path / "rat.nc"), "--spikes", str(tmp_path / "spikes.npz")]
    assert main([*args, "--shuffles", "49", "--no-figures", "--out", str(out)]) == 0
    table = pd.read_csv(out / "units.csv", dtype={"unit": str})
    assert len(table) == 18
    types = dict(zip(table["unit"], table["type"], strict=True))
    assert sum(types[str(u)] == "place" for u in range(12)) >= 11
    assert sum(types[str(u)] == "none" for u in range(12, 18)) >= 5
    assert main([*args, "--shuffles", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--shuffles" in capsys.readouterr().err


def test_neurons_refuses_a_recording_without_neural_data(tmp_path, capsys):
    rng = np.random.default_rng(1)
    save(from_arrays(walk(rng, 500, 0.04), fps=FPS, arena=BOX), tmp_path / "rat.nc")
    assert main(["neurons", str(tmp_path / "rat.nc"), "--out", str(tmp_path / "n")]) == 2
    err = capsys.readouterr().err
    assert "no neural data" in err and "--spikes" in err


def test_sample_index_spikes_need_the_sampling_rate_flag(tmp_path, capsys):
    rng = np.random.default_rng(2)
    save(from_arrays(walk(rng, 2500, 1 / FPS), fps=FPS, arena=BOX), tmp_path / "rat.nc")
    np.savez(
        tmp_path / "phy.npz",
        spike_times=np.arange(0, 3_000_000, 3000, dtype=np.uint64),
        spike_clusters=np.zeros(1000, int),
    )
    args = [
        "neurons",
        str(tmp_path / "rat.nc"),
        "--spikes",
        str(tmp_path / "phy.npz"),
        "--no-figures",
        "--shuffles",
        "9",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--spikes-fs" in err and "fs=" not in err
    assert main([*args, "--spikes-fs", "30000", "--out", str(tmp_path / "b")]) == 0
