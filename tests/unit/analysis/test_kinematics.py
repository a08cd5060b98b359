"""Kinematics and path geometry on analytic paths: a straight line, a circle, tracking gaps."""

from __future__ import annotations

import numpy as np
import pytest

from neuroethology import analysis as na

FPS = 50.0


@pytest.fixture
def line(make_recording):
    t = np.arange(500) / FPS
    xy = np.column_stack([0.1 + 0.2 * t, 0.3 + 0.1 * t])  # 0.2236 m/s along a fixed direction
    return make_recording(xy, fps=FPS), np.hypot(0.2, 0.1), t


@pytest.fixture
def circle(make_recording):
    R, omega = 0.4, 1.5  # m, rad/s (counter-clockwise)
    t = np.arange(1000) / FPS
    xy = np.column_stack([0.5 + R * np.cos(omega * t), 0.5 + R * np.sin(omega * t)])
    return make_recording(xy, fps=FPS), R, omega


def test_straight_line_speed_acceleration_heading(line):
    rec, v, _ = line
    speed = na.compute_speed(rec)
    assert speed.dims == ("time",) and speed.name == "speed" and speed.attrs["units"] == "m/s"
    np.testing.assert_allclose(speed.values, v, rtol=1e-9)
    np.testing.assert_allclose(na.compute_acceleration(rec).values, 0.0, atol=1e-9)
    np.testing.assert_allclose(na.compute_heading(rec).values, np.arctan2(0.1, 0.2), atol=1e-12)
    np.testing.assert_allclose(na.compute_angular_velocity(rec).values[1:-1], 0.0, atol=1e-9)


def test_straight_line_path_measures(line):
    rec, v, t = line
    assert float(na.compute_path_length(rec)) == pytest.approx(v * t[-1], rel=1e-9)
    np.testing.assert_allclose(na.compute_straightness(rec).values, [1.0])
    np.testing.assert_allclose(na.compute_straightness(rec, window=2.0).values, 1.0)
    assert na.compute_straightness(rec, window=2.0).sizes["bout"] == 4  # 9.98 s: four full 2-s windows
    for step in (None, 0.05):
        turns = na.compute_turning_angles(rec, step_length=step)
        assert turns.size > 10
        np.testing.assert_allclose(turns.values, 0.0, atol=1e-9)
    assert float(na.compute_sinuosity(rec)) == 0.0


def test_circle_angular_velocity_and_curvature(circle, make_recording):
    rec, R, omega = circle
    w = na.compute_angular_velocity(rec).values
    interior = w[1:-1]
    np.testing.assert_allclose(interior, omega, rtol=1e-6)
    assert np.isnan(w[[0, -1]]).all()  # no turn is defined at the ends of a run
    kappa = na.compute_curvature(rec).values[2:-2]
    # Central differences see the chord: speed R sin(w dt)/dt, so curvature is 1/R to O((w dt)^2).
    np.testing.assert_allclose(kappa, 1 / R, rtol=1e-3)
    np.testing.assert_allclose(na.compute_speed(rec).values[1:-1], R * np.sin(omega / FPS) * FPS, rtol=1e-9)
    # Rediscretised at a step s, every turn of a circle is 2 arcsin(s / 2R) (exactly in the limit of dense
    # sampling: the new points lie on the chords between samples).
    s = 0.02
    turns = na.compute_turning_angles(rec, step_length=s).values
    assert turns.mean() == pytest.approx(2 * np.arcsin(s / (2 * R)), rel=1e-3)
    t = np.arange(4000) / 1000.0
    dense = make_recording(
        np.column_stack([0.5 + R * np.cos(omega * t), 0.5 + R * np.sin(omega * t)]), fps=1000.0
    )
    np.testing.assert_allclose(
        na.compute_turning_angles(dense, step_length=s).values, 2 * np.arcsin(s / (2 * R)), rtol=1e-3
    )
    # The rediscretised points are exactly s apart.
    pts = na.rediscretize_path(np.column_stack([0.5 + R * np.cos(omega * t), 0.5 + R * np.sin(omega * t)]), s)
    np.testing.assert_allclose(np.hypot(*np.diff(pts, axis=0).T), s, rtol=1e-9)


def test_clockwise_circle_turns_negative(make_recording):
    t = np.arange(300) / FPS
    xy = np.column_stack([0.5 + 0.3 * np.cos(-t), 0.5 + 0.3 * np.sin(-t)])
    w = na.compute_angular_velocity(make_recording(xy, fps=FPS)).values[1:-1]
    np.testing.assert_allclose(w, -1.0, rtol=1e-6)


def test_no_differencing_across_gaps_segments_or_episodes(make_recording):
    t = np.arange(200) / FPS
    xy = np.column_stack([0.1 * t, np.zeros_like(t)])
    jumped = xy.copy()
    jumped[100:, 0] += 5.0  # a 5 m teleport at sample 100
    # Teleport across a NaN gap:
    gap = jumped.copy()
    gap[98:100] = np.nan
    # ... across a segment boundary, and across an episode boundary, without any NaN:
    segment = np.where(np.arange(200) < 100, 0, 1)[:, None]
    for rec in (
        make_recording(gap, fps=FPS),
        make_recording(jumped, fps=FPS, variables={"segment": (("time", "individual"), segment)}),
        make_recording(jumped, fps=FPS, variables={"episode": (("time", "individual"), segment)}),
    ):
        speed = na.compute_speed(rec).values
        ok = np.isfinite(speed)
        np.testing.assert_allclose(speed[ok], 0.1, rtol=1e-9)
        assert ok.sum() >= 196
        np.testing.assert_allclose(na.compute_acceleration(rec).values[ok], 0.0, atol=1e-9)
        assert float(na.compute_path_length(rec)) == pytest.approx(0.1 * (t[-1] - 3 / FPS), abs=0.1 * 3 / FPS)
        assert np.nanmax(na.compute_msd(rec, lags=[1.0]).values) == pytest.approx(0.1**2, rel=1e-6)
        assert na.compute_straightness(rec).sizes["bout"] == 2
    # A segment of -1 marks untracked samples even where a position exists.
    seg = np.zeros((200, 1), int)
    seg[50:60] = -1
    rec = make_recording(xy, fps=FPS, variables={"segment": (("time", "individual"), seg)})
    assert np.isnan(na.compute_speed(rec).values[50:60]).all()


def test_min_speed_masks_heading(make_recording):
    xy = np.zeros((50, 2))
    xy[25:, 0] = np.arange(25) * 0.001  # 5 cm/s after a stop
    rec = make_recording(xy, fps=FPS)
    heading = na.compute_heading(rec, min_speed=0.01).values
    assert np.isnan(heading[:24]).all() and np.allclose(heading[26:], 0.0)
    with pytest.raises(ValueError, match="min_speed"):
        na.compute_heading(rec, min_speed=-1)


def test_irregular_sampling_uses_the_time_coordinate(make_recording):
    t = np.cumsum(np.r_[0, np.random.default_rng(0).uniform(0.01, 0.03, 299)])
    rec = make_recording(np.column_stack([0.3 * t, 0.0 * t]), time=t)
    np.testing.assert_allclose(na.compute_speed(rec).values, 0.3, rtol=1e-9)


def test_keypoint_and_individual_selection(make_recording):
    n = 100
    pos = np.zeros((n, 2, 2, 2))
    t = np.arange(n) / FPS
    pos[:, 0, 0, 0] = 0.1 * t  # individual a, keypoint nose
    pos[:, 0, 1, 0] = 0.3 * t  # individual a, keypoint tail
    pos[:, 1, :, 1] = 0.2 * t[:, None]  # individual b moves in y
    rec = make_recording(pos, fps=FPS, individual_names=["a", "b"], keypoint_names=["nose", "tail"])
    with pytest.raises(ValueError, match="2 individuals"):
        na.compute_speed(rec)
    np.testing.assert_allclose(na.compute_speed(rec, individual="a", keypoint="tail").values, 0.3)
    np.testing.assert_allclose(na.compute_speed(rec, individual="a").values, 0.2)  # mean of the keypoints
    np.testing.assert_allclose(na.compute_speed(rec, individual=1, keypoint=0).values, 0.2)
    with pytest.raises(ValueError, match="no keypoint 'ear'"):
        na.compute_speed(rec, individual="a", keypoint="ear")
    assert [str(r["individual"].values[0]) for r in na.split_individuals(rec)] == ["a", "b"]


def test_movement_015_plural_dims_are_accepted(line):
    rec, v, _ = line
    plural = rec.rename({"keypoint": "keypoints", "individual": "individuals"})
    np.testing.assert_allclose(na.compute_speed(plural).values, v)


def test_bad_input_gives_one_clear_error(make_recording):
    with pytest.raises(ValueError, match="expected a Recording"):
        na.compute_speed(np.zeros((10, 2)))
    rec = make_recording(np.zeros((10, 2)), fps=FPS)
    bad = rec.drop_vars("position").assign_coords(time=rec["time"].values[::-1])
    with pytest.raises(ValueError) as err:
        na.compute_speed(bad)
    assert "no 'position' variable" in str(err.value) and "strictly increasing" in str(err.value)


def test_recordings_are_checked_by_the_data_validator(line):
    """Analysis reads Recordings through neuroethology.data's checks: dims in any order and movement 0.15's
    plural names are accepted, the data model's attrs are required."""
    rec, v, _ = line
    shuffled = rec.assign(position=rec["position"].transpose("individual", "keypoint", "time", "space"))
    np.testing.assert_allclose(na.compute_speed(shuffled).values, v)
    no_fps = rec.copy()
    no_fps.attrs = {k: x for k, x in rec.attrs.items() if k != "fps"}
    with pytest.raises(
        ValueError, match=r"compute_speed: <in-memory recording> is not a valid Recording"
    ) as err:
        na.compute_speed(no_fps)
    assert "attrs['fps'] must be a positive frame rate" in str(err.value)
