"""compute_fix_steps against tracks whose steps and turns are known analytically: irregular intervals kept,
no step across a gap or a segment, turning angles in (-pi, pi]."""

from __future__ import annotations

import numpy as np
import pytest

from neuroethology.analysis.fixes import compute_fix_steps
from neuroethology.data import from_arrays

NAN = np.nan


def _rec(t, xy, segment=None, **kw):
    xy = np.asarray(xy, float)
    variables = None
    if segment is not None:
        variables = {"segment": (("time", "individual"), np.asarray(segment, np.int64)[:, None])}
    return from_arrays(xy[:, :, None, None], time=np.asarray(t, float), variables=variables, **kw)


def test_irregular_track_with_a_gap_and_a_segment_change():
    # Fixes at irregular times; a NaN fix (gap) and a segment change (no NaN) cut the track into 3 runs.
    t = [0.0, 1.0, 3.0, 3.5, 6.0, 7.0, 8.0, 9.5, 10.0, 12.0, 12.2, 13.0, 14.0, 20.0]
    xy = [
        (0, 0), (1, 0), (1, 2), (1, 2), (-2, 2), (-2, -2),  # run 0 (segment 0)
        (NAN, NAN),  # gap
        (0, 0), (0, 1), (0, 0), (1, 1),  # run 1 (segment 1)
        (5, 5), (5, 6), (8, 10),  # run 2 (segment 2: starts without a gap)
    ]  # fmt: skip
    seg = [0, 0, 0, 0, 0, 0, -1, 1, 1, 1, 1, 2, 2, 2]
    steps = compute_fix_steps(_rec(t, xy, seg, fps=1.0))

    np.testing.assert_allclose(steps["step_length"], [1, 2, 0, 3, 4, 1, 1, np.sqrt(2), 1, 5])
    np.testing.assert_allclose(steps["dt"], [1, 2, 0.5, 2.5, 1, 0.5, 2, 0.2, 1, 6])  # actual intervals
    np.testing.assert_allclose(steps["time"], [0, 1, 3, 3.5, 6, 9.5, 10, 12, 13, 14])
    np.testing.assert_array_equal(steps["run"], [0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
    expected_turn = [
        NAN,  # first step of run 0
        np.pi / 2,  # east, then north: a left turn
        NAN,  # a zero step has no direction ...
        NAN,  # ... so the next turn is undefined too
        np.pi / 2,  # west, then south: left
        NAN,  # first step of run 1 (never joined to run 0 across the gap)
        np.pi,  # north, then south: a U-turn is +pi
        3 * np.pi / 4,  # south, then north-east
        NAN,  # first step of run 2 (segment change)
        -np.arctan2(3, 4),  # north, then (3, 4): a right turn
    ]
    np.testing.assert_allclose(steps["turning_angle"], expected_turn, atol=1e-12)
    np.testing.assert_allclose(steps["x"], [0, 1, 1, 1, -2, 0, 0, 0, 5, 5])
    assert steps["step_length"].attrs["units"] == "m" and steps["dt"].attrs["units"] == "s"
    assert steps["individual"].item() == "id_0" and steps["keypoint"].item() == "centroid"


def test_circle_sampled_at_irregular_angles():
    # Fixes on a circle of radius R at irregular angles phi_i: chord 2 R sin(dphi / 2) and turn
    # (dphi_prev + dphi) / 2 (the chord's direction is the mean of the two radii's normals).
    rng = np.random.default_rng(1)
    dphi = rng.uniform(0.05, 0.6, size=200)
    phi = np.concatenate([[0.0], np.cumsum(dphi)])
    R = 2.0
    xy = np.c_[R * np.cos(phi), R * np.sin(phi)] + 5.0
    t = np.concatenate([[0.0], np.cumsum(rng.choice([1.0, 3.0, 6.0], size=200))])
    steps = compute_fix_steps(_rec(t, xy, arena={"shape": "box", "width": 10.0, "height": 10.0}))

    assert steps.sizes["step"] == 200
    np.testing.assert_allclose(steps["step_length"], 2 * R * np.sin(dphi / 2), rtol=1e-12)
    np.testing.assert_allclose(steps["dt"], np.diff(t))
    assert len(np.unique(steps["dt"])) == 3  # irregular intervals are kept, not regridded
    np.testing.assert_allclose(steps["turning_angle"][1:], (dphi[:-1] + dphi[1:]) / 2, rtol=1e-9)
    assert np.isnan(steps["turning_angle"][0])
    # The steps add up to the path length through every fix.
    np.testing.assert_allclose(steps["step_length"].sum(), (2 * R * np.sin(dphi / 2)).sum())


def test_choice_of_track_and_runs_without_steps():
    # Two individuals; the second has fixes 0 and 2 alone between gaps (runs of one fix: no step).
    t = np.arange(6.0)
    pos = np.zeros((6, 2, 1, 2))
    pos[:, 0, 0, 0] = np.arange(6.0)  # a walks east 1 m per fix
    pos[:, 1, 0, 1] = np.arange(6.0) * 2  # b walks north 2 m per fix ...
    pos[[1, 3], :, 0, 1] = np.nan  # ... with gaps at fixes 1 and 3
    rec = from_arrays(pos, time=t, individual_names=["a", "b"])
    a = compute_fix_steps(rec, individual="a")
    b = compute_fix_steps(rec, individual="b")
    np.testing.assert_allclose(a["step_length"], np.ones(5))
    np.testing.assert_allclose(a["turning_angle"][1:], 0.0)
    np.testing.assert_allclose(b["step_length"], [2.0])  # fix 4 -> 5 only
    np.testing.assert_allclose(b["time"], [4.0])
    assert np.isnan(b["turning_angle"][0])
    assert b["individual"].item() == "b"
    with pytest.raises(ValueError, match="individual"):
        compute_fix_steps(rec)  # two individuals: a choice is needed
