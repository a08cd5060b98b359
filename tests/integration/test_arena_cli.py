"""``--arena`` on the command line, end to end: a fit in a lab's own polygon (a YAML file), its agent let loose
in the plus-maze preset, the three forms of the flag, and one-line errors that name it."""

from __future__ import annotations

import contextlib
import io
import json

import jax
import numpy as np
import pytest
import shapely
from helpers import random_motion_positions

import neuroethology.envs as ne
from neuroethology.cli import build_parser, main
from neuroethology.commands._load_options import parse_arena
from neuroethology.data import arena_of, load
from neuroethology.envs.arena import arena_geometry, resolve_arena
from neuroethology.envs.arena_presets import preset_names
from neuroethology.fitting import load_fitted

# A lab's maze as the lab writes it: an L-shaped corridor 0.2 m wide with 0.6 m arms, and one region.
L_YAML = """\
boundary: [[0, 0], [0.6, 0], [0.6, 0.2], [0.2, 0.2], [0.2, 0.6], [0, 0.6]]
regions:
  corner: [[0, 0], [0.2, 0], [0.2, 0.2], [0, 0.2]]
"""
TINY_GRU = [
    "total_steps=50",
    "num_seeds=1",
    "hidden_size=8",
    "window=32",
    "burn_in=4",
    "select=likelihood",
    "transfer_arenas=[]",
    "report_metrics=false",
]


def _cli(*args: str) -> tuple[int, str, str]:
    """``neuroethology ARGS`` in this process (no second JAX start): exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _random_motion_path(arena, steps: int, seed: int) -> np.ndarray:
    """``(steps, 2)`` m: RatInABox's random motion in OpenField in ``arena`` (on its floor by the physics)."""
    env, p = ne.make("neuroethology/OpenField-v0", arena=arena, episode_duration=1e4)
    return random_motion_positions(env, ne.policies.RandomMotion(), jax.random.key(seed), p, steps)


def _positions(rec) -> np.ndarray:
    return rec["position"].isel(keypoint=0).transpose("time", "individual", "space").values.reshape(-1, 2)


def _on_floor(xy: np.ndarray, arena) -> np.ndarray:
    """Whether points lie on the floor, by shapely (independent of the environments' geometry) and by
    ``arena_geometry(...).inside``; both must agree."""
    mapping = resolve_arena(arena)
    floor = shapely.Polygon(mapping["boundary"], mapping["holes"])
    by_shapely = shapely.covers(floor, shapely.points(xy))
    by_geometry = np.asarray(arena_geometry(mapping).inside(xy))
    np.testing.assert_array_equal(by_shapely, by_geometry)
    return by_shapely


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A tiny GRU fitted by ``neuroethology fit --arena L.yaml`` to a path in that L."""
    root = tmp_path_factory.mktemp("arena_cli")
    (root / "L.yaml").write_text(L_YAML)
    xy = _random_motion_path(root / "L.yaml", 1000, seed=0)
    assert _on_floor(xy, root / "L.yaml").all()
    np.savez(root / "mouse.npz", t=np.arange(len(xy)) * 0.02, pos=xy)
    code, out, err = _cli(
        "fit", "--data", root / "mouse.npz", "--arena", root / "L.yaml", "--out", root / "gru", "--no-progress",
        *TINY_GRU,
    )  # fmt: skip
    assert code == 0, err
    return root, out


def test_fit_in_a_polygon_from_a_yaml_file(lab):
    root, out = lab
    assert "in a polygon arena, 0.6 x 0.6 m bounding box, 6 vertices, 1 region;" in out
    assert "held-out log-likelihood" in out and "network" in out
    model = load_fitted(root / "gru")
    assert ne.arena_of(model.env_params) == resolve_arena(root / "L.yaml")
    assert model.env_params.arena_shape == "polygon"


def test_simulate_a_fitted_run_in_the_plus_maze(lab, tmp_path):
    root, _ = lab
    code, out, err = _cli(
        "simulate", root / "gru", "--arena", "plus_maze", "--duration", "10", "--runs", "2",
        "--out", tmp_path / "epm.nc",
    )  # fmt: skip
    assert code == 0, err
    rec = load(tmp_path / "epm.nc")
    assert rec.attrs["arena_shape"] == "polygon" and arena_of(rec) == resolve_arena("plus_maze")
    assert rec.sizes["individual"] == 2 and rec.sizes["time"] == 500
    xy = _positions(rec)
    assert np.isfinite(xy).all() and _on_floor(xy, "plus_maze").all()
    # Its own arena by default: the L, on whose floor it stays.
    code, _, err = _cli("simulate", root / "gru", "--duration", "5", "--out", tmp_path / "own.nc")
    assert code == 0, err
    own = load(tmp_path / "own.nc")
    assert arena_of(own) == resolve_arena(root / "L.yaml")
    assert _on_floor(_positions(own), root / "L.yaml").all()


def test_simulate_the_fitted_baseline_in_the_plus_maze(lab, tmp_path):
    root, _ = lab
    code, _, err = _cli(
        "simulate", root / "gru", "--baseline", "--arena", "plus_maze", "--duration", "10", "--out",
        tmp_path / "b.nc",
    )  # fmt: skip
    assert code == 0, err
    xy = _positions(load(tmp_path / "b.nc"))
    assert _on_floor(xy, "plus_maze").all()
    assert np.ptp(xy, axis=0).max() > 0.02, "the baseline animal should move along the arm it starts in"


def test_the_flag_takes_presets_files_and_shorthands(tmp_path):
    (tmp_path / "maze.json").write_text(json.dumps({"boundary": [[0, 0], [0.5, 0], [0, 0.5]]}))
    assert parse_arena("plus_maze") == resolve_arena("plus_maze")
    assert parse_arena(str(tmp_path / "maze.json")) == resolve_arena(
        {"boundary": [[0, 0], [0.5, 0], [0, 0.5]]}
    )
    assert parse_arena("1x0.8") == {"shape": "box", "width": 1.0, "height": 0.8}
    assert parse_arena("R0.6") == {"shape": "circle", "radius": 0.6}
    assert parse_arena("box") == {
        "shape": "box",
        "width": 1.0,
        "height": 1.0,
    }  # a bare box, as Recordings store it
    assert parse_arena(None) is None
    # The help of every command that takes --arena names every preset.
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for command in ("fit", "simulate", "compare", "neurons"):
        text = " ".join(sub[command].format_help().split())
        assert "--arena PRESET|FILE|WxH|rR" in text
        assert all(name in text for name in preset_names()), command


BAD_YAML = "boundary: [[0, 0], [1, 0], [1, 1]]\nregions: {arm: [[0, 0], [2, 0], [2, 2]]}\n"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("plus_maz", ["did you mean 'plus_maze'?", *preset_names()]),
        ("1by1", ["--arena: expected", "WIDTHxHEIGHT", "'1by1'", "plus_maze"]),
        ("0x1", ["--arena '0x1': width: expected a positive number of metres"]),
        ("r-2", ["--arena 'r-2': radius: expected a positive number of metres"]),
        ("missing.yaml", ["no such file", "missing.yaml"]),
        ("BAD.yaml", ["BAD.yaml", "regions['arm']: expected a region on the floor"]),
    ],
)
def test_bad_values_give_one_line_errors_naming_the_flag(value, says, tmp_path):
    (tmp_path / "BAD.yaml").write_text(BAD_YAML)
    arena = str(tmp_path / value) if value.endswith(".yaml") else value
    for command in (
        ["simulate", tmp_path, "--duration", "5", "--out", tmp_path / "s.nc"],
        ["fit", "--data", tmp_path / "x.npz", "--out", tmp_path / "run"],
    ):
        code, out, err = _cli(*command, "--arena", arena)
        assert code == 2 and not out
        line = err.strip()
        assert "\n" not in line and "Traceback" not in line, line
        assert line.startswith(f"neuroethology {command[0]}: error: --arena"), line
        assert "arena=" not in line  # the flag, never the Python keyword
        for words in says:
            assert words in line, (words, line)


def test_an_arena_file_with_several_problems_names_each_field(tmp_path):
    (tmp_path / "maze.yaml").write_text("boundary: [[0, 0], [1, 0], [1, 'x']]\nholes: 3\nwals: []\n")
    code, _, err = _cli("simulate", tmp_path, "--duration", "5", "--out", tmp_path / "s.nc", "--arena",
                        tmp_path / "maze.yaml")  # fmt: skip
    assert code == 2 and "Traceback" not in err
    head, *problems = err.strip().splitlines()
    assert head.startswith(f"neuroethology simulate: error: --arena '{tmp_path / 'maze.yaml'}'"), head
    assert len(problems) == 3 and "arena=" not in err
    assert "boundary[2]" in err and "holes: expected a list" in err and "did you mean 'walls'?" in err


@pytest.mark.slow  # two fits of 50 s of data, about 10 s each
@pytest.mark.parametrize(
    "arena",
    [
        "0.6x0.6",
        "L.yaml",
    ],
)
def test_the_fitted_baseline_explains_random_motion_in_the_arena(arena, tmp_path):
    """Random motion simulated in an arena and fitted there: the baseline beats the Gaussian null model on
    held-out steps, in a box (about +2 bits/step) as in a polygon."""
    (tmp_path / "L.yaml").write_text(L_YAML)
    spec = tmp_path / arena if arena.endswith(".yaml") else parse_arena(arena)
    xy = _random_motion_path(spec, 2500, seed=1)
    np.savez(tmp_path / "animal.npz", t=np.arange(len(xy)) * 0.02, pos=xy)
    arena_flag = str(tmp_path / arena) if arena.endswith(".yaml") else arena
    code, _, err = _cli(
        "fit",
        "--data",
        tmp_path / "animal.npz",
        "--arena",
        arena_flag,
        "--model",
        "ou",
        "--out",
        tmp_path / "ou",
        "transfer_arenas=[]",
        "report_metrics=false",
    )
    assert code == 0, err
    scores = json.loads((tmp_path / "ou" / "model.json").read_text())["scores"]
    assert scores["baseline"]["bits_per_step_over_null"] > 0.5, scores["baseline"]
