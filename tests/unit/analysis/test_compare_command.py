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


def test_compare_takes_existing_paths_with_commas_and_brackets_as_paths(tmp_path, rng, capsys):
    from neuroethology.commands.compare import _expand

    sim = saved(tmp_path / "a,b.nc", rng, 0.08, "agent")
    real = saved(tmp_path / "x[1].nc", rng, 0.14, "rat")
    other = saved(tmp_path / "x[2].nc", rng, 0.14, "rat_2")
    assert _expand(str(sim), "sim") == [sim]
    assert _expand(str(real), "real") == [real]
    assert _expand(f"{real},{other}", "real") == [real, other]
    out = tmp_path / "cmp"
    argv = ["compare", str(sim), str(real), "--out", str(out), "--no-figures"]
    assert main([*argv, "--permutations", "9", "--bootstrap", "10", "--metrics", "speed"]) == 0
    printed = capsys.readouterr().out
    assert "sim: 1 recording(s)" in printed and "real: 1 recording(s)" in printed
    assert (out / "report.json").exists()


def test_compare_refuses_implausible_recordings_unless_asked(tmp_path, rng, capsys, monkeypatch):
    import neuroethology.data as nd

    m = np.mod(ou_track(rng, 200, sigma_v=0.1), 2.0)
    xy = np.where(m > 1, 2 - m, m)
    xy[50] = 1e30
    bad = save(from_arrays(xy, fps=50.0, arena=BOX), tmp_path / "far.nc")
    assert main(["compare", str(bad), str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "far.nc has implausible values" in err and "sample 50 (t = 1 s)" in err
    assert "pass --allow-implausible" in err and "allow_implausible=" not in err  # the CLI's own words
    seen = []

    def spy(path, **options):
        seen.append(options)
        raise ValueError("stop here: only the options matter")

    monkeypatch.setattr(nd, "load", spy)
    assert main(["compare", str(bad), str(bad), "--out", str(tmp_path / "o"), "--allow-implausible"]) == 2
    assert seen and all(options.get("allow_implausible") is True for options in seen)
