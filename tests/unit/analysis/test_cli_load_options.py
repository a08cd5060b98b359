"""The command line can say what Python's ``load`` can (issue 14, item 4): ``--columns``, ``--individuals``,
``--keypoint``, ``--arena``, ``--smooth``, ``--units``, ``--max-interval`` for ``compare`` and ``fit``, and every
error names the command line's option, never a Python keyword."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
from conftest import ou_track

from neuroethology.cli import main

FAST = ["--permutations", "19", "--bootstrap", "20", "--no-figures", "--resample-by", "block"]
KEYWORD = re.compile(
    r"\b(fps|scale|units|keypoint|individuals|columns|arena_corners|arena_size|max_gap|"
    r"max_interval|allow_implausible)="
)


def table(path, rng, n=1500, animals=("a", "b"), side=0.6):
    """A long table as a lab exports it: odd column names, two animals, two keypoints each."""
    rows = []
    for name in animals:
        m = np.mod(ou_track(rng, n, start=(side / 2, side / 2)), 2 * side)
        xy = np.where(m > side, 2 * side - m, m)
        t = np.arange(n) / 30.0
        for kp, offset in (("nose", 0.02), ("body", 0.0)):
            rows.append(
                pd.DataFrame({"t_sec": t, "mouse": name, "part": kp, "px": xy[:, 0] + offset, "py": xy[:, 1]})
            )
    pd.concat(rows).to_csv(path, index=False)
    return path


def test_compare_reads_a_lab_table_as_the_command_line_says(tmp_path, rng, capsys):
    data = table(tmp_path / "mice.csv", rng)
    out = tmp_path / "cmp"
    columns = ["--columns", "time=t_sec", "x=px", "y=py", "individual=mouse", "keypoint=part"]
    args = [*columns, "--individuals", "a", "--keypoint", "body", "--arena", "0.6x0.6", "--smooth", "0.05"]
    code = main(["compare", str(data), str(data), "--out", str(out), *args, *FAST])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    unit = report["units"]["sim"][0]
    assert unit["individual"] == "a" and unit["body_point"] == "body" and unit["fraction_kept"] == 1.0
    assert "thigmotaxis" in [m["name"] for m in report["metrics"]]  # the arena given on the command line
    assert "body point body (kept 100% of samples)" in (out / "report.md").read_text()


def test_every_error_names_a_command_line_option(tmp_path, rng, capsys):
    data = table(tmp_path / "mice.csv", rng, n=300)
    frames = tmp_path / "frames.csv"
    pd.DataFrame({"frame": np.arange(100), "x": np.linspace(0, 1, 100), "y": 0.5}).to_csv(frames, index=False)
    cases = [
        ([str(frames), str(frames)], [], "--fps"),
        ([str(data), str(data)], ["--columns", "x=px"], "--columns"),
        ([str(data), str(data)], ["--columns", "x"], "--columns: expected ROLE=NAME"),
        ([str(data), str(data)], ["--arena", "wide"], "--arena: expected"),
        ([str(data), str(data)], ["--arena-size", "big"], "--arena-size: expected"),
        ([str(data), str(data)], ["--smooth", "-1"], "--smooth must be"),
        ([str(data), str(data)], ["--max-interval", "0"], "--max-interval"),
    ]
    for files, extra, expected in cases:
        assert main(["compare", *files, "--out", str(tmp_path / "o"), *extra, *FAST]) == 2, extra
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, (extra, err)
        assert not KEYWORD.search(err), (extra, err)  # never a Python keyword on the command line


def test_fit_reads_the_table_with_the_same_options(tmp_path, rng, capsys):
    data = table(tmp_path / "mice.csv", rng, n=2400, animals=("a",))
    columns = ["--columns", "time=t_sec", "x=px", "y=py", "individual=mouse", "keypoint=part"]
    out = tmp_path / "run"
    code = main(
        [
            "fit",
            "--data",
            str(data),
            *columns,
            "--keypoint",
            "body",
            "--arena",
            "0.6x0.6",
            "--model",
            "ou",
            "--out",
            str(out),
            "--no-progress",
            "transfer_arenas=[]",
            "report_metrics=false",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert (out / "model.json").exists()
    assert main(["fit", "--data", str(data), "--model", "ou", "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "--columns x=NAME" in err and not KEYWORD.search(err)


def test_arena_option_never_moves_a_recording_out_of_its_own_arena(tmp_path, rng, capsys):
    from neuroethology.data import from_arrays, save

    m = np.mod(ou_track(rng, 1500, start=(0.5, 0.5)), 2.0)
    sim = save(
        from_arrays(np.where(m > 1, 2 - m, m), fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0}),
        tmp_path / "sim.nc",
    )
    data = table(tmp_path / "mice.csv", rng, n=300, animals=("a",), side=1.0)
    columns = [
        "--columns",
        "time=t_sec",
        "x=px",
        "y=py",
        "individual=mouse",
        "keypoint=part",
    ]
    args = ["compare", str(sim), str(data), "--out", str(tmp_path / "o"), *columns, *FAST]
    assert main([*args, "--arena", "2x2"]) == 2
    err = capsys.readouterr().err
    assert "has its own arena" in err and "--arena 2x2 applies to recordings without one" in err
    assert main([*args, "--arena", "1x1"]) == 0, capsys.readouterr().err  # the same arena: fine
