"""Model-vs-brain measures against analytic cases.

CKA against the Gram-matrix (HSIC) form of Kornblith et al. 2019 and its invariances; the Procrustes shape
metric against the 1-D closed form (arccos |r|), its invariances and the metric axioms; CCA against latent
variables with known correlations; cross-validated RDMs against known condition distances and pure noise;
the nulls by their rejection rates on unrelated pairs and by agreement of the vmapped and looped paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from neuroethology.analysis.neural.representation import (
    bootstrap_interval,
    compute_cca,
    compute_cka,
    compute_procrustes_distance,
    compute_rdm,
    compute_rsa,
    noise_ceiling,
    permutation_null,
)


def _rotation(rng, p: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.normal(size=(p, p)))
    return Q * np.sign(np.diag(R))


def _ar1(rng, T: int, n: int, tau: float) -> np.ndarray:
    a, x = np.exp(-1 / tau), np.zeros((T, n))
    x[0] = rng.normal(size=n)
    noise = rng.normal(size=(T, n)) * np.sqrt(1 - a**2)
    for i in range(1, T):
        x[i] = a * x[i - 1] + noise[i]
    return x


# ------------------------------------------------------------------------------------------------------- CKA


def _cka_from_grams(X, Y):
    """Kornblith et al. 2019 eq. 3-4: HSIC of the linear Gram matrices with the centring matrix H."""
    n = len(X)
    H = np.eye(n) - 1.0 / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


def test_cka_matches_the_gram_form_and_its_invariances(rng):
    X, Z = rng.normal(size=(120, 6)), rng.normal(size=(120, 4)) + rng.normal(size=(120, 1))
    assert compute_cka(X, Z) == pytest.approx(_cka_from_grams(X, Z), rel=1e-10)
    rotated = 3.7 * X @ _rotation(rng, 6) + 5.0  # rotation, isotropic scaling and an offset
    assert compute_cka(X, rotated) == pytest.approx(1.0, abs=1e-10)
    assert compute_cka(rotated, Z) == pytest.approx(compute_cka(X, Z), rel=1e-10)
    padded = np.hstack([X @ _rotation(rng, 6), np.zeros((120, 3))])  # wider, same configuration
    assert compute_cka(X, padded) == pytest.approx(1.0, abs=1e-10)
    stretched = X @ np.diag([10.0, 1, 1, 1, 1, 0.1]) @ _rotation(rng, 6)  # invertible, not a similarity
    assert compute_cka(X, stretched) < 0.8
    assert compute_cka(X, Z) == pytest.approx(compute_cka(Z, X), rel=1e-12)


def test_cka_of_a_noisy_copy_is_the_population_value(rng):
    # X ~ N(0, I_p), Y = X + s E: CKA = |C_xy|^2 / (|C_xx| |C_yy|) = 1 / (1 + s^2) up to O(p / n).
    X = rng.normal(size=(20000, 5))
    Y = X + 1.0 * rng.normal(size=X.shape)
    assert compute_cka(X, Y) == pytest.approx(0.5, abs=0.01)


# ------------------------------------------------------------------------------------------------ Procrustes


def test_procrustes_is_zero_for_similar_copies_and_arccos_r_in_one_dimension(rng):
    X = rng.normal(size=(80, 5))
    copy = -2.5 * X @ _rotation(rng, 5) + 1.0
    wide = X @ np.linalg.qr(rng.normal(size=(8, 5)))[0].T  # (80, 8): an isometric embedding in 8 dims
    for alpha in (1.0, 0.5, 0.0):
        assert compute_procrustes_distance(X, copy, alpha=alpha) == pytest.approx(0.0, abs=1e-6)
        assert compute_procrustes_distance(X, wide, alpha=alpha) == pytest.approx(0.0, abs=1e-6)
    general = X @ rng.normal(size=(5, 5))  # an invertible linear map: only the CCA-like metric ignores it
    assert compute_procrustes_distance(X, general, alpha=0.0) == pytest.approx(0.0, abs=1e-6)
    assert compute_procrustes_distance(X, general, alpha=1.0) > 0.05
    a, b = rng.normal(size=(50, 1)), rng.normal(size=(50, 1))
    r = np.corrcoef(a[:, 0], b[:, 0])[0, 1]
    assert compute_procrustes_distance(a, b) == pytest.approx(np.arccos(abs(r)), abs=1e-10)


def test_procrustes_grows_with_noise_and_is_a_metric(rng):
    X = rng.normal(size=(100, 6))
    noise = rng.normal(size=X.shape)
    distances = [compute_procrustes_distance(X, X + s * noise) for s in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert distances[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(distances) > 0), distances
    for alpha in (1.0, 0.0):
        for _ in range(15):
            A, B, C = (rng.normal(size=(40, w)) @ rng.normal(size=(w, w)) for w in rng.integers(2, 7, size=3))
            d_ab = compute_procrustes_distance(A, B, alpha=alpha)
            d_bc = compute_procrustes_distance(B, C, alpha=alpha)
            d_ac = compute_procrustes_distance(A, C, alpha=alpha)
            assert d_ab == pytest.approx(compute_procrustes_distance(B, A, alpha=alpha), abs=1e-10)
            assert d_ac <= d_ab + d_bc + 1e-9
    with pytest.raises(ValueError, match="alpha"):
        compute_procrustes_distance(X, X, alpha=2.0)
    with pytest.raises(ValueError, match="same samples"):
        compute_procrustes_distance(X, X[:50])


# ------------------------------------------------------------------------------------------------------- CCA


def test_cca_recovers_known_latent_correlations(rng):
    n, rho = 20000, np.array([0.9, 0.6, 0.3])
    z = rng.normal(size=(n, 3))
    z2 = rho * z + np.sqrt(1 - rho**2) * rng.normal(size=(n, 3))
    X = np.hstack([z, rng.normal(size=(n, 2))]) @ rng.normal(size=(5, 5))  # mixed, plus unshared dims
    Y = np.hstack([z2, rng.normal(size=(n, 1))]) @ rng.normal(size=(4, 4))
    cca = compute_cca(X, Y)
    se = (1 - rho**2) / np.sqrt(n)  # asymptotic SE of a canonical correlation
    np.testing.assert_allclose(cca.correlations[:3], rho, atol=4 * se.max() + 1e-3)
    assert cca.correlations[3] < 0.03  # no fourth shared dimension
    u, v = (X - X.mean(0)) @ cca.x_weights, (Y - Y.mean(0)) @ cca.y_weights
    np.testing.assert_allclose(np.var(u, axis=0), 1.0, rtol=1e-8)
    np.testing.assert_allclose(
        [np.corrcoef(u[:, i], v[:, i])[0, 1] for i in range(4)], cca.correlations, atol=1e-8
    )
    assert compute_cca(X, Y, n_components=2).x_weights.shape == (5, 2)
    with pytest.raises(ValueError, match="regularization"):
        compute_cca(X[:8], Y[:8])
    assert compute_cca(X[:8], Y[:8], regularization=0.5).correlations.shape == (4,)


# ------------------------------------------------------------------------------------------------------- RSA


def _condition_data(rng, means, per_condition, noise_cov=None):
    C, p = means.shape
    cond = np.repeat(np.arange(C), per_condition)
    L = np.eye(p) if noise_cov is None else np.linalg.cholesky(noise_cov)
    return means[cond] + rng.normal(size=(len(cond), p)) @ L.T, cond


def test_cross_validated_distances_are_unbiased(rng):
    C, p = 6, 20
    means = rng.normal(size=(C, p))
    true = np.sum((means[:, None] - means[None]) ** 2, axis=2) / p
    X, cond = _condition_data(rng, means, 400)
    rdm, labels = compute_rdm(X, cond, metric="euclidean")
    assert list(labels) == list(range(C))
    # (d + e_a).(d + e_b) / p with e ~ N(0, s2 I), s2 = 2 sigma^2 / 200: var = (2 |d|^2 s2 + p s2^2) / p^2
    s2 = 2.0 / 200
    sd = np.sqrt(2 * true * p * s2 + p * s2**2) / p
    assert np.all(np.abs(rdm - true) < 4 * sd + 1e-12), np.max(np.abs(rdm - true) / sd)
    # Pure noise, 10 samples per condition: plain squared distances of condition means sit at
    # 2 sigma^2 / 10 = 0.2 per unit; cross-validated ones at 0. Averaged over 50 draws (sd of the mean ~0.006).
    iu, plain, cv = np.triu_indices(C, 1), [], []
    for _ in range(50):
        Xn, cond_n = _condition_data(rng, np.zeros((C, p)), 10)
        m = np.stack([Xn[cond_n == c].mean(axis=0) for c in range(C)])
        plain.append(np.mean(np.sum((m[:, None] - m[None]) ** 2, axis=2)[iu]) / p)
        cv.append(np.mean(compute_rdm(Xn, cond_n, metric="euclidean")[0][iu]))
    assert np.mean(plain) == pytest.approx(0.2, rel=0.1)
    assert abs(np.mean(cv)) < 0.025, np.mean(cv)


def test_crossnobis_recovers_mahalanobis_distances(rng):
    C, p = 5, 4
    A = rng.normal(size=(p, p))
    cov = A @ A.T + 0.2 * np.eye(p)  # strongly correlated noise
    means = rng.normal(size=(C, p))
    diff = means[:, None] - means[None]
    true = np.einsum("ijp,pq,ijq->ij", diff, np.linalg.inv(cov), diff) / p
    X, cond = _condition_data(rng, means, 4000, cov)
    rdm, _ = compute_rdm(X, cond, metric="crossnobis")
    s2 = 2.0 / 2000  # as for the Euclidean case, in the whitened space; plus 2% for the estimated covariance
    sd = np.sqrt(2 * true * p * s2 + p * s2**2) / p
    assert np.all(np.abs(rdm - true) < 4 * sd + 0.02 * true + 1e-12), np.max(np.abs(rdm - true) / sd)
    euclid, _ = compute_rdm(X, cond, metric="euclidean")
    assert np.max(np.abs(euclid - true) / true.clip(1e-12)) > 0.5  # the noise covariance matters here


def test_rsa_of_related_systems_and_its_permutation_test(rng):
    C, p, q = 8, 10, 15
    means = rng.normal(size=(C, p))
    X, cond = _condition_data(rng, means, 20)
    Y, _ = _condition_data(rng, means @ rng.normal(size=(p, q)) / np.sqrt(p), 20)  # the same geometry, mapped
    Z, _ = _condition_data(rng, rng.normal(size=(C, q)), 20)
    related = compute_rsa(X, Y, cond, metric="euclidean", n_permutations=500, seed=1)
    assert related.spearman > 0.6 and related.p_value < 0.01, related.spearman
    result = compute_rsa(X, Z, cond, metric="crossnobis", n_permutations=200, seed=2)
    # The vectorised null equals Spearman's rho recomputed on each permuted RDM.
    rng2, iu = np.random.default_rng(2), np.triu_indices(C, 1)
    null = []
    for _ in range(200):
        perm = rng2.permutation(C)
        null.append(stats.spearmanr(result.rdm_x[iu], result.rdm_y[perm][:, perm][iu]).statistic)
    assert result.p_value == pytest.approx((1 + np.sum(np.array(null) >= result.spearman - 1e-12)) / 201)
    assert result.spearman == pytest.approx(stats.spearmanr(result.rdm_x[iu], result.rdm_y[iu]).statistic)
    with pytest.raises(ValueError, match="partition"):
        compute_rdm(X, cond, partitions=np.zeros(len(cond)))


# ------------------------------------------------------------------------------------------------- the nulls


def test_permutation_null_rejects_related_and_is_calibrated_for_unrelated(rng):
    X = rng.normal(size=(60, 5))
    Y = X @ _rotation(rng, 5) + 0.5 * rng.normal(size=X.shape)
    for statistic in ("cka", "procrustes", "cca"):
        test = permutation_null(X, Y, statistic=statistic, method="conditions", n_permutations=199)
        assert test.p_value == pytest.approx(1 / 200), statistic
    p_rows = [
        permutation_null(
            rng.normal(size=(40, 4)),
            rng.normal(size=(40, 4)),
            method="conditions",
            n_permutations=199,
            seed=i,
        ).p_value
        for i in range(40)
    ]
    p_time = [
        permutation_null(
            _ar1(rng, 300, 3, 10.0), _ar1(rng, 300, 3, 10.0), method="circular", n_permutations=199, seed=i
        ).p_value
        for i in range(40)
    ]
    print(
        "rejections at 0.05 of 40 unrelated pairs: rows",
        np.sum(np.array(p_rows) <= 0.05),
        "time",
        np.sum(np.array(p_time) <= 0.05),
    )
    # Binomial(40, 0.05): 2 expected, P(>= 7) = 0.004.
    assert np.sum(np.array(p_rows) <= 0.05) <= 6 and np.sum(np.array(p_time) <= 0.05) <= 6
    assert stats.kstest(p_rows, "uniform").pvalue > 0.01 and stats.kstest(p_time, "uniform").pvalue > 0.01


def test_shuffling_autocorrelated_samples_inflates_false_positives(rng):
    # Why method="circular" exists: a row shuffle treats autocorrelated samples as independent.
    p_shuffled = [
        permutation_null(
            _ar1(rng, 300, 3, 20.0), _ar1(rng, 300, 3, 20.0), method="conditions", n_permutations=99, seed=i
        ).p_value
        for i in range(20)
    ]
    assert np.sum(np.array(p_shuffled) <= 0.05) >= 6  # 1 expected if the null were right


def test_the_looped_and_vmapped_nulls_agree_and_inputs_are_checked(rng):
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 4))
    named = permutation_null(X, Y, statistic="procrustes", n_permutations=20, seed=3)
    looped = permutation_null(
        X, Y, statistic=compute_procrustes_distance, alternative="less", n_permutations=20, seed=3
    )
    np.testing.assert_allclose(named.null, looped.null, atol=1e-10)
    assert named.p_value == looped.p_value
    with pytest.raises(ValueError, match="alternative"):
        permutation_null(X, Y, statistic=compute_cka)
    with pytest.raises(ValueError, match="min_shift"):
        permutation_null(X, Y, min_shift=20)
    with pytest.raises(ValueError, match="statistic"):
        permutation_null(X, Y, statistic="rsa")
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_null(X, Y, n_permutations=0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_interval(X, Y, n_boot=0)


def test_bootstrap_interval_covers_the_population_cka(rng):
    # Sample CKA is biased upward by O(p / n) (about 0.02 at n = 500, p = 5): n = 5000, p = 3 makes it small
    # against the interval's width.
    X = rng.normal(size=(5000, 3))
    Y = X + rng.normal(size=X.shape)  # population CKA 0.5
    interval = bootstrap_interval(X, Y, n_boot=300)
    print("bootstrap CKA", interval.statistic, interval.low, interval.high)
    assert interval.low < 0.5 < interval.high and interval.high - interval.low < 0.1
    assert interval.statistic == pytest.approx(compute_cka(X, Y))
    blocks = bootstrap_interval(X, Y, n_boot=300, block_length=25, statistic="procrustes")
    assert blocks.low <= blocks.statistic <= blocks.high and blocks.samples.shape == (300,)


def test_noise_ceiling_falls_with_the_noise_in_the_halves(rng):
    signal = rng.normal(size=(30, 40))
    noise1, noise2 = rng.normal(size=signal.shape), rng.normal(size=signal.shape)
    ceilings = [noise_ceiling(signal + s * noise1, signal + s * noise2) for s in (0.0, 0.5, 1.0, 2.0)]
    assert ceilings[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(ceilings) < 0), ceilings
    floor = noise_ceiling(signal + noise1, signal + noise2, statistic="procrustes")
    assert floor == pytest.approx(compute_procrustes_distance(signal + noise1, signal + noise2))
