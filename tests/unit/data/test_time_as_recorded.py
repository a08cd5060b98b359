"""Time as recorded: irregularly sampled tracks keep their own timestamps (nothing regridded, no long interval
turned into a gap), and animals fixed at different times in one table each keep their own clock.

The synthetic animal walks at a constant speed on a circle large enough that no interval turns it by more
than 0.06 rad, so its true path length is speed x duration (the chords of the sampled fixes fall short of
the arcs by less than 0.02 %)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroethology import analysis, data


def _circle(t: np.ndarray, speed: float, phase: float = 0.0) -> np.ndarray:
    radius = speed * np.diff(t).max() / 0.06
    angle = phase + speed * (t - t[0]) / radius
    return radius * np.stack([1 + np.cos(angle), 1 + np.sin(angle)], axis=1)


def _intervals(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "1s_with_3s":  # the example: mostly 1 s, some 3 s
        return np.where(rng.random(n) < 0.2, 3.0, 1.0)
    if (
        kind == "2h_with_6h"
    ):  # a GPS collar's schedule: 2 h fixes with 6 h ones (whole multiples of the median)
        return np.where(rng.random(n) < 0.3, 6 * 3600.0, 2 * 3600.0)
    if kind == "exponential":  # no schedule at all
        return rng.exponential(2.0, n) + 0.05
    if kind == "jittered_video":  # 30 Hz with timestamp jitter and dropped frames
        return np.where(rng.random(n) < 0.05, 2 / 30, 1 / 30) * (1 + 0.1 * rng.standard_normal(n)).clip(0.7)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["1s_with_3s", "2h_with_6h", "exponential", "jittered_video"])
def test_irregular_tracks_keep_their_path_length_and_speed(tmp_path, kind):
    rng = np.random.default_rng(0)
    speed = 1.0 if kind != "2h_with_6h" else 0.05  # a deer: 5 cm/s on average
    t = np.concatenate([[0.0], np.cumsum(_intervals(kind, 400, rng))])
    xy = _circle(t, speed)
    path = tmp_path / "track.csv"
    pd.DataFrame({"time": t, "x": xy[:, 0], "y": xy[:, 1]}).to_csv(path, index=False)
    rec = data.load(path)
    assert rec.sizes["time"] == t.size  # nothing inserted, nothing dropped
    np.testing.assert_array_equal(rec["time"].values, t)
    assert rec.attrs["time_sampling"] == "as recorded"
    length = analysis.compute_path_length(rec)
    true = speed * t[-1]
    print(
        f"{kind}: {t.size} fixes, path {float(length):,.1f} m of {true:,.1f} m ({float(length) / true - 1:+.3%})"
    )
    assert float(length) == pytest.approx(true, rel=0.01), (kind, float(length), true)
    assert length.attrs["duration"] == pytest.approx(t[-1])
    v = analysis.compute_speed(rec).values
    assert np.isfinite(v).all()
    np.testing.assert_allclose(np.median(v), speed, rtol=0.01)


def test_a_long_interval_splits_the_track_only_when_asked(tmp_path):
    t = np.array([0.0, 1, 2, 3, 63, 64, 65])
    xy = np.stack([t * 0.1, np.zeros_like(t)], axis=1)
    path = tmp_path / "gap.csv"
    pd.DataFrame({"time": t, "x": xy[:, 0], "y": xy[:, 1]}).to_csv(path, index=False)
    whole = data.load(path)
    assert float(analysis.compute_path_length(whole)) == pytest.approx(6.5)
    split = data.load(path, max_interval=10.0)
    assert float(analysis.compute_path_length(split)) == pytest.approx(0.5)
    np.testing.assert_array_equal(split["segment"].values[:, 0], [0, 0, 0, 0, 1, 1, 1])
    steps = [s for s in data.processing_of(split) if s["step"] == "segment"]
    assert steps and steps[-1]["max_interval_s"] == 10.0


def test_animals_fixed_at_different_times_keep_their_own_clocks(tmp_path):
    """Three animals in one long table, each fixed on its own schedule (offsets, intervals, speeds): each gets
    its own path length and speed, as if it had been loaded alone."""
    rng = np.random.default_rng(1)
    rows, truth = [], {}
    for name, (start, step, speed) in {
        "a": (0.0, 60.0, 0.5),
        "b": (7.0, 300.0, 1.0),
        "c": (31.0, 90.0, 2.0),
    }.items():
        t = start + np.cumsum(np.concatenate([[0.0], rng.uniform(0.5, 1.5, 300) * step]))
        xy = _circle(t - start, speed, phase=rng.uniform(0, 6))
        rows.append(pd.DataFrame({"id": name, "time": t, "x": xy[:, 0], "y": xy[:, 1]}))
        truth[name] = (speed, t[-1] - t[0], t.size)
    table = pd.concat(rows).sort_values("time")
    path = tmp_path / "three.csv"
    table.to_csv(path, index=False)
    rec = data.load(path)
    assert "sampled" in rec.data_vars
    for name, (speed, duration, n) in truth.items():
        length = analysis.compute_path_length(rec, individual=name)
        assert float(length) == pytest.approx(speed * duration, rel=0.01), name
        v = analysis.compute_speed(rec, individual=name)
        assert v.sizes["time"] == n and np.isfinite(v.values).all(), name
        np.testing.assert_allclose(np.median(v.values), speed, rtol=0.01, err_msg=name)
    alone = (
        data.split_individuals(rec) if hasattr(data, "split_individuals") else analysis.split_individuals(rec)
    )
    for one in alone:
        name = str(one["individual"].values[0])
        assert one.sizes["time"] == truth[name][2]
        assert float(analysis.compute_path_length(one)) == pytest.approx(
            float(analysis.compute_path_length(rec, individual=name))
        )


def test_regular_video_still_marks_missing_frames_as_untracked(tmp_path):
    """With a frame rate the file (or the user) states, a missing frame is a tracking gap, as before."""
    t = np.array([0, 1, 2, 5, 6, 7]) / 10.0
    xy = np.stack([t, np.zeros_like(t)], axis=1)
    path = tmp_path / "video.csv"
    pd.DataFrame({"time": t, "x": xy[:, 0], "y": xy[:, 1]}).to_csv(path, index=False)
    rec = data.load(path, fps=10.0)
    assert rec.sizes["time"] == 8 and rec.attrs.get("time_sampling", "frames") == "frames"
    assert float(analysis.compute_path_length(rec)) == pytest.approx(0.4)


def test_msd_of_irregular_fixes_bins_lags_instead_of_regridding():
    """Brownian motion (D = 0.5 m^2/s) fixed at exponential intervals: MSD = 4 D lag in every lag bin (within
    sampling error) and a diffusive exponent; a straight walk at 1 m/s gives the ballistic exponent 2."""
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.exponential(1.0, 20_000) + 0.01)
    steps = rng.standard_normal((t.size - 1, 2)) * np.sqrt(2 * 0.5 * np.diff(t))[:, None]
    brownian = np.concatenate([[[0.0, 0.0]], np.cumsum(steps, axis=0)])
    rec = data.from_arrays(brownian[:, :, None, None], time=t)
    assert rec.attrs.get("time_sampling", "frames") == "frames"  # from_arrays: no claim either way
    rec.attrs["time_sampling"] = "as recorded"
    msd = analysis.compute_msd(rec, max_lag=50.0, n_lags=8)
    assert msd.attrs["lag_binning"] == "log" and (msd["n_pairs"].values > 100).all()
    np.testing.assert_allclose(msd.values / (4 * 0.5 * msd["lag"].values), 1.0, rtol=0.1)
    assert analysis.fit_msd_exponent(msd).exponent == pytest.approx(1.0, abs=0.05)
    line = np.stack([t - t[0], np.zeros_like(t)], axis=1)[:2000]
    straight = data.from_arrays(line[:, :, None, None], time=t[:2000])
    ballistic = analysis.compute_msd(straight, max_lag=20.0, n_lags=6)
    assert analysis.fit_msd_exponent(ballistic).exponent == pytest.approx(2.0, abs=0.05)


def test_resampling_and_smoothing_never_invent_a_path_across_a_pause(tmp_path):
    """Fixes every second, a three-hour pause, fixes again 1 km away: resampling (asked for) fills no grid
    point inside the pause, and smoothing (in seconds, not samples) leaves the fixes around it apart."""
    t = np.concatenate([np.arange(100.0), 10_800 + np.arange(100.0)])
    x = np.where(t < 1000, 0.0, 1000.0)
    path = tmp_path / "pause.csv"
    pd.DataFrame({"time": t, "x": x, "y": 0.0}).to_csv(path, index=False)
    grid = data.load(path, dt=60, allow_implausible=True)
    inside = (grid["time"].values > 100) & (grid["time"].values < 10_800)
    assert inside.sum() > 150 and not np.isfinite(grid["position"].values[inside]).any()
    assert [s for s in data.processing_of(grid) if s["step"] == "resample"][0]["n_intervals_not_bridged"] == 1
    smooth = data.smooth(data.load(path, allow_implausible=True), sigma=2.0)
    np.testing.assert_allclose(smooth["position"].values[95:105, 0, 0, 0], x[95:105], atol=1e-9)


def test_selecting_one_animal_of_several_clocks_gives_its_own_clock(tmp_path):
    """From a table and from a saved Recording: the animal kept has only its own fixes, its own nominal frame
    rate and no `sampled`, so every processing step works on it."""
    a = np.arange(0.0, 100.0, 1.0)
    b = 0.5 + np.arange(0.0, 100.0, 2.0)
    table = pd.concat(
        [
            pd.DataFrame({"id": "A", "time": a, "x": a * 0.1, "y": 0.0}),
            pd.DataFrame({"id": "B", "time": b, "x": b * 0.2, "y": 1.0}),
        ]
    ).sort_values("time")
    path = tmp_path / "two.csv"
    table.to_csv(path, index=False)
    data.save(data.load(path), tmp_path / "two.nc")
    for source in (path, tmp_path / "two.nc"):
        b_only = data.load(source, individuals=["B"])
        assert "sampled" not in b_only and b_only.sizes["time"] == b.size, source
        assert b_only.attrs["fps"] == pytest.approx(0.5), source
        data.smooth(b_only, sigma=1.0)


def test_a_frame_table_with_a_frame_nobody_has_loads_with_gaps(tmp_path):
    """With fps= the time stamps are frames: an animal's missing row is an untracked frame, as before."""
    rows = [
        {"id": name, "frame": f, "x": f * 0.01, "y": 0.0}
        for name in ("A", "B")
        for f in range(20)
        if f != 7 and not (name == "A" and f == 12)
    ]
    path = tmp_path / "frames.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    rec = data.load(path, fps=30.0)
    assert rec.sizes["time"] == 20 and "sampled" not in rec
    assert (rec["segment"].values[[7, 12], 0] == -1).all() and rec["segment"].values[12, 1] >= 0


def test_speeds_are_checked_on_each_animals_own_clock(tmp_path):
    """Two animals fixed alternately: A's 10 km jump in 2 s is refused although B's fixes sit between."""
    ta = np.arange(0.0, 100.0, 2.0)
    xa = np.where(np.arange(ta.size) < 25, 0.0, 1e4)
    table = pd.concat(
        [
            pd.DataFrame({"id": "A", "time": ta, "x": xa, "y": 0.0}),
            pd.DataFrame({"id": "B", "time": ta + 1, "x": (ta + 1) * 0.1, "y": 0.0}),
        ]
    ).sort_values("time")
    path = tmp_path / "jump.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match="individual 'A'"):
        data.load(path)
