"""Arenas of any shape in Recordings: one validation (``neuroethology.envs.arena.resolve_arena``), storage in
the attrs (box and circle shorthands as before, anything else as the canonical mapping's JSON), round trips
through netCDF and NWB, ``arena=`` in every form the lab has (presets, YAML files, PolygonOfInterest, pixels
calibrated with the tracks), and positions off the floor kept as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml
from movement.roi import PolygonOfInterest

import neuroethology.data as nd
from neuroethology.data.processing import apply_homography, homography
from neuroethology.envs.arena import resolve_arena

FPS = 10.0
PLUS = resolve_arena("plus_maze")  # Walf & Frye 2007: 0.65 x 0.65 m bounding box, five regions


def centres(arena: dict) -> dict[str, list[float]]:
    """A point inside each region (its centroid: every plus-maze region is a rectangle)."""
    return {k: np.mean(v, axis=0).tolist() for k, v in arena["regions"].items()}


def plus_track() -> np.ndarray:
    """Two seconds in each region of the plus maze, in the order of its regions."""
    return np.repeat(np.array(list(centres(PLUS).values())), int(2 * FPS), axis=0)


def same_polygon(a, b, tol: float = 1e-12) -> bool:
    """Whether two rings bound the same area (winding and first vertex aside)."""
    return shapely.Polygon(a).symmetric_difference(shapely.Polygon(b)).area <= tol


def write_npz(path: Path, xy: np.ndarray) -> Path:
    np.savez(path, t=np.arange(len(xy)) / FPS, pos=xy)
    return path


# ------------------------------------------------------------------------------------------------ storage


def test_a_plus_maze_is_stored_as_a_polygon_and_read_back_whole():
    rec = nd.from_arrays(plus_track(), fps=FPS, arena="plus_maze")
    assert rec.attrs["arena_shape"] == "polygon"
    assert (rec.attrs["arena_width"], rec.attrs["arena_height"]) == pytest.approx((0.65, 0.65), abs=1e-12)
    assert json.loads(rec.attrs["arena"]) == PLUS
    assert nd.arena_of(rec) == PLUS
    assert sorted(nd.arena_of(rec)["regions"]) == sorted(
        ["open arm north", "open arm south", "closed arm east", "closed arm west", "centre"]
    )


def test_bare_boxes_and_circles_are_stored_as_before():
    boundary = [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]]  # what resolve_arena adds to a box
    rec = nd.from_arrays(
        np.zeros((3, 2)), fps=FPS, arena={"shape": "box", "width": 2, "height": 1, "boundary": boundary}
    )
    assert "arena" not in rec.attrs
    assert nd.arena_of(rec) == {"shape": "box", "width": 2.0, "height": 1.0}
    assert nd.arena_of(nd.from_arrays(np.zeros((3, 2)), fps=FPS, arena="circle")) == {
        "shape": "circle",
        "radius": 0.5,
    }
    assert nd.arena_of(nd.from_arrays(np.zeros((3, 2)), fps=FPS, arena={"shape": "unknown"})) is None


def test_a_circle_with_regions_keeps_its_shorthand_for_old_readers():
    rec = nd.from_arrays(np.full((3, 2), 1.0), fps=FPS, arena="water_maze")
    assert (rec.attrs["arena_shape"], rec.attrs["arena_radius"]) == ("circle", 1.0)
    arena = nd.arena_of(rec)
    assert arena == resolve_arena("water_maze")
    assert arena["shape"] == "circle" and len(arena["regions"]) == 4


def test_a_box_with_a_wall_is_a_polygon_not_a_box():
    """A barrier makes the walls more than the box's four: old readers must not take it for a box."""
    rec = nd.from_arrays(np.full((3, 2), 0.2), fps=FPS, arena="hafting_barrier")
    assert rec.attrs["arena_shape"] == "polygon"
    assert nd.arena_of(rec)["walls"] == [[[0.25, 0.5], [0.75, 0.5]]]


def test_a_polygon_of_interest_with_a_hole_is_an_arena():
    poi = PolygonOfInterest(
        [(0, 0), (1, 0), (1, 1), (0, 1)], holes=[[(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)]]
    )
    arena = nd.arena_of(nd.from_arrays(np.full((3, 2), 0.2), fps=FPS, arena=poi))
    assert len(arena["holes"]) == 1 and same_polygon(
        arena["holes"][0], [[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]]
    )


@pytest.mark.parametrize("writer", ["netcdf", "nwb"])
def test_a_plus_maze_round_trips(tmp_path, writer):
    rec = nd.from_arrays(plus_track(), fps=FPS, arena="plus_maze", source_file="")
    path = nd.save(rec, tmp_path / "plus.nc") if writer == "netcdf" else nd.to_nwb(rec, tmp_path / "plus.nwb")
    back = nd.load(path)
    assert back.attrs["arena_shape"] == "polygon"
    assert nd.arena_of(back) == PLUS
    np.testing.assert_allclose(back["position"].values, rec["position"].values)


def test_validate_refuses_arena_attrs_that_disagree():
    rec = nd.from_arrays(plus_track(), fps=FPS, arena="plus_maze")
    cases = {
        "arena_width": (2.0, "attrs['arena_width'] is 2.0 but the stored arena's is 0.65 m"),
        "arena": ("{not json", "attrs['arena']: not valid JSON"),
        "arena_shape": ("box", "expected 'polygon'"),
    }
    for key, (value, expected) in cases.items():
        broken = rec.copy()
        broken.attrs = {**rec.attrs, key: value}
        with pytest.raises(ValueError, match=None) as info:
            nd.validate(broken)
        assert expected in str(info.value), (key, str(info.value))
    broken.attrs = {**rec.attrs, "arena_shape": "unknown"}
    with pytest.raises(ValueError, match="arena_shape'] is 'unknown'"):
        nd.validate(broken)
    broken.attrs = {k: v for k, v in rec.attrs.items() if k != "arena"}
    with pytest.raises(ValueError, match="polygon arena's mapping as JSON; it is missing"):
        nd.validate(broken)


# ------------------------------------------------------------------------------------------- from the lab


def test_load_takes_a_preset_a_yaml_file_and_a_mapping(tmp_path):
    path = write_npz(tmp_path / "track.npz", plus_track())
    (tmp_path / "maze.yaml").write_text(
        yaml.safe_dump({k: PLUS[k] for k in ("boundary", "walls", "regions")})
    )
    for spec in ("plus_maze", tmp_path / "maze.yaml", str(tmp_path / "maze.yaml"), dict(PLUS)):
        assert nd.arena_of(nd.load(path, arena=spec)) == PLUS, spec


def test_an_arena_drawn_in_pixels_goes_through_the_tracks_calibration(tmp_path):
    """The maze drawn on the video frame (pixels: true) and the tracks map to metres by the same corners."""
    corners = np.array(
        [[102.0, 611.0], [598.0, 640.0], [571.0, 95.0], [88.0, 120.0]]
    )  # tilted camera, y down
    square = np.array([[0.0, 0.0], [0.65, 0.0], [0.65, 0.65], [0.0, 0.65]])
    to_px = homography(square, corners)
    px = lambda pts: apply_homography(to_px, np.asarray(pts, float)).tolist()  # noqa: E731
    drawn = {
        "pixels": True,
        "boundary": px(PLUS["boundary"]),
        "walls": [px(w) for w in PLUS["walls"]],
        "regions": {k: px(v) for k, v in PLUS["regions"].items()},
    }
    (tmp_path / "maze_px.yaml").write_text(yaml.safe_dump(drawn))
    path = write_npz(tmp_path / "px.npz", np.asarray(px(plus_track())))
    rec = nd.load(path, arena_corners=corners, arena_size=0.65, arena=tmp_path / "maze_px.yaml")
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], plus_track(), atol=1e-9)
    arena = nd.arena_of(rec)
    assert same_polygon(arena["boundary"], PLUS["boundary"])
    for name, ring in PLUS["regions"].items():
        assert same_polygon(arena["regions"][name], ring), name
    # The same arena giving its own corners lands in the same place.
    explicit = {**drawn, "pixels": corners.tolist(), "size_m": [0.65, 0.65]}
    again = nd.arena_of(nd.load(path, arena_corners=corners, arena_size=0.65, arena=explicit))
    assert same_polygon(again["boundary"], arena["boundary"])


def test_arena_errors_name_the_field_the_file_and_the_keyword(tmp_path):
    path = write_npz(tmp_path / "track.npz", plus_track())
    with pytest.raises(ValueError) as info:
        nd.from_arrays(plus_track(), fps=FPS, arena={"boundary": [[0, 0], [1, 0]]})
    assert "arena['boundary']: expected at least 3 vertices, got 2" in str(info.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]], "holes": [[[2, 2], [3, 2], [3, 3]]]})
    )
    with pytest.raises(ValueError) as info:
        nd.load(path, arena=bad)
    message = str(info.value)
    assert str(path.resolve()) in message and str(bad) in message and "arena=" in message
    assert "holes[0]: expected a hole strictly inside the boundary" in message
    with pytest.raises(ValueError, match="did you mean 'plus_maze'"):
        nd.load(path, arena="plus_maz")
    with pytest.raises(ValueError) as info:
        nd.load(path, arena={"pixels": True, "boundary": [[0, 0], [9, 0], [9, 9]]})
    assert "arena_corners= and arena_size=" in str(info.value) and "pixels: true" in str(info.value)


# ------------------------------------------------------------------------------------------ plausibility


def test_positions_off_the_floor_are_kept_and_far_ones_refused(tmp_path):
    """Off the floor but near the maze (between two arms): tracking noise, kept as recorded. Beyond half the
    bounding box's size outside it: refused, as outside a box, unless allow_implausible=True."""
    xy = plus_track()
    xy[5] = [0.1, 0.1]  # off the floor, between the south and west arms
    rec = nd.load(write_npz(tmp_path / "near.npz", xy), arena="plus_maze")
    np.testing.assert_allclose(rec["position"].values[5, :, 0, 0], [0.1, 0.1])
    xy[[4, 6]] = np.nan  # a one-sample segment: no step, so no speed to object
    xy[5] = [1.2, 0.3]  # 0.55 m beyond the east edge: more than 0.5 x 0.65 m
    far = write_npz(tmp_path / "far.npz", xy)
    with pytest.raises(ValueError) as info:
        nd.load(far, arena="plus_maze")
    message = str(info.value)
    assert "bounding box of the polygon arena" in message and "x in [-0.325, 0.975] m" in message
    assert "sample 5" in message and "allow_implausible=True" in message
    kept = nd.load(far, arena="plus_maze", allow_implausible=True)
    np.testing.assert_allclose(kept["position"].values[5, :, 0, 0], [1.2, 0.3])
