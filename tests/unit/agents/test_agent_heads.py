"""Action distributions: log-probabilities against SciPy, bounds, sampling."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from gymnasium import spaces
from scipy import stats

from neuroethology.agents import BoundedGaussian, BoundedGaussianMixture, Categorical, PolicyHead

LOW, HIGH = (-2.0, 0.0), (2.0, 10.0)
CENTRE, HALF = np.array([0.0, 5.0]), np.array([2.0, 5.0])


def _gauss(mean, log_std, squash):
    mean = jnp.asarray(mean, jnp.float32)
    return BoundedGaussian(
        mean=mean,
        log_std=jnp.broadcast_to(jnp.asarray(log_std, jnp.float32), mean.shape),
        low=LOW,
        high=HIGH,
        squash=squash,
    )


def test_categorical_log_prob_and_entropy_match_numpy(rng):
    logits = rng.normal(size=(4, 3))
    dist = Categorical(logits=jnp.asarray(logits, jnp.float32), start=1)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    actions = np.array([1, 2, 3, 2])
    np.testing.assert_allclose(
        dist.log_prob(jnp.asarray(actions)), np.log(p[np.arange(4), actions - 1]), rtol=1e-5
    )
    np.testing.assert_allclose(dist.entropy(), -(p * np.log(p)).sum(-1), rtol=1e-5)
    np.testing.assert_array_equal(dist.mode(), logits.argmax(-1) + 1)
    sample, raw = dist.sample(jax.random.key(0))
    assert set(np.asarray(sample).tolist()) <= {1, 2, 3}
    np.testing.assert_array_equal(sample, raw)


def test_clipped_gaussian_raw_log_prob_is_the_gaussian_density_in_action_units(rng):
    mean, log_std = rng.normal(size=(5, 2)) * 0.5, np.log([0.3, 0.8])
    dist = _gauss(mean, log_std, "clip")
    raw = rng.normal(size=(5, 2))
    expected = stats.norm.logpdf(CENTRE + HALF * raw, CENTRE + HALF * mean, HALF * np.exp(log_std)).sum(-1)
    np.testing.assert_allclose(dist.log_prob_raw(jnp.asarray(raw, jnp.float32)), expected, rtol=1e-5)
    ent = stats.norm.entropy(scale=HALF * np.exp(log_std)).sum()
    np.testing.assert_allclose(dist.entropy(), np.full(5, ent), rtol=1e-5)


def test_clipped_gaussian_action_log_prob_is_censored_at_the_bounds():
    """Tobit likelihood: density inside the box, the tail mass on a bound (finite for animals at bounds)."""
    mean, log_std = np.array([[0.9, -0.5]]), np.log([0.5, 0.4])
    dist = _gauss(mean, log_std, "clip")
    m, s = CENTRE + HALF * mean[0], HALF * np.exp(log_std)
    inside = np.array([[0.7, 3.0]])
    at_bounds = np.array([[2.0, 0.0]])  # high in dim 0, low in dim 1
    np.testing.assert_allclose(
        dist.log_prob(jnp.asarray(inside, jnp.float32)), stats.norm.logpdf(inside[0], m, s).sum(), rtol=1e-5
    )
    expected = np.log(stats.norm.sf(2.0, m[0], s[0])) + np.log(stats.norm.cdf(0.0, m[1], s[1]))
    np.testing.assert_allclose(dist.log_prob(jnp.asarray(at_bounds, jnp.float32)), expected, rtol=1e-5)
    # Samples land on the bound with that probability.
    actions, _ = jax.vmap(lambda k: _gauss(mean[0], log_std, "clip").sample(k))(
        jax.random.split(jax.random.key(1), 20000)
    )
    actions = np.asarray(actions)
    assert np.all(actions >= np.array(LOW)) and np.all(actions <= np.array(HIGH))
    assert actions[:, 1].min() == 0.0  # clipped onto the lower bound of dim 1
    frac_high = np.mean(actions[:, 0] >= 2.0)
    assert frac_high == pytest.approx(stats.norm.sf(2.0, m[0], s[0]), abs=0.012)


def test_tanh_gaussian_density_is_normalised_over_the_box_and_consistent():
    """The change of variables is exact: the density integrates to 1 over the box (2-D grid, midpoints)."""
    mean, log_std = np.array([0.4, -0.2]), np.log([0.7, 1.2])
    dist = _gauss(mean, log_std, "tanh")
    n = 1500
    # Integrate in the raw variable's image: a fine grid in u maps to a non-uniform grid in the action, so
    # integrate over actions with midpoints of a uniform grid on each axis.
    edges = [np.linspace(LOW[d], HIGH[d], n + 1) for d in range(2)]
    mids = [(e[1:] + e[:-1]) / 2 for e in edges]
    grid = np.stack(np.meshgrid(*mids, indexing="ij"), -1).reshape(-1, 2)
    logp = np.asarray(jax.jit(dist.log_prob)(jnp.asarray(grid, jnp.float32)), np.float64)
    cell = np.prod([(HIGH[d] - LOW[d]) / n for d in range(2)])
    assert np.exp(logp).sum() * cell == pytest.approx(1.0, abs=5e-3)
    action, raw = dist.sample(jax.random.key(0))
    assert np.all(np.asarray(action) > np.array(LOW)) and np.all(np.asarray(action) < np.array(HIGH))
    np.testing.assert_allclose(dist.log_prob(action), dist.log_prob_raw(raw), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dist.mode(), CENTRE + HALF * np.tanh(mean), rtol=1e-5)
    # Against the formula: log N(u) - sum log(half (1 - tanh(u)^2)).
    u = np.array([0.3, -1.1])
    expected = (stats.norm.logpdf(u, mean, np.exp(log_std)) - np.log(HALF * (1 - np.tanh(u) ** 2))).sum()
    np.testing.assert_allclose(dist.log_prob_raw(jnp.asarray(u, jnp.float32)), expected, rtol=1e-5)


def test_policy_head_over_box_and_discrete_spaces():
    box = spaces.Box(np.array(LOW, np.float32), np.array(HIGH, np.float32))
    head = PolicyHead(8, box, rngs=nnx.Rngs(0), init_std=0.5)
    dist = head(jnp.ones((3, 8)))
    assert isinstance(dist, BoundedGaussian) and dist.mean.shape == (3, 2)
    np.testing.assert_allclose(np.exp(np.asarray(dist.log_std)), 0.5, rtol=1e-6)
    assert np.abs(np.asarray(dist.mean)).max() < 0.2  # small output init: a centred initial policy
    cat = PolicyHead(8, spaces.Discrete(4), rngs=nnx.Rngs(0))(jnp.ones((3, 8)))
    assert isinstance(cat, Categorical) and cat.logits.shape == (3, 4)


def test_policy_head_rejects_unbounded_or_odd_spaces():
    with pytest.raises(ValueError, match="finite bounds"):
        PolicyHead(4, spaces.Box(-np.inf, np.inf, (2,)), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="squash"):
        PolicyHead(4, spaces.Box(-1, 1, (2,)), squash="sigmoid", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="unsupported action space"):
        PolicyHead(4, spaces.MultiDiscrete([2, 3]), rngs=nnx.Rngs(0))


# ---------------------------------------------------------------------------------------------- mixture head


def _mixture(weights, means, stds, low=(-1.0,), high=(1.0,)):
    return BoundedGaussianMixture(
        jnp.log(jnp.asarray(weights, jnp.float32)),
        jnp.asarray(means, jnp.float32),
        jnp.log(jnp.asarray(stds, jnp.float32)),
        tuple(low),
        tuple(high),
    )


def test_a_one_component_mixture_is_the_censored_gaussian():
    m = _mixture([1.0], [[0.2, -0.3]], [[0.4, 0.2]], (-1.0, -2.0), (1.0, 2.0))
    g = BoundedGaussian(jnp.asarray([0.2, -0.3]), jnp.log(jnp.asarray([0.4, 0.2])), (-1.0, -2.0), (1.0, 2.0))
    actions = jnp.asarray([[0.1, 0.5], [1.0, 0.0], [-1.0, -2.0], [0.3, 2.0]])
    np.testing.assert_allclose(m.log_prob(actions), g.log_prob(actions), atol=1e-6)
    np.testing.assert_allclose(m.marginal(1).log_prob(actions[:, :1]), g.marginal(1).log_prob(actions[:, :1]))


def test_mixture_log_prob_is_the_weighted_censored_law_numpy():
    """Inside the box: sum_k w_k N(a; mu_k, s_k); on a bound: sum_k w_k P_k(beyond) (scipy, action units)."""
    w, mu, sd = np.array([0.3, 0.7]), np.array([-0.5, 0.4]), np.array([0.1, 0.5])
    m = _mixture(w, mu[:, None], sd[:, None], (-2.0,), (2.0,))  # half-range 2: action = 2 u
    for a in (-1.3, 0.0, 0.9, 1.7):
        want = np.log(np.sum(w * stats.norm.pdf(a, 2 * mu, 2 * sd)))
        assert float(m.log_prob(jnp.asarray([a]))) == pytest.approx(want, rel=1e-5)
    upper = np.log(np.sum(w * stats.norm.sf(2.0, 2 * mu, 2 * sd)))
    assert float(m.log_prob(jnp.asarray([2.0]))) == pytest.approx(upper, rel=1e-4)


def test_mixture_samples_follow_its_density():
    m = _mixture([0.27, 0.73], [[-0.5], [0.3]], [[0.1], [0.3]])
    x, _ = jax.vmap(m.sample)(jax.random.split(jax.random.key(1), 100_000))
    x = np.asarray(x[:, 0])
    assert np.mean(x >= 1.0) == pytest.approx(float(jnp.exp(m.log_prob(jnp.asarray([1.0])))), abs=0.002)
    inside = x[(x > -1) & (x < 1)]
    cdf = np.cumsum(np.exp(np.asarray(m.log_prob(jnp.linspace(-1, 1, 4001)[:, None])))) * (2 / 4000)
    ks = stats.ks_1samp(inside, lambda q: np.interp(q, np.linspace(-1, 1, 4001), cdf) / cdf[-1])
    assert ks.pvalue > 0.001  # the draws inside the box follow the density's shape
    assert float(m.mode()[0]) == pytest.approx(0.3)  # the heaviest component's mean


def test_policy_head_with_components_returns_distinct_state_dependent_components():
    space = spaces.Box(np.array([-1.0, -2.0], np.float32), np.array([1.0, 2.0], np.float32))
    head = PolicyHead(8, space, components=3, init_std=0.2, rngs=nnx.Rngs(0))
    dist = head(jax.random.normal(jax.random.key(0), (5, 8)))
    assert (
        isinstance(dist, BoundedGaussianMixture)
        and dist.mean.shape == (5, 3, 2)
        and dist.logits.shape == (5, 3)
    )
    assert np.ptp(np.asarray(dist.mean[0, :, 0])) > 0.9  # the components start spread over the box
    np.testing.assert_allclose(np.exp(dist.log_std), 0.2, rtol=0.1)
    assert dist.log_prob(jnp.zeros((5, 2))).shape == (5,)
    with pytest.raises(ValueError, match="mixture"):
        PolicyHead(8, space, components=2, squash="tanh", rngs=nnx.Rngs(0))
