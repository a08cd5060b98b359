"""Mean squared displacement, sinuosity and straightness against analytic results."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import unit_square_path

from neuroethology import analysis as na


def test_brownian_msd_is_4Dt_with_exponent_1(make_recording, rng):
    D, dt = 0.005, 0.02  # m^2/s, s
    steps = rng.normal(0.0, np.sqrt(2 * D * dt), size=(20000, 2))
    rec = make_recording(np.cumsum(steps, axis=0), fps=1 / dt)
    msd = na.compute_msd(rec, lags=[0.02, 0.2, 2.0])
    assert msd.dims == ("lag",) and msd.attrs["units"] == "m^2"
    np.testing.assert_allclose(msd["lag"].values, [0.02, 0.2, 2.0], rtol=1e-9)
    np.testing.assert_allclose(msd.values, 4 * D * msd["lag"].values, rtol=0.1)
    fit = na.compute_msd_exponent(rec, lag_range=(0.02, 4.0))
    assert fit.exponent == pytest.approx(1.0, abs=0.05)
    assert fit.coefficient == pytest.approx(4 * D, rel=0.15)
    assert fit.r_squared > 0.99


def test_ballistic_msd_exponent_2(make_recording, rng):
    t = np.arange(5000) / 50.0
    angle = rng.uniform(0, 2 * np.pi)
    rec = make_recording(np.column_stack([0.3 * np.cos(angle) * t, 0.3 * np.sin(angle) * t]), fps=50.0)
    fit = na.compute_msd_exponent(rec, lag_range=(0.02, 5.0))
    assert fit.exponent == pytest.approx(2.0, abs=1e-6)
    assert fit.coefficient == pytest.approx(0.09, rel=1e-6)  # v^2


def test_msd_bins_the_lags_of_irregular_sampling_and_fit_needs_lags(make_recording):
    t = np.r_[0.0, 0.1, 0.15, 0.5]
    msd = na.compute_msd(make_recording(np.zeros((4, 2)), time=t), lags=[0.1, 0.3])
    assert msd.attrs["lag_binning"] == "log" and msd["n_pairs"].values.sum() > 0  # no resampling asked
    rec = make_recording(np.cumsum(np.ones((100, 2)), axis=0) * 0.01, fps=50.0)
    with pytest.raises(ValueError, match="fewer than two lags"):
        na.fit_msd_exponent(na.compute_msd(rec, lags=[0.02]))


def crw(rng, n, step, sigma):
    """Correlated random walk: constant step, wrapped-normal turns of s.d. sigma."""
    heading = np.cumsum(rng.normal(0.0, sigma, n))
    xy = np.cumsum(step * np.column_stack([np.cos(heading), np.sin(heading)]), axis=0)
    return np.vstack([[0.0, 0.0], xy])


def test_sinuosity_of_correlated_random_walk(make_recording, rng):
    # Benhamou 2004 eq. 8 with constant steps (b = 0) and c = E cos(turn) = exp(-sigma^2 / 2), s = 0.
    step, sigma = 0.01, 0.4
    rec = make_recording(crw(rng, 40000, step, sigma), fps=50.0)
    c = np.exp(-(sigma**2) / 2)
    expected = 2.0 / np.sqrt(step * (1 + c) / (1 - c))
    assert float(na.compute_sinuosity(rec)) == pytest.approx(expected, rel=0.03)
    turns = na.compute_turning_angles(rec).values
    assert turns.std() == pytest.approx(sigma, rel=0.03)
    # Straighter walks are less sinuous.
    straighter = make_recording(crw(rng, 40000, step, sigma / 4), fps=50.0)
    assert float(na.compute_sinuosity(straighter)) < 0.5 * expected


def test_sinuosity_of_a_straight_line_and_of_a_circle(make_recording):
    """The limits of Benhamou's formula: 0 for a straight path, infinite for equal steps turning by the same
    angle (a circle: no random search at all), not a ZeroDivisionError."""
    line = np.column_stack([np.arange(50) * 0.01, np.zeros(50)])
    assert float(na.compute_sinuosity(make_recording(line, fps=50.0))) == 0.0
    t = np.arange(200) * 0.1
    circle = 0.3 * np.column_stack([np.cos(t), np.sin(t)]) + 0.5
    assert float(na.compute_sinuosity(make_recording(circle, fps=50.0))) == np.inf


def test_straightness_of_a_square_loop_and_a_zigzag(make_recording):
    square = unit_square_path(100, closed=True)
    assert float(na.compute_straightness(make_recording(square, fps=50.0))[0]) == pytest.approx(
        0.0, abs=1e-12
    )
    zig = np.column_stack([np.arange(11) * 0.1, np.r_[0, 0.1][np.arange(11) % 2]])
    expected = 1.0 / (10 * np.hypot(0.1, 0.1))
    assert float(na.compute_straightness(make_recording(zig, fps=1.0))[0]) == pytest.approx(expected)
