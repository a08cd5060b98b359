"""Fixed and slow points (analysis.neural.dynamics) against maps whose fixed points are known in closed form:
a linear RNN, a line attractor, a 2-D bistable system, a Hopfield-like tanh RNN and a saddle-node ghost; then
random GRU/LSTM cells, where the only truth is that every returned point meets its own threshold."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuroethology.analysis.neural.dynamics import (
    KINDS,
    FixedPoints,
    find_fixed_points,
    project_trajectories,
    sample_initial_states,
)


def _linear(w: np.ndarray, b: np.ndarray):
    wj, bj = jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32)
    return lambda h, x: wj @ h + bj


def _random_stable_matrix(rng, n: int, radius: float) -> np.ndarray:
    a = rng.normal(size=(n, n))
    return radius * a / np.max(np.abs(np.linalg.eigvals(a)))


def _same_spectrum(found: np.ndarray, true: np.ndarray, tol: float) -> bool:
    """Multisets of complex eigenvalues equal within tol (greedy nearest matching)."""
    left = list(true)
    for lam in found:
        j = int(np.argmin(np.abs(np.asarray(left) - lam)))
        if abs(left[j] - lam) > tol:
            return False
        left.pop(j)
    return not left


def test_linear_rnn_one_stable_point_at_the_analytic_solution():
    rng = np.random.default_rng(0)
    w = _random_stable_matrix(rng, 6, 0.9)
    b = rng.normal(size=6)
    result = find_fixed_points(_linear(w, b), rng.normal(size=(40, 6)) * 2.0)
    assert isinstance(result, FixedPoints)
    assert result.points.shape == (1, 6)
    # float32 states: the solution is exact to a few ulps times cond(I - W) (~30 here), so 1e-5 holds
    np.testing.assert_allclose(result.points[0], np.linalg.solve(np.eye(6) - w, b), atol=1e-5)
    assert result.kind[0] == "stable" and result.is_fixed[0]
    assert result.n_converged == 40 and result.n_unconverged == 0 and result.n_starts[0] == 40
    np.testing.assert_allclose(result.jacobians[0], w, atol=1e-6)
    assert _same_spectrum(result.eigenvalues[0], np.linalg.eigvals(w), 1e-5)
    assert np.all(np.diff(np.abs(result.eigenvalues[0])) <= 1e-12)  # by decreasing modulus


def test_linear_rnn_with_unit_eigenvalue_gives_a_line_of_marginal_points():
    rng = np.random.default_rng(1)
    q_basis, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    w = q_basis @ np.diag([1.0, 0.5, -0.3, 0.2, 0.7]) @ q_basis.T
    direction = q_basis[:, 0]
    b = q_basis @ np.array([0.0, 0.4, -0.2, 0.3, 0.1])  # no component along the line: fixed points exist
    starts = rng.normal(size=(60, 5))
    result = find_fixed_points(_linear(w, b), starts)
    assert len(result.points) >= 10  # distinct points along the line, not merged into one
    assert np.all(result.is_fixed) and np.all(result.kind == "marginal")
    residual = result.points @ (np.eye(5) - w).T - b
    assert np.max(np.abs(residual)) < 1e-5
    # the points lie along the unit-eigenvalue direction, spread as far as the starts project on it
    along = result.points @ direction
    assert np.ptp(along) > 0.5 * np.ptp(starts @ direction)
    first_axis = project_trajectories(result.points, n_components=1).components[0]
    assert abs(first_axis @ direction) > 0.9999
    np.testing.assert_allclose(np.abs(result.eigenvalues[:, 0]), 1.0, atol=1e-5)


def test_bistable_2d_system_all_nine_points_found_and_classified():
    dt = 0.1  # Jacobian 1 + dt (1 - 3 h^2) per coordinate: 1.1 at h = 0, 0.8 at h = +-1
    grid = np.linspace(-1.5, 1.5, 13)
    starts = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    result = find_fixed_points(lambda h, x: h + dt * (h - h**3), starts)
    assert len(result.points) == 9 and np.all(result.is_fixed)
    expected = {}
    for a in (-1.0, 0.0, 1.0):
        for c in (-1.0, 0.0, 1.0):
            n_zero = (a == 0) + (c == 0)
            expected[(a, c)] = ("stable", "saddle", "unstable")[n_zero]
    for point, kind, lam in zip(result.points, result.kind, result.eigenvalues, strict=True):
        key = tuple(float(v) for v in np.round(point))
        np.testing.assert_allclose(point, key, atol=1e-6)
        assert kind == expected.pop(key)
        truth = 1 + dt * (1 - 3 * np.asarray(key) ** 2)
        assert _same_spectrum(lam, truth, 1e-5)
    assert not expected  # every one of the nine found once


def _tanh_fixed_amplitude(gain: float) -> float:
    """The positive root of a = tanh(gain a), by bisection (gain > 1)."""
    lo, hi = 1e-3, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.tanh(gain * mid) > mid else (lo, mid)
    return 0.5 * (lo + hi)


def test_hopfield_tanh_rnn_stores_its_patterns_as_stable_points():
    # W = g (p1 p1' + p2 p2') / H with orthogonal +-1 patterns: h = a p1 + b p2 is fixed iff u = a + b and
    # v = a - b both solve u = tanh(g u), so u, v in {0, +-a*}: stable at +-a* p1, +-a* p2 (Jacobian
    # g (1 - a*^2) on the pattern plane, 0 elsewhere), saddles at the five others (gain g > 1 along one axis)
    hadamard = np.array([[1, 1], [1, -1]])
    patterns = np.kron(np.kron(hadamard, hadamard), hadamard)[1:3].astype(float)  # (2, 8), orthogonal
    gain, n = 2.0, 8
    w = gain * patterns.T @ patterns / n
    wj = jnp.asarray(w, jnp.float32)
    a_star = _tanh_fixed_amplitude(gain)
    starts = np.random.default_rng(2).normal(size=(120, n))
    result = find_fixed_points(lambda h, x: jnp.tanh(wj @ h), starts)
    assert np.all(result.is_fixed)
    stable = result.points[result.kind == "stable"]
    memories = a_star * np.concatenate([patterns, -patterns])
    assert len(stable) == 4
    for memory in memories:
        assert np.min(np.linalg.norm(stable - memory, axis=1)) < 1e-5
    slope = gain * (1 - a_star**2)
    for lam in result.eigenvalues[result.kind == "stable"]:
        assert _same_spectrum(lam, [slope, slope] + [0.0] * (n - 2), 1e-4)
    saddles = result.points[result.kind == "saddle"]
    assert len(saddles) == 5 and len(result.points) == 9
    for u, v in [(0, 0), (a_star, 0), (-a_star, 0), (0, a_star), (0, -a_star)]:
        point = 0.5 * (u + v) * patterns[0] + 0.5 * (u - v) * patterns[1]
        assert np.min(np.linalg.norm(saddles - point, axis=1)) < 1e-5


def test_dedupe_merges_starts_that_converge_to_the_same_point():
    rng = np.random.default_rng(3)
    w = _random_stable_matrix(rng, 4, 0.5)
    b = rng.normal(size=4)
    target = np.linalg.solve(np.eye(4) - w, b)
    result = find_fixed_points(_linear(w, b), target + 0.3 * rng.normal(size=(30, 4)))
    assert len(result.points) == 1 and result.n_starts.tolist() == [30] and result.n_converged == 30
    # negative control: two points far apart in the bistable map are not merged
    two = find_fixed_points(
        lambda h, x: h + 0.1 * (h - h**3), np.array([[0.9, 0.9], [1.1, 1.1], [-0.9, -1.1]])
    )
    assert len(two.points) == 2 and sorted(two.n_starts.tolist()) == [1, 2]


def test_ghost_of_a_saddle_node_is_a_slow_point_and_unfinished_runs_are_dropped():
    dt, mu = 0.1, 0.01  # h' = h + dt (mu + h^2): no fixed point; q is smallest at h = 0, q = 0.5 (dt mu)^2
    result = find_fixed_points(lambda h, x: h + dt * (mu + h**2), np.linspace(-1, 1, 21)[:, None])
    assert len(result.points) == 1 and not result.is_fixed[0]
    assert abs(result.points[0, 0]) < 1e-3
    np.testing.assert_allclose(result.q[0], 0.5 * (dt * mu) ** 2, rtol=1e-2)
    assert result.q[0] < result.tol_slow and result.kind[0] == "marginal"  # eigenvalue 1 + 2 dt h = 1
    assert result.grad_norm[0] < 1e-8  # a local minimum of q (an isolated slow point), not a slope
    # negative control: runs stopped after one step stay as fast as the starts, so none is a slow point
    rng = np.random.default_rng(4)
    w, b = _random_stable_matrix(rng, 3, 0.5), rng.normal(size=3)
    stalled = find_fixed_points(_linear(w, b), 3.0 + rng.normal(size=(10, 3)), n_iter=1, n_newton=0)
    assert len(stalled.points) == 0 and stalled.n_unconverged == 10


def _gru(rng, n_in: int, n: int):
    w_x = jnp.asarray(rng.normal(size=(n_in, 3 * n)) / np.sqrt(n_in), jnp.float32)
    w_h = jnp.asarray(3.0 * rng.normal(size=(n, 3 * n)) / np.sqrt(n), jnp.float32)
    b = jnp.asarray(0.1 * rng.normal(size=3 * n), jnp.float32)

    def step(h, x):
        px, ph = x @ w_x + b, h @ w_h
        r = jax.nn.sigmoid(px[:n] + ph[:n])
        z = jax.nn.sigmoid(px[n : 2 * n] + ph[n : 2 * n])
        cand = jnp.tanh(px[2 * n :] + r * ph[2 * n :])
        return (1 - z) * cand + z * h

    return step


def _lstm(rng, n_in: int, n: int):
    w_x = jnp.asarray(rng.normal(size=(n_in, 4 * n)) / np.sqrt(n_in), jnp.float32)
    w_h = jnp.asarray(1.5 * rng.normal(size=(n, 4 * n)) / np.sqrt(n), jnp.float32)

    def step(state, x):  # state = [h, c], as the agents' LSTM core stores it
        hid, cell = state[:n], state[n:]
        gates = x @ w_x + hid @ w_h
        cell = jax.nn.sigmoid(gates[n : 2 * n]) * cell + jax.nn.sigmoid(gates[:n]) * jnp.tanh(
            gates[2 * n : 3 * n]
        )
        return jnp.concatenate([jax.nn.sigmoid(gates[3 * n :]) * jnp.tanh(cell), cell])

    return step, 2 * n


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_random_recurrent_cells_every_point_meets_its_threshold(cell):
    rng = np.random.default_rng(5)
    n_in, n = 3, 12
    step, n_state = (_gru(rng, n_in, n), n) if cell == "gru" else _lstm(rng, n_in, n)
    drive = jnp.asarray(rng.normal(size=(200, n_in)), jnp.float32)
    _, visited = jax.lax.scan(lambda h, x: (step(h, x), step(h, x)), jnp.zeros(n_state), drive)
    starts = sample_initial_states(jax.random.key(0), np.asarray(visited), n_samples=64)
    x_star = np.zeros(n_in)
    result = find_fixed_points(step, starts, inputs=x_star)
    k = len(result.points)
    assert k >= 1 and result.points.shape == (k, n_state) and result.jacobians.shape == (k, n_state, n_state)
    assert result.eigenvalues.shape == (k, n_state) and set(result.kind) <= set(KINDS)
    assert result.n_converged + result.n_unconverged + int(result.n_starts[~result.is_fixed].sum()) == 64
    # q recomputed independently, and each point within its own class's threshold
    step_np = jax.jit(jax.vmap(step, in_axes=(0, None)))
    q = 0.5 * np.sum(
        (np.asarray(step_np(jnp.asarray(result.points, jnp.float32), jnp.zeros(n_in))) - result.points) ** 2,
        axis=1,
    )
    np.testing.assert_allclose(result.q, q, rtol=1e-3, atol=1e-12)
    assert np.all(result.q[result.is_fixed] < 1e-8) and np.all(result.q[~result.is_fixed] < result.tol_slow)
    # Jacobian against central finite differences of the same map
    point, eps = result.points[0], 1e-3
    fd = np.stack(
        [
            (
                np.asarray(step(jnp.asarray(point + eps * e, jnp.float32), jnp.zeros(n_in)))
                - np.asarray(step(jnp.asarray(point - eps * e, jnp.float32), jnp.zeros(n_in)))
            )
            / (2 * eps)
            for e in np.eye(n_state)
        ],
        axis=1,
    )
    np.testing.assert_allclose(result.jacobians[0], fd, atol=2e-3)
    if cell == "gru":  # this GRU (recurrent gain 3) has both, so neither threshold check above is vacuous
        assert result.is_fixed.any() and (~result.is_fixed).any()


def test_project_trajectories_recovers_the_plane_of_the_states():
    rng = np.random.default_rng(6)
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    coords = rng.normal(size=(3, 100, 2)) * np.array([3.0, 1.0])
    offset = rng.normal(size=10)
    states = coords @ basis.T + offset + 1e-4 * rng.normal(size=(3, 100, 10))
    states[1, 50:] = np.nan  # padding after an episode's end
    fixed = offset + basis[:, 0] * 2.0
    proj = project_trajectories(states, np.asarray([fixed]), n_components=2)
    assert proj.trajectories.shape == (3, 100, 2) and proj.fixed_points.shape == (1, 2)
    assert np.all(np.isnan(proj.trajectories[1, 50:])) and np.all(np.isfinite(proj.trajectories[1, :50]))
    assert proj.explained_variance_ratio.sum() > 0.9999 and proj.explained_variance_ratio[0] > 0.8
    # the two axes span the true plane; the first is the high-variance direction
    np.testing.assert_allclose(np.linalg.svd(proj.components @ basis)[1], 1.0, atol=1e-6)
    assert abs(proj.components[0] @ basis[:, 0]) > 0.999
    # distances within the plane are kept: the fixed point sits 2 from the mean along the first axis
    np.testing.assert_allclose(abs(proj.fixed_points[0, 0]), 2.0, atol=0.05)


def test_sample_initial_states_draws_near_visited_states():
    states = np.random.default_rng(7).normal(size=(50, 4))
    starts = sample_initial_states(jax.random.key(1), states, n_samples=20, noise_scale=0.01)
    assert starts.shape == (20, 4)
    nearest = np.min(np.linalg.norm(starts[:, None] - states[None], axis=2), axis=1)
    assert np.all(nearest < 0.1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: find_fixed_points(lambda h, x: h, np.zeros(3)), "initial_states"),
        (lambda: find_fixed_points(lambda h, x: h, np.full((2, 3), np.nan)), "non-finite"),
        (lambda: find_fixed_points(lambda h, x: h[:2], np.zeros((2, 3))), r"\(3,\) state"),
        (lambda: find_fixed_points(lambda h, x: h + x @ jnp.ones((4, 3)), np.zeros((2, 3))), "failed"),
        (lambda: find_fixed_points(lambda h, x: h, np.zeros((2, 3)), inputs=np.zeros((2, 2))), "inputs"),
        (lambda: find_fixed_points(lambda h, x: h, np.zeros((2, 3)), tol_slow=1e-12), "tol_slow"),
        (lambda: project_trajectories(np.zeros((5, 3)), n_components=4), "n_components"),
        (lambda: project_trajectories(np.zeros((5, 3)), np.zeros((2, 4))), "fixed_points"),
    ],
)
def test_bad_inputs_raise_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
