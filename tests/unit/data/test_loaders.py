"""Loaders: the real recordings in ../shared/data, the bundled rat, and one generated file per format."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

import neuroethology.data as nd
from neuroethology.datasets import SARGOLINI_CITATION, sargolini

SLEAP_NODES = [
    "head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4", "midlegL4", "midlegR4",
    "hindlegL4", "hindlegR4", "eyeL", "eyeR",
]  # fmt: skip


# ------------------------------------------------------------------------------------------- real files


def test_sleap_fly_pair_needs_fps_and_calibration(shared_file):
    path = shared_file("sleap_fly_pair", "clip.slp")
    with pytest.raises(ValueError) as info:
        nd.load(path)
    message = str(info.value)
    assert str(path) in message
    assert "no frame rate" in message and "fps=" in message
    assert "missing calibration" in message  # both problems in one error


def test_sleap_fly_pair_loads_with_fps(shared_file):
    path = shared_file("sleap_fly_pair", "clip.slp")
    rec = nd.load(path, fps=30.0, scale=1e-4)
    assert dict(rec.sizes) == {"time": 1500, "space": 2, "keypoint": 13, "individual": 2}
    assert rec["individual"].values.tolist() == ["female", "male"]
    assert rec["keypoint"].values.tolist() == SLEAP_NODES
    np.testing.assert_allclose(rec["time"].values, np.arange(1500) / 30.0)
    assert rec.attrs["source_software"] == "SLEAP" and rec.attrs["fps"] == 30.0
    assert rec.attrs["source_file"] == str(path)
    # SOURCE.md: 1.6% of points are NaN (not visible); quarter-pixel positions scaled by 1e-4 m/px
    assert np.isnan(rec["position"].values).mean() == pytest.approx(0.016, abs=0.003)
    px = rec["position"].values / 1e-4
    finite = px[np.isfinite(px)]
    np.testing.assert_allclose(finite * 4, np.round(finite * 4), atol=1e-6)
    steps = [s["step"] for s in nd.processing_of(rec)]
    assert steps[0] == "calibrate" and "segment" in steps
    nd.validate(rec)


def test_sleap_fly_pair_centroid_with_gap_filling(shared_file):
    rec = nd.load(
        shared_file("sleap_fly_pair", "clip.slp"), fps=30.0, units="pixels", centroid=True, max_gap=0.2
    )
    assert dict(rec.sizes) == {"time": 1500, "space": 2, "keypoint": 1, "individual": 2}
    assert rec.attrs["space_unit"] == "pixels"
    assert [s["step"] for s in nd.processing_of(rec)] == ["keep_pixels", "centroid", "interpolate", "segment"]
    assert (rec["segment"].values >= 0).mean() > 0.95


def test_idtracker_group_loads_with_its_own_frame_rate(shared_file):
    path = shared_file("idtracker_8_animals", "trajectories.h5")
    with pytest.raises(ValueError, match="missing calibration"):
        nd.load(path)
    body_length_px = 57.70181956601033
    rec = nd.load(path, scale=0.03 / body_length_px)  # 3 cm body length (illustrative calibration)
    assert dict(rec.sizes) == {"time": 508, "space": 2, "keypoint": 1, "individual": 8}
    assert rec.attrs["fps"] == 28.0 and rec.attrs["source_software"] == "idtracker.ai"
    assert rec["individual"].values.tolist() == [str(i) for i in range(1, 9)]
    np.testing.assert_allclose(rec["time"].values[-1], 507 / 28.0)
    assert rec.attrs["idtracker_body_length_px"] == pytest.approx(body_length_px)
    assert np.isnan(rec["position"].values).mean() == pytest.approx(0.0017, abs=0.0005)  # SOURCE.md: 0.17 %
    with pytest.raises(ValueError, match="contradicts the frame rate"):
        nd.load(path, fps=30.0, units="pixels")


def test_idtracker_group_matches_a_direct_h5py_read(shared_file):
    import h5py

    path = shared_file("idtracker_8_animals", "trajectories.h5")
    with h5py.File(path, "r") as f:
        xy = f["trajectories"][()]
    rec = nd.load(path, units="pixels")
    np.testing.assert_array_equal(rec["position"].values[:, :, 0, :], np.transpose(xy, (0, 2, 1)))


def test_bundled_sargolini_rat():
    rec = sargolini()
    assert dict(rec.sizes) == {"time": 29983, "space": 2, "keypoint": 1, "individual": 1}
    assert rec["individual"].values.tolist() == ["rat"]
    assert rec.attrs["fps"] == 50.0
    assert nd.arena_of(rec) == {"shape": "box", "width": 1.0, "height": 1.0}
    assert rec.attrs["citation"] == SARGOLINI_CITATION and "Science 312:758" in rec.attrs["citation"]
    assert "eLife" in rec.attrs["citation"]
    t = rec["time"].values
    assert t[0] == pytest.approx(0.1) and t[-1] == pytest.approx(599.74)
    np.testing.assert_allclose(np.diff(t), 0.02, atol=1e-9)
    steps = {s["step"]: s for s in nd.processing_of(rec)}
    assert steps["regularise"]["n_missing_frames_inserted"] == 183
    assert steps["interpolate"]["n_filled"] == 127
    assert steps["segment"]["n_segments_per_individual"] == {"rat": 7}
    assert (rec["segment"].values == -1).sum() == 183 - 127
    xy = rec["position"].values[:, :, 0, 0]
    assert np.nanmin(xy) > 0 and np.nanmax(xy) < 1  # inside the 1 x 1 m box
    nd.validate(rec)


def test_bundled_rat_matches_the_raw_file_where_it_was_tracked(sargolini_npz):
    raw = np.load(sargolini_npz)
    rec = sargolini(max_gap=0.0)
    idx = np.rint((raw["t"] - raw["t"][0]) * 50).astype(int)
    np.testing.assert_array_equal(rec["position"].values[idx, :, 0, 0], raw["pos"])
    assert np.isnan(rec["position"].values).any(axis=(1, 2, 3)).sum() == 183


def test_bundled_rat_resampled_to_an_environment_dt():
    rec = sargolini(dt=0.1)
    np.testing.assert_allclose(np.diff(rec["time"].values), 0.1, atol=1e-9)
    assert rec.attrs["fps"] == 10.0 and nd.processing_of(rec)[-1]["step"] == "resample"


# ----------------------------------------------------------------------------------------- every format

FORMAT_SOFTWARE = {
    "sleap": "SLEAP",
    "sleap-analysis": "SLEAP",
    "deeplabcut-h5": "DeepLabCut",
    "deeplabcut-csv": "DeepLabCut",
    "idtracker": "idtracker.ai",
    "nwb-pose": "DeepLabCut",
    "nwb-position": "NWB",
    "nwb-own": "neuroethology",
    "npz": "ratinabox",
    "csv": "table",
    "netcdf": "neuroethology",
}


@pytest.mark.parametrize("name", sorted(FORMAT_SOFTWARE))
def test_each_format_loads_the_values_written(sample_files, name):
    sample = sample_files[name]
    rec = nd.load(sample.path, **sample.options)
    np.testing.assert_allclose(rec["position"].values, sample.position, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rec["time"].values, sample.time, rtol=0, atol=1e-12)
    assert rec.attrs["source_software"] == FORMAT_SOFTWARE[name]
    assert rec.attrs["source_file"] in (str(sample.path), "")
    nd.validate(rec)


@pytest.mark.parametrize("name", ["sleap", "sleap-analysis", "deeplabcut-h5", "deeplabcut-csv", "idtracker"])
def test_pose_formats_refuse_pixels_without_calibration(sample_files, name):
    sample = sample_files[name]
    options = {k: v for k, v in sample.options.items() if k != "units"}
    with pytest.raises(ValueError, match="missing calibration") as info:
        nd.load(sample.path, **options)
    assert str(sample.path) in str(info.value)


@pytest.mark.parametrize("name", ["sleap-analysis", "deeplabcut-h5", "deeplabcut-csv"])
def test_frame_formats_ask_for_fps(sample_files, name):
    sample = sample_files[name]
    with pytest.raises(ValueError, match=r"no frame rate: .* pass fps="):
        nd.load(sample.path, units="pixels")


@pytest.mark.parametrize(
    "name",
    [
        "sleap-analysis",
        "deeplabcut-h5",
        "deeplabcut-csv",
        "idtracker",
        "nwb-pose",
        "csv",
        "netcdf",
        "nwb-own",
    ],
)
def test_confidence_scores_are_kept(sample_files, name):
    sample = sample_files[name]
    rec = nd.load(sample.path, **sample.options)
    expected = sample.confidence
    tracked = np.isfinite(expected)
    np.testing.assert_allclose(rec["confidence"].values[tracked], expected[tracked], rtol=0, atol=1e-7)


def test_detected_formats(sample_files):
    from neuroethology.data.formats import detect_format

    expected = {
        "sleap": "sleap", "sleap-analysis": "sleap-analysis", "deeplabcut-h5": "deeplabcut",
        "deeplabcut-csv": "deeplabcut", "idtracker": "idtracker", "nwb-pose": "nwb", "nwb-position": "nwb",
        "nwb-own": "nwb", "npz": "npz", "csv": "csv", "netcdf": "netcdf",
    }  # fmt: skip
    assert {name: detect_format(s.path) for name, s in sample_files.items()} == expected


def test_format_is_detected_from_content_not_extension(sample_files, tmp_path):
    renamed = tmp_path / "tracks.data"
    renamed.write_bytes(sample_files["idtracker"].path.read_bytes())
    rec = nd.load(renamed, units="pixels")
    assert rec.attrs["source_software"] == "idtracker.ai"
    forced = nd.load(sample_files["csv"].path, format="CSV")
    assert forced.sizes["individual"] == 2
    with pytest.raises(ValueError, match="unknown format 'xls'"):
        nd.load(sample_files["csv"].path, format="xls")


def test_keypoint_and_individual_selection(sample_files):
    sample = sample_files["sleap-analysis"]
    rec = nd.load(sample.path, **sample.options, keypoint="tail", individuals=["bob"])
    np.testing.assert_array_equal(rec["position"].values[:, :, 0, 0], sample.position[:, :, 2, 1])
    assert [s["step"] for s in nd.processing_of(rec)][:3] == [
        "select_individuals",
        "keep_pixels",
        "select_keypoint",
    ]
    with pytest.raises(ValueError) as info:
        nd.load(sample.path, **sample.options, keypoint="paw", individuals=["carol"])
    assert "keypoint 'paw' not found" in str(info.value) and "individuals ['carol'] not found" in str(
        info.value
    )
    assert "snout" in str(info.value)


def test_conflicting_options_are_reported_together(sample_files):
    with pytest.raises(ValueError) as info:
        nd.load(
            sample_files["npz"].path,
            scale=-1,
            keypoint="a",
            centroid=True,
            resample=50,
            dt=0.02,
            arena={"shape": "box"},
            max_gap=-1,
        )
    message = str(info.value)
    for part in (
        "scale= must be a positive",
        "keypoint= or centroid=True",
        "resample= (Hz) or dt=",
        "arena['width']",
        "max_gap=",
    ):
        assert part in message, part


def test_arena_option_and_metre_units(sample_files):
    rec = nd.load(sample_files["npz"].path, arena={"shape": "circle", "radius": 0.5})
    assert nd.arena_of(rec) == {"shape": "circle", "radius": 0.5}
    with pytest.raises(ValueError, match="already in metres"):
        nd.load(sample_files["nwb-position"].path, scale=0.01)


def test_table_columns_are_configurable(tmp_path):
    path = tmp_path / "custom.csv"
    path.write_text("frame_no,X,Y,who\n0,1.0,2.0,a\n1,1.5,2.5,a\n0,3.0,4.0,b\n2,3.5,4.5,b\n")
    rec = nd.load(path, columns={"frame": "frame_no", "x": "X", "y": "Y", "individual": "who"}, fps=10)
    assert rec["individual"].values.tolist() == ["a", "b"]
    np.testing.assert_allclose(rec["time"].values, [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(rec["position"].values[:, 0, 0, 1], [3.0, np.nan, 3.5])
    with pytest.raises(ValueError) as info:
        nd.load(path, columns={"x": "X", "y": "lat"})
    assert "'lat'" in str(info.value) and "frame_no" in str(info.value)


def test_table_in_centimetres_is_scaled(tmp_path):
    path = tmp_path / "cm.csv"
    path.write_text("t,x,y\n0.0,10,20\n0.5,12,24\n1.0,14,28\n")
    rec = nd.load(path, scale=0.01)
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], [[0.1, 0.2], [0.12, 0.24], [0.14, 0.28]])
    assert rec.attrs["fps"] == 2.0
    assert nd.processing_of(rec)[0]["from_unit"] == "file units"


def test_parquet_without_an_engine_names_the_missing_dependency(tmp_path, monkeypatch):
    path = tmp_path / "track.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 16 + b"PAR1")
    has_engine = importlib.util.find_spec("pyarrow") or importlib.util.find_spec("fastparquet")
    if has_engine:
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ImportError, match="pyarrow") as info:
        nd.load(path)
    assert str(path) in str(info.value) and "neuroethology[parquet]" in str(info.value)


def test_parquet_goes_through_the_table_reader(tmp_path, monkeypatch):
    """Parquet tables share the CSV path; pandas' reader is replaced by a DataFrame where no engine exists."""
    import neuroethology.data.formats as formats

    frame = pd.DataFrame({"time": [0.0, 0.1, 0.2], "x": [0.1, 0.2, 0.3], "y": [0.5, 0.5, 0.5]})
    path = tmp_path / "track.parquet"
    if importlib.util.find_spec("pyarrow") or importlib.util.find_spec("fastparquet"):
        frame.to_parquet(path)
    else:
        path.write_bytes(b"PAR1 stand-in")
        monkeypatch.setattr(formats, "require_parquet_engine", lambda p: None)
        monkeypatch.setattr(pd, "read_parquet", lambda p: frame.copy())
    rec = nd.load(path)
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], frame[["x", "y"]].to_numpy())
    assert rec.attrs["fps"] == 10.0


def test_nwb_export_is_readable_by_pynwb(sample_files):
    import pynwb

    sample = sample_files["nwb-own"]
    with pynwb.NWBHDF5IO(str(sample.path), "r") as io:
        nwbfile = io.read()
        position = nwbfile.processing["behavior"]["Position"]
        series = position.spatial_series["alice_centre"]
        assert series.unit == "meters"
        np.testing.assert_allclose(series.data[()], sample.position[:, :, 1, 0])
        np.testing.assert_allclose(series.timestamps[()], sample.time)
        assert len(position.spatial_series) == 6
        assert "heading_bob" in nwbfile.processing["behavior"]["variables"].time_series


def test_nwb_position_in_centimetres_is_converted(tmp_path):
    from data_files import metre_track, write_nwb_position

    t, xy = metre_track()
    write_nwb_position(tmp_path / "cm.nwb", t, xy * 100, unit="cm")
    rec = nd.load(tmp_path / "cm.nwb")
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], xy, atol=1e-12)
    assert rec["individual"].values.tolist() == ["rat7"] and rec["keypoint"].values.tolist() == ["led"]


def test_module_docstring_shows_what_the_bundled_rat_prints():
    """The data model is documented by a printed Dataset (STYLE.md); it must not drift from the code."""
    import xarray as xr

    with xr.set_options(display_width=100, display_max_rows=20):
        printed = repr(sargolini()).splitlines()
    documented = [line.strip() for line in nd.__doc__.splitlines()]
    for line in printed:
        if line.strip().startswith(("Dimensions:", "* ", "position", "confidence", "segment")):
            assert line.strip() in documented, line
    names = [line.split(":")[0].strip() for line in printed[printed.index("Attributes:") + 1 :]]
    assert all(any(d.startswith(name + ":") for d in documented) for name in names)


def test_netcdf_written_by_movement(sample_files, tmp_path):
    """movement's own datasets saved to netCDF (plural dims, pixels, extra variables) load like its files."""
    from movement.io import load_poses
    from movement.kinematics import compute_velocity

    sample = sample_files["sleap-analysis"]
    mds = load_poses.from_sleap_file(sample.path, fps=25.0)
    mds["velocity"] = compute_velocity(mds["position"])
    path = tmp_path / "movement.nc"
    mds.to_netcdf(path)
    with pytest.raises(ValueError, match="missing calibration"):
        nd.load(path)
    rec = nd.load(path, scale=0.001)
    np.testing.assert_allclose(rec["position"].values, sample.position * 0.001, atol=1e-9)
    assert rec["velocity"].dims == ("time", "space", "keypoint", "individual")  # kept, not dropped
    assert nd.processing_of(rec)[0]["variables_left_in_file_units"] == ["velocity"]


def test_corner_calibration_through_load(sample_files):
    from neuroethology.data.processing import apply_homography, homography

    sample = sample_files["idtracker"]
    corners = [[50.0, 450.0], [450.0, 460.0], [440.0, 60.0], [60.0, 50.0]]  # image y down: arena y up
    rec = nd.load(sample.path, arena_corners=corners, arena_size=(1.0, 1.0))
    h = homography(np.array(corners), np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float))
    expected = np.moveaxis(apply_homography(h, np.moveaxis(sample.position, 1, -1)), -1, 1)
    np.testing.assert_allclose(rec["position"].values, expected, atol=1e-12)
    assert nd.arena_of(rec) == {"shape": "box", "width": 1.0, "height": 1.0}
    assert nd.processing_of(rec)[0]["method"] == "arena_corners"
    with pytest.raises(ValueError) as info:
        nd.load(sample.path, arena_corners=corners[:3])
    assert "shape (4, 2)" in str(info.value) and "arena_size=(width, height)" in str(info.value)
