"""Population measures against analytic cases and synthetic cells with known tuning.

PCA and the participation ratio against matrices whose spectra are built exactly; decoding against place,
head-direction and speed cells driven by the Sargolini et al. 2006 rat trajectory (bundled with ratinabox), with
a random target as the negative control; the Poisson GLM against counts simulated with known weights, judged
by the Fisher-information standard errors at the true parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroethology.analysis.neural.population import (
    compute_pca,
    decode_linear,
    fit_encoding_model,
    participation_ratio,
)


def _orthonormal_centred(rng, T: int, k: int) -> np.ndarray:
    G = rng.normal(size=(T, k))
    Q, _ = np.linalg.qr(G - G.mean(axis=0))
    return Q


# ------------------------------------------------------------------------------------------------------- PCA


def test_pca_of_a_rank_k_matrix_recovers_its_spectrum_and_axes(rng):
    T, U, sd = 500, 12, np.array([3.0, 2.0, 1.0])
    S = _orthonormal_centred(rng, T, 3) * np.sqrt(T) * sd  # columns: exact variances sd^2 (ddof 0)
    axes, _ = np.linalg.qr(rng.normal(size=(U, 3)))
    X = S @ axes.T + rng.normal(size=U)  # plus a constant offset that PCA must remove
    pca = compute_pca(X)
    np.testing.assert_allclose(pca.explained_variance[:3], sd**2, rtol=1e-9)
    np.testing.assert_allclose(pca.explained_variance[3:], 0.0, atol=1e-9)
    np.testing.assert_allclose(pca.explained_variance_ratio[:3], sd**2 / np.sum(sd**2), rtol=1e-9)
    np.testing.assert_allclose(np.abs(pca.components[:3] @ axes), np.eye(3), atol=1e-9)
    np.testing.assert_allclose(pca.participation_ratio, np.sum(sd**2) ** 2 / np.sum(sd**4), rtol=1e-9)
    kept = compute_pca(X, n_components=2)
    assert kept.components.shape == (2, U) and kept.scores.shape == (T, 2)
    np.testing.assert_allclose(np.var(kept.scores, axis=0), sd[:2] ** 2, rtol=1e-9)


def test_participation_ratio_of_isotropic_data_is_the_number_of_units(rng):
    T, U = 400, 16
    X = _orthonormal_centred(rng, T, U) * 2.5  # exactly equal variance on U orthogonal axes
    assert compute_pca(X).participation_ratio == pytest.approx(U, rel=1e-9)
    noisy = compute_pca(rng.normal(size=(20000, U))).participation_ratio  # sampled: within a few %
    assert U * 0.97 < noisy <= U
    assert participation_ratio([5.0, 0.0, 0.0]) == pytest.approx(1.0)


def test_pca_weights_are_durations_and_bad_samples_are_left_out(rng):
    X = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
    weights = np.ones(50)
    weights[7] = 3.0  # a sample standing for 3 s counts as three 1 s samples
    repeated = np.vstack([X, X[7], X[7]])
    a, b = compute_pca(X, weights=weights), compute_pca(repeated)
    np.testing.assert_allclose(a.explained_variance, b.explained_variance, rtol=1e-10)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-10)
    X_nan, w0 = X.copy(), np.ones(50)
    X_nan[3, 1], w0[10] = np.nan, 0.0
    c = compute_pca(X_nan, weights=w0)
    assert np.isnan(c.scores[3]).all() and np.isnan(c.scores[10]).all()
    d = compute_pca(np.delete(X, [3, 10], axis=0))
    np.testing.assert_allclose(c.explained_variance, d.explained_variance, rtol=1e-10)
    with pytest.raises(ValueError, match="n_components"):
        compute_pca(X, n_components=5)
    with pytest.raises(ValueError, match="weights"):
        compute_pca(X, weights=np.ones(3))


# -------------------------------------------------------------------------------------------------- decoding


@pytest.fixture(scope="module")
def rat(sargolini_npz):
    """12,000 samples (240 s at 50 Hz) of the Sargolini rat, with its heading and speed from the motion
    (positions smoothed over 0.2 s first, so tracking jitter does not become heading noise)."""
    data = np.load(sargolini_npz)
    t, xy = data["t"][:12000], data["pos"][:12000]
    smooth = np.column_stack([np.convolve(c, np.ones(11) / 11, mode="same") for c in xy.T])
    smooth[:5], smooth[-5:] = xy[:5], xy[-5:]
    v = np.gradient(smooth, t, axis=0)
    return t, xy, np.arctan2(v[:, 1], v[:, 0]), np.hypot(v[:, 0], v[:, 1])


def _spikes(rates_hz: np.ndarray, dt: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rates_hz * dt[:, None]).astype(float)


def test_decoding_recovers_position_heading_and_speed_from_tuned_cells(rat):
    t, xy, heading, speed = rat
    dt = np.gradient(t)
    rng = np.random.default_rng(1)
    centres = rng.uniform(0.05, 0.95, size=(100, 2))
    place = 20.0 * np.exp(-np.sum((xy[:, None] - centres) ** 2, axis=2) / (2 * 0.12**2))
    preferred = np.linspace(-np.pi, np.pi, 24, endpoint=False)
    hd = 30.0 * np.exp(4.0 * (np.cos(heading[:, None] - preferred) - 1))
    speed_cells = 2.0 + 40.0 * speed[:, None] * rng.uniform(0.5, 1.5, size=8)
    counts = _spikes(np.hstack([place, hd, speed_cells]), dt, seed=2)
    # Rates smoothed over 0.5 s, as decoders are usually fed; the target is far from the noise floor.
    kernel = np.ones(25) / 25
    activity = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, counts) / dt[:, None]
    walk = _ar1(rng, len(t), 1, tau=100.0)[:, 0]  # a smooth random target, unrelated to the units
    result = decode_linear(
        activity,
        {"x": xy[:, 0], "y": xy[:, 1], "heading": heading, "speed": speed, "random": walk},
        circular=["heading"],
        weights=dt,
    )
    print("decoding:", result.r2, result.angular_error)
    # A linear readout of Gaussian place fields bends at the walls: about 0.8 here, far above chance (0)
    assert result.r2["x"] > 0.75 and result.r2["y"] > 0.75, result.r2
    assert result.angular_error["heading"] < 0.5, result.angular_error  # rad
    assert result.r2["speed"] > 0.5, result.r2
    assert result.r2["random"] < 0.05, result.r2  # negative control: no better than the mean
    assert set(result.angular_error) == {"heading"}
    assert result.predictions["x"].shape == (len(t),) and result.alphas["x"].shape == (5,)
    assert result.n_samples == len(t)


def _ar1(rng, T: int, n: int, tau: float) -> np.ndarray:
    """Stationary AR(1) series with correlation time ``tau`` samples."""
    a, x = np.exp(-1 / tau), np.zeros((T, n))
    x[0] = rng.normal(size=n)
    noise = rng.normal(size=(T, n)) * np.sqrt(1 - a**2)
    for i in range(1, T):
        x[i] = a * x[i - 1] + noise[i]
    return x


def test_decoding_of_a_random_target_from_random_units_is_at_most_chance(rng):
    units = _ar1(rng, 3000, 20, tau=50.0)  # autocorrelated units and target, independent of each other
    target = _ar1(rng, 3000, 1, tau=50.0)[:, 0]
    assert decode_linear(units, target).r2["0"] < 0.05


def test_decoding_leaves_out_untracked_samples_and_checks_inputs(rng):
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)
    y[[5, 50]] = np.nan
    result = decode_linear(X, {"y": y})
    assert result.n_samples == 198 and np.isnan(result.predictions["y"][[5, 50]]).all()
    assert result.r2["y"] > 0.99
    with pytest.raises(ValueError, match="circular target 'h'"):
        decode_linear(X, {"y": y}, circular=["h"])
    with pytest.raises(ValueError, match="shape"):
        decode_linear(X, {"y": y[:10]})
    with pytest.raises(ValueError, match="too few"):
        decode_linear(X[:10], y[:10], folds=5)


# -------------------------------------------------------------------------------------------------- encoding


def test_poisson_glm_recovers_known_weights_within_sampling_error(rng):
    T = 20000
    features = rng.normal(size=(T, 3)) * np.array([1.0, 0.5, 2.0]) + np.array([0.0, 1.0, -1.0])
    durations = rng.uniform(0.01, 0.03, size=T)  # irregular sampling: durations are the exposures
    weights = np.array([[0.5, -0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 0.0], [-0.4, 0.0, 0.1]])
    intercept = np.log(np.array([10.0, 5.0, 8.0, 20.0]))  # log Hz
    rate = np.exp(intercept + features @ weights.T)
    counts = rng.poisson(rate * durations[:, None]).astype(float)
    fit = fit_encoding_model(features, counts, family="poisson", alpha=0.0, durations=durations)
    Z = np.column_stack([np.ones(T), features])
    for u in range(4):  # standard errors from the Fisher information at the true parameters
        info = (Z * (rate[:, u] * durations)[:, None]).T @ Z
        se = np.sqrt(np.diag(np.linalg.inv(info)))
        error = np.r_[fit.intercept[u] - intercept[u], fit.coefficients[u] - weights[u]]
        print("poisson unit", u, "error / SE:", np.round(error / se, 2))
        assert np.all(np.abs(error) < 4 * se), (u, error / se)
    assert np.all(fit.score[[0, 1, 3]] > 0.05), fit.score
    assert fit.score[2] < 0.005, fit.score  # the untuned unit explains nothing held out
    assert fit.predictions.shape == (T, 4) and np.all(fit.predictions >= 0)


def test_gaussian_encoding_recovers_weights_and_the_explained_variance(rng):
    T, sigma = 5000, 0.5
    features = rng.normal(size=(T, 2))
    w = np.array([[1.0, -0.5], [0.0, 0.0]])
    Y = 3.0 + features @ w.T + sigma * rng.normal(size=(T, 2))
    fit = fit_encoding_model(features, Y, family="gaussian", alpha=0.0)
    se = sigma / np.sqrt(T)  # features have unit variance and are independent
    np.testing.assert_allclose(fit.coefficients, w, atol=4 * se)
    np.testing.assert_allclose(fit.intercept, 3.0, atol=4 * se * 1.5)
    expected = 1.25 / (1.25 + sigma**2)  # var(signal) / var(total)
    assert fit.score[0] == pytest.approx(expected, abs=0.02)
    assert fit.score[1] < 0.005


def test_encoding_checks_its_inputs(rng):
    X = rng.normal(size=(100, 2))
    with pytest.raises(ValueError, match="non-negative counts"):
        fit_encoding_model(X, -np.ones((100, 1)), family="poisson")
    with pytest.raises(ValueError, match="family"):
        fit_encoding_model(X, np.ones((100, 1)), family="binomial")
    with pytest.raises(ValueError, match="100 samples"):
        fit_encoding_model(X, np.ones((90, 1)))
