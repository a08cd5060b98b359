"""Step lengths between turns and the Clauset et al. (2009) power-law fits: parameter recovery."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import unit_square_path

from neuroethology import analysis as na


def power_law(rng, n, alpha, xmin):
    return xmin * (1 - rng.uniform(size=n)) ** (-1 / (alpha - 1))


@pytest.mark.parametrize("alpha", [1.8, 2.5])
def test_power_law_recovers_alpha_and_xmin(rng, alpha):
    x = power_law(rng, 5000, alpha, xmin=0.05)
    fit = na.fit_power_law(x, xmin=0.05)
    assert abs(fit.alpha - alpha) < 3 * fit.alpha_stderr
    assert fit.alpha_stderr == pytest.approx((alpha - 1) / np.sqrt(5000), rel=0.05)
    # With a non-power-law body below xmin, the KS search finds xmin.
    body = rng.uniform(0.001, 0.05, 3000)
    fit = na.fit_power_law(np.r_[body, x])
    # The KS distance is flat above the true xmin, so the estimate may overshoot a little (Clauset et al.
    # 2009, fig. 3); alpha stays unbiased.
    assert 0.045 <= fit.xmin <= 0.09
    assert fit.alpha == pytest.approx(alpha, abs=0.06)


def test_power_law_samples_prefer_power_law_and_exponential_prefer_exponential(rng):
    pl = na.compare_tail_models(power_law(rng, 4000, 2.2, 1.0), xmin=1.0)
    assert pl.vs_exponential.R > 0 and pl.vs_exponential.p < 0.01
    assert pl.vs_exponential.favoured == "power_law"
    ex = na.compare_tail_models(rng.exponential(0.1, 4000) + 0.05, xmin=0.05)
    assert ex.vs_exponential.R < 0 and ex.vs_exponential.p < 0.01
    assert ex.vs_exponential.favoured == "exponential"
    assert ex.exponential.rate == pytest.approx(10.0, rel=0.05)
    d = ex.to_dict()
    assert d["vs_exponential"]["favoured"] == "exponential" and d["power_law"]["xmin"] == 0.05


def test_lognormal_fit_recovers_parameters(rng):
    x = rng.lognormal(mean=-2.0, sigma=0.5, size=5000)
    fit = na.fit_lognormal(x, xmin=x.min())
    assert fit.mu == pytest.approx(-2.0, abs=0.03) and fit.sigma == pytest.approx(0.5, rel=0.05)
    # Truncated at the median, the truncated likelihood still recovers the parent distribution.
    tail_fit = na.fit_lognormal(x, xmin=float(np.median(x)))
    assert tail_fit.mu == pytest.approx(-2.0, abs=0.15) and tail_fit.sigma == pytest.approx(0.5, rel=0.15)
    lognormal = na.compare_tail_models(x, xmin=float(np.median(x)))
    assert lognormal.vs_lognormal.favoured == "lognormal"


def test_fit_errors(rng):
    with pytest.raises(ValueError, match="> 0"):
        na.fit_power_law([1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match="only 1 samples >= xmin"):
        na.fit_exponential([0.1, 0.2, 5.0], xmin=1.0)


def test_step_lengths_of_a_square_path(make_recording):
    square = unit_square_path(200)
    steps = na.compute_step_lengths(make_recording(square, fps=50.0), resolution=0.01)
    assert steps.dims == ("step",) and steps.attrs["units"] == "m"
    np.testing.assert_allclose(steps.values[:3], 1.0, atol=0.011)  # three full sides, then the cut last one
    assert steps.size == 4
    raw = na.compute_step_lengths(make_recording(square, fps=50.0))
    np.testing.assert_allclose(raw.values[:3], 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="max_turn"):
        na.compute_step_lengths(make_recording(square, fps=50.0), max_turn=4.0)
