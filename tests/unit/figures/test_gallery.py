"""The figure gallery's machinery (neuroethology.gallery): configs resolved per mode, outputs and manifest written,
trained runs cached by config hash and reused, bad configs named by file and key, and the command's errors."""

from __future__ import annotations

import json
import textwrap

import pytest

from neuroethology import gallery
from neuroethology.cli import main

SCRIPT = """
import matplotlib.pyplot as plt
import numpy as np
from neuroethology.gallery import FigureResult

def make(ctx):
    built = ctx.cached("table", {"n": ctx.config["n"]}, lambda d: np.save(d / "x.npy", np.arange(ctx.config["n"])))
    x = np.load(built / "x.npy")
    fig, ax = plt.subplots()
    ax.plot(x, x**2)
    return FigureResult(fig, {"x": x, "y": x**2, "nan": float("nan")}, {"grows": bool(np.all(np.diff(x**2) > 0))})
"""

CONFIG = """
title: squares
reproduces: nobody (a test)
common: {n: 5, deep: {a: 1, b: 2}}
fast: {n: 3, deep: {b: 3}}
full: {}
"""


@pytest.fixture
def dirs(tmp_path):
    scripts, configs = tmp_path / "scripts", tmp_path / "configs"
    scripts.mkdir()
    configs.mkdir()
    (scripts / "squares.py").write_text(textwrap.dedent(SCRIPT))
    (configs / "squares.yaml").write_text(CONFIG)
    return scripts, configs, tmp_path / "out"


def test_modes_merge_common_key_by_key(dirs):
    _, configs, _ = dirs
    fast = gallery.figure_config("squares", "fast", configs)
    full = gallery.figure_config("squares", "full", configs)
    assert fast["n"] == 3 and fast["deep"] == {"a": 1, "b": 3} and fast["mode"] == "fast"
    assert full["n"] == 5 and full["deep"] == {"a": 1, "b": 2}


def test_a_figure_writes_pdf_png_json_and_manifest_and_reuses_its_cache(dirs):
    scripts, configs, out = dirs
    kw = {"scripts_dir": scripts, "configs_dir": configs, "out": out, "log": lambda _: None}
    first = gallery.make_figure("squares", mode="fast", **kw)
    for suffix in ("pdf", "png", "json"):
        assert (out / "squares" / f"squares.{suffix}").stat().st_size > 0
    numbers = json.loads((out / "squares" / "squares.json").read_text())
    assert numbers["numbers"]["y"] == [0, 1, 4] and numbers["numbers"]["nan"] is None
    assert numbers["claims"] == {"grows": True}
    manifest = json.loads((out / "squares" / "manifest.json").read_text())
    assert manifest["mode"] == "fast" and manifest["config_hash"] == first["config_hash"]
    assert manifest["version"] and manifest["devices"] and manifest["wall_seconds"] > 0
    assert [r["reused"] for r in manifest["runs"]] == [False]
    again = gallery.make_figure("squares", mode="fast", **kw)
    assert [r["reused"] for r in again["runs"]] == [True]
    assert again["runs"][0]["hash"] == first["runs"][0]["hash"]
    full = gallery.make_figure("squares", mode="full", **kw)  # another n: another cache entry
    assert full["runs"][0]["hash"] != first["runs"][0]["hash"] and full["config_hash"] != first["config_hash"]
    assert not list((out / "cache").glob("*.partial"))
    retrained = gallery.make_figure("squares", mode="fast", retrain=True, **kw)
    assert [r["reused"] for r in retrained["runs"]] == [False]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "title: t\nreproduces: r\ncommon: {}\nfast: {}\nfull: {}\nextra: 1\n",
            r"squares.yaml.*unknown key.*extra",
        ),
        ("reproduces: r\ncommon: {}\n", r"squares.yaml.*title"),
        ("title: t\nreproduces: r\nfast: [1]\n", r"squares.yaml.*fast: expected a mapping"),
    ],
)
def test_bad_configs_name_the_file_and_the_key(dirs, text, message):
    _, configs, _ = dirs
    (configs / "squares.yaml").write_text(text)
    with pytest.raises(ValueError, match=message):
        gallery.figure_config("squares", "fast", configs)


def test_unknown_figure_is_named_with_the_known_ones(dirs):
    _, configs, _ = dirs
    with pytest.raises(FileNotFoundError, match=r"no figure 'nope'.*squares"):
        gallery.figure_config("nope", "fast", configs)


def test_the_command_refuses_an_unknown_figure_by_its_flag(capsys):
    assert main(["figures", "--only", "no_such_figure", "--fast"]) == 2
    assert "--only: no figure no_such_figure" in capsys.readouterr().err
