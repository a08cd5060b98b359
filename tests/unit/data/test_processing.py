"""Gap handling, segments, resampling, calibration and keypoint selection against analytic cases."""

from __future__ import annotations

import numpy as np
import pytest

import neuroethology.data as nd
from neuroethology.data.processing import apply_homography, homography

FPS = 50.0


def line(t: np.ndarray) -> np.ndarray:
    """A straight line at constant velocity (0.3, 0.1) m/s from (0.1, 0.2) m."""
    return np.column_stack([0.1 + 0.3 * t, 0.2 + 0.1 * t])


def line_with_gaps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(100) / FPS
    truth = line(t)
    xy = truth.copy()
    xy[30:35] = np.nan  # 5 frames = 0.1 s
    xy[60:80] = np.nan  # 20 frames = 0.4 s
    return t, truth, xy


def test_interpolation_restores_a_straight_line_and_leaves_long_gaps():
    t, truth, xy = line_with_gaps()
    rec = nd.interpolate_gaps(nd.from_arrays(xy, time=t, fps=FPS), max_gap=0.1)
    pos = rec["position"].values[:, :, 0, 0]
    np.testing.assert_allclose(pos[30:35], truth[30:35], rtol=0, atol=1e-12)
    assert np.isnan(pos[60:80]).all()
    np.testing.assert_array_equal(pos[:30], truth[:30])
    step = nd.processing_of(rec)[-1]
    assert step["step"] == "interpolate" and step["n_filled"] == 5 and step["max_gap_s"] == 0.1
    assert step["n_gaps_filled_per_individual"] == {"id_0": 1}


def test_gap_of_exactly_max_gap_is_filled_and_one_frame_longer_is_not():
    t, truth, xy = line_with_gaps()
    rec = nd.interpolate_gaps(nd.from_arrays(xy, time=t, fps=FPS), max_gap=0.4)
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], truth, atol=1e-12)
    rec = nd.interpolate_gaps(nd.from_arrays(xy, time=t, fps=FPS), max_gap=0.38)
    assert nd.processing_of(rec)[-1]["n_filled"] == 5


def test_gaps_at_the_ends_are_never_extrapolated():
    t = np.arange(10) / FPS
    xy = line(t)
    xy[:2] = np.nan
    xy[-3:] = np.nan
    rec = nd.interpolate_gaps(nd.from_arrays(xy, time=t), max_gap=10.0)
    pos = rec["position"].values[:, :, 0, 0]
    assert np.isnan(pos[:2]).all() and np.isnan(pos[-3:]).all()
    assert nd.processing_of(rec)[-1]["n_filled"] == 0


def test_segments_number_the_tracked_stretches():
    t, _, xy = line_with_gaps()
    rec = nd.label_segments(nd.from_arrays(xy, time=t))
    seg = rec["segment"].values[:, 0]
    np.testing.assert_array_equal(seg[:30], 0)
    np.testing.assert_array_equal(seg[30:35], -1)
    np.testing.assert_array_equal(seg[35:60], 1)
    np.testing.assert_array_equal(seg[60:80], -1)
    np.testing.assert_array_equal(seg[80:], 2)
    assert nd.processing_of(rec)[-1]["n_segments_per_individual"] == {"id_0": 3}
    nd.validate(rec)


def test_a_point_with_any_missing_keypoint_is_untracked_for_segments():
    pos = np.zeros((4, 2, 2, 1))
    pos[2, :, 1, 0] = np.nan
    rec = nd.label_segments(nd.from_arrays(pos, fps=1.0))
    np.testing.assert_array_equal(rec["segment"].values[:, 0], [0, 0, -1, 1])


def test_time_jumps_split_segments_on_an_irregular_axis():
    t = np.array([0.0, 0.02, 0.04, 0.30, 0.32])
    rec = nd.label_segments(nd.from_arrays(np.zeros((5, 2)), time=t, fps=FPS))
    np.testing.assert_array_equal(rec["segment"].values[:, 0], [0, 0, 0, 1, 1])
    bridged = nd.label_segments(nd.from_arrays(np.zeros((5, 2)), time=t, fps=FPS), max_gap=0.3)
    np.testing.assert_array_equal(bridged["segment"].values[:, 0], [0, 0, 0, 0, 0])


def test_loading_timestamps_with_missing_frames_restores_the_line(tmp_path):
    """The Sargolini case: a 50 Hz file whose time stamps skip frames; with its frame rate stated (fps=),
    regularise + interpolate is exact. Without it the time stamps are kept as recorded (no frame inserted)."""
    t = 0.1 + np.arange(200) / FPS
    truth = line(t)
    keep = np.ones(200, dtype=bool)
    keep[[20, 21, 22]] = False  # 0.06 s gap
    keep[100:130] = False  # 0.6 s gap
    np.savez(tmp_path / "rat.npz", t=t[keep], pos=truth[keep])
    as_recorded = nd.load(tmp_path / "rat.npz", max_gap=0.1)
    assert as_recorded.sizes["time"] == keep.sum() and as_recorded.attrs["time_sampling"] == "as recorded"
    rec = nd.load(tmp_path / "rat.npz", max_gap=0.1, fps=FPS)
    assert rec.attrs["time_sampling"] == "frames"
    np.testing.assert_allclose(rec["time"].values, t, atol=1e-12)
    pos = rec["position"].values[:, :, 0, 0]
    np.testing.assert_allclose(pos[:100], truth[:100], atol=1e-12)
    assert np.isnan(pos[100:130]).all()
    np.testing.assert_allclose(pos[130:], truth[130:], atol=1e-12)
    steps = {s["step"]: s for s in nd.processing_of(rec)}
    assert steps["regularise"]["n_missing_frames_inserted"] == 33
    assert steps["interpolate"]["n_filled"] == 3
    assert steps["segment"]["n_segments_per_individual"] == {"id_0": 2}
    np.testing.assert_array_equal(np.unique(rec["segment"].values), [-1, 0, 1])


def test_resampling_a_known_function_is_within_the_linear_interpolation_bound():
    f0 = 0.5  # Hz
    t = np.arange(0, 4, 1 / 30)
    xy = np.column_stack([np.sin(2 * np.pi * f0 * t), np.cos(2 * np.pi * f0 * t)])
    rec = nd.resample(nd.from_arrays(xy, time=t, fps=30.0), dt=0.02)
    grid = rec["time"].values
    np.testing.assert_allclose(np.diff(grid), 0.02, atol=1e-12)
    assert grid[0] == t[0] and grid[-1] <= t[-1] + 1e-12 and grid[-1] > t[-1] - 0.02
    expected = np.column_stack([np.sin(2 * np.pi * f0 * grid), np.cos(2 * np.pi * f0 * grid)])
    error = np.abs(rec["position"].values[:, :, 0, 0] - expected).max()
    bound = (2 * np.pi * f0) ** 2 * (1 / 30) ** 2 / 8  # max |f''| h^2 / 8 for linear interpolation
    assert 0.1 * bound < error <= bound
    assert rec.attrs["fps"] == 50.0
    step = nd.processing_of(rec)[-1]
    assert (step["step"], step["from_fps"], step["to_fps"]) == ("resample", 30.0, 50.0)
    nd.validate(rec)


def test_resampling_a_line_is_exact_and_never_bridges_a_gap():
    t, truth, xy = line_with_gaps()
    rec = nd.resample(nd.label_segments(nd.from_arrays(xy, time=t, fps=FPS)), fps=30.0)
    grid = rec["time"].values
    pos = rec["position"].values[:, :, 0, 0]
    seg = rec["segment"].values[:, 0]
    tracked = seg >= 0
    np.testing.assert_allclose(pos[tracked], line(grid[tracked]), atol=1e-12)
    in_gap = ((grid > t[29]) & (grid < t[35])) | ((grid > t[59]) & (grid < t[80]))
    assert in_gap.any()
    assert np.isnan(pos[in_gap]).all() and (seg[in_gap] == -1).all()
    assert (seg[~in_gap] >= 0).all()
    assert sorted(set(seg[tracked])) == [0, 1, 2]
    nd.validate(rec)


def test_resample_refuses_variables_it_cannot_interpolate():
    rec = nd.from_arrays(
        np.zeros((5, 2)), fps=10, variables={"heading": (("time", "individual"), np.zeros((5, 1)))}
    )
    with pytest.raises(ValueError, match="heading"):
        nd.resample(rec, dt=0.05)


def test_load_resamples_to_an_environment_dt(tmp_path):
    t = np.arange(0, 2, 1 / 30)
    np.savez(tmp_path / "track.npz", t=t, pos=line(t))
    rec = nd.load(tmp_path / "track.npz", dt=0.02)
    np.testing.assert_allclose(np.diff(rec["time"].values), 0.02, atol=1e-12)
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], line(rec["time"].values), atol=1e-12)
    assert rec.attrs["fps"] == 50.0


def test_scale_calibration_multiplies_pixels_into_metres():
    px = np.array([[100.0, 200.0], [110.0, 190.0]])
    rec = nd.from_arrays(px, fps=10, attrs={"space_unit": "pixels"})
    out = nd.calibrate(rec, scale=0.002)
    np.testing.assert_allclose(out["position"].values[:, :, 0, 0], px * 0.002)
    assert out.attrs["space_unit"] == "m" and out["position"].attrs["units"] == "m"
    step = nd.processing_of(out)[-1]
    assert step == {"step": "calibrate", "method": "scale", "metres_per_unit": 0.002, "from_unit": "pixels"}


def test_corner_calibration_inverts_a_tilted_camera():
    """Arena points seen through a known projective map (tilted camera, y down) come back exactly."""
    width, height = 1.2, 0.8
    cam = np.array([[400.0, 30.0, 120.0], [-20.0, -380.0, 500.0], [0.05, 0.1, 1.0]])  # metres -> pixels
    corners_m = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)
    corners_px = apply_homography(cam, corners_m)
    rng = np.random.default_rng(0)
    truth = rng.uniform([0, 0], [width, height], size=(40, 2))
    rec = nd.from_arrays(apply_homography(cam, truth), fps=25, attrs={"space_unit": "pixels"})
    out = nd.calibrate(rec, arena_corners=corners_px, arena_size=(width, height))
    np.testing.assert_allclose(out["position"].values[:, :, 0, 0], truth, atol=1e-9)
    assert nd.arena_of(out) == {"shape": "box", "width": width, "height": height}
    np.testing.assert_allclose(homography(corners_m, corners_px), cam / cam[2, 2], atol=1e-9)


def test_degenerate_corners_are_refused():
    rec = nd.from_arrays(np.zeros((3, 2)), fps=10, attrs={"space_unit": "pixels"})
    with pytest.raises(ValueError, match="degenerate"):
        nd.calibrate(rec, arena_corners=[[0, 0], [1, 1], [2, 2], [3, 3]], arena_size=1.0)


def test_centroid_is_the_mean_of_the_tracked_keypoints_and_counts_partial_frames():
    pos = np.zeros((3, 2, 3, 1))
    pos[:, 0, :, 0] = [[0, 1, 2], [3, 4, 5], [6, np.nan, 9]]
    pos[:, 1, :, 0] = [[1, 1, 1], [2, 2, 2], [3, np.nan, 6]]
    conf = np.array([[0.2, 0.4, 0.6], [1, 1, 1], [0.5, np.nan, 0.7]])[:, :, None]
    rec = nd.from_arrays(pos, fps=10, confidence=conf, keypoint_names=["a", "b", "c"])
    out = nd.select_keypoints(rec, centroid=True)
    np.testing.assert_allclose(out["position"].values[:, :, 0, 0], [[1, 1], [4, 2], [7.5, 4.5]])
    np.testing.assert_allclose(out["confidence"].values[:, 0, 0], [0.4, 1.0, 0.6])
    assert out["keypoint"].values.tolist() == ["centroid"]
    assert nd.processing_of(out)[-1]["n_samples_from_some_keypoints"] == 1
    one = nd.select_keypoints(rec, keypoint="c")
    np.testing.assert_array_equal(one["position"].values[:, :, 0, 0], pos[:, :, 2, 0])
    with pytest.raises(ValueError, match=r"\['a', 'b', 'c'\]"):
        nd.select_keypoints(rec, keypoint="nose")


def test_smoothing_keeps_lines_reduces_white_noise_as_predicted_and_respects_gaps():
    rng = np.random.default_rng(0)
    t = np.arange(4000) / FPS
    sigma = 0.08  # s = 4 samples
    # Interior of a straight line: a Gaussian filter leaves linear functions unchanged.
    rec = nd.smooth(nd.from_arrays(line(t), time=t, fps=FPS), sigma=sigma)
    xy = rec["position"].isel(keypoint=0, individual=0).transpose("time", "space").values
    np.testing.assert_allclose(xy[20:-20], line(t)[20:-20], atol=1e-9)
    assert nd.processing_of(rec)[-1] == {"step": "smooth", "method": "gaussian", "sigma_s": sigma}
    # White noise: the variance shrinks by sum(w^2) = 1 / (2 sqrt(pi) sigma_samples) for a Gaussian kernel.
    long = np.arange(40_000) / FPS
    noise = rng.normal(0, 0.01, (len(long), 2))
    smoothed = nd.smooth(nd.from_arrays(noise + 0.5, time=long, fps=FPS), sigma=sigma)
    out = smoothed["position"].isel(keypoint=0, individual=0).transpose("time", "space").values[50:-50] - 0.5
    ratio = out.var() / noise[50:-50].var()
    assert ratio == pytest.approx(1 / (2 * np.sqrt(np.pi) * 4.0), rel=0.05)
    # A jump across a tracking gap is not blurred: samples next to the gap keep their side's value.
    xy = np.zeros((200, 2)) + 0.2
    xy[100:] = 0.8
    xy[98:102] = np.nan
    rec = nd.smooth(nd.label_segments(nd.from_arrays(xy, time=t[:200], fps=FPS)), sigma=sigma)
    out = rec["position"].isel(keypoint=0, individual=0).transpose("time", "space").values
    np.testing.assert_allclose(out[:98], 0.2, atol=1e-12)
    np.testing.assert_allclose(out[102:], 0.8, atol=1e-12)
    assert np.isnan(out[98:102]).all()
    with pytest.raises(ValueError, match="sigma"):
        nd.smooth(rec, sigma=-1.0)
