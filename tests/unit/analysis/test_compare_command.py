"""`neuroethology compare SIM REAL --out DIR` end to end on two small Recordings saved as netCDF."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ou_track

from neuroethology.cli import main
from neuroethology.data import from_arrays, save

BOX = {"shape": "box", "width": 1.0, "height": 1.0}


def saved(path, rng, sigma_v, name):
    m = np.mod(ou_track(rng, 2000, sigma_v=sigma_v), 2.0)
    rec = from_arrays(np.where(m > 1, 2 - m, m), fps=50.0, arena=BOX, individual_names=[name])
    return save(rec, path)


def test_compare_command_end_to_end(tmp_path, rng, capsys):
    sim = saved(tmp_path / "sim.nc", rng, 0.08, "agent")
    real_a = saved(tmp_path / "rat_a.nc", rng, 0.14, "rat_a")
    saved(tmp_path / "rat_b.nc", rng, 0.14, "rat_b")
    out = tmp_path / "cmp"
    code = main(
        [
            "compare",
            str(sim),
            str(tmp_path / "rat_*.nc"),
            "--out",
            str(out),
            "--labels",
            "agent",
            "rat",
            "--permutations",
            "99",
            "--bootstrap",
            "100",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "rat: 2 recording(s)" in printed and str(out / "report.json") in printed
    report = json.loads((out / "report.json").read_text())
    assert report["labels"] == ["agent", "rat"] and len(report["units"]["rat"]) == 2
    speed = next(m for m in report["metrics"] if m["name"] == "speed")
    assert speed["groups"]["agent"]["mean"] < speed["groups"]["rat"]["mean"]
    assert speed["permutation_pvalue"] < 0.05
    assert {"ks_statistic", "ks_pvalue", "wasserstein", "difference_ci"} <= set(speed)
    assert "| speed | m/s |" in (out / "report.md").read_text()
    for name in ("trajectories", "occupancy", "distributions", "ecdfs", "metric_table"):
        for suffix in (".pdf", ".png"):
            assert (out / f"{name}{suffix}").stat().st_size > 1000
    assert real_a.exists()


def test_compare_command_bad_input(tmp_path, capsys):
    code = main(
        [
            "compare",
            str(tmp_path / "missing.nc"),
            str(tmp_path / "also_missing.nc"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.nc (no such file)" in err
    bad = tmp_path / "bad.nc"
    bad.write_text("not a netcdf file")
    assert main(["compare", str(bad), str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.nc" in capsys.readouterr().err
    assert main(["compare", str(bad), str(bad), "--out", str(tmp_path / "o"), "--metrics", "nope"]) == 2
    assert "unknown ['nope']" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["compare", "--help"]])
def test_compare_help(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0 and "report.json" in capsys.readouterr().out
