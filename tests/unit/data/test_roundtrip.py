"""Round trips: load -> save -> load is lossless for every format; movement conversion both ways in both
dim namings; NWB export read back by load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import neuroethology.data as nd

FORMATS = [
    "sleap", "sleap-analysis", "deeplabcut-h5", "deeplabcut-csv", "idtracker", "nwb-pose", "nwb-position",
    "nwb-own", "npz", "csv", "netcdf",
]  # fmt: skip


def assert_same_recording(a: xr.Dataset, b: xr.Dataset) -> None:
    """Identical values, coords, variable attrs and dataset attrs, with the same Python types."""
    xr.testing.assert_identical(a, b)
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.variables:
        assert a[name].dtype == b[name].dtype, name
    for key, value in a.attrs.items():
        assert type(b.attrs[key]) is type(value), (key, type(value), type(b.attrs[key]))


def load_write_load(sample, write) -> tuple[xr.Dataset, Path, xr.Dataset]:
    """The sample loaded, the file ``write(recording)`` wrote, and that file loaded."""
    first = nd.load(sample.path, **sample.options)
    written = write(first)
    return first, written, nd.load(written)


@pytest.mark.parametrize("name", FORMATS)
def test_load_save_load_is_lossless(sample_files, tmp_path, name):
    first, _, second = load_write_load(sample_files[name], lambda rec: nd.save(rec, tmp_path / "copy.nc"))
    assert_same_recording(first, second)
    assert second.attrs["source_file"] == first.attrs["source_file"]  # provenance: the original file


def test_save_keeps_structured_attrs_and_real_data(tmp_path, shared_file):
    rec = nd.load(shared_file("sleap_fly_pair", "clip.slp"), fps=30.0, scale=1e-4, max_gap=0.1)
    rec.attrs.update(notes={"trial": 2, "tags": ["x", "y"]}, flag=False, empty=None, scores=[0.5, 1.0])
    back = nd.load(nd.save(rec, tmp_path / "fly.nc"))
    assert_same_recording(rec, back)
    assert back.attrs["notes"] == {"trial": 2, "tags": ["x", "y"]} and back.attrs["flag"] is False
    assert back.attrs["empty"] is None and back.attrs["scores"] == [0.5, 1.0]
    assert isinstance(back.attrs["processing"], str) and json.loads(back.attrs["processing"])


def test_save_is_atomic(tmp_path, monkeypatch):
    rec = nd.from_arrays(np.zeros((4, 2)), fps=10)
    target = tmp_path / "rec.nc"
    nd.save(rec, target)
    before = target.read_bytes()

    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", crash)
    with pytest.raises(KeyboardInterrupt):
        nd.save(nd.from_arrays(np.ones((5, 2)), fps=10), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]


def test_save_refuses_invalid_recordings_and_other_suffixes(tmp_path):
    rec = nd.from_arrays(np.zeros((4, 2)), fps=10)
    with pytest.raises(ValueError, match=r"\.nc"):
        nd.save(rec, tmp_path / "rec.csv")
    bad = rec.copy()
    bad.attrs["fps"] = -1
    with pytest.raises(ValueError, match="attrs\\['fps'\\]"):
        nd.save(bad, tmp_path / "rec.nc")
    assert not (tmp_path / "rec.nc").exists()


@pytest.mark.parametrize("naming", ["plural", "singular"])
@pytest.mark.parametrize("name", ["sleap", "idtracker", "netcdf"])
def test_movement_conversion_round_trips(sample_files, name, naming):
    sample = sample_files[name]
    rec = nd.load(sample.path, **sample.options)
    mds = nd.to_movement(rec, naming=naming)
    dims = ("keypoints", "individuals") if naming == "plural" else ("keypoint", "individual")
    assert mds["position"].dims == ("time", "space", *dims)
    assert mds.attrs["ds_type"] == "poses" and mds.attrs["time_unit"] == "seconds"
    assert_same_recording(nd.from_movement(mds), rec)


def test_auto_naming_matches_the_installed_movement():
    import movement
    from movement.validators.datasets import ValidPosesInputs

    rec = nd.from_arrays(np.zeros((3, 2)), fps=10)
    mds = nd.to_movement(rec)
    expected = "keypoints" if "keypoints" in ValidPosesInputs.DIM_NAMES else "keypoint"
    assert expected in mds.dims, movement.__version__
    with pytest.raises(ValueError, match="naming"):
        nd.to_movement(rec, naming="both")


def test_movement_kinematics_run_on_the_converted_recording():
    from movement.kinematics import compute_velocity

    t = np.arange(20) / 10.0
    rec = nd.from_arrays(np.column_stack([0.5 * t, np.zeros_like(t)]), time=t)
    velocity = compute_velocity(nd.to_movement(rec)["position"])
    np.testing.assert_allclose(velocity.sel(space="x").values, 0.5)


def test_from_movement_reads_movement_loader_output(sample_files):
    """A dataset from movement's own SLEAP loader (plural dims, time in frames, pixels) needs fps and
    units."""
    from movement.io import load_poses

    sample = sample_files["sleap-analysis"]
    mds = load_poses.from_sleap_file(sample.path, fps=None)
    with pytest.raises(ValueError) as info:
        nd.from_movement(mds)
    assert "no frame rate" in str(info.value) and "missing calibration" in str(info.value)
    rec = nd.from_movement(mds, fps=25.0, scale=0.001)
    np.testing.assert_allclose(rec["position"].values, sample.position * 0.001, atol=1e-12)
    np.testing.assert_allclose(rec["time"].values, sample.time)
    singular = mds.rename({"keypoints": "keypoint", "individuals": "individual"})
    assert_same_recording(nd.from_movement(singular, fps=25.0, scale=0.001), rec)
    again = nd.to_movement(rec, naming="plural")
    np.testing.assert_allclose(again["position"].values, mds["position"].values * 0.001, atol=1e-9)


@pytest.mark.parametrize("name", FORMATS)
def test_nwb_export_round_trips_through_load(sample_files, tmp_path, name):
    rec, path, back = load_write_load(sample_files[name], lambda r: nd.to_nwb(r, tmp_path / "export.nwb"))
    assert back.attrs["source_file"] == str(path)
    back.attrs["source_file"] = rec.attrs["source_file"]
    assert_same_recording(rec, back)


def test_nwb_export_keeps_simulation_variables(tmp_path):
    n = 12
    rec = nd.from_arrays(
        np.random.default_rng(0).uniform(0, 1, size=(n, 2, 1, 2)),
        fps=20,
        individual_names=["agent0", "agent1"],
        arena={"shape": "box", "width": 1.0, "height": 1.0},
        variables={
            "heading": (("time", "individual"), np.zeros((n, 2)), {"units": "rad"}),
            "action": (("time", "action_dim", "individual"), np.ones((n, 2, 2))),
            "episode": (("time", "individual"), np.zeros((n, 2), dtype=np.int64)),
            "trial_reward": (("trial",), np.array([1.0, 0.0, 1.0])),
        },
    ).assign_coords(action_dim=["acceleration", "angular_velocity"])
    back = nd.load(nd.to_nwb(rec, tmp_path / "sim.nwb"))
    back.attrs["source_file"] = rec.attrs["source_file"]
    assert_same_recording(rec, back)
