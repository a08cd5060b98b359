"""The Recording data model: from_arrays, validate, arena_of and the processing record."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import neuroethology.data as nd
from neuroethology.data.model import POSITION_DIMS


def test_from_arrays_single_track_follows_the_data_model():
    xy = np.column_stack([np.linspace(0, 1, 11), np.zeros(11)])
    rec = nd.from_arrays(xy, fps=10.0, arena={"shape": "box", "width": 2.0, "height": 1.0})
    assert rec["position"].dims == POSITION_DIMS
    assert rec["confidence"].dims == ("time", "keypoint", "individual")
    assert dict(rec.sizes) == {"time": 11, "space": 2, "keypoint": 1, "individual": 1}
    np.testing.assert_allclose(rec["time"].values, np.arange(11) / 10.0)
    np.testing.assert_array_equal(rec["position"].values[:, :, 0, 0], xy)
    assert rec["space"].values.tolist() == ["x", "y"]
    assert rec["keypoint"].values.tolist() == ["centroid"]
    assert rec["individual"].values.tolist() == ["id_0"]
    assert np.isnan(rec["confidence"].values).all()
    assert rec.attrs["fps"] == 10.0 and rec.attrs["ds_type"] == "poses"
    assert rec.attrs["source_software"] == "neuroethology" and rec.attrs["source_file"] == ""
    assert rec.attrs["space_unit"] == "m" and rec.attrs["time_unit"] == "seconds"
    assert (rec.attrs["arena_shape"], rec.attrs["arena_width"], rec.attrs["arena_height"]) == (
        "box",
        2.0,
        1.0,
    )
    assert json.loads(rec.attrs["processing"]) == []
    assert nd.arena_of(rec) == {"shape": "box", "width": 2.0, "height": 1.0}


def test_from_arrays_with_time_infers_the_nominal_frame_rate_and_keeps_extra_variables():
    t = np.array([0.0, 0.02, 0.04, 0.08, 0.10])
    pos = np.zeros((5, 2, 2, 3))
    heading = np.arange(15.0).reshape(5, 3)
    rec = nd.from_arrays(
        pos,
        time=t,
        confidence=np.full((5, 2, 3), 0.5),
        individual_names=["a", "b", "c"],
        keypoint_names=["nose", "tail"],
        arena={"shape": "circle", "radius": 0.6},
        variables={"heading": (("time", "individual"), heading, {"units": "rad"})},
        attrs={"processing": [{"step": "simulate", "env": "OpenField-v0"}], "seed": 3},
    )
    assert rec.attrs["fps"] == pytest.approx(50.0)
    np.testing.assert_array_equal(rec["heading"].values, heading)
    assert rec["heading"].attrs["units"] == "rad"
    assert nd.arena_of(rec) == {"shape": "circle", "radius": 0.6}
    assert nd.processing_of(rec) == [{"step": "simulate", "env": "OpenField-v0"}]
    assert rec.attrs["seed"] == 3
    assert rec["individual"].values.tolist() == ["a", "b", "c"]


def test_from_arrays_reports_every_problem_in_one_error():
    with pytest.raises(ValueError) as info:
        nd.from_arrays(
            np.full((4, 2, 1, 2), np.nan),
            time=[0.0, 0.1, 0.1, 0.05],
            individual_names=["a", "a"],
            arena={"shape": "hexagon"},
        )
    message = str(info.value)
    assert "<in-memory recording>" in message
    for part in (
        "duplicated",
        "not monotonic",
        "individual_names must be unique",
        "arena['shape']",
        "never tracked",
    ):
        assert part in message, part


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"position": np.zeros((5, 3))}, "position must have shape"),
        ({"position": np.zeros((5, 2))}, "no time axis"),
        ({"position": np.zeros((5, 2)), "time": np.arange(4.0)}, "time has 4 values for 5 positions"),
        ({"position": np.zeros((5, 2)), "fps": -3}, "fps must be a positive"),
        ({"position": np.zeros((5, 2)), "fps": 10, "confidence": np.zeros(4)}, "confidence must have shape"),
        ({"position": np.zeros((5, 2)), "fps": 10, "confidence": np.full(5, 1.5)}, "outside [0, 1]"),
        ({"position": np.zeros((5, 2)), "fps": 10, "arena": {"shape": "box", "width": 1}}, "arena['height']"),
        ({"position": np.full((5, 2), np.inf), "fps": 10}, "infinite"),
        (
            {"position": np.zeros((5, 2)), "fps": 10, "keypoint_names": ["a", "b"]},
            "keypoint_names has 2 names",
        ),
    ],
)
def test_from_arrays_rejects_bad_input_with_a_value_error(kwargs, expected):
    position = kwargs.pop("position")
    with pytest.raises(ValueError, match=None) as info:
        nd.from_arrays(position, **kwargs)
    assert expected in str(info.value)


def test_validate_names_the_file_and_gathers_problems():
    rec = nd.from_arrays(np.zeros((3, 2)), fps=5, source_file="/data/x.slp")
    broken = rec.rename({"keypoint": "keypoints"})
    broken.attrs["fps"] = 0
    broken.attrs["arena_shape"] = "triangle"
    with pytest.raises(ValueError) as info:
        nd.validate(broken)
    message = str(info.value)
    assert message.startswith("/data/x.slp")
    for part in ("plural names", "attrs['fps']", "attrs['arena_shape']", "position must have dims"):
        assert part in message, part
    assert nd.validate(rec) is rec


def test_validate_checks_segment_consistency_and_processing_json():
    rec = nd.from_arrays(np.array([[0.0, 0.0], [np.nan, np.nan], [1.0, 1.0]]), fps=1)
    good = rec.assign(segment=(("time", "individual"), np.array([[0], [-1], [1]])))
    nd.validate(good)
    bad = rec.assign(segment=(("time", "individual"), np.array([[0], [0], [1]])))
    bad.attrs["processing"] = "not json"
    with pytest.raises(ValueError) as info:
        nd.validate(bad)
    assert "segment must be -1 exactly where" in str(info.value)
    assert "attrs['processing']" in str(info.value)
    with pytest.raises(ValueError, match="a Recording is an xarray.Dataset"):
        nd.validate(xr.DataArray([1.0]))


def test_add_processing_step_appends_without_touching_the_input():
    rec = nd.from_arrays(np.zeros((3, 2)), fps=5)
    out = nd.add_processing_step(rec, {"step": "smooth", "window": np.int64(3)})
    assert nd.processing_of(out) == [{"step": "smooth", "window": 3}]
    assert nd.processing_of(rec) == []
    with pytest.raises(ValueError, match="'step' key"):
        nd.add_processing_step(rec, {"window": 3})


def test_arena_of_unknown_is_none():
    assert nd.arena_of(nd.from_arrays(np.zeros((3, 2)), fps=5)) is None
